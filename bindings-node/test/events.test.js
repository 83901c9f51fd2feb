// Server and engine events as socket.io emits them: io.engine's connection_error,
// allowRequest through an attached http.Server, disconnecting with the socket's rooms, and
// handlers that throw.
"use strict";

const { describe, it, before, after } = require("node:test");
const assert = require("node:assert/strict");
const http = require("node:http");
const path = require("node:path");
const { execFile } = require("node:child_process");
const { Server } = require("..");
const { io, WAIT_MS, waitFor } = require("../support/testing");

describe("engine and socket events", () => {
  let httpServer;
  let server;
  let url;
  const clients = [];
  const connect = (opts = {}) => {
    const socket = io(url, { forceNew: true, reconnection: false, transports: ["websocket"], ...opts });
    clients.push(socket);
    return socket;
  };

  before(async () => {
    httpServer = http.createServer((_req, res) => res.end("app"));
    server = new Server(httpServer, {
      // engine.io's allowRequest: refuse handshakes without the header.
      allowRequest: (req, callback) => {
        if (req.headers["x-ticket"] === "valid") callback(null, true);
        else callback("no ticket", false);
      },
    });
    await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${httpServer.address().port}`;
  });

  after(async () => {
    for (const c of clients) c.close();
    await server.close();
    await new Promise((resolve) => httpServer.close(resolve));
  });

  it("allowRequest admits and refuses handshakes, and refusals reach connection_error", async () => {
    const errors = [];
    server.engine.on("connection_error", (err) => errors.push(err));
    server.once("connection", (socket) => socket.emit("welcome", socket.handshake.headers["x-ticket"]));
    const admitted = connect({ transports: ["polling"], extraHeaders: { "x-ticket": "valid" } });
    assert.deepEqual(await waitFor(admitted, "welcome"), ["valid"]);

    const refused = connect({ transports: ["polling"] });
    const [error] = await waitFor(refused, "connect_error");
    assert.match(error.message, /xhr poll error/);
    assert.equal(errors.length, 1);
    assert.equal(errors[0].code, 4);
    assert.equal(errors[0].message, "Forbidden");
    assert.deepEqual(errors[0].context, { message: "no ticket" });
    assert.equal(errors[0].req.method, "GET");
    assert.match(errors[0].req.url, /^\/socket\.io\/\?EIO=4&transport=polling/);
  });

  it("connection_error reports unknown sessions and bad protocol versions", async () => {
    const errors = [];
    const listener = (err) => errors.push(err);
    server.engine.on("connection_error", listener);
    const unknown = await fetch(`${url}/socket.io/?EIO=4&transport=polling&sid=nope`);
    assert.equal(unknown.status, 400);
    assert.deepEqual(await unknown.json(), { code: 1, message: "Session ID unknown" });
    const old = await fetch(`${url}/socket.io/?EIO=3&transport=polling`, { headers: { "x-ticket": "valid" } });
    assert.equal(old.status, 400);
    await old.text();
    server.engine.off("connection_error", listener);
    assert.deepEqual(
      errors.map((e) => [e.code, e.message]),
      [
        [1, "Session ID unknown"],
        [5, "Unsupported protocol version"],
      ],
    );
  });

  it("disconnecting sees the socket's rooms; disconnect comes after, with none", async () => {
    const seen = new Promise((resolve) => {
      server.once("connection", (socket) => {
        socket.join(["red", "blue"]);
        socket.on("disconnecting", (reason) => {
          const during = [...socket.rooms].sort();
          socket.on("disconnect", (finalReason, description) =>
            resolve({ reason, during, finalReason, after: [...socket.rooms], description, id: socket.id }),
          );
        });
        socket.emit("ready");
      });
    });
    const client = connect({ extraHeaders: { "x-ticket": "valid" } });
    await waitFor(client, "ready");
    const id = client.id;
    client.disconnect();
    const { reason, during, finalReason, after } = await seen;
    assert.equal(reason, "client namespace disconnect");
    assert.deepEqual(during, [id, "blue", "red"].sort());
    assert.equal(finalReason, "client namespace disconnect");
    assert.deepEqual(after, []);
  });

  it("events reach handlers intact when many arrive in one batch", async () => {
    // Every notice of a drain is one JSON text and one attachment list: names that need
    // escaping, binary values of several events in the same list, rooms, acks.
    const names = ['say "hi"', "back\\slash", "tab\there", "ünïcødé ✓", "plain"];
    const received = [];
    let leaving;
    const left = new Promise((resolve) => (leaving = resolve));
    const done = new Promise((resolve) => {
      server.once("connection", (socket) => {
        socket.join("a \"quoted\" room");
        socket.onAny((event, ...args) => {
          const ack = typeof args.at(-1) === "function" ? args.pop() : undefined;
          received.push([event, args]);
          if (ack) ack({ echoed: args }, Buffer.from([9]));
          if (received.length === names.length * 2) resolve();
        });
        socket.on("disconnecting", () => leaving([...socket.rooms].sort()));
        socket.emit("ready");
      });
    });
    const client = connect({ extraHeaders: { "x-ticket": "valid" } });
    await waitFor(client, "ready");
    const answers = [];
    names.forEach((name, i) => {
      client.emit(name, i, { nested: [Buffer.from([i, i + 1])] }, Buffer.from([i]));
      answers.push(
        new Promise((resolve, reject) =>
          client.timeout(WAIT_MS).emit(name, "ack", i, (err, ...answer) => (err ? reject(err) : resolve(answer))),
        ),
      );
    });
    await done;
    names.forEach((name, i) => {
      const [event, args] = received[i * 2];
      assert.equal(event, name);
      assert.equal(args[0], i);
      assert.deepEqual(args[1].nested[0], Buffer.from([i, i + 1]));
      assert.deepEqual(args[2], Buffer.from([i]));
      assert.deepEqual(received[i * 2 + 1], [name, ["ack", i]]);
    });
    for (const [i, answer] of (await Promise.all(answers)).entries()) {
      assert.deepEqual(answer, [{ echoed: ["ack", i] }, Buffer.from([9])]);
    }
    const id = client.id;
    client.disconnect();
    assert.deepEqual(await left, [id, 'a "quoted" room'].sort());
  });

  it("a throwing handler is reported as an uncaught exception and the server goes on", async () => {
    const script = path.join(__dirname, "..", "support", "throwing-handler.js");
    const stdout = await new Promise((resolve, reject) =>
      execFile(process.execPath, [script], { timeout: 4 * WAIT_MS }, (error, out, err) =>
        error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out),
      ),
    );
    assert.deepEqual(JSON.parse(stdout), {
      reported: ["thrown by a connection handler", "thrown by an event handler"],
      answer: "still serving",
      connected: true,
    });
  });
});

describe("bad options get clear errors", () => {
  it("an adapter that is not polysocket's, as an option or through io.adapter()", () => {
    assert.throws(() => new Server({ adapter: function nodeAdapter() {} }), /"adapter" must come from require\("polysocket\/redis-adapter"\)/);
    const server = new Server();
    assert.equal(server.adapter(), undefined);
    assert.throws(() => server.adapter(() => {}), /io\.adapter\(\.\.\) takes createAdapter\(\.\.\) or createShardedAdapter\(\.\.\) from require\("polysocket\/redis-adapter"\)/);
    assert.equal(server.adapter(), undefined);
  });

  it("a Redis adapter without an address", () => {
    const { createAdapter } = require("../redis-adapter");
    assert.throws(() => createAdapter({}), /pass a Redis URL/);
  });
});
