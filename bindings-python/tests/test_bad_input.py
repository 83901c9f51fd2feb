"""Bad input closes one connection (or gets an HTTP error) and nothing else breaks."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp
import pytest

from conftest import Running
from test_server import WAIT, connected


async def handshake(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(f"{url}/socket.io/?EIO=4&transport=polling") as response:
        assert response.status == 200
        body = await response.text()
    return str(json.loads(body[1:])["sid"])


async def test_a_malformed_packet_closes_only_its_connection(polysocket_server: Running) -> None:
    url = polysocket_server.url
    bystander = await connected(polysocket_server, ["websocket"])
    try:
        async with aiohttp.ClientSession() as http:
            sid = await handshake(http, url)
            target = f"{url}/socket.io/?EIO=4&transport=polling&sid={sid}"
            async with http.post(target, data="40") as response:
                assert response.status == 200
            async with http.post(target, data='42["unterminated') as response:
                assert response.status == 200
            # The session is gone: after what was queued, a poll reports it closed or unknown.
            for _ in range(3):
                async with http.get(target) as response:
                    body = await response.text()
                    if response.status == 400 or body.endswith("1"):
                        break
            assert response.status == 400 or body.endswith("1"), (response.status, body)
        assert await bystander.sio.call("echo", "still here", timeout=WAIT) == "still here"
    finally:
        await bystander.sio.disconnect()


async def test_an_oversized_body_gets_413(polysocket_server: Running) -> None:
    async with aiohttp.ClientSession() as http:
        sid = await handshake(http, polysocket_server.url)
        target = f"{polysocket_server.url}/socket.io/?EIO=4&transport=polling&sid={sid}"
        async with http.post(target, data="4" + "x" * 20_000) as response:
            assert response.status == 413


async def test_unknown_sessions_and_transports_get_engine_io_errors(polysocket_server: Running) -> None:
    async with aiohttp.ClientSession() as http:
        base = f"{polysocket_server.url}/socket.io/?EIO=4"
        async with http.get(f"{base}&transport=polling&sid=nope") as response:
            assert response.status == 400
            assert await response.json(content_type=None) == {"code": 1, "message": "Session ID unknown"}
        async with http.get(f"{base}&transport=carrier-pigeon") as response:
            assert response.status == 400
            assert await response.json(content_type=None) == {"code": 0, "message": "Transport unknown"}


async def test_a_failing_handler_is_logged_and_the_server_goes_on(
    polysocket_server: Running, caplog: pytest.LogCaptureFixture
) -> None:
    sio: Any = polysocket_server.sio

    @sio.event
    async def explode(sid: str) -> None:
        raise RuntimeError("boom")

    @sio.event
    async def unserializable(sid: str) -> Any:
        return object()

    client = await connected(polysocket_server, ["websocket"])
    try:
        with caplog.at_level(logging.ERROR, logger="polysocket.server"):
            await client.sio.emit("explode")
            await client.sio.emit("unserializable", callback=lambda *args: None)
            assert await client.sio.call("echo", "after", timeout=WAIT) == "after"
            for _ in range(50):
                if len([r for r in caplog.records if r.exc_info]) >= 2:
                    break
                await asyncio.sleep(0.02)
        errors = [str(r.exc_info[1]) for r in caplog.records if r.exc_info]
        assert "boom" in errors
        assert any("not JSON serializable" in e for e in errors), errors
    finally:
        await client.sio.disconnect()
