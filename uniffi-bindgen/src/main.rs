//! `uniffi-bindgen generate <library> -l kotlin|swift -o <dir>`: the Kotlin and Swift sources
//! of `bindings-mobile` (see `scripts/mobile-bindings.sh`).

fn main() {
    uniffi::uniffi_bindgen_main();
}
