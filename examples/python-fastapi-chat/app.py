"""A FastAPI + python-socketio chat, written as python-socketio's documentation shows.

Run it with ``uvicorn app:app``. scripts/python-drop-in.sh runs it and its tests as they
are, then with the import line changed to ``import polysocket as socketio``.
"""

import time

import socketio
from fastapi import FastAPI

sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins="*")
api = FastAPI()
app = socketio.ASGIApp(sio, other_asgi_app=api)

history: dict[str, list[dict]] = {}


@api.get("/api/health")
async def health() -> dict:
    return {"ok": True}


@api.get("/api/history/{room}")
async def room_history(room: str) -> list[dict]:
    return history.get(room, [])


@sio.event
async def connect(sid, environ, auth):
    name = (auth or {}).get("name")
    if not name:
        raise socketio.exceptions.ConnectionRefusedError("a name is required")
    await sio.save_session(sid, {"name": name, "room": None})


@sio.event
async def join(sid, room):
    async with sio.session(sid) as session:
        if session["room"]:
            await sio.leave_room(sid, session["room"])
            await sio.emit("left", {"name": session["name"]}, room=session["room"])
        session["room"] = room
        await sio.enter_room(sid, room)
    await sio.emit("joined", {"name": session["name"]}, room=room, skip_sid=sid)
    return {"room": room, "history": history.get(room, [])}


@sio.event
async def message(sid, text):
    session = await sio.get_session(sid)
    if not session["room"]:
        return {"error": "join a room first"}
    entry = {"id": len(history.setdefault(session["room"], [])) + 1, "name": session["name"],
             "text": text, "at": time.time()}
    history[session["room"]].append(entry)
    await sio.emit("message", entry, room=session["room"], skip_sid=sid)
    return {"id": entry["id"]}


@sio.event
async def typing(sid):
    session = await sio.get_session(sid)
    if session["room"]:
        await sio.emit("typing", session["name"], room=session["room"], skip_sid=sid)


@sio.event
async def who(sid):
    session = await sio.get_session(sid)
    return session["name"]


@sio.event
async def disconnect(sid, reason):
    pass
