"""``AsyncRedisManager``: polysocket servers and a Node socket.io server with
@socket.io/redis-adapter in one Redis cluster (a private redis-server)."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import uuid
from typing import Any, AsyncIterator, Iterator

import pytest
import socketio as python_socketio

import polysocket
from app import build

WAIT = 3.0
HERE = os.path.dirname(os.path.abspath(__file__))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            import time

            time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(5)


async def client(url: str) -> Any:
    sio = python_socketio.AsyncClient(reconnection=False)
    sio.received = asyncio.Queue()

    @sio.on("*")
    async def any_event(event: str, *args: Any) -> None:
        await sio.received.put((event, args))

    await sio.connect(url, transports=["websocket"], wait_timeout=WAIT)
    return sio


async def next_event(sio: Any, event: str) -> tuple[Any, ...]:
    while True:
        got, args = await asyncio.wait_for(sio.received.get(), WAIT)
        if got == event:
            return args  # type: ignore[no-any-return]


@pytest.fixture
async def node_server(redis_url: str) -> AsyncIterator[tuple[str, str]]:
    key = f"test-{uuid.uuid4().hex[:8]}"
    process = await asyncio.create_subprocess_exec(
        "node", os.path.join(HERE, "node_redis_server.js"),
        env={**os.environ, "REDIS_URL": redis_url, "KEY": key},
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 10)
    assert line.startswith(b"LISTENING "), line
    try:
        yield f"http://127.0.0.1:{int(line.split()[1])}", key
    finally:
        process.terminate()
        await process.wait()


async def test_a_mixed_cluster_shares_rooms(redis_url: str, node_server: tuple[str, str]) -> None:
    node_url, key = node_server
    first, _ = build(polysocket, client_manager=polysocket.AsyncRedisManager(redis_url, channel=key))
    second, _ = build(polysocket, client_manager=polysocket.AsyncRedisManager(redis_url, channel=key))
    ports = [await first.serve("127.0.0.1", 0), await second.serve("127.0.0.1", 0)]
    a = await client(f"http://127.0.0.1:{ports[0]}")
    b = await client(f"http://127.0.0.1:{ports[1]}")
    n = await client(node_url)
    try:
        await a.call("join", "blue", timeout=WAIT)
        await n.call("join", "blue", timeout=WAIT)
        # polysocket server 2 → room on server 1 and on the Node server.
        await b.call("to_room", ("blue", "news", {"from": "py"}), timeout=WAIT)
        assert await next_event(a, "news") == ({"from": "py"},)
        assert await next_event(n, "news") == ({"from": "py"},)
        # The Node server → a client of polysocket server 1.
        await n.call("to_room", ("blue", "news", {"from": "node"}), timeout=WAIT)
        assert await next_event(a, "news") == ({"from": "node"},)
        # Everyone on every server, and close_room across the cluster.
        await a.call("to_all", ("all", 1), timeout=WAIT)
        for sio in (a, b, n):
            assert await next_event(sio, "all") == (1,)
        await b.call("close", "blue", timeout=WAIT)
        await asyncio.sleep(0.2)
        await n.call("to_room", ("blue", "after-close", 1), timeout=WAIT)
        await b.call("to_all", ("barrier", None), timeout=WAIT)
        got, _ = await asyncio.wait_for(a.received.get(), WAIT)
        assert got == "barrier"
    finally:
        for sio in (a, b, n):
            await sio.disconnect()
        await first.shutdown()
        await second.shutdown()


async def test_an_unreachable_redis_fails_loudly() -> None:
    sio = polysocket.AsyncServer(client_manager=polysocket.AsyncRedisManager(f"redis://127.0.0.1:{free_port()}"))
    with pytest.raises(RuntimeError, match="Redis at"):
        await sio.serve("127.0.0.1", 0)
