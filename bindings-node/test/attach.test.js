// `new Server(httpServer)`: polysocket shares the app's own Node http.Server (one port, the
// app's routes untouched), over every transport, driven by npm socket.io-client 4.8.
"use strict";

const { describe, it, before, after } = require("node:test");
const assert = require("node:assert/strict");
const http = require("node:http");
const { Server } = require("..");
const { io, WAIT_MS, waitFor, interopModule } = require("../support/testing");

/** Listens on a free port of 127.0.0.1; resolves with the base URL. */
async function listenLocal(httpServer) {
  await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${httpServer.address().port}`;
}

/** socket.io-client connections without reconnection, all closed by `closeAll`. */
function clientPool() {
  const clients = [];
  return {
    open(url, opts) {
      const client = io(url, { forceNew: true, reconnection: false, ...opts });
      clients.push(client);
      return client;
    },
    closeAll() {
      for (const client of clients) client.close();
    },
  };
}

describe("attached to the app's http.Server", () => {
  let httpServer;
  let server;
  let url;
  const clients = clientPool();

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
    url = await listenLocal(httpServer);
  });

  after(async () => {
    clients.closeAll();
    await server.close();
    await new Promise((resolve) => httpServer.close(resolve));
  });

  it("the app's own routes keep working on the same port", async () => {
    const response = await fetch(`${url}/hello?x=1`);
    assert.equal(await response.text(), "app: GET /hello?x=1");
  });

  for (const transports of [["websocket"], ["polling"], ["polling", "websocket"]]) {
    it(`socket.io-client connects and talks [${transports.join("+")}]`, async () => {
      const client = clients.open(url, { transports });
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

describe("io.engine.use: Express-style middlewares on the engine's requests", () => {
  let httpServer;
  let server;
  let url;
  const clients = clientPool();
  const seen = new WeakSet(); // the requests the middleware saw
  const refusals = [];

  before(async () => {
    httpServer = http.createServer((req, res) => res.end("app"));
    server = new Server(httpServer);
    // A session-like middleware (as express-session): it decorates the request, and
    // socket.request must be that very object.
    server.engine.use((req, res, next) => {
      seen.add(req);
      if (req.headers["x-user"] === "intruder") return next(new Error("go away"));
      req.session = { user: req.headers["x-user"] ?? null };
      next();
    });
    server.engine.on("connection_error", (error) => refusals.push({ code: error.code, message: error.message, context: error.context }));
    server.on("connection", (socket) => {
      socket.emit("session", {
        user: socket.request.session?.user ?? null,
        same: seen.has(socket.request),
        tokenHidden: Object.keys(socket.handshake.headers).every((name) => !name.startsWith("x-polysocket")),
      });
    });
    url = await listenLocal(httpServer);
  });

  after(async () => {
    clients.closeAll();
    await server.close();
  });

  for (const transports of [["websocket"], ["polling"], ["polling", "websocket"]]) {
    it(`socket.request is the handshake's IncomingMessage, as the middleware left it [${transports.join("+")}]`, async () => {
      const client = clients.open(url, { transports, extraHeaders: { "x-user": "alice" } });
      const [session] = await waitFor(client, "session");
      assert.deepEqual(session, { user: "alice", same: true, tokenHidden: true });
    });
  }

  it("a client cannot pick another handshake's request by sending polysocket's header", async () => {
    const client = clients.open(url, { transports: ["polling"], extraHeaders: { "x-user": "bob", "x-polysocket-handshake": "forged" } });
    const [session] = await waitFor(client, "session");
    assert.deepEqual(session, { user: "bob", same: true, tokenHidden: true });
  });

  it("next(err) refuses the request: 400, connection_error with MIDDLEWARE_FAILURE", async () => {
    const response = await fetch(`${url}/socket.io/?EIO=4&transport=polling`, { headers: { "x-user": "intruder" } });
    assert.equal(response.status, 400);
    assert.deepEqual(await response.json(), { code: 3, message: "Bad request" });
    assert.deepEqual(refusals.at(-1), { code: 3, message: "Bad request", context: { name: "MIDDLEWARE_FAILURE" } });
    const client = clients.open(url, { transports: ["websocket"], extraHeaders: { "x-user": "intruder" } });
    await waitFor(client, "connect_error");
  });

  it("needs the server attached: io.listen(port) refuses engine middlewares", () => {
    const standalone = new Server();
    standalone.engine.use((req, res, next) => next());
    assert.throws(() => standalone.listen(0), /needs the server attached to a Node http.Server/);
  });
});

