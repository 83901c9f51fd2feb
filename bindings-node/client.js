// polysocket/client: socket.io-client's API over polysocket's Rust client.
// `require("socket.io-client")` → `require("polysocket/client")`.
//
// A Manager is one connection of the Rust client (reconnection, backoff, the send buffer,
// connection state recovery and multiplexing run there); a Socket is one namespace over it.
// Events reach JavaScript in the order they happened, on Node's thread.
"use strict";

const { EventEmitter } = require("node:events");
const native = require("./native");
const { encode, decode } = require("./codec");

/** Events the client never sends (socket.io-client's reserved names). */
const RESERVED = new Set(["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"]);

/** Disconnections after which socket.io-client does not reconnect by itself. */
const FINAL_REASONS = new Set(["io client disconnect", "io server disconnect"]);

/** socket.io-client's `Manager`: one connection, shared by the sockets of its namespaces. */
class Manager extends EventEmitter {
  constructor(uri, opts) {
    super();
    if (uri && typeof uri === "object") {
      opts = uri;
      uri = undefined;
    }
    this.opts = { path: "/socket.io", ...(opts || {}) };
    this.uri = uri;
    this.nsps = {};
    this._active = new Set();
    this._reconnection = this.opts.reconnection !== false;
    this._autoConnect = this.opts.autoConnect !== false;
    this._native = null;
  }

  /** The native client, made on first use (and again after `_close`). */
  _client() {
    if (!this._native) {
      const url = new URL(this.uri);
      this._native = new native.NativeClient(`${url.protocol}//${url.host}`, JSON.stringify(nativeOptions(this.opts)));
    }
    return this._native;
  }

  /** Listens to the native manager events while some socket is active. */
  _activate(socket) {
    this._active.add(socket);
    if (this._active.size === 1) {
      this._client().onManagerEvent((event) => this._onManagerEvent(event));
    }
  }

  _deactivate(socket) {
    if (!this._active.delete(socket)) return;
    if (this._active.size === 0 && this._native) this._native.release();
  }

  _onManagerEvent({ kind, attempt, message }) {
    switch (kind) {
      case "open":
        this.emit("open");
        break;
      case "close":
        this.emit("close", message);
        break;
      case "error":
        // socket.io-client's emitter does not throw on an unheard "error".
        if (this.listenerCount("error") > 0) this.emit("error", new Error(message));
        break;
      case "reconnect_attempt":
        for (const socket of this._active) socket._refreshAuth();
        this.emit("reconnect_attempt", attempt);
        break;
      case "reconnect":
        this.emit("reconnect", attempt);
        break;
      case "reconnect_error":
        this.emit("reconnect_error", new Error(message));
        break;
      case "reconnect_failed":
        this.emit("reconnect_failed");
        for (const socket of [...this._active]) socket._release();
        break;
      default:
        break;
    }
  }

  /** The socket of namespace `nsp` (made once per namespace). */
  socket(nsp, opts) {
    const name = nsp && nsp.startsWith("/") ? nsp : `/${nsp || ""}`;
    let socket = this.nsps[name];
    if (!socket) {
      socket = new Socket(this, name, opts || {});
      this.nsps[name] = socket;
    } else if (this._autoConnect && !socket.active) {
      socket.connect();
    }
    return socket;
  }

  /** Opens the connection (sockets connect it by themselves; kept for socket.io-client's API). */
  open(fn) {
    this._client();
    if (typeof fn === "function") process.nextTick(fn);
    return this;
  }

  connect(fn) {
    return this.open(fn);
  }

  /** `reconnection()` reads the option; `reconnection(v)` is not supported after creation. */
  reconnection(value) {
    if (value === undefined) return this._reconnection;
    throw new Error("polysocket/client: pass reconnection options to io(url, opts)");
  }

  /** The Engine.IO connection: its `id` and `transport.name`. */
  get engine() {
    const native = this._native;
    const name = native ? native.transport : undefined;
    return { id: (native ? native.engineId : undefined) ?? undefined, transport: name ? { name } : undefined };
  }

  /** Closes the connection for good. */
  _close() {
    for (const socket of [...this._active]) socket._release();
    if (this._native) {
      this._native.close();
      this._native = null;
    }
  }
}

