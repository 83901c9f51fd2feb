#!/usr/bin/env bash
# Builds the browser client: the WASM module (profile wasm-release: size first) and its JS
# glue (wasm-bindgen --target web) into bindings-wasm/pkg, next to bindings-wasm/js/index.js
# (socket.io-client's API). Prints the sizes, raw and gzipped.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --profile wasm-release --target wasm32-unknown-unknown -p polysocket-wasm
rm -rf bindings-wasm/pkg
wasm-bindgen --target web --remove-name-section --remove-producers-section --out-dir bindings-wasm/pkg \
  target/wasm32-unknown-unknown/wasm-release/polysocket_wasm.wasm
for file in bindings-wasm/pkg/polysocket_wasm_bg.wasm bindings-wasm/pkg/polysocket_wasm.js bindings-wasm/js/index.js; do
  printf '%s: %d bytes, %d gzipped\n' "$file" "$(wc -c <"$file")" "$(gzip -9c "$file" | wc -c)"
done
