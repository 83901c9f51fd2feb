// Browser test for the chat example (protocol: ../PROTOCOL.md).
//
//   CHAT_SERVER_CMD=/path/to/target/release/chat node --test test/chat.browser.test.mjs
//
// Env:
//   CHAT_SERVER_CMD  path to the server executable (required). It is started with PORT=0 and
//                    must print `LISTENING <port>` on stdout once it accepts connections.
//   CHROMIUM         browser binary (default /usr/bin/chromium, Debian's package).
//   CHAT_SCREENSHOT  set to 1 to save page A to test/screenshot.png at the end.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const WAIT = 10_000; // every single wait is bounded by this
const CHROMIUM_ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

let server; // { proc, port, output: string[] }
let browser;
const pageLogs = [];

function startServer(cmd) {
  return new Promise((resolve, reject) => {
    const output = [];
    // Own process group, so a wrapper script and its children go down together.
    const proc = spawn(cmd, [], {
      env: { ...process.env, PORT: "0" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const timer = setTimeout(() => fail(new Error(`no "LISTENING <port>" line within ${WAIT} ms`)), WAIT);
    const fail = (err) => {
      clearTimeout(timer);
      killServer({ proc });
      reject(new Error(`${err.message}\n--- server output ---\n${output.join("\n")}`));
    };
    proc.on("error", fail);
    proc.on("exit", (code, signal) => fail(new Error(`server exited early (code ${code}, signal ${signal})`)));
    createInterface({ input: proc.stderr }).on("line", (l) => output.push(`[stderr] ${l}`));
    createInterface({ input: proc.stdout }).on("line", (line) => {
      output.push(`[stdout] ${line}`);
      const m = /^LISTENING (\d+)\s*$/.exec(line);
      if (m) {
        clearTimeout(timer);
        proc.removeAllListeners("exit");
        proc.removeAllListeners("error");
        resolve({ proc, port: Number(m[1]), output });
      }
    });
  });
}

function signalGroup(proc, sig) {
  try { process.kill(-proc.pid, sig); } catch { try { proc.kill(sig); } catch { /* gone */ } }
}

async function killServer(s) {
  if (!s?.proc || s.proc.exitCode !== null || s.proc.signalCode !== null) return;
  const exited = new Promise((r) => s.proc.once("exit", r));
  signalGroup(s.proc, "SIGTERM");
  const t = setTimeout(() => signalGroup(s.proc, "SIGKILL"), 2000);
  await exited;
  clearTimeout(t);
}

// Last resort if the runner dies between before() and after().
process.on("exit", () => { if (server?.proc && server.proc.exitCode === null) signalGroup(server.proc, "SIGKILL"); });

before(async () => {
  const cmd = process.env.CHAT_SERVER_CMD;
  assert.ok(cmd, "set CHAT_SERVER_CMD to the chat server executable (e.g. target/release/chat)");
  server = await startServer(cmd);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: CHROMIUM_ARGS,
    timeout: WAIT,
  });
}, { timeout: 25_000 });

after(async () => {
  await browser?.close().catch(() => {});
  await killServer(server);
}, { timeout: 10_000 });

const base = () => `http://127.0.0.1:${server.port}`;

async function newPage(label) {
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 680 } });
  ctx.setDefaultTimeout(WAIT);
  const page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", (e) => { errors.push(e); pageLogs.push(`[${label} pageerror] ${e.message}`); });
  page.on("console", (m) => pageLogs.push(`[${label} console.${m.type()}] ${m.text()}`));
  page.errors = errors;
  return page;
}

// Run one step; on failure say which one, with the server's and pages' logs.
async function step(name, fn) {
  try {
    await fn();
  } catch (err) {
    err.message = `step "${name}" failed: ${err.message}\n--- server output ---\n${server.output.slice(-40).join("\n")}` +
      `\n--- page logs ---\n${pageLogs.slice(-40).join("\n")}`;
    throw err;
  }
}

