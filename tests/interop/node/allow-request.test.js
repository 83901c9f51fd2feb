// allowRequest, seen from socket.io-client 4.8: the server (ALLOW_REQUEST=1) refuses every
// handshake whose URL has `denied=1`. The client gets connect_error and no connection, on
// every transport; other clients connect as usual. The HTTP answer itself is checked too.
"use strict";

const { describe, it, before, after, afterEach } = require("node:test");
const assert = require("node:assert/strict");
const h = require("./helpers");

let server;
const pool = new h.ClientPool();

before(async () => {
  server = await h.startServer({ ALLOW_REQUEST: "1" });
});
afterEach(() => pool.closeAll());
after(async () => {
  pool.closeAll();
  await server?.stop();
});

for (const cfg of h.TRANSPORTS) {
  describe(`allowRequest [${cfg.name}]`, () => {
    it("a refused handshake gives connect_error and no connection", async () => {
      const { socket } = pool.open(server.url, "/", { ...cfg.opts, query: { denied: "1" } });
      const [err] = await h.waitFor(socket, "connect_error");
      assert.ok(err instanceof Error, `connect_error carries an Error: ${err}`);
      assert.equal(socket.connected, false);
    });

    it("an allowed handshake connects as usual", async () => {
      const { socket, welcome } = pool.open(server.url, "/", { ...cfg.opts, query: { denied: "0" } });
      await h.ready(socket, cfg);
      assert.equal((await welcome).id, socket.id);
    });
  });
}

describe("allowRequest: the HTTP answer", () => {
  it("is 403 with engine.io's JSON body", async () => {
    const response = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling&denied=1`);
    assert.equal(response.status, 403);
    assert.deepEqual(await response.json(), { code: 4, message: "denied" });
  });
});
