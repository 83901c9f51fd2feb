"""python-socketio's AsyncClient against the app of ``app.py``, on python-socketio (the
reference) and on polysocket served three ways. Every expectation holds for the reference
too: that is what makes polysocket a drop-in."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import socketio as python_socketio

import polysocket
from conftest import Running

WAIT = 3.0

#: The client library under test: python-socketio's AsyncClient or polysocket's.
CLIENT_MODULES = {"python-socketio-client": python_socketio, "polysocket-client": polysocket}
client_module: Any = python_socketio


@pytest.fixture(autouse=True, params=list(CLIENT_MODULES))
def client_library(request: pytest.FixtureRequest) -> Any:
    global client_module
    client_module = CLIENT_MODULES[request.param]
    yield client_module
    client_module = python_socketio


class Client:
    """A python-socketio client that records the events it receives."""

    def __init__(self, namespaces: list[str] | None = None, answer_questions: bool = True) -> None:
        self.sio = client_module.AsyncClient(reconnection=False)
        self.events: asyncio.Queue[tuple[str, str, tuple[Any, ...]]] = asyncio.Queue()
        self.disconnects: asyncio.Queue[str] = asyncio.Queue()
        for namespace in namespaces or ["/"]:
            self._record(namespace)
        if answer_questions:
            self.sio.on("question", lambda data: {"answer": data})
        else:
            # python-socketio's client acknowledges even unhandled events: answer too late.
            async def late(data: Any) -> Any:
                await asyncio.sleep(1)
                return data

            self.sio.on("question", late)

        @self.sio.event
        async def disconnect(reason: str = "") -> None:
            await self.disconnects.put(reason)

    def _record(self, namespace: str) -> None:
        async def catch_all(event: str, *args: Any) -> None:
            await self.events.put((namespace, event, args))

        self.sio.on("*", catch_all, namespace=namespace)

    async def next(self, event: str, namespace: str = "/") -> tuple[Any, ...]:
        """The arguments of the next `event` (other events before it are skipped)."""
        while True:
            got_namespace, got, args = await asyncio.wait_for(self.events.get(), WAIT)
            if got == event and got_namespace == namespace:
                return args


async def connected(
    server: Running,
    transports: list[str] | None = None,
    auth: dict[str, Any] | None = None,
    namespaces: list[str] | None = None,
    **options: Any,
) -> Client:
    client = Client(namespaces, **options)
    await client.sio.connect(
        server.url,
        transports=transports,
        auth=auth,
        namespaces=namespaces,
        headers={"X-Test": "header-value"},
        wait_timeout=WAIT,
    )
    return client


async def test_connect_handler_events_acks_and_sessions(
    server: Running, transports: list[str] | None
) -> None:
    client = await connected(server, transports, auth={"user": "ada"})
    try:
        (welcome,) = await client.next("welcome")
        sid = client.sio.get_sid()
        assert welcome["sid"] == sid
        assert welcome["rooms"] == sorted([sid, "lobby"])
        assert "EIO=4" in welcome["query"]
        assert welcome["header"] == "header-value"
        assert await client.sio.call("echo", ("a", 1, 2.5, None, True, {"k": [1, 2]}), timeout=WAIT) == (
            "a", 1, 2.5, None, True, {"k": [1, 2]})
        assert await client.sio.call("echo", "one", timeout=WAIT) == "one"
        assert await client.sio.call("echo", {"bin": b"\x00\x01\xff", "n": [b"", b"x"]}, timeout=WAIT) == {
            "bin": b"\x00\x01\xff", "n": [b"", b"x"]}
        assert await client.sio.call("echo", "é ☃ 𝄞", timeout=WAIT) == "é ☃ 𝄞"
        assert await client.sio.call("no_args", timeout=WAIT) is None
        assert await client.sio.call("whoami", timeout=WAIT) == "ada"
        assert await client.sio.call("rename", "grace", timeout=WAIT) is True
        assert await client.sio.call("whoami", timeout=WAIT) == "grace"
        expected = transports[0] if transports else "websocket"
        if transports is None:
            # The upgrade happens in the background; give it a moment.
            for _ in range(100):
                if client.sio.transport() == "websocket":
                    break
                await asyncio.sleep(0.02)
        assert await client.sio.call("transport", timeout=WAIT) == expected
    finally:
        await client.sio.disconnect()


async def test_large_payloads(server: Running) -> None:
    client = await connected(server, ["polling"])
    try:
        text = "x" * 100_000
        blob = bytes(range(256)) * 100
        assert await client.sio.call("echo", (text, blob), timeout=WAIT) == (text, blob)
    finally:
        await client.sio.disconnect()


async def test_connect_handlers_refuse_with_message_and_data(server: Running) -> None:
    for auth, message, data in (
        ({"token": "bad"}, "unauthorized", {"code": 401}),
        ({"refuse": True}, "Connection rejected by server", None),
    ):
        client = Client()
        errors: list[Any] = []
        client.sio.on("connect_error", lambda error: errors.append(error))
        with pytest.raises(client_module.exceptions.ConnectionError):
            await client.sio.connect(server.url, auth=auth, wait_timeout=WAIT)
        if data is None:
            assert errors == [{"message": message}]
        else:
            assert errors == [{"message": message, "data": data}]


async def test_rooms_and_broadcasts(server: Running) -> None:
    a, b, c = [await connected(server, t) for t in (["websocket"], ["polling"], None)]
    try:
        for client in (a, b, c):
            await client.next("welcome")
        sid_a = a.sio.get_sid()
        assert await a.sio.call("join", "blue", timeout=WAIT) == sorted([sid_a, "blue", "lobby"])
        await b.sio.call("join", "blue", timeout=WAIT)
        # `to_room` skips the sender; c is not in the room.
        assert await a.sio.call("to_room", ("blue", "news", {"n": 1}), timeout=WAIT) is True
        assert await b.next("news") == ({"n": 1},)
        # c reaches the lobby (a and b are in it), by sid too.
        await c.sio.call("to_room", ("lobby", "hello", "from c"), timeout=WAIT)
        assert await a.next("hello") == ("from c",)
        assert await b.next("hello") == ("from c",)
        await c.sio.call("to_room", (sid_a, "direct", 7), timeout=WAIT)
        assert await a.next("direct") == (7,)
        # Everyone, the sender included.
        await c.sio.call("to_all", ("all", [1, 2]), timeout=WAIT)
        for client in (a, b, c):
            assert await client.next("all") == ([1, 2],)
        assert await a.sio.call("leave", "blue", timeout=WAIT) == sorted([sid_a, "lobby"])
        await b.sio.call("close", "lobby", timeout=WAIT)
        assert await b.sio.call("leave", "nothing", timeout=WAIT) == sorted([b.sio.get_sid(), "blue"])
        # c never got the events it was not addressed: the next one is the barrier.
        await c.sio.call("to_all", ("barrier", None), timeout=WAIT)
        got = []
        while True:
            _, event, _ = await asyncio.wait_for(c.events.get(), WAIT)
            got.append(event)
            if event == "barrier":
                break
        assert got == ["barrier"]
    finally:
        for client in (a, b, c):
            await client.sio.disconnect()


async def test_server_calls_the_client(server: Running) -> None:
    client = await connected(server, ["websocket"])
    silent = await connected(server, ["polling"], answer_questions=False)
    try:
        assert await client.sio.call("ask", ({"q": 1}, 2), timeout=WAIT) == {"answer": {"q": 1}}
        assert await silent.sio.call("ask", ("nobody", 0.3), timeout=WAIT) == "timeout"
        await client.sio.emit("ask_with_callback", "cb")
        assert await client.next("callback") == ([{"answer": "cb"}],)
    finally:
        await client.sio.disconnect()
        await silent.sio.disconnect()


async def test_disconnect_reasons(server: Running) -> None:
    kicked = await connected(server, ["websocket"])
    sid = kicked.sio.get_sid()
    await kicked.sio.emit("kick")
    await asyncio.wait_for(kicked.disconnects.get(), WAIT)
    for _ in range(100):
        if any(s == sid for s, _ in server.state["disconnects"]):
            break
        await asyncio.sleep(0.02)
    assert (sid, "server disconnect") in server.state["disconnects"]

    # A client's own disconnect: python-socketio sees `client disconnect` over polling
    # and `transport close` over a WebSocket (the close arrives before the packet).
    # polysocket's client (as socket.io-client) sends its DISCONNECT before closing, so the
    # server sees `client disconnect` over both.
    over_websocket = "transport close" if client_module is python_socketio else "client disconnect"
    for transports, reason in ((["polling"], "client disconnect"), (["websocket"], over_websocket)):
        client = await connected(server, transports)
        sid = client.sio.get_sid()
        await client.sio.disconnect()
        for _ in range(100):
            if any(s == sid for s, _ in server.state["disconnects"]):
                break
            await asyncio.sleep(0.02)
        assert (sid, reason) in server.state["disconnects"]


async def test_namespaces(server: Running) -> None:
    client = await connected(server, ["websocket"], namespaces=["/", "/chat", "/any"])
    other = await connected(server, ["polling"], namespaces=["/chat"])
    try:
        assert await client.sio.call("message", "hi", namespace="/chat", timeout=WAIT) == "got hi"
        said = await other.next("said", "/chat")
        assert said[0]["data"] == "hi"
        assert said[0]["sid"] == client.sio.get_sid("/chat")
        assert client.sio.get_sid("/chat") != client.sio.get_sid("/")
        assert await client.sio.call("whatever", (1, "two"), namespace="/any", timeout=WAIT) == [
            "whatever", 1, "two"]
        sid = other.sio.get_sid("/chat")
    finally:
        await client.sio.disconnect()
        await other.sio.disconnect()
    for _ in range(100):
        if any(s == sid for s, _ in server.state["chat_disconnects"]):
            break
        await asyncio.sleep(0.02)
    assert (sid, "client disconnect") in server.state["chat_disconnects"]
    # A namespace the server does not serve refuses the connection.
    client = Client(["/nowhere"])
    with pytest.raises(client_module.exceptions.ConnectionError):
        await client.sio.connect(server.url, namespaces=["/nowhere"], wait_timeout=WAIT)
    await client.sio.disconnect()
