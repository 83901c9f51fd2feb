// polysocket's browser client with socket.io-client's API: `io(url, opts)`, `Manager`,
// `Socket`. The connection (transports, reconnection, buffers, acks) runs in WebAssembly,
// the same Rust state machines as polysocket's native client; this file only shapes the API.
//
//   import { io } from "polysocket-client";   // was: import { io } from "socket.io-client";
import init, { WasmManager } from "../pkg/polysocket_wasm.js";

await init();

/** socket.io-client's reserved socket events: `emit` refuses them. */
const RESERVED = new Set([
  "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
]);

/** A minimal `@socket.io/component-emitter`. */
class Emitter {
  constructor() { this._callbacks = new Map(); }
  on(event, fn) {
    if (!this._callbacks.has(event)) this._callbacks.set(event, []);
    this._callbacks.get(event).push(fn);
    return this;
  }
  addEventListener(event, fn) { return this.on(event, fn); }
  once(event, fn) {
    const wrapper = (...args) => { this.off(event, wrapper); fn.apply(this, args); };
    wrapper.fn = fn;
    return this.on(event, wrapper);
  }
  off(event, fn) {
    if (event === undefined) { this._callbacks.clear(); return this; }
    if (fn === undefined) { this._callbacks.delete(event); return this; }
    const list = this._callbacks.get(event);
    if (list) {
      const i = list.findIndex((cb) => cb === fn || cb.fn === fn);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this._callbacks.delete(event);
    }
    return this;
  }
  removeListener(event, fn) { return this.off(event, fn); }
  removeAllListeners(event) { return this.off(event); }
  removeEventListener(event, fn) { return this.off(event, fn); }
  emitReserved(event, ...args) {
    for (const fn of [...(this._callbacks.get(event) ?? [])]) {
      try { fn.apply(this, args); } catch (error) { reportError(error); }
    }
    return this;
  }
  listeners(event) { return [...(this._callbacks.get(event) ?? [])]; }
  hasListeners(event) { return this.listeners(event).length > 0; }
}

/** Whether `value` holds binary anywhere (socket.io-parser's `hasBinary`). */
function hasBinary(value, depth = 0) {
  if (value === null || typeof value !== "object" || depth > 512) return false;
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return true;
  if (typeof Blob !== "undefined" && value instanceof Blob) return true;
  if (Array.isArray(value)) return value.some((item) => hasBinary(item, depth + 1));
  if (typeof value.toJSON === "function") return false;
  for (const key in value) {
    if (Object.prototype.hasOwnProperty.call(value, key) && hasBinary(value[key], depth + 1)) return true;
  }
  return false;
}

/** Whether `value` holds a `Blob` anywhere. */
function hasBlob(value, depth = 0) {
  if (typeof Blob === "undefined" || value === null || typeof value !== "object" || depth > 512) return false;
  if (value instanceof Blob) return true;
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return false;
  if (Array.isArray(value)) return value.some((item) => hasBlob(item, depth + 1));
  return Object.values(value).some((item) => hasBlob(item, depth + 1));
}

