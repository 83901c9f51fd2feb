"""``AsyncServer``: python-socketio's asyncio server API on polysocket's Rust engine."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

from . import _native, exceptions
from ._bridge import Bridge, CallFailed, run_eagerly
from ._handlers import HandlerHost, ack_args, call_handler

default_logger = logging.getLogger("polysocket.server")

#: The event names a handler may not emit (python-socketio's ``reserved_events``).
RESERVED_EVENTS = ("connect", "disconnect")

#: How long ``disconnect()`` waits for the ``disconnect`` handler it triggers.
_DISCONNECT_HANDLER_WAIT = 5.0


class Reason:
    """Disconnection reasons (``AsyncServer.reason``), as python-socketio names them."""

    #: Server-initiated disconnection.
    SERVER_DISCONNECT = "server disconnect"
    #: Client-initiated disconnection.
    CLIENT_DISCONNECT = "client disconnect"
    #: Ping timeout.
    PING_TIMEOUT = "ping timeout"
    #: Transport close.
    TRANSPORT_CLOSE = "transport close"
    #: Transport error.
    TRANSPORT_ERROR = "transport error"


def _args_of(data: Any) -> list[Any]:
    """python-socketio's payload rule: a tuple is several arguments, ``None`` none."""
    if data is None:
        return []
    if isinstance(data, tuple):
        return list(data)
    return [data]


def _rooms_of(room: str | list[str] | tuple[str, ...] | None) -> list[str]:
    if room is None:
        return []
    if isinstance(room, str):
        return [room]
    return list(room)


_ENGINE_OPTIONS = (
    "ping_interval",
    "ping_timeout",
    "max_http_buffer_size",
    "allow_upgrades",
    "http_compression",
    "compression_threshold",
    "cookie",
    "cors_allowed_origins",
    "cors_credentials",
    "transports",
)


