#!/usr/bin/env node
// Reference implementation of tests/interop/CONTRACT.md with npm socket.io 4.8.
// Usage: PORT=0 [PING_INTERVAL=ms] [PING_TIMEOUT=ms] node tests/interop/reference-server.js
"use strict";

const http = require("node:http");
const { Server } = require("socket.io");

const port = Number(process.env.PORT || 0);
const pingInterval = Number(process.env.PING_INTERVAL || 25000);
const pingTimeout = Number(process.env.PING_TIMEOUT || 20000);

const httpServer = http.createServer();
const io = new Server(httpServer, { pingInterval, pingTimeout });

/** Disconnect reasons recorded by every namespace, in order. */
const disconnectReasons = [];

function recordDisconnects(socket) {
  socket.on("disconnect", (reason) => {
    disconnectReasons.push({ id: socket.id, nsp: socket.nsp.name, reason });
  });
}

function commonHandlers(socket) {
  recordDisconnects(socket);

  socket.on("echo", (...args) => {
    if (args.length > 0 && typeof args[args.length - 1] === "function") {
      const ack = args.pop();
      ack(...args);
    } else {
      socket.emit("echo", ...args);
    }
  });

  socket.on("get-disconnect-reasons", (ack) => {
    if (typeof ack === "function") ack(disconnectReasons.slice());
  });
}

const sortedRooms = (socket) => Array.from(socket.rooms).sort();
const maybeAck = (ack) => {
  if (typeof ack === "function") ack();
};

// ---- namespace "/" ----
const root = io.of("/");

root.use((socket, next) => {
  const auth = socket.handshake.auth || {};
  if (auth.token === "bad") {
    const err = new Error("unauthorized");
    err.data = { code: 401 };
    return next(err);
  }
  next();
});

root.on("connection", (socket) => {
  commonHandlers(socket);
  socket.emit("welcome", { id: socket.id, auth: socket.handshake.auth });

  socket.on("ask-client", async (payload, ack) => {
    let answer;
    try {
      answer = await socket.timeout(2000).emitWithAck("question", payload);
    } catch (_e) {
      answer = { error: "timeout" };
    }
    if (typeof ack === "function") ack(answer);
  });

  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack(sortedRooms(socket));
  });

  socket.on("leave", (room, ack) => {
    socket.leave(room);
    if (typeof ack === "function") ack(sortedRooms(socket));
  });

  socket.on("to-room", (room, event, payload, ack) => {
    io.to(room).emit(event, payload);
    maybeAck(ack);
  });

  socket.on("broadcast", (event, payload, ack) => {
    socket.broadcast.emit(event, payload);
    maybeAck(ack);
  });

  socket.on("to-room-except", (room, exceptRoom, event, payload, ack) => {
    io.to(room).except(exceptRoom).emit(event, payload);
    maybeAck(ack);
  });

  socket.on("server-disconnect", () => {
    socket.disconnect();
  });

  socket.on("server-close", () => {
    socket.disconnect(true);
  });
});

// ---- namespace "/custom" ----
io.of("/custom").on("connection", (socket) => {
  commonHandlers(socket);
  socket.emit("welcome", { id: socket.id, nsp: "/custom" });
});

httpServer.listen(port, "127.0.0.1", () => {
  process.stdout.write(`LISTENING ${httpServer.address().port}\n`);
});

const shutdown = () => process.exit(0);
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
