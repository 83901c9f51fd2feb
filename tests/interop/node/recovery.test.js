// Connection state recovery (socket.io 4.6+), with the server started with RECOVERY=1
// (connectionStateRecovery, maxDisconnectionDuration 3000 ms, skipMiddlewares true).
//
// A client that loses its transport reconnects with its private id and last offset, and gets
// back its socket id, rooms and data, plus the events sent to it meanwhile (each event then
// carries its offset as an extra, last argument).
"use strict";

const { describe, it, before, after, afterEach } = require("node:test");
const assert = require("node:assert/strict");
const { io } = require("socket.io-client");
const h = require("./helpers");

let server;
const pool = new h.ClientPool();

before(async () => {
  server = await h.startServer({ RECOVERY: "1" });
});
afterEach(() => pool.closeAll());
after(async () => {
  pool.closeAll();
  await server?.stop();
});

/** A client that reconnects by itself, after exactly `delay` ms. */
function recoveringClient(cfg, delay = 400) {
  const socket = io(server.url, {
    forceNew: true,
    timeout: h.WAIT_MS,
    reconnection: true,
    reconnectionDelay: delay,
    reconnectionDelayMax: delay,
    randomizationFactor: 0,
    ...cfg.opts,
  });
  return pool.track(socket);
}

async function plainClient(cfg) {
  const { socket } = pool.open(server.url, "/", cfg.opts);
  await h.ready(socket, cfg, "observer");
  return socket;
}

/**
 * Connects a recovering client, puts it in `room` with some data, drops its transport with
 * `drop(socket)`, has an observer send it `missed` while it is away, and waits for it to
 * reconnect. Returns what the tests compare.
 */
async function dropAndRecover(cfg, room, drop) {
  const a = recoveringClient(cfg);
  await h.ready(a, cfg, "client A");
  assert.equal(a.recovered, false, "a first connection is not recovered");
  assert.equal(await h.ask(a, "get-recovered"), false);
  const firstId = a.id;
  await h.ask(a, "join", room);
  await h.ask(a, "set-data", { favourite: room });
  const observer = await plainClient(cfg);

  const missed = [];
  a.on("missed", (...args) => missed.push(args));
  const disconnected = h.waitFor(a, "disconnect", { label: "client A disconnect" });
  drop(a);
  const [reason] = await disconnected;
  const reconnected = h.waitFor(a, "connect", { label: "client A reconnect" });
  await h.ask(observer, "to-room", room, "missed", { while: "away" });
  await reconnected;
  // Missed events are sent before the CONNECT reply and emitted right after "connect".
  await h.until(() => missed.length, (n) => n >= 1);
  return { a, observer, firstId, reason, missed };
}

for (const cfg of h.TRANSPORTS) {
  describe(`connection state recovery [${cfg.name}]`, () => {
    it("the server dropping the transport: id, rooms, data and missed events come back", async () => {
      const room = `rec-server-${cfg.name}`;
      const { a, observer, firstId, reason, missed } = await dropAndRecover(cfg, room, (s) =>
        s.emit("kill-transport"),
      );
      assert.equal(reason, "transport close");
      assert.equal(a.recovered, true);
      assert.equal(a.id, firstId, "the socket id is the old one");
      assert.equal(await h.ask(a, "get-recovered"), true);
      assert.equal(missed.length, 1, `missed events: ${JSON.stringify(missed)}`);
      assert.deepEqual(missed[0][0], { while: "away" });
      assert.equal(missed[0].length, 2, "the payload, then the offset");
      assert.equal(typeof missed[0][1], "string");
      const [remote] = await h.ask(observer, "fetch-sockets", room);
      assert.deepEqual(remote, {
        id: firstId,
        rooms: [firstId, room].sort(),
        data: { favourite: room },
      });
    });

    it("the client closing its transport: recovered the same way", async () => {
      const room = `rec-client-${cfg.name}`;
      const { a, firstId, missed } = await dropAndRecover(cfg, room, (s) => s.io.engine.close());
      assert.equal(a.recovered, true);
      assert.equal(a.id, firstId);
      assert.deepEqual(
        missed.map((args) => args[0]),
        [{ while: "away" }],
      );
    });

    it("an unknown private id or offset gives a fresh socket", async () => {
      const { socket } = pool.open(server.url, "/", {
        ...cfg.opts,
        auth: { pid: "no-such-session", offset: "no-such-offset" },
      });
      await h.ready(socket, cfg);
      assert.equal(socket.recovered, false);
      assert.equal(await h.ask(socket, "get-recovered"), false);
    });
  });
}

describe("connection state recovery: expiry", () => {
  it("a client that comes back after maxDisconnectionDuration gets a new socket", async () => {
    const cfg = h.TRANSPORTS[0];
    const a = recoveringClient(cfg, 3500);
    await h.ready(a, cfg, "client A");
    const firstId = a.id;
    const disconnected = h.waitFor(a, "disconnect");
    a.emit("kill-transport");
    await disconnected;
    await h.waitFor(a, "connect", { ms: 6000, label: "client A reconnect after 3.5 s" });
    assert.equal(a.recovered, false);
    assert.notEqual(a.id, firstId);
  });
});
