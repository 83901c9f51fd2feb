// Types of polysocket's Node binding. Names, generics and signatures follow socket.io 4.8, so
// an app typed against socket.io compiles unchanged against `polysocket`:
//
//   const io = new Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>(httpServer);
import { EventEmitter } from "node:events";
import type { IncomingMessage, OutgoingHttpHeaders, Server as HttpServer, ServerResponse } from "node:http";
import type { Server as HttpsServer } from "node:https";
import type { Http2SecureServer, Http2Server } from "node:http2";

// ---- typed events ------------------------------------------------------------------------

/** A map from event names to listener signatures (socket.io's `EventsMap`). */
export interface EventsMap {
  [event: string]: any;
}

/** The map used when none is given: any event with any arguments. */
export interface DefaultEventsMap {
  [event: string]: (...args: any[]) => void;
}

/** The event names of a map. */
export type EventNames<Map extends EventsMap> = keyof Map & (string | symbol);

/** The listener type of one event. */
export type EventParams<Map extends EventsMap, Ev extends EventNames<Map>> = Parameters<Map[Ev]>;

/** The listener of one event, or a listener of anything for untyped maps. */
export type EventListener<Map extends EventsMap, Ev extends EventNames<Map>> = Map[Ev];

type Last<T extends any[]> = T extends [...infer _Head, infer L] ? L : any;
type AllButLast<T extends any[]> = T extends [...infer Head, any] ? Head : any[];
type FirstArg<T> = T extends (arg: infer A, ...rest: any[]) => any ? A : any;
type FirstNonErrorArg<T> = T extends (err: Error, arg: infer A, ...rest: any[]) => any ? A : any;

/** Events whose last argument is an acknowledgement callback. */
export type EventNamesWithAck<Map extends EventsMap> = {
  [K in EventNames<Map>]: Last<Parameters<Map[K]>> extends (...args: any[]) => any ? K : never;
}[EventNames<Map>];

/** An event's arguments without its acknowledgement callback. */
export type EventParamsWithoutAck<Map extends EventsMap, Ev extends EventNames<Map>> = AllButLast<EventParams<Map, Ev>>;

/** What `emitWithAck` resolves with for one event: the first argument of its callback. */
export type AckResult<Map extends EventsMap, Ev extends EventNames<Map>> = FirstArg<Last<EventParams<Map, Ev>>>;

/** The same events with `(err, ...)` callbacks, as `timeout(ms)` makes them. */
export type DecorateAcknowledgements<Map extends EventsMap> = {
  [K in keyof Map]: Map[K] extends (...args: infer Params) => infer Result
    ? Last<Params> extends (...args: infer AckArgs) => any
      ? (...args: [...AllButLast<Params>, (err: Error, ...ackArgs: AckArgs) => void]) => Result
      : Map[K]
    : Map[K];
};

/** The same events with callbacks that receive every client's answer (broadcast acks). */
export type DecorateAcknowledgementsWithMultipleResponses<Map extends EventsMap> = {
  [K in keyof Map]: Map[K] extends (...args: infer Params) => infer Result
    ? Last<Params> extends (...args: infer AckArgs) => any
      ? (...args: [...AllButLast<Params>, (err: Error, responses: AckArgs[0][]) => void]) => Result
      : Map[K]
    : Map[K];
};

/** The first argument of a `(err, value)` callback: what a decorated `emitWithAck` resolves with. */
export type DecoratedAckResult<Map extends EventsMap, Ev extends EventNames<Map>> = FirstNonErrorArg<Last<EventParams<Map, Ev>>>;

/** The events the server itself emits on a socket. */
export interface SocketReservedEventsMap {
  disconnect: (reason: DisconnectReason, description?: any) => void;
  disconnecting: (reason: DisconnectReason, description?: any) => void;
  error: (err: Error) => void;
}

/** The events a namespace emits. */
export interface NamespaceReservedEventsMap<ListenEvents extends EventsMap, EmitEvents extends EventsMap, ServerSideEvents extends EventsMap, SocketData> {
  connect: (socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) => void;
  connection: (socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) => void;
}

/** The events the Server object emits itself. */
export interface ServerReservedEventsMap<ListenEvents extends EventsMap, EmitEvents extends EventsMap, ServerSideEvents extends EventsMap, SocketData>
  extends NamespaceReservedEventsMap<ListenEvents, EmitEvents, ServerSideEvents, SocketData> {
  new_namespace: (namespace: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) => void;
}