const textOf = (page, sel) => page.locator(sel).textContent({ timeout: WAIT });
const waitText = (page, sel, expected) =>
  page.waitForFunction(
    ([s, e]) => document.querySelector(s)?.textContent.trim() === e,
    [sel, expected],
    { timeout: WAIT },
  );
const user = (page, nick) => page.locator(`#users li[data-nickname="${nick}"]`);
const roomBadge = (room) => `#rooms li[data-room="${room}"] .badge`;

async function joinAs(page, nickname, room) {
  await page.goto(`${base()}/`, { waitUntil: "load", timeout: WAIT });
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: WAIT });
  // CHAT_CLIENT=wasm: the page must run on polysocket's WASM client.
  if (process.env.CHAT_CLIENT) {
    assert.equal(await page.evaluate(() => window.polysocketClient), process.env.CHAT_CLIENT);
  }
  await page.fill("#nickname", nickname);
  await page.fill("#room", room);
  await page.click("#join");
  await page.locator("#chat-view").waitFor({ state: "visible", timeout: WAIT });
  await user(page, nickname).waitFor({ timeout: WAIT });
  await waitText(page, "#room-title", room);
}

test("two users chat: presence, typing, messages, room switch", { timeout: 30_000 }, async () => {
  const a = await newPage("A");
  const b = await newPage("B");

  await step("A joins #general as alice", () => joinAs(a, "alice", "general"));
  await step("B joins #general as bob", () => joinAs(b, "bob", "general"));

  await step("both see each other online", async () => {
    await user(a, "bob").waitFor({ timeout: WAIT });
    await user(b, "alice").waitFor({ timeout: WAIT });
    await waitText(a, "#user-count", "2");
    await waitText(b, "#user-count", "2");
    await waitText(a, roomBadge("general"), "2");
    await a.locator("#messages .system", { hasText: "bob joined" }).waitFor({ timeout: WAIT });
  });

  await step("A types, B sees the typing indicator", async () => {
    await a.locator("#message").pressSequentially("hello from alice", { delay: 15 });
    await waitText(b, "#typing", "alice is typing…");
    assert.equal((await textOf(a, "#typing")).trim(), "", "the typist does not see itself typing");
  });

  await step("A sends, B sees the message with A's nickname", async () => {
    await a.click("#send");
    const msg = b.locator('#messages li.msg[data-nickname="alice"]', { hasText: "hello from alice" });
    await msg.waitFor({ timeout: WAIT });
    assert.equal((await msg.locator(".nick").textContent()).trim(), "alice");
    assert.equal((await msg.locator(".text").textContent()).trim(), "hello from alice");
    assert.match((await msg.locator(".time").textContent()).trim(), /\d/);
    await waitText(b, "#typing", ""); // cleared on send
    await a.locator('#messages li.msg[data-nickname="alice"]', { hasText: "hello from alice" }).waitFor({ timeout: WAIT });
    assert.equal(await a.inputValue("#message"), "");
  });

  await step("user text is escaped, never parsed as HTML", async () => {
    const evil = '<img src=x onerror="window.__xss=1"><b>bold</b> & <script>window.__xss=2</script>';
    await a.fill("#message", evil);
    await a.click("#send");
    await b.locator("#messages li.msg .text", { hasText: "<b>bold</b>" }).waitFor({ timeout: WAIT });
    const texts = await b.locator("#messages li.msg .text").allTextContents();
    assert.ok(texts.includes(evil), `exact text shown: ${JSON.stringify(texts)}`);
    assert.equal(await b.locator("#messages img, #messages b, #messages script").count(), 0);
    assert.equal(await b.evaluate(() => window.__xss), undefined);
  });

  await step("B switches to #random, A's online list updates", async () => {
    await b.fill("#new-room", "random");
    await b.click("#switch");
    await waitText(b, "#room-title", "random");
    await waitText(b, "#user-count", "1");
    await user(b, "bob").waitFor({ timeout: WAIT });
    assert.equal(await user(b, "alice").count(), 0);

    await user(a, "bob").waitFor({ state: "detached", timeout: WAIT });
    await waitText(a, "#user-count", "1");
    await a.locator("#messages .system", { hasText: "bob left" }).waitFor({ timeout: WAIT });
    await waitText(a, roomBadge("general"), "1");
    await waitText(a, roomBadge("random"), "1");
    await waitText(a, '#status[data-state="connected"]', "connected");
  });

  await step("B's room shows only #random traffic", async () => {
    assert.equal(await b.locator("#messages li.msg").count(), 0, "history is per room");
    await b.locator("#messages .system", { hasText: "bob joined" }).waitFor({ timeout: WAIT });
  });

  if (process.env.CHAT_SCREENSHOT === "1") {
    await a.screenshot({ path: fileURLToPath(new URL("./screenshot.png", import.meta.url)) });
  }

  assert.deepEqual(a.errors.concat(b.errors).map(String), [], "no uncaught errors in the pages");
});

