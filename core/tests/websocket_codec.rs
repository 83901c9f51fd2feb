//! The server's WebSocket codec over real sockets, driven by a raw client built on the
//! sans-IO codec: control frames, protocol errors (each closes only its own connection, with
//! the right close code) and permessage-deflate.

mod common;

use std::io::Write as _;

use bytes::{Bytes, BytesMut};
use common::{STEP_TIMEOUT, TestServer, engineio_server, engineio_server_with};
use polysocket::PerMessageDeflate;
use polysocket::proto::websocket::{
    Incoming, MessageReader, Opcode, Role, apply_mask, encode_header,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const KEY: [u8; 4] = [1, 2, 3, 4];

/// A WebSocket client that writes whatever frames a test asks for.
struct RawWs {
    tcp: TcpStream,
    read: BytesMut,
    reader: MessageReader,
    /// The `Sec-WebSocket-Extensions` answer.
    extensions: Option<String>,
}

impl RawWs {
    async fn connect(server: &TestServer, offer: Option<&str>) -> RawWs {
        let mut tcp = TcpStream::connect(server.addr).await.expect("connect");
        let extension = offer.map(|offer| format!("Sec-WebSocket-Extensions: {offer}\r\n"));
        let request = upgrade_request(server, extension.as_deref().unwrap_or(""));
        tcp.write_all(request.as_bytes()).await.expect("write");
        let head = read_head(&mut tcp).await;
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        let extensions = head.lines().find_map(|line| {
            let (name, value) = line.split_once(": ")?;
            name.eq_ignore_ascii_case("sec-websocket-extensions")
                .then(|| value.to_owned())
        });
        let mut ws = RawWs {
            tcp,
            read: BytesMut::new(),
            reader: MessageReader::new(Role::Client, 10_000_000, extensions.is_some()),
            extensions,
        };
        let open = ws.next().await;
        assert!(matches!(&open, Incoming::Message { payload, .. } if payload.starts_with(b"0{")));
        ws
    }

    async fn send_frame(&mut self, first_byte: u8, payload: &[u8]) {
        let mut out = Vec::new();
        encode_header(&mut out, Opcode::Text, false, payload.len(), Some(KEY));
        out[0] = first_byte;
        let mut body = payload.to_vec();
        apply_mask(&mut body, KEY);
        out.extend_from_slice(&body);
        self.tcp.write_all(&out).await.expect("write frame");
    }

    /// The next input, answering Engine.IO pings on the way.
    async fn next(&mut self) -> Incoming {
        tokio::time::timeout(STEP_TIMEOUT, async {
            loop {
                match self
                    .reader
                    .read(&mut self.read)
                    .expect("server frames are valid")
                {
                    Some(Incoming::Message { payload, .. }) if payload[..] == b"2"[..] => {
                        self.send_frame(0x81, b"3").await;
                    }
                    Some(input) => return input,
                    None => {
                        let n = self.tcp.read_buf(&mut self.read).await.expect("read");
                        assert!(n > 0, "connection ended without a close frame");
                    }
                }
            }
        })
        .await
        .expect("server answered in time")
    }

    /// Expects a close frame with `code`, then the end of the stream.
    async fn expect_close(&mut self, code: u16) {
        assert_eq!(self.next().await, Incoming::Close(Some(code)));
        let mut rest = Vec::new();
        let end = tokio::time::timeout(STEP_TIMEOUT, self.tcp.read_to_end(&mut rest)).await;
        assert!(
            end.is_ok(),
            "the server closes the TCP stream after its close frame"
        );
    }

    async fn echo(&mut self, text: &str) {
        self.send_frame(0x81, text.as_bytes()).await;
        assert_eq!(self.next().await, message(text));
    }
}

/// A WebSocket upgrade request for the engine of `server`, with `extra` header lines.
fn upgrade_request(server: &TestServer, extra: &str) -> String {
    format!(
        "GET {}?EIO=4&transport=websocket HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n{extra}\r\n",
        server.path
    )
}

/// Reads an HTTP answer's head, up to and with its blank line, byte by byte (so that the
/// frames after it stay unread).
async fn read_head(tcp: &mut TcpStream) -> String {
    let mut raw = Vec::new();
    while !raw.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        tcp.read_exact(&mut byte).await.expect("handshake answer");
        raw.push(byte[0]);
    }
    String::from_utf8(raw).expect("ascii")
}

fn message(text: &str) -> Incoming {
    Incoming::Message {
        text: true,
        compressed: false,
        payload: Bytes::copy_from_slice(text.as_bytes()),
    }
}

fn deflate(payload: &[u8]) -> Vec<u8> {
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(payload).expect("compress");
    let mut out = encoder.finish().expect("compress");
    // A finished stream is valid permessage-deflate data too (RFC 7692 §7.2.3.3).
    out.extend_from_slice(&[0x00]);
    out
}

