// polysocket for Node: socket.io's server API over polysocket's Rust engine.
// `require("socket.io")` → `require("polysocket")` for the parts listed in README.md.
"use strict";

const { EventEmitter } = require("node:events");

const native = require("./native");
const { encode, decode, restore } = require("./codec");

/** The kinds of `NativeServer.drainEvents` notices (see src/dispatch.rs). */
const OUTGOING = 1;
const ERROR = 2;
const DISCONNECT = 3;
const UPGRADE = 4;

/** The header that ties a handshake request, which Node's server saw, to the engine's
 * connection (its value is a random token); the app never sees it. */
const HANDSHAKE_HEADER = "x-polysocket-handshake";

/** The headers of a handshake without polysocket's own. */
function appHeaders(headers) {
  if (!headers || headers[HANDSHAKE_HEADER] === undefined) return headers;
  const { [HANDSHAKE_HEADER]: _token, ...rest } = headers;
  return rest;
}

/** The engine's `[{ name, value }]` headers as the app sees them: an object, without
 * polysocket's own. */
function headerObject(headers) {
  return appHeaders(Object.fromEntries(headers.map(({ name, value }) => [name, value])));
}

/** The engine's `{ name, value }` answer headers as `res.writeHead` takes them (a repeated
 * name, such as `set-cookie`, as an array). */
function responseHeaderObject(headers) {
  const out = {};
  for (const { name, value } of headers) out[name] = out[name] === undefined ? value : [].concat(out[name], value);
  return out;
}

/** A headers object (values may be arrays) as `{ name, value }` pairs for the engine. */
function headerPairs(headers) {
  const pairs = [];
  for (const [name, value] of Object.entries(headers)) {
    for (const item of [].concat(value)) pairs.push({ name, value: String(item) });
  }
  return pairs;
}

/** `req`'s headers as `[name, value]` pairs for the engine: a client's copy of polysocket's
 * header dropped, and `token` (if any) added as it. */
function forwardedHeaders(req, token) {
  const pairs = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i].toLowerCase() !== HANDSHAKE_HEADER) pairs.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
  }
  if (token !== undefined) pairs.push([HANDSHAKE_HEADER, token]);
  return pairs;
}

/** Why engine middlewares and the standalone engine do not mix. */
const STANDALONE_MIDDLEWARES =
  "polysocket: io.engine.use(..) needs the server attached to a Node http.Server (new Server(httpServer)), not io.listen(port)";

/** Whether a request to the engine opens a connection (its URL has no `sid`). */
function opensConnection(url) {
  return !/[?&]sid=/.test(url);
}

/** engine.io's body for a request a middleware refused (400). */
const BAD_REQUEST_BODY = JSON.stringify({ code: 3, message: "Bad request" });

/** Events a socket never sends to a client (socket.io's reserved names). */
const RESERVED = new Set(["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"]);

