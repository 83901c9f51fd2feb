// Dynamic namespaces (CONTRACT.md "Server parity (issue 3)", "Dynamic namespaces"): a regex
// parent (/dyn-<digits>) with a connect middleware, a predicate parent (/pred-… with
// auth.allow === true), and cleanupEmptyChildNamespaces seen through list-namespaces.
"use strict";

const { describe, it, before, after, afterEach } = require("node:test");
const assert = require("node:assert/strict");
const h = require("./helpers");

let server;
let observer; // in "/": asks list-namespaces
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

const sorted = (arr) => [...arr].sort();
const listNamespaces = () => h.ask(observer, "list-namespaces");
const same = (x, y) => JSON.stringify(x) === JSON.stringify(y);
/** list-namespaces once it equals `expected` (bounded: cleanup follows a client's DISCONNECT). */
const namespacesBecome = (expected) => h.until(listNamespaces, (v) => same(v, expected));

let seq = 0;
const fresh = (prefix) => `${prefix}${++seq}`;

/** Resolve with the connect_error of a socket that must not connect. */
async function refused(socket, label) {
  let connectedTo = null;
  socket.on("connect", () => (connectedTo = socket.id));
  const [err] = await h.waitFor(socket, "connect_error", { label });
  assert.equal(connectedTo, null, `${label}: must not connect`);
  return err;
}

describe("dynamic namespaces: initial state", () => {
  it("list-namespaces starts with the static namespaces only (parents are not listed)", async () => {
    assert.deepEqual(await listNamespaces(), ["/", "/custom"]);
  });
});

