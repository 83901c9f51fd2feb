// Rooms and broadcasting with three clients: join/leave, to-room, to-room-except, broadcast.
//
// "Did not receive" is checked deterministically with a barrier: after the broadcast under test
// has been acked, a marker event is sent to each client's own room (its socket id). Packets to
// one socket are delivered in order, so a client that got the marker but not the message was
// really excluded.
"use strict";

const { describe, it, before, after, afterEach } = require("node:test");
const assert = require("node:assert/strict");
const h = require("./helpers");

let server;
const pool = new h.ClientPool();

before(async () => {
  server = await h.startServer();
});
afterEach(() => pool.closeAll());
after(async () => {
  pool.closeAll();
  await server?.stop();
});

const sorted = (arr) => [...arr].sort();

async function clients(cfg, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const { socket } = pool.open(server.url, "/", cfg.opts);
    out.push(socket);
  }
  await Promise.all(out.map((s, i) => h.ready(s, cfg, `client ${"ABC"[i]}`)));
  return out;
}

let barrierSeq = 0;
/** Send a marker to each socket's own room via `via`, wait until each got it. */
async function barrier(via, sockets) {
  const n = ++barrierSeq;
  const waits = sockets.map((s) =>
    h.waitFor(s, `barrier-${n}`, { label: `socket ${s.id} (barrier ${n})` }),
  );
  for (const s of sockets) await h.askAll(via, "to-room", s.id, `barrier-${n}`, n);
  await Promise.all(waits);
}

