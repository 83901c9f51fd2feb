// polysocket's Redis adapter for Node: the cluster runs in the Rust engine and speaks
// @socket.io/redis-adapter's format, so polysocket and socket.io servers share one cluster.
//
//   const { createAdapter } = require("polysocket/redis-adapter");
//   const io = new Server(httpServer, { adapter: createAdapter("redis://127.0.0.1:6379") });
//   // or, as with @socket.io/redis-adapter, before the first client connects:
//   io.adapter(createAdapter(pubClient, subClient));
"use strict";

/** A Redis URL from a URL string or a node-redis / ioredis client's options. */
function redisUrl(target) {
  if (typeof target === "string") return target;
  const options = target && target.options;
  if (options && typeof options.url === "string") return options.url;
  if (options && options.socket && options.socket.host) {
    return `redis://${options.socket.host}:${options.socket.port ?? 6379}/${options.database ?? 0}`;
  }
  if (options && options.host) return `redis://${options.host}:${options.port ?? 6379}/${options.db ?? 0}`;
  throw new Error("polysocket/redis-adapter: pass a Redis URL (or a node-redis / ioredis client)");
}

/** The adapter option value: a function (as socket.io's adapters are) carrying the cluster
 * description for polysocket's engine. */
function adapterOption(cluster) {
  const adapter = function polysocketRedisAdapter() {
    throw new Error("polysocket/redis-adapter works only with polysocket's Server");
  };
  adapter.polysocketCluster = cluster;
  return adapter;
}

/**
 * `@socket.io/redis-adapter`'s `createAdapter`: `target` is a Redis URL or a Redis client
 * (its address is used; polysocket opens its own connections). Options: `key` (default
 * "socket.io"), `requestsTimeout` (default 5000), `publishOnSpecificResponseChannel`.
 * A second client argument (socket.io's subClient) is accepted and ignored.
 */
function createAdapter(target, subClientOrOpts, maybeOpts) {
  const opts = (maybeOpts ?? (subClientOrOpts && !subClientOrOpts.options ? subClientOrOpts : undefined)) ?? {};
  return adapterOption({
    url: redisUrl(target),
    sharded: false,
    key: opts.key,
    requestsTimeout: opts.requestsTimeout,
    publishOnSpecificResponseChannel: opts.publishOnSpecificResponseChannel,
  });
}

/**
 * `@socket.io/redis-adapter`'s `createShardedAdapter` (Redis 7 sharded pub/sub). Options:
 * `channelPrefix` (default "socket.io"), `subscriptionMode` ("static", "dynamic" (default),
 * "dynamic-private").
 */
function createShardedAdapter(target, subClientOrOpts, maybeOpts) {
  const opts = (maybeOpts ?? (subClientOrOpts && !subClientOrOpts.options ? subClientOrOpts : undefined)) ?? {};
  return adapterOption({
    url: redisUrl(target),
    sharded: true,
    channelPrefix: opts.channelPrefix,
    subscriptionMode: opts.subscriptionMode,
  });
}

module.exports = { createAdapter, createShardedAdapter };
