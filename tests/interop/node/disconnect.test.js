// Disconnect scenarios and the exact reason strings on both sides, plus heartbeats
// (a fast-ping server: ping timeout detection and healthy clients staying connected).
"use strict";

const { describe, it, before, after, afterEach } = require("node:test");
const assert = require("node:assert/strict");
const h = require("./helpers");

let server;
let observer; // a separate client used to read the server's disconnect-reason log
const pool = new h.ClientPool();
const observerPool = new h.ClientPool();

before(async () => {
  server = await h.startServer();
  observer = observerPool.open(server.url, "/", { transports: ["websocket"] }).socket;
  await h.connected(observer, "observer");
});
afterEach(() => pool.closeAll());
after(async () => {
  pool.closeAll();
  observerPool.closeAll();
  await server?.stop();
});

/** Connect "/" and "/custom" on one Manager. */
async function multiplexed(cfg) {
  const manager = pool.manager(server.url, cfg.opts);
  const root = pool.track(manager.socket("/"));
  const custom = pool.track(manager.socket("/custom"));
  await h.ready(root, cfg, "/");
  await h.connected(custom, "/custom");
  return { manager, root, custom };
}

for (const cfg of h.TRANSPORTS) {
  describe(`disconnect [${cfg.name}]`, () => {
    it('client socket.disconnect(): client "io client disconnect", server "client namespace disconnect"', async () => {
      const { socket } = pool.open(server.url, "/", cfg.opts);
      await h.ready(socket, cfg);
      const id = socket.id;
      const d = h.waitFor(socket, "disconnect");
      socket.disconnect();
      const [reason] = await d;
      assert.equal(reason, "io client disconnect", "client-side reason");
      const entry = await h.waitForDisconnectReason(observer, id);
      assert.deepEqual(entry, { id, nsp: "/", reason: "client namespace disconnect" }, "server-side record");
    });

    it('server socket.disconnect(): client "io server disconnect", other namespace stays up', async () => {
      const { root, custom } = await multiplexed(cfg);
      const id = root.id;
      let customDisconnected = false;
      custom.on("disconnect", () => (customDisconnected = true));
      const d = h.waitFor(root, "disconnect", { label: "/" });
      root.emit("server-disconnect");
      const [reason] = await d;
      assert.equal(reason, "io server disconnect", "client-side reason for a server namespace disconnect");
      assert.equal(root.active, false, "client must not reconnect after io server disconnect");
      const entry = await h.waitForDisconnectReason(observer, id);
      assert.deepEqual(entry, { id, nsp: "/", reason: "server namespace disconnect" }, "server-side record");
      // Only the namespace was left: the Engine.IO connection and /custom are still alive.
      assert.equal(await h.ask(custom, "echo", "alive"), "alive", "/custom still works on the same connection");
      assert.equal(customDisconnected, false, "/custom must not be disconnected");
      assert.equal(custom.connected, true);
    });

    it('server socket.disconnect(true): every namespace gets "io server disconnect"', async () => {
      const { manager, root, custom } = await multiplexed(cfg);
      const rootId = root.id;
      const customId = custom.id;
      const dRoot = h.waitFor(root, "disconnect", { label: "/" });
      const dCustom = h.waitFor(custom, "disconnect", { label: "/custom" });
      const engineClosed = h.waitFor(manager.engine, "close", { label: "engine" });
      root.emit("server-close");
      const [rootReason] = await dRoot;
      const [customReason] = await dCustom;
      assert.equal(rootReason, "io server disconnect", "/ client-side reason");
      assert.equal(customReason, "io server disconnect", "/custom client-side reason");
      await engineClosed; // the whole Engine.IO connection is gone
      const eRoot = await h.waitForDisconnectReason(observer, rootId);
      const eCustom = await h.waitForDisconnectReason(observer, customId);
      assert.deepEqual(eRoot, { id: rootId, nsp: "/", reason: "server namespace disconnect" });
      assert.deepEqual(eCustom, { id: customId, nsp: "/custom", reason: "server namespace disconnect" });
    });

    it('client closes its whole connection (engine.close()): client "forced close", server "transport close"', async () => {
      const { manager, root, custom } = await multiplexed(cfg);
      const rootId = root.id;
      const customId = custom.id;
      const dRoot = h.waitFor(root, "disconnect", { label: "/" });
      const dCustom = h.waitFor(custom, "disconnect", { label: "/custom" });
      manager.engine.close();
      assert.equal((await dRoot)[0], "forced close", "/ client-side reason");
      assert.equal((await dCustom)[0], "forced close", "/custom client-side reason");
      const eRoot = await h.waitForDisconnectReason(observer, rootId);
      const eCustom = await h.waitForDisconnectReason(observer, customId);
      assert.deepEqual(eRoot, { id: rootId, nsp: "/", reason: "transport close" }, "server-side record for /");
      assert.deepEqual(eCustom, { id: customId, nsp: "/custom", reason: "transport close" }, "server-side record for /custom");
    });

    it("the reason log keeps order and both namespaces", async () => {
      const { socket: s1 } = pool.open(server.url, "/", cfg.opts);
      const { socket: s2 } = pool.open(server.url, "/custom", cfg.opts);
      await h.ready(s1, cfg);
      await h.connected(s2);
      const id1 = s1.id;
      const id2 = s2.id;
      s1.disconnect();
      await h.waitForDisconnectReason(observer, id1);
      s2.disconnect();
      await h.waitForDisconnectReason(observer, id2);
      const log = await h.ask(observer, "get-disconnect-reasons");
      const i1 = log.findIndex((e) => e.id === id1);
      const i2 = log.findIndex((e) => e.id === id2);
      assert.ok(i1 >= 0 && i2 > i1, `entries must be in event order: ${JSON.stringify(log.slice(-4))}`);
      assert.deepEqual(log[i2], { id: id2, nsp: "/custom", reason: "client namespace disconnect" });
    });
  });
}

