// The mixed cluster with npm @socket.io/redis-adapter's classic adapter (createAdapter) and
// @socket.io/redis-emitter: see cluster-suite.js.
"use strict";

require("./cluster-suite").clusterSuite({ sharded: null });
