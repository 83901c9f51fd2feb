// Shared helpers for the Node interop suite (not a test file itself).
"use strict";

const { spawn } = require("node:child_process");
const path = require("node:path");
const readline = require("node:readline");
const assert = require("node:assert/strict");
const { io, Manager } = require("socket.io-client");

const REFERENCE_SERVER = path.join(__dirname, "..", "reference-server.js");
const STARTUP_TIMEOUT_MS = 10000;
/** Default bound for every wait in the suite. */
const WAIT_MS = 3000;

/** Transport configurations every scenario runs over. */
const TRANSPORTS = [
  { name: "websocket", opts: { transports: ["websocket"] }, upgrade: false },
  { name: "polling", opts: { transports: ["polling"] }, upgrade: false },
  { name: "polling+upgrade", opts: {}, upgrade: true },
];

function serverCommand() {
  const bin = process.env.POLYSOCKET_INTEROP_SERVER;
  if (bin) return { cmd: bin, args: [], label: bin };
  return { cmd: process.execPath, args: [REFERENCE_SERVER], label: "reference-server.js" };
}

/**
 * Start the server under test with PORT=0 and wait for its `LISTENING <port>` line.
 * Returns { port, url, stop() }.
 */
function startServer(extraEnv = {}) {
  const { cmd, args, label } = serverCommand();
  const child = spawn(cmd, args, {
    env: { ...process.env, PORT: "0", ...extraEnv },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d) => {
    if (process.env.INTEROP_SERVER_STDERR) process.stderr.write(d);
    stderr += d;
    if (stderr.length > 20000) stderr = stderr.slice(-20000);
  });
  // Keep draining stdout after the LISTENING line so the child never blocks on a full pipe.
  const rl = readline.createInterface({ input: child.stdout });

  const stop = () =>
    new Promise((resolve) => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return resolve();
      const killTimer = setTimeout(() => child.kill("SIGKILL"), 2000);
      child.once("exit", () => {
        clearTimeout(killTimer);
        resolve();
      });
      child.kill("SIGTERM");
    });

  return new Promise((resolve, reject) => {
    const fail = (msg) => {
      clearTimeout(timer);
      stop().then(() => reject(new Error(`${msg} (server: ${label})\n--- server stderr ---\n${stderr}`)));
    };
    const timer = setTimeout(
      () => fail(`server did not print "LISTENING <port>" within ${STARTUP_TIMEOUT_MS} ms`),
      STARTUP_TIMEOUT_MS,
    );
    child.once("error", (e) => fail(`could not start server: ${e.message}`));
    child.once("exit", (code, sig) => fail(`server exited early (code ${code}, signal ${sig})`));
    rl.on("line", (line) => {
      const m = /^LISTENING (\d+)\s*$/.exec(line);
      if (!m) return;
      clearTimeout(timer);
      child.removeAllListeners("exit");
      child.removeAllListeners("error");
      const port = Number(m[1]);
      resolve({
        port,
        url: `http://127.0.0.1:${port}`,
        stop,
        stderr: () => stderr,
      });
    });
  });
}

/** Resolve with the event's argument array; reject after `ms` with a readable message. */
function waitFor(emitter, event, { ms = WAIT_MS, label = "" } = {}) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, handler);
      reject(new Error(`timed out after ${ms} ms waiting for "${event}"${label ? ` on ${label}` : ""}`));
    }, ms);
    function handler(...args) {
      clearTimeout(timer);
      resolve(args);
    }
    emitter.once(event, handler);
  });
}

