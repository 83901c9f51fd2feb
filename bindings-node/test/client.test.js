// polysocket/client (socket.io-client's API on the Rust client) against the npm socket.io 4.8
// server, over real sockets.
"use strict";

const { describe, it, before, after } = require("node:test");
const assert = require("node:assert/strict");
const http = require("node:http");
const path = require("node:path");
const { execFile } = require("node:child_process");
const clientModule = require("../client");
const { WAIT_MS, waitFor, interopModule } = require("../support/testing");

const { io, Manager } = clientModule;
const { Server } = interopModule("node_modules/socket.io");

/** An npm socket.io server with the handlers the tests use; `port` reuses a port. */
async function startServer(port = 0) {
  const httpServer = http.createServer();
  const server = new Server(httpServer, { pingInterval: 10000, connectionStateRecovery: {} });
  server.use((socket, next) => {
    if (socket.handshake.auth.refuse) {
      const err = new Error("not welcome");
      err.data = { code: 42 };
      return next(err);
    }
    next();
  });
  const onConnection = (socket) => {
    socket.emit("welcome", { nsp: socket.nsp.name, auth: socket.handshake.auth, query: socket.handshake.query.room ?? null });
    socket.on("echo", (...args) => {
      const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
      if (ack) ack(...args);
      else socket.emit("echo", ...args);
    });
    socket.on("ask", async (payload, ack) => ack(await socket.timeout(WAIT_MS).emitWithAck("question", payload)));
    socket.on("silent", () => {});
    socket.on("kick", () => socket.disconnect());
  };
  server.on("connection", onConnection);
  server.of("/admin").on("connection", onConnection);
  await new Promise((resolve) => httpServer.listen(port, "127.0.0.1", resolve));
  return { server, httpServer, url: `http://127.0.0.1:${httpServer.address().port}` };
}

async function stopServer({ server }) {
  await new Promise((resolve) => server.close(() => resolve()));
}

describe("polysocket/client against npm socket.io", () => {
  let peer;
  const sockets = [];
  const connect = (nsp = "/", opts = {}) => {
    const socket = io(peer.url + nsp, { forceNew: true, reconnection: false, ...opts });
    sockets.push(socket);
    return socket;
  };

  before(async () => {
    peer = await startServer();
  });

  after(async () => {
    for (const socket of sockets) socket.disconnect();
    await stopServer(peer);
  });

  for (const transports of [["websocket"], ["polling"], ["polling", "websocket"]]) {
    it(`connects, and emits with acks and binary both ways [${transports.join("+")}]`, async () => {
      const socket = connect("/", { transports, auth: { token: "t" }, query: { room: "r1" } });
      const [welcome] = await waitFor(socket, "welcome");
      assert.deepEqual(welcome, { nsp: "/", auth: { token: "t" }, query: "r1" });
      assert.equal(socket.connected, true);
      assert.equal(typeof socket.id, "string");
      const blob = Buffer.from([0, 1, 2, 255]);
      const [text, echoed] = await new Promise((resolve) => socket.emit("echo", "text", { blob }, (...answer) => resolve(answer)));
      assert.equal(text, "text");
      assert.ok(Buffer.from(echoed.blob).equals(blob));
      socket.on("question", (payload, ack) => ack({ answered: payload }));
      assert.deepEqual(await socket.emitWithAck("ask", 7), { answered: 7 });
      const back = waitFor(socket, "echo");
      socket.emit("echo", new Uint8Array([9, 8]));
      assert.ok(Buffer.from((await back)[0]).equals(Buffer.from([9, 8])));
      if (transports.length === 1) assert.equal(socket.io.engine.transport.name, transports[0]);
      else {
        // polling first, then the upgrade.
        const deadline = Date.now() + WAIT_MS;
        while (socket.io.engine.transport.name !== "websocket" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        assert.equal(socket.io.engine.transport.name, "websocket");
      }
      socket.disconnect();
      assert.equal(socket.connected, false);
    });
  }

  it("timeouts give socket.io-client's error, and the ackTimeout option turns callbacks error-first", async () => {
    const socket = connect("/", { transports: ["websocket"] });
    await waitFor(socket, "welcome");
    await assert.rejects(socket.timeout(100).emitWithAck("silent"), { message: "operation has timed out" });
    const err = await new Promise((resolve) => socket.timeout(100).emit("silent", (e) => resolve(e)));
    assert.equal(err.message, "operation has timed out");
    const withOption = connect("/", { transports: ["websocket"], ackTimeout: 1000 });
    await waitFor(withOption, "welcome");
    const answer = await new Promise((resolve) => withOption.emit("echo", 5, (...args) => resolve(args)));
    assert.deepEqual(answer, [null, 5]);
  });

  it("a refusing middleware gives connect_error with message and data", async () => {
    const socket = connect("/", { transports: ["websocket"], auth: { refuse: true } });
    const [error] = await waitFor(socket, "connect_error");
    assert.equal(error.message, "not welcome");
    assert.deepEqual(error.data, { code: 42 });
    assert.equal(socket.connected, false);
  });

  it("sockets of several namespaces share one connection (multiplexing)", async () => {
    const main = io(peer.url, { transports: ["websocket"], reconnection: false });
    const admin = io(`${peer.url}/admin`, { transports: ["websocket"], reconnection: false });
    sockets.push(main, admin);
    assert.equal(main.io, admin.io);
    assert.deepEqual((await waitFor(admin, "welcome"))[0].nsp, "/admin");
    await waitFor(main, "connect").catch(() => {});
    assert.equal(main.io.engine.id, admin.io.engine.id);
    main.disconnect();
    admin.disconnect();
  });

  it("sockets sharing a connection send their own auth (an object, or a function answering later)", async () => {
    const manager = new Manager(peer.url, { transports: ["websocket"], reconnection: false });
    const main = manager.socket("/", { auth: { token: "main" } });
    const admin = manager.socket("/admin", { auth: (cb) => setTimeout(() => cb({ token: "admin" }), 20) });
    sockets.push(main, admin);
    const [[mainWelcome], [adminWelcome]] = await Promise.all([waitFor(main, "welcome"), waitFor(admin, "welcome")]);
    assert.deepEqual(mainWelcome.auth, { token: "main" });
    assert.deepEqual(adminWelcome.auth, { token: "admin" });
    main.disconnect();
    admin.disconnect();
  });

  it("catch-all listeners both ways, and reserved names refused", async () => {
    const socket = connect("/", { transports: ["websocket"] });
    const incoming = [];
    const outgoing = [];
    socket.onAny((event, ...args) => incoming.push([event, ...args]));
    socket.onAnyOutgoing((event, ...args) => outgoing.push([event, ...args]));
    await waitFor(socket, "welcome");
    await socket.emitWithAck("echo", "x");
    // With connection state recovery on, socket.io appends the offset (socket.io-client
    // passes it on to listeners too).
    assert.deepEqual(incoming[0].slice(0, 2), ["welcome", { nsp: "/", auth: {}, query: null }]);
    assert.deepEqual(outgoing, [["echo", "x"]]);
    assert.throws(() => socket.emit("connect"), /reserved event name/);
  });

  it("a server-side disconnect gives io server disconnect", async () => {
    const socket = connect("/", { transports: ["websocket"] });
    await waitFor(socket, "welcome");
    const reason = waitFor(socket, "disconnect");
    socket.emit("kick");
    assert.equal((await reason)[0], "io server disconnect");
  });
});

describe("polysocket/client reconnects", () => {
  it("after the server restarts: reconnect_attempt, reconnect, connect again", async () => {
    let peer = await startServer();
    const port = Number(new URL(peer.url).port);
    const socket = io(peer.url, { forceNew: true, transports: ["websocket"], reconnectionDelay: 100, reconnectionDelayMax: 200 });
    await waitFor(socket, "welcome");
    const attempts = [];
    socket.io.on("reconnect_attempt", (n) => attempts.push(n));
    const disconnected = waitFor(socket, "disconnect");
    await stopServer(peer);
    assert.equal((await disconnected)[0], "transport close");
    const reconnected = waitFor(socket.io, "reconnect");
    const welcomeAgain = waitFor(socket, "welcome");
    // Let at least one attempt fail before the server is back.
    await new Promise((resolve) => setTimeout(resolve, 300));
    peer = await startServer(port);
    await reconnected;
    await welcomeAgain;
    assert.ok(attempts.length >= 1);
    assert.equal(socket.connected, true);
    socket.disconnect();
    await stopServer(peer);
  });

  it("events emitted while disconnected are sent once connected (the send buffer)", async () => {
    const peer = await startServer();
    const socket = io(peer.url, { forceNew: true, autoConnect: false, transports: ["websocket"] });
    const answer = new Promise((resolve) => socket.emit("echo", "buffered", resolve));
    socket.connect();
    assert.equal(await answer, "buffered");
    socket.disconnect();
    await stopServer(peer);
  });
});

describe("polysocket/client lets the process exit", () => {
  it("once its sockets are disconnected", async () => {
    const script = path.join(__dirname, "..", "support", "client-exit.js");
    const started = Date.now();
    const stdout = await new Promise((resolve, reject) =>
      execFile(process.execPath, [script], { timeout: 4 * WAIT_MS }, (error, out, err) =>
        error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out),
      ),
    );
    assert.equal(stdout.trim(), "answered: hi");
    assert.ok(Date.now() - started < 4 * WAIT_MS);
  });
});

