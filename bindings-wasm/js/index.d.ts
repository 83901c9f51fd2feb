// Types of polysocket-client: socket.io-client's API on polysocket's WASM client.

/** A map of event names to listener signatures, as in socket.io-client. */
export interface EventsMap {
  [event: string]: any;
}
/** The events of an untyped socket. */
export interface DefaultEventsMap {
  [event: string]: (...args: any[]) => void;
}
type EventNames<Map extends EventsMap> = keyof Map & string;
type EventParams<Map extends EventsMap, Ev extends EventNames<Map>> =
  Map[Ev] extends (...args: infer P) => any ? P : never;
type Last<T extends any[]> = T extends [...infer _, infer L] ? L : never;
type AllButLast<T extends any[]> = T extends [...infer H, infer _] ? H : never;
type FirstArg<T> = T extends (arg: infer A, ...rest: any[]) => any ? A : any;

/** socket.io-client's Manager options that polysocket honours. */
export interface ManagerOptions {
  /** The server's path (default `/socket.io/`). */
  path: string;
  /** The transports, in the order tried (default polling, then websocket). */
  transports: ("polling" | "websocket")[];
  /** Upgrade from polling to WebSocket (default true). */
  upgrade: boolean;
  /** Reconnect automatically (default true). */
  reconnection: boolean;
  /** Attempts before giving up (default Infinity). */
  reconnectionAttempts: number;
  /** First delay between attempts, in ms (default 1000). */
  reconnectionDelay: number;
  /** Longest delay between attempts, in ms (default 5000). */
  reconnectionDelayMax: number;
  /** Jitter of the delay, 0 to 1 (default 0.5). */
  randomizationFactor: number;
  /** Connection timeout, in ms (default 20000). */
  timeout: number;
  /** Connect when created (default true). */
  autoConnect: boolean;
  /** A new connection instead of a shared one. */
  forceNew: boolean;
  /** Share connections per origin (default true). */
  multiplex: boolean;
  /** Long-polling requests send and keep cookies across origins (default false). */
  withCredentials: boolean;
  /** Headers of the long-polling requests (a browser's WebSocket cannot send any). */
  extraHeaders: { [header: string]: string };
  /** Query parameters added to every request (the URL's query when not given). */
  query: string | { [key: string]: string };
}

/** socket.io-client's Socket options. */
export interface SocketOptions {
  /** The CONNECT payload, or a function that gives it to a callback. */
  auth: { [key: string]: any } | ((cb: (data: object) => void) => void);
  /** Default timeout of acknowledgements, in ms (error-first callbacks then), and the wait
   * of each try with `retries`. */
  ackTimeout: number;
  /** Deliver every emit at least once: one at a time, sent again up to this many times when
   * no ack comes within `ackTimeout` (default 0: off). */
  retries: number;
}

/** Events of a Manager. */
export interface ManagerReservedEvents {
  open: () => void;
  close: (reason: string) => void;
  error: (err: Error) => void;
  reconnect_attempt: (attempt: number) => void;
  reconnect: (attempt: number) => void;
  reconnect_error: (err: Error) => void;
  reconnect_failed: () => void;
}

/** Events every Socket has. */
export interface SocketReservedEvents {
  connect: () => void;
  connect_error: (err: Error & { data?: any }) => void;
  disconnect: (reason: string) => void;
}

