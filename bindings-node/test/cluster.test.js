// A mixed cluster on a private redis-server: one polysocket server (the binding, with
// polysocket/redis-adapter) and one npm socket.io 4.8 server (with @socket.io/redis-adapter
// 8), each with an npm socket.io-client. Every cluster operation is started on both sides.
"use strict";

const { describe, it, before, after } = require("node:test");
const assert = require("node:assert/strict");
const http = require("node:http");
const { Server } = require("..");
const { createAdapter } = require("../redis-adapter");
const { io, WAIT_MS, waitFor, interopModule } = require("../support/testing");
const { startRedis, redisCommand } = interopModule("node/redis-server");

/** Polls `probe` until it returns something truthy (or WAIT_MS passes). */
async function until(probe) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await probe();
    if (value || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("a cluster of polysocket and npm socket.io servers over Redis", () => {
  const KEY = `polysocket-binding-${process.pid}-${Date.now()}`;
  let redis;
  let poly; // polysocket's Server
  let node; // npm socket.io's Server
  let nodeHttp;
  let redisClients = [];
  const clients = {};

  before(async () => {
    redis = await startRedis();
    const url = `redis://127.0.0.1:${redis.port}`;

    poly = new Server({ adapter: createAdapter(url, { key: KEY }) });
    poly.listen(0, { host: "127.0.0.1" });
    const polyUrl = `http://127.0.0.1:${await poly.listening}`;

    const { createClient } = interopModule("node_modules/redis");
    const { createAdapter: createNodeAdapter } = interopModule("node_modules/@socket.io/redis-adapter");
    const NodeServer = interopModule("node_modules/socket.io").Server;
    const pub = createClient({ url });
    const sub = pub.duplicate();
    redisClients = [pub, sub];
    await Promise.all([pub.connect(), sub.connect()]);
    nodeHttp = http.createServer();
    node = new NodeServer(nodeHttp, { adapter: createNodeAdapter(pub, sub, { key: KEY }) });
    await new Promise((resolve) => nodeHttp.listen(0, "127.0.0.1", resolve));
    const nodeUrl = `http://127.0.0.1:${nodeHttp.address().port}`;

    for (const [name, server] of [["poly", poly], ["node", node]]) {
      server.on("connection", (socket) => {
        socket.data.server = name;
        socket.on("join", (room, ack) => {
          socket.join(room);
          ack();
        });
      });
      server.on("hello", (payload, callback) => {
        if (typeof callback === "function") callback({ from: name, payload });
        else server.local.emit("heard", { from: name, payload });
      });
    }

    // Both servers on the bus: the request channel of `/` counts two subscribers.
    await poly.clusterReady();
    const numsub = await until(async () =>
      (await redisCommand(redis.port, ["PUBSUB", "NUMSUB", `${KEY}-request#/#`])).trim().endsWith(":2"),
    );
    assert.ok(numsub, "both servers subscribed to the request channel");

    for (const [name, url] of [["poly", polyUrl], ["node", nodeUrl]]) {
      clients[name] = io(url, { forceNew: true, reconnection: false, transports: ["websocket"] });
      await waitFor(clients[name], "connect");
      clients[name].on("question", (payload, callback) => callback({ answeredBy: name, payload }));
    }
  });

  after(async () => {
    for (const client of Object.values(clients)) client.close();
    await poly?.close();
    await new Promise((resolve) => (node ? node.close(() => resolve()) : resolve()));
    for (const client of redisClients) await client.quit().catch(() => {});
    await redis?.stop();
  });

  const SERVERS = { poly: () => poly, node: () => node };

  for (const [origin, server] of Object.entries(SERVERS)) {
    describe(`started on the ${origin} server`, () => {
      it("a broadcast reaches the clients of both servers, binary included", async () => {
        const blob = Buffer.from([0, 1, 254, 255]);
        const seen = Object.values(clients).map((client) => waitFor(client, "everyone"));
        server().emit("everyone", { origin, blob });
        for (const [payload] of await Promise.all(seen)) {
          assert.equal(payload.origin, origin);
          assert.ok(Buffer.from(payload.blob).equals(blob));
        }
      });

      it("a room broadcast reaches only the room's members, on the other server", async () => {
        const room = `room-from-${origin}`;
        const member = origin === "poly" ? "node" : "poly";
        const outsider = origin;
        await clients[member].timeout(WAIT_MS).emitWithAck("join", room);
        let leaked = false;
        const onLeak = () => (leaked = true);
        clients[outsider].on("in-room", onLeak);
        const seen = waitFor(clients[member], "in-room");
        server().to(room).emit("in-room", origin);
        assert.deepEqual(await seen, [origin]);
        // Give a wrongly routed packet the same time to arrive.
        server().to(room).emit("in-room", "again");
        await waitFor(clients[member], "in-room");
        clients[outsider].off("in-room", onLeak);
        assert.equal(leaked, false);
      });

      it("fetchSockets sees the sockets of both servers with their data", async () => {
        const sockets = await server().fetchSockets();
        const seen = Object.fromEntries(sockets.map((s) => [s.id, s.data.server]));
        assert.equal(seen[clients.poly.id], "poly");
        assert.equal(seen[clients.node.id], "node");
        const remote = sockets.find((s) => s.id === clients[origin === "poly" ? "node" : "poly"].id);
        assert.ok(remote.rooms.has(remote.id));
        assert.equal(typeof remote.handshake.headers, "object");
      });

      it("socketsJoin and socketsLeave reach the other server's sockets", async () => {
        const other = origin === "poly" ? "node" : "poly";
        const room = `joined-by-${origin}`;
        server().in(clients[other].id).socketsJoin(room);
        const members = async () => (await server().in(room).fetchSockets()).map((s) => s.id);
        assert.deepEqual(await until(async () => ((await members()).length === 1 ? members() : null)), [clients[other].id]);
        server().in(clients[other].id).socketsLeave(room);
        assert.ok(await until(async () => (await members()).length === 0));
      });

      it("emitWithAck gathers the answers of the clients of both servers", async () => {
        const answers = await server().timeout(WAIT_MS).emitWithAck("question", origin);
        const by = answers.map((a) => a.answeredBy).sort();
        assert.deepEqual(by, ["node", "poly"]);
        for (const answer of answers) assert.equal(answer.payload, origin);
      });

      it("serverSideEmit reaches the other server, with and without an ack", async () => {
        const other = origin === "poly" ? "node" : "poly";
        const responses = await server().serverSideEmitWithAck("hello", { origin });
        assert.deepEqual(responses, [{ from: other, payload: { origin } }]);
        const viaCallback = await new Promise((resolve, reject) =>
          server().serverSideEmit("hello", 7, (err, answers) => (err ? reject(err) : resolve(answers))),
        );
        assert.deepEqual(viaCallback, [{ from: other, payload: 7 }]);
        const heard = waitFor(clients[other], "heard");
        server().serverSideEmit("hello", "no ack");
        assert.deepEqual(await heard, [{ from: other, payload: "no ack" }]);
      });
    });
  }

  it("disconnectSockets from the Node server disconnects the polysocket server's client", async () => {
    const gone = waitFor(clients.poly, "disconnect");
    node.in(clients.poly.id).disconnectSockets();
    assert.equal((await gone)[0], "io server disconnect");
  });

  it("io.adapter(createAdapter(pubClient, subClient)) after construction, as socket.io apps write it", async () => {
    const httpServer = http.createServer();
    const late = new Server(httpServer);
    const [pub, sub] = redisClients; // node-redis clients: polysocket uses their address
    assert.equal(late.adapter(createAdapter(pub, sub, { key: KEY })), late);
    assert.equal(typeof late.adapter(), "function");
    await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
    await late.clusterReady();
    const client = io(`http://127.0.0.1:${httpServer.address().port}`, {
      forceNew: true,
      reconnection: false,
      transports: ["websocket"],
    });
    try {
      await waitFor(client, "connect");
      const seen = waitFor(client, "from-node");
      node.emit("from-node", 1);
      assert.deepEqual(await seen, [1]);
      const ids = (await late.fetchSockets()).map((s) => s.id);
      assert.ok(ids.includes(client.id) && ids.includes(clients.node.id), JSON.stringify(ids));
      assert.throws(() => late.adapter(createAdapter(pub, sub, { key: KEY })), /already has an adapter/);
    } finally {
      client.close();
      await late.close();
    }
  });
});
