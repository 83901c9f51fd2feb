"""What the server and the client share: registering handlers, finding the one for an
event (python-socketio's resolution order, ``'*'`` catch-alls included), calling it, and
the tasks handlers run in."""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any, Awaitable, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def make_logger(logger: bool | logging.Logger, default: logging.Logger) -> logging.Logger:
    """python-socketio's ``logger`` argument: a logger, or a flag for the default one's level."""
    if isinstance(logger, logging.Logger):
        return logger
    if default.level == logging.NOTSET:
        default.setLevel(logging.INFO if logger else logging.ERROR)
    return default


async def call_handler(handler: Callable[..., Any], args: tuple[Any, ...], event: str) -> Any:
    """Calls ``handler`` with ``args`` (awaited when it returns an awaitable). A
    ``disconnect`` handler of the older style takes no reason: it gets the rest."""
    try:
        result = handler(*args)
    except TypeError:
        if event != "disconnect":
            raise
        result = handler(*args[:-1])
    if inspect.isawaitable(result):
        result = await result
    return result


def ack_args(result: Any) -> list[Any]:
    """A handler's return value as acknowledgement arguments: a tuple is several, ``None``
    none."""
    if result is None:
        return []
    if isinstance(result, tuple):
        return list(result)
    return [result]


class HandlerHost:
    """Handler registration, lookup and tasks, for :class:`AsyncServer` and
    :class:`AsyncClient`."""

    #: Events that ``'*'`` catch-alls do not receive.
    reserved_events: tuple[str, ...] = ()

    def __init__(self, logger: bool | logging.Logger, default_logger: logging.Logger) -> None:
        self.logger = make_logger(logger, default_logger)
        self.handlers: dict[str, dict[str, Callable[..., Any]]] = {}
        self.namespace_handlers: dict[str, Any] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    def _namespace_added(self, namespace: str) -> None:
        """Called when a handler for ``namespace`` is registered."""

    def on(
        self, event: str, handler: Callable[..., Any] | None = None, namespace: str | None = None
    ) -> Any:
        """Registers ``handler`` for ``event`` in ``namespace`` (``'*'``: every event or
        every namespace); without ``handler``, a decorator."""
        namespace = namespace or "/"

        def set_handler(handler: F) -> F:
            self.handlers.setdefault(namespace, {})[event] = handler
            self._namespace_added(namespace)
            return handler

        if handler is None:
            return set_handler
        set_handler(handler)
        return None

    def event(self, *args: Any, **kwargs: Any) -> Any:
        """Decorator registering a handler named after the function (``@sio.event`` or
        ``@sio.event(namespace='/chat')``)."""
        if len(args) == 1 and len(kwargs) == 0 and callable(args[0]):
            return self.on(args[0].__name__)(args[0])

        def set_handler(handler: F) -> F:
            return self.on(handler.__name__, *args, **kwargs)(handler)  # type: ignore[no-any-return]

        return set_handler

    def _event_handler(
        self, event: str, namespace: str, args: tuple[Any, ...]
    ) -> tuple[Callable[..., Any] | None, tuple[Any, ...]]:
        """The handler of ``event`` in ``namespace`` and its arguments: the namespace's own,
        its catch-all (with the event name first), then those of namespace ``'*'`` (with
        the namespace name too)."""
        handler = None
        if namespace in self.handlers:
            handlers = self.handlers[namespace]
            if event in handlers:
                handler = handlers[event]
            elif event not in self.reserved_events and "*" in handlers:
                handler = handlers["*"]
                args = (event, *args)
        if handler is None and "*" in self.handlers:
            handlers = self.handlers["*"]
            if event in handlers:
                handler = handlers[event]
                args = (namespace, *args)
            elif event not in self.reserved_events and "*" in handlers:
                handler = handlers["*"]
                args = (event, namespace, *args)
        return handler, args

    def _answer_callback(
        self, callback: Callable[..., Any]
    ) -> Callable[[asyncio.Future[Any]], None]:
        """A done-callback that calls an emit's ``callback`` with the acknowledgement's
        arguments (a coroutine it returns runs as a task); a failed or cancelled ack calls
        nothing."""

        def answered(future: asyncio.Future[Any]) -> None:
            if future.cancelled() or future.exception() is not None:
                return
            result = callback(*future.result())
            if inspect.isawaitable(result):
                self._spawn(result)

        return answered

    def sleep(self, seconds: float = 0) -> Awaitable[None]:
        """``asyncio.sleep``."""
        return asyncio.sleep(seconds)

    def start_background_task(
        self, target: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> "asyncio.Task[Any]":
        """Runs coroutine function ``target`` as a task."""
        return asyncio.ensure_future(target(*args, **kwargs))

    def _spawn(self, awaitable: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(awaitable)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: "asyncio.Task[Any]") -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.logger.error("a handler failed", exc_info=task.exception())
