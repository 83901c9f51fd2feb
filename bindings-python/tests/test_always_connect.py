"""``always_connect=True``: the client is connected before the connect handler runs, and a
refusal disconnects it (python-socketio's behaviour, checked on python-socketio too)."""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator

import pytest
import socketio as python_socketio

from conftest import MODES, Running, serve

WAIT = 3.0


@pytest.fixture(params=MODES)
async def always(request: pytest.FixtureRequest) -> AsyncIterator[Running]:
    async with serve(request.param, always_connect=True) as running:
        yield running


async def test_always_connect(always: Running) -> None:
    welcomed = python_socketio.AsyncClient(reconnection=False)
    welcomes: asyncio.Queue[Any] = asyncio.Queue()
    welcomed.on("welcome", welcomes.put_nowait)
    await welcomed.connect(always.url, transports=["websocket"], auth={"user": "a"}, wait_timeout=WAIT)
    assert (await asyncio.wait_for(welcomes.get(), WAIT))["sid"] == welcomed.get_sid()
    assert await welcomed.call("whoami", timeout=WAIT) == "a"
    await welcomed.disconnect()

    refused = python_socketio.AsyncClient(reconnection=False)
    events: list[str] = []
    refused.on("connect", lambda: events.append("connect"))
    refused.on("disconnect", lambda *reason: events.append("disconnect"))
    try:
        await refused.connect(always.url, transports=["websocket"], auth={"refuse": True}, wait_timeout=WAIT)
    except python_socketio.exceptions.ConnectionError:
        pass
    for _ in range(100):
        if "disconnect" in events:
            break
        await asyncio.sleep(0.02)
    assert events[:1] == ["connect"]
    assert "disconnect" in events
    await refused.disconnect()
