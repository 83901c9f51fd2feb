// Types for polysocket's Node binding: the subset of socket.io's server API it implements
// today (see README.md). Names and signatures follow socket.io 4.8.
import { EventEmitter } from "node:events";

export interface ServerOptions {
  path?: string;
  pingInterval?: number;
  pingTimeout?: number;
  connectTimeout?: number;
  upgradeTimeout?: number;
  maxHttpBufferSize?: number;
  allowUpgrades?: boolean;
  transports?: Array<"polling" | "websocket">;
  cors?: { origin?: string | boolean | string[]; credentials?: boolean };
  cleanupEmptyChildNamespaces?: boolean;
  perMessageDeflate?: boolean | { threshold?: number };
  httpCompression?: boolean | { threshold?: number };
  cookie?:
    | boolean
    | { name?: string; path?: string | false; httpOnly?: boolean; secure?: boolean; maxAge?: number; sameSite?: "strict" | "lax" | "none" };
  connectionStateRecovery?: { maxDisconnectionDuration?: number; skipMiddlewares?: boolean };
}

export interface Handshake {
  headers: Record<string, string>;
  time: string;
  address: string | null;
  xdomain: boolean;
  secure: boolean;
  issued: number;
  url: string;
  query: Record<string, string>;
  auth: Record<string, unknown>;
}

export declare class RemoteSocket {
  readonly id: string;
  readonly handshake: Handshake;
  readonly rooms: Set<string>;
  readonly data: any;
  emit(event: string, ...args: unknown[]): boolean;
  join(room: string | string[]): void;
  leave(room: string | string[]): void;
  disconnect(close?: boolean): this;
}

/** A middleware: call `next()` to admit, `next(err)` (with an optional `err.data`) to refuse. */
export type Middleware = (socket: Socket, next: (err?: Error & { data?: unknown }) => void) => void;

/** Server-wide operations on the selected sockets, on every server of a cluster. */
export interface Utilities {
  timeout(ms: number): BroadcastOperator;
  emitWithAck(event: string, ...args: unknown[]): Promise<any[]>;
  fetchSockets(): Promise<RemoteSocket[]>;
  socketsJoin(rooms: string | string[]): void;
  socketsLeave(rooms: string | string[]): void;
  disconnectSockets(close?: boolean): void;
}

export interface BroadcastOperator extends Utilities {}
export declare class BroadcastOperator {
  to(room: string | string[]): BroadcastOperator;
  in(room: string | string[]): BroadcastOperator;
  except(room: string | string[]): BroadcastOperator;
  readonly volatile: BroadcastOperator;
  readonly local: BroadcastOperator;
  compress(compress: boolean): BroadcastOperator;
  emit(event: string, ...args: unknown[]): boolean;
  allSockets(): Promise<Set<string>>;
}

export declare class Socket extends EventEmitter {
  readonly id: string;
  readonly nsp: Namespace;
  readonly server: Server;
  data: any;
  readonly connected: boolean;
  readonly disconnected: boolean;
  readonly recovered: boolean;
  readonly handshake: Handshake;
  readonly rooms: Set<string>;
  readonly broadcast: BroadcastOperator;
  emit(event: string, ...args: unknown[]): boolean;
  emitWithAck(event: string, ...args: unknown[]): Promise<any>;
  timeout(ms: number): Socket;
  send(...args: unknown[]): boolean;
  join(rooms: string | string[]): void;
  leave(room: string): void;
  to(room: string | string[]): BroadcastOperator;
  in(room: string | string[]): BroadcastOperator;
  except(room: string | string[]): BroadcastOperator;
  disconnect(close?: boolean): this;
  use(fn: (packet: [string, ...unknown[]], next: (err?: Error) => void) => void): this;
  onAny(listener: (event: string, ...args: any[]) => void): this;
  prependAny(listener: (event: string, ...args: any[]) => void): this;
  offAny(listener?: (event: string, ...args: any[]) => void): this;
  listenersAny(): Array<(event: string, ...args: any[]) => void>;
  onAnyOutgoing(listener: (event: string, ...args: any[]) => void): this;
  prependAnyOutgoing(listener: (event: string, ...args: any[]) => void): this;
  offAnyOutgoing(listener?: (event: string, ...args: any[]) => void): this;
  listenersAnyOutgoing(): Array<(event: string, ...args: any[]) => void>;
  on(event: "disconnect", listener: (reason: string) => void): this;
  on(event: string, listener: (...args: any[]) => void): this;
}

/** What a namespace and the server offer for emitting to many sockets. */
export interface Broadcasting extends Utilities {
  use(fn: Middleware): this;
  to(room: string | string[]): BroadcastOperator;
  in(room: string | string[]): BroadcastOperator;
  except(room: string | string[]): BroadcastOperator;
  readonly volatile: BroadcastOperator;
  readonly local: BroadcastOperator;
  compress(compress: boolean): BroadcastOperator;
}

export interface Namespace extends Broadcasting {}
export declare class Namespace extends EventEmitter {
  readonly name: string;
  readonly server: Server;
  readonly sockets: Map<string, Socket>;
  on(event: "connection" | "connect", listener: (socket: Socket) => void): this;
  on(event: string, listener: (...args: any[]) => void): this;
  emit(event: string, ...args: unknown[]): boolean;
  send(...args: unknown[]): boolean;
  allSockets(): Promise<Set<string>>;
}

export interface Server extends Broadcasting {}
export declare class Server extends EventEmitter {
  constructor(opts?: ServerOptions);
  constructor(port: number, opts?: ServerOptions);
  readonly sockets: Namespace;
  readonly engine: { readonly clientsCount: number };
  /** Resolves with the bound port once `listen` has bound it (polysocket addition). */
  listening?: Promise<number>;
  of(name: string): Namespace;
  listen(port: number, opts?: { host?: string }): this;
  attach(port: number, opts?: { host?: string }): this;
  on(event: "connection" | "connect", listener: (socket: Socket) => void): this;
  on(event: string, listener: (...args: any[]) => void): this;
  emit(event: string, ...args: unknown[]): boolean;
  send(...args: unknown[]): boolean;
  close(fn?: (err?: Error) => void): Promise<void>;
}

export default Server;