/** `value` with every `Blob` read into an `ArrayBuffer`. */
async function readBlobs(value) {
  if (typeof Blob !== "undefined" && value instanceof Blob) return value.arrayBuffer();
  if (value === null || typeof value !== "object" || value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return value;
  if (typeof value === "function") return value;
  if (Array.isArray(value)) return Promise.all(value.map(readBlobs));
  const out = {};
  for (const [key, item] of Object.entries(value)) out[key] = await readBlobs(item);
  return out;
}

function reportError(error) {
  // As an exception thrown by a DOM event listener: reported, and the client goes on.
  setTimeout(() => { throw error; });
}

const cache = new Map();

/** Parses `uri` as socket.io-client does: the origin, and the namespace in its path. */
function parse(uri) {
  const base = typeof location === "undefined" ? "http://localhost" : location.href;
  const url = new URL(uri ?? base, base);
  const nsp = url.pathname && url.pathname !== "" ? url.pathname : "/";
  const query = Object.fromEntries(url.searchParams);
  return { origin: url.origin, nsp, query };
}

/**
 * socket.io-client's `io(uri, opts)`: a socket for the URL's namespace, on a Manager shared
 * per origin and path unless `forceNew` / `multiplex: false`.
 */
export function io(uri, opts) {
  if (typeof uri === "object" && uri !== null) { opts = uri; uri = undefined; }
  opts = opts || {};
  const { origin, nsp, query } = parse(uri);
  // As socket.io-client: the URL's query is the `query` option unless one is given.
  if (opts.query === undefined && Object.keys(query).length > 0) opts = { ...opts, query };
  const key = `${origin}${opts.path || "/socket.io/"}`;
  const cached = cache.get(key);
  const separate = opts.forceNew || opts["force new connection"] || opts.multiplex === false
    || (cached && cached.nsps[nsp]);
  let manager;
  if (separate) {
    manager = new Manager(origin, opts);
  } else {
    manager = cached ?? new Manager(origin, opts);
    cache.set(key, manager);
  }
  return manager.socket(nsp, opts);
}
export { io as connect };
export default io;

/** socket.io-client's `Manager`: one connection, its options and its events. */
export class Manager extends Emitter {
  constructor(uri, opts) {
    super();
    if (typeof uri === "object" && uri !== null) { opts = uri; uri = undefined; }
    this.opts = { path: "/socket.io/", ...(opts || {}) };
    const query = this.opts.query;
    this.uri = parse(uri).origin;
    this.nsps = {};
    this._reconnecting = false;
    this._native = new WasmManager(this.uri, {
      path: this.opts.path,
      transports: this.opts.transports,
      upgrade: this.opts.upgrade,
      reconnection: this.opts.reconnection,
      reconnectionAttempts: this.opts.reconnectionAttempts,
      reconnectionDelay: this.opts.reconnectionDelay,
      reconnectionDelayMax: this.opts.reconnectionDelayMax,
      randomizationFactor: this.opts.randomizationFactor,
      timeout: this.opts.timeout,
      retries: this.opts.retries,
      ackTimeout: this.opts.ackTimeout,
      extraHeaders: this.opts.extraHeaders,
      withCredentials: this.opts.withCredentials,
      query: query === undefined ? "" : new URLSearchParams(query).toString(),
    }, (kind, a, b, c, d) => this._notice(kind, a, b, c, d));
    const manager = this;
    /** socket.io-client's `manager.engine` (what this client knows of it). */
    this.engine = {
      get transport() { return { name: manager._native.transport() }; },
      close() { manager._native.close(); },
    };
  }

  /** The socket of namespace `nsp` on this connection. */
  socket(nsp, opts) {
    if (!this.nsps[nsp]) this.nsps[nsp] = new Socket(this, nsp, opts || {});
    return this.nsps[nsp];
  }

  /** Closes the connection (every socket). */
  close() {
    for (const socket of Object.values(this.nsps)) socket._closing = true;
    this._native.close();
  }
  disconnect() { this.close(); }

  reconnection(v) { return this._option("reconnection", v); }
  reconnectionAttempts(v) { return this._option("reconnectionAttempts", v); }
  reconnectionDelay(v) { return this._option("reconnectionDelay", v); }
  reconnectionDelayMax(v) { return this._option("reconnectionDelayMax", v); }
  randomizationFactor(v) { return this._option("randomizationFactor", v); }
  timeout(v) { return this._option("timeout", v); }
  _option(name, value) {
    if (value === undefined) return this.opts[name];
    this.opts[name] = value;
    this._native.setOption(name, value);
    return this;
  }

  _notice(kind, a, b, c, d) {
    if (kind === "manager") {
      switch (a) {
        case "open": this.emitReserved("open"); break;
        case "close": this.emitReserved("close", b); break;
        case "error": this.emitReserved("error", new Error(b)); break;
        case "reconnect_attempt":
          this._reconnecting = true;
          // An `auth` function is asked again for each connection; its answer is used when
          // the CONNECT goes out, once the new connection is open.
          for (const socket of Object.values(this.nsps)) {
            if (typeof socket.auth === "function" && socket._active) socket.auth((auth) => this._native.setAuth(socket.nsp, auth ?? null));
          }
          this.emitReserved("reconnect_attempt", Number(b));
          break;
        case "reconnect": this._reconnecting = false; this.emitReserved("reconnect", Number(b)); break;
        case "reconnect_error": this.emitReserved("reconnect_error", new Error(b)); break;
        case "reconnect_failed": this._reconnecting = false; this.emitReserved("reconnect_failed"); break;
        default: break;
      }
      return;
    }
    this.nsps[a]?._notice(kind, b, c, d);
  }
}

/** socket.io-client's `Socket`: one namespace over a Manager's connection. */
export class Socket extends Emitter {
  constructor(io, nsp, opts) {
    super();
    this.io = io;
    this.nsp = nsp;
    this.id = undefined;
    this.connected = false;
    this.recovered = false;
    this.auth = opts.auth;
    this.flags = {};
    this._active = false;
    this._any = [];
    this._anyOutgoing = [];
    this._acks = new Map();
    if (io.opts.autoConnect !== false) this.open();
  }

  get disconnected() { return !this.connected; }
  get active() { return this._active; }

  /** Connects (again), with `auth` (an object, or a function called with a callback). */
  connect() {
    if (this.connected) return this;
    this._active = true;
    const send = (auth) => this.io._native.connect(this.nsp, auth ?? null);
    if (typeof this.auth === "function") this.auth(send); else send(this.auth);
    return this;
  }
  open() { return this.connect(); }

  /** Leaves the namespace (`io client disconnect`). */
  disconnect() {
    this._active = false;
    this.io._native.disconnect(this.nsp);
    return this;
  }
  close() { return this.disconnect(); }

  /** Emits `ev` with `args`; a function as the last argument gets the acknowledgement. */
  emit(ev, ...args) {
    if (RESERVED.has(ev)) throw new Error(`"${ev}" is a reserved event name`);
    const flags = this._takeFlags();
    // Blobs are read first (asynchronously); emits made meanwhile wait their turn, so that
    // the order of emits is kept.
    if (this._blobQueue || hasBlob(args)) {
      const previous = this._blobQueue ?? Promise.resolve();
      const queue = previous.then(() => readBlobs(args)).then((read) => {
        this._emitNow(ev, read, flags);
      }, reportError);
      this._blobQueue = queue;
      queue.then(() => { if (this._blobQueue === queue) this._blobQueue = undefined; });
      return this;
    }
    this._emitNow(ev, args, flags);
    return this;
  }

  _emitNow(ev, args, flags) {
    if (this._anyOutgoing.length > 0) {
      for (const fn of [...this._anyOutgoing]) fn.call(this, ev, ...args.filter((a) => typeof a !== "function"));
    }
    if (typeof args[args.length - 1] === "function") {
      const ack = args.pop();
      const timeout = flags.timeout ?? this.io.opts.ackTimeout;
      const wait = timeout === undefined ? -1 : timeout; // -1: no deadline
      const native = this.io._native;
      const answered = (answer) => (timeout === undefined ? ack.apply(this, answer) : ack.call(this, null, ...answer));
      const failed = (reason) => { if (timeout !== undefined) ack.call(this, new Error(reason)); };
      if (hasBinary(args)) {
        native.emitWithAck(this.nsp, ev, args, wait).then(answered, failed);
      } else {
        // The common case: no Promise per emit, the answer comes as an "ack" notice.
        const id = native.emitJsonAck(this.nsp, ev, JSON.stringify(args), wait);
        if (id < 0) failed("operation has timed out");
        else this._acks.set(id, [answered, failed]);
      }
      return this;
    }
    if (hasBinary(args)) this.io._native.emit(this.nsp, ev, args, flags.volatile === true);
    else this.io._native.emitJson(this.nsp, ev, JSON.stringify(args), flags.volatile === true);
    return this;
  }
  send(...args) { return this.emit("message", ...args); }

  /** Emits and resolves with the acknowledgement (its first argument). */
  emitWithAck(ev, ...args) {
    const flags = this._takeFlags();
    const timeout = flags.timeout ?? this.io.opts.ackTimeout;
    return new Promise((resolve, reject) => {
      const ack = timeout === undefined
        ? (value) => resolve(value)
        : (error, value) => (error ? reject(error) : resolve(value));
      this.flags = flags;
      this.emit(ev, ...args, ack);
    });
  }

  /** The next emit waits `ms` for its acknowledgement (error-first callback). */
  timeout(ms) { this.flags.timeout = ms; return this; }
  /** The next emit is dropped unless connected. */
  get volatile() { this.flags.volatile = true; return this; }
  compress() { return this; }

  _takeFlags() { const flags = this.flags; this.flags = {}; return flags; }

  onAny(fn) { this._any.push(fn); return this; }
  prependAny(fn) { this._any.unshift(fn); return this; }
  offAny(fn) { this._any = fn ? this._any.filter((f) => f !== fn) : []; return this; }
  listenersAny() { return [...this._any]; }
  onAnyOutgoing(fn) { this._anyOutgoing.push(fn); return this; }
  prependAnyOutgoing(fn) { this._anyOutgoing.unshift(fn); return this; }
  offAnyOutgoing(fn) { this._anyOutgoing = fn ? this._anyOutgoing.filter((f) => f !== fn) : []; return this; }
  listenersAnyOutgoing() { return [...this._anyOutgoing]; }

  _notice(kind, a, b, c) {
    switch (kind) {
      case "connect":
        this.id = a; this.connected = true; this.recovered = b === true;
        this.emitReserved("connect");
        break;
      case "connect_error": {
        const error = new Error(a);
        if (b !== undefined) error.data = b;
        if (!this.connected) this._active = false;
        this.emitReserved("connect_error", error);
        break;
      }
      case "disconnect":
        this.connected = false; this.id = undefined;
        if (a === "io server disconnect" || a === "io client disconnect") this._active = false;
        this.emitReserved("disconnect", a);
        break;
      case "ack":
      case "ack_error": {
        const entry = this._acks.get(a);
        if (!entry) break;
        this._acks.delete(a);
        try { (kind === "ack" ? entry[0] : entry[1])(b); } catch (error) { reportError(error); }
        break;
      }
      case "event": {
        const args = [...b];
        if (c !== undefined) {
          let sent = false;
          args.push((...answer) => {
            if (sent) return;
            sent = true;
            this.io._native.ack(this.nsp, c, answer);
          });
        }
        for (const fn of [...this._any]) {
          try { fn.call(this, a, ...args); } catch (error) { reportError(error); }
        }
        this.emitReserved(a, ...args);
        break;
      }
      default: break;
    }
  }
}