test("protocol: acks and validation errors", { timeout: 20_000 }, async () => {
  const page = await newPage("P");
  await page.goto(`${base()}/`, { waitUntil: "load", timeout: WAIT });
  // The client is a module: it may define `io` a moment after "load".
  await page.waitForFunction(() => typeof window.io === "function", null, { timeout: WAIT });
  const results = await page.evaluate(async () => {
    /* global io */
    const s = io({ forceNew: true });
    const call = (ev, arg) => s.timeout(5000).emitWithAck(ev, arg);
    try {
      const r = {};
      r.notJoined = await call("message", { text: "hi" });
      r.emptyNick = await call("join", { nickname: "   ", room: "general" });
      r.longNick = await call("join", { nickname: "x".repeat(33), room: "general" });
      r.badShape = await call("join", "alice");
      r.emptyRoom = await call("join", { nickname: "carol", room: "" });
      r.longRoom = await call("join", { nickname: "carol", room: "r".repeat(33) });
      r.ok = await call("join", { nickname: "  carol  ", room: " validation " });
      r.longText = await call("message", { text: "t".repeat(1001) });
      r.emptyText = await call("message", { text: "  " });
      r.maxText = await call("message", { text: "é".repeat(1000) });
      return r;
    } finally {
      s.disconnect();
    }
  });
  await step("ack shapes", () => {
    assert.deepEqual(results.notJoined, { ok: false, error: "not joined" });
    assert.deepEqual(results.emptyNick, { ok: false, error: "invalid nickname" });
    assert.deepEqual(results.longNick, { ok: false, error: "invalid nickname" });
    assert.deepEqual(results.badShape, { ok: false, error: "invalid nickname" });
    assert.deepEqual(results.emptyRoom, { ok: false, error: "invalid room" });
    assert.deepEqual(results.longRoom, { ok: false, error: "invalid room" });
    assert.equal(results.ok.ok, true);
    assert.equal(results.ok.nickname, "carol");
    assert.equal(results.ok.room, "validation");
    assert.deepEqual(results.ok.users, ["carol"]);
    assert.ok(results.ok.rooms.some((r) => r.name === "validation" && r.count === 1), JSON.stringify(results.ok.rooms));
    assert.deepEqual(results.longText, { ok: false, error: "invalid text" });
    assert.deepEqual(results.emptyText, { ok: false, error: "invalid text" });
    assert.deepEqual(results.maxText, { ok: true });
  });
});

test("http routes", { timeout: 15_000 }, async () => {
  const expect = {
    "/": "text/html",
    "/index.html": "text/html",
    "/app.js": "text/javascript",
    "/style.css": "text/css",
    "/socket.io.min.js": "text/javascript",
    "/client.js": "text/javascript",
  };
  for (const [path, type] of Object.entries(expect)) {
    const res = await fetch(`${base()}${path}`, { signal: AbortSignal.timeout(WAIT) });
    assert.equal(res.status, 200, path);
    assert.ok(res.headers.get("content-type")?.startsWith(type), `${path}: ${res.headers.get("content-type")}`);
    assert.ok((await res.text()).length > 0, path);
  }
  const missing = await fetch(`${base()}/no-such-file`, { signal: AbortSignal.timeout(WAIT) });
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
});
