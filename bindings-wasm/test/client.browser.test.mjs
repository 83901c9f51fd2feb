// socket.io-client's API (the bundle pkg/polysocket-client.js: js/index.js on the WASM
// client, as the package ships it) in headless Chromium, against the
// two servers of tests/interop/CONTRACT.md: polysocket's interop server and npm socket.io's
// reference server (both with CORS=1: the page is served from another origin).
//
//   scripts/build-wasm-client.sh && node --test bindings-wasm/test/
// Env: INTEROP_SERVER (default target/release/examples/interop_server), CHROMIUM.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createReadStream, existsSync } from "node:fs";
import { createServer } from "node:http";
import { createInterface } from "node:readline";
import { dirname, extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const packageRoot = join(here, "..");
const repo = join(packageRoot, "..");
const WAIT = 10_000;
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };

const SERVERS = {
  polysocket: [process.env.INTEROP_SERVER || join(repo, "target/release/examples/interop_server")],
  "npm socket.io": ["node", join(repo, "tests/interop/reference-server.js")],
};

function start(command, extraEnv = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(command[0], command.slice(1), {
      env: { ...process.env, PORT: "0", CORS: "1", ...extraEnv },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const timer = setTimeout(() => reject(new Error(`${command} did not start`)), WAIT);
    createInterface({ input: proc.stdout }).on("line", (line) => {
      const m = /^LISTENING (\d+)/.exec(line);
      if (m) { clearTimeout(timer); resolve({ proc, url: `http://127.0.0.1:${m[1]}` }); }
    });
    proc.on("error", reject);
  });
}