/** Why a socket disconnected (socket.io's reasons, same strings). */
export type DisconnectReason =
  | "transport error"
  | "transport close"
  | "forced close"
  | "ping timeout"
  | "parse error"
  | "server shutting down"
  | "forced server close"
  | "client namespace disconnect"
  | "server namespace disconnect";

// ---- options -----------------------------------------------------------------------------

/** The `cookie` option: engine.io's session cookie. */
export interface CookieOptions {
  name?: string;
  path?: string | false;
  httpOnly?: boolean;
  secure?: boolean;
  maxAge?: number;
  sameSite?: "strict" | "lax" | "none" | boolean;
  domain?: string;
}

/** The `cors` option (the cors package's options that socket.io forwards). */
export interface CorsOptions {
  origin?: string | boolean | RegExp | Array<string | RegExp>;
  methods?: string | string[];
  allowedHeaders?: string | string[];
  exposedHeaders?: string | string[];
  credentials?: boolean;
  maxAge?: number;
}

/** A handshake request as `allowRequest` and `connection_error` see it. */
export interface IncomingRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
}

/** An adapter made by `polysocket/redis-adapter` (the only adapter the Rust engine runs). */
export interface PolysocketAdapter {
  (nsp: unknown): never;
  readonly polysocketCluster: object;
}

/** socket.io's server options that polysocket implements (engine.io's included). */
export interface ServerOptions {
  path?: string;
  serveClient?: false;
  pingInterval?: number;
  pingTimeout?: number;
  connectTimeout?: number;
  upgradeTimeout?: number;
  maxHttpBufferSize?: number;
  allowUpgrades?: boolean;
  allowEIO3?: false;
  transports?: Array<"polling" | "websocket">;
  cors?: CorsOptions;
  allowRequest?: (req: IncomingRequest, fn: (err: string | null | undefined, success: boolean) => void) => void;
  cleanupEmptyChildNamespaces?: boolean;
  perMessageDeflate?: boolean | { threshold?: number };
  httpCompression?: boolean | { threshold?: number };
  cookie?: boolean | CookieOptions;
  connectionStateRecovery?: { maxDisconnectionDuration?: number; skipMiddlewares?: boolean };
  /** `createAdapter(..)` or `createShardedAdapter(..)` from `polysocket/redis-adapter`. */
  adapter?: PolysocketAdapter;
  /** `require("socket.io-msgpack-parser")` selects the msgpack parser. */
  parser?: { Encoder: new () => unknown; Decoder: new () => unknown };
}

// ---- sockets -----------------------------------------------------------------------------

/** The handshake of a socket (socket.io's `Handshake`). */
export interface Handshake {
  headers: Record<string, string | string[] | undefined>;
  time: string;
  address: string;
  xdomain: boolean;
  secure: boolean;
  issued: number;
  url: string;
  query: Record<string, string | string[] | undefined>;
  auth: { [key: string]: any };
}

/** What polysocket's `socket.request` carries of the handshake's `IncomingMessage`. */
export interface HandshakeRequest {
  readonly headers: Record<string, string | string[] | undefined>;
  readonly url: string;
  readonly method: string;
  readonly httpVersion: string;
  readonly socket: { readonly remoteAddress: string; readonly encrypted: boolean };
  readonly connection: { readonly remoteAddress: string; readonly encrypted: boolean };
}

/** A middleware: call `next()` to admit, `next(err)` (with an optional `err.data`) to refuse. */
export type Middleware<ListenEvents extends EventsMap = DefaultEventsMap, EmitEvents extends EventsMap = ListenEvents, ServerSideEvents extends EventsMap = DefaultEventsMap, SocketData = any> = (
  socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>,
  next: (err?: ExtendedError) => void,
) => void;

/** An error a middleware refuses with; `data` reaches the client's `connect_error`. */
export interface ExtendedError extends Error {
  data?: any;
}

/** A socket of any server of the cluster, as `fetchSockets` returns it. */
export declare class RemoteSocket<EmitEvents extends EventsMap, SocketData> {
  readonly id: string;
  readonly handshake: Handshake;
  readonly rooms: Set<Room>;
  readonly data: SocketData;
  emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean;
  join(room: Room | Room[]): void;
  leave(room: Room): void;
  disconnect(close?: boolean): this;
}

/** A room name. */
export type Room = string;

