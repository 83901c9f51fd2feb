// npm socket.io-client against the app of app.py: prints one JSON line of what it saw.
// Usage: node node_client.js <url> <transports comma-separated>
const path = require("node:path");
const { io } = require(path.join(__dirname, "../../tests/interop/node_modules/socket.io-client"));

const [url, transports] = process.argv.slice(2);
const deadline = setTimeout(() => {
  console.log(JSON.stringify({ error: "timed out" }));
  process.exit(1);
}, 10_000);

async function main() {
  const socket = io(url, { transports: transports.split(","), auth: { user: "node" }, reconnection: false });
  const welcome = await new Promise((resolve, reject) => {
    socket.once("welcome", resolve);
    socket.once("connect_error", reject);
  });
  const echo = await socket.emitWithAck("echo", ["a", { n: 1 }, Buffer.from([1, 2, 3])]);
  const whoami = await socket.emitWithAck("whoami");
  socket.on("question", (data, ack) => ack({ answer: data }));
  const asked = await socket.emitWithAck("ask", { q: "node" }, 2);
  const joined = await socket.emitWithAck("join", "green");
  const reason = new Promise((resolve) => socket.once("disconnect", resolve));
  socket.emit("kick");
  console.log(JSON.stringify({
    welcome,
    id: socket.id,
    echo: [echo[0], echo[1], Array.from(echo[2])],
    whoami,
    asked,
    joined,
    reason: await reason,
  }));
  clearTimeout(deadline);
}

main().catch((error) => {
  console.log(JSON.stringify({ error: String(error && error.message) }));
  process.exit(1);
});
