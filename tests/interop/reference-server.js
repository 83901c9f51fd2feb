#!/usr/bin/env node
// Reference implementation of tests/interop/CONTRACT.md with npm socket.io 4.8.
// Usage: PORT=0 [PING_INTERVAL=ms] [PING_TIMEOUT=ms] node tests/interop/reference-server.js
"use strict";

const http = require("node:http");
// SOCKET_IO_MODULE: another module with socket.io's API (bindings-node/support/interop-server runs
// this very app on polysocket's Node binding).
const { Server } = require(process.env.SOCKET_IO_MODULE || "socket.io");

const port = Number(process.env.PORT || 0);
const pingInterval = Number(process.env.PING_INTERVAL || 25000);
const pingTimeout = Number(process.env.PING_TIMEOUT || 20000);

const httpServer = http.createServer();
const recovery = process.env.RECOVERY === "1";
const io = new Server(httpServer, {
  pingInterval,
  pingTimeout,
  cleanupEmptyChildNamespaces: true,
  ...(recovery ? { connectionStateRecovery: { maxDisconnectionDuration: 3000 } } : {}),
  ...(process.env.COOKIE === "1" ? { cookie: true } : {}),
  ...(process.env.CORS === "1" ? { cors: { origin: "*" } } : {}),
  ...(process.env.CORS === "credentials" ? { cors: { origin: true, credentials: true } } : {}),
  ...(process.env.PER_MESSAGE_DEFLATE === "1" ? { perMessageDeflate: true } : {}),
  ...(process.env.PARSER === "msgpack" ? { parser: require("socket.io-msgpack-parser") } : {}),
  ...(process.env.ALLOW_REQUEST === "1"
    ? { allowRequest: (req, callback) => callback(req.url.includes("denied=1") ? "denied" : null, !req.url.includes("denied=1")) }
    : {}),
});

/** Disconnect reasons recorded by every namespace, in order. */
const disconnectReasons = [];

function recordDisconnects(socket) {
  socket.on("disconnect", (reason) => {
    disconnectReasons.push({ id: socket.id, nsp: socket.nsp.name, reason });
  });
}

function echoHandler(socket) {
  socket.on("echo", (...args) => {
    if (args.length > 0 && typeof args[args.length - 1] === "function") {
      const ack = args.pop();
      ack(...args);
    } else {
      socket.emit("echo", ...args);
    }
  });
}

function commonHandlers(socket) {
  recordDisconnects(socket);
  echoHandler(socket);

  socket.on("get-disconnect-reasons", (ack) => {
    if (typeof ack === "function") ack(disconnectReasons.slice());
  });
}

const sortedRooms = (socket) => Array.from(socket.rooms).sort();
const maybeAck = (ack) => {
  if (typeof ack === "function") ack();
};

/** Connect middleware shared by "/" and the regex parent namespace. */
function authMiddleware(socket, next) {
  const auth = socket.handshake.auth || {};
  if (auth.token === "bad") {
    const err = new Error("unauthorized");
    err.data = { code: 401 };
    return next(err);
  }
  next();
}

/** Sorted copy of whatever the clients answered (default Array.prototype.sort). */
const sortedResponses = (responses) => (Array.isArray(responses) ? responses.slice().sort() : []);

/**
 * `target.timeout(1000).emitWithAck("question", payload)` and ack
 * `{ responses }` or, on timeout, `{ error, responses }` (the answers that did arrive).
 */
async function ackFromMany(target, payload, ack) {
  let result;
  try {
    const responses = await target.timeout(1000).emitWithAck("question", payload);
    result = { responses: sortedResponses(responses) };
  } catch (err) {
    result = { error: err.message, responses: sortedResponses(err.responses) };
  }
  if (typeof ack === "function") ack(result);
}

// ---- namespace "/" ----
const root = io.of("/");

root.use(authMiddleware);

