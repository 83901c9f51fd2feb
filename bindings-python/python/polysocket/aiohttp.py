"""Serving an :class:`AsyncServer` from an aiohttp ``web.Application``
(``sio.attach(app)``), as python-socketio does."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._bridge import CallFailed
from .asgi import pump_link

if TYPE_CHECKING:
    from .server import AsyncServer


def _peer(request: Any) -> str | None:
    peer = request.transport.get_extra_info("peername") if request.transport else None
    if not peer:
        return None
    host, port = peer[0], peer[1]
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


def attach(server: AsyncServer, app: Any, socketio_path: str = "socket.io") -> None:
    """Adds the Socket.IO routes (``/socketio_path/``) to aiohttp ``app``."""
    from aiohttp import WSMsgType, web

    native = server._engine(socketio_path)
    path = "/" + socketio_path.strip("/") + "/"

    async def handle(request: web.Request) -> web.StreamResponse:
        bridge = server._bind()
        headers = [(k, v) for k, v in request.headers.items()]
        upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
        call, future = bridge.open_call()
        if upgrade:
            native.accept_websocket(call, str(request.rel_url), headers, _peer(request))
            try:
                (status, answer_headers, body), link = await future
            except CallFailed:
                return web.Response(status=503, text="Service Unavailable")
            if link is None:
                return web.Response(status=status, headers=answer_headers, body=body)
            ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
            await ws.prepare(request)

            async def next_message() -> str | bytes | None:
                while True:
                    message = await ws.receive()
                    if message.type == WSMsgType.TEXT:
                        return str(message.data)
                    if message.type == WSMsgType.BINARY:
                        return bytes(message.data)
                    if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                        return None

            async def write(message: str | bytes | int) -> None:
                if isinstance(message, int):
                    await ws.close(code=message)
                elif isinstance(message, str):
                    await ws.send_str(message)
                else:
                    await ws.send_bytes(message)

            await pump_link(bridge, link, next_message, write)
            if not ws.closed:
                await ws.close()
            return ws
        body_in = await request.read()
        native.handle_request(call, request.method, str(request.rel_url), headers, body_in, _peer(request))
        try:
            status, answer_headers, body = await future
        except CallFailed:
            return web.Response(status=503, text="Service Unavailable")
        response = web.Response(status=status, body=body)
        for name, value in answer_headers:
            if name.lower() != "content-length":
                response.headers.add(name, value)
        return response

    app.router.add_route("*", path, handle)
    app.router.add_route("*", path.rstrip("/"), handle)