describe("polysocket/client with socket.io-msgpack-parser", () => {
  it("talks to an npm socket.io server that uses the msgpack parser", async () => {
    const parser = interopModule("node_modules/socket.io-msgpack-parser");
    const httpServer = http.createServer();
    const server = new Server(httpServer, { parser });
    server.on("connection", (socket) => socket.on("echo", (payload, ack) => ack(payload)));
    await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
    const socket = io(`http://127.0.0.1:${httpServer.address().port}`, { forceNew: true, parser, transports: ["websocket"] });
    const blob = Buffer.from([1, 2, 3]);
    const answer = await socket.timeout(WAIT_MS).emitWithAck("echo", { n: 1.5, blob, list: [true, null] });
    assert.equal(answer.n, 1.5);
    assert.ok(Buffer.from(answer.blob).equals(blob));
    assert.deepEqual(answer.list, [true, null]);
    socket.disconnect();
    await new Promise((resolve) => server.close(() => resolve()));
  });
});

describe("polysocket/client refuses bad input with clear errors", () => {
  it("an invalid URL or transport list", () => {
    assert.throws(() => io("not a url"), /Invalid URL/);
    assert.throws(() => io("http://127.0.0.1:1", { transports: ["carrier-pigeon"], forceNew: true }), /transports/);
  });

  it("reserved event names", () => {
    const socket = io("http://127.0.0.1:1", { autoConnect: false, forceNew: true });
    for (const name of ["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"]) {
      assert.throws(() => socket.emit(name), new RegExp(`"${name}" is a reserved event name`));
    }
  });
});

describe("socket.io-client's module shape", () => {
  it("is callable and has io, connect, Manager, Socket and protocol", () => {
    assert.equal(typeof clientModule, "function");
    assert.equal(clientModule.io, clientModule);
    assert.equal(clientModule.connect, clientModule);
    assert.equal(typeof Manager, "function");
    assert.equal(typeof clientModule.Socket, "function");
    assert.equal(clientModule.protocol, 5);
  });
});
