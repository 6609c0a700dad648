// TokenIM demo client: plain JavaScript against the REST API
// (docs/openapi.yaml) and the WebSocket protocol (docs/websocket.md).
//
// Structure: `api` (REST), `socket` (one WebSocket with reconnect and
// request ids), `protocol` (every WebSocket action and server frame the
// page uses: the one place to change when the protocol grows), `state`
// and `render`. window.demo exposes the state for the browser test.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  me: "", token: "", restURL: location.origin, wsURL: "",
  conversations: [],          // from GET /v1/conversations
  current: null,              // open conversation id (or a pending DM: {peer})
  pendingPeer: "",            // DM target before its first message
  messages: new Map(),        // conversation id -> Map(seq -> message)
  typing: new Map(),          // conversation id -> {user, until}
  loaded: new Set(),          // conversation ids whose history has loaded
  connected: false, pongs: 0, pushes: 0,
};
window.demo = state;

// ------------------------------------------------------------------ REST
const api = {
  async call(method, path, body) {
    const headers = { Authorization: "Bearer " + state.token };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const resp = await fetch(state.restURL + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await resp.text();
    const data = text ? JSON.parse(text) : {};
    if (!resp.ok) throw new Error((data.error && data.error.code) || resp.status);
    return data;
  },
  conversations: () => api.call("GET", "/v1/conversations?limit=50"),
  history: (id, after) => api.call("GET", `/v1/conversations/${encodeURIComponent(id)}/messages?limit=50` + (after ? `&after=${after}` : "")),
  send: (target, text, clientMsgID) => api.call("POST", "/v1/messages", { ...target, text, client_msg_id: clientMsgID }),
  read: (id, seq) => api.call("POST", `/v1/conversations/${encodeURIComponent(id)}/read`, { seq }),
};

// ------------------------------------------------------------- WebSocket
const socket = {
  ws: null, nextID: 1, waiting: new Map(), backoff: 500,
  connect() {
    const ws = new WebSocket(`${state.wsURL}/?token=${encodeURIComponent(state.token)}&device=demo`);
    socket.ws = ws;
    ws.onopen = () => { state.connected = true; socket.backoff = 500; setStatus("online"); protocol.onConnected(); };
    ws.onmessage = (ev) => {
      let frame;
      try { frame = JSON.parse(ev.data); } catch { return; }
      const waiter = frame.request_id && socket.waiting.get(frame.request_id);
      if (waiter) { socket.waiting.delete(frame.request_id); waiter(frame); }
      protocol.onFrame(frame);
    };
    ws.onclose = (ev) => {
      state.connected = false;
      setStatus("offline");
      for (const w of socket.waiting.values()) w({ type: "error", code: "disconnected" });
      socket.waiting.clear();
      if (ev.code === 1008 || ev.code === 4001) return; // refused: do not hammer
      setTimeout(() => socket.connect(), socket.backoff);
      socket.backoff = Math.min(socket.backoff * 2, 10000);
    };
  },
  // request sends a frame with a request_id and resolves with the reply
  // that echoes it (or an error frame after 10 s).
  request(frame) {
    return new Promise((resolve) => {
      if (!state.connected) return resolve({ type: "error", code: "disconnected" });
      const id = "r" + socket.nextID++;
      socket.waiting.set(id, resolve);
      socket.ws.send(JSON.stringify({ ...frame, request_id: id }));
      setTimeout(() => { if (socket.waiting.delete(id)) resolve({ type: "error", code: "timeout" }); }, 10000);
    });
  },
};

// -------------------------------------------------------------- protocol
// The WebSocket actions the page uses (docs/websocket.md): send, read and
// typing answer {"type":"ack","request_id",...,"result"}. Against a
// server without an action (unknown_action) the page falls back to REST
// (send, read) or skips it (typing). Server pushes are told by `type`.
const protocol = {
  wsSend: true, wsRead: true, wsTyping: true,

  onConnected() {
    refreshConversations();
    if (state.current) loadHistory(state.current);
  },

  async ping() {
    const reply = await socket.request({ action: "ping" });
    if (reply.type === "pong") { state.pongs++; $("pong").textContent = "pong " + state.pongs; }
  },

  // send delivers a message: over the WebSocket if the server has the
  // action, else POST /v1/messages. It resolves with the stored message.
  async send(target, text) {
    const clientMsgID = "demo-" + Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
    if (protocol.wsSend && state.connected) {
      const reply = await socket.request({ action: "send", ...target, text, client_msg_id: clientMsgID });
      if (reply.type === "ack") return (reply.result && reply.result.message) || reply.result;
      if (reply.code !== "unknown_action") throw new Error(reply.code);
      protocol.wsSend = false;
    }
    return api.send(target, text, clientMsgID);
  },

  async read(conversationID, seq) {
    if (protocol.wsRead && state.connected) {
      const reply = await socket.request({ action: "read", conversation_id: conversationID, seq });
      if (reply.type === "ack") return;
      if (reply.code !== "unknown_action") throw new Error(reply.code);
      protocol.wsRead = false;
    }
    await api.read(conversationID, seq);
  },

  async typing(conversationID) {
    if (!protocol.wsTyping || !state.connected) return;
    const reply = await socket.request({ action: "typing", conversation_id: conversationID, state: "start" });
    if (reply.type === "error" && reply.code === "unknown_action") protocol.wsTyping = false;
  },

  // onFrame handles server pushes (docs/websocket.md, "Events"); replies
  // to the page's own frames (ack, pong, error) go to socket.request.
  onFrame(frame) {
    switch (frame.type) {
      case "message.created":
        if (frame.message) { state.pushes++; onMessage(frame.message, true); }
        break;
      case "message.recalled": case "message.edited":
        // message is the original as changed; event_message is the
        // recall/edit event that took the conversation's next seq.
        if (frame.message) onMessage(frame.message, false);
        if (frame.event_message) onMessage(frame.event_message, true);
        break;
      case "typing":
        if (frame.actor !== state.me) {
          if (frame.state === "stop") state.typing.delete(frame.conversation_id);
          else state.typing.set(frame.conversation_id, { user: frame.actor, until: Date.now() + 5000 });
          renderTyping();
        }
        break;
      case "conversation.read":
        onRead(frame.conversation_id, frame.actor, frame.seq);
        break;
      case "group.members_added": case "group.member_removed": case "group.updated": case "group.dissolved":
        refreshConversations();
        break;
    }
  },
};

// ---------------------------------------------------------------- state
function convKey(m) { return m.conversation_id; }

function onMessage(m, live) {
  const id = convKey(m);
  if (!state.messages.has(id)) state.messages.set(id, new Map());
  const msgs = state.messages.get(id);
  msgs.set(m.seq, m);
  applyEvent(msgs, m);
  let c = state.conversations.find((c) => c.conversation_id === id);
  if (!c) { refreshConversations(); return; }
  if (m.seq > (c.last_seq || 0)) {
    c.last_seq = m.seq;
    c.last_message = { seq: m.seq, kind: m.kind, sender_id: m.sender_id, preview: (m.text || "").slice(0, 100), at: m.created_at };
    c.last_activity_at = m.created_at;
    if (m.sender_id === state.me) {
      // Sending does not move the sender's read mark on the server (it
      // would cost a fourth write unit), so a client marks read itself.
      c.read_seq = Math.max(c.read_seq || 0, m.seq);
      protocol.read(id, m.seq).catch((e) => showError("read: " + e.message));
    } else if (isBubble(m)) {
      // Unread counts only others' real messages, as the server does.
      c.unread_count = (c.unread_count || 0) + 1;
    }
  }
  state.typing.delete(id);
  if (state.current === id && live && m.sender_id !== state.me && document.visibilityState !== "hidden") markRead(id);
  render();
}

// Recall and edit arrive as event messages (kind "recall" / "edit", with
// ref_seq) in the conversation's seq order: apply them to the message they
// refer to; they are not shown as bubbles of their own.
function isBubble(m) { return !m.kind || m.kind === "message"; }

function applyEvent(msgs, m) {
  if (isBubble(m) || !m.ref_seq) return;
  const target = msgs.get(m.ref_seq);
  if (!target) return;
  if (m.kind === "recall") { target.recalled = true; target.text = ""; }
  if (m.kind === "edit" && !target.recalled) { target.text = m.text; target.edited_at = m.created_at; }
}

function previewOf(lm) {
  const who = lm.sender_id || "system";
  if (lm.kind === "recall") return `${who} recalled a message`;
  if (lm.kind === "edit") return `${who} edited a message`;
  return `${who}: ${lm.preview || ""}`;
}

function onRead(conversationID, userID, seq) {
  const c = state.conversations.find((c) => c.conversation_id === conversationID);
  if (!c || seq === undefined) return;
  if (userID === state.me) {
    // Read on another of my devices: the server's count is the exact one.
    if (seq > (c.read_seq || 0)) { c.read_seq = seq; if (seq >= (c.last_seq || 0)) c.unread_count = 0; else refreshConversations(); }
  } else c.peer_read_seq = Math.max(c.peer_read_seq || 0, seq);
  render();
}

async function refreshConversations() {
  try {
    const page = await api.conversations();
    state.conversations = page.conversations || [];
    if (state.pendingPeer) {
      const c = state.conversations.find((c) => c.kind === "dm" && c.peer_id === state.pendingPeer);
      if (c) { state.pendingPeer = ""; openConversation(c.conversation_id); return; }
    }
    render();
  } catch (e) { showError("conversations: " + e.message); }
}

async function loadHistory(id) {
  try {
    const page = await api.history(id);
    const map = new Map();
    for (const m of page.messages || []) map.set(m.seq, m);
    // Keep what arrived live while the page was in flight: the history
    // request may have been answered before those messages existed.
    for (const [seq, m] of state.messages.get(id) || []) if (!map.has(seq)) map.set(seq, m);
    for (const m of [...map.values()].sort((a, b) => a.seq - b.seq)) applyEvent(map, m);
    state.messages.set(id, map);
    state.loaded.add(id);
    render();
    markRead(id);
  } catch (e) { showError("history: " + e.message); }
}

async function markRead(id) {
  const c = state.conversations.find((c) => c.conversation_id === id);
  if (!c || !c.last_seq || (c.read_seq || 0) >= c.last_seq) return;
  const seq = c.last_seq;
  c.read_seq = seq; c.unread_count = 0;
  render();
  try { await protocol.read(id, seq); } catch (e) { showError("read: " + e.message); }
}

function openConversation(id) {
  state.current = id;
  state.pendingPeer = "";
  render();
  loadHistory(id);
}

// --------------------------------------------------------------- render
function title(c) { return c.kind === "dm" ? "@" + c.peer_id : "# " + (c.group_id || c.conversation_id); }

function render() {
  const list = $("conversations");
  list.replaceChildren();
  const convs = [...state.conversations].sort((a, b) => (b.last_activity_at || "").localeCompare(a.last_activity_at || ""));
  for (const c of convs) {
    const li = document.createElement("li");
    li.dataset.conversation = c.conversation_id;
    li.className = c.conversation_id === state.current ? "active" : "";
    const left = document.createElement("div");
    const name = document.createElement("div");
    name.textContent = title(c);
    const preview = document.createElement("div");
    preview.className = "preview";
    preview.textContent = c.last_message ? previewOf(c.last_message) : "";
    left.append(name, preview);
    li.append(left);
    if (c.unread_count > 0) {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.dataset.testid = "unread";
      badge.textContent = c.unread_count;
      li.append(badge);
    }
    li.onclick = () => openConversation(c.conversation_id);
    list.append(li);
  }
  const c = state.conversations.find((c) => c.conversation_id === state.current);
  $("conv-title").textContent = c ? title(c) : state.pendingPeer ? "@" + state.pendingPeer : "Select a conversation";
  const enabled = Boolean(c || state.pendingPeer);
  $("text").disabled = !enabled;
  $("send").disabled = !enabled;
  const ol = $("messages");
  ol.replaceChildren();
  const msgs = [...(state.messages.get(state.current) || new Map()).values()].sort((a, b) => a.seq - b.seq);
  let lastMine = null;
  for (const m of msgs) {
    if (!isBubble(m)) continue;
    const li = document.createElement("li");
    li.dataset.seq = m.seq;
    li.className = m.sender_id === state.me ? "mine" : "";
    const meta = document.createElement("div");
    meta.className = "meta";
    meta.textContent = `${m.sender_id || "system"} · #${m.seq}` + (m.edited_at ? " · edited" : "");
    const body = document.createElement("div");
    body.className = "body";
    body.textContent = m.recalled ? "(recalled)" : m.text || (m.payload ? JSON.stringify(m.payload) : "");
    li.append(meta, body);
    ol.append(li);
    if (m.sender_id === state.me) lastMine = { li, m };
  }
  // Read receipt: in a DM, under my last message the peer has read.
  if (c && c.kind === "dm" && lastMine && (c.peer_read_seq || 0) >= lastMine.m.seq) {
    const r = document.createElement("div");
    r.className = "receipt";
    r.dataset.testid = "receipt";
    r.textContent = "Read";
    lastMine.li.append(r);
  }
  ol.scrollTop = ol.scrollHeight;
  renderTyping();
}

function renderTyping() {
  const t = state.typing.get(state.current);
  $("typing").textContent = t && t.until > Date.now() ? `${t.user} is typing…` : "";
}
setInterval(renderTyping, 1000);

function setStatus(s) { const el = $("status"); el.textContent = s; el.className = "status " + s; }
function showError(msg) { $("error").textContent = msg; setTimeout(() => { if ($("error").textContent === msg) $("error").textContent = ""; }, 6000); }

// ---------------------------------------------------------------- events
let lastTyping = 0;
$("composer").onsubmit = async (ev) => {
  ev.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  const target = state.current ? { conversation_id: state.current } : { to_user: state.pendingPeer };
  $("text").value = "";
  lastTyping = 0; // the next keystroke starts a new typing indicator
  try {
    const m = await protocol.send(target, text);
    if (m && m.conversation_id) {
      if (!state.conversations.some((c) => c.conversation_id === m.conversation_id)) {
        await refreshConversations();
        state.current = m.conversation_id;
        state.pendingPeer = "";
      }
      onMessage(m, false);
    }
  } catch (e) { showError("send: " + e.message); $("text").value = text; }
};
$("text").oninput = () => {
  if (state.current && Date.now() - lastTyping > 2000) { lastTyping = Date.now(); protocol.typing(state.current); }
};
$("dm-form").onsubmit = (ev) => {
  ev.preventDefault();
  const peer = $("dm-input").value.trim();
  if (!peer || peer === state.me) return;
  $("dm-input").value = "";
  const c = state.conversations.find((c) => c.kind === "dm" && c.peer_id === peer);
  if (c) return openConversation(c.conversation_id);
  state.current = null;
  state.pendingPeer = peer;
  render();
};
$("ping").onclick = () => protocol.ping();
document.addEventListener("visibilitychange", () => { if (state.current && document.visibilityState === "visible") markRead(state.current); });

// ----------------------------------------------------------------- start
function subject(token) {
  try { return JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).sub || "?"; } catch { return "?"; }
}

