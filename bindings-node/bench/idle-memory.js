// Memory per idle connection, split into V8's live heap, V8's committed heap and the rest
// (the engine and Node's native side): the bench app (bench/servers/node-server.js) in a
// child process with --expose-gc, on the Node binding standalone and attached, and on npm
// socket.io; N raw WebSocket clients (npm ws) connect to `/` and stay idle. The server runs
// gc() before each reading. Figures are (after - before) / N, in KiB.
//
//   node bindings-node/bench/idle-memory.js        # N=10000; the fd limit caps N near 19000
"use strict";

const path = require("node:path");
const { fork } = require("node:child_process");

const ROOT = path.join(__dirname, "..", "..");
const N = Number(process.env.N || 10000);

if (process.argv[2] === "server") {
  process.on("message", (message) => {
    if (message !== "measure") return;
    global.gc();
    global.gc();
    const { rss, heapUsed, heapTotal } = process.memoryUsage();
    process.send({ rss, heapUsed, heapTotal });
  });
  require(path.join(ROOT, "bench", "servers", "node-server.js"));
} else {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}

async function main() {
  const variants = [
    ["binding, standalone", path.join(ROOT, "bindings-node"), "1"],
    ["binding, attached", path.join(ROOT, "bindings-node"), "0"],
    ["npm socket.io", path.join(ROOT, "bench", "servers", "node_modules", "socket.io"), "0"],
  ];
  console.log(`| N=${N}, KiB per idle connection | RSS | V8 live heap | V8 committed heap | RSS - committed heap |`);
  console.log("|---|---:|---:|---:|---:|");
  for (const [name, module, standalone] of variants) {
    const d = await measure(module, standalone);
    const kib = (bytes) => (bytes / N / 1024).toFixed(2);
    console.log(`| ${name} | ${kib(d.rss)} | ${kib(d.heapUsed)} | ${kib(d.heapTotal)} | ${kib(d.rss - d.heapTotal)} |`);
  }
}

/** Starts the app on `module`, connects N clients, and returns the growth of each figure. */
async function measure(module, standalone) {
  const WebSocket = require(path.join(ROOT, "tests", "interop", "node_modules", "ws"));
  const server = fork(__filename, ["server"], {
    execArgv: ["--expose-gc"],
    stdio: ["ignore", "pipe", "inherit", "ipc"],
    env: { ...process.env, SOCKET_IO_MODULE: module, STANDALONE: standalone, PORT: "0" },
  });
  const port = await new Promise((resolve) => {
    server.stdout.on("data", (chunk) => {
      const found = /LISTENING (\d+)/.exec(String(chunk));
      if (found) resolve(found[1]);
    });
  });
  const reading = () =>
    new Promise((resolve) => {
      server.once("message", resolve);
      server.send("measure");
    });
  const before = await reading();
  const clients = [];
  await new Promise((resolve, reject) => {
    let started = 0;
    let connected = 0;
    const next = () => {
      if (started === N) return;
      started += 1;
      const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`);
      clients.push(ws);
      ws.on("error", reject);
      ws.on("message", (data) => {
        const text = String(data);
        if (text.startsWith("0")) ws.send("40");
        else if (text.startsWith("40")) {
          connected += 1;
          if (connected === N) resolve();
          next();
        } else if (text === "2") ws.send("3");
      });
    };
    for (let i = 0; i < 50; i++) next();
  });
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const after = await reading();
  for (const ws of clients) ws.terminate();
  server.kill();
  return {
    rss: after.rss - before.rss,
    heapUsed: after.heapUsed - before.heapUsed,
    heapTotal: after.heapTotal - before.heapTotal,
  };
}