/** Emits to the sockets a chain of `to`/`in`/`except`/flags selects (socket.io's `BroadcastOperator`). */
export declare class BroadcastOperator<EmitEvents extends EventsMap, SocketData> {
  to(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>;
  in(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>;
  except(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>;
  compress(compress: boolean): BroadcastOperator<EmitEvents, SocketData>;
  readonly volatile: BroadcastOperator<EmitEvents, SocketData>;
  readonly local: BroadcastOperator<EmitEvents, SocketData>;
  timeout(timeout: number): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData>;
  emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean;
  emitWithAck<Ev extends EventNamesWithAck<EmitEvents>>(ev: Ev, ...args: EventParamsWithoutAck<EmitEvents, Ev>): Promise<DecoratedAckResult<EmitEvents, Ev>>;
  allSockets(): Promise<Set<string>>;
  fetchSockets(): Promise<RemoteSocket<EmitEvents, SocketData>[]>;
  socketsJoin(room: Room | Room[]): void;
  socketsLeave(room: Room | Room[]): void;
  disconnectSockets(close?: boolean): void;
}

/** The engine.io connection under a socket (`socket.conn`). */
export interface Connection extends EventEmitter {
  readonly transport: { readonly name: "polling" | "websocket" };
  close(): void;
  /** Emitted once the connection upgraded from long-polling, with the new transport. */
  on(event: "upgrade", listener: (transport: { readonly name: "websocket" }) => void): this;
  once(event: "upgrade", listener: (transport: { readonly name: "websocket" }) => void): this;
}

/** One client in one namespace (socket.io's `Socket`). */
export declare class Socket<ListenEvents extends EventsMap = DefaultEventsMap, EmitEvents extends EventsMap = ListenEvents, ServerSideEvents extends EventsMap = DefaultEventsMap, SocketData = any> extends EventEmitter {
  readonly id: string;
  readonly nsp: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>;
  readonly server: Server<ListenEvents, EmitEvents, ServerSideEvents, SocketData>;
  readonly conn: Connection;
  data: SocketData;
  readonly connected: boolean;
  readonly disconnected: boolean;
  readonly recovered: boolean;
  readonly handshake: Handshake;
  /**
   * The handshake's HTTP request: Node's `IncomingMessage` when attached to a Node server
   * with `io.engine.use` middlewares (with what they added, e.g. `session`), otherwise
   * an object with the headers, url, method and remote address of the handshake
   * (`HandshakeRequest`). Typed as socket.io types it.
   */
  readonly request: IncomingMessage;
  readonly rooms: Set<Room>;
  readonly broadcast: BroadcastOperator<EmitEvents, SocketData>;
  readonly volatile: this;
  compress(compress: boolean): this;
  emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean;
  emitWithAck<Ev extends EventNamesWithAck<EmitEvents>>(ev: Ev, ...args: EventParamsWithoutAck<EmitEvents, Ev>): Promise<AckResult<EmitEvents, Ev>>;
  timeout(timeout: number): Socket<ListenEvents, DecorateAcknowledgements<EmitEvents>, ServerSideEvents, SocketData>;
  send(...args: any[]): this;
  join(rooms: Room | Room[]): void;
  leave(room: Room): void;
  to(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>;
  in(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>;
  except(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>;
  disconnect(close?: boolean): this;
  use(fn: (event: [string, ...any[]], next: (err?: Error) => void) => void): this;
  onAny(listener: (event: string, ...args: any[]) => void): this;
  prependAny(listener: (event: string, ...args: any[]) => void): this;
  offAny(listener?: (event: string, ...args: any[]) => void): this;
  listenersAny(): Array<(event: string, ...args: any[]) => void>;
  onAnyOutgoing(listener: (event: string, ...args: any[]) => void): this;
  prependAnyOutgoing(listener: (event: string, ...args: any[]) => void): this;
  offAnyOutgoing(listener?: (event: string, ...args: any[]) => void): this;
  listenersAnyOutgoing(): Array<(event: string, ...args: any[]) => void>;
  on<Ev extends EventNames<ListenEvents> | keyof SocketReservedEventsMap>(
    ev: Ev,
    listener: Ev extends keyof SocketReservedEventsMap ? SocketReservedEventsMap[Ev] : Ev extends EventNames<ListenEvents> ? ListenEvents[Ev] : never,
  ): this;
  once<Ev extends EventNames<ListenEvents> | keyof SocketReservedEventsMap>(
    ev: Ev,
    listener: Ev extends keyof SocketReservedEventsMap ? SocketReservedEventsMap[Ev] : Ev extends EventNames<ListenEvents> ? ListenEvents[Ev] : never,
  ): this;
  off(ev?: string | symbol, listener?: (...args: any[]) => void): this;
}

// ---- namespaces and the server -----------------------------------------------------------

/** What a namespace and the server offer for emitting to, and acting on, many sockets. */
export interface Broadcasting<ListenEvents extends EventsMap = DefaultEventsMap, EmitEvents extends EventsMap = ListenEvents, ServerSideEvents extends EventsMap = DefaultEventsMap, SocketData = any> {
  use(fn: Middleware<ListenEvents, EmitEvents, ServerSideEvents, SocketData>): this;
  to(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>;
  in(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>;
  except(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>;
  compress(compress: boolean): BroadcastOperator<EmitEvents, SocketData>;
  readonly volatile: BroadcastOperator<EmitEvents, SocketData>;
  readonly local: BroadcastOperator<EmitEvents, SocketData>;
  timeout(timeout: number): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData>;
  emitWithAck<Ev extends EventNamesWithAck<EmitEvents>>(ev: Ev, ...args: EventParamsWithoutAck<EmitEvents, Ev>): Promise<DecoratedAckResult<EmitEvents, Ev>>;
  send(...args: any[]): this;
  allSockets(): Promise<Set<string>>;
  fetchSockets(): Promise<RemoteSocket<EmitEvents, SocketData>[]>;
  socketsJoin(room: Room | Room[]): void;
  socketsLeave(room: Room | Room[]): void;
  disconnectSockets(close?: boolean): void;
  /** Sends an event to the other servers of the cluster; a function last receives `(err, responses)`. */
  serverSideEmit<Ev extends EventNames<ServerSideEvents>>(ev: Ev, ...args: EventParams<DecorateAcknowledgementsWithMultipleResponses<ServerSideEvents>, Ev>): boolean;
  serverSideEmitWithAck<Ev extends EventNamesWithAck<ServerSideEvents>>(ev: Ev, ...args: EventParamsWithoutAck<ServerSideEvents, Ev>): Promise<AckResult<ServerSideEvents, Ev>[]>;
}

export interface Namespace<ListenEvents extends EventsMap = DefaultEventsMap, EmitEvents extends EventsMap = ListenEvents, ServerSideEvents extends EventsMap = DefaultEventsMap, SocketData = any> extends Broadcasting<ListenEvents, EmitEvents, ServerSideEvents, SocketData> {}
/** What polysocket's `namespace.adapter` offers of socket.io's in-memory adapter. */
export interface NamespaceAdapter {
  readonly nsp: Namespace;
  /** Room → ids of this server's sockets in it (a snapshot). */
  readonly rooms: Map<string, Set<string>>;
  /** Socket id → its rooms (a snapshot). */
  readonly sids: Map<string, Set<string>>;
  /** The rooms of every server of the cluster. */
  allRooms(): Promise<Set<string>>;
}
/** A namespace: its sockets, middlewares and broadcasts (socket.io's `Namespace`). */
export declare class Namespace<ListenEvents extends EventsMap = DefaultEventsMap, EmitEvents extends EventsMap = ListenEvents, ServerSideEvents extends EventsMap = DefaultEventsMap, SocketData = any> extends EventEmitter {
  readonly name: string;
  readonly server: Server<ListenEvents, EmitEvents, ServerSideEvents, SocketData>;
  readonly sockets: Map<string, Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>;
  /** socket.io's `namespace.adapter`, read-only: snapshots of this server's rooms and `allRooms()` across the cluster. */
  readonly adapter: NamespaceAdapter;
  /** Emits to every socket of the namespace (the server: of `/`), on every server of a cluster. */
  emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean;
  on<Ev extends keyof NamespaceReservedEventsMap<ListenEvents, EmitEvents, ServerSideEvents, SocketData> | EventNames<ServerSideEvents>>(
    ev: Ev,
    listener: Ev extends keyof NamespaceReservedEventsMap<ListenEvents, EmitEvents, ServerSideEvents, SocketData>
      ? NamespaceReservedEventsMap<ListenEvents, EmitEvents, ServerSideEvents, SocketData>[Ev]
      : Ev extends EventNames<ServerSideEvents> ? ServerSideEvents[Ev] : never,
  ): this;
}

/** The parent of dynamic namespaces (`io.of(/regex/)`, `io.of(fn)`). */
export declare class ParentNamespace<ListenEvents extends EventsMap = DefaultEventsMap, EmitEvents extends EventsMap = ListenEvents, ServerSideEvents extends EventsMap = DefaultEventsMap, SocketData = any> extends Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData> {}

/** Decides whether a client may connect to a dynamic namespace `name`. */
export type ParentNspNameMatchFn = (name: string, auth: { [key: string]: any }, fn: (err: Error | null, success: boolean) => void) => void;

/** engine.io's `connection_error` argument. */
export interface ConnectionError extends Error {
  code: number;
  message: string;
  context: { message?: string; name?: string };
  req: IncomingRequest | IncomingMessage;
}

/** An Express-style middleware for `io.engine.use`. */
export type EngineMiddleware = (req: IncomingMessage, res: ServerResponse, next: (err?: Error) => void) => void;

/** engine.io's server as `io.engine` exposes it. */
export declare class Engine extends EventEmitter {
  readonly clientsCount: number;
  /**
   * Runs `middleware` on every HTTP request and WebSocket upgrade of the engine (express-session,
   * helmet, ...); `next(err)` refuses the request with a 400. Only when attached to a Node
   * `http.Server`; headers set on an upgrade's response are sent with its `101`.
   */
  use(middleware: EngineMiddleware): this;
  on(ev: "connection_error", listener: (err: ConnectionError) => void): this;
  /**
   * engine.io's `initial_headers` (the answer to a request that opens a connection) and
   * `headers` (every answer): change `headers` to change what is sent, e.g. to set a cookie.
   * Standalone, `req` has the request's `method`, `url` and `headers` only.
   */
  on(ev: "initial_headers" | "headers", listener: (headers: OutgoingHttpHeaders, req: IncomingMessage) => void): this;
  on(ev: string, listener: (...args: any[]) => void): this;
}

/** The Node servers `new Server(srv)` and `io.attach(srv)` accept. */
export type AttachTarget = HttpServer | HttpsServer | Http2SecureServer | Http2Server;

export interface Server<ListenEvents extends EventsMap = DefaultEventsMap, EmitEvents extends EventsMap = ListenEvents, ServerSideEvents extends EventsMap = DefaultEventsMap, SocketData = any> extends Broadcasting<ListenEvents, EmitEvents, ServerSideEvents, SocketData> {}
/** socket.io's `Server`, served by polysocket's Rust engine. */
export declare class Server<ListenEvents extends EventsMap = DefaultEventsMap, EmitEvents extends EventsMap = ListenEvents, ServerSideEvents extends EventsMap = DefaultEventsMap, SocketData = any> extends EventEmitter {
  constructor(opts?: Partial<ServerOptions>);
  constructor(srv?: AttachTarget | number, opts?: Partial<ServerOptions>);
  readonly sockets: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>;
  readonly engine: Engine;
  readonly opts: Partial<ServerOptions>;
  /** Emits to every socket of the namespace (the server: of `/`), on every server of a cluster. */
  emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean;
  /** Resolves with the bound port once `listen` bound it (polysocket addition). */
  listening?: Promise<number>;
  of(nsp: string | RegExp | ParentNspNameMatchFn, fn?: (socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) => void): Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>;
  listen(srv: AttachTarget | number, opts?: Partial<ServerOptions> & { host?: string }): this;
  attach(srv: AttachTarget | number, opts?: Partial<ServerOptions> & { host?: string }): this;
  /** The adapter: the `adapter` option, or the one set with `adapter(value)`. */
  adapter(): PolysocketAdapter | undefined;
  /**
   * Joins the cluster of `value` for every namespace (socket.io's `io.adapter(createAdapter(..))`),
   * before any client connects; connecting to Redis blocks until it answers.
   */
  adapter(value: PolysocketAdapter): this;
  /** Resolves once the Redis adapter (if any) listens to the other servers (polysocket addition). */
  clusterReady(): Promise<void>;
  on<Ev extends keyof ServerReservedEventsMap<ListenEvents, EmitEvents, ServerSideEvents, SocketData> | EventNames<ServerSideEvents>>(
    ev: Ev,
    listener: Ev extends keyof ServerReservedEventsMap<ListenEvents, EmitEvents, ServerSideEvents, SocketData>
      ? ServerReservedEventsMap<ListenEvents, EmitEvents, ServerSideEvents, SocketData>[Ev]
      : Ev extends EventNames<ServerSideEvents> ? ServerSideEvents[Ev] : never,
  ): this;
  /** Closes every connection and stops listening; `fn` runs once closed. */
  close(fn?: (err?: Error) => void): Promise<void>;
}

export default Server;
