// Types of polysocket/redis-adapter: @socket.io/redis-adapter's factories, run by the Rust engine.
import type { PolysocketAdapter } from "./index";

/** A Redis URL, or a node-redis / ioredis client whose address is used (polysocket opens its own connections). */
export type RedisTarget = string | { options?: unknown };

/** `createAdapter`'s options (those of @socket.io/redis-adapter that the cluster format needs). */
export interface RedisAdapterOptions {
  /** Prefix of the pub/sub channels. Default "socket.io". */
  key?: string;
  /** How long to wait for the other servers' answers, in ms. Default 5000. */
  requestsTimeout?: number;
  /** Answer on a channel specific to the requesting server. Default false. */
  publishOnSpecificResponseChannel?: boolean;
}

/** `createShardedAdapter`'s options (Redis 7 sharded pub/sub). */
export interface ShardedRedisAdapterOptions {
  /** Prefix of the channels. Default "socket.io". */
  channelPrefix?: string;
  /** How rooms map to channels. Default "dynamic". */
  subscriptionMode?: "static" | "dynamic" | "dynamic-private";
}

/** The classic Redis adapter; the second client (socket.io's subClient) is accepted and ignored. */
export function createAdapter(target: RedisTarget, opts?: RedisAdapterOptions): PolysocketAdapter;
export function createAdapter(target: RedisTarget, subClient: RedisTarget, opts?: RedisAdapterOptions): PolysocketAdapter;

/** The sharded Redis adapter. */
export function createShardedAdapter(target: RedisTarget, opts?: ShardedRedisAdapterOptions): PolysocketAdapter;
export function createShardedAdapter(target: RedisTarget, subClient: RedisTarget, opts?: ShardedRedisAdapterOptions): PolysocketAdapter;
