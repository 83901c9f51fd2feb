// A private redis-server for the cluster tests (the interop cluster suites and the Node
// binding's cluster test): started on a free port of 127.0.0.1 with no persistence, so tests
// never touch a Redis that runs on the machine and need none to be running.
"use strict";

const { spawn } = require("node:child_process");
const net = require("node:net");

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A free TCP port on 127.0.0.1. */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** One RESP command on a fresh connection; resolves with the raw reply text. */
function redisCommand(port, args) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let reply = "";
    socket.setEncoding("utf8");
    socket.once("error", reject);
    socket.on("data", (chunk) => {
      reply += chunk;
      if (reply.endsWith("\r\n")) {
        socket.end();
        resolve(reply);
      }
    });
    socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`);
  });
}

/** Starts `redis-server` on a free port (no persistence); resolves with { port, stop() }. */
async function startRedis() {
  const port = await freePort();
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: "ignore",
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.once("error", () => {});
  for (let i = 0; i < 100; i++) {
    try {
      if ((await redisCommand(port, ["PING"])).startsWith("+PONG")) {
        return { port, stop: () => (child.kill("SIGTERM"), exited) };
      }
    } catch (_e) {
      await sleep(50);
    }
  }
  child.kill("SIGKILL");
  throw new Error("redis-server did not start (scripts/setup.sh installs it)");
}

module.exports = { freePort, redisCommand, startRedis };