/** Serves the package's files (the page, js/, pkg/). */
function staticServer() {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
    const file = join(packageRoot, path);
    if (!file.startsWith(packageRoot) || !existsSync(file)) { res.writeHead(404).end(); return; }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

let browser;
let files;
before(async () => {
  assert.ok(existsSync(join(packageRoot, "pkg/polysocket-client.js")), "run scripts/build-wasm-client.sh first");
  files = await staticServer();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});
after(async () => {
  await browser?.close();
  files?.close();
});

/** A fresh page with the client loaded. */
async function page() {
  const p = await browser.newPage();
  const errors = [];
  p.on("pageerror", (e) => errors.push(e));
  await p.goto(`http://127.0.0.1:${files.address().port}/test/page.html`);
  await p.waitForFunction(() => window.ready === true, null, { timeout: WAIT });
  p.errors = errors;
  return p;
}

for (const [name, command] of Object.entries(SERVERS)) {
  describe(`socket.io-client's API against ${name}`, () => {
    let server;
    before(async () => { server = await start(command); });
    after(() => server?.proc.kill());

    for (const transports of [["websocket"], ["polling"], ["polling", "websocket"]]) {
      test(`events, acks, binary, rooms and reasons over ${transports.join(" then ")}`, async () => {
        const p = await page();
        const result = await p.evaluate(async ({ url, transports }) => {
          const { io } = window.client;
          const socket = io(url, { transports, forceNew: true, auth: { token: "ok" } });
          const seen = [];
          socket.onAny((event) => seen.push(event));
          const welcome = await new Promise((resolve, reject) => {
            socket.once("welcome", resolve);
            socket.once("connect_error", reject);
          });
          const out = { id: socket.id, connected: socket.connected, welcome };
          out.callback = await new Promise((resolve) => socket.emit("echo", "a", { n: 1 }, (...args) => resolve(args)));
          out.withAck = await socket.emitWithAck("echo", "only");
          const bytes = await socket.emitWithAck("echo", new Uint8Array([1, 2, 3]));
          out.binary = [bytes instanceof ArrayBuffer, Array.from(new Uint8Array(bytes))];
          const blob = await socket.emitWithAck("echo", new Blob([new Uint8Array([9, 8])]));
          out.blob = Array.from(new Uint8Array(blob));
          // A Blob is read asynchronously; the emit after it still comes after it.
          const echoes = [];
          const twoEchoes = new Promise((resolve) => socket.on("echo", (v) => {
            echoes.push(v instanceof ArrayBuffer ? "binary" : v);
            if (echoes.length === 2) resolve();
          }));
          socket.emit("echo", new Blob([new Uint8Array([1])]));
          socket.emit("echo", "after");
          await twoEchoes;
          out.order = echoes;
          try { await socket.timeout(100).emitWithAck("nobody-answers"); out.timeout = "resolved"; } catch (e) { out.timeout = e.message; }
          out.errorFirst = await new Promise((resolve) => socket.timeout(2000).emit("echo", 7, (err, v) => resolve([err, v])));
          socket.on("question", (payload, ack) => ack({ answer: payload }));
          out.asked = await socket.emitWithAck("ask-client", "why");
          out.joined = await socket.emitWithAck("join", "room-1");
          const news = new Promise((resolve) => socket.once("news", resolve));
          socket.emit("to-room", "room-1", "news", { hello: "room" });
          out.news = await news;
          for (let i = 0; i < 100 && socket.io.engine.transport.name !== transports[transports.length - 1]; i++) {
            await new Promise((r) => setTimeout(r, 20));
          }
          out.transport = socket.io.engine.transport.name;
          const reason = new Promise((resolve) => socket.once("disconnect", resolve));
          socket.emit("server-disconnect");
          out.reason = await reason;
          out.activeAfter = socket.active;
          out.seen = seen;
          socket.io.close();
          return out;
        }, { url: server.url, transports });
        assert.deepEqual(p.errors, []);
        assert.equal(result.connected, true);
        assert.equal(result.welcome.id, result.id);
        assert.deepEqual(result.welcome.auth, { token: "ok" });
        assert.deepEqual(result.callback, ["a", { n: 1 }]);
        assert.equal(result.withAck, "only");
        assert.deepEqual(result.binary, [true, [1, 2, 3]]);
        assert.deepEqual(result.blob, [9, 8]);
        assert.deepEqual(result.order, ["binary", "after"]);
        assert.equal(result.timeout, "operation has timed out");
        assert.deepEqual(result.errorFirst, [null, 7]);
        assert.deepEqual(result.asked, { answer: "why" });
        assert.ok(result.joined.includes("room-1"));
        assert.deepEqual(result.news, { hello: "room" });
        assert.equal(result.transport, transports[transports.length - 1]);
        assert.equal(result.reason, "io server disconnect");
        assert.equal(result.activeAfter, false);
        assert.ok(result.seen.includes("welcome") && result.seen.includes("question"), result.seen.join());
        await p.close();
      });
    }

    test("connect_error, multiplexing, reconnection with manager events, and the Manager setters", async () => {
      const p = await page();
      const result = await p.evaluate(async ({ url }) => {
        const { io, Manager } = window.client;
        const out = {};
        const refused = io(url, { forceNew: true, transports: ["websocket"], auth: { token: "bad" } });
        out.error = await new Promise((resolve) => refused.once("connect_error", (e) => resolve([e.message, e.data])));
        out.refusedActive = refused.active;
        refused.io.close();

        const manager = new Manager(url, { transports: ["websocket"], reconnectionDelay: 100, reconnectionDelayMax: 200 });
        const main = manager.socket("/");
        const custom = manager.socket("/custom");
        await Promise.all([main, custom].map((s) => new Promise((r) => s.once("connect", r))));
        out.distinct = main.id !== custom.id;
        const events = [];
        for (const e of ["reconnect_attempt", "reconnect", "open", "close"]) manager.on(e, () => events.push(e));
        const firstId = main.id;
        const reason = new Promise((resolve) => main.once("disconnect", resolve));
        const back = new Promise((resolve) => main.once("connect", resolve));
        main.emit("kill-transport");
        out.reason = await reason;
        // Emitted while disconnected: buffered, sent once connected again.
        const buffered = main.emitWithAck("echo", "buffered");
        await back;
        out.buffered = await buffered;
        out.newId = main.id !== firstId;
        out.events = events;
        out.again = await main.emitWithAck("echo", "again");
        // The setters: with reconnection turned off, killing the transport is final.
        out.getter = manager.reconnectionDelay(50).reconnectionDelay();
        manager.reconnection(false);
        const attempts = [];
        manager.on("reconnect_attempt", (n) => attempts.push(n));
        const gone = new Promise((resolve) => main.once("disconnect", resolve));
        main.emit("kill-transport");
        await gone;
        await new Promise((r) => setTimeout(r, 400));
        out.afterSetter = [attempts.length, main.connected];
        manager.close();
        return out;
      }, { url: server.url });
      assert.deepEqual(p.errors, []);
      assert.deepEqual(result.error, ["unauthorized", { code: 401 }]);
      assert.equal(result.refusedActive, false);
      assert.equal(result.distinct, true);
      assert.equal(result.reason, "transport close");
      assert.equal(result.newId, true);
      assert.ok(result.events.includes("reconnect_attempt") && result.events.includes("reconnect"), result.events.join());
      assert.equal(result.again, "again");
      assert.equal(result.buffered, "buffered");
      assert.equal(result.getter, 50);
      assert.deepEqual(result.afterSetter, [0, false]);
      await p.close();
    });

    test("query, extraHeaders, an auth function asked again on reconnection, and retries", async () => {
      const p = await page();
      const result = await p.evaluate(async ({ url }) => {
        const { io } = window.client;
        const out = {};
        // The URL's query, then the option.
        const fromUrl = io(`${url}/?from=url`, { forceNew: true, transports: ["websocket"] });
        out.urlQuery = (await fromUrl.emitWithAck("get-handshake")).query.from;
        fromUrl.disconnect();
        let calls = 0;
        const socket = io(url, {
          forceNew: true, transports: ["polling"], query: { foo: "bar" },
          extraHeaders: { "X-Polysocket-Test": "hello" },
          reconnectionDelay: 50, reconnectionDelayMax: 100,
          auth: (cb) => { calls += 1; cb({ token: `t-${calls}` }); },
        });
        const welcomes = [];
        socket.on("welcome", (w) => welcomes.push(w.auth.token));
        await new Promise((r) => socket.once("connect", r));
        out.query = (await socket.emitWithAck("get-handshake")).query.foo;
        out.header = await socket.emitWithAck("get-header", "x-polysocket-test");
        const back = new Promise((r) => socket.once("connect", () => r()));
        socket.emit("kill-transport");
        await back;
        while (welcomes.length < 2) await new Promise((r) => setTimeout(r, 10));
        out.tokens = welcomes;
        socket.disconnect();
        // retries: 2 more tries of 100 ms each after the first, then the error.
        const retrying = io(url, { forceNew: true, transports: ["websocket"], retries: 2, ackTimeout: 100 });
        await new Promise((r) => retrying.once("connect", r));
        const t0 = performance.now();
        out.retryError = await new Promise((r) => retrying.emit("nobody-answers", (err) => r(err && err.message)));
        out.retryMs = performance.now() - t0;
        out.retryAnswer = await new Promise((r) => retrying.emit("echo", "once", (err, v) => r([err, v])));
        retrying.disconnect();
        return out;
      }, { url: server.url });
      assert.deepEqual(p.errors, []);
      assert.equal(result.urlQuery, "url");
      assert.equal(result.query, "bar");
      assert.equal(result.header, "hello");
      assert.deepEqual(result.tokens, ["t-1", "t-2"]);
      assert.equal(result.retryError, "operation has timed out");
      assert.ok(result.retryMs >= 280, `three tries of 100 ms, took ${result.retryMs} ms`);
      assert.deepEqual(result.retryAnswer, [null, "once"]);
      await p.close();
    });
  });
}

for (const [name, command] of Object.entries(SERVERS)) {
  test(`reconnects after the ${name} server restarts, and sends what was buffered`, async () => {
    let server = await start(command);
    const port = new URL(server.url).port;
    const p = await page();
    try {
      await p.evaluate(async ({ url }) => {
        const socket = window.client.io(url, { forceNew: true, reconnectionDelay: 100, reconnectionDelayMax: 300 });
        window.log = [];
        socket.on("connect", () => window.log.push("connect"));
        socket.on("disconnect", (reason) => window.log.push(`disconnect:${reason}`));
        socket.on("echo", (v) => window.log.push(`echo:${v}`));
        socket.io.on("reconnect_attempt", () => window.log.push("attempt"));
        window.socket = socket;
        await new Promise((r) => socket.once("connect", r));
        // Until the upgrade, so that the restart hits the WebSocket.
        while (socket.io.engine.transport.name !== "websocket") await new Promise((r) => setTimeout(r, 10));
      }, { url: server.url });
      const stopped = new Promise((r) => server.proc.once("exit", r));
      server.proc.kill();
      await stopped;
      await p.waitForFunction(() => window.log.some((e) => e.startsWith("disconnect:")), null, { timeout: WAIT });
      await p.evaluate(() => window.socket.emit("echo", "buffered"));
      await p.waitForFunction(() => window.log.includes("attempt"), null, { timeout: WAIT });
      server = await start(command, { PORT: port });
      await p.waitForFunction(() => window.log.includes("echo:buffered"), null, { timeout: WAIT });
      const log = await p.evaluate(() => { window.socket.disconnect(); return window.log; });
      assert.deepEqual(p.errors, []);
      assert.equal(log.filter((e) => e === "connect").length, 2, log.join());
      assert.match(log.find((e) => e.startsWith("disconnect:")), /^disconnect:transport (close|error)$/);
    } finally {
      await p.close();
      server.proc.kill();
    }
  });
}

for (const [name, command] of Object.entries(SERVERS)) {
  describe(`withCredentials against ${name}`, () => {
    let server;
    before(async () => { server = await start(command, { CORS: "credentials", COOKIE: "1" }); });
    after(() => server?.proc.kill());

    test("long-polling keeps and sends the server's cookie only with withCredentials", async () => {
      const p = await page();
      const result = await p.evaluate(async ({ url }) => {
        const { io } = window.client;
        const connect = async (opts) => {
          const socket = io(url, { forceNew: true, transports: ["polling"], ...opts });
          await new Promise((resolve, reject) => { socket.once("connect", resolve); socket.once("connect_error", reject); });
          return socket;
        };
        // The first connection's answer sets the cookie (io=<sid>); later handshakes carry it.
        const first = await connect({ withCredentials: true });
        const second = await connect({ withCredentials: true });
        const out = { withCredentials: await second.emitWithAck("get-header", "cookie") };
        const third = await connect({});
        out.without = await third.emitWithAck("get-header", "cookie");
        for (const s of [first, second, third]) s.disconnect();
        return out;
      }, { url: server.url });
      assert.deepEqual(p.errors, []);
      assert.match(String(result.withCredentials), /^io=/);
      assert.equal(result.without, null);
      await p.close();
    });
  });
}

for (const [name, command] of Object.entries(SERVERS)) {
  describe(`connection state recovery in the browser against ${name}`, () => {
    let server;
    before(async () => { server = await start(command, { RECOVERY: "1" }); });
    after(() => server?.proc.kill());

    for (const transports of [["websocket"], ["polling"]]) {
      test(`id, rooms and missed events come back over ${transports.join(" then ")}`, async () => {
        const p = await page();
        const result = await p.evaluate(async ({ url, transports }) => {
          const { io } = window.client;
          const opts = { forceNew: true, transports, reconnectionDelay: 300, reconnectionDelayMax: 300, randomizationFactor: 0 };
          const a = io(url, opts);
          await new Promise((r) => a.once("connect", r));
          const out = { firstRecovered: a.recovered, firstId: a.id };
          await a.emitWithAck("join", "recovery-room");
          const observer = io(url, { forceNew: true, transports: ["websocket"] });
          await new Promise((r) => observer.once("connect", r));
          const missed = [];
          a.on("missed", (...args) => missed.push(args));
          const gone = new Promise((r) => a.once("disconnect", r));
          a.emit("kill-transport");
          out.reason = await gone;
          const back = new Promise((r) => a.once("connect", r));
          await observer.emitWithAck("to-room", "recovery-room", "missed", { while: "away" });
          await back;
          for (let i = 0; i < 100 && missed.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
          out.recovered = a.recovered;
          out.sameId = a.id === out.firstId;
          out.serverSaysRecovered = await a.emitWithAck("get-recovered");
          out.missed = missed;
          a.io.close();
          observer.io.close();
          return out;
        }, { url: server.url, transports });
        assert.deepEqual(p.errors, []);
        assert.equal(result.firstRecovered, false);
        assert.equal(result.reason, "transport close");
        assert.equal(result.recovered, true);
        assert.equal(result.sameId, true);
        assert.equal(result.serverSaysRecovered, true);
        assert.equal(result.missed.length, 1, JSON.stringify(result.missed));
        assert.deepEqual(result.missed[0][0], { while: "away" });
        await p.close();
      });
    }
  });
}