root.on("connection", (socket) => {
  commonHandlers(socket);

  // Server parity (issue 3): set up before "welcome", so "welcome" is the first outgoing event.
  if (!socket.recovered) socket.data = { nsp: socket.nsp.name };
  const anyLog = [];
  const outgoingLog = [];
  socket.prependAny((event) => anyLog.push("prepend:" + event));
  socket.onAny((event) => anyLog.push("any:" + event));
  socket.onAnyOutgoing((event) => outgoingLog.push(event));
  socket.use(([event], next) => (event === "forbidden" ? next(new Error("forbidden event")) : next()));
  socket.on("error", (err) => socket.emit("middleware-error", err.message));

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

  // The typed event: JS has no types at run time, so the shape is checked by hand with the
  // message polysocket's typed handlers report.
  socket.on("typed-sum", (operands, ack) => {
    const valid = operands && Number.isInteger(operands.a) && Number.isInteger(operands.b);
    if (!valid) {
      socket.emit("middleware-error", `invalid argument for "typed-sum": expected { a, b } integers`);
      return;
    }
    if (typeof ack === "function") ack({ sum: operands.a + operands.b });
  });

  socket.on("kill-transport", () => {
    socket.conn.close();
  });

  socket.on("get-recovered", (ack) => {
    if (typeof ack === "function") ack(socket.recovered);
  });

  socket.on("server-close", () => {
    socket.disconnect(true);
  });

  // ---- Server parity (issue 3) ----

  // Never runs: the packet middleware refuses "forbidden" (the tests check these never arrive).
  socket.on("forbidden", (...args) => {
    socket.emit("forbidden-ran");
    if (args.length > 0 && typeof args[args.length - 1] === "function") args.pop()("forbidden-ran");
  });

  socket.on("get-any-log", (ack) => {
    if (typeof ack === "function") ack(anyLog.slice());
  });

  socket.on("off-any", (ack) => {
    socket.offAny();
    maybeAck(ack);
  });

  socket.on("get-outgoing-log", (ack) => {
    if (typeof ack === "function") ack(outgoingLog.slice());
  });

  socket.on("volatile-burst", (n, ack) => {
    for (let i = 0; i < n; i++) socket.volatile.emit("burst", i);
    maybeAck(ack);
  });

  socket.on("ack-from-room", (room, payload, ack) => {
    ackFromMany(io.to(room), payload, ack);
  });

  socket.on("broadcast-ack", (payload, ack) => {
    ackFromMany(socket.broadcast, payload, ack);
  });

  socket.on("volatile-to-room", (room, event, payload, ack) => {
    io.to(room).volatile.emit(event, payload);
    maybeAck(ack);
  });

  socket.on("local-to-room", (room, event, payload, ack) => {
    io.local.to(room).emit(event, payload);
    maybeAck(ack);
  });

  socket.on("compress-to-room", (room, event, payload, ack) => {
    io.to(room).compress(false).emit(event, payload);
    maybeAck(ack);
  });

  socket.on("in-rooms", (rooms, event, payload, ack) => {
    io.in(rooms).emit(event, payload);
    maybeAck(ack);
  });

  socket.on("set-data", (data, ack) => {
    socket.data = data;
    maybeAck(ack);
  });

  socket.on("fetch-sockets", async (room, ack) => {
    const sockets = await io.in(room).fetchSockets();
    const out = sockets
      .map((s) => ({ id: s.id, rooms: Array.from(s.rooms).sort(), data: s.data }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (typeof ack === "function") ack(out);
  });

  socket.on("remote-emit", async (room, event, payload, ack) => {
    const sockets = await io.in(room).fetchSockets();
    for (const s of sockets) s.emit(event, payload);
    maybeAck(ack);
  });

  socket.on("sockets-join", (room, newRoom, ack) => {
    io.in(room).socketsJoin(newRoom);
    maybeAck(ack);
  });

  socket.on("sockets-leave", (room, oldRoom, ack) => {
    io.in(room).socketsLeave(oldRoom);
    maybeAck(ack);
  });

  socket.on("disconnect-sockets", (room, close, ack) => {
    maybeAck(ack);
    io.in(room).disconnectSockets(close);
  });

  socket.on("server-side-emit", (ack) => {
    io.serverSideEmit("hello", 1, (err, responses) => {
      if (typeof ack === "function") ack({ error: err ? err.message : null, responses });
    });
  });

  socket.on("get-handshake", (ack) => {
    const h = socket.handshake;
    if (typeof ack === "function")
      ack({
        query: h.query,
        userAgentHeader: typeof h.headers["user-agent"],
        address: typeof h.address,
        xdomain: h.xdomain,
        secure: h.secure,
        url: h.url.split("?")[0],
        issued: typeof h.issued,
        time: typeof h.time,
      });
  });

  socket.on("get-header", (name, ack) => {
    const value = socket.handshake.headers[String(name).toLowerCase()];
    if (typeof ack === "function") ack(value === undefined ? null : value);
  });

  socket.on("all-rooms", async (ack) => {
    const rooms = await io.of("/").adapter.allRooms();
    if (typeof ack === "function") ack([...rooms].sort());
  });

  socket.on("list-namespaces", (ack) => {
    if (typeof ack === "function") ack(Array.from(io._nsps.keys()).sort());
  });
});

// ---- namespace "/custom" ----
io.of("/custom").on("connection", (socket) => {
  commonHandlers(socket);
  socket.emit("welcome", { id: socket.id, nsp: "/custom" });
});

// ---- dynamic namespaces (server parity, issue 3) ----
const dyn = io.of(/^\/dyn-\d+$/);
dyn.use(authMiddleware);
dyn.on("connection", (socket) => {
  socket.emit("welcome", { nsp: socket.nsp.name });
  echoHandler(socket);
});

io.of((name, auth, next) => next(null, name.startsWith("/pred-") && auth != null && auth.allow === true)).on(
  "connection",
  (socket) => {
    socket.emit("welcome", { nsp: socket.nsp.name });
  },
);

// REDIS_URL: join a cluster through @socket.io/redis-adapter (classic) with key REDIS_KEY;
// SERVER_NAME: how this server answers the other servers' serverSideEmit("hello").
io.on("hello", (_n, callback) => {
  if (typeof callback === "function") callback({ server: process.env.SERVER_NAME || "" });
});

async function joinCluster() {
  if (!process.env.REDIS_URL) return;
  const { createClient } = require("redis");
  // REDIS_ADAPTER_MODULE: another module with @socket.io/redis-adapter's API (the Node
  // binding's interop-server sets polysocket/redis-adapter, whose cluster runs in its engine).
  const { createAdapter, createShardedAdapter } = require(process.env.REDIS_ADAPTER_MODULE || "@socket.io/redis-adapter");
  const pubClient = createClient({ url: process.env.REDIS_URL });
  const subClient = pubClient.duplicate();
  await Promise.all([pubClient.connect(), subClient.connect()]);
  const key = process.env.REDIS_KEY || "socket.io";
  // REDIS_SHARDED=<subscriptionMode>: createShardedAdapter instead (Redis 7).
  const sharded = process.env.REDIS_SHARDED;
  io.adapter(
    sharded
      ? createShardedAdapter(pubClient, subClient, { channelPrefix: key, subscriptionMode: sharded })
      : createAdapter(pubClient, subClient, { key }),
  );
  // polysocket's engine says when it is on the bus.
  if (typeof io.clusterReady === "function") return io.clusterReady();
  // The adapter subscribes asynchronously: wait until its own response channel counts.
  const uid = io.of("/").adapter.uid;
  const own = sharded ? `${key}#/#${uid}#` : `${key}-response#/#${uid}#`;
  const numsub = sharded ? "SHARDNUMSUB" : "NUMSUB";
  for (let i = 0; i < 200; i++) {
    const [, count] = await pubClient.sendCommand(["PUBSUB", numsub, own]);
    if (Number(count) >= 1) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("the redis adapter did not subscribe");
}

joinCluster().then(() => httpServer.listen(port, "127.0.0.1", () => {
  process.stdout.write(`LISTENING ${httpServer.address().port}\n`);
}));

const shutdown = () => process.exit(0);
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
