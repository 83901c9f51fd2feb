// The mixed cluster with npm @socket.io/redis-adapter's sharded adapter (createShardedAdapter,
// Redis 7 SSUBSCRIBE/SPUBLISH) in its default dynamic mode and in static mode: see
// cluster-suite.js.
"use strict";

const { describe } = require("node:test");
const { clusterSuite } = require("./cluster-suite");

describe("sharded, dynamic", () => clusterSuite({ sharded: "dynamic" }));
describe("sharded, static", () => clusterSuite({ sharded: "static" }));
describe("sharded, dynamic-private", () => clusterSuite({ sharded: "dynamic-private" }));
