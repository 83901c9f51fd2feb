// Loads the native engine: a local build (`polysocket.node`, from `npm run build`), else the
// prebuilt binary for this platform shipped in the package
// (`polysocket.<platform>-<arch>[-<libc>].node`), else an optional per-platform package
// (`@polysocket/<platform>-..`).
// POLYSOCKET_NODE_ADDON names a file to load instead.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

/** The platform part of the binary's name, as napi-rs names its targets. */
function platformTriple() {
  const { platform, arch } = process;
  if (platform !== "linux") return `${platform}-${arch}`;
  // glibc reports its version in the process report; musl does not.
  const report = typeof process.report?.getReport === "function" ? process.report.getReport() : null;
  const glibc = report && report.header && report.header.glibcVersionRuntime;
  return `${platform}-${arch}-${glibc ? "gnu" : "musl"}`;
}

function loadNative() {
  if (process.env.POLYSOCKET_NODE_ADDON) return require(process.env.POLYSOCKET_NODE_ADDON);
  const triple = platformTriple();
  const candidates = [path.join(__dirname, "polysocket.node"), path.join(__dirname, `polysocket.${triple}.node`)];
  for (const file of candidates) {
    if (fs.existsSync(file)) return require(file);
  }
  try {
    return require(`@polysocket/${triple}`);
  } catch (error) {
    throw new Error(
      `polysocket: no native engine for ${triple}. Tried ${candidates.join(", ")} and @polysocket/${triple} ` +
        `(${error.message}). Build one with \`npm run build\` in polysocket's bindings-node/.`,
    );
  }
}

module.exports = loadNative();
