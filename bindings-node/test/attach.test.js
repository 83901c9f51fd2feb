// `new Server(httpServer)`: polysocket shares the app's own Node http.Server (one port, the
// app's routes untouched), over every transport, driven by npm socket.io-client 4.8.
"use strict";

const { describe, it, before, after } = require("node:test");
const assert = require("node:assert/strict");
const http = require("node:http");
const { Server } = require("..");
const { io, WAIT_MS, waitFor } = require("../support/testing");

describe("attached to the app's http.Server", () => {
  let httpServer;
  let server;
  let url;
  const clients = [];

  before(async () => {
    httpServer = http.createServer((req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(`app: ${req.method} ${req.url}`);
    });
    server = new Server(httpServer);
    server.on("connection", (socket) => {
      socket.emit("welcome", socket.id);
      socket.on("echo", (payload, ack) => ack(payload));
    });
    await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${httpServer.address().port}`;
  });

  after(async () => {
    for (const c of clients) c.close();
    await server.close();
    await new Promise((resolve) => httpServer.close(resolve));
  });

  it("the app's own routes keep working on the same port", async () => {
    const response = await fetch(`${url}/hello?x=1`);
    assert.equal(await response.text(), "app: GET /hello?x=1");
  });

  for (const transports of [["websocket"], ["polling"], ["polling", "websocket"]]) {
    it(`socket.io-client connects and talks [${transports.join("+")}]`, async () => {
      const client = io(url, { forceNew: true, reconnection: false, transports });
      clients.push(client);
      const [id] = await waitFor(client, "welcome");
      assert.equal(id, client.id);
      const blob = Buffer.from([1, 2, 3]);
      const answer = await client.timeout(WAIT_MS).emitWithAck("echo", { blob, text: "é" });
      assert.ok(Buffer.from(answer.blob).equals(blob));
      assert.equal(answer.text, "é");
      if (transports.length === 2) {
        if (client.io.engine.transport.name !== "websocket") await waitFor(client.io.engine, "upgrade");
        assert.equal(client.io.engine.transport.name, "websocket");
        assert.equal((await client.timeout(WAIT_MS).emitWithAck("echo", "after upgrade")), "after upgrade");
      }
      client.close();
    });
  }
});