function start(userID, token) {
  state.me = userID; state.token = token;
  $("me").textContent = userID;
  $("login").hidden = true;
  $("app").hidden = false;
  document.title = userID + " · TokenIM demo";
  socket.connect();
}

(async function init() {
  const params = new URLSearchParams(location.search);
  let local = { demo_users: [], websocket_url: "" };
  try { local = await (await fetch("local.json")).json(); } catch { /* not served: paste a token */ }
  state.wsURL = local.websocket_url || `ws://${location.hostname}:3001`;
  if (local.rest_url) state.restURL = local.rest_url;
  const users = $("users");
  for (const u of local.demo_users || []) {
    const b = document.createElement("button");
    b.className = "user";
    b.textContent = "Continue as " + u.user_id;
    b.onclick = () => { history.replaceState(null, "", "?user=" + encodeURIComponent(u.user_id)); start(u.user_id, u.token); };
    users.append(b);
  }
  $("token-form").onsubmit = (ev) => {
    ev.preventDefault();
    const t = $("token-input").value.trim();
    if (t) start(subject(t), t);
  };
  if (local.user_pool) {
    $("signup-form").hidden = false;
    $("signup-form").onsubmit = (ev) => { ev.preventDefault(); signUp(local.user_pool, $("signup-name").value.trim()); };
  }
  const pick = (local.demo_users || []).find((u) => u.user_id === params.get("user"));
  if (pick) start(pick.user_id, pick.token);
})();

// signUp is what an app on Cognito does: sign the user up (the pool's
// PostConfirmation trigger creates the chat account), then trade the ID
// token for a chat token (RFC 8693 token exchange, no app backend).
async function signUp(pool, name) {
  if (!name) return;
  try {
    const username = name.toLowerCase().replace(/[^a-z0-9]+/g, "-") + "-" + Math.random().toString(36).slice(2, 7);
    const up = await fetch(pool.signup_url, { method: "POST", body: JSON.stringify({ username, attributes: { name } }) });
    const account = await up.json();
    if (!up.ok) throw new Error(account.__type || up.status);
    const form = new URLSearchParams({
      grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
      subject_token: account.id_token,
      subject_token_type: "urn:ietf:params:oauth:token-type:id_token",
    });
    const resp = await fetch(state.restURL + "/v1/auth/token", { method: "POST", body: form });
    const tok = await resp.json();
    if (!resp.ok) throw new Error((tok.error && tok.error.code) || resp.status);
    start(tok.user_id, tok.access_token);
  } catch (e) { $("login").append(Object.assign(document.createElement("p"), { className: "error", textContent: "sign-up: " + e.message })); }
}
