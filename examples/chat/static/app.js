// polysocket chat page. Protocol: examples/chat/PROTOCOL.md.
// All user-provided text reaches the DOM through textContent / attributes only, never innerHTML.
(() => {
  "use strict";

  const NICK_MAX = 32;
  const ROOM_MAX = 32;
  const TEXT_MAX = 1000;
  const ACK_TIMEOUT = 10000;
  const TYPING_IDLE = 2000; // stop typing after this long without a keystroke
  const TYPING_REFRESH = 3000; // re-send typing=true at most this often while typing
  const TYPING_EXPIRE = 6000; // drop someone else's typing entry without a refresh
  const MAX_MESSAGES = 500;

  const $ = (id) => document.getElementById(id);
  const el = {
    status: $("status"), me: $("me"),
    loginView: $("login-view"), login: $("login"), nickname: $("nickname"), room: $("room"),
    join: $("join"), loginError: $("login-error"),
    chatView: $("chat-view"), rooms: $("rooms"), switchForm: $("switch-form"), newRoom: $("new-room"),
    switchBtn: $("switch"), users: $("users"), userCount: $("user-count"), roomTitle: $("room-title"),
    messages: $("messages"), typing: $("typing"), composer: $("composer"), message: $("message"),
    send: $("send"), chatError: $("chat-error"),
  };

  const state = {
    nickname: null, // my confirmed nickname
    room: null, // room whose events we display (set when a join is requested)
    joined: false, // the server has acknowledged a join on some socket
    joining: false, // a join is in flight
    users: [],
    rooms: [],
    typers: new Map(), // nickname -> expiry timer
    amTyping: false,
    typingSentAt: 0,
    typingIdleTimer: null,
  };

  const cpLength = (s) => [...s].length;
  const validName = (s, max) => cpLength(s) >= 1 && cpLength(s) <= max;
  const byName = (a, b) => a.localeCompare(b, undefined, { sensitivity: "base" }) || (a < b ? -1 : a > b ? 1 : 0);

  function make(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function hue(name) {
    let h = 0;
    for (const ch of name) h = (h * 31 + ch.codePointAt(0)) % 360;
    return h;
  }

  function avatar(name) {
    const a = make("span", "avatar", ([...name][0] || "?").toUpperCase());
    a.style.setProperty("--hue", String(hue(name)));
    a.setAttribute("aria-hidden", "true");
    return a;
  }

  function formatTime(ms) {
    const d = new Date(typeof ms === "number" ? ms : Date.now());
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  // ---- connection status -------------------------------------------------------------

  function setStatus(kind, text) {
    el.status.dataset.state = kind;
    el.status.textContent = text;
  }

  // The page is served by the chat server itself: connect to the same origin, default path.
  const socket = io({ transports: ["polling", "websocket"] });

  socket.on("connect", () => {
    setStatus("connected", "connected");
    // A reconnect is a new socket on the server: join again where we were.
    if (state.joined && !state.joining) sendJoin(state.nickname, state.room, { rejoin: true });
  });
  socket.on("disconnect", (reason) => {
    setStatus("reconnecting", "reconnecting…");
    stopTypingTimersOnly();
    if (reason === "io server disconnect") socket.connect(); // server kicked us: try again
  });
  socket.on("connect_error", () => {
    setStatus(socket.active ? "reconnecting" : "disconnected", socket.active ? "reconnecting…" : "disconnected");
  });
  socket.io.on("reconnect_attempt", (n) => setStatus("reconnecting", `reconnecting… (${n})`));
  socket.io.on("reconnect_failed", () => setStatus("disconnected", "disconnected"));

  // ---- rendering -----------------------------------------------------------------------

  function isNearBottom() {
    const m = el.messages;
    return m.scrollHeight - m.scrollTop - m.clientHeight < 80;
  }

  function append(li) {
    const stick = isNearBottom();
    el.messages.appendChild(li);
    while (el.messages.children.length > MAX_MESSAGES) el.messages.firstElementChild.remove();
    if (stick) el.messages.scrollTop = el.messages.scrollHeight;
  }

  function addMessage(msg) {
    const li = make("li", "msg");
    li.dataset.testid = "chat-message";
    li.dataset.nickname = msg.nickname;
    if (msg.nickname === state.nickname) li.classList.add("mine");
    li.appendChild(avatar(msg.nickname));
    const body = make("div", "body");
    const meta = make("div", "meta");
    meta.appendChild(make("span", "nick", msg.nickname));
    const time = make("time", "time", formatTime(msg.time));
    if (typeof msg.time === "number") {
      time.dateTime = new Date(msg.time).toISOString();
      time.title = new Date(msg.time).toLocaleString();
    }
    meta.appendChild(time);
    body.appendChild(meta);
    body.appendChild(make("div", "text", msg.text));
    li.appendChild(body);
    append(li);
  }

  function addSystem(text, time) {
    const li = make("li", "system");
    li.dataset.testid = "system-message";
    li.appendChild(make("span", "text", text));
    li.appendChild(make("time", "time", formatTime(time)));
    append(li);
  }

  function renderUsers() {
    const sorted = [...state.users].sort(byName);
    el.users.replaceChildren();
    let meMarked = false;
    for (const name of sorted) {
      const li = make("li", "user");
      li.dataset.nickname = name;
      li.appendChild(avatar(name));
      li.appendChild(make("span", "name", name));
      if (!meMarked && name === state.nickname) {
        meMarked = true;
        li.classList.add("self");
        li.appendChild(make("span", "you", "you"));
      }
      el.users.appendChild(li);
    }
    el.userCount.textContent = String(sorted.length);
  }

  function renderRooms() {
    const list = state.rooms.map((r) => ({ name: r.name, count: r.count }));
    if (state.room && !list.some((r) => r.name === state.room)) list.push({ name: state.room, count: state.users.length });
    list.sort((a, b) => byName(a.name, b.name));
    el.rooms.replaceChildren();
    for (const r of list) {
      const li = make("li");
      li.dataset.room = r.name;
      const btn = make("button", "room-btn");
      btn.type = "button";
      btn.appendChild(make("span", "hash", "#"));
      btn.appendChild(make("span", "name", r.name));
      const badge = make("span", "badge", String(r.count));
      badge.title = `${r.count} online`;
      btn.appendChild(badge);
      if (r.name === state.room) {
        li.classList.add("active");
        btn.setAttribute("aria-current", "true");
      }
      btn.addEventListener("click", () => switchRoom(r.name));
      li.appendChild(btn);
      el.rooms.appendChild(li);
    }
  }

  function renderTyping() {
    const names = [...state.typers.keys()].sort(byName);
    let text = "";
    if (names.length === 1) text = `${names[0]} is typing…`;
    else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
    else if (names.length > 2) text = `${names.length} people are typing…`;
    el.typing.textContent = text;
    el.typing.classList.toggle("active", names.length > 0);
  }

  function clearTypers() {
    for (const t of state.typers.values()) clearTimeout(t);
    state.typers.clear();
    renderTyping();
  }

  function dropTyper(name) {
    const t = state.typers.get(name);
    if (t === undefined) return;
    clearTimeout(t);
    state.typers.delete(name);
    renderTyping();
  }

  function showError(node, text) {
    node.textContent = text || "";
  }

  // ---- joining ---------------------------------------------------------------------------

  function enterRoom(room, { keepHistory }) {
    if (!keepHistory) el.messages.replaceChildren();
    state.room = room;
    state.users = [];
    clearTypers();
    el.roomTitle.textContent = room;
    document.title = `#${room} · polysocket chat`;
  }

  function sendJoin(nickname, room, { rejoin = false } = {}) {
    const prev = { room: state.room, users: state.users };
    state.joining = true;
    el.join.disabled = true;
    el.switchBtn.disabled = true;
    if (!rejoin) enterRoom(room, { keepHistory: prev.room === room });
    socket.timeout(ACK_TIMEOUT).emit("join", { nickname, room }, (err, res) => {
      state.joining = false;
      el.join.disabled = false;
      el.switchBtn.disabled = false;
      if (err || !res || !res.ok) {
        const reason = err ? "the server did not answer" : (res && res.error) || "join failed";
        if (!state.joined) {
          showError(el.loginError, `Could not join: ${reason}`);
        } else {
          showError(el.chatError, `Could not join #${room}: ${reason}`);
          if (!rejoin && prev.room) {
            enterRoom(prev.room, { keepHistory: true });
            state.users = prev.users;
            renderUsers();
            renderRooms();
          }
        }
        return;
      }
      state.joined = true;
      state.nickname = res.nickname;
      if (res.room !== state.room) enterRoom(res.room, { keepHistory: false });
      state.users = Array.isArray(res.users) ? res.users : [];
      state.rooms = Array.isArray(res.rooms) ? res.rooms : [];
      showError(el.loginError, "");
      showError(el.chatError, "");
      el.me.hidden = false;
      el.me.replaceChildren(avatar(state.nickname), make("span", "name", state.nickname));
      el.loginView.hidden = true;
      el.chatView.hidden = false;
      renderUsers();
      renderRooms();
      if (rejoin) addSystem("reconnected", Date.now());
      try { localStorage.setItem("polysocket-chat-nickname", state.nickname); } catch (_) { /* private mode */ }
      history.replaceState(null, "", `#${encodeURIComponent(state.room)}`);
      el.message.focus();
    });
  }

  function switchRoom(room) {
    room = room.trim();
    showError(el.chatError, "");
    if (!validName(room, ROOM_MAX)) return showError(el.chatError, `Room names are 1–${ROOM_MAX} characters.`);
    if (state.joining || room === state.room) return;
    stopTyping();
    sendJoin(state.nickname, room);
  }

  el.login.addEventListener("submit", (e) => {
    e.preventDefault();
    const nickname = el.nickname.value.trim();
    const room = el.room.value.trim();
    if (!validName(nickname, NICK_MAX)) return showError(el.loginError, `Nicknames are 1–${NICK_MAX} characters.`);
    if (!validName(room, ROOM_MAX)) return showError(el.loginError, `Room names are 1–${ROOM_MAX} characters.`);
    if (state.joining) return;
    showError(el.loginError, "");
    sendJoin(nickname, room);
  });

  el.switchForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const room = el.newRoom.value;
    if (!room.trim()) return;
    el.newRoom.value = "";
    switchRoom(room);
  });

  // ---- typing ----------------------------------------------------------------------------

  function emitTyping(on) {
    if (socket.connected) socket.emit("typing", on);
  }

  function stopTypingTimersOnly() {
    clearTimeout(state.typingIdleTimer);
    state.typingIdleTimer = null;
    state.amTyping = false;
  }

  function stopTyping() {
    const was = state.amTyping;
    stopTypingTimersOnly();
    if (was) emitTyping(false);
  }

  el.message.addEventListener("input", () => {
    if (!state.joined) return;
    if (!el.message.value.trim()) return stopTyping();
    const now = Date.now();
    if (!state.amTyping || now - state.typingSentAt > TYPING_REFRESH) {
      state.amTyping = true;
      state.typingSentAt = now;
      emitTyping(true);
    }
    clearTimeout(state.typingIdleTimer);
    state.typingIdleTimer = setTimeout(stopTyping, TYPING_IDLE);
  });

  // ---- sending ---------------------------------------------------------------------------

  el.composer.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = el.message.value.trim();
    showError(el.chatError, "");
    if (!text) return;
    if (cpLength(text) > TEXT_MAX) return showError(el.chatError, `Messages are at most ${TEXT_MAX} characters.`);
    stopTyping();
    el.message.value = "";
    socket.timeout(ACK_TIMEOUT).emit("message", { text }, (err, res) => {
      if (err || !res || !res.ok) {
        const reason = err ? "the server did not answer" : (res && res.error) || "send failed";
        showError(el.chatError, `Message not sent: ${reason}`);
        if (!el.message.value) el.message.value = text;
      }
    });
  });

  // ---- server events ---------------------------------------------------------------------

  const inMyRoom = (p) => state.joined && p && typeof p === "object" && p.room === state.room;

  socket.on("message", (p) => {
    if (!inMyRoom(p)) return;
    dropTyper(p.nickname);
    addMessage(p);
  });

  socket.on("system", (p) => {
    if (!inMyRoom(p)) return;
    addSystem(String(p.text), p.time);
  });

  socket.on("users", (p) => {
    if (!inMyRoom(p) || !Array.isArray(p.users)) return;
    state.users = p.users;
    for (const name of [...state.typers.keys()]) if (!p.users.includes(name)) dropTyper(name);
    renderUsers();
    renderRooms();
  });

  socket.on("rooms", (list) => {
    if (!state.joined || !Array.isArray(list)) return;
    state.rooms = list;
    renderRooms();
  });

  socket.on("typing", (p) => {
    if (!inMyRoom(p)) return;
    const name = String(p.nickname);
    clearTimeout(state.typers.get(name));
    if (p.typing === true) state.typers.set(name, setTimeout(() => dropTyper(name), TYPING_EXPIRE));
    else state.typers.delete(name);
    renderTyping();
  });

  // ---- start -----------------------------------------------------------------------------

  try {
    const saved = localStorage.getItem("polysocket-chat-nickname");
    if (saved && !el.nickname.value) el.nickname.value = saved;
  } catch (_) { /* storage disabled */ }
  if (location.hash.length > 1) {
    try { el.room.value = decodeURIComponent(location.hash.slice(1)).slice(0, ROOM_MAX); } catch (_) { /* bad escape */ }
  }
})();
