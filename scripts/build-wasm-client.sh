#!/usr/bin/env bash
# Builds the browser client: the WASM module (profile wasm-release: size first) and its JS
# glue (wasm-bindgen --target web) into bindings-wasm/pkg, then bundles the glue with
# bindings-wasm/js/index.js (socket.io-client's API) into pkg/polysocket-client.js, minified
# (esbuild). The package ships that bundle and the module. Prints the sizes, raw and gzipped.
# KEEP_NAMES=--keep-lld-exports keeps the function names (for a CPU profile; much larger).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --profile wasm-release --target wasm32-unknown-unknown -p polysocket-wasm
rm -rf bindings-wasm/pkg
wasm-bindgen --target web ${KEEP_NAMES:---remove-name-section} --remove-producers-section --out-dir bindings-wasm/pkg \
  target/wasm32-unknown-unknown/wasm-release/polysocket_wasm.wasm
(cd bindings-wasm && npx esbuild js/index.js --bundle --format=esm --minify --log-level=warning \
  --outfile=pkg/polysocket-client.js)
for file in bindings-wasm/pkg/polysocket_wasm_bg.wasm bindings-wasm/pkg/polysocket-client.js; do
  printf '%s: %d bytes, %d gzipped\n' "$file" "$(wc -c <"$file")" "$(gzip -9c "$file" | wc -c)"
done
total=0
for file in bindings-wasm/pkg/polysocket_wasm_bg.wasm bindings-wasm/pkg/polysocket-client.js; do
  total=$((total + $(gzip -9c "$file" | wc -c)))
done
echo "what a page loads: $total bytes gzipped"
