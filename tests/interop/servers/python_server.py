"""A python-socketio AsyncServer (aiohttp) for the native client's interop tests.

It implements the part of tests/interop/CONTRACT.md that the client tests use, with
python-socketio's own idioms: `echo` (a handler's return value is the ack; without ack the
event comes back), `ask-client` (`sio.call` to the client), `join`, `to-room`,
`server-disconnect`, the `auth.token == "bad"` refusal, and namespace `/custom`.

    PORT=0 .venv/bin/python tests/interop/servers/python_server.py   # prints LISTENING <port>
"""

import asyncio
import os

import socketio
from aiohttp import web

sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*")


@sio.event
async def connect(sid, environ, auth):
    auth = auth or {}
    if auth.get("token") == "bad":
        raise socketio.exceptions.ConnectionRefusedError("unauthorized", {"code": 401})
    await sio.emit("welcome", {"id": sid, "auth": auth}, to=sid)


@sio.on("echo")
async def echo(sid, *args):
    # python-socketio tells whether the client wants an ack only through the return value;
    # the client tests always ask for one, except when they want the event back.
    if args and args[-1] == "no-ack":
        await sio.emit("echo", list(args[:-1]), to=sid)
        return None
    return args if len(args) != 1 else args[0]


@sio.on("ask-client")
async def ask_client(sid, payload):
    try:
        return await sio.call("question", payload, to=sid, timeout=2)
    except socketio.exceptions.TimeoutError:
        return {"error": "timeout"}


@sio.on("join")
async def join(sid, room):
    await sio.enter_room(sid, room)
    return sorted(sio.rooms(sid))


@sio.on("to-room")
async def to_room(sid, room, event, payload):
    await sio.emit(event, payload, room=room)


@sio.on("server-disconnect")
async def server_disconnect(sid):
    await sio.disconnect(sid)


@sio.on("connect", namespace="/custom")
async def connect_custom(sid, environ, auth):
    await sio.emit("welcome", {"id": sid, "nsp": "/custom"}, to=sid, namespace="/custom")


async def main():
    app = web.Application()
    sio.attach(app)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", int(os.environ.get("PORT", "0")))
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    print(f"LISTENING {port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