for (const cfg of h.TRANSPORTS) {
  describe(`dynamic namespaces [${cfg.name}]`, () => {
    it("regex parent: a matching name creates a child (welcome, echo), removed when its last socket leaves", async () => {
      const before = await listNamespaces();
      const nsp = fresh("/dyn-");
      const o1 = pool.open(server.url, nsp, cfg.opts);
      await h.ready(o1.socket, cfg, `${nsp} #1`);
      assert.deepEqual(await o1.welcome, { nsp }, "welcome names the child namespace");
      assert.equal(await h.ask(o1.socket, "echo", "dyn"), "dyn", "echo works in the child");
      assert.deepEqual(await h.askAll(o1.socket, "echo", 1, { two: [2] }), [1, { two: [2] }]);
      assert.deepEqual(await listNamespaces(), sorted([...before, nsp]), "the child is listed");

      const o2 = pool.open(server.url, nsp, cfg.opts);
      await h.ready(o2.socket, cfg, `${nsp} #2`);
      assert.deepEqual(await o2.welcome, { nsp });
      assert.notEqual(o2.socket.id, o1.socket.id);

      o1.socket.disconnect();
      assert.equal(await h.ask(o2.socket, "echo", "still"), "still", "the child still serves its other socket");
      assert.deepEqual(await listNamespaces(), sorted([...before, nsp]), "one socket left: still listed");

      o2.socket.disconnect();
      assert.deepEqual(await namespacesBecome(before), before, "the empty child is removed");

      // The name is still valid: connecting again creates a new child.
      const o3 = pool.open(server.url, nsp, cfg.opts);
      await h.ready(o3.socket, cfg, `${nsp} #3`);
      assert.deepEqual(await o3.welcome, { nsp });
      assert.deepEqual(await listNamespaces(), sorted([...before, nsp]), "listed again");
      o3.socket.disconnect();
      assert.deepEqual(await namespacesBecome(before), before);
    });

    it("regex parent: a non-matching name is an invalid namespace", async () => {
      const before = await listNamespaces();
      for (const nsp of ["/dyn-", "/dyn-abc", "/dyn-1x", "/xdyn-1"]) {
        const { socket } = pool.open(server.url, nsp, cfg.opts);
        const err = await refused(socket, nsp);
        assert.equal(err.message, "Invalid namespace", `${nsp}`);
      }
      assert.deepEqual(await listNamespaces(), before, "nothing was created");
    });

    it('regex parent middleware refuses auth.token "bad" (unauthorized, {code:401}); nothing is left behind', async () => {
      const before = await listNamespaces();
      const nsp = fresh("/dyn-");
      const { socket } = pool.open(server.url, nsp, { ...cfg.opts, auth: { token: "bad" } });
      const err = await refused(socket, `${nsp} (bad token)`);
      assert.equal(err.message, "unauthorized");
      assert.deepEqual(err.data, { code: 401 });
      assert.deepEqual(await listNamespaces(), before, "a child whose only connection was refused is not listed");

      // The middleware also guards an existing child.
      const ok = pool.open(server.url, nsp, { ...cfg.opts, auth: { token: "good" } });
      await h.ready(ok.socket, cfg, `${nsp} (good token)`);
      assert.deepEqual(await ok.welcome, { nsp });
      const { socket: bad2 } = pool.open(server.url, nsp, { ...cfg.opts, auth: { token: "bad" } });
      const err2 = await refused(bad2, `${nsp} (bad token, child exists)`);
      assert.equal(err2.message, "unauthorized");
      assert.deepEqual(err2.data, { code: 401 });
      assert.deepEqual(await listNamespaces(), sorted([...before, nsp]), "the existing child stays");
      assert.equal(await h.ask(ok.socket, "echo", "fine"), "fine");
      ok.socket.disconnect();
      assert.deepEqual(await namespacesBecome(before), before);
    });

    it("predicate parent: needs auth.allow === true to create a child; an existing child admits anyone", async () => {
      const before = await listNamespaces();
      const nsp = fresh("/pred-");
      for (const auth of [undefined, { allow: "true" }, { allow: 1 }, { allow: false }]) {
        const { socket } = pool.open(server.url, nsp, { ...cfg.opts, ...(auth ? { auth } : {}) });
        const err = await refused(socket, `${nsp} auth=${JSON.stringify(auth)}`);
        assert.equal(err.message, "Invalid namespace", `auth=${JSON.stringify(auth)}`);
      }
      const { socket: other } = pool.open(server.url, "/other-1", { ...cfg.opts, auth: { allow: true } });
      assert.equal((await refused(other, "/other-1")).message, "Invalid namespace", "the name must start with /pred-");
      assert.deepEqual(await listNamespaces(), before, "nothing was created");

      const allowed = pool.open(server.url, nsp, { ...cfg.opts, auth: { allow: true } });
      await h.ready(allowed.socket, cfg, `${nsp} (allow)`);
      assert.deepEqual(await allowed.welcome, { nsp });
      assert.deepEqual(await listNamespaces(), sorted([...before, nsp]));

      // The predicate only runs for names that do not exist yet.
      const guest = pool.open(server.url, nsp, cfg.opts);
      await h.ready(guest.socket, cfg, `${nsp} (no auth, child exists)`);
      assert.deepEqual(await guest.welcome, { nsp });

      allowed.socket.disconnect();
      guest.socket.disconnect();
      assert.deepEqual(await namespacesBecome(before), before, "the empty child is removed");
      const { socket: late } = pool.open(server.url, nsp, cfg.opts);
      assert.equal((await refused(late, `${nsp} (no auth, child removed)`)).message, "Invalid namespace");
    });

    it("a dynamic child multiplexed with / on one Manager; closing the connection removes the child", async () => {
      const before = await listNamespaces();
      const nsp = fresh("/dyn-");
      const manager = pool.manager(server.url, cfg.opts);
      const root = pool.track(manager.socket("/"));
      const child = pool.track(manager.socket(nsp));
      const welcome = h.waitFor(child, "welcome", { label: nsp });
      await h.ready(root, cfg, "/");
      await h.connected(child, nsp);
      assert.deepEqual(await welcome, [{ nsp }]);
      assert.equal(await h.ask(child, "echo", "c"), "c");
      assert.equal(await h.ask(root, "echo", "r"), "r");
      assert.deepEqual(await h.ask(root, "list-namespaces"), sorted([...before, nsp]));
      manager.engine.close();
      assert.deepEqual(await namespacesBecome(before), before, "transport close also empties the child");
    });
  });
}
