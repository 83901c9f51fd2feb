// Node socket.io server with the benchmark handlers: echo, join, broadcast-room.
// Reads PORT (0 for any), binds 127.0.0.1 with a 4096 backlog, prints "LISTENING <port>".
"use strict";
const http = require("http");
// SOCKET_IO_MODULE swaps the package, as a user would change one require: e.g. the
// polysocket npm package built from bindings-node/.
const { Server } = require(process.env.SOCKET_IO_MODULE || "socket.io");

// STANDALONE=1: `new Server()` + `io.listen(port)` (the server owns the port) instead of
// attaching to the app's http.Server. polysocket's binding resolves `io.listening` with the port.
const standalone = process.env.STANDALONE === "1";
const httpServer = standalone ? null : http.createServer();
const io = standalone ? new Server() : new Server(httpServer);

io.on("connection", (socket) => {
  socket.on("echo", (data, ack) => {
    if (typeof ack === "function") ack(data);
  });
  socket.on("join", (room, ack) => {
    if (typeof room === "string") socket.join(room);
    if (typeof ack === "function") ack();
  });
  socket.on("broadcast-room", (data, ack) => {
    io.to("bench").emit("tick", data);
    if (typeof ack === "function") ack();
  });
});

if (standalone) {
  io.listen(Number(process.env.PORT || 0), { host: "127.0.0.1" });
  Promise.resolve(io.listening ?? io.httpServer.address().port).then((port) => console.log(`LISTENING ${port}`));
} else {
  httpServer.listen({ host: "127.0.0.1", port: Number(process.env.PORT || 0), backlog: 4096 }, () => {
    console.log(`LISTENING ${httpServer.address().port}`);
  });
}
