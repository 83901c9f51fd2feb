"""Servers for the tests: the app of ``app.py`` on python-socketio (the oracle) and on
polysocket, each way it can be served, on 127.0.0.1 and a free port."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, AsyncIterator

import pytest
import socketio as python_socketio

import polysocket
from app import build

#: (implementation, serving): python-socketio's aiohttp server as the reference, and
#: polysocket served by its own listener, by uvicorn (ASGIApp) and by aiohttp (attach).
MODES = ["python-socketio", "polysocket-serve", "polysocket-uvicorn", "polysocket-aiohttp"]


class Running:
    """A started server: its URL, the AsyncServer, and what its handlers recorded."""

    def __init__(self, url: str, sio: Any, state: dict[str, Any]) -> None:
        self.url = url
        self.sio = sio
        self.state = state


@contextlib.asynccontextmanager
async def aiohttp_site(app: Any) -> AsyncIterator[int]:
    from aiohttp import web

    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def uvicorn_server(app: Any) -> AsyncIterator[int]:
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def serve(mode: str, **options: Any) -> AsyncIterator[Running]:
    """Runs the test app in `mode`."""
    if mode == "python-socketio":
        from aiohttp import web

        # A short ping interval: python-socketio's polling clients wait for the pending
        # GET to return when they disconnect, and its server answers it at the next ping.
        options.setdefault("ping_interval", 1)
        options.setdefault("ping_timeout", 1)
        sio, state = build(python_socketio, async_mode="aiohttp", **options)
        app = web.Application()
        sio.attach(app)
        async with aiohttp_site(app) as port:
            yield Running(f"http://127.0.0.1:{port}", sio, state)
        return
    sio, state = build(polysocket, **options)
    if mode == "polysocket-serve":
        port = await sio.serve("127.0.0.1", 0)
        try:
            yield Running(f"http://127.0.0.1:{port}", sio, state)
        finally:
            await sio.shutdown()
    elif mode == "polysocket-uvicorn":
        async with uvicorn_server(polysocket.ASGIApp(sio)) as port:
            try:
                yield Running(f"http://127.0.0.1:{port}", sio, state)
            finally:
                await sio.shutdown()
    elif mode == "polysocket-aiohttp":
        from aiohttp import web

        app = web.Application()
        sio.attach(app)
        async with aiohttp_site(app) as port:
            try:
                yield Running(f"http://127.0.0.1:{port}", sio, state)
            finally:
                await sio.shutdown()
    else:
        raise ValueError(mode)


@pytest.fixture(params=MODES)
async def server(request: pytest.FixtureRequest) -> AsyncIterator[Running]:
    async with serve(request.param) as running:
        yield running


@pytest.fixture(params=[["websocket"], ["polling"], None], ids=["websocket", "polling", "upgrade"])
def transports(request: pytest.FixtureRequest) -> list[str] | None:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(params=[m for m in MODES if m.startswith("polysocket")])
async def polysocket_server(request: pytest.FixtureRequest) -> AsyncIterator[Running]:
    async with serve(request.param, max_http_buffer_size=10_000) as running:
        yield running