fn inflate(payload: &[u8]) -> Vec<u8> {
    let mut input = payload.to_vec();
    input.extend_from_slice(&[0x00, 0x00, 0xff, 0xff]);
    let mut decoder = flate2::write::DeflateDecoder::new(Vec::new());
    decoder.write_all(&input).expect("inflate");
    decoder.flush().expect("inflate");
    decoder.get_ref().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pings_get_pongs_and_a_client_close_is_echoed() {
    let server = engineio_server_with(|_| {}).await;
    let mut ws = RawWs::connect(&server, None).await;
    assert_eq!(ws.extensions, None);
    ws.send_frame(0x89, b"are you there").await;
    assert_eq!(ws.next().await, Incoming::Pong);
    // A message in two fragments with a ping between them.
    ws.send_frame(0x01, b"4hel").await;
    ws.send_frame(0x89, b"").await;
    ws.send_frame(0x80, b"lo").await;
    assert_eq!(ws.next().await, Incoming::Pong);
    assert_eq!(ws.next().await, message("4hello"));
    ws.send_frame(0x88, &1001u16.to_be_bytes()).await;
    ws.expect_close(1001).await;
}

/// A read that does not fill the server's buffer ends its readiness at once (no `recv` to
/// learn that the socket is empty): messages that arrive with the end of the stream, in
/// one read or in two, are still all handled, and the end is still seen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_that_arrive_with_the_end_of_the_stream_are_handled_and_it_ends() {
    let server = engineio_server().await;
    for split in [false, true] {
        let mut ws = RawWs::connect(&server, None).await;
        ws.echo("4first").await;
        let mut out = Vec::new();
        for text in [&b"4second"[..], &b"4third"[..]] {
            let mut payload = text.to_vec();
            let start = out.len();
            encode_header(&mut out, Opcode::Text, false, payload.len(), Some(KEY));
            out[start] = 0x81;
            apply_mask(&mut payload, KEY);
            out.extend_from_slice(&payload);
        }
        if split {
            let half = out.len() / 2;
            ws.tcp.write_all(&out[..half]).await.expect("write");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            ws.tcp.write_all(&out[half..]).await.expect("write");
        } else {
            ws.tcp.write_all(&out).await.expect("write");
        }
        ws.tcp.shutdown().await.expect("end the stream");
        assert_eq!(ws.next().await, message("4second"));
        assert_eq!(ws.next().await, message("4third"));
        let mut rest = Vec::new();
        let end = tokio::time::timeout(STEP_TIMEOUT, ws.tcp.read_to_end(&mut rest)).await;
        assert!(
            end.is_ok(),
            "the server ends the stream after the client's end"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_protocol_error_closes_only_its_connection_with_its_code() {
    let server = engineio_server_with(|config| config.max_http_buffer_size = 1_000).await;
    let mut bystander = RawWs::connect(&server, None).await;
    let cases: [(&str, u8, Vec<u8>, u16); 5] = [
        (
            "RSV1 without permessage-deflate",
            0xC1,
            b"4x".to_vec(),
            1002,
        ),
        ("unknown opcode", 0x83, b"".to_vec(), 1002),
        ("text that is not UTF-8", 0x81, vec![b'4', 0xff, 0xfe], 1007),
        (
            "a message over maxHttpBufferSize",
            0x82,
            vec![0; 1_001],
            1009,
        ),
        ("continuation without a message", 0x80, b"x".to_vec(), 1002),
    ];
    for (what, first_byte, payload, code) in cases {
        let mut ws = RawWs::connect(&server, None).await;
        ws.send_frame(first_byte, &payload).await;
        ws.expect_close(code).await;
        bystander.echo(&format!("4still fine after {what}")).await;
    }
    // An unmasked frame.
    let mut ws = RawWs::connect(&server, None).await;
    ws.tcp
        .write_all(&[0x81, 0x02, b'4', b'x'])
        .await
        .expect("write");
    ws.expect_close(1002).await;
    bystander.echo("4still fine").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permessage_deflate_is_negotiated_and_compresses_both_ways() {
    let server = engineio_server_with(|config| {
        config.per_message_deflate = Some(PerMessageDeflate::default());
        config.max_http_buffer_size = 100_000;
    })
    .await;
    let mut ws = RawWs::connect(&server, Some("permessage-deflate; client_max_window_bits")).await;
    assert_eq!(
        ws.extensions.as_deref(),
        Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover")
    );
    // Small echoes stay under the 1024-byte threshold: sent as they are.
    ws.send_frame(0xC1, &deflate(b"4small")).await;
    assert_eq!(ws.next().await, message("4small"));
    // A large one comes back compressed.
    let large = format!("4{}", "compress me ".repeat(1_000));
    ws.send_frame(0xC1, &deflate(large.as_bytes())).await;
    let Incoming::Message {
        text: true,
        compressed: true,
        payload,
    } = ws.next().await
    else {
        panic!("a compressed text message");
    };
    assert!(payload.len() < large.len() / 10);
    assert_eq!(inflate(&payload), large.as_bytes());
    // Uncompressed frames are still fine on a deflate connection.
    ws.echo("4plain").await;
    // Inflating past maxHttpBufferSize is refused.
    let bomb = format!("4{}", "a".repeat(200_000));
    ws.send_frame(0xC1, &deflate(bomb.as_bytes())).await;
    ws.expect_close(1009).await;

    let mut ws = RawWs::connect(&server, Some("permessage-deflate")).await;
    ws.send_frame(0xC1, &[0xff; 16]).await;
    ws.expect_close(1007).await;

    // Offers the server cannot honour are declined, and the connection works without.
    let mut ws = RawWs::connect(
        &server,
        Some("permessage-deflate; server_max_window_bits=9"),
    )
    .await;
    assert_eq!(ws.extensions, None);
    ws.echo("4hi").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permessage_deflate_stays_off_unless_configured() {
    let server = engineio_server_with(|_| {}).await;
    let mut ws = RawWs::connect(&server, Some("permessage-deflate")).await;
    assert_eq!(ws.extensions, None);
    ws.send_frame(0xC1, &deflate(b"4x")).await;
    ws.expect_close(1002).await;
}

/// A connection handed over by another HTTP server (`Server::serve_connection`, as the Node
/// binding does with an upgrade Node parsed) together with the bytes that server already
/// read: the request and possibly the first frames, whole or cut anywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handed_over_connection_keeps_the_bytes_read_before_it() {
    let server = engineio_server().await;
    let big = format!("4{}", "x".repeat(20_000));
    // (message sent with the request, how many of its frame's bytes the other server read)
    let cases = [
        ("4early", usize::MAX),
        ("4cut", 3),
        (big.as_str(), usize::MAX),
        (big.as_str(), 9_000),
    ];
    for (text, read_of_frame) in cases {
        let host = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let host_addr = host.local_addr().expect("addr");
        let request = upgrade_request(&server, "");
        let mut frame = Vec::new();
        encode_header(&mut frame, Opcode::Text, false, text.len(), Some(KEY));
        let mut body = text.as_bytes().to_vec();
        apply_mask(&mut body, KEY);
        frame.extend_from_slice(&body);
        let already = request.len() + read_of_frame.min(frame.len());

        let io = server.io.clone();
        let handed_over = tokio::spawn(async move {
            let (mut tcp, peer) = host.accept().await.expect("accept");
            let mut read = vec![0u8; already];
            tcp.read_exact(&mut read)
                .await
                .expect("the other server's read");
            io.serve_connection(tcp, peer, Bytes::from(read)).await;
        });
        let mut tcp = TcpStream::connect(host_addr).await.expect("connect");
        tcp.write_all(request.as_bytes()).await.expect("write");
        tcp.write_all(&frame).await.expect("write");

        let mut ws = RawWs {
            tcp,
            read: BytesMut::new(),
            reader: MessageReader::new(Role::Client, 10_000_000, false),
            extensions: None,
        };
        let head = read_head(&mut ws.tcp).await;
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        let open = ws.next().await;
        assert!(matches!(&open, Incoming::Message { payload, .. } if payload.starts_with(b"0{")));
        assert_eq!(
            ws.next().await,
            message(text),
            "{} bytes of the frame read before",
            already - request.len()
        );
        ws.echo("4after").await;
        drop(ws);
        tokio::time::timeout(STEP_TIMEOUT, handed_over)
            .await
            .expect("the connection ends with its client")
            .expect("no panic");
    }
}

/// `serve_connection_with_headers`: the headers the other server's middlewares set reach the
/// `101 Switching Protocols` of the upgrade it handed over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handed_over_upgrade_answers_with_the_given_headers() {
    let server = engineio_server().await;
    let host = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let host_addr = host.local_addr().expect("addr");
    let request = upgrade_request(&server, "");
    let io = server.io.clone();
    let already = request.len();
    tokio::spawn(async move {
        let (mut tcp, peer) = host.accept().await.expect("accept");
        let mut read = vec![0u8; already];
        tcp.read_exact(&mut read)
            .await
            .expect("the other server's read");
        let mut headers = http::HeaderMap::new();
        headers.append("set-cookie", http::HeaderValue::from_static("session=abc"));
        headers.append("set-cookie", http::HeaderValue::from_static("theme=dark"));
        io.serve_connection_with_headers(tcp, peer, Bytes::from(read), headers)
            .await;
    });
    let mut tcp = TcpStream::connect(host_addr).await.expect("connect");
    tcp.write_all(request.as_bytes()).await.expect("write");
    let head = read_head(&mut tcp).await.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(head.contains("set-cookie: session=abc\r\n"), "{head}");
    assert!(head.contains("set-cookie: theme=dark\r\n"), "{head}");
    assert!(head.contains("sec-websocket-accept: "), "{head}");
}