class AsyncServer(HandlerHost):
    """A Socket.IO server for asyncio, with python-socketio's ``AsyncServer`` API.

    Serve it from an ASGI app (:class:`polysocket.ASGIApp`), an aiohttp app
    (:meth:`attach`), or from the engine's own listener (:meth:`serve`).
    """

    reason = Reason
    reserved_events = RESERVED_EVENTS

    def __init__(
        self,
        client_manager: Any = None,
        logger: bool | logging.Logger = False,
        serializer: str = "default",
        json: Any = None,
        async_handlers: bool = True,
        always_connect: bool = False,
        namespaces: list[str] | str | None = None,
        **kwargs: Any,
    ) -> None:
        engineio_logger = kwargs.pop("engineio_logger", None)
        kwargs.pop("async_mode", None)
        kwargs.pop("monitor_clients", None)
        super().__init__(logger, default_logger)
        self.engineio_logger = engineio_logger
        if json is not None:
            raise ValueError("polysocket serializes JSON itself; a custom json module is not supported")
        if serializer not in ("default", "msgpack"):
            raise ValueError("serializer must be 'default' or 'msgpack'")
        self._options: dict[str, Any] = {"serializer": serializer}
        for name in _ENGINE_OPTIONS:
            if name in kwargs:
                self._options[name] = kwargs.pop(name)
        if "cors_allowed_origins" not in self._options:
            self._options["cors_allowed_origins"] = None
        self.async_handlers = async_handlers
        self.always_connect = always_connect
        self.namespaces: list[str] | str = namespaces or ["/"]
        self.environ: dict[tuple[str, str], dict[str, Any]] = {}
        self.manager = client_manager
        self.async_mode = "polysocket"
        self._sessions: dict[tuple[str, str], dict[str, Any]] = {}
        self._disconnect_waiters: dict[tuple[str, str], asyncio.Future[None]] = {}
        self._native: Any = None
        self._bridge: Bridge | None = None
        self._path: str | None = None
        self._not_handled = object()

    # -- the engine ----------------------------------------------------------------------

    def _engine(self, socketio_path: str = "socket.io") -> Any:
        """The native server, created on first use with the path it is served under."""
        path = "/" + socketio_path.strip("/") + "/"
        if self._native is None:
            options = dict(self._options)
            options["path"] = path
            if self.manager is not None:
                if not hasattr(self.manager, "_adapter_options"):
                    raise TypeError("client_manager must be a polysocket.AsyncRedisManager")
                options["adapter"] = self.manager._adapter_options()
                self.manager._install(self)
            self._native = _native.NativeServer(options)
            self._path = path
            self._bridge = Bridge(self._native, self._on_notice)
            if self.namespaces == "*":
                self._native.namespace("*")
            else:
                for name in self.namespaces:
                    self._native.namespace(name)
            for name in list(self.handlers) + list(self.namespace_handlers):
                self._native.namespace(name)
        elif path != self._path:
            raise RuntimeError(f"this server is served under {self._path}, not {path}")
        return self._native

    def _namespace_added(self, namespace: str) -> None:
        if self._native is not None:
            self._native.namespace(namespace)

    def _bind(self) -> Bridge:
        self._engine()
        assert self._bridge is not None
        self._bridge.bind()
        return self._bridge

    # -- registration --------------------------------------------------------------------

    def register_namespace(self, namespace_handler: Any) -> None:
        """Registers a class-based namespace (an :class:`AsyncNamespace`)."""
        from .namespace import AsyncNamespace

        if not isinstance(namespace_handler, AsyncNamespace):
            raise ValueError("Not a namespace instance")
        namespace_handler._set_server(self)
        self.namespace_handlers[namespace_handler.namespace] = namespace_handler
        self._namespace_added(namespace_handler.namespace)

    # -- emitting ------------------------------------------------------------------------

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
        """Emits ``event`` to one client (its sid), a room, rooms, or everyone."""
        namespace = namespace or "/"
        room = to or room
        if self._native is None:
            return
        args = _args_of(data)
        self.logger.info('emitting event "%s" to %s [%s]', event, room or "all", namespace)
        if callback is None:
            self._native.emit(namespace, _rooms_of(room), _rooms_of(skip_sid), event, args)
            return
        skip = set(_rooms_of(skip_sid))
        for sid in self._native.sockets(namespace, _rooms_of(room)):
            if sid not in skip:
                self._emit_with_callback(namespace, sid, event, args, callback)

    def _emit_with_callback(
        self, namespace: str, sid: str, event: str, args: list[Any], callback: Callable[..., Any]
    ) -> None:
        bridge = self._bind()
        call, future = bridge.open_call()
        if not self._native.emit_with_ack(call, namespace, sid, event, args):
            bridge.drop_call(call)
            return
        future.add_done_callback(self._answer_callback(callback))

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
        """Emits a ``message`` event."""
        await self.emit(
            "message",
            data=data,
            to=to,
            room=room,
            skip_sid=skip_sid,
            namespace=namespace,
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
        """Emits ``event`` to one client and returns its acknowledgement (one argument as
        is, several as a tuple, none as ``None``); raises :class:`TimeoutError` after
        ``timeout`` seconds without one."""
        if to is None and sid is None:
            raise ValueError("Cannot use call() to broadcast.")
        if not self.async_handlers:
            raise RuntimeError("Cannot use call() when async_handlers is False.")
        namespace = namespace or "/"
        target = to or sid
        bridge = self._bind()
        loop = bridge.loop
        started = loop.time()
        call, future = bridge.open_call()
        sent = self._native.emit_with_ack(
            call, namespace, target, event, _args_of(data), float(timeout)
        )
        try:
            if not sent:
                bridge.drop_call(call)
                raise CallFailed("disconnected")
            args = await future
        except CallFailed:
            # As python-socketio, a client that is gone still costs the whole timeout.
            await asyncio.sleep(max(0.0, timeout - (loop.time() - started)))
            raise exceptions.TimeoutError() from None
        if len(args) > 1:
            return tuple(args)
        return args[0] if args else None

    # -- rooms and sessions --------------------------------------------------------------

    async def enter_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        """Puts client ``sid`` in ``room``."""
        if self._native is not None:
            self._native.enter_room(namespace or "/", sid, room)

    async def leave_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        """Takes client ``sid`` out of ``room``."""
        if self._native is not None:
            self._native.leave_room(namespace or "/", sid, room)

    async def close_room(self, room: str, namespace: str | None = None) -> None:
        """Takes every client out of ``room``."""
        if self._native is not None:
            self._native.close_room(namespace or "/", room)

    def rooms(self, sid: str, namespace: str | None = None) -> list[str]:
        """The rooms client ``sid`` is in (its own sid included)."""
        if self._native is None:
            return []
        return list(self._native.rooms(namespace or "/", sid))

    async def get_session(self, sid: str, namespace: str | None = None) -> dict[str, Any]:
        """The user session of client ``sid`` (a dict)."""
        return self._sessions.setdefault((namespace or "/", sid), {})

    async def save_session(
        self, sid: str, session: dict[str, Any], namespace: str | None = None
    ) -> None:
        """Stores the user session of client ``sid``."""
        self._sessions[(namespace or "/", sid)] = session

    def session(self, sid: str, namespace: str | None = None) -> Any:
        """``async with sio.session(sid) as session:`` reads the session, saved at exit."""
        server = self

        class _SessionContext:
            async def __aenter__(self) -> dict[str, Any]:
                self.session = await server.get_session(sid, namespace=namespace)
                return self.session

            async def __aexit__(self, *args: Any) -> None:
                await server.save_session(sid, self.session, namespace=namespace)

        return _SessionContext()

    def get_environ(self, sid: str, namespace: str | None = None) -> dict[str, Any] | None:
        """The WSGI-style environ of client ``sid``'s connection request."""
        return self.environ.get((namespace or "/", sid))

    def transport(self, sid: str, namespace: str | None = None) -> str | None:
        """``'polling'`` or ``'websocket'``."""
        if self._native is None:
            return None
        result: str | None = self._native.transport(namespace or "/", sid)
        return result

    async def disconnect(
        self, sid: str, namespace: str | None = None, ignore_queue: bool = False
    ) -> None:
        """Disconnects client ``sid`` from ``namespace``; its ``disconnect`` handler has run
        (with ``reason.SERVER_DISCONNECT``) when this returns."""
        namespace = namespace or "/"
        if self._native is None:
            return
        bridge = self._bind()
        waiter: asyncio.Future[None] = bridge.loop.create_future()
        self._disconnect_waiters[(namespace, sid)] = waiter
        if not self._native.disconnect(namespace, sid):
            self._disconnect_waiters.pop((namespace, sid), None)
            return
        self.logger.info("Disconnecting %s [%s]", sid, namespace)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), _DISCONNECT_HANDLER_WAIT)
        except asyncio.TimeoutError:
            pass

    # -- serving -------------------------------------------------------------------------

    async def serve(self, host: str = "0.0.0.0", port: int = 5000, socketio_path: str = "socket.io") -> int:
        """Serves on ``host:port`` from the engine's own listener (the fastest way);
        returns the port (pass 0 for a free one). Other paths get 404."""
        self._engine(socketio_path)
        bridge = self._bind()
        call, future = bridge.open_call()
        self._native.listen(call, host, port)
        try:
            bound: int = await future
        except CallFailed as error:
            raise OSError(str(error)) from None
        return bound

    def attach(self, app: Any, socketio_path: str = "socket.io") -> None:
        """Serves under ``/socket.io/`` of an aiohttp ``web.Application``."""
        from .aiohttp import attach

        attach(self, app, socketio_path)

    async def shutdown(self) -> None:
        """Closes every connection (``server disconnect``) and stops serving."""
        if self._native is None:
            return
        bridge = self._bind()
        call, future = bridge.open_call()
        self._native.close(call)
        await future
        # The disconnect handlers of the last sockets.
        bridge.pump()
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        bridge.unbind()
        # A request whose answer comes after this point (a long-poll the close just ended)
        # would wait forever, and so would a web server's graceful shutdown.
        bridge.fail_calls("the server was shut down")

    # -- notices from the engine ---------------------------------------------------------

    def _report(self, error: BaseException) -> None:
        self.logger.error("a handler failed", exc_info=error)

    def _on_notice(self, notice: tuple[Any, ...]) -> None:
        kind = notice[0]
        if kind == "event":
            run_eagerly(self._handle_event(*notice[1:]), self._report)
        elif kind == "connect":
            self._spawn(self._handle_connect(*notice[1:]))
        elif kind == "disconnect":
            self._spawn(self._handle_disconnect(*notice[1:]))

    async def _handle_connect(
        self, call: int, namespace: str, sid: str, environ: dict[str, Any], auth: Any
    ) -> None:
        self.environ[(namespace, sid)] = environ
        if self.always_connect:
            self._native.connect_done(call, sid)
        fail_reason: dict[str, Any] = {"message": "Connection rejected by server"}
        try:
            if auth:
                success = await self._trigger_event("connect", namespace, sid, environ, auth)
            else:
                try:
                    success = await self._trigger_event("connect", namespace, sid, environ, None)
                except TypeError as first:
                    try:
                        success = await self._trigger_event("connect", namespace, sid, environ)
                    except TypeError:
                        raise first from None
        except exceptions.ConnectionRefusedError as refused:
            fail_reason = refused.error_args
            success = False
        except ConnectionRefusedError:
            fail_reason = {"message": "Connection refused by server"}
            success = False
        except Exception:
            self.logger.exception("connect handler failed")
            success = False
        if success is False:
            self.environ.pop((namespace, sid), None)
            if self.always_connect:
                self._native.disconnect(namespace, sid)
            else:
                self._native.connect_done(
                    call, sid, fail_reason["message"], fail_reason.get("data")
                )
        elif not self.always_connect:
            self._native.connect_done(call, sid)

    async def _handle_event(
        self, namespace: str, sid: str, event: str, args: list[Any], ack: Any
    ) -> None:
        self.logger.info('received event "%s" from %s [%s]', event, sid, namespace)
        result = await self._trigger_event(event, namespace, sid, *args)
        if result is not self._not_handled and ack is not None:
            ack.send(ack_args(result))

    async def _handle_disconnect(self, namespace: str, sid: str, reason: str) -> None:
        try:
            await self._trigger_event("disconnect", namespace, sid, reason)
        finally:
            self.environ.pop((namespace, sid), None)
            self._sessions.pop((namespace, sid), None)
            waiter = self._disconnect_waiters.pop((namespace, sid), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    async def _trigger_event(self, event: str, namespace: str, *args: Any) -> Any:
        handler, call_args = self._event_handler(event, namespace, args)
        if handler is not None:
            try:
                return await call_handler(handler, call_args, event)
            except asyncio.CancelledError:
                return None
        namespace_handler = self.namespace_handlers.get(namespace)
        if namespace_handler is None and "*" in self.namespace_handlers:
            namespace_handler = self.namespace_handlers["*"]
            args = (namespace, *args)
        if namespace_handler is not None:
            return await namespace_handler.trigger_event(event, *args)
        return self._not_handled
