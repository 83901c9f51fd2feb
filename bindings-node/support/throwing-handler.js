// Run by test/events.test.js in a child process: a `connection` handler and an event handler
// that throw. As with socket.io, the error reaches process "uncaughtException" (here the
// app's own listener) and the server goes on serving. Prints what it saw, then exits.
"use strict";

const { Server } = require("..");
const { io, waitFor } = require("./testing");

const reported = [];
process.on("uncaughtException", (error) => reported.push(error.message));

(async () => {
  const server = new Server();
  server.listen(0, { host: "127.0.0.1" });
  const url = `http://127.0.0.1:${await server.listening}`;
  server.on("connection", (socket) => {
    socket.on("boom", () => {
      throw new Error("thrown by an event handler");
    });
    socket.on("echo", (payload, ack) => ack(payload));
    throw new Error("thrown by a connection handler");
  });
  const client = io(url, { forceNew: true, reconnection: false, transports: ["websocket"] });
  await waitFor(client, "connect");
  client.emit("boom");
  const answer = await client.timeout(3000).emitWithAck("echo", "still serving");
  console.log(JSON.stringify({ reported: reported.sort(), answer, connected: client.connected }));
  client.close();
  await server.close();
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
