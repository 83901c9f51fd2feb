// A Node socket.io server in a Redis cluster (@socket.io/redis-adapter), for the mixed
// cluster test. Env: REDIS_URL, KEY. Prints "LISTENING <port>".
const path = require("node:path");
const modules = path.join(__dirname, "../../tests/interop/node_modules");
const { Server } = require(path.join(modules, "socket.io"));
const { createClient } = require(path.join(modules, "redis"));
const { createAdapter } = require(path.join(modules, "@socket.io/redis-adapter"));

async function main() {
  const pub = createClient({ url: process.env.REDIS_URL });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  const io = new Server({ adapter: createAdapter(pub, sub, { key: process.env.KEY }) });
  io.on("connection", (socket) => {
    socket.on("join", (room, ack) => { socket.join(room); ack([...socket.rooms].sort()); });
    socket.on("to_room", (room, event, data, ack) => { io.to(room).emit(event, data); ack(true); });
  });
  io.listen(0);
  io.httpServer.on("listening", () => console.log(`LISTENING ${io.httpServer.address().port}`));
}

main().catch((error) => { console.error(error); process.exit(1); });
