#!/usr/bin/env bash
# Packages the mobile library into target/mobile/ (see bindings-mobile/README.md):
#   jvm/polysocket-mobile.jar   the Kotlin API compiled for the JVM, with the native library
#                               inside as a JNA resource (linux-x86-64/, and every other
#                               desktop target found under target/<triple>/release)
#   android/polysocket-mobile.aar   classes.jar + jni/<abi>/libpolysocket_mobile.so, for every
#                               Android target that was built (cargo build --target
#                               aarch64-linux-android ..., with the NDK's linker)
#   swift/                      a Swift package: Package.swift, Sources/Polysocket/*.swift and
#                               PolysocketFFI.xcframework (only where xcodebuild exists: macOS)
# It builds what this machine can build (the linux-x86-64 library and the JVM jar) and says
# what it skipped. Needs scripts/mobile-bindings.sh's release build and generated sources.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/mobile
kotlin=bindings-mobile/node_modules/kotlin-compiler
lib=libpolysocket_mobile.so
rm -rf "$out" && mkdir -p "$out/jvm" "$out/classes"

# The Kotlin classes (for the JVM and Android alike: JNA loads the library on both).
"$kotlin/bin/kotlinc-jvm" -nowarn -cp "/usr/share/java/jna.jar:$kotlin/lib/kotlinx-coroutines-core-jvm.jar" \
  bindings-mobile/generated/kotlin/io/polysocket/*.kt -d "$out/classes"

# JVM: JNA finds lib<name>.so on the classpath under <os>-<arch>/.
mkdir -p "$out/classes/linux-x86-64"
cp "target/release/$lib" "$out/classes/linux-x86-64/"
for pair in aarch64-unknown-linux-gnu:linux-aarch64 x86_64-apple-darwin:darwin-x86-64 aarch64-apple-darwin:darwin-aarch64; do
  triple=${pair%%:*} resource=${pair##*:}
  for file in "target/$triple/release/$lib" "target/$triple/release/libpolysocket_mobile.dylib"; do
    if [ -f "$file" ]; then mkdir -p "$out/classes/$resource" && cp "$file" "$out/classes/$resource/"; fi
  done
done
jar --create --file "$out/jvm/polysocket-mobile.jar" -C "$out/classes" .
echo "built $out/jvm/polysocket-mobile.jar (native: $(cd "$out/classes" && ls -d *-*/ | grep -v META-INF | tr -d / | xargs))"

# Android: an AAR with the ABIs that were built.
aar=$out/android/aar
abis=()
for pair in aarch64-linux-android:arm64-v8a armv7-linux-androideabi:armeabi-v7a x86_64-linux-android:x86_64 i686-linux-android:x86; do
  triple=${pair%%:*} abi=${pair##*:}
  if [ -f "target/$triple/release/$lib" ]; then
    mkdir -p "$aar/jni/$abi" && cp "target/$triple/release/$lib" "$aar/jni/$abi/"
    abis+=("$abi")
  fi
done
if [ ${#abis[@]} -gt 0 ]; then
  cat >"$aar/AndroidManifest.xml" <<'EOF'
<?xml version="1.0" encoding="utf-8"?>
<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="io.polysocket">
  <uses-permission android:name="android.permission.INTERNET" />
</manifest>
EOF
  jar --create --file "$aar/classes.jar" -C "$out/classes" io
  (cd "$aar" && zip -qr ../polysocket-mobile.aar .)
  echo "built $out/android/polysocket-mobile.aar (${abis[*]})"
else
  echo "skipped the Android AAR: no Android target built (see bindings-mobile/README.md)"
fi

# Apple: an XCFramework and a Swift package, on macOS only.
if command -v xcodebuild >/dev/null; then
  swift=$out/swift
  mkdir -p "$swift/Sources/Polysocket" "$swift/headers"
  cp bindings-mobile/generated/swift/Polysocket.swift "$swift/Sources/Polysocket/"
  cp bindings-mobile/generated/swift/PolysocketFFI.h "$swift/headers/"
  cp bindings-mobile/generated/swift/PolysocketFFI.modulemap "$swift/headers/module.modulemap"
  args=()
  for triple in aarch64-apple-ios aarch64-apple-ios-sim; do
    if [ -f "target/$triple/release/libpolysocket_mobile.a" ]; then
      args+=(-library "target/$triple/release/libpolysocket_mobile.a" -headers "$swift/headers")
    fi
  done
  xcodebuild -create-xcframework "${args[@]}" -output "$swift/PolysocketFFI.xcframework"
  cp bindings-mobile/Package.swift "$swift/"
  echo "built $swift (a Swift package with PolysocketFFI.xcframework)"
else
  echo "skipped the XCFramework: xcodebuild (macOS) is not here; the Swift sources are in bindings-mobile/generated/swift"
fi