/** `host` as a socket address needs it: IPv6 in brackets. */
function bracket(host) {
  return host && host.includes(":") ? `[${host}]` : host;
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
    this.handshake.headers = appHeaders(this.handshake.headers);
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

/** The `Proxy` handler of `socket.data`: a top-level change is copied to the native socket. */
class DataWatcher {
  constructor(socket) {
    this.socket = socket;
  }

  set(target, key, item) {
    target[key] = item;
    this.socket._syncData();
    return true;
  }

  deleteProperty(target, key) {
    delete target[key];
    this.socket._syncData();
    return true;
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
    // `socket.data` is made on first use (most sockets of most apps never touch it).
    this._data = undefined;
  }

  /** Starts receiving the connected socket's events (after the middlewares admitted it). */
  _attach(nativeSocket) {
    this._native = nativeSocket;
    this.server._route(nativeSocket.key, this);
    nativeSocket.listen();
    if (this._data !== undefined) this._syncData();
    // With engine middlewares, the handshake's IncomingMessage is kept while a socket of its
    // connection lives (`socket.request`).
    if (this.server._handshakes && this._handshakeToken !== undefined) {
      this._claimed = true;
      this.server._claimHandshake(this._handshakeToken);
    }
  }

  /** One notice of the engine about this socket: a `[socket, kind, event, ackId, args,
   * rooms, binary]` array of `NativeServer.drainEvents`, whose batch's `attachments` its
   * placeholders index. */
  _onNotice(notice, attachments) {
    const kind = notice[1];
    if (kind !== DISCONNECT) {
      const args = notice[6] === 1 ? restore(notice[4], attachments) : notice[4];
      return this._onEvent(kind, notice[2], args, notice[3]);
    }
    const reason = notice[2];
    this.server._unroute(notice[0]);
    // What `disconnecting` listeners see: the rooms the socket was in.
    this._roomsBeforeLeaving = new Set(notice[5]);
    EventEmitter.prototype.emit.call(this, "disconnecting", reason);
    this._roomsBeforeLeaving = undefined;
    this.nsp._remove(this);
    EventEmitter.prototype.emit.call(this, "disconnect", reason);
    if (this._claimed) {
      this._claimed = false;
      this.server._releaseHandshake(this._handshakeToken);
    }
  }

  /** `socket.data` (`{}` at first; a recovered socket brings its data back); top-level
   * changes reach the native socket (and `fetchSockets`). */
  get data() {
    this._data ??= new Proxy(JSON.parse(this._native.dataJson()), new DataWatcher(this));
    return this._data;
  }

  set data(value) {
    this._data = new Proxy(value ?? {}, new DataWatcher(this));
    this._syncData();
  }

  _syncData() {
    if (this._native) this._native.setData(JSON.stringify(this._data ?? {}) ?? "null");
  }

  /** An event from the client or to it, an error, or an upgrade; `ackId` 0 when the client
   * wants no acknowledgement. */
  _onEvent(kind, event, values, ackId) {
    if (kind === UPGRADE) {
      this._conn?.emit("upgrade", { name: event });
      return;
    }
    if (kind === ERROR) {
      // socket.io's `_onerror`; without listeners, a bad packet must not crash the process.
      if (this.listenerCount("error") > 0) EventEmitter.prototype.emit.call(this, "error", new Error(event));
      return;
    }
    if (kind === OUTGOING) {
      for (const listener of [...(this._anyOutgoing ?? [])]) listener(event, ...values);
      return;
    }
    if (ackId !== 0) {
      let answered = false;
      values.push((...answer) => {
        if (answered) return;
        answered = true;
        const payload = encode(answer);
        if (payload.attachments.length === 0) this._native.ackJson(ackId, payload.json);
        else this._native.ack(ackId, payload);
      });
    }
    if (this._anyListeners === undefined && this._packetMiddlewares === undefined) {
      EventEmitter.prototype.emit.call(this, event, ...values);
      return;
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

  /** Listens to every event emitted to this client, broadcasts included: `(event, ...args) => ..`. */
  onAnyOutgoing(listener) {
    this._watchOutgoing().push(listener);
    return this;
  }

  prependAnyOutgoing(listener) {
    this._watchOutgoing().unshift(listener);
    return this;
  }

  /** The outgoing listeners, once the engine reports outgoing events. */
  _watchOutgoing() {
    if (!this._anyOutgoing) {
      this._anyOutgoing = [];
      this._native.watchOutgoing();
    }
    return this._anyOutgoing;
  }

  offAnyOutgoing(listener) {
    this._anyOutgoing = listener ? (this._anyOutgoing ?? []).filter((l) => l !== listener) : [];
    return this;
  }

  listenersAnyOutgoing() {
    return [...(this._anyOutgoing ?? [])];
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
    if (!this._handshake) {
      const handshake = JSON.parse(this._native.handshakeJson());
      this._token = handshake.headers[HANDSHAKE_HEADER];
      handshake.headers = appHeaders(handshake.headers);
      this._handshake = handshake;
    }
    return this._handshake;
  }

  /** The token of polysocket's handshake header (see `HANDSHAKE_HEADER`), if it had one. */
  get _handshakeToken() {
    return this.handshake && this._token;
  }

  /**
   * socket.io's `socket.request`, the handshake's HTTP request. Attached to a Node
   * `http.Server`, it is Node's `IncomingMessage` itself, as `io.engine.use` middlewares saw
   * it (`socket.request.session` with express-session). Otherwise an object built from the
   * handshake, with `headers`, `url`, `method` and `socket.remoteAddress`.
   */
  get request() {
    this._request ??= this.server._handshakeRequest(this._handshakeToken);
    if (!this._request) {
      const { headers, url, address, secure } = this.handshake;
      const peer = { remoteAddress: address, encrypted: secure };
      this._request = { headers, url, method: "GET", httpVersion: "1.1", socket: peer, connection: peer };
    }
    return this._request;
  }

  get rooms() {
    return this._roomsBeforeLeaving ?? new Set(this._native.rooms());
  }

  /** Emits to this client; a function as the last argument receives its acknowledgement. */
  emit(event, ...args) {
    checkEvent(event);
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : undefined;
    if (!ack) {
      this._native.emit(event, encode(args), this._volatile, this._compress);
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
    const timeout = this._timeout;
    return this._native
      .emitWithAck(event, encode(args), timeout ?? 2 ** 31 - 1)
      .then((answer) => decode(answer)[0]);
  }

  /** A view of this socket whose emits carry `flags` (socket.io's modifiers). */
  _scoped(flags) {
    return Object.assign(Object.create(this), flags);
  }

  /** socket.io's `socket.timeout(ms)`: acknowledgements get an error first. */
  timeout(ms) {
    return this._scoped({ _timeout: ms });
  }

  /** The next emit may be dropped when the client cannot take it now. */
  get volatile() {
    return this._scoped({ _volatile: true });
  }

  /** Whether the next emit may be compressed (`perMessageDeflate` / `httpCompression`). */
  compress(compress) {
    return this._scoped({ _compress: Boolean(compress) });
  }

  /** The Engine.IO connection under the socket (socket.io's `socket.conn`): `transport`,
   * `close()`, and the `upgrade` event. */
  get conn() {
    this._conn ??= new EngineConnection(this);
    return this._conn;
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

/** Namespace events that are not `serverSideEmit` events from other servers. */
const NAMESPACE_EVENTS = new Set(["connect", "connection", "new_namespace", "newListener", "removeListener"]);

/** engine.io's socket as socket.io exposes it (`socket.conn`): the transport, `close()`,
 * and the `upgrade` event (given the new transport), heard once a listener asks for it. */
class EngineConnection extends EventEmitter {
  constructor(socket) {
    super();
    this._socket = socket;
    this.on("newListener", (event) => {
      if (event === "upgrade" && !this._watching) {
        this._watching = true;
        socket._native.watchUpgrade();
      }
    });
  }

  get transport() {
    return { name: this._socket._native.transport };
  }

  close() {
    this._socket._native.closeConnection();
  }
}

/** A namespace (socket.io's `Namespace`). */
class Namespace extends EventEmitter {
  /** `child`: a dynamic namespace's child, whose sockets arrive through its parent. */
  constructor(server, name, { child = false } = {}) {
    super();
    this.server = server;
    this.name = name;
    this.sockets = new Map();
    this._middlewares = [];
    /** Sockets between the middlewares and their connection, by id. */
    this._admitting = new Map();
    this._serverEvents = new Set();
    this._child = child;
    this.on("newListener", (event) => this._listenToServers(event));
    if (!child) server._native.onConnection(name, (nativeSocket) => this._connected(nativeSocket));
  }

  /**
   * socket.io's `namespace.adapter`, read-only: `rooms` (room → ids of this server's
   * sockets in it) and `sids` (id → rooms), snapshots taken on each read, and `allRooms()`
   * across the cluster. The rooms themselves live in the engine.
   */
  get adapter() {
    const nsp = this;
    return {
      nsp,
      get rooms() {
        const rooms = new Map();
        for (const socket of nsp.sockets.values()) {
          for (const room of socket.rooms) {
            if (!rooms.has(room)) rooms.set(room, new Set());
            rooms.get(room).add(socket.id);
          }
        }
        return rooms;
      },
      get sids() {
        return new Map([...nsp.sockets.values()].map((socket) => [socket.id, socket.rooms]));
      },
      async allRooms() {
        return new Set(await nsp.server._native.allRooms(nsp.name));
      },
    };
  }

  /** Forgets a socket that left; a dynamic child may go with its last socket. */
  _remove(socket) {
    this.sockets.delete(socket.id);
    this._forgetIfEmpty();
  }

  /** With `cleanupEmptyChildNamespaces`, a dynamic child without sockets goes away. */
  _forgetIfEmpty() {
    if (this._child && this.server.opts.cleanupEmptyChildNamespaces && this.sockets.size === 0 && this._admitting.size === 0) {
      this.server._nsps.delete(this.name);
    }
  }

  /** The namespace a socket that connects here belongs to (a child, for a parent). */
  _home() {
    return this;
  }

  _connected(nativeSocket) {
    const socket = this._admitting.get(nativeSocket.id) ?? new Socket(this._home(nativeSocket), nativeSocket);
    this._admitting.delete(nativeSocket.id);
    socket._attach(nativeSocket);
    socket.nsp.sockets.set(socket.id, socket);
    this._announce(socket);
  }

  _announce(socket) {
    EventEmitter.prototype.emit.call(this, "connection", socket);
    EventEmitter.prototype.emit.call(this, "connect", socket);
  }

  /** Listens to `event` from the other servers of the cluster (`serverSideEmit`). */
  _listenToServers(event) {
    if (typeof event !== "string" || NAMESPACE_EVENTS.has(event) || this._serverEvents.has(event)) return;
    this._serverEvents.add(event);
    this.server._native.onServerEvent(this.name, event, ({ args, ackId }) => {
      const values = decode(args);
      if (ackId !== null && ackId !== undefined) {
        let answered = false;
        values.push((...answer) => {
          if (answered) return;
          answered = true;
          this.server._native.serverEventAck(ackId, encode(answer));
        });
      }
      EventEmitter.prototype.emit.call(this, event, ...values);
    });
  }

  _registerMiddleware(callback) {
    this.server._native.useMiddleware(this.name, callback);
  }

  /** Adds a middleware `(socket, next) => ..`; `next(err)` refuses the connection. */
  use(fn) {
    if (this._middlewares.length === 0) this._registerMiddleware((nativeSocket) => this._admit(nativeSocket));
    this._middlewares.push(fn);
    return this;
  }

  _admit(nativeSocket) {
    const call = nativeSocket.pendingCall;
    const socket = new Socket(this._home(nativeSocket), nativeSocket);
    this._admitting.set(socket.id, socket);
    const done = (err) => {
      if (err) {
        this._admitting.delete(socket.id);
        socket.nsp._forgetIfEmpty();
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

  /**
   * Sends `event` to the other servers of the cluster (socket.io's `serverSideEmit`); with a
   * function last, it gets `(err, responses)` with one answer per other server.
   */
  serverSideEmit(event, ...args) {
    checkEvent(event);
    if (typeof args[args.length - 1] === "function") {
      const ack = args.pop();
      this.serverSideEmitWithAck(event, ...args).then(
        (responses) => ack(null, responses),
        (error) => {
          // As socket.io's in-memory adapter: a warning, and the callback never runs.
          if (/does not support/.test(error.message)) console.warn(error.message);
          else ack(error);
        },
      );
      return true;
    }
    this.server._native.serverSideEmit(this.name, event, encode(args));
    return true;
  }

  /** Resolves with one answer per other server of the cluster. */
  async serverSideEmitWithAck(event, ...args) {
    checkEvent(event);
    const answers = await this.server._native.serverSideEmitWithAck(this.name, event, encode(args));
    return answers.map((answer) => decode(answer)[0]);
  }

  send(...args) {
    return this.emit("message", ...args);
  }
}

/**
 * The parent of dynamic namespaces (socket.io's `io.of(/regex/)` or `io.of(fn)`): its
 * listeners and middlewares serve every child; `emit` reaches the sockets of every child.
 */
class ParentNamespace extends Namespace {
  constructor(server, id) {
    super(server, `/_${id}`, { child: true });
    this._parent = id;
    server._native.parentOnConnection(id, (nativeSocket) => this._connected(nativeSocket));
  }

  _home(nativeSocket) {
    return this.server._child(nativeSocket.nsp);
  }

  _announce(socket) {
    super._announce(socket);
    // The child's own listeners (socket.io copies the parent's onto it; here the parent
    // keeps them, and the child emits to the ones added to it directly).
    socket.nsp._announce(socket);
  }

  _registerMiddleware(callback) {
    this.server._native.parentUseMiddleware(this._parent, callback);
  }

  emit(event, ...args) {
    if (event === "newListener" || event === "removeListener") return EventEmitter.prototype.emit.call(this, event, ...args);
    checkEvent(event);
    this.server._native.parentEmit(this._parent, event, encode(args));
    return true;
  }

  _listenToServers() {}
}
for (const unsupported of ["fetchSockets", "socketsJoin", "socketsLeave", "disconnectSockets", "serverSideEmit"]) {
  ParentNamespace.prototype[unsupported] = function () {
    throw new Error(`${unsupported}() is not supported on parent namespaces`);
  };
}

/** socket.io-msgpack-parser (and any parser whose encoder makes binary) selects msgpack. */
function parserName(parser) {
  if (!parser || typeof parser.Encoder !== "function") return undefined;
  const [encoded] = new parser.Encoder().encode({ type: 2, nsp: "/", data: ["probe"] });
  return typeof encoded === "string" ? undefined : "msgpack";
}

/** What the native server understands of socket.io's options. */
function nativeOptions(opts) {
  const out = { ...opts, parser: parserName(opts.parser), allowRequest: undefined };
  if (opts.adapter !== undefined) {
    const cluster = opts.adapter && opts.adapter.polysocketCluster;
    if (!cluster) {
      throw new Error(
        'polysocket: "adapter" must come from require("polysocket/redis-adapter") (createAdapter or createShardedAdapter)',
      );
    }
    out.adapter = cluster;
  }
  return JSON.stringify(out);
}

/** What `io.engine.use` middlewares get as `res` for a WebSocket upgrade (engine.io's
 * `WebSocketResponse`): headers set are sent with the `101`; `end()` refuses the upgrade. */
class UpgradeResponse extends EventEmitter {
  constructor(socket) {
    super();
    this.socket = socket;
    this._headers = {};
    this.headersSent = false;
    socket.once("close", () => this.emit("close"));
  }

  setHeader(name, value) {
    this._headers[String(name).toLowerCase()] = value;
  }

  getHeader(name) {
    return this._headers[String(name).toLowerCase()];
  }

  removeHeader(name) {
    delete this._headers[String(name).toLowerCase()];
  }

  write() {}
  writeHead() {}

  end() {
    this.emit("finish");
    this.socket.destroy();
  }
}

/** engine.io's server as socket.io exposes it (`io.engine`): the connection count and the
 * `connection_error` event. */
class Engine extends EventEmitter {
  constructor(nativeServer) {
    super();
    this._native = nativeServer;
    this.on("newListener", (event) => {
      if (event === "headers" || event === "initial_headers") queueMicrotask(() => this._watchHeaders());
      if (event !== "connection_error" || this._reporting) return;
      this._reporting = true;
      nativeServer.onConnectionError(({ code, message, context, method, url, headers }) => {
        const error = new Error(message);
        error.code = code;
        error.message = message;
        error.context = context === null ? {} : { message: context };
        error.req = { method, url, headers: headerObject(headers) };
        EventEmitter.prototype.emit.call(this, "connection_error", error);
      });
    });
    this.on("removeListener", (event) => {
      if (event === "headers" || event === "initial_headers") this._watchHeaders();
    });
  }

  get clientsCount() {
    return this._native.clientsCount();
  }

  /** Standalone, the engine's answers go through `_answerHeaders` while `initial_headers` /
   * `headers` listeners exist (attached, they pass through Node's server, see `_headersFor`). */
  _watchHeaders() {
    const wanted = this.listenerCount("headers") + this.listenerCount("initial_headers") > 0;
    this._native.watchResponseHeaders(Boolean(this._standalone) && wanted);
  }

  /** One answer of the standalone engine, for the `initial_headers` / `headers` listeners. */
  _answerHeaders({ call, initial, method, url, headers, responseHeaders }) {
    const out = responseHeaderObject(responseHeaders);
    try {
      this._headersFor({ method, url, headers: headerObject(headers) }, out, initial);
    } finally {
      this._native.responseHeadersDone(call, headerPairs(out));
    }
  }

  /**
   * engine.io's `use(middleware)`: an Express-style `(req, res, next)` middleware run on
   * every HTTP request and WebSocket upgrade of the engine, before the engine sees it
   * (`next(err)` refuses it: 400, `connection_error` with `MIDDLEWARE_FAILURE`). Only with
   * Socket.IO attached to a Node `http.Server`: the standalone engine's requests never reach
   * Node. Headers a middleware sets on an upgrade's response (`res.setHeader`) are sent with
   * its `101 Switching Protocols`, as engine.io does.
   */
  use(fn) {
    if (this._standalone) {
      throw new Error(STANDALONE_MIDDLEWARES);
    }
    (this._middlewares ??= []).push(fn);
    return this;
  }

  /** Runs the middlewares on `req`; `done(err)` once they all called `next`. */
  _apply(req, res, done) {
    const middlewares = this._middlewares ?? [];
    let chain = Promise.resolve();
    for (const middleware of middlewares) {
      chain = chain.then(() => new Promise((resolve, reject) => middleware(req, res, (err) => (err ? reject(err) : resolve()))));
    }
    chain.then(() => done(), (err) => done(err ?? new Error("middleware failure")));
  }

  /**
   * engine.io's `initial_headers` (the request opens a connection: `initial`, or no `sid` in
   * its URL) and `headers` (every request) events for the answer to `req`: listeners may
   * change `headers`, which is then sent.
   */
  _headersFor(req, headers, initial) {
    if (this.listenerCount("initial_headers") > 0 && (initial ?? opensConnection(req.url))) {
      this.emit("initial_headers", headers, req);
    }
    this.emit("headers", headers, req);
    return headers;
  }

  /** engine.io's `connection_error` for a request a middleware refused. */
  _refused(req) {
    if (this.listenerCount("connection_error") === 0) return;
    const error = new Error("Bad request");
    error.code = 3;
    error.context = { name: "MIDDLEWARE_FAILURE" };
    error.req = req;
    EventEmitter.prototype.emit.call(this, "connection_error", error);
  }
}

/** Events of the Server object itself; the others belong to its main namespace (connection,
 * and the `serverSideEmit` events of other servers). */
const SERVER_EVENTS = new Set(["new_namespace", "error", "newListener", "removeListener"]);

/** socket.io's `Server`: `new Server()`, `new Server(port, opts)`, `new Server(opts)`. */
class Server extends EventEmitter {
  constructor(srv, opts = {}) {
    super();
    if (srv && typeof srv === "object" && !(typeof srv.listen === "function")) {
      opts = srv;
      srv = undefined;
    }
    this.opts = opts;
    const allowRequest = typeof opts.allowRequest === "function" ? opts.allowRequest : undefined;
    this._native = new native.NativeServer(
      nativeOptions(opts),
      allowRequest && ((check) => this._allowRequest(allowRequest, check)),
      (call) => this.engine._answerHeaders(call),
    );
    this._nsps = new Map();
    this.sockets = this.of("/");
    this.engine = new Engine(this._native);
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
    // From now on the server's callbacks keep Node alive (until close), as the sockets of
    // an attached socket.io server do; a server never attached or listening holds nothing.
    this._native.hold();
    return this;
  }

  /** The handshake's `IncomingMessage` for `token` (see `HANDSHAKE_HEADER`). */
  _handshakeRequest(token) {
    return token === undefined ? undefined : this._handshakes?.get(token)?.req;
  }

  /** A new token for `req` if it opens a connection (no `sid`), after the middlewares. */
  _handshakeTokenFor(req) {
    return opensConnection(req.url) ? this._rememberHandshake(req) : undefined;
  }

  /**
   * Remembers a handshake request under a new token, which the request then carries to the
   * engine. It is forgotten once its connection closed, or after `connectTimeout` when no
   * connection came of it.
   */
  _rememberHandshake(req) {
    const token = require("node:crypto").randomBytes(12).toString("base64url");
    this._handshakes ??= new Map();
    const entry = { req };
    this._handshakes.set(token, entry);
    const forget = () => this._handshakes.delete(token);
    entry.timer = setTimeout(forget, this.opts.connectTimeout ?? 45000);
    entry.timer.unref();
    return token;
  }

  /** Keeps a claimed handshake request while its connection lives. */
  _claimHandshake(token) {
    const entry = this._handshakes?.get(token);
    if (!entry) return;
    clearTimeout(entry.timer);
    entry.sockets = (entry.sockets ?? 0) + 1;
  }

  /** One socket of a claimed handshake left; the last one forgets it. */
  _releaseHandshake(token) {
    const entry = this._handshakes?.get(token);
    if (!entry) return;
    entry.sockets -= 1;
    if (entry.sockets <= 0) this._handshakes.delete(token);
  }

  _handleHttp(req, res) {
    if (!this.engine._middlewares) return this._forwardHttp(req, res);
    this.engine._apply(req, res, (err) => {
      if (err) {
        this.engine._refused(req);
        if (!res.headersSent) res.writeHead(400, { "content-type": "application/json" });
        res.end(BAD_REQUEST_BODY);
        return;
      }
      this._forwardHttp(req, res, this._handshakeTokenFor(req));
    });
  }

  _forwardHttp(req, res, token) {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      const headers = forwardedHeaders(req, token).map(([name, value]) => ({ name, value }));
      const peer = req.socket.remoteAddress ? `${bracket(req.socket.remoteAddress)}:${req.socket.remotePort}` : null;
      this._native.handleRequest(req.method, req.url, headers, Buffer.concat(chunks), peer).then(
        ({ status, headers: answerHeaders, body }) => {
          const out = responseHeaderObject(answerHeaders);
          // As engine.io, only the transport's own answers (not its errors) carry them.
          if (status === 200) this.engine._headersFor(req, out);
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
    if (!this.engine._middlewares) return this._handOver(req, socket, head, undefined, {});
    const res = new UpgradeResponse(socket);
    this.engine._apply(req, res, (err) => {
      if (socket.destroyed) return;
      if (err) {
        this.engine._refused(req);
        socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: application/json\r\n\r\n" + BAD_REQUEST_BODY);
        return;
      }
      // express-session and others save on writeHead.
      res.writeHead();
      this._handOver(req, socket, head, this._handshakeTokenFor(req), res._headers);
    });
  }

  /** Hands the upgrade's TCP connection to the engine, which answers it with `headers`
   * added (after the engine's `initial_headers` / `headers` listeners saw them). */
  _handOver(req, socket, head, token, headers) {
    const fd = socket._handle && socket._handle.fd;
    if (typeof fd !== "number" || fd < 0) {
      socket.destroy();
      return;
    }
    let raw = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
    for (const [name, value] of forwardedHeaders(req, token)) raw += `${name}: ${value}\r\n`;
    const bytes = Buffer.concat([Buffer.from(raw + "\r\n", "latin1"), head]);
    const peer = `${bracket(socket.remoteAddress)}:${socket.remotePort}`;
    const extra = headerPairs(this.engine._headersFor(req, headers));
    try {
      this._native.adoptConnection(fd, bytes, peer, extra);
    } finally {
      // The engine holds its own descriptor for the connection now.
      socket.destroy();
    }
  }

  /** engine.io's `allowRequest(req, callback)`, for one handshake request. */
  _allowRequest(allowRequest, { call, method, url, headers }) {
    const req = { method, url, headers: headerObject(headers) };
    let answered = false;
    const callback = (err, success) => {
      if (answered) return;
      answered = true;
      this._native.allowRequestDone(call, success ? null : String(err ?? "Forbidden"));
    };
    try {
      allowRequest(req, callback);
    } catch (error) {
      callback(error.message, false);
    }
  }

  /**
   * A namespace: by name (created if needed), or a parent of dynamic namespaces, by
   * `RegExp` or by `(name, auth, next) => next(err, allowed)`; `fn` listens to its
   * `connection` event.
   */
  of(name, fn) {
    let nsp;
    if (name instanceof RegExp) {
      nsp = new ParentNamespace(this, this._native.parentOfRegex(name.source));
    } else if (typeof name === "function") {
      const check = name;
      const id = this._native.parentOfPredicate(({ call, name: child, authJson }) => {
        let answered = false;
        const next = (err, allowed) => {
          if (answered) return;
          answered = true;
          this._native.namespaceCheckDone(call, !err && Boolean(allowed));
        };
        try {
          check(child, JSON.parse(authJson), next);
        } catch (error) {
          next(error, false);
        }
      });
      nsp = new ParentNamespace(this, id);
    } else {
      const key = String(name).startsWith("/") ? String(name) : `/${name}`;
      if (!this._nsps.has(key)) this._nsps.set(key, new Namespace(this, key));
      nsp = this._nsps.get(key);
    }
    if (typeof fn === "function") nsp.on("connection", fn);
    return nsp;
  }

  /** The child `name` of a dynamic namespace, created on its first socket. */
  _child(name) {
    if (!this._nsps.has(name)) {
      this._nsps.set(name, new Namespace(this, name, { child: true }));
      super.emit("new_namespace", this._nsps.get(name));
    }
    return this._nsps.get(name);
  }

  /**
   * socket.io's `io.adapter()`: without an argument, the adapter (the `adapter` option or
   * the last one set); with one, joins its cluster, for every namespace. The adapter must
   * come from `polysocket/redis-adapter` (the cluster runs in the engine), and is set before
   * any client connects: the engine refuses it afterwards, and a second one.
   */
  adapter(value) {
    if (value === undefined) return this.opts.adapter;
    const cluster = value && value.polysocketCluster;
    if (!cluster) {
      throw new Error(
        'polysocket: io.adapter(..) takes createAdapter(..) or createShardedAdapter(..) from require("polysocket/redis-adapter")',
      );
    }
    this._native.setAdapter(JSON.stringify(cluster));
    this.opts.adapter = value;
    return this;
  }

  /** Routes the engine's notices about socket `key` to `socket`; the first one starts the
   * dispatch (so that a server with no socket yet holds nothing that keeps Node alive). */
  _route(key, socket) {
    if (!this._live) {
      this._live = new Map();
      this._native.onDispatch(() => this._dispatch());
    }
    this._live.set(key, socket);
  }

  _unroute(key) {
    this._live.delete(key);
  }

  /** Hands every waiting notice to its socket, in the order they happened. */
  _dispatch() {
    const { json, attachments } = this._native.drainEvents();
    for (const notice of JSON.parse(json)) {
      const socket = this._live.get(notice[0]);
      if (!socket) continue;
      try {
        socket._onNotice(notice, attachments);
      } catch (error) {
        // As with socket.io, a throwing handler is an uncaught exception; the rest of the
        // batch is still delivered.
        process.nextTick(() => {
          throw error;
        });
      }
    }
  }

  /** Resolves once the cluster adapter (if any) hears the other servers (polysocket only). */
  clusterReady() {
    return this._native.clusterReady();
  }

  /** Listens on `port` (on every interface); `listening` resolves with the bound port. */
  listen(port, opts = {}) {
    if (this.engine._middlewares) {
      throw new Error(STANDALONE_MIDDLEWARES);
    }
    this.engine._standalone = true;
    this.engine._watchHeaders();
    this._native.hold();
    this.listening = this._native.listen(Number(port) || 0, opts.host);
    this.listening.catch((error) => EventEmitter.prototype.emit.call(this, "error", error));
    return this;
  }

  on(event, listener) {
    if (SERVER_EVENTS.has(event)) return super.on(event, listener);
    this.sockets.on(event, listener);
    return this;
  }

  once(event, listener) {
    if (SERVER_EVENTS.has(event)) return super.once(event, listener);
    this.sockets.once(event, listener);
    return this;
  }

  off(event, listener) {
    if (SERVER_EVENTS.has(event)) return super.off(event, listener);
    this.sockets.off(event, listener);
    return this;
  }

  use(fn) {
    this.sockets.use(fn);
    return this;
  }

  /**
   * Closes every connection (`server shutting down`), stops listening and, as socket.io
   * does, closes the attached `http.Server`; `fn` gets that close's error, if any.
   */
  close(fn) {
    const closed = this._native.close().then(
      () =>
        new Promise((resolve) => {
          if (!this.httpServer) return resolve(undefined);
          this.httpServer.close((err) => resolve(err));
        }),
    );
    if (typeof fn === "function") closed.then((err) => fn(err), fn);
    return closed.then(() => undefined);
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
  if (method === "emit") {
    // EventEmitter's own bookkeeping events stay local.
    Namespace.prototype.emit = function (event, ...args) {
      if (event === "newListener" || event === "removeListener") return EventEmitter.prototype.emit.call(this, event, ...args);
      return new BroadcastOperator(this).emit(event, ...args);
    };
  }
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
for (const method of ["send", "serverSideEmit", "serverSideEmitWithAck"]) {
  Server.prototype[method] = function (...args) {
    return this.sockets[method](...args);
  };
}

module.exports = { Server, Namespace, ParentNamespace, Socket, BroadcastOperator, RemoteSocket };
module.exports.default = Server;
