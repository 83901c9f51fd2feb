// Connect time and emit-with-ack round trips in headless Chromium: polysocket-client (WASM)
// and npm socket.io-client 4.8 in the same page, against the same server (polysocket's
// interop server, pinned to core 0; Chromium on core 1). Prints a markdown table of medians.
//
//   scripts/build-wasm-client.sh && node bindings-wasm/bench/browser-bench.mjs
// Env: RUNS (default 6; the clients alternate which goes first), ROUNDTRIPS (default 2000),
// CONCURRENT (default 100), CONNECTS (20).
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
const RUNS = Number(process.env.RUNS || 6);
const ROUNDTRIPS = Number(process.env.ROUNDTRIPS || 2000);
const CONCURRENT = Number(process.env.CONCURRENT || 100);
const CONNECTS = Number(process.env.CONNECTS || 20);
const bundle = join(repo, "tests/interop/node_modules/socket.io-client/dist/socket.io.esm.min.js");
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };

const server = spawn("taskset", ["-c", "0", join(repo, "target/release/examples/interop_server")], {
  env: { ...process.env, PORT: "0", CORS: "1" }, stdio: ["ignore", "pipe", "inherit"],
});
const port = await new Promise((resolve) => {
  createInterface({ input: server.stdout }).on("line", (l) => {
    const m = /^LISTENING (\d+)/.exec(l);
    if (m) resolve(Number(m[1]));
  });
});
const files = createServer((req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
  const file = path === "/socket.io-client.esm.min.js" ? bundle : join(packageRoot, path);
  if (!existsSync(file)) { res.writeHead(404).end(); return; }
  res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
  createReadStream(file).pipe(res);
});
await new Promise((r) => files.listen(0, "127.0.0.1", r));
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
// Chromium on core 1.
spawn("sh", ["-c", `for p in $(pgrep -f chromium); do taskset -acp 1 $p >/dev/null 2>&1; done`]);
const page = await browser.newPage();
await page.goto(`http://127.0.0.1:${files.address().port}/bench/page.html`);
await page.waitForFunction(() => window.ready === true);

const results = {};
for (let run = 0; run < RUNS; run++) {
  // The order alternates: whichever client goes second in a run measured faster (up to
  // 0.15x of the ratio), so a fixed order biased the figures.
  const order = run % 2 === 0 ? ["polysocket-client", "socket.io-client"] : ["socket.io-client", "polysocket-client"];
  for (const name of order) {
    const r = await page.evaluate(async ({ name, url, ROUNDTRIPS, CONCURRENT, CONNECTS }) => {
      const io = window.clients[name];
      const connectTimes = [];
      for (let i = 0; i < CONNECTS; i++) {
        const t0 = performance.now();
        const s = io(url, { forceNew: true, transports: ["websocket"] });
        await new Promise((res) => s.once("connect", res));
        connectTimes.push(performance.now() - t0);
        s.disconnect();
      }
      connectTimes.sort((a, b) => a - b);
      const s = io(url, { forceNew: true, transports: ["websocket"] });
      await new Promise((res) => s.once("connect", res));
      for (let i = 0; i < 200; i++) await s.emitWithAck("echo", i); // warm-up
      let t0 = performance.now();
      for (let i = 0; i < ROUNDTRIPS; i++) await s.emitWithAck("echo", { i, text: "hello" });
      const sequential = ROUNDTRIPS / ((performance.now() - t0) / 1000);
      t0 = performance.now();
      let done = 0;
      await new Promise((resolve) => {
        let sent = 0;
        const next = () => {
          if (sent >= ROUNDTRIPS) return;
          sent++;
          s.emit("echo", { i: sent }, () => { done++; if (done === ROUNDTRIPS) resolve(); else next(); });
        };
        for (let i = 0; i < CONCURRENT; i++) next();
      });
      const concurrent = ROUNDTRIPS / ((performance.now() - t0) / 1000);
      s.disconnect();
      return { connectMs: connectTimes[Math.floor(connectTimes.length / 2)], sequential, concurrent };
    }, { name, url: `http://127.0.0.1:${port}`, ROUNDTRIPS, CONCURRENT, CONNECTS });
    for (const [k, v] of Object.entries(r)) ((results[name] ??= {})[k] ??= []).push(v);
    console.error(`[run ${run + 1}/${RUNS}] ${name}: ${JSON.stringify(r)}`);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [
  ["connect (websocket), median ms (lower is better)", "connectMs", 2],
  ["emitWithAck round trips / s, one at a time", "sequential", 0],
  [`emit with ack callbacks / s, ${CONCURRENT} in flight`, "concurrent", 0],
];
console.log(`| | polysocket-client | socket.io-client | ratio |`);
console.log(`|---|---|---|---|`);
for (const [label, key, digits] of rows) {
  const a = median(results["polysocket-client"][key]);
  const b = median(results["socket.io-client"][key]);
  console.log(`| ${label} | ${a.toFixed(digits)} | ${b.toFixed(digits)} | ${(a / b).toFixed(2)}× |`);
}
await browser.close();
files.close();
server.kill();