/** socket.io-client's options as the native client reads them. */
function nativeOptions(opts) {
  const out = {};
  for (const key of [
    "path", "query", "transports", "upgrade", "extraHeaders", "withCredentials", "reconnection",
    "reconnectionAttempts", "reconnectionDelay", "reconnectionDelayMax", "randomizationFactor",
    "timeout", "ackTimeout", "retries",
  ]) {
    if (opts[key] !== undefined) out[key] = opts[key];
  }
  if (typeof out.query === "string") out.query = Object.fromEntries(new URLSearchParams(out.query));
  if (opts.parser && typeof opts.parser.Encoder === "function") {
    const [encoded] = new opts.parser.Encoder().encode({ type: 2, nsp: "/", data: ["probe"] });
    if (typeof encoded !== "string") out.parser = "msgpack";
  }
  return out;
}

/** socket.io-client's `Socket`: one namespace. `emit` sends to the server; `on` listens. */
class Socket extends EventEmitter {
  constructor(io, nsp, opts) {
    super();
    this.io = io;
    this.nsp = nsp;
    this.auth = opts.auth ?? io.opts.auth;
    this.flags = {};
    this._native = null;
    this._active = false;
    this._anyListeners = [];
    this._anyOutgoingListeners = [];
    this._opts = { ackTimeout: io.opts.ackTimeout };
    if (io._autoConnect) this.open();
  }

  _socket() {
    if (!this._native) this._native = this.io._client().socket(this.nsp);
    return this._native;
  }

  get id() {
    return this._native ? (this._native.id ?? undefined) : undefined;
  }

  get connected() {
    return this._native && !this._closing ? this._native.connected : false;
  }

  get disconnected() {
    return !this.connected;
  }

  /** Whether the socket connects or reconnects by itself (socket.io-client's `active`). */
  get active() {
    return this._active;
  }

  get recovered() {
    return this._native ? this._native.recovered : false;
  }

  /** Sends this socket's current `auth` (object, or function called with a callback) to
   * the engine, for its next connections. */
  _refreshAuth(then = () => {}) {
    const set = (data) => this._socket().setAuth(JSON.stringify(data ?? null));
    if (typeof this.auth === "function") {
      this.auth((data) => {
        set(data);
        then();
      });
    } else {
      if (this.auth !== undefined) set(this.auth);
      then();
    }
  }

  /** Connects (again): socket.io-client's `connect()` / `open()`. */
  open() {
    if (this._active && this.connected) return this;
    this._closing = false;
    const socket = this._socket();
    this._active = true;
    this.io._activate(this);
    socket.listen((notice) => this._onNotice(notice));
    // As socket.io-client: an `auth` function answers before the CONNECT goes out.
    this._refreshAuth(() => socket.connect());
    return this;
  }

  connect() {
    return this.open();
  }

  /** Disconnects (`io client disconnect`); a connected socket emits `disconnect` first. */
  disconnect() {
    if (!this._native) return this;
    const wasConnected = this.connected;
    this._native.disconnect();
    if (!wasConnected) this._release();
    else this._closing = true;
    return this;
  }

  close() {
    return this.disconnect();
  }

  /** Stops listening to the engine: a socket that will not reconnect keeps Node alive no more. */
  _release() {
    this._active = false;
    this._closing = false;
    if (this._native) this._native.release();
    this.io._deactivate(this);
  }

  _emitReserved(event, ...args) {
    return EventEmitter.prototype.emit.call(this, event, ...args);
  }

  _onNotice({ kind, event, args, ackId, message, dataJson }) {
    switch (kind) {
      case "connect":
        this._emitReserved("connect");
        break;
      case "connect_error": {
        const error = new Error(message);
        if (dataJson !== null && dataJson !== undefined) error.data = JSON.parse(dataJson);
        this._emitReserved("connect_error", error);
        break;
      }
      case "disconnect":
        if (this._closing || FINAL_REASONS.has(message) || !this.io._reconnection) this._release();
        this._emitReserved("disconnect", message, undefined);
        break;
      case "event": {
        const values = decode(args);
        if (ackId !== null && ackId !== undefined) {
          let sent = false;
          values.push((...answer) => {
            if (sent) return;
            sent = true;
            this._native.ack(ackId, encode(answer));
          });
        }
        for (const listener of [...this._anyListeners]) listener.call(this, event, ...values);
        this._emitReserved(event, ...values);
        break;
      }
      default:
        break;
    }
  }