/** One connection (socket.io-client's `Manager`). */
export declare class Manager {
  constructor(uri?: string, opts?: Partial<ManagerOptions & SocketOptions>);
  readonly opts: Partial<ManagerOptions & SocketOptions>;
  readonly nsps: Record<string, Socket>;
  /** What is known of the Engine.IO connection. */
  readonly engine: { readonly transport: { readonly name: "polling" | "websocket" | undefined } };
  /** The socket of a namespace on this connection. */
  socket(nsp: string, opts?: Partial<SocketOptions>): Socket;
  /** Closes the connection and stops reconnecting. */
  close(): void;
  disconnect(): void;
  on<Ev extends keyof ManagerReservedEvents>(ev: Ev, listener: ManagerReservedEvents[Ev]): this;
  once<Ev extends keyof ManagerReservedEvents>(ev: Ev, listener: ManagerReservedEvents[Ev]): this;
  off<Ev extends keyof ManagerReservedEvents>(ev?: Ev, listener?: ManagerReservedEvents[Ev]): this;
  /** The option's value; with an argument, changes it (from the next connection attempt). */
  reconnection(): boolean | undefined;
  reconnection(v: boolean): this;
  reconnectionAttempts(): number | undefined;
  reconnectionAttempts(v: number): this;
  reconnectionDelay(): number | undefined;
  reconnectionDelay(v: number): this;
  reconnectionDelayMax(): number | undefined;
  reconnectionDelayMax(v: number): this;
  randomizationFactor(): number | undefined;
  randomizationFactor(v: number): this;
  timeout(): number | undefined;
  timeout(v: number): this;
}

/** One namespace over a Manager (socket.io-client's `Socket`). */
export declare class Socket<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
> {
  readonly io: Manager;
  readonly nsp: string;
  /** The socket id, once connected. */
  id: string | undefined;
  connected: boolean;
  readonly disconnected: boolean;
  /** Whether it connects or will reconnect. */
  readonly active: boolean;
  /** Whether connection state recovery restored the last session. */
  recovered: boolean;
  auth: SocketOptions["auth"];
  connect(): this;
  open(): this;
  disconnect(): this;
  close(): this;
  /** Emits; a function as the last argument gets the acknowledgement. */
  emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): this;
  send(...args: any[]): this;
  /** Emits and resolves with the acknowledgement. */
  emitWithAck<Ev extends EventNames<EmitEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<EmitEvents, Ev>>
  ): Promise<FirstArg<Last<EventParams<EmitEvents, Ev>>>>;
  /** The next emit waits `ms` for its acknowledgement. */
  timeout(ms: number): this;
  /** The next emit is dropped unless connected. */
  readonly volatile: this;
  compress(compress: boolean): this;
  on<Ev extends EventNames<ListenEvents>>(ev: Ev, listener: ListenEvents[Ev]): this;
  on<Ev extends keyof SocketReservedEvents>(ev: Ev, listener: SocketReservedEvents[Ev]): this;
  once<Ev extends EventNames<ListenEvents>>(ev: Ev, listener: ListenEvents[Ev]): this;
  once<Ev extends keyof SocketReservedEvents>(ev: Ev, listener: SocketReservedEvents[Ev]): this;
  off(ev?: string, listener?: (...args: any[]) => void): this;
  listeners(ev: string): ((...args: any[]) => void)[];
  hasListeners(ev: string): boolean;
  onAny(listener: (event: string, ...args: any[]) => void): this;
  prependAny(listener: (event: string, ...args: any[]) => void): this;
  offAny(listener?: (event: string, ...args: any[]) => void): this;
  listenersAny(): ((event: string, ...args: any[]) => void)[];
  onAnyOutgoing(listener: (event: string, ...args: any[]) => void): this;
  prependAnyOutgoing(listener: (event: string, ...args: any[]) => void): this;
  offAnyOutgoing(listener?: (event: string, ...args: any[]) => void): this;
  listenersAnyOutgoing(): ((event: string, ...args: any[]) => void)[];
}

/** A socket for `uri`'s namespace, on a connection shared per origin (socket.io-client's `io`). */
export declare function io<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
>(uri?: string, opts?: Partial<ManagerOptions & SocketOptions>): Socket<ListenEvents, EmitEvents>;
export declare function io<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
>(opts: Partial<ManagerOptions & SocketOptions>): Socket<ListenEvents, EmitEvents>;
export { io as connect };
export default io;
