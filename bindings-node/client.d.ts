// Types of polysocket/client: socket.io-client 4.8's API (names, generics, options) on
// polysocket's Rust client.
import { EventEmitter } from "node:events";
import type {
  AckResult,
  DecorateAcknowledgements,
  DecoratedAckResult,
  DefaultEventsMap,
  EventNames,
  EventNamesWithAck,
  EventParams,
  EventParamsWithoutAck,
  EventsMap,
} from "./index";

export type { DefaultEventsMap, EventsMap } from "./index";

/** socket.io-client's Manager options that polysocket implements. */
export interface ManagerOptions {
  path: string;
  query: Record<string, string> | string;
  transports: Array<"polling" | "websocket">;
  upgrade: boolean;
  extraHeaders: Record<string, string>;
  withCredentials: boolean;
  forceNew: boolean;
  multiplex: boolean;
  autoConnect: boolean;
  reconnection: boolean;
  reconnectionAttempts: number;
  reconnectionDelay: number;
  reconnectionDelayMax: number;
  randomizationFactor: number;
  timeout: number;
  /** `require("socket.io-msgpack-parser")` selects the msgpack parser. */
  parser: { Encoder: new () => unknown; Decoder: new () => unknown };
}

/** socket.io-client's Socket options. */
export interface SocketOptions {
  /** The CONNECT payload, or a function giving it for every (re)connection. */
  auth: { [key: string]: any } | ((cb: (data: object) => void) => void);
  /** Default timeout of acknowledgements (callbacks then get an error first). */
  ackTimeout: number;
  /** Times an emit is retried when no ack comes within `ackTimeout`. */
  retries: number;
}

/** Why a client socket disconnected (socket.io-client's reasons). */
export type DisconnectReason =
  | "io server disconnect"
  | "io client disconnect"
  | "ping timeout"
  | "transport close"
  | "transport error"
  | "parse error";

/** The events the client emits on a socket. */
export interface SocketReservedEvents {
  connect: () => void;
  connect_error: (err: Error & { data?: any }) => void;
  disconnect: (reason: DisconnectReason, description?: any) => void;
}

/** socket.io-client's `Manager`: one connection for the sockets of several namespaces. */
export declare class Manager extends EventEmitter {
  constructor(uri: string, opts?: Partial<ManagerOptions & SocketOptions>);
  readonly opts: Partial<ManagerOptions & SocketOptions>;
  readonly engine: { readonly id: string | undefined; readonly transport: { readonly name: "polling" | "websocket" } | undefined };
  socket(nsp: string, opts?: Partial<SocketOptions>): Socket;
  open(fn?: (err?: Error) => void): this;
  connect(fn?: (err?: Error) => void): this;
  reconnection(): boolean;
  on(ev: "open" | "reconnect_failed", listener: () => void): this;
  on(ev: "close", listener: (reason: string) => void): this;
  on(ev: "error" | "reconnect_error", listener: (err: Error) => void): this;
  on(ev: "reconnect_attempt" | "reconnect", listener: (attempt: number) => void): this;
  on(ev: string, listener: (...args: any[]) => void): this;
}

/** socket.io-client's `Socket`: one namespace. `emit` sends to the server. */
export declare class Socket<ListenEvents extends EventsMap = DefaultEventsMap, EmitEvents extends EventsMap = ListenEvents> {
  readonly io: Manager;
  readonly nsp: string;
  readonly id: string | undefined;
  readonly connected: boolean;
  readonly disconnected: boolean;
  readonly active: boolean;
  readonly recovered: boolean;
  auth: SocketOptions["auth"];
  readonly volatile: this;
  connect(): this;
  open(): this;
  disconnect(): this;
  close(): this;
  send(...args: any[]): this;
  emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): this;
  emitWithAck<Ev extends EventNamesWithAck<EmitEvents>>(ev: Ev, ...args: EventParamsWithoutAck<EmitEvents, Ev>): Promise<AckResult<EmitEvents, Ev> | DecoratedAckResult<EmitEvents, Ev>>;
  timeout(timeout: number): Socket<ListenEvents, DecorateAcknowledgements<EmitEvents>>;
  compress(compress: boolean): this;
  onAny(listener: (event: string, ...args: any[]) => void): this;
  prependAny(listener: (event: string, ...args: any[]) => void): this;
  offAny(listener?: (event: string, ...args: any[]) => void): this;
  listenersAny(): Array<(event: string, ...args: any[]) => void>;
  onAnyOutgoing(listener: (event: string, ...args: any[]) => void): this;
  prependAnyOutgoing(listener: (event: string, ...args: any[]) => void): this;
  offAnyOutgoing(listener?: (event: string, ...args: any[]) => void): this;
  listenersAnyOutgoing(): Array<(event: string, ...args: any[]) => void>;
  on<Ev extends EventNames<ListenEvents> | keyof SocketReservedEvents>(
    ev: Ev,
    listener: Ev extends keyof SocketReservedEvents ? SocketReservedEvents[Ev] : Ev extends EventNames<ListenEvents> ? ListenEvents[Ev] : never,
  ): this;
  once<Ev extends EventNames<ListenEvents> | keyof SocketReservedEvents>(
    ev: Ev,
    listener: Ev extends keyof SocketReservedEvents ? SocketReservedEvents[Ev] : Ev extends EventNames<ListenEvents> ? ListenEvents[Ev] : never,
  ): this;
  off(ev?: string, listener?: (...args: any[]) => void): this;
  removeAllListeners(ev?: string): this;
  listeners(ev: string): Array<(...args: any[]) => void>;
  listenerCount(ev: string): number;
}

/** socket.io-client's `io(url, opts)`. */
declare function lookup<ListenEvents extends EventsMap = DefaultEventsMap, EmitEvents extends EventsMap = ListenEvents>(
  uri: string,
  opts?: Partial<ManagerOptions & SocketOptions>,
): Socket<ListenEvents, EmitEvents>;

export { lookup as io, lookup as connect };
export const protocol: number;
export default lookup;
