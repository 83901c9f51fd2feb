// The chat's events typed with socket.io's generics. `tsc --noEmit` checks this file against
// npm socket.io's types and, with the import changed to "polysocket", against polysocket's:
// the same code must compile, and the same mistakes (marked @ts-expect-error) must not.
import { createServer } from "node:http";
import { Server, Socket } from "socket.io";

interface ServerToClientEvents {
  message: (message: { from: string; text: string }) => void;
  whisper: (whisper: { from: string; text: string }, reply: (answer: string) => void) => void;
}

interface ClientToServerEvents {
  join: (room: string, ack: (result: { members: string[] }) => void) => void;
  message: (text: string) => void;
}

interface InterServerEvents {
  ping: (n: number, callback: (pong: string) => void) => void;
}

interface SocketData {
  nickname: string;
}

type ChatSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

const io = new Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>(createServer(), {
  pingInterval: 10000,
  cors: { origin: ["http://localhost:3000"], credentials: true },
  connectionStateRecovery: { maxDisconnectionDuration: 60_000 },
});

io.use((socket, next) => {
  socket.data.nickname = String(socket.handshake.auth.nickname);
  next();
});

io.on("connection", (socket: ChatSocket) => {
  const nickname: string = socket.data.nickname;
  socket.on("join", async (room, ack) => {
    socket.join(room);
    const members = (await io.in(room).fetchSockets()).map((s) => s.data.nickname);
    ack({ members });
  });
  socket.on("message", (text) => {
    io.to([...socket.rooms]).except(socket.id).emit("message", { from: nickname, text });
  });
  socket.on("disconnect", (reason) => console.log(nickname, reason.toUpperCase()));
  socket.timeout(1000).emit("whisper", { from: "server", text: "hi" }, (err, answer) => {
    if (!err) console.log(answer.length);
  });

  // @ts-expect-error: "message" carries an object
  socket.emit("message", 42);
  // @ts-expect-error: no such client event
  socket.on("nope", () => {});
  // @ts-expect-error: the room is a string
  socket.on("join", (room: number) => room);
});

async function askEveryone(): Promise<string[]> {
  return io.timeout(1000).emitWithAck("whisper", { from: "server", text: "roll call" });
}

async function askOne(socket: ChatSocket): Promise<string> {
  return socket.emitWithAck("whisper", { from: "server", text: "you there?" });
}

io.on("ping", (n, callback) => callback(String(n + 1)));
io.serverSideEmit("ping", 1, (err, pongs) => {
  if (!err) console.log(pongs.join(","));
});
// @ts-expect-error: ping carries a number
io.serverSideEmit("ping", "one");

const admin = io.of("/admin");
admin.on("connection", (socket) => socket.emit("message", { from: "admin", text: socket.data.nickname }));
io.of(/^\/team-\w+$/).on("connection", (socket) => socket.join(socket.nsp.name));
io.engine.on("connection_error", (err) => console.log(err.code, err.message));
io.engine.on("initial_headers", (headers, req) => {
  if (req.url?.includes("transport=")) headers["set-cookie"] = "visited=1; Path=/";
});

export { askEveryone, askOne };
