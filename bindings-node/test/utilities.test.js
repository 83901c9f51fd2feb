// Middlewares, server utilities and acknowledgements from many clients, through
// polysocket's Node binding, driven by npm socket.io-client 4.8.
"use strict";

const { describe, it, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { Server } = require("..");
const { io, WAIT_MS, waitFor } = require("../support/testing");

describe("middlewares, utilities and acks from many", () => {
  let server;
  let url;
  const clients = [];
  const connect = (opts = {}) => {
    const socket = io(url, { forceNew: true, reconnection: false, transports: ["websocket"], ...opts });
    clients.push(socket);
    return socket;
  };

  before(async () => {
    server = new Server();
    server.listen(0, { host: "127.0.0.1" });
    url = `http://127.0.0.1:${await server.listening}`;
    server.use((socket, next) => {
      if (socket.handshake.auth.token === "bad") {
        const err = new Error("unauthorized");
        err.data = { code: 401 };
        return next(err);
      }
      socket.data.user = socket.handshake.auth.user ?? "anonymous";
      next();
    });
    server.use(async (socket, next) => {
      await new Promise((r) => setTimeout(r, 5));
      socket.join("members");
      next();
    });
    server.on("connection", (socket) => {
      socket.emit("welcome", { user: socket.data.user, rooms: [...socket.rooms].sort() });
    });
  });

  after(async () => {
    for (const c of clients) c.close();
    await server.close();
  });

  it("a refusing middleware gives connect_error with message and data", async () => {
    const client = connect({ auth: { token: "bad" } });
    const [err] = await waitFor(client, "connect_error");
    assert.equal(err.message, "unauthorized");
    assert.deepEqual(err.data, { code: 401 });
  });

  it("middlewares run in order, and what they set is there on connection", async () => {
    const client = connect({ auth: { user: "ada" } });
    const [welcome] = await waitFor(client, "welcome");
    assert.deepEqual(welcome, { user: "ada", rooms: [client.id, "members"].sort() });
  });

  it("fetchSockets, socketsJoin, socketsLeave and disconnectSockets", async () => {
    const a = connect({ auth: { user: "a" } });
    const b = connect({ auth: { user: "b" } });
    await Promise.all([waitFor(a, "welcome"), waitFor(b, "welcome")]);
    const found = await server.in("members").fetchSockets();
    const byId = Object.fromEntries(found.map((s) => [s.id, s]));
    assert.equal(byId[a.id].data.user, "a");
    assert.ok(byId[b.id].rooms.has("members"));
    assert.equal(typeof byId[a.id].handshake.issued, "number");

    server.in(a.id).socketsJoin("vip");
    const got = waitFor(a, "vip-news");
    let bGot = false;
    b.on("vip-news", () => (bGot = true));
    server.to("vip").emit("vip-news", 1);
    assert.deepEqual(await got, [1]);
    assert.equal(bGot, false);
    server.in(a.id).socketsLeave("vip");
    assert.deepEqual((await server.in("vip").fetchSockets()).map((s) => s.id), []);

    const gone = waitFor(b, "disconnect");
    byId[b.id].disconnect();
    assert.equal((await gone)[0], "io server disconnect");
    a.close();
  });

  it("catch-all listeners and packet middlewares on a socket", async () => {
    const seen = [];
    const outgoing = [];
    server.once("connection", (socket) => {
      socket.onAny((event, ...args) => seen.push(["any", event, args.filter((a) => typeof a !== "function")]));
      socket.prependAny((event) => seen.push(["prepend", event]));
      socket.onAnyOutgoing((event) => outgoing.push(event));
      socket.use(([event], next) => (event === "forbidden" ? next(new Error("forbidden event")) : next()));
      socket.on("error", (err) => socket.emit("middleware-error", err.message));
      socket.on("ping-me", (n, ack) => ack(n * 2));
      socket.on("forbidden", () => seen.push(["handler ran for forbidden"]));
    });
    const client = connect({ auth: { user: "c" } });
    await waitFor(client, "welcome");
    assert.equal(await client.timeout(WAIT_MS).emitWithAck("ping-me", 21), 42);
    const refused = waitFor(client, "middleware-error");
    client.emit("forbidden", 1);
    assert.deepEqual(await refused, ["forbidden event"]);
    assert.deepEqual(seen, [
      ["prepend", "ping-me"],
      ["any", "ping-me", [21]],
      ["prepend", "forbidden"],
      ["any", "forbidden", [1]],
    ]);
    assert.deepEqual(outgoing, ["middleware-error"]);
    client.close();
  });

  it("emitWithAck to many clients: every answer, or a timeout with the ones that came", async () => {
    const a = connect({ auth: { user: "a" } });
    const b = connect({ auth: { user: "b" } });
    await Promise.all([waitFor(a, "welcome"), waitFor(b, "welcome")]);
    a.on("question", (n, ack) => ack(n + 1));
    b.on("question", (n, ack) => ack(n + 2));
    const room = [a.id, b.id];
    const answers = await server.to(room).timeout(WAIT_MS).emitWithAck("question", 10);
    assert.deepEqual(answers.sort(), [11, 12]);

    b.off("question");
    b.on("question", () => {}); // never acknowledges
    const error = await server.to(room).timeout(200).emitWithAck("question", 1).catch((e) => e);
    assert.equal(error.message, "operation has timed out");
    assert.deepEqual(error.responses, [2]);
    a.close();
    b.close();
  });
});
