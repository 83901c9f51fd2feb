// The chat app's own tests, with npm socket.io-client: they run unchanged whichever server
// package app.js requires.
"use strict";

const { describe, it, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { io } = require("socket.io-client");
const { createChat } = require("../app");

const WAIT_MS = 3000;

function next(socket, event) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event}`)), WAIT_MS);
    socket.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

describe("the Express chat app", () => {
  let chat;
  let url;
  const clients = [];

  async function join(nickname, room, transports = ["websocket"]) {
    const socket = io(url, { auth: { nickname }, transports, forceNew: true, reconnection: false });
    clients.push(socket);
    const [welcome] = await next(socket, "welcome");
    assert.equal(welcome.nickname, nickname);
    const joined = room ? await socket.timeout(WAIT_MS).emitWithAck("join", room) : null;
    return { socket, joined };
  }

  before(async () => {
    chat = createChat();
    await new Promise((resolve) => chat.httpServer.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${chat.httpServer.address().port}`;
  });

  after(async () => {
    for (const socket of clients) socket.close();
    await new Promise((resolve) => chat.io.close(() => resolve()));
  });

  it("Express routes answer on the same port", async () => {
    const health = await fetch(`${url}/health`);
    assert.equal(health.status, 200);
    assert.equal((await health.json()).ok, true);
    assert.equal((await fetch(`${url}/nope`)).status, 404);
  });

  it("refuses clients without a nickname, with the middleware's message and data", async () => {
    const socket = io(url, { transports: ["polling"], forceNew: true, reconnection: false });
    clients.push(socket);
    const [err] = await next(socket, "connect_error");
    assert.equal(err.message, "nickname required");
    assert.deepEqual(err.data, { hint: "connect with auth: { nickname }" });
  });

  for (const transports of [["polling"], ["websocket"], ["polling", "websocket"]]) {
    it(`rooms, messages, acks and history [${transports.join("+")}]`, async () => {
      const room = `lobby-${transports.join("-")}`;
      const ann = await join("ann", room, transports);
      assert.deepEqual(ann.joined, { room, members: ["ann"], history: [] });
      const bobJoins = next(ann.socket, "joined");
      const bob = await join("bob", room, transports);
      assert.deepEqual(bob.joined.members, ["ann", "bob"]);
      assert.deepEqual((await bobJoins)[0], { room, nickname: "bob" });

      const toBob = next(bob.socket, "message");
      const toAnn = next(ann.socket, "message");
      assert.deepEqual(await ann.socket.timeout(WAIT_MS).emitWithAck("message", "hello"), { ok: true });
      for (const [message] of [await toBob, await toAnn]) {
        assert.equal(message.from, "ann");
        assert.equal(message.text, "hello");
      }
      const carol = await join("carol", room, transports);
      assert.deepEqual(carol.joined.history.map((m) => m.text), ["hello"]);

      const left = next(ann.socket, "left");
      bob.socket.disconnect();
      assert.deepEqual((await left)[0], { room, nickname: "bob" });
      ann.socket.close();
      carol.socket.close();
    });
  }

  it("an HTTP route pushes to a room and lists its members", async () => {
    const dan = await join("dan", "news");
    const eve = await join("eve", "news");
    const heard = next(eve.socket, "announcement");
    const response = await fetch(`${url}/rooms/news/announce`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: "extra!" }),
    });
    assert.equal(response.status, 202);
    assert.deepEqual((await heard)[0], { room: "news", text: "extra!" });
    assert.deepEqual(await (await fetch(`${url}/rooms/news/members`)).json(), ["dan", "eve"]);
    dan.socket.close();
    eve.socket.close();
  });

  it("whispers go to one user and come back with their answer", async () => {
    const fay = await join("fay", "quiet");
    const gus = await join("gus", "quiet");
    gus.socket.on("whisper", ({ from, text }, reply) => reply(`${from} said ${text}`));
    const answer = await fay.socket.timeout(WAIT_MS).emitWithAck("whisper", "gus", "psst");
    assert.deepEqual(answer, { delivered: true, reply: "fay said psst" });
    assert.deepEqual(await fay.socket.timeout(WAIT_MS).emitWithAck("whisper", "nobody", "x"), { error: "no such user" });
    fay.socket.close();
    gus.socket.close();
  });
});
