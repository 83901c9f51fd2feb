// Server utilities (CONTRACT.md "Server parity (issue 3)"): fetchSockets (rooms + data),
// emitting to fetched sockets, socketsJoin/socketsLeave, disconnectSockets(false|true) with the
// disconnect reasons on both sides, serverSideEmit on a single server, socket.handshake.
"use strict";

const { describe, it, before, after, afterEach } = require("node:test");
const assert = require("node:assert/strict");
const h = require("./helpers");

let server;
let observer; // in "/custom": reads the server's disconnect-reason log, never part of "/"
const pool = new h.ClientPool();
const observerPool = new h.ClientPool();

before(async () => {
  server = await h.startServer();
  observer = observerPool.open(server.url, "/custom", { transports: ["websocket"] }).socket;
  await h.connected(observer, "observer (/custom)");
});
afterEach(() => h.closeAndSettle(pool, observer));
after(async () => {
  pool.closeAll();
  observerPool.closeAll();
  await server?.stop();
});

const sorted = (arr) => [...arr].sort();
const byId = (list) => [...list].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));

function clients(cfg, n) {
  return h.openClients(pool, server.url, cfg, n, { labels: ["client A", "client B", "client C"] });
}

/** "/" and "/custom" on one Manager (one Engine.IO connection). */
async function multiplexed(cfg, label) {
  const manager = pool.manager(server.url, cfg.opts);
  const root = pool.track(manager.socket("/"));
  const custom = pool.track(manager.socket("/custom"));
  await h.ready(root, cfg, `${label} /`);
  await h.connected(custom, `${label} /custom`);
  return { manager, root, custom };
}

