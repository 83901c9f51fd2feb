"""python-socketio's exception hierarchy (``socketio.exceptions``)."""

from __future__ import annotations

from typing import Any


class SocketIOError(Exception):
    """Base class of every polysocket error."""


class ConnectionError(SocketIOError):  # noqa: A001 - python-socketio's name
    """A connection could not be made or was lost."""


class ConnectionRefusedError(ConnectionError):  # noqa: A001 - python-socketio's name
    """Raise it from a ``connect`` handler to refuse the connection.

    The positional arguments go back to the client in its ``connect_error``: the first is
    the message, the second (or the rest, as a tuple) the data.
    """

    error_args: dict[str, Any]

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        if len(args) == 0:
            self.error_args = {"message": "Connection rejected by server"}
        elif len(args) == 1:
            self.error_args = {"message": str(args[0])}
        else:
            self.error_args = {"message": str(args[0])}
            self.error_args["data"] = args[1] if len(args) == 2 else args[1:]


class TimeoutError(SocketIOError):  # noqa: A001 - python-socketio's name
    """An acknowledgement did not arrive in time."""


class BadNamespaceError(SocketIOError):
    """The namespace is not connected."""


class DisconnectedError(SocketIOError):
    """The connection is gone."""
