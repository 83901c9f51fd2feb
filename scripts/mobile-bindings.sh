#!/usr/bin/env bash
# The mobile library (bindings-mobile): builds it, generates its Kotlin and Swift sources with
# uniffi-bindgen and checks that the copies in bindings-mobile/generated are up to date, then
# compiles the Kotlin suite with kotlinc-jvm and runs it on the JVM (JNA) against polysocket's
# Rust interop server and npm socket.io's reference server, from the JVM jar that
# scripts/mobile-package.sh builds (the Kotlin API with the linux-x86-64 library inside).
#
#   scripts/mobile-bindings.sh            # check and test
#   UPDATE=1 scripts/mobile-bindings.sh   # regenerate bindings-mobile/generated first
set -euo pipefail
cd "$(dirname "$0")/.."

# Two builds: with --example, cargo would build only that example of the packages named.
cargo build -q --release -p polysocket-mobile -p uniffi-bindgen
cargo build -q --release -p polysocket --example interop_server
lib=target/release/libpolysocket_mobile.so
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Generated sources: Swift cannot be compiled here (no Swift toolchain for Linux in apt, PyPI
# or npm), so the drift check is what keeps it honest.
for lang in kotlin swift; do
  target/release/uniffi-bindgen generate --no-format "$lib" -l "$lang" -o "$work/generated/$lang" >/dev/null
done
if [ "${UPDATE:-0}" = 1 ]; then
  rm -rf bindings-mobile/generated
  cp -r "$work/generated" bindings-mobile/generated
fi
if ! diff -r "$work/generated" bindings-mobile/generated >/dev/null; then
  diff -r "$work/generated" bindings-mobile/generated | head -20
  echo "bindings-mobile/generated is out of date: run UPDATE=1 scripts/mobile-bindings.sh" >&2
  exit 1
fi
echo "generated Kotlin and Swift sources are up to date"

# The package (the JVM jar carries the native library), and the suite run on that very jar:
# no -Djna.library.path, JNA finds the library inside it.
scripts/mobile-package.sh
kotlin=bindings-mobile/node_modules/kotlin-compiler
classpath=target/mobile/jvm/polysocket-mobile.jar:/usr/share/java/jna.jar:$kotlin/lib/kotlinx-coroutines-core-jvm.jar
"$kotlin/bin/kotlinc-jvm" -nowarn -cp "$classpath" bindings-mobile/tests/kotlin/*.kt -d "$work/tests.jar"
run() {
  timeout 300 java -cp "$work/tests.jar:$kotlin/lib/kotlin-stdlib.jar:$classpath" io.polysocket.tests.ClientTestsKt "$@"
}
run polysocket "$PWD/target/release/examples/interop_server"
run socket.io node tests/interop/reference-server.js
