// The chat client typed with socket.io-client's generics; `tsc` checks it against npm
// socket.io-client and, with the import changed to "polysocket/client", against polysocket.
import { io, Socket } from "socket.io-client";

interface ServerToClientEvents {
  message: (message: { from: string; text: string }) => void;
  whisper: (whisper: { from: string; text: string }, reply: (answer: string) => void) => void;
}

interface ClientToServerEvents {
  join: (room: string, ack: (result: { members: string[] }) => void) => void;
  message: (text: string) => void;
}

const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io("http://localhost:3000", {
  auth: { nickname: "ann" },
  transports: ["websocket"],
  reconnectionDelay: 500,
});

socket.on("connect", () => console.log("connected as", socket.id));
socket.on("connect_error", (err) => console.log(err.message));
socket.on("disconnect", (reason) => console.log(reason.length));
socket.on("message", ({ from, text }) => console.log(`${from}: ${text}`));
socket.on("whisper", (whisper, reply) => reply(whisper.text.toUpperCase()));
socket.emit("join", "lobby", ({ members }) => console.log(members.join(",")));
socket.emit("message", "hello");
socket.timeout(1000).emit("join", "lobby", (err, result) => console.log(err ?? result.members));

async function members(): Promise<string[]> {
  const { members } = await socket.emitWithAck("join", "lobby");
  return members;
}

// @ts-expect-error: the text is a string
socket.emit("message", 42);
// @ts-expect-error: no such server event
socket.on("nope", () => {});

socket.io.on("reconnect_attempt", (attempt) => console.log(attempt + 1));

export { members };
