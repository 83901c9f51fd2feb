#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian 12 machine (idempotent: skips what is
# already there). Needs root for apt; everything else stays inside the repo.
set -euo pipefail
cd "$(dirname "$0")/.."

# libjna-java: JNA, through which the mobile library's Kotlin code calls Rust on the JVM.
if ! command -v chromium >/dev/null || ! command -v redis-server >/dev/null || [ ! -f /usr/share/java/jna.jar ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver redis-server libjna-java >/dev/null
  else
    echo "setup: chromium / redis-server / libjna-java missing and not root: install them with apt" >&2
  fi
fi

# The toolchain pinned by rust-toolchain.toml, and the wasm target for the sans-IO build.
rustup show active-toolchain >/dev/null 2>&1 || rustup toolchain install "$(sed -n 's/^channel = "\(.*\)"/\1/p' rust-toolchain.toml)" --profile minimal -c rustfmt,clippy
rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

# cargo-fuzz (the fuzz smoke runs on nightly).
if ! cargo fuzz --version >/dev/null 2>&1; then
  rustup toolchain list | grep -q nightly || rustup toolchain install nightly --profile minimal
  cargo install cargo-fuzz --locked -q || cargo install cargo-fuzz -q
fi

# wasm-bindgen's CLI (the test runner of the browser client), the exact version of the
# wasm-bindgen crate that bindings-wasm pins. Not --locked: its lock file wants a yanked
# webpki-roots.
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen 0.2.130" ]; then
  cargo install wasm-bindgen-cli --version 0.2.130 -q
fi

# npm peers: socket.io / socket.io-client for interop, playwright-core for the chat page.
[ -d tests/interop/node_modules ] || (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error)
[ -d examples/chat/node_modules ] || (cd examples/chat && npm ci --no-audit --no-fund --loglevel=error)
[ -d bindings-wasm/node_modules ] || (cd bindings-wasm && npm ci --no-audit --no-fund --loglevel=error)
# kotlin-compiler (kotlinc-jvm, with kotlinx-coroutines) for the mobile library's Kotlin suite.
[ -d bindings-mobile/node_modules ] || (cd bindings-mobile && npm ci --no-audit --no-fund --loglevel=error)

# PyPI peers: python-socketio AsyncClient in a repo-local venv.
[ -x .venv/bin/python ] || python3 -m venv .venv
# Every time: a no-op when the pinned versions are there, and it picks up new pins.
.venv/bin/pip install -q --disable-pip-version-check -r tests/interop/python/requirements.txt
