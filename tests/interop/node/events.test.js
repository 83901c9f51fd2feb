// Event scenarios: events both ways, acks both ways, binary attachments, large payloads.
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

function assertBuffer(actual, expected, what) {
  assert.ok(
    Buffer.isBuffer(actual),
    `${what}: expected binary (Buffer), got ${actual === null ? "null" : typeof actual} ${JSON.stringify(actual)?.slice(0, 200)}`,
  );
  assert.equal(actual.length, expected.length, `${what}: byte length`);
  assert.ok(actual.equals(expected), `${what}: bytes differ`);
}

const bytes = (n, seed = 0) => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
};

async function client(cfg, opts = {}) {
  const { socket } = pool.open(server.url, "/", { ...cfg.opts, ...opts });
  return h.ready(socket, cfg);
}

for (const cfg of h.TRANSPORTS) {
  describe(`events [${cfg.name}]`, () => {
    it("echo event returns the same args (multiple, unicode, nested, numbers, null)", async () => {
      const socket = await client(cfg);
      const args = [
        "héllo wörld 🌍 — 日本語 \u0000 \u2028 \"quoted\" \\ \n newline",
        42,
        -3.25,
        0,
        1e21,
        null,
        true,
        false,
        { nested: { arr: [1, "two", { three: 3 }, null], empty: {}, emptyArr: [] }, "ключ": "значение" },
        [1, [2, [3, [4]]]],
        "",
      ];
      const echo = h.waitFor(socket, "echo");
      socket.emit("echo", ...args);
      assert.deepEqual(await echo, args, "echo event args should round-trip unchanged");
    });

    it("echo event with a single string and with no args", async () => {
      const socket = await client(cfg);
      const got = h.collect(socket, "echo");
      socket.emit("echo", "one");
      socket.emit("echo");
      // The server handles packets in order and writes to one socket in order, so this ack
      // arrives after both echo events.
      assert.equal(await h.ask(socket, "echo", "sync"), "sync");
      assert.equal(got.length, 2, `expected 2 echo events before the ack, got ${JSON.stringify(got)}`);
      assert.deepEqual(got[0], "one");
      assert.deepEqual(got[1], [], "echo with no args comes back with no args");
    });

    it("client→server ack (emitWithAck / callback with several args / empty ack)", async () => {
      const socket = await client(cfg);
      assert.deepEqual(await h.ask(socket, "echo", { a: 1, b: [true, null] }), { a: 1, b: [true, null] });
      assert.equal(await h.ask(socket, "echo", "ünïcødé ✓"), "ünïcødé ✓");
      assert.deepEqual(await h.askAll(socket, "echo", 1, "two", { three: 3 }, null), [1, "two", { three: 3 }, null]);
      assert.deepEqual(await h.askAll(socket, "echo"), [], "ack with no args");
      // Many acks in flight at once resolve to the right callers.
      const many = await Promise.all(Array.from({ length: 20 }, (_, i) => h.ask(socket, "echo", i)));
      assert.deepEqual(many, Array.from({ length: 20 }, (_, i) => i), "concurrent acks matched by id");
    });

    it("server→client ack (ask-client relays the client's ack answer)", async () => {
      const socket = await client(cfg);
      const questions = [];
      socket.on("question", (payload, cb) => {
        questions.push(payload);
        assert.equal(typeof cb, "function", "server's question must request an ack");
        cb({ answer: payload.q * 2, echoed: payload });
      });
      const answer = await h.ask(socket, "ask-client", { q: 21, s: "ñ" });
      assert.deepEqual(answer, { answer: 42, echoed: { q: 21, s: "ñ" } });
      assert.deepEqual(questions, [{ q: 21, s: "ñ" }], "client received exactly one question");
    });

    it("binary: top-level Buffer both ways (event and ack)", async () => {
      const socket = await client(cfg);
      const buf = bytes(1024, 7);
      const echo = h.waitFor(socket, "echo");
      socket.emit("echo", buf);
      const [got] = await echo;
      assertBuffer(got, buf, "echo event binary");
      const acked = await h.ask(socket, "echo", buf);
      assertBuffer(acked, buf, "ack binary (BINARY_ACK)");
    });

    it("binary: nested, multiple attachments, empty buffer, mixed with JSON", async () => {
      const socket = await client(cfg);
      const a = bytes(10, 1);
      const b = bytes(300, 2);
      const c = Buffer.from([0x00, 0xff, 0x7f, 0x80]);
      const empty = Buffer.alloc(0);
      const payload = {
        name: "files",
        first: a,
        list: [b, { deep: c, label: "deep" }, 5],
        empty,
      };
      const echo = h.waitFor(socket, "echo");
      socket.emit("echo", payload, "plain", [empty, a]);
      const [p, s, arr] = await echo;
      assert.equal(p.name, "files");
      assertBuffer(p.first, a, "payload.first");
      assertBuffer(p.list[0], b, "payload.list[0]");
      assertBuffer(p.list[1].deep, c, "payload.list[1].deep");
      assert.equal(p.list[1].label, "deep");
      assert.equal(p.list[2], 5);
      assertBuffer(p.empty, empty, "payload.empty (0-byte attachment)");
      assert.equal(s, "plain");
      assertBuffer(arr[0], empty, "arg3[0] (0-byte attachment)");
      assertBuffer(arr[1], a, "arg3[1]");

      const [x, y] = await h.askAll(socket, "echo", { k: [c, c] }, empty);
      assertBuffer(x.k[0], c, "ack k[0]");
      assertBuffer(x.k[1], c, "ack k[1] (same buffer twice = two attachments)");
      assertBuffer(y, empty, "ack empty buffer");
    });

    it("binary: server→client ack answered with binary", async () => {
      const socket = await client(cfg);
      const blob = bytes(77, 9);
      socket.on("question", (payload, cb) => {
        assertBuffer(payload.data, blob, "question payload.data (server→client binary event)");
        cb({ back: payload.data, n: 1 });
      });
      const answer = await h.ask(socket, "ask-client", { data: blob });
      assertBuffer(answer.back, blob, "answer relayed through two BINARY_ACKs");
      assert.equal(answer.n, 1);
    });

    it("large payload: 500 KB string round-trips by event and by ack", async () => {
      const socket = await client(cfg);
      const big = "x€y".repeat(Math.ceil(500_000 / 3)).slice(0, 500_000);
      const echo = h.waitFor(socket, "echo", { ms: 5000 });
      socket.emit("echo", big);
      const [got] = await echo;
      assert.equal(got.length, big.length, "500 KB string length");
      assert.ok(got === big, "500 KB string content");
      const acked = await socket.timeout(5000).emitWithAck("echo", { big });
      assert.ok(acked.big === big, "500 KB string via ack");
    });

    it("large payload: 200 KB binary round-trips", async () => {
      const socket = await client(cfg);
      const blob = bytes(200_000, 3);
      const acked = await socket.timeout(5000).emitWithAck("echo", blob);
      assertBuffer(acked, blob, "200 KB binary via ack");
    });
  });
}

describe("server→client ack timeout", () => {
  it("ask-client acks {error:'timeout'} when the client never answers (all transports at once)", async () => {
    await Promise.all(
      h.TRANSPORTS.map(async (cfg) => {
        const socket = await client(cfg);
        let asked = 0;
        socket.on("question", () => asked++); // never calls the ack
        const answer = await socket.timeout(5000).emitWithAck("ask-client", { q: 1 });
        assert.deepEqual(answer, { error: "timeout" }, `[${cfg.name}] server-side emitWithAck timeout`);
        assert.equal(asked, 1, `[${cfg.name}] question delivered once`);
      }),
    );
  });
});
