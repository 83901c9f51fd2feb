// socket.data as socket.io has it: `{}` until the app sets something (made on first use in
// the binding), and every top-level change visible to fetchSockets.
"use strict";

const { describe, it, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { Server } = require("..");
const { io, waitFor } = require("../support/testing");

describe("socket.data", () => {
  let server;
  let client;
  let socket;

  before(async () => {
    server = new Server();
    server.listen(0, { host: "127.0.0.1" });
    const url = `http://127.0.0.1:${await server.listening}`;
    const connected = waitFor(server, "connection");
    client = io(url, { forceNew: true, reconnection: false, transports: ["websocket"] });
    [socket] = await connected;
  });

  after(() => {
    client.close();
    server.close();
  });

  const remoteData = async () => {
    const [found] = await server.in(socket.id).fetchSockets();
    return found.data;
  };

  it("is {} for a socket the app never touched, in fetchSockets too", async () => {
    assert.deepEqual(await remoteData(), {});
    assert.deepEqual(socket.data, {});
  });

  it("follows assignments, new keys and deletions", async () => {
    socket.data.user = "ada";
    assert.deepEqual(await remoteData(), { user: "ada" });
    socket.data = { room: "lobby" };
    assert.deepEqual(await remoteData(), { room: "lobby" });
    assert.deepEqual(socket.data, { room: "lobby" });
    delete socket.data.room;
    assert.deepEqual(await remoteData(), {});
  });
});
