"""``AsyncNamespace``: class-based handlers, as in python-socketio."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ._handlers import call_handler

if TYPE_CHECKING:
    from .server import AsyncServer


class AsyncNamespace:
    """Handlers of one namespace as methods: ``on_connect(sid, environ, auth)``,
    ``on_disconnect(sid, reason)``, ``on_<event>(sid, *args)``.

    Register an instance with :meth:`AsyncServer.register_namespace`.
    """

    def __init__(self, namespace: str | None = None) -> None:
        self.namespace = namespace or "/"
        self.server: AsyncServer | None = None

    def _set_server(self, server: AsyncServer) -> None:
        self.server = server

    def is_asyncio_based(self) -> bool:
        """Always true."""
        return True

    def _server(self) -> AsyncServer:
        if self.server is None:
            raise RuntimeError("this namespace is not registered with a server")
        return self.server

    async def trigger_event(self, event: str, *args: Any) -> Any:
        """Calls ``on_<event>`` with ``args`` (awaited when it is a coroutine function)."""
        handler_name = "on_" + (event or "")
        handler = getattr(self, handler_name, None)
        if handler is None:
            return None
        return await call_handler(handler, args, event)

    async def emit(
        self,
        event: str,
        data: Any = None,
        to: str | list[str] | None = None,
        room: str | list[str] | None = None,
        skip_sid: str | list[str] | None = None,
        namespace: str | None = None,
        callback: Callable[..., Any] | None = None,
        ignore_queue: bool = False,
    ) -> None:
        """:meth:`AsyncServer.emit` in this namespace."""
        await self._server().emit(
            event,
            data=data,
            to=to,
            room=room,
            skip_sid=skip_sid,
            namespace=namespace or self.namespace,
            callback=callback,
            ignore_queue=ignore_queue,
        )

    async def send(
        self,
        data: Any,
        to: str | list[str] | None = None,
        room: str | list[str] | None = None,
        skip_sid: str | list[str] | None = None,
        namespace: str | None = None,
        callback: Callable[..., Any] | None = None,
        ignore_queue: bool = False,
    ) -> None:
        """:meth:`AsyncServer.send` in this namespace."""
        await self._server().send(
            data,
            to=to,
            room=room,
            skip_sid=skip_sid,
            namespace=namespace or self.namespace,
            callback=callback,
            ignore_queue=ignore_queue,
        )

    async def call(
        self,
        event: str,
        data: Any = None,
        to: str | None = None,
        sid: str | None = None,
        namespace: str | None = None,
        timeout: float = 60,
        ignore_queue: bool = False,
    ) -> Any:
        """:meth:`AsyncServer.call` in this namespace."""
        return await self._server().call(
            event,
            data=data,
            to=to,
            sid=sid,
            namespace=namespace or self.namespace,
            timeout=timeout,
            ignore_queue=ignore_queue,
        )

    async def enter_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        """:meth:`AsyncServer.enter_room` in this namespace."""
        await self._server().enter_room(sid, room, namespace=namespace or self.namespace)

    async def leave_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        """:meth:`AsyncServer.leave_room` in this namespace."""
        await self._server().leave_room(sid, room, namespace=namespace or self.namespace)

    async def close_room(self, room: str, namespace: str | None = None) -> None:
        """:meth:`AsyncServer.close_room` in this namespace."""
        await self._server().close_room(room, namespace=namespace or self.namespace)

    def rooms(self, sid: str, namespace: str | None = None) -> list[str]:
        """:meth:`AsyncServer.rooms` in this namespace."""
        return self._server().rooms(sid, namespace=namespace or self.namespace)

    async def get_session(self, sid: str, namespace: str | None = None) -> dict[str, Any]:
        """:meth:`AsyncServer.get_session` in this namespace."""
        return await self._server().get_session(sid, namespace=namespace or self.namespace)

    async def save_session(
        self, sid: str, session: dict[str, Any], namespace: str | None = None
    ) -> None:
        """:meth:`AsyncServer.save_session` in this namespace."""
        await self._server().save_session(sid, session, namespace=namespace or self.namespace)

    def session(self, sid: str, namespace: str | None = None) -> Any:
        """:meth:`AsyncServer.session` in this namespace."""
        return self._server().session(sid, namespace=namespace or self.namespace)

    async def disconnect(self, sid: str, namespace: str | None = None) -> None:
        """:meth:`AsyncServer.disconnect` in this namespace."""
        await self._server().disconnect(sid, namespace=namespace or self.namespace)
