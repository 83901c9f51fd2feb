//! Fetches the official `socket.io-client` browser bundle that the chat page loads.
//!
//! Runs `npm pack socket.io-client@<version>` into `OUT_DIR` and extracts
//! `package/dist/socket.io.min.js` with the system `tar`; `src/bin/chat.rs` embeds the result
//! with `include_bytes!`. Without npm or network the build still succeeds: the bundle is
//! replaced by a stub that tells the user on the page what is missing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The client version the chat page is tested with (`PROTOCOL.md`: socket.io-client 4.8.x).
const CLIENT_VERSION: &str = "4.8.1";

/// What the page gets when the real bundle could not be fetched.
const STUB: &str = r#"/* socket.io-client bundle missing: it is fetched with npm when the chat example is built */
document.addEventListener("DOMContentLoaded", function () {
  var p = document.createElement("p");
  p.textContent = "socket.io-client bundle missing: run with npm available";
  p.style.cssText = "background:#b00020;color:#fff;padding:8px;margin:0;font-family:sans-serif";
  document.body.prepend(p);
});
"#;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    build_wasm_client();
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let bundle = out_dir.join("socket.io.min.js");
    if let Err(reason) = fetch_bundle(&out_dir, &bundle) {
        println!(
            "cargo:warning=socket.io-client {CLIENT_VERSION} bundle not fetched ({reason}); \
             the chat page will show an error. Install npm and rebuild (touch examples/build.rs)."
        );
        std::fs::write(&bundle, STUB).expect("write socket.io.min.js stub");
    }
}

/// `npm pack` the client into `out_dir`, then extract its minified browser bundle to `bundle`.
fn fetch_bundle(out_dir: &Path, bundle: &Path) -> Result<(), String> {
    let tarball = out_dir.join(format!("socket.io-client-{CLIENT_VERSION}.tgz"));
    run(Command::new("npm")
        .args(["pack", &format!("socket.io-client@{CLIENT_VERSION}")])
        .args(["--prefer-offline", "--pack-destination"])
        .arg(out_dir))?;
    let extract_dir = out_dir.join("socket.io-client");
    std::fs::create_dir_all(&extract_dir).map_err(|e| e.to_string())?;
    run(Command::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(&extract_dir)
        .arg("package/dist/socket.io.min.js"))?;
    std::fs::copy(extract_dir.join("package/dist/socket.io.min.js"), bundle)
        .map_err(|e| format!("copy bundle: {e}"))?;
    Ok(())
}

/// Runs a command with its output silenced; an error names the command and its exit status.
fn run(command: &mut Command) -> Result<(), String> {
    let program = command.get_program().to_string_lossy().into_owned();
    let status = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("{program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{program} exited with {status}"))
    }
}

/// The browser client (bindings-wasm) the chat page loads in release builds: the WASM module
/// and its glue, built with a cargo of its own (its own target directory, so the outer build's
/// lock is not in the way) and wasm-bindgen's CLI. Without them (a debug build, no wasm32
/// target, no CLI) the page falls back to the socket.io-client bundle; `client.js` says which.
fn build_wasm_client() {
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let manifest_dir =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let repo = manifest_dir
        .parent()
        .expect("examples/ is in the repository")
        .to_path_buf();
    for watched in [
        "bindings-wasm/src",
        "bindings-wasm/js/index.js",
        "core/src/proto",
    ] {
        println!("cargo:rerun-if-changed={}", repo.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=POLYSOCKET_CHAT_CLIENT");
    let wanted = match std::env::var("POLYSOCKET_CHAT_CLIENT").as_deref() {
        Ok("socket.io-client") => false,
        Ok("wasm") => true,
        _ => std::env::var("PROFILE").as_deref() == Ok("release"),
    };
    let built = wanted
        .then(|| build_wasm(&repo, &out_dir))
        .transpose()
        .unwrap_or_else(|reason| {
            println!(
                "cargo:warning=the chat page's WASM client was not built ({reason}); it uses the \
                 socket.io-client bundle. Run scripts/setup.sh for the wasm32 target and wasm-bindgen."
            );
            None
        });
    let loader = if built.is_some() {
        WASM_LOADER
    } else {
        BUNDLE_LOADER
    };
    std::fs::write(out_dir.join("client.js"), loader).expect("write client.js");
    if built.is_none() {
        for name in ["index.js", "polysocket_wasm.js", "polysocket_wasm_bg.wasm"] {
            std::fs::write(out_dir.join(name), b"").expect("write an empty placeholder");
        }
    }
}

/// Loads the WASM client's `io` as the page's global, then the page's script.
const WASM_LOADER: &str = r#"// The chat page on polysocket's browser client (WASM), with socket.io-client's API.
import { io } from "/polysocket-client/index.js";
window.io = io;
window.polysocketClient = "wasm";
const app = document.createElement("script");
app.src = "/app.js";
document.body.append(app);
"#;

/// Loads the socket.io-client bundle, then the page's script.
const BUNDLE_LOADER: &str = r#"// The chat page on the socket.io-client bundle (the WASM client was not built).
window.polysocketClient = "socket.io-client";
const bundle = document.createElement("script");
bundle.src = "/socket.io.min.js";
bundle.onload = () => {
  const app = document.createElement("script");
  app.src = "/app.js";
  document.body.append(app);
};
document.body.append(bundle);
"#;

fn build_wasm(repo: &Path, out_dir: &Path) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let target_dir = out_dir.join("wasm-target");
    let mut build = Command::new(cargo);
    build
        .current_dir(repo)
        .args([
            "build",
            "--quiet",
            "--profile",
            "wasm-release",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .args(["-p", "polysocket-wasm", "--target-dir"])
        .arg(&target_dir);
    // The outer build's settings are for the host; the nested one picks its own.
    for name in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
        "MFLAGS",
    ] {
        build.env_remove(name);
    }
    run(&mut build).map_err(|e| format!("cargo build for wasm32: {e}"))?;
    let wasm = target_dir.join("wasm32-unknown-unknown/wasm-release/polysocket_wasm.wasm");
    run(Command::new("wasm-bindgen")
        .args([
            "--target",
            "web",
            "--remove-name-section",
            "--remove-producers-section",
            "--out-dir",
        ])
        .arg(out_dir)
        .arg(&wasm))
    .map_err(|e| format!("wasm-bindgen: {e}"))?;
    let index = std::fs::read_to_string(repo.join("bindings-wasm/js/index.js"))
        .map_err(|e| format!("bindings-wasm/js/index.js: {e}"))?;
    let index = index.replace("\"../pkg/polysocket_wasm.js\"", "\"./polysocket_wasm.js\"");
    std::fs::write(out_dir.join("index.js"), index).map_err(|e| e.to_string())?;
    Ok(())
}
