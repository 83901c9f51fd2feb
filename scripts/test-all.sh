#!/usr/bin/env bash
# Runs every test of the repository: lints, the Rust suites, the wasm32 build of the sans-IO
# core, the interop suites against the official npm and PyPI peers, the chat page in headless
# Chromium, and a fuzz smoke run. Installs what is missing first (scripts/setup.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
bash scripts/setup.sh || { echo "setup failed"; exit 1; }

passed=0 failed=0 failures=()
stage() {
  local name=$1; shift
  echo "=== $name"
  local start=$SECONDS
  if "$@"; then
    passed=$((passed + 1)); echo "=== $name: ok ($((SECONDS - start)) s)"
  else
    failed=$((failed + 1)); failures+=("$name"); echo "=== $name: FAILED ($((SECONDS - start)) s)"
  fi
}

stage "cargo fmt" cargo fmt --all --check
stage "cargo clippy" cargo clippy --workspace --all-targets -q -- -D warnings
stage "proto builds for wasm32 (no tokio)" \
  cargo build -q -p polysocket --no-default-features --target wasm32-unknown-unknown
# uniffi-bindgen (uniffi's CLI, a main() of one line) is built once, in the mobile stage.
stage "rust tests" cargo nextest run --workspace --exclude uniffi-bindgen --no-fail-fast -j 2
stage "release build of the servers and the Node addon" \
  cargo build -q --release -p polysocket -p polysocket-examples -p polysocket-node --examples --bins --lib

export POLYSOCKET_INTEROP_SERVER=$PWD/target/release/examples/interop_server
stage "interop: npm socket.io-client 4.8" node --test tests/interop/node/
stage "interop: PyPI python-socketio" .venv/bin/python -m pytest -q tests/interop/python
stage "Node binding: socket.io-client against polysocket's Server" \
  bash -c 'cp target/release/libpolysocket_node.so bindings-node/polysocket.node && timeout 300 node --test bindings-node/test/'
# npm pack → install into an empty folder; the Express chat example and its tests on npm
# socket.io, then with one require changed to polysocket (and to polysocket/client).
stage "Node binding as a drop-in (npm pack, the Express chat app, tsc)" \
  timeout 900 scripts/node-drop-in.sh
# The interop contract server is a socket.io app (tests/interop/reference-server.js): run it
# unchanged on the Node binding (bindings-node/support/interop-server swaps the require of
# socket.io, and of @socket.io/redis-adapter for polysocket/redis-adapter) and point both
# interop suites at it, the mixed-cluster suites included. Left out: the backpressure suite
# (MAX_BUFFERED is an option of the Rust contract server only), and the two msgpack checks
# where socket.io's error listener emits to a client whose connection the engine is already
# closing (the binding's listeners run a moment later, on Node's thread, when the packet can
# no longer be sent).
stage "interop suites against the Node binding running the socket.io contract app" \
  env POLYSOCKET_INTEROP_SERVER="$PWD/bindings-node/support/interop-server" bash -c '
    timeout 900 node --test --test-concurrency=2 $(ls tests/interop/node/*.test.js | grep -v -e backpressure) &&
    .venv/bin/python -m pytest -q tests/interop/python -k "not test_msgpack_disconnect_packet_with_nil_data"'
# maturin wheel → fresh venv; the binding's pytest suite (python-socketio and npm
# socket.io-client as peers, three ways of serving), mypy, and the FastAPI chat example on
# python-socketio and then with its import changed to polysocket.
stage "Python binding (maturin wheel, pytest, mypy, FastAPI example as a drop-in)" \
  timeout 1200 scripts/python-binding.sh
# The browser client (bindings-wasm) in headless Chromium against the Rust interop server
# and npm socket.io's reference server: the Rust driver (wasm-bindgen-test) and
# socket.io-client's API on it (js/index.js, Playwright), then tsc on its typings.
stage "browser client (WASM) in headless Chromium" \
  bash -c 'cargo clippy -q -p polysocket-wasm --all-targets --target wasm32-unknown-unknown -- -D warnings &&
    scripts/build-wasm-client.sh &&
    timeout 600 scripts/wasm-browser-tests.sh &&
    timeout 300 node --test bindings-wasm/test/ &&
    (cd bindings-wasm && npx tsc -p tsconfig.json)'
# The mobile library (bindings-mobile, uniffi): generated Kotlin and Swift sources checked for
# drift, the JVM jar packaged, and the Kotlin suite run from it on the JVM against the Rust
# interop server and npm socket.io's reference server.
stage "mobile library (uniffi): Kotlin on the JVM, Swift drift check" \
  timeout 900 scripts/mobile-bindings.sh
stage "chat page in headless Chromium (on the WASM client)" \
  env CHAT_CLIENT=wasm CHAT_SERVER_CMD="$PWD/target/release/chat" node --test examples/chat/test/
if [ -x core/fuzz/run-smoke.sh ]; then
  stage "fuzz smoke (30 s per target)" core/fuzz/run-smoke.sh "${FUZZ_SECONDS:-30}"
fi

echo
if [ "$failed" -gt 0 ]; then printf 'failed stage: %s\n' "${failures[@]}"; fi
echo "stages: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