  /**
   * Emits `event` to the server. A function last is the acknowledgement callback; with a
   * timeout (`timeout(ms)` or the `ackTimeout` option) it gets an error first.
   */
  emit(event, ...args) {
    if (RESERVED.has(event)) throw new Error(`"${String(event)}" is a reserved event name`);
    const flags = this.flags;
    this.flags = {};
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
    for (const listener of [...this._anyOutgoingListeners]) listener.call(this, event, ...args);
    const socket = this._socket();
    if (!ack) {
      if (flags.volatile && !this.connected) return this;
      socket.emit(event, encode(args), Boolean(flags.volatile));
      return this;
    }
    const timeout = flags.timeout ?? this._opts.ackTimeout;
    const withError = timeout !== undefined;
    socket.emitWithAck(event, encode(args), withError ? timeout : null).then(
      (answer) => (withError ? ack(null, ...decode(answer)) : ack(...decode(answer))),
      (error) => {
        // socket.io-client drops the callback of an ack without timeout on disconnection.
        if (withError) ack(new Error(error.message));
      },
    );
    return this;
  }

  /** Emits and resolves with the acknowledgement (rejects on timeout when one is set). */
  emitWithAck(event, ...args) {
    const withError = this.flags.timeout !== undefined || this._opts.ackTimeout !== undefined;
    return new Promise((resolve, reject) => {
      args.push((first, second) => {
        if (!withError) return resolve(first);
        return first ? reject(first) : resolve(second);
      });
      this.emit(event, ...args);
    });
  }

  send(...args) {
    return this.emit("message", ...args);
  }

  /** The next emit's ack waits at most `ms` (its callback then gets an error first). */
  timeout(ms) {
    this.flags.timeout = ms;
    return this;
  }

  /** The next emit is dropped unless connected. */
  get volatile() {
    this.flags.volatile = true;
    return this;
  }

  /** Accepted for socket.io-client's API (compression is the transport's choice). */
  compress(_compress) {
    return this;
  }

  onAny(listener) {
    this._anyListeners.push(listener);
    return this;
  }

  prependAny(listener) {
    this._anyListeners.unshift(listener);
    return this;
  }

  offAny(listener) {
    this._anyListeners = listener ? this._anyListeners.filter((l) => l !== listener) : [];
    return this;
  }

  listenersAny() {
    return [...this._anyListeners];
  }

  onAnyOutgoing(listener) {
    this._anyOutgoingListeners.push(listener);
    return this;
  }

  prependAnyOutgoing(listener) {
    this._anyOutgoingListeners.unshift(listener);
    return this;
  }

  offAnyOutgoing(listener) {
    this._anyOutgoingListeners = listener ? this._anyOutgoingListeners.filter((l) => l !== listener) : [];
    return this;
  }

  listenersAnyOutgoing() {
    return [...this._anyOutgoingListeners];
  }
}

/** Managers shared by `io(url)` calls for the same server (socket.io-client's cache). */
const cache = {};

/**
 * socket.io-client's `io(url, opts)`: the socket of the URL's namespace, over a shared
 * connection unless `forceNew`, `multiplex: false`, or the connection already has a socket
 * of that namespace.
 */
function lookup(uri, opts) {
  if (uri && typeof uri === "object") {
    opts = uri;
    uri = undefined;
  }
  opts = opts || {};
  if (uri === undefined) throw new Error("polysocket/client: io(url) needs a URL in Node");
  const parsed = new URL(uri.replace(/^ws(s?):/, "http$1:"));
  const origin = `${parsed.protocol}//${parsed.host}`;
  const path = opts.path || "/socket.io";
  const id = `${origin}${path}`;
  const nsp = parsed.pathname || "/";
  const query = Object.fromEntries(parsed.searchParams);
  if (Object.keys(query).length && opts.query === undefined) opts = { ...opts, query };
  const newConnection = opts.forceNew || opts["force new connection"] || opts.multiplex === false || (cache[id] && nsp in cache[id].nsps);
  let manager;
  if (newConnection) {
    manager = new Manager(origin, opts);
  } else {
    if (!cache[id]) cache[id] = new Manager(origin, opts);
    manager = cache[id];
  }
  return manager.socket(nsp, opts);
}

/** socket.io's protocol revision. */
const protocol = 5;

module.exports = lookup;
Object.assign(module.exports, { io: lookup, connect: lookup, Manager, Socket, protocol, default: lookup });
