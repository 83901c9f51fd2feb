//! socketioxide server with the benchmark handlers: `echo`, `join`, `broadcast-room`.
//! Reads `PORT` (0 for any), binds 127.0.0.1 with a 4096 backlog, prints `LISTENING <port>`.

use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Data, SocketRef};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let (layer, io) = SocketIo::new_layer();
    io.ns("/", async |s: SocketRef| {
        s.on("echo", async |Data::<Value>(data), ack: AckSender| {
            ack.send(&data).ok();
        });
        s.on(
            "join",
            async |s: SocketRef, Data::<Value>(room), ack: AckSender| {
                if let Some(room) = room.as_str() {
                    s.join(room.to_owned());
                }
                ack.send(&()).ok();
            },
        );
        s.on(
            "broadcast-room",
            async |io: SocketIo, Data::<Value>(data), ack: AckSender| {
                io.to("bench").emit("tick", &data).await.ok();
                ack.send(&()).ok();
            },
        );
    });
    let app = axum::Router::new().layer(layer);
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(([127, 0, 0, 1], port).into())?;
    let listener = socket.listen(4096)?;
    println!("LISTENING {}", listener.local_addr()?.port());
    axum::serve(listener, app).await
}
