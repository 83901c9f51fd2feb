"""python-socketio with its MessagePack serializer against a server started with PARSER=msgpack.

python-socketio's ``serializer='msgpack'`` (socketio.msgpack_packet.MsgPackPacket, PyPI
``msgpack``) encodes every Socket.IO packet as one MessagePack map ``{type, data, nsp[, id]}``
sent as one binary Engine.IO message, with ``bytes`` inline (no attachments) — the same
layout as npm socket.io-msgpack-parser (CONTRACT.md, ``PARSER``).

One difference: python-socketio always writes the ``data`` key, so its DISCONNECT packet is
``{type: 1, data: nil, nsp}``, and socket.io-msgpack-parser only accepts a DISCONNECT whose
``data`` is absent ("invalid payload"). See test_msgpack_disconnect_packet_with_nil_data.
"""

import asyncio

import pytest
import socketio
from socketio import packet

from conftest import TRANSPORTS, WAIT, ask, server_disconnect_entry

pytestmark = pytest.mark.parametrize("transports", TRANSPORTS, ids=lambda t: "+".join(t))


async def test_msgpack_connect_with_auth_gets_welcome(msgpack_clients, inbox, transports):
    sio = msgpack_clients.new()
    sio.on("welcome", inbox.handler("welcome"))
    auth = {
        "token": "good",
        "user": "zoë 🚀",
        "n": 7,
        "negative": -300,
        "big": 2**40,
        "float": 1.5,
        "flag": True,
        "nested": {"list": [1, "two", None, False]},
    }
    await msgpack_clients.connect(sio, transports, auth=auth)
    assert sio.transport() == transports[0]
    (welcome,) = await inbox.get("welcome")
    assert welcome == {"id": sio.get_sid("/"), "auth": auth}
    assert sio.get_sid("/") != sio.eio.sid


async def test_msgpack_connect_without_auth(msgpack_clients, inbox, transports):
    # python-socketio sends CONNECT with data {} when no auth is given (a map: valid for the
    # msgpack parser's CONNECT check), so handshake.auth is {}
    sio = msgpack_clients.new()
    sio.on("welcome", inbox.handler("welcome"))
    await msgpack_clients.connect(sio, transports)
    assert await inbox.get("welcome") == ({"id": sio.get_sid("/"), "auth": {}},)


async def test_msgpack_echo_ack_with_nested_binary(msgpack_clients, inbox, transports):
    sio = msgpack_clients.new()
    sio.on("echo", inbox.handler("echo"))
    await msgpack_clients.connect(sio, transports)
    big = bytes(range(256)) * 300  # 76800 bytes: MessagePack bin 32
    payload = {
        "bytes": b"\x00\x01\x02\xff",
        "nested": {"list": [b"", b"\xfe" * 300, "text", {"deep": [big]}]},
        "text": "é" * 40,
        "numbers": [0, -1, 127, 128, -129, 65536, 2**40, -(2**40), 0.25],
        "nothing": None,
    }
    answer = await ask(sio, "echo", payload)
    assert answer == payload
    assert isinstance(answer["bytes"], bytes), type(answer["bytes"])
    assert isinstance(answer["nested"]["list"][0], bytes) and answer["nested"]["list"][0] == b""
    assert isinstance(answer["nested"]["list"][3]["deep"][0], bytes)
    # several ack arguments, binary among them
    assert await ask(sio, "echo", "a", b"\x10\x20", [b"\x30"]) == ("a", b"\x10\x20", [b"\x30"])
    # no ack: the server emits "echo" back
    await sio.emit("echo", ("no ack", b"hi", {"b": b"\x00"}))
    assert await inbox.get("echo") == ("no ack", b"hi", {"b": b"\x00"})


async def test_msgpack_server_to_client_ack(msgpack_clients, transports):
    sio = msgpack_clients.new()

    @sio.on("question")
    async def on_question(payload):
        return {"answered": payload["q"] * 2, "blob": payload["blob"] + b"!"}  # return value = ack

    await msgpack_clients.connect(sio, transports)
    answer = await ask(sio, "ask-client", {"q": 21, "blob": b"\x00\xff"})
    assert answer == {"answered": 42, "blob": b"\x00\xff!"}


async def test_msgpack_rooms(msgpack_clients, inbox, transports):
    a, b, c = msgpack_clients.new(), msgpack_clients.new(), msgpack_clients.new()
    for name, s in (("a", a), ("b", b), ("c", c)):
        s.on("room-news", inbox.handler(f"room-news {name}"))
        s.on("barrier", inbox.handler(f"barrier {name}"))
        await msgpack_clients.connect(s, transports)
    room = "mp-py-room-" + transports[0]
    assert await ask(a, "join", room) == sorted([a.get_sid("/"), room])
    assert await ask(b, "join", room) == sorted([b.get_sid("/"), room])
    news = {"from": "b", "blob": b"\x01\x02"}
    assert await ask(b, "to-room", room, "room-news", news) is None
    assert await inbox.get("room-news a") == (news,)
    assert await inbox.get("room-news b") == (news,), "the sender is in the room: it gets it too"
    await ask(a, "to-room", c.get_sid("/"), "barrier", 1)
    await inbox.get("barrier c")
    assert inbox.pending("room-news c") == 0, "a non-member must not receive the room message"
    assert await ask(b, "leave", room) == [b.get_sid("/")]