describe("with express-session, as socket.io's docs wire it", () => {
  let httpServer;
  let server;
  let url;
  const clients = clientPool();

  before(async () => {
    const session = interopModule("node_modules/express-session");
    const sessionMiddleware = session({ secret: "polysocket-test", resave: false, saveUninitialized: false });
    httpServer = http.createServer((req, res) =>
      sessionMiddleware(req, res, () => {
        if (req.url === "/login") req.session.user = "carol";
        res.end("ok");
      }),
    );
    server = new Server(httpServer);
    server.engine.use(sessionMiddleware);
    server.on("connection", (socket) => {
      socket.emit("who", socket.request.session.user ?? null);
      // socket.io's docs: reload the session, change it, save it.
      socket.on("rename", (name, ack) => {
        socket.request.session.reload(() => {
          socket.request.session.user = name;
          socket.request.session.save(() => ack("saved"));
        });
      });
    });
    url = await listenLocal(httpServer);
  });

  after(async () => {
    clients.closeAll();
    await server.close();
  });

  for (const transports of [["websocket"], ["polling"], ["polling", "websocket"]]) {
    it(`the session of the cookie reaches socket.request.session [${transports.join("+")}]`, async () => {
      const login = await fetch(`${url}/login`);
      const cookie = login.headers.get("set-cookie").split(";")[0];
      const client = clients.open(url, { transports, extraHeaders: { cookie } });
      assert.deepEqual(await waitFor(client, "who"), ["carol"]);
      assert.equal(await client.timeout(WAIT_MS).emitWithAck("rename", "dave"), "saved");
      // The next connection with the same cookie sees what the socket saved.
      const again = clients.open(url, { transports, extraHeaders: { cookie } });
      assert.deepEqual(await waitFor(again, "who"), ["dave"]);
    });
  }

  it("without the cookie there is a fresh session and no user", async () => {
    const client = clients.open(url, { transports: ["websocket"] });
    assert.deepEqual(await waitFor(client, "who"), [null]);
  });
});

describe("io.engine's initial_headers and headers events", () => {
  let httpServer;
  let server;
  let url;
  const initial = [];

  before(async () => {
    httpServer = http.createServer();
    server = new Server(httpServer);
    server.engine.use((req, res, next) => {
      res.setHeader("x-from-middleware", "yes");
      next();
    });
    server.engine.on("initial_headers", (headers, req) => {
      headers["set-cookie"] = ["uid=1234; SameSite=Strict", "theme=dark"];
      initial.push(new URL(req.url, "http://x").searchParams.get("transport"));
    });
    server.engine.on("headers", (headers) => {
      headers["x-every"] = "1";
    });
    url = await listenLocal(httpServer);
  });

  after(() => {
    server.close();
    httpServer.close();
  });

  it("a polling handshake's answer gets both; later answers get `headers` only", async () => {
    const opened = await fetch(`${url}/socket.io/?EIO=4&transport=polling`);
    assert.equal(opened.status, 200);
    assert.deepEqual(opened.headers.getSetCookie(), ["uid=1234; SameSite=Strict", "theme=dark"]);
    assert.equal(opened.headers.get("x-every"), "1");
    assert.equal(opened.headers.get("x-from-middleware"), "yes");
    const { sid } = JSON.parse((await opened.text()).slice(1));
    const posted = await fetch(`${url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: "POST", body: "40" });
    assert.equal(posted.status, 200);
    assert.deepEqual(posted.headers.getSetCookie(), []);
    assert.equal(posted.headers.get("x-every"), "1");
    assert.deepEqual(initial, ["polling"]);
  });

  it("a WebSocket upgrade's 101 carries them, with what the middlewares set", async () => {
    const WebSocket = interopModule("node_modules/ws");
    const ws = new WebSocket(`${url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket`);
    const opened = new Promise((resolve) => ws.once("message", (data) => resolve(String(data))));
    const response = await new Promise((resolve, reject) => {
      ws.once("upgrade", resolve);
      ws.once("error", reject);
    });
    assert.deepEqual(response.headers["set-cookie"], ["uid=1234; SameSite=Strict", "theme=dark"]);
    assert.equal(response.headers["x-every"], "1");
    assert.equal(response.headers["x-from-middleware"], "yes");
    assert.match(await opened, /^0\{"sid"/);
    ws.close();
    assert.deepEqual(initial, ["polling", "websocket"]);
  });

  it("error answers get neither", async () => {
    const refused = await fetch(`${url}/socket.io/?EIO=4&transport=polling&sid=nope`);
    assert.equal(refused.status, 400);
    assert.equal(refused.headers.get("x-every"), null);
  });

  it("standalone, the engine's answers go through the listeners too", async () => {
    const standalone = new Server();
    const seen = [];
    standalone.engine.on("initial_headers", (headers, req) => {
      headers["set-cookie"] = "uid=42";
      seen.push(`initial ${req.method}`);
    });
    const every = (headers) => {
      headers["x-every"] = "1";
    };
    standalone.engine.on("headers", every);
    standalone.listen(0, { host: "127.0.0.1" });
    const base = `http://127.0.0.1:${await standalone.listening}`;
    try {
      const opened = await fetch(`${base}/socket.io/?EIO=4&transport=polling`);
      assert.equal(opened.headers.get("set-cookie"), "uid=42");
      assert.equal(opened.headers.get("x-every"), "1");
      const { sid } = JSON.parse((await opened.text()).slice(1));
      const posted = await fetch(`${base}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: "POST", body: "40" });
      assert.equal(posted.headers.get("set-cookie"), null);
      assert.equal(posted.headers.get("x-every"), "1");

      const WebSocket = interopModule("node_modules/ws");
      const ws = new WebSocket(`${base.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket`);
      const response = await new Promise((resolve, reject) => {
        ws.once("upgrade", resolve);
        ws.once("error", reject);
      });
      assert.equal(response.headers["set-cookie"][0], "uid=42");
      assert.equal(response.headers["x-every"], "1");
      ws.close();
      assert.deepEqual(seen, ["initial GET", "initial GET"]);

      // Without listeners the answers are left alone.
      standalone.engine.off("headers", every);
      standalone.engine.removeAllListeners("initial_headers");
      const plain = await fetch(`${base}/socket.io/?EIO=4&transport=polling`);
      assert.equal(plain.headers.get("x-every"), null);
      assert.equal(plain.headers.get("set-cookie"), null);
    } finally {
      standalone.close();
    }
  });
});
