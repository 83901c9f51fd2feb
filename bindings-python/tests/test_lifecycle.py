"""Serializer and life cycle: msgpack both ways, and a shutdown that leaves no task, no
warning and no open descriptor behind."""

from __future__ import annotations

import asyncio
import gc
import os
import warnings
from typing import Any

import pytest
import socketio as python_socketio

import polysocket
from app import build

WAIT = 3.0
LIBRARIES = {"python-socketio-client": python_socketio, "polysocket-client": polysocket}


@pytest.mark.parametrize("library", list(LIBRARIES))
async def test_msgpack_serializer(library: str) -> None:
    sio, _ = build(polysocket, serializer="msgpack")
    port = await sio.serve("127.0.0.1", 0)
    client = LIBRARIES[library].AsyncClient(serializer="msgpack", reconnection=False)
    try:
        await client.connect(f"http://127.0.0.1:{port}", transports=["websocket"], wait_timeout=WAIT)
        payload = {"bin": b"\x00\xff", "list": [1, 2.5, None, True], "text": "é"}
        assert await client.call("echo", payload, timeout=WAIT) == payload
        assert await client.call("join", "m", timeout=WAIT) == sorted([client.get_sid(), "lobby", "m"])
    finally:
        await client.disconnect()
        await sio.shutdown()


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_shutdown_leaves_nothing_behind() -> None:
    before = open_descriptors()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            sio, state = build(polysocket)
            port = await sio.serve("127.0.0.1", 0)
            clients: list[Any] = []
            for transports in (["websocket"], ["polling"]):
                client = polysocket.AsyncClient(reconnection=False)
                await client.connect(f"http://127.0.0.1:{port}", transports=transports, wait_timeout=WAIT)
                assert await client.call("echo", "x", timeout=WAIT) == "x"
                clients.append(client)
            await sio.shutdown()
            # Every socket got its disconnect handler before shutdown() returned.
            assert len(state["disconnects"]) == 2
            assert {reason for _, reason in state["disconnects"]} == {"server disconnect"}
            for client in clients:
                await asyncio.wait_for(client.wait(), WAIT)
                await client.disconnect()
        # The clients let go of the loop a moment after they close.
        await asyncio.sleep(1.2)
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert pending == []
    del sio, clients, client
    gc.collect()
    # The native objects closed their wake-up socket pairs (some slack for the loop's own).
    assert open_descriptors() <= before + 2


@pytest.mark.parametrize("mode", ["polysocket-uvicorn", "polysocket-aiohttp"])
async def test_a_pending_poll_does_not_hold_the_web_server_after_shutdown(mode: str) -> None:
    """shutdown() while a long-poll GET waits: the request ends (with its answer, or 503),
    so the web server's own graceful shutdown finishes instead of waiting for it forever."""
    import aiohttp

    from conftest import serve

    async def scenario() -> None:
        async with aiohttp.ClientSession() as http:
            # Leaving serve() runs sio.shutdown(), then the web server's shutdown.
            async with serve(mode) as running:
                async with http.get(f"{running.url}/socket.io/?EIO=4&transport=polling") as opened:
                    sid = (await opened.text()).split('"sid":"')[1].split('"')[0]
                poll = asyncio.ensure_future(
                    http.get(f"{running.url}/socket.io/?EIO=4&transport=polling&sid={sid}")
                )
                await asyncio.sleep(0.2)  # the GET is parked in the engine
            try:
                response = await asyncio.wait_for(poll, WAIT)
                assert response.status in (200, 503)
                response.release()
            except aiohttp.ClientError:
                pass  # the web server may also have cut the connection

    await asyncio.wait_for(scenario(), 10)
