"""Client behaviours with python-socketio's AsyncClient and polysocket's, against
polysocket's server (and python-socketio's where a server is needed at all)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
import socketio as python_socketio

import polysocket
from app import build
from conftest import Running

WAIT = 3.0
LIBRARIES = {"python-socketio-client": python_socketio, "polysocket-client": polysocket}


@pytest.fixture(params=list(LIBRARIES))
def library(request: pytest.FixtureRequest) -> Any:
    return LIBRARIES[request.param]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_no_server_raises_connection_error(library: Any) -> None:
    client = library.AsyncClient(reconnection=False)
    errors: list[Any] = []
    client.on("connect_error", lambda *args: errors.append(args))
    with pytest.raises(library.exceptions.ConnectionError):
        await client.connect(f"http://127.0.0.1:{free_port()}", wait_timeout=WAIT)
    assert len(errors) == 1
    assert not client.connected


async def test_reconnects_after_the_server_restarts(library: Any) -> None:
    port = free_port()
    sio, _ = build(polysocket)
    await sio.serve("127.0.0.1", port)
    client = library.AsyncClient(reconnection_delay=0.1, reconnection_delay_max=0.2, randomization_factor=0)
    connects: asyncio.Queue[str] = asyncio.Queue()

    @client.event
    async def connect() -> None:
        await connects.put(client.get_sid() or "")

    try:
        await client.connect(f"http://127.0.0.1:{port}", transports=["websocket"], auth={"user": "r"},
                             wait_timeout=WAIT)
        first = await asyncio.wait_for(connects.get(), WAIT)
        await sio.shutdown()
        sio, _ = build(polysocket)
        await sio.serve("127.0.0.1", port)
        second = await asyncio.wait_for(connects.get(), 10)
        assert second != first
        assert await client.call("whoami", timeout=WAIT) == "r"
    finally:
        await client.disconnect()
        await sio.shutdown()


async def test_server_disconnect_ends_wait(library: Any, polysocket_server: Running) -> None:
    server = polysocket_server
    client = library.AsyncClient()
    reasons: list[str] = []
    client.on("disconnect", lambda reason: reasons.append(reason))
    await client.connect(server.url, transports=["websocket"], wait_timeout=WAIT)
    await client.emit("kick")
    await asyncio.wait_for(client.wait(), WAIT)
    assert reasons == ["server disconnect"]
    assert not client.connected


async def test_calls_time_out_and_namespaces_are_checked(
    library: Any, polysocket_server: Running
) -> None:
    server = polysocket_server
    client = library.AsyncClient(reconnection=False)
    await client.connect(server.url, transports=["polling"], wait_timeout=WAIT)
    try:
        # No handler on the server: no acknowledgement.
        with pytest.raises(library.exceptions.TimeoutError):
            await client.call("nobody-handles-this", timeout=0.3)
        with pytest.raises(library.exceptions.BadNamespaceError):
            await client.emit("echo", 1, namespace="/chat")
        answers: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()

        async def answered(*args: Any) -> None:
            await answers.put(args)

        await client.emit("echo", (1, "two"), callback=answered)
        assert await asyncio.wait_for(answers.get(), WAIT) == (1, "two")
        assert client.transport() == "polling"
        assert client.sid
    finally:
        await client.disconnect()


async def test_class_based_client_namespaces(library: Any, server: Running) -> None:
    said: asyncio.Queue[Any] = asyncio.Queue()

    class Chat(library.AsyncClientNamespace):  # type: ignore[name-defined, misc]
        async def on_said(self, data: Any) -> None:
            await said.put(data)

    client = library.AsyncClient(reconnection=False)
    client.register_namespace(Chat("/chat"))
    await client.connect(server.url, transports=["websocket"], wait_timeout=WAIT)
    try:
        assert set(client.namespaces) == {"/chat"}
        assert await client.call("message", "hello", namespace="/chat", timeout=WAIT) == "got hello"
        got = await asyncio.wait_for(said.get(), WAIT)
        assert got["data"] == "hello"
    finally:
        await client.disconnect()


async def test_retry_waits_for_a_server_that_starts_later(library: Any) -> None:
    port = free_port()
    client = library.AsyncClient(reconnection_delay=0.1, reconnection_delay_max=0.2, randomization_factor=0)
    connecting = asyncio.ensure_future(
        client.connect(f"http://127.0.0.1:{port}", transports=["websocket"], retry=True, wait_timeout=WAIT)
    )
    await asyncio.sleep(0.5)
    assert not connecting.done()
    sio, _ = build(polysocket)
    await sio.serve("127.0.0.1", port)
    try:
        await asyncio.wait_for(connecting, 10)
        assert client.connected
        assert await client.call("echo", "late", timeout=WAIT) == "late"
    finally:
        await client.disconnect()
        await sio.shutdown()
