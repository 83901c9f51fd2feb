// Backpressure (beyond socket.io, see socket.io#3158), seen from socket.io-client 4.8: the
// server bounds each connection's send queue (MAX_BUFFERED=64 packets). `flood` (contract,
// polysocket only) emits `count` events as fast as it can; what the bound refused is counted,
// what it accepted arrives in order, and a producer that awaits drain loses nothing. With
// ON_SATURATED=disconnect the client is dropped instead.
//
// npm socket.io has no send-queue bound (its buffer grows without limit), so these tests only
// run against polysocket's interop server (POLYSOCKET_INTEROP_SERVER, always set in CI).
"use strict";

const { describe, it, afterEach } = require("node:test");
const assert = require("node:assert/strict");
const h = require("./helpers");

const skip = process.env.POLYSOCKET_INTEROP_SERVER
  ? false
  : "npm socket.io has no send-queue bound: run with POLYSOCKET_INTEROP_SERVER";
const pool = new h.ClientPool();
afterEach(() => pool.closeAll());

/** Counts `flood-item` events and checks that they come in order. */
function countItems(socket) {
  const seen = { count: 0, inOrder: true, last: -1 };
  socket.on("flood-item", (i) => {
    seen.inOrder &&= i > seen.last;
    seen.last = i;
    seen.count += 1;
  });
  return seen;
}

for (const cfg of h.TRANSPORTS) {
  describe(`bounded send queue, error policy [${cfg.name}]`, { skip }, () => {
    const suite = h.suiteServer({ MAX_BUFFERED: "64" }, pool);

    it("emits past the bound are refused; the accepted ones all arrive, in order", async () => {
      const { socket } = pool.open(suite.server.url, "/", cfg.opts);
      await h.ready(socket, cfg);
      const seen = countItems(socket);
      const { sent, refused } = await socket.timeout(10_000).emitWithAck("flood", 5000, 100, false);
      assert.equal(sent + refused, 5000);
      assert.ok(refused > 0, `the bound refused nothing (${sent} sent)`);
      assert.equal(seen.count, sent);
      assert.ok(seen.inOrder);
      assert.equal(socket.connected, true);
      assert.equal(await socket.timeout(h.WAIT_MS).emitWithAck("echo", "still here"), "still here");
    });

    it("a producer that awaits drain gets everything through", async () => {
      const { socket } = pool.open(suite.server.url, "/", cfg.opts);
      await h.ready(socket, cfg);
      const seen = countItems(socket);
      const { sent, refused } = await socket.timeout(20_000).emitWithAck("flood", 5000, 100, true);
      assert.deepEqual({ sent, refused }, { sent: 5000, refused: 0 });
      assert.equal(seen.count, 5000);
      assert.ok(seen.inOrder);
    });
  });
}

describe("bounded send queue, disconnect policy", { skip }, () => {
  const suite = h.suiteServer({ MAX_BUFFERED: "64", ON_SATURATED: "disconnect" }, pool);

  it("a client whose queue fills up is disconnected; others are unaffected", async () => {
    const { socket: flooded } = pool.open(suite.server.url, "/", { transports: ["websocket"] });
    const { socket: bystander } = pool.open(suite.server.url, "/", { transports: ["websocket"] });
    await Promise.all([h.waitFor(flooded, "connect"), h.waitFor(bystander, "connect")]);
    const gone = h.waitFor(flooded, "disconnect");
    flooded.emit("flood", 5000, 100, false, () => assert.fail("no ack once disconnected"));
    const [reason] = await gone;
    assert.equal(reason, "transport close");
    assert.equal(await bystander.timeout(h.WAIT_MS).emitWithAck("echo", "fine"), "fine");
  });
});
