// Run by test/client.test.js in a child process: a polysocket/client socket talks to an npm
// socket.io server, then both close. The process must then exit by itself (no
// process.exit): nothing of the client may keep Node's event loop alive.
"use strict";

const http = require("node:http");
const { io } = require("../client");
const { interopModule } = require("./testing");

const { Server } = interopModule("node_modules/socket.io");
const httpServer = http.createServer();
const server = new Server(httpServer);
server.on("connection", (socket) => socket.on("echo", (payload, ack) => ack(payload)));
httpServer.listen(0, "127.0.0.1", async () => {
  const socket = io(`http://127.0.0.1:${httpServer.address().port}`, { transports: ["websocket"] });
  const answer = await socket.emitWithAck("echo", "hi");
  console.log(`answered: ${answer}`);
  socket.disconnect();
  server.close();
});
