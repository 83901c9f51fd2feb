// Leak check of the Node binding: CYCLES (default 10000) socket.io-client connect/disconnect
// cycles against a polysocket server (or npm socket.io, with SOCKET_IO_MODULE=socket.io) in a
// child process, BATCH clients at a time. After a warm-up and at the end, the server runs
// gc() and reports its RSS, V8 heap and open sockets, after a warm-up, half-way and at the
// end. The script exits non-zero if the server still holds sockets, its heap grew by more
// than MAX_HEAP_GROWTH_KB, or its RSS grew by more than MAX_RSS_GROWTH_KB in the second half.
//
//   node bindings-node/bench/leak.js            # CYCLES=10000 BATCH=50
"use strict";

const path = require("node:path");
const { fork } = require("node:child_process");

const CYCLES = Number(process.env.CYCLES || 10000);
const BATCH = Number(process.env.BATCH || 50);
const WARMUP = Math.min(1000, CYCLES / 10);
const MAX_HEAP_GROWTH_KB = Number(process.env.MAX_HEAP_GROWTH_KB || 2048);
const MAX_RSS_GROWTH_KB = Number(process.env.MAX_RSS_GROWTH_KB || 8192);

if (process.argv[2] === "server") {
  // The server side: a socket.io app with a connection handler, a room and an event.
  const { Server } = require(process.env.SOCKET_IO_MODULE || path.join(__dirname, ".."));
  const io = new Server();
  io.on("connection", (socket) => {
    socket.join("lobby");
    socket.data.joinedAt = Date.now();
    socket.on("echo", (payload, ack) => ack(payload));
  });
  const http = require("node:http");
  const httpServer = http.createServer();
  io.attach(httpServer);
  httpServer.listen(0, "127.0.0.1", () => process.send({ port: httpServer.address().port }));
  process.on("message", async (message) => {
    if (message === "measure") {
      for (let i = 0; i < 3; i++) {
        global.gc();
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const { rss, heapUsed } = process.memoryUsage();
      process.send({ rss, heapUsed, sockets: io.of("/").sockets.size, clients: io.engine.clientsCount });
    } else if (message === "stop") {
      io.close(() => process.exit(0));
    }
  });
  return;
}

const { io } = require(path.join(__dirname, "..", "..", "tests", "interop", "node_modules", "socket.io-client"));

function ask(child, message) {
  return new Promise((resolve) => {
    child.once("message", resolve);
    child.send(message);
  });
}

async function cycle(url) {
  const socket = io(url, { forceNew: true, reconnection: false, transports: ["websocket"] });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no connect within 5 s")), 5000);
    socket.once("connect", () => resolve(clearTimeout(timer)));
    socket.once("connect_error", (error) => reject(error, clearTimeout(timer)));
  });
  await socket.timeout(5000).emitWithAck("echo", "x");
  socket.disconnect();
}

async function run(url, count) {
  for (let done = 0; done < count; done += BATCH) {
    await Promise.all(Array.from({ length: Math.min(BATCH, count - done) }, () => cycle(url)));
  }
}

(async () => {
  const child = fork(__filename, ["server"], { execArgv: ["--expose-gc"], env: process.env });
  // The IPC channel does not keep this process alive between answers; this does.
  const keepAlive = setInterval(() => {}, 1000);
  const { port } = await new Promise((resolve) => child.once("message", resolve));
  const url = `http://127.0.0.1:${port}`;
  const started = Date.now();
  await run(url, WARMUP);
  const settle = () => new Promise((resolve) => setTimeout(resolve, 500));
  await settle();
  const before = await ask(child, "measure");
  const half = Math.floor((CYCLES + WARMUP) / 2);
  await run(url, half - WARMUP);
  await settle();
  const middle = await ask(child, "measure");
  await run(url, CYCLES - half);
  await settle();
  const after = await ask(child, "measure");
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.send("stop");
  await exited;
  const kb = (bytes) => (bytes / 1024).toFixed(0);
  const heapGrowth = (after.heapUsed - before.heapUsed) / 1024;
  // Native memory: allocators keep what they once used, so RSS climbs at first and then
  // levels off; a leak keeps climbing. The second half may add at most MAX_RSS_GROWTH_KB.
  const lateRssGrowth = (after.rss - middle.rss) / 1024;
  console.log(`server: ${process.env.SOCKET_IO_MODULE || "polysocket"}, ${CYCLES} cycles (${BATCH} at a time), ${((Date.now() - started) / 1000).toFixed(1)} s`);
  for (const [label, m] of [[`after ${WARMUP}`, before], [`after ${half}`, middle], [`after ${CYCLES}`, after]]) {
    console.log(`${label} cycles: rss ${kb(m.rss)} KiB, heap ${kb(m.heapUsed)} KiB, open sockets ${m.sockets}, engine clients ${m.clients}`);
  }
  console.log(`growth: first half rss ${kb(middle.rss - before.rss)} KiB, second half rss ${lateRssGrowth.toFixed(0)} KiB; heap ${heapGrowth.toFixed(0)} KiB overall`);
  clearInterval(keepAlive);
  const ok = after.sockets === 0 && after.clients === 0 && heapGrowth <= MAX_HEAP_GROWTH_KB && lateRssGrowth <= MAX_RSS_GROWTH_KB;
  console.log(ok ? "no leak" : "LEAK");
  process.exit(ok ? 0 : 1);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
