"""``AsyncRedisManager``: scale an :class:`AsyncServer` over Redis.

It is polysocket's Rust cluster adapter, which speaks the format of npm
``@socket.io/redis-adapter`` (the Node servers' format), not python-socketio's pickled
messages: polysocket servers share a cluster with Node socket.io servers and with
``@socket.io/redis-emitter``, not with python-socketio servers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import AsyncServer


class AsyncRedisManager:
    """The ``client_manager`` that joins a Redis cluster at ``url``.

    ``channel`` is the channel prefix (``key`` in ``@socket.io/redis-adapter``); its
    default, ``"socket.io"``, is the Node adapter's, so that Node servers join the same
    cluster unchanged. ``requests_timeout`` bounds the cluster-wide requests.
    """

    def __init__(
        self,
        url: str = "redis://localhost:6379/0",
        channel: str = "socket.io",
        write_only: bool = False,
        logger: Any = None,
        redis_options: dict[str, Any] | None = None,
        requests_timeout: float = 5.0,
    ) -> None:
        if write_only:
            raise ValueError(
                "write_only managers are not supported: emit from outside a server with "
                "npm @socket.io/redis-emitter, or run an AsyncServer with this manager"
            )
        self.redis_url = url
        self.channel = channel
        self.requests_timeout = requests_timeout
        self.server: AsyncServer | None = None

    def _adapter_options(self) -> dict[str, Any]:
        return {"url": self.redis_url, "key": self.channel, "requests_timeout": self.requests_timeout}

    def _install(self, server: AsyncServer) -> None:
        self.server = server
