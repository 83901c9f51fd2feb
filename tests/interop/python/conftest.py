"""Fixtures for the Python interop suite: one server per session, tracked clients per test.

The server under test is POLYSOCKET_INTEROP_SERVER (an executable) or, if unset,
``node tests/interop/reference-server.js``. See ../CONTRACT.md.
"""

import asyncio
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
import socketio

INTEROP_DIR = Path(__file__).resolve().parent.parent
REFERENCE_SERVER = INTEROP_DIR / "reference-server.js"
STARTUP_TIMEOUT = 10.0
WAIT = 3.0  # default bound for every wait in the suite

TRANSPORTS = [["websocket"], ["polling"]]


def _server_command():
    binary = os.environ.get("POLYSOCKET_INTEROP_SERVER")
    if binary:
        return [binary]
    node = shutil.which("node")
    if not node:
        raise RuntimeError("node not found and POLYSOCKET_INTEROP_SERVER is unset")
    return [node, str(REFERENCE_SERVER)]


class ServerProcess:
    def __init__(self, extra_env=None):
        env = dict(os.environ, PORT="0", **(extra_env or {}))
        self.cmd = _server_command()
        self.proc = subprocess.Popen(
            self.cmd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._stderr = []
        threading.Thread(target=self._drain, args=(self.proc.stderr, self._stderr), daemon=True).start()
        self.port = self._wait_listening()
        # keep draining stdout so the child never blocks on a full pipe
        threading.Thread(target=self._drain, args=(self.proc.stdout, []), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.port}"

    @staticmethod
    def _drain(stream, sink):
        for line in stream:
            sink.append(line)
            del sink[:-200]

    def _wait_listening(self):
        result = {}

        def read():
            for line in self.proc.stdout:
                parts = line.split()
                if len(parts) == 2 and parts[0] == "LISTENING" and parts[1].isdigit():
                    result["port"] = int(parts[1])
                    return

        t = threading.Thread(target=read, daemon=True)
        t.start()
        t.join(STARTUP_TIMEOUT)
        if "port" not in result:
            self.stop()
            raise RuntimeError(
                f"server {self.cmd} did not print 'LISTENING <port>' within {STARTUP_TIMEOUT}s "
                f"(exit code {self.proc.returncode})\n--- stderr ---\n{''.join(self._stderr)}"
            )
        return result["port"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(2)


@pytest.fixture(scope="session")
def server():
    srv = ServerProcess()
    yield srv
    srv.stop()


class InteropClient(socketio.AsyncClient):
    """Stock AsyncClient, except when no namespace is connected (a failed connect).

    python-engineio 4.15.1 race: when connect() fails (CONNECT_ERROR) over polling while the
    POST that carried the CONNECT is still awaiting its response, disconnect() queues CLOSE but
    the write loop exits (state is no longer "connected") without sending it, and then waits
    for the read loop, whose GET only returns at the server's next ping (25 s). Here the
    engine session is aborted instead: the HTTP session is closed, so the server sees the
    pending GET go away. The connected path (namespace DISCONNECT + CLOSE) is unchanged.
    """

    async def disconnect(self):
        if self.namespaces:
            return await super().disconnect()
        await self.eio.disconnect(abort=True)


class Clients:
    """Creates AsyncClients and disconnects all of them at teardown."""

    def __init__(self, url):
        self.url = url
        self.clients = []

    def new(self, **kwargs):
        sio = InteropClient(reconnection=False, **kwargs)
        self.clients.append(sio)
        return sio

    async def connect(self, sio, transports, namespaces=None, auth=None):
        await sio.connect(
            self.url,
            transports=transports,
            namespaces=namespaces,
            auth=auth,
            wait_timeout=WAIT,
        )
        return sio

    async def close_all(self):
        for sio in self.clients:
            try:
                await asyncio.wait_for(sio.disconnect(), WAIT)
            except Exception:  # noqa: BLE001 - best-effort cleanup
                pass
        self.clients = []


@pytest.fixture
async def clients(server):
    c = Clients(server.url)
    yield c
    await c.close_all()


class Inbox:
    """Collects events into per-name asyncio queues so tests can await them with a bound."""

    def __init__(self):
        self.queues = {}

    def q(self, key):
        return self.queues.setdefault(key, asyncio.Queue())

    def handler(self, key):
        async def on_event(*args):
            await self.q(key).put(args)

        return on_event

    async def get(self, key, timeout=WAIT):
        try:
            return await asyncio.wait_for(self.q(key).get(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"timed out after {timeout}s waiting for {key!r}") from None

    def pending(self, key):
        return self.q(key).qsize()


@pytest.fixture
def inbox():
    return Inbox()


# ---- additions for test_msgpack.py / test_parity.py ----


@pytest.fixture(scope="session")
def msgpack_server():
    """A second server instance started with PARSER=msgpack (CONTRACT.md, "Process")."""
    srv = ServerProcess({"PARSER": "msgpack"})
    yield srv
    srv.stop()


class MsgpackClients(Clients):
    """Clients whose AsyncClients use python-socketio's MessagePack serializer."""

    def new(self, **kwargs):
        kwargs.setdefault("serializer", "msgpack")
        return super().new(**kwargs)


@pytest.fixture
async def msgpack_clients(msgpack_server):
    c = MsgpackClients(msgpack_server.url)
    yield c
    await c.close_all()


async def ask(sio, event, *args, namespace=None, timeout=WAIT):
    """``sio.call(event, *args)`` bounded by ``timeout``; a missing ack becomes an AssertionError.

    Several ack arguments come back as a tuple, one as itself, none as None (python-socketio).
    """
    data = args[0] if len(args) == 1 and not isinstance(args[0], tuple) else (args or None)
    try:
        return await sio.call(event, data, namespace=namespace, timeout=timeout)
    except socketio.exceptions.TimeoutError:
        raise AssertionError(f"no ack for {event!r} within {timeout}s") from None


async def poll_until(fetch, predicate, what, timeout=WAIT, interval=0.05):
    """Await ``fetch()`` until ``predicate(value)`` holds; bounded by ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    value = None
    while True:
        value = await fetch()
        if predicate(value):
            return value
        if loop.time() >= deadline:
            raise AssertionError(f"{what}: not reached within {timeout}s; last value: {value!r}")
        await asyncio.sleep(interval)


async def server_disconnect_entry(observer, sid):
    """The server's reason-log entry (``get-disconnect-reasons``) for ``sid``, polled."""
    log = await poll_until(
        lambda: ask(observer, "get-disconnect-reasons"),
        lambda entries: any(e["id"] == sid for e in entries),
        f"server disconnect record for {sid}",
    )
    return next(e for e in log if e["id"] == sid)
