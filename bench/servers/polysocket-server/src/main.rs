//! polysocket server with the benchmark handlers: `echo`, `join`, `broadcast-room`.
//! Reads `PORT` (0 for any), binds 127.0.0.1 (polysocket listens with a 4096 backlog),
//! prints `LISTENING <port>`.

use polysocket::{Server, Value};

#[cfg(feature = "heap-stats")]
mod heap_stats;
#[cfg(feature = "heap-stats")]
#[global_allocator]
static ALLOCATOR: heap_stats::Counting = heap_stats::Counting;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    #[cfg(feature = "heap-stats")]
    heap_stats::spawn_reporter();
    let io = Server::new();
    let io2 = io.clone();
    io.on_connection(move |socket| {
        socket.on("echo", |_, mut event| {
            if let Some(ack) = event.ack() {
                let _ = ack.send_args(event.args);
            }
        });
        socket.on("join", |socket, mut event| {
            if let Some(room) = event.args.first().and_then(Value::as_str) {
                socket.join(room);
            }
            if let Some(ack) = event.ack() {
                let _ = ack.send_args(Vec::new());
            }
        });
        let io = io2.clone();
        socket.on("broadcast-room", move |_, mut event| {
            let ack = event.ack();
            let _ = io.to("bench").emit_args("tick", event.args);
            if let Some(ack) = ack {
                let _ = ack.send_args(Vec::new());
            }
        });
    });
    let port = std::env::var("PORT").unwrap_or_else(|_| "0".into());
    let addr = io.listen(format!("127.0.0.1:{port}")).await?;
    println!("LISTENING {}", addr.port());
    std::future::pending::<()>().await;
    Ok(())
}
