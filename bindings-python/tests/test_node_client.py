"""npm socket.io-client 4 against the app of ``app.py`` (reference and polysocket)."""

from __future__ import annotations

import asyncio
import json
import os

import pytest

from conftest import Running

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.mark.parametrize("transports", ["websocket", "polling", "polling,websocket"])
async def test_socket_io_client(server: Running, transports: str) -> None:
    process = await asyncio.create_subprocess_exec(
        "node", os.path.join(HERE, "node_client.js"), server.url, transports,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 15)
    result = json.loads(out.decode().strip().splitlines()[-1])
    assert "error" not in result, result
    assert result["welcome"]["sid"] == result["id"]
    assert result["welcome"]["rooms"] == sorted([result["id"], "lobby"])
    assert result["echo"] == ["a", {"n": 1}, [1, 2, 3]]
    assert result["whoami"] == "node"
    assert result["asked"] == {"answer": {"q": "node"}}
    assert result["joined"] == sorted([result["id"], "green", "lobby"])
    assert result["reason"] == "io server disconnect"
