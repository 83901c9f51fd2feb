"""``ASGIApp``: serve an :class:`AsyncServer` from uvicorn, Hypercorn, FastAPI, Starlette…

Requests under the Socket.IO path go to the engine: long-polling as HTTP requests, and
WebSockets that the ASGI server frames while the engine receives whole messages. Any other
request goes to ``other_asgi_app`` (or static files, or 404), as python-socketio does.
"""

from __future__ import annotations

import asyncio
import inspect
import mimetypes
import os
from typing import Any, Awaitable, Callable

from ._bridge import CallFailed
from .server import AsyncServer

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def _headers(scope: Scope) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", [])]


def _url(scope: Scope) -> str:
    query = scope.get("query_string", b"").decode("latin-1")
    path: str = scope.get("raw_path", b"").decode("latin-1") or scope["path"]
    path = path.split("?", 1)[0]
    return f"{path}?{query}" if query else path


def _peer(scope: Scope) -> str | None:
    client = scope.get("client")
    if not client:
        return None
    host, port = client[0], client[1]
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


class ASGIApp:
    """An ASGI application serving ``socketio_server`` under ``/socketio_path/``, with
    python-socketio's arguments."""

    def __init__(
        self,
        socketio_server: AsyncServer,
        other_asgi_app: Any = None,
        static_files: dict[str, Any] | None = None,
        socketio_path: str = "socket.io",
        on_startup: Callable[[], Any] | None = None,
        on_shutdown: Callable[[], Any] | None = None,
    ) -> None:
        self.engineio_server = socketio_server
        self.other_asgi_app = other_asgi_app
        self.static_files = static_files or {}
        self.engineio_path = "/" + socketio_path.strip("/") + "/" if socketio_path else None
        self.on_startup = on_startup
        self.on_shutdown = on_shutdown
        socketio_server._engine(socketio_path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self.lifespan(scope, receive, send)
            return
        path: str = scope["path"]
        mine = self.engineio_path is None or (path if path.endswith("/") else path + "/").startswith(
            self.engineio_path
        )
        if kind in ("http", "websocket") and mine:
            if kind == "http":
                await self._http(scope, receive, send)
            else:
                await self._websocket(scope, receive, send)
            return
        static = self._static_file(path) if kind == "http" else None
        if static is not None:
            await self._serve_static(static, receive, send)
        elif self.other_asgi_app is not None:
            await self.other_asgi_app(scope, receive, send)
        elif kind == "http":
            await self.not_found(receive, send)
        else:
            await send({"type": "websocket.close", "code": 1000})

    async def lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI lifespan: ``on_startup``/``on_shutdown``, or the other app's."""
        if self.other_asgi_app is not None and self.on_startup is None and self.on_shutdown is None:
            await self.other_asgi_app(scope, receive, send)
            return
        while True:
            event = await receive()
            if event["type"] == "lifespan.startup":
                if not await self._run_hook(self.on_startup):
                    await send({"type": "lifespan.startup.failed"})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif event["type"] == "lifespan.shutdown":
                if not await self._run_hook(self.on_shutdown):
                    await send({"type": "lifespan.shutdown.failed"})
                    return
                await send({"type": "lifespan.shutdown.complete"})
                return

    @staticmethod
    async def _run_hook(hook: Callable[[], Any] | None) -> bool:
        if hook is None:
            return True
        try:
            result = hook()
            if inspect.isawaitable(result):
                await result
        except Exception:
            return False
        return True

    async def not_found(self, receive: Receive, send: Send) -> None:
        """404."""
        await send({"type": "http.response.start", "status": 404, "headers": [(b"Content-Type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"Not Found"})

    def _static_file(self, path: str) -> dict[str, str] | None:
        if not self.static_files:
            return None
        for prefix in sorted(self.static_files, key=len, reverse=True):
            if path == prefix or path.startswith(prefix.rstrip("/") + "/") or prefix == "/":
                target = self.static_files[prefix]
                if isinstance(target, dict):
                    filename = target["filename"]
                    content_type = target.get("content_type")
                else:
                    filename = target
                    content_type = None
                rest = path[len(prefix.rstrip("/")):].lstrip("/")
                if os.path.isdir(filename):
                    filename = os.path.join(filename, rest or "index.html")
                if content_type is None:
                    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
                if os.path.isfile(filename):
                    return {"filename": filename, "content_type": content_type}
        return None

    async def _serve_static(self, static: dict[str, str], receive: Receive, send: Send) -> None:
        await receive()
        with open(static["filename"], "rb") as file:
            body = file.read()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"Content-Type", static["content_type"].encode())]})
        await send({"type": "http.response.body", "body": body})

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        server = self.engineio_server
        native = server._engine()
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        bridge = server._bind()
        call, future = bridge.open_call()
        native.handle_request(call, scope["method"], _url(scope), _headers(scope), b"".join(chunks), _peer(scope))
        try:
            status, headers, body = await future
        except CallFailed:
            status, headers, body = 503, [("Content-Type", "text/plain")], b"Service Unavailable"
        await send({
            "type": "http.response.start",
            "status": status,
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers],
        })
        await send({"type": "http.response.body", "body": body})

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        server = self.engineio_server
        native = server._engine()
        first = await receive()
        if first["type"] != "websocket.connect":
            return
        bridge = server._bind()
        call, future = bridge.open_call()
        native.accept_websocket(call, _url(scope), _headers(scope), _peer(scope))
        try:
            (status, _headers_out, _body), link = await future
        except CallFailed:
            link = None
        if link is None:
            await send({"type": "websocket.close", "code": 1008})
            return
        await send({"type": "websocket.accept"})
        await pump_link(bridge, link, receive_message(receive), lambda m: send_message(send, m))


def receive_message(receive: Receive) -> Callable[[], Awaitable[str | bytes | None]]:
    """Reads the next ASGI WebSocket message as ``str``/``bytes`` (``None``: closed)."""

    async def next_message() -> str | bytes | None:
        while True:
            message = await receive()
            if message["type"] == "websocket.receive":
                if message.get("text") is not None:
                    return str(message["text"])
                return bytes(message.get("bytes") or b"")
            if message["type"] == "websocket.disconnect":
                return None

    return next_message


async def send_message(send: Send, message: str | bytes | int) -> None:
    """Writes one message from the engine (an ``int`` is a close code)."""
    if isinstance(message, int):
        await send({"type": "websocket.close", "code": message})
    elif isinstance(message, str):
        await send({"type": "websocket.send", "text": message})
    else:
        await send({"type": "websocket.send", "bytes": message})


async def pump_link(
    bridge: Any,
    link: Any,
    next_message: Callable[[], Awaitable[str | bytes | None]],
    write: Callable[[str | bytes | int], Awaitable[None]],
) -> None:
    """Moves messages between a carried WebSocket and the engine until either side ends."""

    async def outbound() -> None:
        while True:
            call, future = bridge.open_call()
            link.recv(call)
            try:
                messages, still_open = await future
            except CallFailed:
                return
            for message in messages:
                await write(message)
                if isinstance(message, int):
                    return
            if not still_open:
                await write(1000)
                return

    writer = asyncio.ensure_future(outbound())
    try:
        # When the engine closes the socket, the web server ends the reads that follow.
        while True:
            message = await next_message()
            if message is None:
                break
            link.push(message)
    finally:
        link.close()
        if not writer.done():
            writer.cancel()
        try:
            await writer
        except (asyncio.CancelledError, Exception):
            pass
