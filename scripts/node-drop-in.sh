#!/usr/bin/env bash
# The Node binding as a drop-in, from its npm tarball (run by test-all.sh after the release
# build of the addon):
#  1. `npm pack` in bindings-node/ (prebuilt linux-x64-gnu engine inside);
#  2. the tarball installs into an empty folder and runs a server there;
#  3. examples/node-express-chat (an Express + socket.io app) passes its own tests (npm
#     socket.io-client) and `tsc` on npm socket.io; then again with `require("socket.io")` →
#     `require("polysocket")` in the app (and its typed file); then again with the tests'
#     `require("socket.io-client")` → `require("polysocket/client")` too. Nothing else changes.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cp target/release/libpolysocket_node.so bindings-node/polysocket.node
tarball=$(cd bindings-node && npm pack --silent --pack-destination "$work" | tail -1)
echo "packed $tarball: $(tar tzf "$work/$tarball" | sed 's|^package/||' | sort | tr '\n' ' ')"

echo "--- the tarball in an empty folder"
mkdir "$work/empty"
(cd "$work/empty" && npm init -y >/dev/null && npm install --no-audit --no-fund --loglevel=error "$work/$tarball" >/dev/null)
cat > "$work/empty/smoke.js" <<'JS'
const { Server } = require("polysocket");
const { createAdapter } = require("polysocket/redis-adapter");
if (typeof createAdapter !== "function") throw new Error("polysocket/redis-adapter is missing");
const io = new Server();
io.listen(0, { host: "127.0.0.1" });
io.listening.then(async (port) => {
  const reply = await (await fetch(`http://127.0.0.1:${port}/socket.io/?EIO=4&transport=polling`)).text();
  if (!reply.startsWith('0{"sid":')) throw new Error(`unexpected handshake: ${reply}`);
  console.log("installed package serves the handshake:", reply.slice(0, 40));
  await io.close();
});
JS
(cd "$work/empty" && timeout 60 node smoke.js)

echo "--- the Express chat app on npm socket.io"
cp -r examples/node-express-chat "$work/chat"
rm -rf "$work/chat/node_modules"
cd "$work/chat"
npm ci --no-audit --no-fund --loglevel=error >/dev/null
timeout 120 node --test test/
npx tsc -p .

echo "--- the same app on polysocket: one require changed"
npm install --no-save --no-audit --no-fund --loglevel=error "$work/$tarball" >/dev/null
sed -i 's/require("socket.io")/require("polysocket")/' app.js
sed -i 's/from "socket.io"/from "polysocket"/' typed.ts
diff -r "$root/examples/node-express-chat" . -x node_modules -x package-lock.json || true
timeout 120 node --test test/
npx tsc -p .

echo "--- the app on npm socket.io, its tests on polysocket/client: one require changed"
cp "$root/examples/node-express-chat/app.js" "$root/examples/node-express-chat/typed.ts" .
sed -i 's/require("socket.io-client")/require("polysocket\/client")/' test/chat.test.js
sed -i 's/from "socket.io-client"/from "polysocket\/client"/' typed-client.ts
diff -r "$root/examples/node-express-chat" . -x node_modules -x package-lock.json || true
timeout 120 node --test test/
npx tsc -p .

echo "--- both on polysocket"
sed -i 's/require("socket.io")/require("polysocket")/' app.js
sed -i 's/from "socket.io"/from "polysocket"/' typed.ts
diff -r "$root/examples/node-express-chat" . -x node_modules -x package-lock.json || true
timeout 120 node --test test/
npx tsc -p .
echo "drop-in: ok"