describe("heartbeat (PING_INTERVAL=200 PING_TIMEOUT=200)", () => {
  let fast;
  let fastObserver;
  const fastPool = new h.ClientPool();

  before(async () => {
    fast = await h.startServer({ PING_INTERVAL: "200", PING_TIMEOUT: "200" });
    fastObserver = fastPool.open(fast.url, "/", { transports: ["websocket"] }).socket;
    await h.connected(fastObserver, "fast observer");
  });
  after(async () => {
    fastPool.closeAll();
    await fast?.stop();
  });

  it("handshake advertises pingInterval/pingTimeout; answering clients stay connected", async () => {
    const sockets = await Promise.all(
      h.TRANSPORTS.map(async (cfg) => {
        const { socket } = fastPool.open(fast.url, "/", cfg.opts);
        const pings = { n: 0 };
        socket.io.on("ping", () => pings.n++);
        await h.ready(socket, cfg, cfg.name);
        return { cfg, socket, pings };
      }),
    );
    for (const { cfg, socket } of sockets) {
      assert.equal(socket.io.engine._pingInterval, 200, `[${cfg.name}] pingInterval from the open packet`);
      assert.equal(socket.io.engine._pingTimeout, 200, `[${cfg.name}] pingTimeout from the open packet`);
    }
    await h.sleep(1200);
    for (const { cfg, socket, pings } of sockets) {
      assert.equal(socket.connected, true, `[${cfg.name}] still connected after 1.2 s of 200 ms pings`);
      assert.ok(pings.n >= 3, `[${cfg.name}] expected >= 3 pings in 1.2 s, got ${pings.n}`);
      assert.equal(await h.ask(socket, "echo", "ok"), "ok", `[${cfg.name}] still usable`);
    }
    for (const { socket } of sockets) socket.disconnect();
  });

  it('a client that stops answering pings is dropped with "ping timeout"', async () => {
    const { socket } = fastPool.open(fast.url, "/", { transports: ["websocket"] });
    await h.ready(socket, { opts: { transports: ["websocket"] } });
    const id = socket.id;
    const ws = socket.io.engine.transport.ws;
    assert.ok(ws && typeof ws.send === "function", "engine.io-client websocket transport should expose its ws");
    // Swallow the raw outgoing pong frames ("3"); everything else, incoming pings included, still flows.
    const originalSend = ws.send.bind(ws);
    let swallowed = 0;
    ws.send = (data, ...rest) => {
      if (data === "3") {
        swallowed++;
        return;
      }
      return originalSend(data, ...rest);
    };
    const t0 = Date.now();
    const [clientReason] = await h.waitFor(socket, "disconnect", { ms: 3000, label: "pong-less client" });
    const elapsed = Date.now() - t0;
    const entry = await h.waitForDisconnectReason(fastObserver, id, { ms: 3000 });
    assert.deepEqual(entry, { id, nsp: "/", reason: "ping timeout" }, "server-side record");
    assert.equal(clientReason, "transport close", "the server closed the connection (client saw transport close)");
    assert.ok(swallowed >= 1, "at least one pong was swallowed");
    assert.ok(elapsed < 2000, `dropped within 2 s (took ${elapsed} ms)`);
  });
});
