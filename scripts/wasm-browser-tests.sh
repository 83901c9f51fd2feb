#!/usr/bin/env bash
# The browser client (bindings-wasm) in headless Chromium, against two servers that
# implement tests/interop/CONTRACT.md: polysocket's interop server (built by test-all's
# release stage) and npm socket.io's reference server. wasm-bindgen-test-runner drives
# Chromium through Debian's chromedriver; the server URL reaches the tests at build time.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-60}

run_against() { # name command...
  local name=$1; shift
  local log
  log=$(mktemp)
  PORT=0 CORS=1 "$@" >"$log" 2>&1 &
  local pid=$!
  local port=
  for _ in $(seq 1 100); do
    port=$(sed -n 's/^LISTENING \([0-9]*\).*/\1/p' "$log" | head -1)
    [[ -n $port ]] && break
    sleep 0.1
  done
  if [[ -z $port ]]; then
    echo "wasm: the $name server did not start" >&2; cat "$log" >&2; kill "$pid" 2>/dev/null || true
    return 1
  fi
  echo "== browser client against $name (port $port)"
  local status=0
  (cd bindings-wasm && POLYSOCKET_TEST_URL="http://127.0.0.1:$port" \
    cargo test -p polysocket-wasm --target wasm32-unknown-unknown --test browser) || status=$?
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$log"
  return "$status"
}

run_against polysocket "$root/target/release/examples/interop_server"
run_against "npm socket.io" node "$root/tests/interop/reference-server.js"
