// Catch-all listeners and packet middlewares (CONTRACT.md "Server parity (issue 3)"):
// prependAny/onAny order, offAny, onAnyOutgoing (direct emits, broadcasts, acks excluded) and
// socket.use() refusing an event ("middleware-error", the handler never runs).
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

function clients(cfg, n) {
  return h.openClients(pool, server.url, cfg, n, { labels: ["client A", "client B", "client C"] });
}

/** Both catch-all entries of one incoming event, in registration order (prependAny first). */
const logged = (...events) => events.flatMap((e) => [`prepend:${e}`, `any:${e}`]);

for (const cfg of h.TRANSPORTS) {
  describe(`listeners [${cfg.name}]`, () => {
    it("prependAny runs before onAny, for every incoming event, per socket", async () => {
      const [a, b] = await clients(cfg, 2);
      assert.deepEqual(await h.ask(a, "get-any-log"), logged("get-any-log"), "the asking event itself is logged first");
      assert.equal(await h.ask(a, "echo", 1), 1);
      a.emit("echo", "no ack");
      await h.waitFor(a, "echo");
      await h.ask(a, "join", "any-room");
      assert.deepEqual(
        await h.ask(a, "get-any-log"),
        logged("get-any-log", "echo", "echo", "join", "get-any-log"),
        "A's catch-all log",
      );
      assert.deepEqual(await h.ask(b, "get-any-log"), logged("get-any-log"), "B's log is its own");
    });

    it("offAny removes both catch-all listeners", async () => {
      const [a] = await clients(cfg, 1);
      assert.equal(await h.ask(a, "echo", "x"), "x");
      assert.deepEqual(await h.askAll(a, "off-any"), [], "off-any acks with no arguments");
      assert.equal(await h.ask(a, "echo", "y"), "y");
      await h.ask(a, "join", "r");
      const expected = logged("echo", "off-any");
      assert.deepEqual(await h.ask(a, "get-any-log"), expected, "nothing is logged after off-any");
      assert.deepEqual(await h.ask(a, "get-any-log"), expected, "still nothing");
    });

    it("onAnyOutgoing logs emits and broadcasts that targeted the socket, not acks", async () => {
      const [a, b, c] = await clients(cfg, 3);
      a.on("question", (payload, ack) => ack(`A:${payload}`));

      a.emit("echo", "no ack"); // server: socket.emit("echo", ...)
      await h.waitFor(a, "echo");
      assert.equal(await h.ask(a, "echo", "acked"), "acked", "an ack is not an event");
      assert.equal(await h.ask(a, "ask-client", "q1"), "A:q1", "socket.emitWithAck('question')");
      await h.askAll(a, "to-room", a.id, "room-msg", 1); // io.to(own id).emit
      await h.askAll(b, "broadcast", "bc-msg", 2); // B's broadcast reaches A (and C), not B
      await h.askAll(a, "volatile-burst", 3); // every volatile emit is logged, delivered or not
      await h.ask(a, "join", "out-room");
      assert.deepEqual(await h.ask(c, "ack-from-room", "out-room", "q2"), { responses: ["A:q2"] }); // broadcast with ack
      const mwErr = h.waitFor(a, "middleware-error");
      a.emit("forbidden");
      await mwErr;

      assert.deepEqual(await h.ask(a, "get-outgoing-log"), [
        "welcome",
        "echo",
        "question",
        "room-msg",
        "bc-msg",
        "burst",
        "burst",
        "burst",
        "question",
        "middleware-error",
      ]);
      assert.deepEqual(await h.ask(b, "get-outgoing-log"), ["welcome"], "B's own broadcast skipped B");
      assert.deepEqual(await h.ask(c, "get-outgoing-log"), ["welcome", "bc-msg"], "C got B's broadcast only");
    });

    it('socket.use refuses "forbidden": middleware-error, the handler never runs, the socket stays usable', async () => {
      const [a] = await clients(cfg, 1);
      const ran = h.collect(a, "forbidden-ran");
      const acked = [];
      const errors = h.collect(a, "middleware-error");

      const first = h.waitFor(a, "middleware-error", { label: "A (forbidden with ack)" });
      a.emit("forbidden", { x: 1 }, "two", (...args) => acked.push(args));
      assert.deepEqual(await first, ["forbidden event"]);
      const second = h.waitFor(a, "middleware-error", { label: "A (forbidden without ack)" });
      a.emit("forbidden");
      assert.deepEqual(await second, ["forbidden event"]);

      // Barrier: the server handles A's packets in order; anything the refused handler would
      // have sent precedes this ack.
      assert.equal(await h.ask(a, "echo", "after"), "after");
      await h.barrier(a, [a]);
      assert.deepEqual(ran, [], 'the "forbidden" handler must not run');
      assert.deepEqual(acked, [], "the refused event's ack must never be called");
      assert.deepEqual(errors, ["forbidden event", "forbidden event"], "one middleware-error per refused event");
      assert.equal(a.connected, true, "a refused event does not disconnect the socket");

      // Catch-all listeners run before packet middlewares: refused events are logged too.
      assert.deepEqual(
        await h.ask(a, "get-any-log"),
        logged("forbidden", "forbidden", "echo", "to-room", "get-any-log"),
      );
    });
  });
}
