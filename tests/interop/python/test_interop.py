"""python-socketio AsyncClient against the server under test (see ../CONTRACT.md)."""

import asyncio

import pytest
import socketio

from conftest import TRANSPORTS, WAIT

pytestmark = pytest.mark.parametrize("transports", TRANSPORTS, ids=lambda t: "+".join(t))


async def call(sio, event, data=None, namespace=None):
    """sio.call bounded by WAIT; a timeout becomes a readable assertion."""
    try:
        return await sio.call(event, data, namespace=namespace, timeout=WAIT)
    except socketio.exceptions.TimeoutError:
        raise AssertionError(f"no ack for {event!r} within {WAIT}s") from None


async def disconnect_reason(observer, sid):
    """Poll the server's disconnect log until it has an entry for ``sid``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    log = []
    while loop.time() < deadline:
        log = await call(observer, "get-disconnect-reasons")
        for entry in log:
            if entry["id"] == sid:
                return entry
        await asyncio.sleep(0.05)
    raise AssertionError(f"server recorded no disconnect for {sid} within {WAIT}s; log: {log}")


async def test_connect_with_auth_gets_welcome(clients, inbox, transports):
    sio = clients.new()
    sio.on("welcome", inbox.handler("welcome"))
    auth = {"token": "good", "user": "zoë 🚀", "n": 7, "nested": {"list": [1, "two", None]}}
    await clients.connect(sio, transports, auth=auth)
    assert sio.transport() == transports[0]
    (welcome,) = await inbox.get("welcome")
    assert welcome["id"] == sio.get_sid("/"), "welcome.id must be the namespace sid"
    assert welcome["auth"] == auth, "handshake auth must round-trip"
    assert sio.get_sid("/") != sio.eio.sid, "Socket.IO v5: namespace sid differs from the Engine.IO sid"


async def test_call_echo_ack(clients, transports):
    sio = await clients.connect(clients.new(), transports)
    assert await call(sio, "echo", {"a": 1, "u": "ünï ✓", "n": None}) == {"a": 1, "u": "ünï ✓", "n": None}
    # several args -> several ack args (returned as a tuple)
    assert await call(sio, "echo", (1, "two", {"three": [3.5]})) == (1, "two", {"three": [3.5]})


async def test_emit_gets_echo_event(clients, inbox, transports):
    sio = clients.new()
    sio.on("echo", inbox.handler("echo"))
    await clients.connect(sio, transports)
    args = ("héllo 🌍", 42, -1.5, None, True, {"nested": {"arr": [1, {"x": []}]}}, [1, [2]])
    await sio.emit("echo", args)
    assert await inbox.get("echo") == args


async def test_binary_round_trip(clients, inbox, transports):
    sio = clients.new()
    sio.on("echo", inbox.handler("echo"))
    await clients.connect(sio, transports)
    blob = bytes(range(256)) * 4
    empty = b""
    await sio.emit("echo", (blob, {"nested": blob[:10], "list": [empty, b"\x00\xff"]}))
    top, nested = await inbox.get("echo")
    assert isinstance(top, bytes) and top == blob, "top-level binary event"
    assert nested["nested"] == blob[:10]
    assert nested["list"] == [b"", b"\x00\xff"], "nested and empty attachments"
    assert await call(sio, "echo", blob) == blob, "binary via ack (BINARY_ACK)"


async def test_server_to_client_ack(clients, transports):
    sio = clients.new()

    @sio.on("question")
    async def on_question(payload):
        return {"answer": payload["q"] * 2}  # the return value is the ack

    await clients.connect(sio, transports)
    assert await call(sio, "ask-client", {"q": 21}) == {"answer": 42}


async def test_custom_namespace(clients, inbox, transports):
    sio = clients.new()
    sio.on("welcome", inbox.handler("welcome /"))
    sio.on("welcome", inbox.handler("welcome /custom"), namespace="/custom")
    await clients.connect(sio, transports, namespaces=["/", "/custom"])
    (w_custom,) = await inbox.get("welcome /custom")
    assert w_custom == {"id": sio.get_sid("/custom"), "nsp": "/custom"}
    (w_root,) = await inbox.get("welcome /")
    assert w_root["id"] == sio.get_sid("/")
    assert sio.get_sid("/") != sio.get_sid("/custom")
    assert await call(sio, "echo", "in custom", namespace="/custom") == "in custom"
    assert await call(sio, "echo", "in root") == "in root"


async def test_join_and_to_room(clients, inbox, transports):
    a, b, c = clients.new(), clients.new(), clients.new()
    for name, s in (("a", a), ("b", b), ("c", c)):
        s.on("room-msg", inbox.handler(f"room-msg {name}"))
        s.on("barrier", inbox.handler(f"barrier {name}"))
        await clients.connect(s, transports)
    room = "py-room-" + transports[0]
    assert await call(a, "join", room) == sorted([a.get_sid("/"), room])
    assert await call(b, "join", room) == sorted([b.get_sid("/"), room])
    assert await call(a, "to-room", (room, "room-msg", {"hi": "ü"})) is None
    assert await inbox.get("room-msg a") == ({"hi": "ü"},), "sender in the room receives it"
    assert await inbox.get("room-msg b") == ({"hi": "ü"},), "member receives it"
    # barrier: a marker sent afterwards to c's own room arrives after anything sent before it
    await call(a, "to-room", (c.get_sid("/"), "barrier", 1))
    await inbox.get("barrier c")
    assert inbox.pending("room-msg c") == 0, "non-member must not receive the room message"
    assert await call(a, "leave", room) == [a.get_sid("/")]


async def test_server_side_disconnect(clients, transports):
    observer = await clients.connect(clients.new(), ["websocket"])
    sio = clients.new()
    reasons = asyncio.Queue()

    @sio.event
    async def disconnect(reason=None):
        await reasons.put(reason)

    await clients.connect(sio, transports)
    sid = sio.get_sid("/")
    await sio.emit("server-disconnect")
    try:
        reason = await asyncio.wait_for(reasons.get(), WAIT)
    except asyncio.TimeoutError:
        raise AssertionError("client disconnect handler did not fire") from None
    # python-socketio's own string for "the server sent a namespace DISCONNECT packet"
    assert reason == sio.reason.SERVER_DISCONNECT == "server disconnect", f"client reason {reason!r}"
    entry = await disconnect_reason(observer, sid)
    assert entry == {"id": sid, "nsp": "/", "reason": "server namespace disconnect"}


async def test_client_disconnect_recorded(clients, transports):
    observer = await clients.connect(clients.new(), ["websocket"])
    sio = await clients.connect(clients.new(), transports)
    sid = sio.get_sid("/")
    await asyncio.wait_for(sio.disconnect(), WAIT)
    entry = await disconnect_reason(observer, sid)
    # python-socketio's disconnect() queues a namespace DISCONNECT ("41") and then closes the
    # Engine.IO session (CLOSE "1" in the same polling payload, or closing the WebSocket right
    # away). socket.io 4.8 handles namespace packets on process.nextTick, so the reference
    # records "transport close" here; "client namespace disconnect" is accepted as well.
    assert entry["nsp"] == "/"
    assert entry["reason"] in ("transport close", "client namespace disconnect"), entry


async def test_auth_rejected(clients, transports):
    sio = clients.new()
    errors = []
    sio.on("connect_error", lambda data: errors.append(data))
    with pytest.raises(socketio.exceptions.ConnectionError) as excinfo:
        await clients.connect(sio, transports, auth={"token": "bad"})
    assert errors == [{"message": "unauthorized", "data": {"code": 401}}], f"connect_error payload: {errors}"
    assert "failed to connect" in str(excinfo.value), str(excinfo.value)
    assert not sio.connected


async def test_invalid_namespace(clients, transports):
    sio = clients.new()
    errors = []
    sio.on("connect_error", lambda data: errors.append(data), namespace="/nope")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await clients.connect(sio, transports, namespaces=["/nope"])
    assert errors == [{"message": "Invalid namespace"}], f"connect_error payload: {errors}"