async def test_msgpack_middleware_refusal(msgpack_clients, transports):
    sio = msgpack_clients.new()
    errors = []
    sio.on("connect_error", lambda data: errors.append(data))
    with pytest.raises(socketio.exceptions.ConnectionError) as excinfo:
        await msgpack_clients.connect(sio, transports, auth={"token": "bad"})
    assert errors == [{"message": "unauthorized", "data": {"code": 401}}], f"connect_error payload: {errors}"
    # the refusal's message reaches the client in the connect_error payload (above); the
    # exception names the namespace
    assert str(excinfo.value) == "One or more namespaces failed to connect: /"
    assert not sio.connected


async def test_msgpack_invalid_namespace(msgpack_clients, transports):
    sio = msgpack_clients.new()
    errors = []
    sio.on("connect_error", lambda data: errors.append(data), namespace="/nope")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await msgpack_clients.connect(sio, transports, namespaces=["/nope"])
    assert errors == [{"message": "Invalid namespace"}], f"connect_error payload: {errors}"


async def test_msgpack_custom_namespace_and_server_disconnect(msgpack_clients, inbox, transports):
    observer = await msgpack_clients.connect(msgpack_clients.new(), ["websocket"])
    sio = msgpack_clients.new()
    sio.on("welcome", inbox.handler("welcome /custom"), namespace="/custom")
    reasons = asyncio.Queue()
    sio.on("disconnect", lambda reason=None: reasons.put_nowait(reason))
    await msgpack_clients.connect(sio, transports, namespaces=["/", "/custom"])
    assert await inbox.get("welcome /custom") == ({"id": sio.get_sid("/custom"), "nsp": "/custom"},)
    assert await ask(sio, "echo", b"\x07", namespace="/custom") == b"\x07"
    sid = sio.get_sid("/")
    # the server's DISCONNECT packet is {type: 1, nsp: "/"} (no data key)
    await sio.emit("server-disconnect")
    try:
        reason = await asyncio.wait_for(reasons.get(), WAIT)
    except asyncio.TimeoutError:
        raise AssertionError("client disconnect handler did not fire") from None
    assert reason == "server disconnect"
    assert await server_disconnect_entry(observer, sid) == {"id": sid, "nsp": "/", "reason": "server namespace disconnect"}
    assert await ask(sio, "echo", "still here", namespace="/custom") == "still here"
    assert list(sio.namespaces) == ["/custom"]


# What python-socketio's DISCONNECT looks like with the msgpack serializer: the "data" key is
# always written, as nil.
PY_MSGPACK_DISCONNECT = b"\x83\xa4type\x01\xa4data\xc0\xa3nsp\xa1/"

# What the client sees once the server closes the connection (python-socketio's own strings):
# over websocket the server just closes the WebSocket; over polling engine.io answers the
# pending GET with an Engine.IO CLOSE packet.
CLOSED_BY_SERVER = {"websocket": "transport error", "polling": "server disconnect"}


async def test_msgpack_disconnect_packet_with_nil_data(msgpack_clients, inbox, transports):
    """socket.io-msgpack-parser's check: a DISCONNECT packet must have no data ("invalid payload").

    Observed with socket.io 4.8.4 + socket.io-msgpack-parser 3.0.2: the decoder throws, socket.io's
    Client.onerror passes the error to each socket's "error" listener (here the contract's
    middleware-error emitter, so the client gets "invalid payload") and closes the Engine.IO
    connection: server reason "forced close", not "client namespace disconnect".
    """
    observer = await msgpack_clients.connect(msgpack_clients.new(), ["websocket"])
    sio = msgpack_clients.new()
    middleware_errors = []
    sio.on("middleware-error", lambda *args: middleware_errors.append(args))
    reasons = asyncio.Queue()
    sio.on("disconnect", lambda reason=None: reasons.put_nowait(reason))
    await msgpack_clients.connect(sio, transports)
    sid = sio.get_sid("/")
    pkt = sio.packet_class(packet.DISCONNECT, namespace="/")
    assert pkt.encode() == PY_MSGPACK_DISCONNECT
    # send the namespace DISCONNECT alone (sio.disconnect() would close the transport right after)
    await sio._send_packet(pkt)
    try:
        reason = await asyncio.wait_for(reasons.get(), WAIT)
    except asyncio.TimeoutError:
        reason = f"(still connected after {WAIT}s)"
    # the whole outcome in one comparison, so a failure shows everything that differs
    observed = {
        "client disconnect reason": reason,
        "middleware-error events": middleware_errors,
        "server record": await server_disconnect_entry(observer, sid),
    }
    assert observed == {
        "client disconnect reason": CLOSED_BY_SERVER[transports[0]],
        "middleware-error events": [("invalid payload",)],
        "server record": {"id": sid, "nsp": "/", "reason": "forced close"},
    }
