// polysocket for Node: socket.io's server API over polysocket's Rust engine.
// `require("socket.io")` → `require("polysocket")` for the parts listed in README.md.
"use strict";

const { EventEmitter } = require("node:events");
const path = require("node:path");

const native = require(process.env.POLYSOCKET_NODE_ADDON || path.join(__dirname, "polysocket.node"));

/** Events a socket never sends to a client (socket.io's reserved names). */
const RESERVED = new Set(["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"]);

/** `host` as a socket address needs it: IPv6 in brackets. */
function bracket(host) {
  return host && host.includes(":") ? `[${host}]` : host;
}

/** Splits `args` into JSON with socket.io placeholders and the binary attachments. */
function encode(args) {
  const attachments = [];
  const walk = (value) => {
    if (Buffer.isBuffer(value)) {
      attachments.push(value);
      return { _placeholder: true, num: attachments.length - 1 };
    }
    if (value instanceof ArrayBuffer) return walk(Buffer.from(value));
    if (ArrayBuffer.isView(value)) return walk(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    if (Array.isArray(value)) return value.map(walk);
    if (value && typeof value === "object") {
      if (typeof value.toJSON === "function") return walk(value.toJSON());
      const out = {};
      for (const [key, item] of Object.entries(value)) {
        if (item !== undefined && typeof item !== "function") out[key] = walk(item);
      }
      return out;
    }
    return value;
  };
  return { json: JSON.stringify(args.map(walk)), attachments };
}

/** The arguments of an encoded payload, placeholders replaced by their Buffers. */
function decode({ json, attachments }) {
  const walk = (value) => {
    if (Array.isArray(value)) return value.map(walk);
    if (value && typeof value === "object") {
      if (value._placeholder === true && typeof value.num === "number") return attachments[value.num];
      for (const key of Object.keys(value)) value[key] = walk(value[key]);
    }
    return value;
  };
  return walk(JSON.parse(json));
}

function checkEvent(event) {
  if (RESERVED.has(event)) throw new Error(`"${String(event)}" is a reserved event name`);
}

/** Selects sockets by rooms and flags, then emits to them (socket.io's BroadcastOperator). */
class BroadcastOperator {
  constructor(nsp, rooms = new Set(), exceptRooms = new Set(), flags = {}) {
    this.nsp = nsp;
    this.rooms = rooms;
    this.exceptRooms = exceptRooms;
    this.flags = flags;
  }

  _with(change) {
    const next = new BroadcastOperator(this.nsp, new Set(this.rooms), new Set(this.exceptRooms), { ...this.flags });
    change(next);
    return next;
  }

  to(room) {
    return this._with((op) => [].concat(room).forEach((r) => op.rooms.add(String(r))));
  }

  in(room) {
    return this.to(room);
  }

  except(room) {
    return this._with((op) => [].concat(room).forEach((r) => op.exceptRooms.add(String(r))));
  }

  get volatile() {
    return this._with((op) => (op.flags.volatile = true));
  }

  get local() {
    return this._with((op) => (op.flags.local = true));
  }

  compress(compress) {
    return this._with((op) => (op.flags.compress = compress));
  }

  timeout(ms) {
    return this._with((op) => (op.flags.timeout = ms));
  }

  _selection() {
    return {
      nsp: this.nsp.name,
      rooms: [...this.rooms],
      except: [...this.exceptRooms],
      local: Boolean(this.flags.local),
      timeoutMs: this.flags.timeout,
    };
  }

  emit(event, ...args) {
    checkEvent(event);
    if (typeof args[args.length - 1] === "function") {
      const ack = args.pop();
      this.emitWithAck(event, ...args).then(
        (responses) => ack(null, responses),
        (error) => ack(error, error.responses),
      );
      return true;
    }
    this.nsp.server._native.broadcast(
      this.nsp.name,
      [...this.rooms],
      [...this.exceptRooms],
      event,
      encode(args),
      Boolean(this.flags.volatile),
      Boolean(this.flags.local),
      this.flags.compress,
    );
    return true;
  }

  /**
   * Emits and resolves with one response per client (the first argument of its ack); rejects
   * with `operation has timed out` (and `err.responses`) when some client did not answer.
   */
  async emitWithAck(event, ...args) {
    checkEvent(event);
    const { responses, timedOut } = await this.nsp.server._native.emitWithAck(this._selection(), event, encode(args));
    const values = responses.map((r) => decode(r.args)[0]);
    if (timedOut) {
      const error = new Error("operation has timed out");
      error.responses = values;
      throw error;
    }
    return values;
  }

  /** Snapshots of the selected sockets of every server, with handles that reach them. */
  async fetchSockets() {
    const found = await this.nsp.server._native.fetchSockets(this._selection());
    return found.map((s) => new RemoteSocket(this.nsp, s));
  }

  socketsJoin(rooms) {
    this.nsp.server._native.socketsJoin(this._selection(), [].concat(rooms).map(String));
  }

  socketsLeave(rooms) {
    this.nsp.server._native.socketsLeave(this._selection(), [].concat(rooms).map(String));
  }

  disconnectSockets(close = false) {
    this.nsp.server._native.disconnectSockets(this._selection(), Boolean(close));
  }

  /** The ids of the selected sockets of this server (socket.io's `allSockets()`). */
  async allSockets() {
    return new Set(this.nsp.server._native.socketIds(this.nsp.name, [...this.rooms]));
  }
}

/** A socket as `fetchSockets` returns it (socket.io's `RemoteSocket`). */
class RemoteSocket {
  constructor(nsp, { id, handshakeJson, rooms, dataJson }) {
    this.id = id;
    this.handshake = JSON.parse(handshakeJson);
    this.rooms = new Set(rooms);
    this.data = JSON.parse(dataJson);
    this._operator = new BroadcastOperator(nsp).to(id);
  }

  emit(event, ...args) {
    return this._operator.emit(event, ...args);
  }

  join(room) {
    this._operator.socketsJoin(room);
  }

  leave(room) {
    this._operator.socketsLeave(room);
  }

  disconnect(close = false) {
    this._operator.disconnectSockets(close);
    return this;
  }
}

/** One client in one namespace (socket.io's `Socket`). */
class Socket extends EventEmitter {
  constructor(nsp, nativeSocket) {
    super();
    this.nsp = nsp;
    this.server = nsp.server;
    this._native = nativeSocket;
    this.id = nativeSocket.id;
    this._handshake = undefined;
    this.data = {};
  }

  /** Starts receiving the connected socket's events (after the middlewares admitted it). */
  _attach(nativeSocket) {
    this._native = nativeSocket;
    nativeSocket.onEvent((incoming) => this._onEvent(incoming));
    nativeSocket.onDisconnect((reason) => {
      this.nsp.sockets.delete(this.id);
      EventEmitter.prototype.emit.call(this, "disconnect", reason);
    });
    this._syncData();
  }

  /** `socket.data`; top-level changes reach the native socket (and `fetchSockets`). */
  get data() {
    return this._data;
  }

  set data(value) {
    const sync = () => this._syncData();
    this._data = new Proxy(value ?? {}, {
      set(target, key, item) {
        target[key] = item;
        sync();
        return true;
      },
      deleteProperty(target, key) {
        delete target[key];
        sync();
        return true;
      },
    });
    this._syncData();
  }

  _syncData() {
    if (this._native) this._native.setData(JSON.stringify(this._data ?? {}) ?? "null");
  }

  _onEvent({ event, args, ackId }) {
    const values = decode(args);
    if (ackId !== null && ackId !== undefined) {
      let answered = false;
      values.push((...answer) => {
        if (answered) return;
        answered = true;
        this._native.ack(ackId, encode(answer));
      });
    }
    for (const listener of [...(this._anyListeners ?? [])]) listener(event, ...values);
    const packet = [event, ...values];
    const middlewares = this._packetMiddlewares ?? [];
    const run = (i) => {
      if (i === middlewares.length) {
        EventEmitter.prototype.emit.call(this, packet[0], ...packet.slice(1));
        return;
      }
      let called = false;
      const next = (err) => {
        if (called) return;
        called = true;
        if (err) EventEmitter.prototype.emit.call(this, "error", err);
        else run(i + 1);
      };
      try {
        middlewares[i](packet, next);
      } catch (err) {
        next(err);
      }
    };
    run(0);
  }

  /** Adds a packet middleware `([event, ...args], next) => ..`; `next(err)` drops the
   * packet and emits `error` on the socket. */
  use(fn) {
    (this._packetMiddlewares ??= []).push(fn);
    return this;
  }

  /** Listens to every incoming event: `(event, ...args) => ..`. */
  onAny(listener) {
    (this._anyListeners ??= []).push(listener);
    return this;
  }

  prependAny(listener) {
    (this._anyListeners ??= []).unshift(listener);
    return this;
  }

  offAny(listener) {
    this._anyListeners = listener ? (this._anyListeners ?? []).filter((l) => l !== listener) : [];
    return this;
  }

  listenersAny() {
    return [...(this._anyListeners ?? [])];
  }

  /** Listens to every event emitted to this client: `(event, ...args) => ..`. */
  onAnyOutgoing(listener) {
    (this._anyOutgoing ??= []).push(listener);
    return this;
  }

  prependAnyOutgoing(listener) {
    (this._anyOutgoing ??= []).unshift(listener);
    return this;
  }

  offAnyOutgoing(listener) {
    this._anyOutgoing = listener ? (this._anyOutgoing ?? []).filter((l) => l !== listener) : [];
    return this;
  }

  listenersAnyOutgoing() {
    return [...(this._anyOutgoing ?? [])];
  }

  _notifyOutgoing(event, args) {
    for (const listener of [...(this._anyOutgoing ?? [])]) listener(event, ...args);
  }

  get connected() {
    return this._native.connected;
  }

  get disconnected() {
    return !this._native.connected;
  }

  get recovered() {
    return this._native.recovered;
  }

  get handshake() {
    if (!this._handshake) this._handshake = JSON.parse(this._native.handshakeJson());
    return this._handshake;
  }

  get rooms() {
    return new Set(this._native.rooms());
  }

  /** Emits to this client; a function as the last argument receives its acknowledgement. */
  emit(event, ...args) {
    checkEvent(event);
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : undefined;
    this._notifyOutgoing(event, args);
    if (!ack) {
      this._native.emit(event, encode(args));
      return true;
    }
    const timeout = this._timeout;
    this._native
      .emitWithAck(event, encode(args), timeout ?? 2 ** 31 - 1)
      .then((answer) => (timeout === undefined ? ack(...decode(answer)) : ack(null, ...decode(answer))))
      .catch((error) => {
        if (timeout !== undefined) ack(error);
      });
    return true;
  }

  /** Emits and resolves with the client's first acknowledgement argument. */
  emitWithAck(event, ...args) {
    checkEvent(event);
    this._notifyOutgoing(event, args);
    const timeout = this._timeout;
    return this._native
      .emitWithAck(event, encode(args), timeout ?? 2 ** 31 - 1)
      .then((answer) => decode(answer)[0]);
  }

  /** socket.io's `socket.timeout(ms)`: acknowledgements get an error first. */
  timeout(ms) {
    const scoped = Object.create(this);
    scoped._timeout = ms;
    return scoped;
  }

  send(...args) {
    return this.emit("message", ...args);
  }

  join(rooms) {
    for (const room of [].concat(rooms)) this._native.join(String(room));
  }

  leave(room) {
    this._native.leave(String(room));
  }

  to(room) {
    return this.broadcast.to(room);
  }

  in(room) {
    return this.to(room);
  }

  except(room) {
    return this.broadcast.except(room);
  }

  get broadcast() {
    return new BroadcastOperator(this.nsp, new Set(), new Set([this.id]));
  }

  disconnect(close = false) {
    this._native.disconnect(Boolean(close));
    return this;
  }
}

/** A namespace (socket.io's `Namespace`). */
class Namespace extends EventEmitter {
  constructor(server, name) {
    super();
    this.server = server;
    this.name = name;
    this.sockets = new Map();
    this._middlewares = [];
    /** Sockets between the middlewares and their connection, by id. */
    this._admitting = new Map();
    server._native.onConnection(name, (nativeSocket) => {
      const socket = this._admitting.get(nativeSocket.id) ?? new Socket(this, nativeSocket);
      this._admitting.delete(nativeSocket.id);
      socket._attach(nativeSocket);
      this.sockets.set(socket.id, socket);
      EventEmitter.prototype.emit.call(this, "connection", socket);
      EventEmitter.prototype.emit.call(this, "connect", socket);
    });
  }

  /** Adds a middleware `(socket, next) => ..`; `next(err)` refuses the connection. */
  use(fn) {
    if (this._middlewares.length === 0) {
      this.server._native.useMiddleware(this.name, (nativeSocket) => this._admit(nativeSocket));
    }
    this._middlewares.push(fn);
    return this;
  }

  _admit(nativeSocket) {
    const call = nativeSocket.pendingCall;
    const socket = new Socket(this, nativeSocket);
    this._admitting.set(socket.id, socket);
    const done = (err) => {
      if (err) {
        this._admitting.delete(socket.id);
        const data = err.data === undefined ? null : JSON.stringify(err.data);
        this.server._native.middlewareDone(call, String(err.message ?? err), data);
      } else {
        this.server._native.middlewareDone(call, null, null);
      }
    };
    const run = (i) => {
      if (i === this._middlewares.length) return done(null);
      let called = false;
      const next = (err) => {
        if (called) return;
        called = true;
        if (err) done(err);
        else run(i + 1);
      };
      try {
        this._middlewares[i](socket, next);
      } catch (err) {
        next(err);
      }
    };
    run(0);
  }

  send(...args) {
    return this.emit("message", ...args);
  }
}

/** socket.io's `Server`: `new Server()`, `new Server(port, opts)`, `new Server(opts)`. */
class Server extends EventEmitter {
  constructor(srv, opts = {}) {
    super();
    if (srv && typeof srv === "object" && !(typeof srv.listen === "function")) {
      opts = srv;
      srv = undefined;
    }
    this.opts = opts;
    this._native = new native.NativeServer(JSON.stringify(opts));
    this._nsps = new Map();
    this.sockets = this.of("/");
    const nativeServer = this._native;
    this.engine = Object.defineProperty({}, "clientsCount", { get: () => nativeServer.clientsCount() });
    if (srv !== undefined) this.attach(srv, opts);
  }

  /**
   * Serves Socket.IO from the app's own `http.Server` (socket.io's `io.attach(srv)`):
   * requests under `path` go to the Rust engine, every other request to the app's handlers;
   * WebSocket upgrades under `path` hand their TCP connection over to the engine.
   */
  attach(srv, opts = {}) {
    if (typeof srv === "number" || typeof srv === "string") return this.listen(srv, opts);
    const path = (this.opts.path || "/socket.io").replace(/\/$/, "") + "/";
    const ours = (url) => url === path.slice(0, -1) || url.startsWith(path) || url.startsWith(path.slice(0, -1) + "?");
    const appHandlers = srv.listeners("request").slice(0);
    srv.removeAllListeners("request");
    srv.on("request", (req, res) => {
      if (ours(req.url)) return this._handleHttp(req, res);
      for (const handler of appHandlers) handler.call(srv, req, res);
    });
    srv.on("upgrade", (req, socket, head) => {
      if (ours(req.url)) return this._adoptUpgrade(req, socket, head);
      if (srv.listeners("upgrade").length === 1) socket.destroy();
    });
    this.httpServer = srv;
    return this;
  }

  _handleHttp(req, res) {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      const headers = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        headers.push({ name: req.rawHeaders[i], value: req.rawHeaders[i + 1] });
      }
      const peer = req.socket.remoteAddress ? `${bracket(req.socket.remoteAddress)}:${req.socket.remotePort}` : null;
      this._native.handleRequest(req.method, req.url, headers, Buffer.concat(chunks), peer).then(
        ({ status, headers: answerHeaders, body }) => {
          const out = {};
          for (const { name, value } of answerHeaders) out[name] = out[name] === undefined ? value : [].concat(out[name], value);
          res.writeHead(status, out);
          res.end(body);
        },
        (error) => {
          res.writeHead(500);
          res.end(String(error.message ?? error));
        },
      );
    });
  }

  _adoptUpgrade(req, socket, head) {
    const fd = socket._handle && socket._handle.fd;
    if (typeof fd !== "number" || fd < 0) {
      socket.destroy();
      return;
    }
    let raw = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
    for (let i = 0; i < req.rawHeaders.length; i += 2) raw += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
    const bytes = Buffer.concat([Buffer.from(raw + "\r\n", "latin1"), head]);
    const peer = `${bracket(socket.remoteAddress)}:${socket.remotePort}`;
    try {
      this._native.adoptConnection(fd, bytes, peer);
    } finally {
      // The engine holds its own descriptor for the connection now.
      socket.destroy();
    }
  }

  of(name) {
    const nsp = name.startsWith("/") ? name : `/${name}`;
    if (!this._nsps.has(nsp)) this._nsps.set(nsp, new Namespace(this, nsp));
    return this._nsps.get(nsp);
  }

  /** Listens on `port` (on every interface); `listening` resolves with the bound port. */
  listen(port, opts = {}) {
    this.listening = this._native.listen(Number(port) || 0, opts.host);
    this.listening.catch((error) => EventEmitter.prototype.emit.call(this, "error", error));
    return this;
  }

  on(event, listener) {
    if (event === "connection" || event === "connect") {
      this.sockets.on(event, listener);
      return this;
    }
    return super.on(event, listener);
  }

  once(event, listener) {
    if (event === "connection" || event === "connect") {
      this.sockets.once(event, listener);
      return this;
    }
    return super.once(event, listener);
  }

  off(event, listener) {
    if (event === "connection" || event === "connect") {
      this.sockets.off(event, listener);
      return this;
    }
    return super.off(event, listener);
  }

  use(fn) {
    this.sockets.use(fn);
    return this;
  }

  /** Closes every connection (`server shutting down`) and stops listening. */
  close(fn) {
    const closed = this._native.close();
    if (typeof fn === "function") closed.then(() => fn(), fn);
    return closed;
  }
}

// Namespaces emit and act through a fresh operator on all their sockets, and the server
// through its main namespace (socket.io's `io.emit(..)` is `io.of("/").emit(..)`).
const OPERATOR_METHODS = [
  "to", "in", "except", "compress", "timeout", "emit", "emitWithAck",
  "fetchSockets", "socketsJoin", "socketsLeave", "disconnectSockets", "allSockets",
];
const OPERATOR_FLAGS = ["volatile", "local"];
for (const method of OPERATOR_METHODS) {
  Namespace.prototype[method] = function (...args) {
    return new BroadcastOperator(this)[method](...args);
  };
  Server.prototype[method] = function (...args) {
    return this.sockets[method](...args);
  };
}
for (const flag of OPERATOR_FLAGS) {
  Object.defineProperty(Namespace.prototype, flag, {
    get() {
      return new BroadcastOperator(this)[flag];
    },
  });
  Object.defineProperty(Server.prototype, flag, {
    get() {
      return this.sockets[flag];
    },
  });
}
Server.prototype.send = function (...args) {
  return this.sockets.send(...args);
};

module.exports = { Server, Namespace, Socket, BroadcastOperator, RemoteSocket };
module.exports.default = Server;
