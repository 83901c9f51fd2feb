// polysocket's Node binding as a socket.io server, driven by npm socket.io-client 4.8.
"use strict";

const { describe, it, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { Server } = require("..");
const { io, WAIT_MS, waitFor } = require("../support/testing");

const TRANSPORTS = [["websocket"], ["polling"], ["polling", "websocket"]];

describe("polysocket as socket.io's Server", () => {
  let server;
  let url;
  const clients = [];
  const connect = (opts = {}, nsp = "/") => {
    const socket = io(url + nsp, { forceNew: true, reconnection: false, ...opts });
    clients.push(socket);
    return socket;
  };

  before(async () => {
    server = new Server({ pingInterval: 10000 });
    server.listen(0, { host: "127.0.0.1" });
    url = `http://127.0.0.1:${await server.listening}`;
    server.on("connection", (socket) => {
      socket.emit("welcome", { id: socket.id, auth: socket.handshake.auth });
      socket.on("echo", (...args) => {
        const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
        if (ack) ack(...args);
        else socket.emit("echo", ...args);
      });
      socket.on("join", (room, ack) => {
        socket.join(room);
        ack([...socket.rooms].sort());
      });
      socket.on("to-room", (room, payload, ack) => {
        server.to(room).emit("room-event", payload);
        ack();
      });
      socket.on("broadcast", (payload) => socket.broadcast.emit("broadcast", payload));
      socket.on("ask", async (payload, ack) => ack(await socket.timeout(1000).emitWithAck("question", payload)));
      socket.on("kick", () => socket.disconnect());
      socket.on("disconnect", (reason) => server.sockets.emit("gone", { id: socket.id, reason }));
    });
  });

  after(async () => {
    for (const c of clients) c.close();
    await server.close();
  });

  for (const transports of TRANSPORTS) {
    it(`events, acks and binary in both directions [${transports.join("+")}]`, async () => {
      const client = connect({ transports, auth: { token: "t" } });
      const [welcome] = await waitFor(client, "welcome");
      assert.deepEqual(welcome, { id: client.id, auth: { token: "t" } });
      const blob = Buffer.from([0, 1, 2, 255]);
      const answer = await client.timeout(WAIT_MS).emitWithAck("echo", "text", { nested: blob }, 42);
      assert.equal(answer, "text");
      const echoed = waitFor(client, "echo");
      client.emit("echo", { file: blob }, [1, 2]);
      const [first, second] = await echoed;
      assert.ok(Buffer.from(first.file).equals(blob));
      assert.deepEqual(second, [1, 2]);
      client.on("question", (payload, ack) => ack({ answered: payload }));
      assert.deepEqual(await client.timeout(WAIT_MS).emitWithAck("ask", 7), { answered: 7 });
      client.close();
    });
  }

  it("rooms, room broadcasts and socket.broadcast", async () => {
    const a = connect({ transports: ["websocket"] });
    const b = connect({ transports: ["websocket"] });
    await Promise.all([waitFor(a, "welcome"), waitFor(b, "welcome")]);
    assert.deepEqual(await b.timeout(WAIT_MS).emitWithAck("join", "r1"), [b.id, "r1"].sort());
    // socket.io's adapter views of the rooms.
    assert.deepEqual([...server.of("/").adapter.rooms.get("r1")], [b.id]);
    assert.deepEqual([...server.sockets.adapter.sids.get(b.id)].sort(), [b.id, "r1"].sort());
    assert.ok((await server.of("/").adapter.allRooms()).has("r1"));
    const inRoom = waitFor(b, "room-event");
    await a.timeout(WAIT_MS).emitWithAck("to-room", "r1", { hello: "room" });
    assert.deepEqual((await inRoom)[0], { hello: "room" });
    const fromA = waitFor(b, "broadcast");
    let aGotOwn = false;
    a.on("broadcast", () => (aGotOwn = true));
    a.emit("broadcast", "hi all");
    assert.deepEqual(await fromA, ["hi all"]);
    assert.equal(aGotOwn, false);
    a.close();
    b.close();
  });

  it("server-side disconnect gives the client and the server their reasons", async () => {
    const watcher = connect({ transports: ["websocket"] });
    const victim = connect({ transports: ["websocket"] });
    await Promise.all([waitFor(watcher, "welcome"), waitFor(victim, "welcome")]);
    const id = victim.id;
    // Earlier tests' clients may still be reported gone: wait for this one.
    const gone = new Promise((resolve) => watcher.on("gone", (g) => g.id === id && resolve(g)));
    const clientSide = waitFor(victim, "disconnect");
    victim.emit("kick");
    assert.equal((await clientSide)[0], "io server disconnect");
    assert.deepEqual(await gone, { id, reason: "server namespace disconnect" });
    watcher.close();
  });

  it("disconnect(true) gives each socket of the connection socket.io's reason, also one JavaScript has not seen yet", async () => {
    // The client asks for the close right behind its CONNECT to /custom: the engine may
    // close the /custom socket before its connection handler runs on Node's thread.
    const reasons = new Map();
    const custom = server.of("/custom");
    custom.on("connection", (socket) => socket.on("disconnect", (reason) => reasons.set(socket.id, reason)));
    server.on("connection", (socket) => socket.on("close-all", () => socket.disconnect(true)));
    let checked = 0;
    for (let round = 0; round < 10; round++) {
      const root = connect({ transports: ["websocket"] });
      await waitFor(root, "welcome");
      const second = root.io.socket("/custom");
      const connected = waitFor(second, "connect");
      root.emit("close-all");
      // Keep Node's thread busy while both reach the engine.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
      await connected.catch(() => {});
      const id = second.id;
      const start = Date.now();
      while (id && !reasons.has(id) && Date.now() - start < WAIT_MS) await new Promise((r) => setTimeout(r, 5));
      if (id) {
        assert.equal(reasons.get(id), "server namespace disconnect", `round ${round}`);
        checked++;
      }
      root.close();
    }
    assert.ok(checked >= 5, `only ${checked} of 10 rounds saw /custom connect`);
  });

  it("socket.request carries the handshake request's headers, url and peer", async () => {
    server.of("/request").on("connection", (socket) => {
      const { headers, url, method, socket: peer } = socket.request;
      socket.emit("request", { custom: headers["x-custom"], url, method, address: peer.remoteAddress });
    });
    const client = connect({ transports: ["polling"], extraHeaders: { "x-custom": "yes" } }, "/request");
    const [request] = await waitFor(client, "request");
    assert.equal(request.custom, "yes");
    assert.match(request.url, /^\/socket\.io\/\?EIO=4&transport=polling/);
    assert.equal(request.method, "GET");
    assert.match(request.address, /127\.0\.0\.1/);
    client.close();
  });

  it('socket.conn: the transport and its "upgrade" event, as in socket.io\'s docs', async () => {
    const seen = new Promise((resolve, reject) => {
      setTimeout(() => reject(new Error("no upgrade heard")), WAIT_MS);
      server.of("/upgrade").on("connection", (socket) => {
        const first = socket.conn.transport.name;
        socket.conn.once("upgrade", (transport) => resolve([first, transport.name, socket.conn.transport.name]));
      });
    });
    const client = connect({ transports: ["polling", "websocket"] }, "/upgrade");
    assert.deepEqual(await seen, ["polling", "websocket", "websocket"]);
    client.close();
  });

  it("events sent right as a client connects are not lost (50 clients at once)", async () => {
    const many = Array.from({ length: 50 }, () => connect({ transports: ["websocket"] }));
    // socket.io-client sends these the moment the CONNECT reply arrives: they may reach the
    // engine before the connection handler ran on Node's thread.
    const answers = await Promise.all(many.map((c, i) => c.timeout(WAIT_MS).emitWithAck("echo", i)));
    assert.deepEqual(answers, many.map((_, i) => i));
    for (const c of many) c.close();
  });

  it("refuses reserved event names as socket.io does", () => {
    assert.throws(() => server.emit("disconnect"), /reserved event name/);
  });
});

describe("polysocket's Server lets the process exit once closed", () => {
  it("and holds nothing before it listens or is attached (as socket.io)", async () => {
    const { execFile } = require("node:child_process");
    const script = `
      const { Server } = require(${JSON.stringify(require.resolve(".."))});
      const io = new Server({ allowRequest: (req, cb) => cb(null, true) });
      io.on("connection", () => {});
      io.of("/admin").use((socket, next) => next());
      io.engine.on("connection_error", () => {});
      console.log("built");`;
    const out = await new Promise((resolve, reject) =>
      execFile(process.execPath, ["-e", script], { timeout: 2 * WAIT_MS }, (error, stdout) => (error ? reject(error) : resolve(stdout))),
    );
    assert.equal(out.trim(), "built");
  });

  it("close() resolves and releases its callbacks", async () => {
    const server = new Server();
    server.listen(0, { host: "127.0.0.1" });
    const port = await server.listening;
    server.on("connection", () => {});
    const client = io(`http://127.0.0.1:${port}`, { forceNew: true, reconnection: false, transports: ["websocket"] });
    await waitFor(client, "connect");
    const reason = waitFor(client, "disconnect");
    await server.close();
    // As with socket.io's io.close(): the connection closes, no DISCONNECT packet first.
    assert.equal((await reason)[0], "transport close");
  });
});

describe("socket.io's server options", () => {
  it("cookie, perMessageDeflate and connectionStateRecovery", async () => {
    const server = new Server({
      cookie: true,
      perMessageDeflate: true,
      connectionStateRecovery: { maxDisconnectionDuration: 2000 },
    });
    server.listen(0, { host: "127.0.0.1" });
    const url = `http://127.0.0.1:${await server.listening}`;
    server.on("connection", (socket) => socket.emit("welcome", socket.recovered));
    const response = await fetch(`${url}/socket.io/?EIO=4&transport=polling`);
    const sid = JSON.parse((await response.text()).slice(1)).sid;
    assert.equal(response.headers.get("set-cookie"), `io=${sid}; Path=/; HttpOnly; SameSite=Lax`);
    const client = io(url, { forceNew: true, reconnection: false, transports: ["websocket"] });
    // With recovery on, socket.io appends the offset to every event (the client keeps it).
    const [recovered, offset] = await waitFor(client, "welcome");
    assert.equal(recovered, false);
    assert.equal(typeof offset, "string");
    assert.equal(client.io.engine.transport.ws.extensions, "permessage-deflate");
    assert.ok(client._pid, "the CONNECT reply carries a recovery pid");
    client.close();
    await server.close();
  });
});
