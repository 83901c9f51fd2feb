"""``AsyncClient``: python-socketio's asyncio client API on polysocket's Rust client."""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any, Callable

from . import _native, exceptions
from ._bridge import Bridge, CallFailed
from ._handlers import HandlerHost, ack_args, call_handler
from .server import _args_of

default_logger = logging.getLogger("polysocket.client")

#: Events a client handles itself (python-socketio's ``reserved_events``).
RESERVED_EVENTS = ("connect", "connect_error", "disconnect")


class ClientReason:
    """Disconnection reasons (``AsyncClient.reason``), as python-socketio names them."""

    #: Client-initiated disconnection.
    CLIENT_DISCONNECT = "client disconnect"
    #: Server-initiated disconnection.
    SERVER_DISCONNECT = "server disconnect"
    #: Transport error.
    TRANSPORT_ERROR = "transport error"


async def _real_value(value: Any) -> Any:
    if callable(value):
        value = value()
        if inspect.isawaitable(value):
            value = await value
    return value


class AsyncClient(HandlerHost):
    """A Socket.IO client for asyncio, with python-socketio's ``AsyncClient`` API.

    Reconnection, the send buffer and the transports are polysocket's Rust client's.
    """

    reason = ClientReason
    reserved_events = RESERVED_EVENTS

    def __init__(
        self,
        reconnection: bool = True,
        reconnection_attempts: int = 0,
        reconnection_delay: float = 1,
        reconnection_delay_max: float = 5,
        randomization_factor: float = 0.5,
        logger: bool | logging.Logger = False,
        serializer: str = "default",
        json: Any = None,
        handle_sigint: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(logger, default_logger)
        if json is not None:
            raise ValueError("polysocket serializes JSON itself; a custom json module is not supported")
        if serializer not in ("default", "msgpack"):
            raise ValueError("serializer must be 'default' or 'msgpack'")
        self.reconnection = reconnection
        self.reconnection_attempts = reconnection_attempts
        self.reconnection_delay = reconnection_delay
        self.reconnection_delay_max = reconnection_delay_max
        self.randomization_factor = randomization_factor
        self.serializer = serializer
        self.request_timeout: float = kwargs.pop("request_timeout", 5)
        self.namespaces: dict[str, str] = {}
        self.failed_namespaces: list[str] = []
        self.connection_url: str | None = None
        self.connection_headers: dict[str, str] = {}
        self.connection_auth: Any = None
        self.connection_transports: list[str] | None = None
        self.connection_namespaces: list[str] = []
        self.socketio_path = "socket.io"
        self.connected = False
        self._native: Any = None
        self._bridge: Bridge | None = None
        self._connect_event: asyncio.Event | None = None
        self._gone: asyncio.Event | None = None
        self._engine_open = False
        self._open_error: str | None = None

    # -- registration --------------------------------------------------------------------

    def register_namespace(self, namespace_handler: Any) -> None:
        """Registers a class-based namespace (an :class:`AsyncClientNamespace`)."""
        if not isinstance(namespace_handler, AsyncClientNamespace):
            raise ValueError("Not a namespace instance")
        namespace_handler._set_client(self)
        self.namespace_handlers[namespace_handler.namespace] = namespace_handler

    # -- connection ----------------------------------------------------------------------

    async def connect(
        self,
        url: str,
        headers: dict[str, str] | None = None,
        auth: Any = None,
        transports: list[str] | str | None = None,
        namespaces: list[str] | str | None = None,
        socketio_path: str = "socket.io",
        wait: bool = True,
        wait_timeout: float = 1,
        retry: bool = False,
    ) -> None:
        """Connects to ``url`` and its namespaces (those with handlers, or ``/``); with
        ``wait``, returns once every namespace is connected and raises
        :class:`exceptions.ConnectionError` when one is refused or ``wait_timeout``
        passes."""
        if self.connected:
            raise exceptions.ConnectionError("Already connected")
        self.connection_url = url
        self.connection_headers = headers or {}
        self.connection_auth = auth
        if isinstance(transports, str):
            transports = [transports]
        self.connection_transports = transports
        self.socketio_path = socketio_path
        if namespaces is None:
            names = set(self.handlers) | set(self.namespace_handlers)
            names.discard("*")
            namespaces = sorted(names) or ["/"]
        elif isinstance(namespaces, str):
            namespaces = [namespaces]
        self.connection_namespaces = list(namespaces)
        self.namespaces = {}
        self.failed_namespaces = []
        real_url = await _real_value(url)
        real_headers = await _real_value(self.connection_headers) or {}
        real_auth = await _real_value(auth)
        options: dict[str, Any] = {
            "path": "/" + socketio_path.strip("/") + "/",
            "headers": [(str(k), str(v)) for k, v in real_headers.items()],
            "reconnection": self.reconnection,
            "reconnection_attempts": self.reconnection_attempts,
            "reconnection_delay": float(self.reconnection_delay),
            "reconnection_delay_max": float(self.reconnection_delay_max),
            "randomization_factor": float(self.randomization_factor),
            "request_timeout": float(self.request_timeout),
            "serializer": self.serializer,
        }
        if transports:
            options["transports"] = list(transports)
        try:
            self._native = _native.NativeClient(real_url, options)
        except ValueError as error:
            raise exceptions.ConnectionError(str(error)) from None
        self._bridge = Bridge(self._native, self._on_notice)
        self._bridge.bind()
        self._connect_event = asyncio.Event()
        self._gone = asyncio.Event()
        self._engine_open = False
        self._open_error = None
        for namespace in self.connection_namespaces:
            self._native.connect(namespace, real_auth)
        if not wait:
            self.connected = True
            return
        deadline = asyncio.get_running_loop().time() + wait_timeout
        while True:
            if retry and self._open_error is not None and not self.namespaces:
                # The server is not reachable (yet): the Rust client keeps trying.
                self._open_error = None
                self.failed_namespaces = []
            settled = len(self.namespaces) + len(self.failed_namespaces) >= len(self.connection_namespaces)
            if settled or (self._open_error is not None and not retry):
                break
            remaining = None if retry else deadline - asyncio.get_running_loop().time()
            if remaining is not None and remaining <= 0:
                break
            self._connect_event.clear()
            try:
                await asyncio.wait_for(self._connect_event.wait(), remaining)
            except asyncio.TimeoutError:
                break
        if set(self.namespaces) != set(self.connection_namespaces):
            open_error = self._open_error
            self._close_native()
            if open_error is not None and not self.namespaces and not self.failed_namespaces:
                for namespace in self.connection_namespaces:
                    await self._trigger_event("connect_error", namespace, open_error)
                raise exceptions.ConnectionError(open_error)
            if self.failed_namespaces:
                raise exceptions.ConnectionError(
                    "One or more namespaces failed to connect: " + ", ".join(self.failed_namespaces)
                )
            raise exceptions.ConnectionError("Unexpected connection error")
        self.connected = True

    async def wait(self) -> None:
        """Waits until the connection ends for good (no reconnection follows)."""
        if self._gone is not None:
            await self._gone.wait()

    async def disconnect(self) -> None:
        """Leaves every namespace and closes the connection."""
        if self._native is None:
            return
        for namespace in list(self.namespaces):
            await self._trigger_event("disconnect", namespace, self.reason.CLIENT_DISCONNECT)
        self.namespaces = {}
        self._close_native()

    async def shutdown(self) -> None:
        """Stops the client (and any reconnection)."""
        await self.disconnect()

    def _close_native(self) -> None:
        self.connected = False
        if self._native is not None:
            self._native.close()
        if self._bridge is not None:
            # Late notices (the last disconnections) are taken before the loop lets go.
            bridge = self._bridge
            bridge.loop.call_later(1.0, bridge.unbind)
        if self._gone is not None:
            self._gone.set()

    # -- emitting ------------------------------------------------------------------------

    def _check_namespace(self, namespace: str) -> None:
        if namespace not in self.namespaces:
            raise exceptions.BadNamespaceError(f"{namespace} is not a connected namespace.")

    async def emit(
        self,
        event: str,
        data: Any = None,
        namespace: str | None = None,
        callback: Callable[..., Any] | None = None,
    ) -> None:
        """Emits ``event`` (a tuple ``data`` is several arguments); ``callback`` gets the
        server's acknowledgement."""
        namespace = namespace or "/"
        self._check_namespace(namespace)
        args = _args_of(data)
        if callback is None:
            self._native.emit(namespace, event, args)
            return
        assert self._bridge is not None
        call, future = self._bridge.open_call()
        self._native.emit_with_ack(call, namespace, event, args)
        future.add_done_callback(self._answer_callback(callback))

    async def send(
        self, data: Any, namespace: str | None = None, callback: Callable[..., Any] | None = None
    ) -> None:
        """Emits a ``message`` event."""
        await self.emit("message", data=data, namespace=namespace, callback=callback)

    async def call(
        self, event: str, data: Any = None, namespace: str | None = None, timeout: float = 60
    ) -> Any:
        """Emits ``event`` and returns the server's acknowledgement (one argument as is,
        several as a tuple, none as ``None``); :class:`exceptions.TimeoutError` after
        ``timeout`` seconds."""
        namespace = namespace or "/"
        self._check_namespace(namespace)
        assert self._bridge is not None
        call, future = self._bridge.open_call()
        self._native.emit_with_ack(call, namespace, event, _args_of(data), float(timeout))
        try:
            args = await future
        except CallFailed:
            raise exceptions.TimeoutError() from None
        if len(args) > 1:
            return tuple(args)
        return args[0] if args else None

    # -- state ---------------------------------------------------------------------------

    def get_sid(self, namespace: str | None = None) -> str | None:
        """The sid of the client in ``namespace``."""
        return self.namespaces.get(namespace or "/")

    @property
    def sid(self) -> str | None:
        """The Engine.IO session id."""
        if self._native is None:
            return None
        result: str | None = self._native.engine_id()
        return result

    def transport(self) -> str | None:
        """``'polling'`` or ``'websocket'``."""
        if self._native is None:
            return None
        result: str | None = self._native.transport()
        return result

    # -- notices -------------------------------------------------------------------------

    def _on_notice(self, notice: tuple[Any, ...]) -> None:
        kind = notice[0]
        if kind == "c_event":
            self._spawn(self._handle_event(*notice[1:]))
        elif kind == "c_connect":
            _, namespace, sid = notice
            if namespace not in self.namespaces:
                self.namespaces[namespace] = sid
                self._spawn(self._trigger_event("connect", namespace))
            if self._connect_event is not None:
                self._connect_event.set()
        elif kind == "c_error":
            _, namespace, data = notice
            if not self._engine_open:
                # The connection itself failed (no server, refused handshake): not a
                # refusal of the namespace. The Rust client retries when reconnection is on.
                if self._open_error is None:
                    message = data.get("message") if isinstance(data, dict) else None
                    self._open_error = f"Connection error: {message}" if message else "Connection error"
                if self._connect_event is not None:
                    self._connect_event.set()
                return
            self._spawn(self._trigger_event("connect_error", namespace, data))
            if namespace not in self.failed_namespaces:
                self.failed_namespaces.append(namespace)
            self.namespaces.pop(namespace, None)
            if self._connect_event is not None:
                self._connect_event.set()
        elif kind == "c_disconnect":
            _, namespace, reason = notice
            if namespace in self.namespaces:
                del self.namespaces[namespace]
                self._spawn(self._trigger_event("disconnect", namespace, reason))
            final = reason != self.reason.TRANSPORT_ERROR or not self.reconnection
            if final and not self.namespaces:
                self._close_native()
        elif kind == "c_manager":
            _, event, detail = notice
            if event == "open":
                self._engine_open = True
            elif event in ("error", "close"):
                self._engine_open = False
            if event == "error" and not self.namespaces:
                self._open_error = "Connection error" if not detail else f"Connection error: {detail}"
                if self._connect_event is not None:
                    self._connect_event.set()
            elif event == "reconnect_failed":
                self._close_native()

    async def _handle_event(self, namespace: str, event: str, args: list[Any], ack: Any) -> None:
        result = await self._trigger_event(event, namespace, *args)
        if ack is not None:
            ack.send(ack_args(result))

    async def _trigger_event(self, event: str, namespace: str, *args: Any) -> Any:
        handler, call_args = self._event_handler(event, namespace, args)
        if handler is not None:
            return await call_handler(handler, call_args, event)
        namespace_handler = self.namespace_handlers.get(namespace)
        if namespace_handler is not None:
            return await namespace_handler.trigger_event(event, *args)
        return None


class AsyncClientNamespace:
    """Client handlers of one namespace as methods (``on_<event>``)."""

    def __init__(self, namespace: str | None = None) -> None:
        self.namespace = namespace or "/"
        self.client: AsyncClient | None = None

    def _set_client(self, client: AsyncClient) -> None:
        self.client = client

    def is_asyncio_based(self) -> bool:
        """Always true."""
        return True

    def _client(self) -> AsyncClient:
        if self.client is None:
            raise RuntimeError("this namespace is not registered with a client")
        return self.client

    async def trigger_event(self, event: str, *args: Any) -> Any:
        """Calls ``on_<event>`` with ``args``."""
        handler = getattr(self, "on_" + (event or ""), None)
        if handler is None:
            return None
        return await call_handler(handler, args, event)

    async def emit(
        self,
        event: str,
        data: Any = None,
        namespace: str | None = None,
        callback: Callable[..., Any] | None = None,
    ) -> None:
        """:meth:`AsyncClient.emit` in this namespace."""
        await self._client().emit(event, data=data, namespace=namespace or self.namespace, callback=callback)

    async def send(
        self, data: Any, namespace: str | None = None, callback: Callable[..., Any] | None = None
    ) -> None:
        """:meth:`AsyncClient.send` in this namespace."""
        await self._client().send(data, namespace=namespace or self.namespace, callback=callback)

    async def call(
        self, event: str, data: Any = None, namespace: str | None = None, timeout: float = 60
    ) -> Any:
        """:meth:`AsyncClient.call` in this namespace."""
        return await self._client().call(
            event, data=data, namespace=namespace or self.namespace, timeout=timeout
        )

    async def disconnect(self) -> None:
        """:meth:`AsyncClient.disconnect`."""
        await self._client().disconnect()
