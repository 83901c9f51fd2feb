"""polysocket: python-socketio's asyncio API on polysocket's Rust Socket.IO engine.

Switch a python-socketio asyncio app with ``import polysocket as socketio``.
"""

from . import exceptions
from .asgi import ASGIApp
from .client import AsyncClient, AsyncClientNamespace
from .namespace import AsyncNamespace
from .redis_manager import AsyncRedisManager
from .server import AsyncServer

__version__ = "0.1.0"

__all__ = [
    "ASGIApp",
    "AsyncClient",
    "AsyncClientNamespace",
    "AsyncNamespace",
    "AsyncRedisManager",
    "AsyncServer",
    "exceptions",
]
