"""The asyncio side of a native object's notice queue.

The engine runs on its own threads and never takes the GIL to call Python. It queues what
happens and writes a byte to a socket pair; the loop watches the reading end and takes the
whole queue at once. Calls that answer later (acknowledgements, HTTP answers, listening)
are numbered here and end with a ``("done", call, ok, value)`` notice.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Callable, Coroutine


class CallFailed(Exception):
    """A native call ended with an error message."""


class Bridge:
    """Pumps one native object's notices into the running asyncio loop."""

    def __init__(self, native: Any, on_notice: Callable[[tuple[Any, ...]], None]) -> None:
        self._native = native
        self._on_notice = on_notice
        self._fd: int = native.wake_fd()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._calls: dict[int, asyncio.Future[Any]] = {}
        self._next_call = 1

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop the notices go to (bound on first use)."""
        return self.bind()

    def bind(self) -> asyncio.AbstractEventLoop:
        """Delivers notices to the running loop from now on."""
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return loop
        self.unbind()
        self._loop = loop
        loop.add_reader(self._fd, self._wake)
        return loop

    def unbind(self) -> None:
        """Stops watching the queue."""
        if self._loop is not None and not self._loop.is_closed():
            try:
                self._loop.remove_reader(self._fd)
            except (RuntimeError, ValueError):
                pass
        self._loop = None

    def open_call(self) -> tuple[int, asyncio.Future[Any]]:
        """A numbered call for the engine to end, and the future it resolves."""
        loop = self.bind()
        call = self._next_call
        self._next_call += 1
        future: asyncio.Future[Any] = loop.create_future()
        self._calls[call] = future
        return call, future

    def drop_call(self, call: int) -> None:
        """Forgets a call the engine will not end."""
        self._calls.pop(call, None)

    def fail_calls(self, message: str) -> None:
        """Ends every call still open with ``CallFailed(message)`` (the engine is gone and its
        answers would no longer be read)."""
        calls, self._calls = self._calls, {}
        for future in calls.values():
            if not future.done():
                future.set_exception(CallFailed(message))

    def _wake(self) -> None:
        try:
            os.read(self._fd, 4096)
        except (BlockingIOError, InterruptedError):
            pass
        self.pump()

    def pump(self) -> None:
        """Handles every waiting notice now."""
        for notice in self._native.drain():
            if notice[0] == "done":
                future = self._calls.pop(notice[1], None)
                if future is None or future.done():
                    continue
                if notice[2]:
                    future.set_result(notice[3])
                else:
                    future.set_exception(CallFailed(notice[3]))
            else:
                self._on_notice(notice)


def run_eagerly(coro: Coroutine[Any, Any, Any], on_error: Callable[[BaseException], None]) -> None:
    """Runs ``coro`` now, up to its first suspension, and the rest as a task.

    Most handlers finish without waiting for anything (an echo, a room join, an emit);
    they then cost no task and no extra turn of the loop (what Python 3.12's eager task
    factory does). A handler that does wait continues in a task, exactly where it stopped.
    """
    try:
        yielded = coro.send(None)
    except StopIteration:
        return
    except BaseException as error:  # noqa: BLE001 - reported like a task's exception
        on_error(error)
        return
    task = asyncio.ensure_future(_resume(coro, yielded))
    _RESUMED.add(task)

    def finished(task: "asyncio.Task[None]") -> None:
        _RESUMED.discard(task)
        if not task.cancelled() and task.exception() is not None:
            on_error(task.exception())  # type: ignore[arg-type]

    task.add_done_callback(finished)


_RESUMED: set["asyncio.Task[None]"] = set()


async def _resume(coro: Coroutine[Any, Any, Any], yielded: Any) -> None:
    """Drives a started coroutine as a task would: waits for what it yielded (a future, or
    ``None`` for a bare yield), then resumes it."""
    while True:
        try:
            if yielded is None:
                await asyncio.sleep(0)
            else:
                await asyncio.wait([yielded])
        except asyncio.CancelledError as cancelled:
            try:
                yielded = coro.throw(cancelled)
            except StopIteration:
                return
            continue
        try:
            yielded = coro.send(None)
        except StopIteration:
            return
