// The mixed-cluster suite (run by cluster.test.js for the classic adapter and by
// cluster-sharded.test.js for the sharded one): a private redis-server started here on a free
// port, two contract servers under test (POLYSOCKET_INTEROP_SERVER, "A" and "B") and one npm
// socket.io 4.8 server with @socket.io/redis-adapter 8 ("N"), one socket.io-client per server.
// Every cluster operation is started on a polysocket server and on the Node server, and must
// reach the clients of all three. Without POLYSOCKET_INTEROP_SERVER all three are Node servers:
// the suite then checks itself against the reference implementation.
"use strict";

const { describe, it, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { spawn } = require("node:child_process");
const path = require("node:path");
const h = require("./helpers");
const { redisCommand, startRedis } = require("./redis-server");

const REFERENCE_SERVER = path.join(__dirname, "..", "reference-server.js");

/**
 * Registers the suite; `sharded` is a subscriptionMode ("dynamic", ...) for
 * createShardedAdapter, or null for createAdapter (which also runs the emitter checks).
 */
function clusterSuite({ sharded }) {
  const KEY = `polysocket-test-${process.pid}-${Date.now()}`;
  let redis;
  const servers = {};
  const clients = {};
  const pool = new h.ClientPool();
  const NAMES = ["A", "B", "N"];

  before(async () => {
    redis = await startRedis();
    const env = (name) => ({
      REDIS_URL: `redis://127.0.0.1:${redis.port}`,
      REDIS_KEY: KEY,
      SERVER_NAME: name,
      ...(sharded ? { REDIS_SHARDED: sharded } : {}),
    });
    servers.A = await h.startServer(env("A"));
    servers.B = await h.startServer(env("B"));
    servers.N = await startReference(env("N"));
    // Every server subscribed: the request channel of `/` counts three.
    const numsub = await h.until(
      () =>
        sharded
          ? redisCommand(redis.port, ["PUBSUB", "SHARDNUMSUB", `${KEY}#/#`])
          : redisCommand(redis.port, ["PUBSUB", "NUMSUB", `${KEY}-request#/#`]),
      (reply) => reply.trim().endsWith(":3"),
    );
    assert.ok(numsub.trim().endsWith(":3"), `three servers on the bus: ${JSON.stringify(numsub)}`);
    for (const name of NAMES) {
      const { socket } = pool.open(servers[name].url, "/", { transports: ["websocket"] });
      await h.waitFor(socket, "connect");
      clients[name] = socket;
      socket.on("question", (payload, callback) => callback({ answeredBy: name, payload }));
    }
  });

  after(async () => {
    pool.closeAll();
    for (const server of Object.values(servers)) await server?.stop();
    await redis?.stop();
  });

  /** The npm socket.io reference server, whatever POLYSOCKET_INTEROP_SERVER says. */
  function startReference(env) {
    const saved = process.env.POLYSOCKET_INTEROP_SERVER;
    delete process.env.POLYSOCKET_INTEROP_SERVER;
    try {
      return h.startServer(env);
    } finally {
      if (saved !== undefined) process.env.POLYSOCKET_INTEROP_SERVER = saved;
    }
  }

  const ask = (name, event, ...args) => clients[name].timeout(5000).emitWithAck(event, ...args);

  /** Resolves with the names of the clients that receive `event` with `payload` within 500 ms. */
  async function receivers(event, payload, action) {
    const got = new Set();
    const listeners = NAMES.map((name) => {
      const listener = (p) => {
        if (JSON.stringify(p) === JSON.stringify(payload)) got.add(name);
      };
      clients[name].on(event, listener);
      return [name, listener];
    });
    await action();
    await h.sleep(500);
    for (const [name, listener] of listeners) clients[name].off(event, listener);
    return [...got].sort();
  }

  async function joinRoom(name, room) {
    await ask(name, "join", room);
  }

  for (const origin of ["A", "N"]) {
    describe(`cluster operations started on ${origin === "A" ? "polysocket (A)" : "Node (N)"}`, () => {
      it("a broadcast to everyone reaches the clients of every server", async () => {
        const payload = { from: origin, kind: "all", bin: undefined };
        const got = await receivers("everyone", payload, () => ask(origin, "in-rooms", [], "everyone", payload));
        assert.deepEqual(got, NAMES);
      });

      it("binary payloads cross the bus", async () => {
        const blob = Buffer.from([0, 1, 2, 254, 255]);
        const seen = h.waitFor(clients.B, "binary-event");
        const seenN = h.waitFor(clients.N, "binary-event");
        await ask(origin, "in-rooms", [], "binary-event", { blob, origin });
        for (const [args] of [await seen, await seenN]) {
          assert.ok(Buffer.from(args.blob).equals(blob));
          assert.equal(args.origin, origin);
        }
      });

      it("room broadcasts reach only the members, on every server (one room and several)", async () => {
        const room = `room-${origin}`;
        await joinRoom("B", room);
        await joinRoom("N", room);
        // Sharded dynamic modes subscribe a new room's channel asynchronously (Node's
        // adapter as polysocket's): give the SSUBSCRIBE a moment.
        await h.sleep(sharded ? 150 : 0);
        const one = await receivers("in-room", { origin, n: 1 }, () =>
          ask(origin, "compress-to-room", room, "in-room", { origin, n: 1 }),
        );
        assert.deepEqual(one, ["B", "N"]);
        await joinRoom("A", `${room}-other`);
        const several = await receivers("in-room", { origin, n: 2 }, () =>
          ask(origin, "in-rooms", [room, `${room}-other`], "in-room", { origin, n: 2 }),
        );
        assert.deepEqual(several, NAMES);
      });

      it("local broadcasts stay on the server that sends them", async () => {
        const room = `local-${origin}`;
        for (const name of NAMES) await joinRoom(name, room);
        const got = await receivers("local-event", { origin }, () => ask(origin, "local-to-room", room, "local-event", { origin }));
        assert.deepEqual(got, [origin]);
      });

      it("fetchSockets lists the sockets of every server with their rooms and data", async () => {
        const room = `fetch-${origin}`;
        for (const name of NAMES) {
          await joinRoom(name, room);
          await ask(name, "set-data", { name });
        }
        const sockets = await ask(origin, "fetch-sockets", room);
        const byId = Object.fromEntries(sockets.map((s) => [s.id, s]));
        for (const name of NAMES) {
          const found = byId[clients[name].id];
          assert.ok(found, `${name}'s socket is listed: ${JSON.stringify(sockets)}`);
          assert.deepEqual(found.data, { name });
          assert.ok(found.rooms.includes(room) && found.rooms.includes(clients[name].id));
        }
        assert.equal(sockets.length, 3);
      });

      it("emits through fetched remote sockets reach them", async () => {
        const room = `remote-${origin}`;
        await joinRoom("B", room);
        await joinRoom("N", room);
        const got = await receivers("via-remote", { origin }, () => ask(origin, "remote-emit", room, "via-remote", { origin }));
        assert.deepEqual(got, ["B", "N"]);
      });

      it("socketsJoin and socketsLeave apply on every server", async () => {
        const room = `sj-${origin}`;
        const target = `sj-target-${origin}`;
        for (const name of NAMES) await joinRoom(name, room);
        await ask(origin, "sockets-join", room, target);
        await h.sleep(200);
        const joined = await receivers("joined", { origin }, () => ask(origin, "compress-to-room", target, "joined", { origin }));
        assert.deepEqual(joined, NAMES);
        await ask(origin, "sockets-leave", room, target);
        await h.sleep(200);
        const left = await receivers("left", { origin }, () => ask(origin, "compress-to-room", target, "left", { origin }));
        assert.deepEqual(left, []);
      });

      it("allRooms lists the rooms of every server (classic adapter)", { skip: sharded ? "the sharded adapter has no allRooms" : false }, async () => {
        const room = `all-rooms-${origin}`;
        await joinRoom("B", `${room}-b`);
        await joinRoom("N", `${room}-n`);
        const rooms = await ask(origin, "all-rooms");
        for (const expected of [`${room}-b`, `${room}-n`, clients.A.id, clients.B.id, clients.N.id]) {
          assert.ok(rooms.includes(expected), `${expected} in ${JSON.stringify(rooms)}`);
        }
        assert.equal(new Set(rooms).size, rooms.length);
      });

      it("serverSideEmit with acks collects every other server's answer", async () => {
        const { error, responses } = await ask(origin, "server-side-emit");
        assert.equal(error, null);
        const others = NAMES.filter((n) => n !== origin).sort();
        assert.deepEqual(responses.map((r) => r.server).sort(), others);
      });

      it("acknowledgements from clients of every server come back to a room broadcast", async () => {
        const room = `acks-${origin}`;
        for (const name of NAMES) await joinRoom(name, room);
        const result = await ask(origin, "ack-from-room", room, { origin });
        assert.equal(result.error, undefined, JSON.stringify(result));
        const by = result.responses.map((r) => r.answeredBy).sort();
        assert.deepEqual(by, NAMES);
      });
    });
  }

  describe("disconnectSockets across the cluster", () => {
    it("a polysocket server disconnects a Node server's client and the other way round", async () => {
      for (const [origin, victim] of [
        ["A", "N"],
        ["N", "B"],
      ]) {
        const { socket } = pool.open(servers[victim].url, "/", { transports: ["websocket"] });
        await h.waitFor(socket, "connect");
        const room = `kick-${origin}-${victim}`;
        await socket.timeout(5000).emitWithAck("join", room);
        const gone = h.waitFor(socket, "disconnect");
        await ask(origin, "disconnect-sockets", room, false);
        const [reason] = await gone;
        assert.equal(reason, "io server disconnect");
      }
    });
  });

  // The emitter speaks the classic format only (it has no sharded mode).
  describe("@socket.io/redis-emitter 5 publishing to the cluster", { skip: sharded ? "the emitter has no sharded mode" : false }, () => {
    let emitter;
    let redisClient;
    before(async () => {
      const { createClient } = require("redis");
      const { Emitter } = require("@socket.io/redis-emitter");
      redisClient = createClient({ url: `redis://127.0.0.1:${redis.port}` });
      await redisClient.connect();
      emitter = new Emitter(redisClient, { key: KEY });
    });
    after(async () => {
      await redisClient?.quit();
    });

    it("emits to everyone, to a room and except a room", async () => {
      const all = await receivers("from-emitter", { n: 1 }, async () => emitter.emit("from-emitter", { n: 1 }));
      assert.deepEqual(all, NAMES);
      await joinRoom("A", "em-room");
      await joinRoom("N", "em-room");
      const room = await receivers("from-emitter", { n: 2 }, async () => emitter.to("em-room").emit("from-emitter", { n: 2 }));
      assert.deepEqual(room, ["A", "N"]);
      const except = await receivers("from-emitter", { n: 3 }, async () =>
        emitter.except("em-room").emit("from-emitter", { n: 3 }),
      );
      assert.deepEqual(except, ["B"]);
    });

    it("socketsJoin and disconnectSockets from the emitter", async () => {
      await joinRoom("B", "em-join-src");
      emitter.in("em-join-src").socketsJoin("em-joined");
      await h.sleep(200);
      const got = await receivers("after-emitter-join", { ok: true }, async () =>
        emitter.to("em-joined").emit("after-emitter-join", { ok: true }),
      );
      assert.deepEqual(got, ["B"]);

      const { socket } = pool.open(servers.A.url, "/", { transports: ["websocket"] });
      await h.waitFor(socket, "connect");
      await socket.timeout(5000).emitWithAck("join", "em-kick");
      const gone = h.waitFor(socket, "disconnect");
      emitter.in("em-kick").disconnectSockets();
      assert.equal((await gone)[0], "io server disconnect");
    });
  });

}

module.exports = { clusterSuite };