for (const cfg of h.TRANSPORTS) {
  describe(`rooms [${cfg.name}]`, () => {
    it("join/leave ack the sorted room list; to-room reaches members only", async () => {
      const [a, b, c] = await clients(cfg, 3);
      const room = `room-${cfg.name}`;
      assert.deepEqual(await h.ask(a, "join", room), sorted([a.id, room]), "A's rooms after join");
      assert.deepEqual(await h.ask(b, "join", room), sorted([b.id, room]), "B's rooms after join");
      assert.deepEqual(await h.ask(b, "join", "zzz"), sorted([b.id, room, "zzz"]), "B in two rooms");
      assert.deepEqual(await h.ask(b, "join", "zzz"), sorted([b.id, room, "zzz"]), "joining twice is idempotent");

      const gotA = h.collect(a, "room-msg");
      const gotB = h.collect(b, "room-msg");
      const gotC = h.collect(c, "room-msg");
      await h.askAll(a, "to-room", room, "room-msg", { n: 1, s: "ü" });
      await barrier(c, [a, b, c]);
      assert.deepEqual(gotA, [{ n: 1, s: "ü" }], "sender A is in the room and receives it");
      assert.deepEqual(gotB, [{ n: 1, s: "ü" }], "member B receives it");
      assert.deepEqual(gotC, [], "non-member C must not receive it");

      // C (not a member) can still send to the room.
      await h.askAll(c, "to-room", room, "room-msg", 2);
      await barrier(c, [a, b, c]);
      assert.deepEqual(gotA, [{ n: 1, s: "ü" }, 2]);
      assert.deepEqual(gotB, [{ n: 1, s: "ü" }, 2]);
      assert.deepEqual(gotC, [], "C sent to a room it is not in: receives nothing");

      assert.deepEqual(await h.ask(a, "leave", room), [a.id], "A's rooms after leave");
      assert.deepEqual(await h.ask(a, "leave", "never-joined"), [a.id], "leaving an unknown room is a no-op");
      await h.askAll(b, "to-room", room, "room-msg", 3);
      await barrier(c, [a, b, c]);
      assert.deepEqual(gotA, [{ n: 1, s: "ü" }, 2], "A left: no more room messages");
      assert.deepEqual(gotB, [{ n: 1, s: "ü" }, 2, 3]);
      assert.deepEqual(gotC, []);

      // A socket's own id is a room.
      const gotPrivate = h.collect(c, "private");
      await h.askAll(a, "to-room", c.id, "private", "psst");
      await barrier(a, [a, b, c]);
      assert.deepEqual(gotPrivate, ["psst"], "the socket-id room reaches exactly that socket");
    });

    it("to-room-except excludes members of the except room", async () => {
      const [a, b, c] = await clients(cfg, 3);
      const room = `all-${cfg.name}`;
      for (const s of [a, b, c]) await h.ask(s, "join", room);
      await h.ask(b, "join", "muted");

      const got = [a, b, c].map((s) => h.collect(s, "ex-msg"));
      await h.askAll(a, "to-room-except", room, "muted", "ex-msg", "hi");
      await barrier(a, [a, b, c]);
      assert.deepEqual(got[0], ["hi"], "A (sender, in room) receives it");
      assert.deepEqual(got[1], [], "B is in the except room: excluded");
      assert.deepEqual(got[2], ["hi"], "C receives it");

      // except a socket id
      await h.askAll(a, "to-room-except", room, a.id, "ex-msg", "no-a");
      await barrier(a, [a, b, c]);
      assert.deepEqual(got[0], ["hi"], "A excluded by its own id room");
      assert.deepEqual(got[1], ["no-a"]);
      assert.deepEqual(got[2], ["hi", "no-a"]);
    });

    it("broadcast reaches everyone in / except the sender", async () => {
      const [a, b, c] = await clients(cfg, 3);
      const got = [a, b, c].map((s) => h.collect(s, "bc-msg"));
      await h.askAll(a, "broadcast", "bc-msg", { from: "A", bin: false });
      await barrier(b, [a, b, c]);
      assert.deepEqual(got[0], [], "sender A must not receive its broadcast");
      assert.deepEqual(got[1], [{ from: "A", bin: false }], "B receives it");
      assert.deepEqual(got[2], [{ from: "A", bin: false }], "C receives it");
    });

    it("broadcast with binary reaches the others as binary", async () => {
      const [a, b, c] = await clients(cfg, 3);
      const blob = Buffer.from([1, 2, 3, 250]);
      const wb = h.waitFor(b, "bc-bin");
      const wc = h.waitFor(c, "bc-bin");
      await h.askAll(a, "broadcast", "bc-bin", { blob });
      for (const [s, w] of [["B", wb], ["C", wc]]) {
        const [p] = await w;
        assert.ok(Buffer.isBuffer(p.blob), `${s}: broadcast binary should arrive as Buffer`);
        assert.ok(p.blob.equals(blob), `${s}: broadcast binary bytes`);
      }
    });
  });
}

describe("rooms across namespaces and transports", () => {
  it("broadcast in / does not reach /custom; mixed transports share rooms", async () => {
    const [ws] = await clients(h.TRANSPORTS[0], 1);
    const [poll] = await clients(h.TRANSPORTS[1], 1);
    const { socket: custom } = pool.open(server.url, "/custom", h.TRANSPORTS[0].opts);
    await h.connected(custom, "/custom");
    const gotCustom = h.collect(custom, "bc-x");
    const gotPoll = h.collect(poll, "bc-x");
    const room = "mixed";
    await h.ask(ws, "join", room);
    await h.ask(poll, "join", room);
    await h.askAll(ws, "broadcast", "bc-x", 1);
    const roomX = h.waitFor(ws, "room-x", { label: "websocket client" });
    await h.askAll(poll, "to-room", room, "room-x", 2);
    const [wsGot] = await roomX;
    assert.equal(wsGot, 2, "websocket client receives a room message sent by a polling client");
    await barrier(ws, [poll]);
    assert.deepEqual(gotPoll, [1], "polling client receives the websocket client's broadcast");
    // /custom has no to-room handler; use its echo as an ordering barrier for that socket.
    assert.equal(await h.ask(custom, "echo", "sync"), "sync");
    assert.deepEqual(gotCustom, [], "a broadcast in / never reaches /custom");
  });
});
