"""The chat app's tests, with python-socketio's AsyncClient over a real uvicorn server."""

import asyncio

import aiohttp
import pytest
import socketio
import uvicorn

import app as chat

WAIT = 3


@pytest.fixture
async def url():
    config = uvicorn.Config(chat.app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    chat.history.clear()
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def client(url, name, transports=None):
    sio = socketio.AsyncClient(reconnection=False)
    sio.received = asyncio.Queue()

    @sio.on("*")
    async def any_event(event, *args):
        await sio.received.put((event, args))

    await sio.connect(url, auth={"name": name}, transports=transports, wait_timeout=WAIT)
    return sio


async def next_event(sio, event):
    while True:
        got, args = await asyncio.wait_for(sio.received.get(), WAIT)
        if got == event:
            return args[0] if len(args) == 1 else args


async def test_the_rest_api_shares_the_port(url):
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{url}/api/health") as response:
            assert await response.json() == {"ok": True}


async def test_a_name_is_required(url):
    sio = socketio.AsyncClient(reconnection=False)
    errors = []
    sio.on("connect_error", lambda data: errors.append(data))
    with pytest.raises(socketio.exceptions.ConnectionError):
        await sio.connect(url, auth={}, wait_timeout=WAIT)
    assert errors == [{"message": "a name is required"}]


@pytest.mark.parametrize("transports", [["websocket"], ["polling"], None])
async def test_rooms_messages_and_sessions(url, transports):
    ada = await client(url, "ada", transports)
    bob = await client(url, "bob", ["websocket"])
    eve = await client(url, "eve", ["websocket"])
    try:
        assert await ada.call("who", timeout=WAIT) == "ada"
        assert await ada.call("message", "too early", timeout=WAIT) == {"error": "join a room first"}
        assert await ada.call("join", "rust", timeout=WAIT) == {"room": "rust", "history": []}
        await bob.call("join", "rust", timeout=WAIT)
        assert await next_event(ada, "joined") == {"name": "bob"}
        await eve.call("join", "python", timeout=WAIT)
        assert await bob.call("message", "hello", timeout=WAIT) == {"id": 1}
        got = await next_event(ada, "message")
        assert (got["id"], got["name"], got["text"]) == (1, "bob", "hello")
        await ada.emit("typing")
        assert await next_event(bob, "typing") == "ada"
        # eve is in another room: her next event is her own room's.
        await eve.call("message", "elsewhere", timeout=WAIT)
        await bob.call("join", "python", timeout=WAIT)
        assert await next_event(eve, "joined") == {"name": "bob"}
        assert eve.received.empty()
        assert await next_event(ada, "left") == {"name": "bob"}
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{url}/api/history/rust") as response:
                assert [m["text"] for m in await response.json()] == ["hello"]
    finally:
        for sio in (ada, bob, eve):
            await sio.disconnect()
