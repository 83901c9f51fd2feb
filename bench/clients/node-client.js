#!/usr/bin/env node
// socket.io-client 4.8 as the load, for `loadgen client-echo`'s comparison: N websocket
// clients each run a closed loop of emitWithAck("echo") against the server on --port.
// Prints one `RESULT scenario=client-echo ...` line with the same keys as loadgen.
"use strict";
const { io } = require("socket.io-client");
const fs = require("node:fs");

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const port = Number(arg("--port"));
const n = Number(arg("--clients", 50));
const duration = Number(arg("--duration", 5)) * 1000;
const payloadSize = Number(arg("--payload", 64));
const serverPid = arg("--server-pid");

const rssKib = (pid) =>
  Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))[1]);
const cpuTicks = (pid) => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
};
const HZ = 100;

(async () => {
  global.gc?.();
  const rssBefore = rssKib("self");
  const sockets = [];
  for (let i = 0; i < n; i++) {
    const socket = io(`http://127.0.0.1:${port}`, { transports: ["websocket"], forceNew: true });
    await new Promise((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("connect_error", reject);
    });
    sockets.push(socket);
  }
  await new Promise((r) => setTimeout(r, 500));
  const rssAfter = rssKib("self");
  const payload = { payload: "x".repeat(payloadSize) };
  const start = Date.now();
  const measureFrom = start + 1000;
  const deadline = measureFrom + duration;
  let acks = 0;
  let c0, s0, t0;
  setTimeout(() => {
    c0 = cpuTicks("self");
    s0 = serverPid ? cpuTicks(serverPid) : 0;
    t0 = Date.now();
  }, 1000);
  await Promise.all(
    sockets.map(async (socket) => {
      while (Date.now() < deadline) {
        await socket.timeout(5000).emitWithAck("echo", payload);
        if (Date.now() >= measureFrom) acks++;
      }
    }),
  );
  const secs = (Date.now() - t0) / 1000;
  const clientCpu = ((cpuTicks("self") - c0) / HZ / secs) * 100;
  const serverCpu = serverPid ? ((cpuTicks(serverPid) - s0) / HZ / secs) * 100 : NaN;
  for (const socket of sockets) socket.close();
  console.log(
    `RESULT scenario=client-echo clients=${n} acks=${acks} acks_per_sec=${(acks / (duration / 1000)).toFixed(0)} ` +
      `client_cpu_pct=${clientCpu.toFixed(0)} acks_per_client_cpu_sec=${(acks / (duration / 1000) / (clientCpu / 100)).toFixed(0)} ` +
      `client_kib_per_conn=${((rssAfter - rssBefore) / n).toFixed(1)} server_cpu_pct=${serverCpu.toFixed(0)} loadgen_cpu_pct=${clientCpu.toFixed(0)}`,
  );
  process.exit(0);
})().catch((e) => {
  console.log(`RESULT scenario=client-echo error=${String(e.message || e).replace(/\s+/g, "_")}`);
  process.exit(1);
});
