"""The benchmark app (echo, join, broadcast-room) written with python-socketio's API.

    SOCKETIO_MODULE=socketio|polysocket  SERVING=aiohttp|uvicorn|serve  PORT=0

`import polysocket as socketio` is the only change between the two implementations;
SERVING=serve is polysocket's own listener. Prints "LISTENING <port>".
"""

import asyncio
import importlib
import os

socketio = importlib.import_module(os.environ.get("SOCKETIO_MODULE", "socketio"))
serving = os.environ.get("SERVING", "aiohttp")
port = int(os.environ.get("PORT", "0"))

options = {"cors_allowed_origins": "*"}
if socketio.__name__ == "socketio":
    options["async_mode"] = "asgi" if serving == "uvicorn" else "aiohttp"
sio = socketio.AsyncServer(**options)


@sio.on("echo")
async def echo(sid, data):
    return data


@sio.on("join")
async def join(sid, room):
    if isinstance(room, str):
        await sio.enter_room(sid, room)


@sio.on("broadcast-room")
async def broadcast_room(sid, data):
    await sio.emit("tick", data, room="bench")


async def main():
    if serving == "serve":
        bound = await sio.serve("127.0.0.1", port)
        print(f"LISTENING {bound}", flush=True)
        await asyncio.Event().wait()
    elif serving == "uvicorn":
        import uvicorn

        config = uvicorn.Config(socketio.ASGIApp(sio), host="127.0.0.1", port=port,
                                log_level="warning", lifespan="off", backlog=4096)
        server = uvicorn.Server(config)
        task = asyncio.ensure_future(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        print(f"LISTENING {server.servers[0].sockets[0].getsockname()[1]}", flush=True)
        await task
    else:
        from aiohttp import web

        app = web.Application()
        sio.attach(app)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port, backlog=4096)
        await site.start()
        print(f"LISTENING {site._server.sockets[0].getsockname()[1]}", flush=True)
        await asyncio.Event().wait()


asyncio.run(main())
