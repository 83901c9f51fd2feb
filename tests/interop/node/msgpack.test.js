// The MessagePack parser: the server started with PARSER=msgpack, the clients configured with
// npm socket.io-msgpack-parser. Every packet is then one binary Engine.IO message (base64 in
// polling payloads), with binary values inline instead of attachments.
"use strict";

const { describe, it, before, after, afterEach } = require("node:test");
const assert = require("node:assert/strict");
const parser = require("socket.io-msgpack-parser");
const h = require("./helpers");

let server;
const pool = new h.ClientPool();

before(async () => {
  server = await h.startServer({ PARSER: "msgpack" });
});
afterEach(() => pool.closeAll());
after(async () => {
  pool.closeAll();
  await server?.stop();
});

async function client(cfg, nsp = "/", opts = {}) {
  const { socket, welcome } = pool.open(server.url, nsp, { ...cfg.opts, parser, ...opts });
  await h.ready(socket, cfg);
  return { socket, welcome: await welcome };
}

for (const cfg of h.TRANSPORTS) {
  describe(`msgpack parser [${cfg.name}]`, () => {
    it("connects with auth; the welcome payload round-trips", async () => {
      const { socket, welcome } = await client(cfg, "/", { auth: { token: "t", n: 1.5 } });
      assert.deepEqual(welcome, { id: socket.id, auth: { token: "t", n: 1.5 } });
    });

    it("echoes numbers, strings, nested objects and binary, with acks", async () => {
      const { socket } = await client(cfg);
      const payload = {
        small: 7,
        negative: -300,
        big: 2 ** 40,
        float: 0.25,
        text: "é".repeat(40),
        list: [true, false, null],
        bytes: Buffer.from([0, 1, 2, 255]),
      };
      const [answer] = await h.askAll(socket, "echo", payload);
      assert.deepEqual({ ...answer, bytes: Buffer.from(answer.bytes) }, payload);
      const events = h.collect(socket, "echo");
      socket.emit("echo", "no ack", Buffer.from("hi"));
      await h.until(() => events.length, (n) => n === 1);
      assert.equal(events[0][0], "no ack");
      assert.deepEqual(Buffer.from(events[0][1]), Buffer.from("hi"));
    });

    it("the server's emitWithAck reaches the client and its answer comes back", async () => {
      const { socket } = await client(cfg);
      socket.on("question", (payload, ack) => ack({ answered: payload }));
      assert.deepEqual(await h.ask(socket, "ask-client", 42), { answered: 42 });
    });

    it("rooms and broadcasts", async () => {
      const { socket: a } = await client(cfg);
      const { socket: b } = await client(cfg);
      const room = `mp-${cfg.name}`;
      assert.deepEqual(await h.ask(a, "join", room), [a.id, room].sort());
      const got = h.collect(a, "room-news");
      await h.ask(b, "to-room", room, "room-news", { from: "b" });
      await h.until(() => got.length, (n) => n === 1);
      assert.deepEqual(got, [{ from: "b" }]);
    });

    it("middleware refusal and unknown namespaces give connect_error", async () => {
      const { socket } = pool.open(server.url, "/", { ...cfg.opts, parser, auth: { token: "bad" } });
      const [err] = await h.waitFor(socket, "connect_error");
      assert.equal(err.message, "unauthorized");
      assert.deepEqual(err.data, { code: 401 });
      const { socket: lost } = pool.open(server.url, "/nowhere", { ...cfg.opts, parser });
      const [err2] = await h.waitFor(lost, "connect_error");
      assert.equal(err2.message, "Invalid namespace");
    });

    it("a second namespace on the same connection, and a server-side disconnect", async () => {
      const { socket: main } = await client(cfg);
      const custom = pool.track(main.io.socket("/custom"));
      const [welcome] = await h.waitFor(custom, "welcome");
      assert.deepEqual(welcome, { id: custom.id, nsp: "/custom" });
      const reason = h.waitFor(main, "disconnect");
      main.emit("server-disconnect");
      assert.equal((await reason)[0], "io server disconnect");
      assert.equal(custom.connected, true);
    });
  });
}