for (const cfg of h.TRANSPORTS) {
  describe(`utilities [${cfg.name}]`, () => {
    it("fetch-sockets returns id, sorted rooms and data of the matching sockets", async () => {
      const [a, b, c] = await clients(cfg, 3);
      await h.ask(a, "join", "fs");
      await h.ask(b, "join", "fs");
      await h.ask(b, "join", "other");
      const data = { user: "bob", list: [1, "two", null], nested: { ok: true }, s: "ü🚀" };
      assert.deepEqual(await h.askAll(b, "set-data", data), [], "set-data acks with no arguments");

      assert.deepEqual(
        await h.ask(c, "fetch-sockets", "fs"),
        byId([
          { id: a.id, rooms: sorted([a.id, "fs"]), data: { nsp: "/" } },
          { id: b.id, rooms: sorted([b.id, "fs", "other"]), data },
        ]),
        "members of fs; socket.data defaults to { nsp: '/' }",
      );
      assert.deepEqual(await h.ask(a, "fetch-sockets", c.id), [{ id: c.id, rooms: [c.id], data: { nsp: "/" } }], "a socket-id room");
      assert.deepEqual(await h.ask(a, "fetch-sockets", "nobody-here"), [], "unknown room");

      await h.ask(a, "leave", "fs");
      assert.deepEqual(await h.ask(c, "fetch-sockets", "fs"), [{ id: b.id, rooms: sorted([b.id, "fs", "other"]), data }]);
    });

    it("remote-emit: emitting on each fetched socket reaches exactly them", async () => {
      const [a, b, c] = await clients(cfg, 3);
      await h.ask(a, "join", "re");
      await h.ask(c, "join", "re");
      const got = [a, b, c].map((s) => h.collect(s, "remote-msg"));
      const payload = { hello: "remote", n: [1, 2, 3] };
      assert.deepEqual(await h.askAll(b, "remote-emit", "re", "remote-msg", payload), []);
      await h.barrier(b, [a, b, c]);
      assert.deepEqual(got, [[payload], [], [payload]], "A and C (members) once each, B nothing");
    });

    it("sockets-join / sockets-leave make all matching sockets join / leave a room", async () => {
      const [a, b, c] = await clients(cfg, 3);
      await h.ask(a, "join", "base");
      await h.ask(b, "join", "base");
      assert.deepEqual(await h.askAll(c, "sockets-join", "base", "extra"), [], "sockets-join acks with no arguments");
      const expectJoined = byId([
        { id: a.id, rooms: sorted([a.id, "base", "extra"]), data: { nsp: "/" } },
        { id: b.id, rooms: sorted([b.id, "base", "extra"]), data: { nsp: "/" } },
      ]);
      assert.deepEqual(await h.ask(c, "fetch-sockets", "extra"), expectJoined, "A and B joined extra");
      assert.deepEqual(await h.ask(c, "join", "zzz"), sorted([c.id, "zzz"]), "C was not made to join");

      // A room joined this way is a real room: broadcasts to it reach A and B.
      const got = [a, b, c].map((s) => h.collect(s, "extra-msg"));
      await h.askAll(c, "to-room", "extra", "extra-msg", 1);
      await h.barrier(c, [a, b, c]);
      assert.deepEqual(got, [[1], [1], []]);

      // A single socket by its id room.
      await h.askAll(a, "sockets-join", c.id, "extra");
      assert.deepEqual(await h.ask(a, "fetch-sockets", c.id), [{ id: c.id, rooms: sorted([c.id, "extra", "zzz"]), data: { nsp: "/" } }]);

      assert.deepEqual(await h.askAll(c, "sockets-leave", "base", "extra"), [], "sockets-leave acks with no arguments");
      assert.deepEqual(
        await h.ask(c, "fetch-sockets", "extra"),
        [{ id: c.id, rooms: sorted([c.id, "extra", "zzz"]), data: { nsp: "/" } }],
        "only the members of base left extra",
      );
      assert.deepEqual(
        await h.ask(c, "fetch-sockets", "base"),
        byId([
          { id: a.id, rooms: sorted([a.id, "base"]), data: { nsp: "/" } },
          { id: b.id, rooms: sorted([b.id, "base"]), data: { nsp: "/" } },
        ]),
      );
    });

    it('disconnect-sockets(room, false): "io server disconnect" for "/" only, other namespaces stay', async () => {
      const { manager, root: a, custom: aCustom } = await multiplexed(cfg, "A");
      const [b, c] = await clients(cfg, 2);
      await h.ask(a, "join", "kick");
      await h.ask(b, "join", "kick");
      const ids = { a: a.id, aCustom: aCustom.id, b: b.id };
      const events = [];
      for (const [name, s] of [["A /", a], ["A /custom", aCustom], ["B", b], ["C", c]]) {
        s.on("disconnect", (reason) => events.push(`${name}: ${reason}`));
      }
      let engineClosed = false;
      manager.engine.on("close", () => (engineClosed = true));

      const dA = h.waitFor(a, "disconnect", { label: "A /" });
      const dB = h.waitFor(b, "disconnect", { label: "B" });
      assert.deepEqual(await h.askAll(c, "disconnect-sockets", "kick", false), [], "the ack comes first");
      assert.equal((await dA)[0], "io server disconnect");
      assert.equal((await dB)[0], "io server disconnect");
      assert.equal(a.active, false, "no reconnection after io server disconnect");

      assert.deepEqual(await h.waitForDisconnectReason(observer, ids.a), { id: ids.a, nsp: "/", reason: "server namespace disconnect" });
      assert.deepEqual(await h.waitForDisconnectReason(observer, ids.b), { id: ids.b, nsp: "/", reason: "server namespace disconnect" });
      // The Engine.IO connection and A's /custom are untouched; C is untouched.
      assert.equal(await h.ask(aCustom, "echo", "alive"), "alive", "A's /custom still works");
      assert.equal(await h.ask(c, "echo", "alive"), "alive", "C still works");
      assert.deepEqual(sorted(events), ["A /: io server disconnect", "B: io server disconnect"]);
      assert.equal(engineClosed, false, "A's Engine.IO connection stays open");
      const log = await h.ask(observer, "get-disconnect-reasons");
      assert.equal(log.filter((e) => e.id === ids.aCustom).length, 0, "A's /custom was not disconnected");
    });

    it('disconnect-sockets(room, true): every namespace of the connection gets "io server disconnect", then the connection closes', async () => {
      const { manager, root: a, custom: aCustom } = await multiplexed(cfg, "A");
      const [b, c] = await clients(cfg, 2);
      await h.ask(a, "join", "close");
      const ids = { a: a.id, aCustom: aCustom.id };
      const order = [];
      a.on("disconnect", (reason) => order.push(`/ disconnect: ${reason}`));
      const dA = h.waitFor(a, "disconnect", { label: "A /" });
      const dCustom = h.waitFor(aCustom, "disconnect", { label: "A /custom" });
      const engineClose = h.waitFor(manager.engine, "close", { label: "A engine" });
      const bDisconnected = [];
      b.on("disconnect", (r) => bDisconnected.push(r));

      // A itself asks: the ack must arrive before the disconnect.
      a.emit("disconnect-sockets", "close", true, (...args) => order.push(`ack ${JSON.stringify(args)}`));
      assert.equal((await dA)[0], "io server disconnect");
      assert.equal((await dCustom)[0], "io server disconnect");
      assert.equal((await engineClose)[0], "forced close", "engine close reason after the DISCONNECT packets");
      assert.deepEqual(order, ["ack []", "/ disconnect: io server disconnect"], "ack first, then the disconnect");

      assert.deepEqual(await h.waitForDisconnectReason(observer, ids.a), { id: ids.a, nsp: "/", reason: "server namespace disconnect" });
      assert.deepEqual(await h.waitForDisconnectReason(observer, ids.aCustom), {
        id: ids.aCustom,
        nsp: "/custom",
        reason: "server namespace disconnect",
      });
      assert.equal(await h.ask(b, "echo", "alive"), "alive", "B (not in the room) is untouched");
      assert.equal(await h.ask(c, "echo", "alive"), "alive", "C is untouched");
      assert.deepEqual(bDisconnected, []);
    });

    it("server-side-emit: with a single server the callback never runs (no ack)", async () => {
      const [a] = await clients(cfg, 1);
      const acked = [];
      a.emit("server-side-emit", (...args) => acked.push(args));
      // Barrier on the same socket, then a grace period for an asynchronous callback.
      assert.equal(await h.ask(a, "echo", "after"), "after");
      await h.sleep(300);
      assert.deepEqual(acked, [], "socket.io's in-memory adapter never calls the serverSideEmit callback");
      assert.equal(await h.ask(a, "echo", "still"), "still", "the server is still fine");
    });

    it("get-handshake: query, headers, address, xdomain, secure, url, issued, time", async () => {
      const [a] = await h.openClients(pool, server.url, cfg, 1, { opts: { query: { foo: "bar", n: "1" } } });
      const hs = await h.ask(a, "get-handshake");
      // The handshake is taken from the first HTTP request: polling for the polling and the
      // upgrade configs (with engine.io-client's cache-busting "t"), the WebSocket upgrade otherwise.
      const first = cfg.opts.transports ? cfg.opts.transports[0] : "polling";
      const query = { foo: "bar", n: "1", EIO: "4", transport: first };
      if (first === "polling") {
        assert.equal(typeof hs.query?.t, "string", `polling query carries a "t" string: ${JSON.stringify(hs.query)}`);
        assert.ok(hs.query.t.length > 0);
        query.t = hs.query.t;
      }
      assert.deepEqual(hs, {
        query,
        // Node's socket.io-client sends a User-Agent on polling requests (xmlhttprequest-ssl) but
        // not on the WebSocket handshake (ws).
        userAgentHeader: first === "polling" ? "string" : "undefined",
        address: "string",
        xdomain: false,
        secure: false,
        url: "/socket.io/",
        issued: "number",
        time: "string",
      });
    });
  });
}
