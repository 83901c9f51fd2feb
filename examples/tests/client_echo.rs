//! `client_echo` against the npm socket.io 4.8 reference server: prints the ack on one line
//! and exits 0; exits non-zero with a message when nothing listens.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

#[test]
fn prints_the_ack_of_a_node_socket_io_server_and_fails_clearly_without_one() {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/interop/reference-server.js"
    );
    let mut server = Command::new("node")
        .arg(script)
        .env("PORT", "0")
        .stdout(Stdio::piped())
        .spawn()
        .expect("node runs (scripts/setup.sh installs it)");
    let mut lines = BufReader::new(server.stdout.take().expect("stdout")).lines();
    let port = loop {
        let line = lines.next().expect("a LISTENING line").expect("stdout");
        if let Some(port) = line.strip_prefix("LISTENING ") {
            break port.trim().to_owned();
        }
    };
    let output = Command::new(env!("CARGO_BIN_EXE_client_echo"))
        .arg(format!("http://127.0.0.1:{port}"))
        .output()
        .expect("client_echo runs");
    let _ = server.kill();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "[{\"hello\":\"world\"}]\n"
    );

    // Nothing listens on the port any more.
    let _ = server.wait();
    let failed = Command::new(env!("CARGO_BIN_EXE_client_echo"))
        .arg(format!("http://127.0.0.1:{port}"))
        .output()
        .expect("client_echo runs");
    assert_eq!(failed.status.code(), Some(1), "{failed:?}");
    assert!(
        String::from_utf8_lossy(&failed.stderr).contains("cannot connect"),
        "{failed:?}"
    );
}
