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
