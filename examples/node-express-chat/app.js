// A socket.io chat app on Express, written for npm `socket.io`: Express serves the routes,
// socket.io shares its http.Server (one port). CI runs it and its tests twice: as written,
// and with the require line below changed to require("polysocket"), and nothing else.
"use strict";

const http = require("node:http");
const express = require("express");
const { Server } = require("socket.io");

/** Builds the app: `{ app, httpServer, io }`, not listening yet. */
function createChat() {
  const app = express();
  const httpServer = http.createServer(app);
  const io = new Server(httpServer, { pingInterval: 10000 });
  const history = new Map(); // room -> last messages

  app.use(express.json());
  app.get("/health", (_req, res) => res.json({ ok: true, clients: io.engine.clientsCount }));
  // An HTTP route that pushes to a room: Express and socket.io in one app.
  app.post("/rooms/:room/announce", (req, res) => {
    io.to(req.params.room).emit("announcement", { room: req.params.room, text: req.body.text });
    res.status(202).json({ sent: true });
  });
  app.get("/rooms/:room/members", async (req, res) => {
    const sockets = await io.in(req.params.room).fetchSockets();
    res.json(sockets.map((s) => s.data.nickname).sort());
  });

  // Only clients with a nickname get in.
  io.use((socket, next) => {
    const nickname = socket.handshake.auth && socket.handshake.auth.nickname;
    if (typeof nickname !== "string" || nickname.trim() === "") {
      const err = new Error("nickname required");
      err.data = { hint: "connect with auth: { nickname }" };
      return next(err);
    }
    socket.data.nickname = nickname.trim();
    next();
  });

  io.on("connection", (socket) => {
    socket.emit("welcome", { nickname: socket.data.nickname, id: socket.id });

    socket.on("join", async (room, ack) => {
      if (typeof room !== "string" || room === "") return ack({ error: "bad room" });
      for (const old of socket.rooms) if (old !== socket.id) socket.leave(old);
      socket.join(room);
      socket.to(room).emit("joined", { room, nickname: socket.data.nickname });
      const members = (await io.in(room).fetchSockets()).map((s) => s.data.nickname).sort();
      ack({ room, members, history: history.get(room) ?? [] });
    });

    socket.on("message", (text, ack) => {
      const room = [...socket.rooms].find((r) => r !== socket.id);
      if (!room) return typeof ack === "function" && ack({ error: "join a room first" });
      const message = { room, from: socket.data.nickname, text: String(text), at: Date.now() };
      const kept = history.get(room) ?? [];
      kept.push(message);
      history.set(room, kept.slice(-20));
      io.to(room).emit("message", message);
      if (typeof ack === "function") ack({ ok: true });
    });

    socket.on("typing", () => {
      const room = [...socket.rooms].find((r) => r !== socket.id);
      if (room) socket.volatile.to(room).emit("typing", socket.data.nickname);
    });

    socket.on("whisper", async (nickname, text, ack) => {
      const target = (await io.fetchSockets()).find((s) => s.data.nickname === nickname);
      if (!target) return ack({ error: "no such user" });
      try {
        const reply = await io.to(target.id).timeout(2000).emitWithAck("whisper", { from: socket.data.nickname, text });
        ack({ delivered: true, reply: reply[0] });
      } catch (_timeout) {
        ack({ delivered: false });
      }
    });

    socket.on("disconnecting", () => {
      for (const room of socket.rooms) {
        if (room !== socket.id) socket.to(room).emit("left", { room, nickname: socket.data.nickname });
      }
    });
  });

  return { app, httpServer, io };
}

module.exports = { createChat };

if (require.main === module) {
  const { httpServer } = createChat();
  const port = Number(process.env.PORT ?? 3000);
  httpServer.listen(port, () => console.log(`chat on http://localhost:${httpServer.address().port}`));
}