/** Reject if `promise` does not settle within `ms`. */
function within(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Tracks every client socket / manager a test opens so it can be closed afterwards. */
class ClientPool {
  constructor() {
    this.sockets = [];
    this.managers = [];
  }

  /**
   * Open a socket (own Manager). Returns { socket, welcome } where `welcome` is a promise of the
   * first "welcome" payload (the listener is attached before any packet can arrive).
   */
  open(url, nsp = "/", opts = {}) {
    const socket = io(url + (nsp === "/" ? "" : nsp), {
      forceNew: true,
      reconnection: false,
      timeout: WAIT_MS,
      ...opts,
    });
    this.sockets.push(socket);
    const welcomed = new Promise((resolve) => socket.once("welcome", resolve));
    return {
      socket,
      // The listener is attached now; the bounded wait (timer) starts only when a test asks.
      get welcome() {
        return within(welcomed, WAIT_MS, `"welcome" on ${nsp}`);
      },
    };
  }

  manager(url, opts = {}) {
    const m = new Manager(url, { reconnection: false, timeout: WAIT_MS, ...opts });
    this.managers.push(m);
    return m;
  }

  track(socket) {
    this.sockets.push(socket);
    return socket;
  }

  closeAll() {
    for (const s of this.sockets) {
      try {
        s.disconnect();
        s.io.engine?.close();
      } catch (_e) {
        /* already gone */
      }
    }
    for (const m of this.managers) {
      try {
        m.engine?.close();
      } catch (_e) {
        /* already gone */
      }
    }
    this.sockets = [];
    this.managers = [];
  }
}

/**
 * Wait until the socket is connected and, for the upgrade config, until the Engine.IO
 * connection was upgraded to websocket (asserts it).
 */
async function ready(socket, cfg, label = "client") {
  if (cfg.upgrade) {
    // Attach before awaiting connect: the upgrade may complete quickly.
    const engine = socket.io.engine;
    assert.ok(engine, `${label}: engine should exist right after io()`);
    const upgraded =
      engine.transport && engine.transport.name === "websocket" && !engine.upgrading
        ? Promise.resolve()
        : waitFor(engine, "upgrade", { label: `${label} engine (polling→websocket upgrade)` });
    await connected(socket, label);
    await upgraded;
    assert.equal(
      socket.io.engine.transport.name,
      "websocket",
      `${label}: transport after the "upgrade" event should be websocket`,
    );
  } else {
    await connected(socket, label);
    const expected = cfg.opts.transports[0];
    assert.equal(socket.io.engine.transport.name, expected, `${label}: transport should be ${expected}`);
  }
  return socket;
}

/** Resolve on "connect"; reject with the connect_error message otherwise. */
function connected(socket, label = "client") {
  if (socket.connected) return Promise.resolve(socket);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${label}: not connected within ${WAIT_MS} ms`));
    }, WAIT_MS);
    const onConnect = () => {
      cleanup();
      resolve(socket);
    };
    const onError = (err) => {
      cleanup();
      reject(new Error(`${label}: connect_error: ${err && err.message}`));
    };
    function cleanup() {
      clearTimeout(timer);
      socket.off("connect", onConnect);
      socket.off("connect_error", onError);
    }
    socket.on("connect", onConnect);
    socket.on("connect_error", onError);
  });
}

/** emitWithAck bounded by WAIT_MS. */
function ask(socket, event, ...args) {
  return socket.timeout(WAIT_MS).emitWithAck(event, ...args);
}

/** Emit with a classic ack callback and resolve with ALL ack arguments. */
function askAll(socket, event, ...args) {
  return within(
    new Promise((resolve) => socket.emit(event, ...args, (...ackArgs) => resolve(ackArgs))),
    WAIT_MS,
    `ack for "${event}"`,
  );
}

/**
 * Poll the server's disconnect-reason log (via `observer`) until an entry for `id` shows up.
 * Returns that entry.
 */
async function waitForDisconnectReason(observer, id, { ms = WAIT_MS, nsp } = {}) {
  const deadline = Date.now() + ms;
  let last = [];
  while (Date.now() < deadline) {
    last = await ask(observer, "get-disconnect-reasons");
    assert.ok(Array.isArray(last), `get-disconnect-reasons should ack an array, got ${JSON.stringify(last)}`);
    const hit = last.find((e) => e.id === id && (nsp === undefined || e.nsp === nsp));
    if (hit) return hit;
    await sleep(50);
  }
  throw new Error(
    `server recorded no disconnect for socket ${id}${nsp ? ` in ${nsp}` : ""} within ${ms} ms; log: ${JSON.stringify(last)}`,
  );
}

/** Collects every payload of `event` received by `socket`. */
function collect(socket, event) {
  const got = [];
  socket.on(event, (...args) => got.push(args.length === 1 ? args[0] : args));
  return got;
}

/**
 * Open `n` sockets on `nsp` (each with its own Manager) over `cfg` and wait until all are ready.
 * `opts` is merged into every socket's options.
 */
async function openClients(pool, url, cfg, n, { nsp = "/", opts = {}, labels } = {}) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(pool.open(url, nsp, { ...cfg.opts, ...opts }).socket);
  await Promise.all(out.map((s, i) => ready(s, cfg, labels ? labels[i] : `client ${i}`)));
  return out;
}

let barrierSeq = 0;
/**
 * Ordering barrier for "did not receive" checks: send a marker event to each socket's own room
 * (its socket id) via `via` ("to-room" in "/"), and wait until every socket got it. Packets to
 * one socket are delivered in order, so anything the server sent to it before is in by now.
 */
async function barrier(via, sockets) {
  const n = ++barrierSeq;
  const event = `barrier-${n}`;
  const waits = sockets.map((s) => waitFor(s, event, { label: `socket ${s.id} (barrier ${n})` }));
  for (const s of sockets) await askAll(via, "to-room", s.id, event, n);
  await Promise.all(waits);
}

/**
 * Poll `fn()` (async) until `done(value)` is true; return the last value. Never waits longer than
 * `ms`; on timeout returns the last value anyway, so the caller's exact assertion reports it.
 */
async function until(fn, done, { ms = WAIT_MS, every = 50 } = {}) {
  const deadline = Date.now() + ms;
  let value = await fn();
  while (!done(value) && Date.now() < deadline) {
    await sleep(every);
    value = await fn();
  }
  return value;
}

/**
 * Close every socket of `pool` and wait until the server recorded a disconnect for each of them
 * that was connected to "/" or "/custom" (the namespaces with a reason log), read through
 * `observer` (best connected to "/custom", so it is never part of a "/" broadcast). Keeps
 * server-side state from leaking into the next test (e.g. a broadcast ack waiting for a closed
 * client).
 */
async function closeAndSettle(pool, observer) {
  const ids = pool.sockets
    .filter((s) => s.connected && (s.nsp === "/" || s.nsp === "/custom"))
    .map((s) => s.id);
  pool.closeAll();
  for (const id of ids) await waitForDisconnectReason(observer, id);
}

/**
 * Starts a server with `env` before the enclosing `describe` and stops it after (closing
 * `pool`'s clients first). Returns a holder whose `server` is set once started.
 */
function suiteServer(env = {}, pool = undefined) {
  const { before, after } = require("node:test");
  const holder = { server: undefined };
  before(async () => {
    holder.server = await startServer(env);
  });
  after(async () => {
    pool?.closeAll();
    await holder.server?.stop();
  });
  return holder;
}

module.exports = {
  suiteServer,
  openClients,
  barrier,
  until,
  closeAndSettle,
  TRANSPORTS,
  WAIT_MS,
  startServer,
  waitFor,
  within,
  sleep,
  ClientPool,
  ready,
  connected,
  ask,
  askAll,
  waitForDisconnectReason,
  collect,
};
