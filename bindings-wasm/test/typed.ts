// Compiled with tsc (no emit) in CI: the typings accept socket.io-client-style code and
// reject mistakes (the @ts-expect-error lines).
import { io, Manager, Socket } from "../js/index.js";

interface ServerToClient {
  welcome: (data: { id: string }) => void;
  news: (text: string) => void;
}
interface ClientToServer {
  echo: (text: string, ack: (answer: string) => void) => void;
  join: (room: string) => void;
}

const socket: Socket<ServerToClient, ClientToServer> = io("http://localhost:3000", {
  transports: ["websocket"],
  auth: { token: "t" },
  reconnectionDelay: 100,
});
socket.on("welcome", (data) => console.log(data.id.toUpperCase()));
socket.on("connect_error", (err) => console.log(err.message, err.data));
socket.emit("join", "room");
socket.emit("echo", "hi", (answer) => console.log(answer.length));
async function main(): Promise<number> {
  const answer: string = await socket.timeout(1000).emitWithAck("echo", "hi");
  return answer.length;
}
void main();
// @ts-expect-error: `join` takes a string
socket.emit("join", 42);
// @ts-expect-error: unknown transport
io({ transports: ["carrier-pigeon"] });
const manager = new Manager("http://localhost:3000", { reconnection: false });
manager.on("reconnect_attempt", (n) => console.log(n + 1));
const name: "polling" | "websocket" | undefined = manager.engine.transport.name;
console.log(name, manager.socket("/admin").connected);
const delay: number | undefined = manager.reconnectionDelay(500).reconnectionDelay();
console.log(delay, manager.reconnection(true).timeout());
// @ts-expect-error: reconnection takes a boolean
manager.reconnection(1);
