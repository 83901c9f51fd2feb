"""A python-socketio app written the way python-socketio's users write one. The tests run
it on python-socketio itself (the oracle) and on polysocket (``import polysocket as
socketio``), served by aiohttp, by uvicorn (ASGI), and by the engine's own listener."""

from __future__ import annotations

from types import ModuleType
from typing import Any


def build(socketio: ModuleType, **options: Any) -> tuple[Any, dict[str, Any]]:
    """The server and what its handlers recorded (``disconnects``: (sid, reason) pairs)."""
    sio = socketio.AsyncServer(cors_allowed_origins="*", **options)
    state: dict[str, Any] = {"disconnects": [], "chat_disconnects": []}

    @sio.event
    async def connect(sid, environ, auth):
        auth = auth or {}
        if auth.get("token") == "bad":
            raise socketio.exceptions.ConnectionRefusedError("unauthorized", {"code": 401})
        if auth.get("refuse"):
            return False
        await sio.save_session(sid, {"user": auth.get("user", "anon")})
        await sio.enter_room(sid, "lobby")
        await sio.emit(
            "welcome",
            {
                "sid": sid,
                "rooms": sorted(sio.rooms(sid)),
                "query": environ.get("QUERY_STRING", ""),
                "header": environ.get("HTTP_X_TEST", ""),
            },
            to=sid,
        )

    @sio.on("echo")
    async def echo(sid, *args):
        return args

    @sio.event
    async def no_args(sid):
        return None

    @sio.event
    async def whoami(sid):
        async with sio.session(sid) as session:
            return session["user"]

    @sio.event
    async def rename(sid, name):
        session = await sio.get_session(sid)
        session["user"] = name
        await sio.save_session(sid, session)
        return True

    @sio.event
    async def join(sid, room):
        await sio.enter_room(sid, room)
        return sorted(sio.rooms(sid))

    @sio.event
    async def leave(sid, room):
        await sio.leave_room(sid, room)
        return sorted(sio.rooms(sid))

    @sio.event
    async def close(sid, room):
        await sio.close_room(room)
        return sorted(sio.rooms(sid))

    @sio.event
    async def to_room(sid, room, event, data):
        await sio.emit(event, data, room=room, skip_sid=sid)
        return True

    @sio.event
    async def to_all(sid, event, data):
        await sio.emit(event, data)
        return True

    @sio.event
    async def ask(sid, data, timeout):
        try:
            return await sio.call("question", data, to=sid, timeout=timeout)
        except socketio.exceptions.TimeoutError:
            return "timeout"

    @sio.event
    async def ask_with_callback(sid, data):
        async def answered(*args):
            await sio.emit("callback", list(args), to=sid)

        await sio.emit("question", data, to=sid, callback=answered)

    @sio.event
    async def kick(sid):
        await sio.disconnect(sid)

    @sio.event
    async def transport(sid):
        return sio.transport(sid)

    @sio.event
    async def disconnect(sid, reason):
        state["disconnects"].append((sid, reason))

    class Chat(socketio.AsyncNamespace):
        async def on_connect(self, sid, environ):
            await self.enter_room(sid, "chat-room")

        async def on_message(self, sid, data):
            await self.emit("said", {"sid": sid, "data": data}, room="chat-room")
            return "got " + data

        def on_disconnect(self, sid, reason):
            state["chat_disconnects"].append((sid, reason))

    sio.register_namespace(Chat("/chat"))

    @sio.on("*", namespace="/any")
    async def any_event(event, sid, *args):
        return [event, *args]

    @sio.on("connect", namespace="/any")
    async def any_connect(sid, environ):
        return None

    return sio, state
