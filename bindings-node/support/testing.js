// Shared helpers of the binding's tests (kept out of test/, where node --test runs every file).
"use strict";

const path = require("node:path");

const INTEROP = path.join(__dirname, "..", "..", "tests", "interop");

/** A module of the interop suite (`node/redis-server`) or of its node_modules
 * (`node_modules/socket.io`): the official npm peers the tests run against. */
function interopModule(name) {
  return require(path.join(INTEROP, name));
}

/** npm socket.io-client 4.8, from the interop suite's node_modules. */
const { io } = interopModule("node_modules/socket.io-client");

/** Longest wait for any single event. */
const WAIT_MS = 3000;

/** Resolves with the arguments of the next `event`; rejects after WAIT_MS. */
function waitFor(emitter, event) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${event}" within ${WAIT_MS} ms`)), WAIT_MS);
    emitter.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

module.exports = { io, WAIT_MS, waitFor, interopModule };
