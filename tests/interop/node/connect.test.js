// Handshake scenarios: connect + welcome, auth middleware rejection, invalid namespace,
// multiplexing "/" and "/custom" on one Manager.
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

for (const cfg of h.TRANSPORTS) {
  describe(`connect [${cfg.name}]`, () => {
    it("connects and receives welcome with socket id and the auth object", async () => {
      const auth = { token: "good", user: "zoë 🚀", n: 7, nested: { list: [1, "two", null], flag: true } };
      const { socket, welcome } = pool.open(server.url, "/", { ...cfg.opts, auth });
      await h.ready(socket, cfg);
      const w = await welcome;
      assert.equal(typeof socket.id, "string", "client socket.id should be a string after connect");
      assert.ok(socket.id.length > 0, "socket.id should be non-empty");
      assert.equal(w.id, socket.id, "welcome.id (server socket.id) should equal the client's socket.id");
      assert.deepEqual(w.auth, auth, "handshake.auth should round-trip unchanged");
      assert.notEqual(
        socket.id,
        socket.io.engine.id,
        "Socket.IO v5: the namespace socket id must differ from the Engine.IO sid",
      );
    });

    it("connects without auth: handshake.auth is {}", async () => {
      const { socket, welcome } = pool.open(server.url, "/", cfg.opts);
      await h.ready(socket, cfg);
      const w = await welcome;
      assert.equal(w.id, socket.id);
      assert.deepEqual(w.auth, {}, "handshake.auth should default to {} when the client sends none");
    });

    it("middleware rejection gives connect_error with message and data", async () => {
      const { socket } = pool.open(server.url, "/", { ...cfg.opts, auth: { token: "bad" } });
      let connectedFired = false;
      socket.on("connect", () => (connectedFired = true));
      const [err] = await h.waitFor(socket, "connect_error", { label: "rejected socket" });
      assert.ok(err instanceof Error, "connect_error should carry an Error");
      assert.equal(err.message, "unauthorized", "connect_error message from the middleware");
      assert.deepEqual(err.data, { code: 401 }, "connect_error data from the middleware");
      assert.equal(connectedFired, false, "socket must not fire connect");
      assert.equal(socket.connected, false);
      assert.equal(socket.active, false, "a middleware rejection (CONNECT_ERROR packet) must not retry");
    });

    it('unknown namespace gives connect_error "Invalid namespace"', async () => {
      const { socket } = pool.open(server.url, "/does-not-exist", cfg.opts);
      const [err] = await h.waitFor(socket, "connect_error", { label: "/does-not-exist" });
      assert.equal(err.message, "Invalid namespace");
      assert.equal(socket.connected, false);
    });

    it('"/" and "/custom" multiplexed on one Manager', async () => {
      const manager = pool.manager(server.url, cfg.opts);
      const root = pool.track(manager.socket("/", { auth: { who: "root" } }));
      const custom = pool.track(manager.socket("/custom"));
      const rootWelcome = h.waitFor(root, "welcome", { label: "/ welcome" });
      const customWelcome = h.waitFor(custom, "welcome", { label: "/custom welcome" });
      await h.ready(root, cfg, "/");
      await h.connected(custom, "/custom");
      assert.equal(root.io, custom.io, "both sockets share one Manager");

      const [rw] = await rootWelcome;
      const [cw] = await customWelcome;
      assert.deepEqual(rw, { id: root.id, auth: { who: "root" } });
      assert.deepEqual(cw, { id: custom.id, nsp: "/custom" });
      assert.notEqual(root.id, custom.id, "each namespace gets its own socket id");

      // Events are routed per namespace.
      const rootEcho = h.waitFor(root, "echo", { label: "/ echo" });
      const customEcho = h.waitFor(custom, "echo", { label: "/custom echo" });
      custom.emit("echo", "from-custom");
      root.emit("echo", "from-root");
      assert.deepEqual(await customEcho, ["from-custom"]);
      assert.deepEqual(await rootEcho, ["from-root"]);
      assert.deepEqual(await h.ask(custom, "echo", { x: 1 }), { x: 1 }, "ack in /custom");

      // An invalid namespace on the same Manager does not disturb the others.
      const bad = pool.track(manager.socket("/nope"));
      const [err] = await h.waitFor(bad, "connect_error", { label: "/nope" });
      assert.equal(err.message, "Invalid namespace");

      // Leaving "/custom" keeps "/" (and the Engine.IO connection) alive.
      const customId = custom.id;
      custom.disconnect();
      assert.deepEqual(await h.ask(root, "echo", "still here"), "still here");
      const entry = await h.waitForDisconnectReason(root, customId, { nsp: "/custom" });
      assert.deepEqual(entry, { id: customId, nsp: "/custom", reason: "client namespace disconnect" });
      assert.equal(root.connected, true);
    });
  });
}
