// TokenIM demo client: plain JavaScript on the TypeScript SDK
// (clients/typescript, loaded as tokenim.js) for the REST API
// (docs/openapi.yaml) and the WebSocket protocol (docs/websocket.md).
//
// Structure: `api` (REST, the SDK's RestClient), `socket` (the SDK's
// RealtimeClient and its events), `protocol` (every WebSocket action and
// server event the page uses: the one place to change when the protocol
// grows), `state` and `render`. window.demo exposes the state for the
// browser test.
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
  replyTo: null,              // the message the composer replies to (issue 16)
  attachmentURLs: new Map(),  // upload id -> presigned GET (a promise), fetched once per page
};
window.demo = state;

// ------------------------------------------------------------ SDK setup
// The protocol is the TypeScript SDK's (clients/typescript, served as
// tokenim.js, window.TokenIM): RestClient for REST, RealtimeClient for the
// WebSocket (reconnect, request ids, the send retry rule and outbox, and
// every message once, in seq order, with sync after gaps and reconnects).
let rest = null;    // TokenIM.RestClient
let client = null;  // TokenIM.RealtimeClient

// codeOf keeps the page's error texts the server's codes ("send: not_found").
const codeOf = (e) => new Error((e && e.code) || (e && e.message) || String(e));

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
  conversations: () => rest.listConversations({ limit: 50 }).catch((e) => { throw codeOf(e); }),
  history: (id, after) => rest.listMessages(id, after ? { limit: 50, after } : { limit: 50 }).catch((e) => { throw codeOf(e); }),
  send: (target, text, clientMsgID) => rest.sendMessage({ ...target, text, client_msg_id: clientMsgID }).catch((e) => { throw codeOf(e); }),
  read: (id, seq) => rest.markRead(id, seq).catch((e) => { throw codeOf(e); }),
  block: (peer) => api.call("PUT", `/v1/users/${encodeURIComponent(state.me)}/blocks/${encodeURIComponent(peer)}`),
  unblock: (peer) => api.call("DELETE", `/v1/users/${encodeURIComponent(state.me)}/blocks/${encodeURIComponent(peer)}`),
  ban: (peer, reason) => api.call("PUT", `/v1/users/${encodeURIComponent(peer)}/ban`, { reason }),
  // upload puts a file in the conversation's uploads: POST /v1/uploads
  // returns a presigned PUT (size, type and tag signed), which the browser
  // sends straight to S3 (locally, the emulator). It resolves with the
  // message's attachment.
  async upload(conversationID, file) {
    const up = await api.call("POST", "/v1/uploads", { conversation_id: conversationID, name: file.name, content_type: file.type, size: file.size });
    const resp = await fetch(up.url, { method: up.method, headers: up.headers, body: file });
    if (!resp.ok) throw new Error("upload " + resp.status);
    const a = { upload_id: up.upload_id, name: file.name, content_type: file.type, size: file.size };
    const dim = await imageSize(file).catch(() => null);
    if (dim) { a.width = dim.width; a.height = dim.height; }
    return a;
  },
  // attachmentURL is a short-lived presigned GET (members only).
  attachmentURL(conversationID, uploadID) {
    if (!state.attachmentURLs.has(uploadID)) {
      state.attachmentURLs.set(uploadID, api.call("GET", `/v1/conversations/${encodeURIComponent(conversationID)}/attachments/${encodeURIComponent(uploadID)}`)
        .then((d) => d.url).catch((e) => { state.attachmentURLs.delete(uploadID); throw e; }));
    }
    return state.attachmentURLs.get(uploadID);
  },
};

// imageSize reads an image file's pixel size (the attachment's width and height).
function imageSize(file) {
  return new Promise((resolve, reject) => {
    const url = URL.createObjectURL(file);
    const img = new Image();
    img.onload = () => { URL.revokeObjectURL(url); resolve({ width: img.naturalWidth, height: img.naturalHeight }); };
    img.onerror = () => { URL.revokeObjectURL(url); reject(new Error("not an image")); };
    img.src = url;
  });
}

// dmID is a DM's conversation id (the ids in order), for an upload to a DM
// before its first message.
function dmID(a, b) { return "dm:" + (a < b ? a + ":" + b : b + ":" + a); }

// --------------------------------------------------------------- socket
const socket = {
  connect() {
    client = new TokenIM.RealtimeClient({ url: state.wsURL, token: state.token, device: "demo" });
    client.on("state", (s) => {
      const online = s === "open";
      if (online === state.connected) return;
      state.connected = online;
      setStatus(online ? "online" : "offline");
      if (online) protocol.onConnected();
    });
    // Every message once, in seq order: pushes and what sync fetched after
    // a gap or a reconnect. The page's own sends arrive through send().
    client.on("message", (m, info) => {
      if (info.source === "ack") return;
      if (info.source === "push") state.pushes++;
      onMessage(m, true);
    });
    for (const type of ["message.edited", "message.recalled", "typing", "conversation.read",
      "group.members_added", "group.member_removed", "group.updated", "group.dissolved",
      "message.reaction", "message.pinned", "message.unpinned"]) {
      client.on(type, (frame) => protocol.onFrame(frame));
    }
    client.on("error", (e) => console.warn("tokenim:", e.code || e.message));
    // Connect once the conversation list has seeded the SDK's seqs, so its
    // first sync fetches what is new, not every conversation from seq 0.
    refreshConversations().finally(() => client.connect());
  },
};

// -------------------------------------------------------------- protocol
// The WebSocket actions the page uses (docs/websocket.md), through the
// SDK. Against a server without an action (unknown_action) the page falls
// back to REST (send, read) or skips it (typing).
const protocol = {
  wsSend: true, wsRead: true, wsTyping: true,

  onConnected() {
    refreshConversations();
    if (state.current) loadHistory(state.current);
  },

  async ping() {
    await client.ping();
    state.pongs++; $("pong").textContent = "pong " + state.pongs;
  },

  // send delivers a message: over the WebSocket (the SDK's outbox: kept
  // across disconnects, retried with its client_msg_id) if the server has
  // the action, else POST /v1/messages. It resolves with the stored message.
  async send(target, text, attachments) {
    const clientMsgID = TokenIM.newClientMsgId();
    const body = attachments && attachments.length ? { text: text || undefined, attachments } : { text };
    if (protocol.wsSend) {
      try {
        return await client.send(target, body, { clientMsgId: clientMsgID });
      } catch (e) {
        if (e.code !== "unknown_action") throw codeOf(e);
        protocol.wsSend = false;
      }
    }
    if (body.attachments) return rest.sendMessage({ ...target, ...body, client_msg_id: clientMsgID }).catch((e) => { throw codeOf(e); });
    return api.send(target, text, clientMsgID);
  },

  async read(conversationID, seq) {
    if (protocol.wsRead && state.connected) {
      try { await client.read(conversationID, seq); return; } catch (e) {
        if (e.code !== "unknown_action") throw codeOf(e);
        protocol.wsRead = false;
      }
    }
    await api.read(conversationID, seq);
  },

  // react toggles the caller's emoji on a message; pin toggles a pin
  // (WebSocket actions react and pin, docs/websocket.md). Both resolve with
  // the ack's result.
  async react(conversationID, seq, emoji, remove) {
    try { return await client.request("react", { conversation_id: conversationID, seq, emoji, remove }); } catch (e) { throw codeOf(e); }
  },

  async pin(conversationID, seq, unpin) {
    try { return await client.request("pin", { conversation_id: conversationID, seq, unpin }); } catch (e) { throw codeOf(e); }
  },

  async typing(conversationID) {
    if (!protocol.wsTyping || !state.connected) return;
    try { await client.typing(conversationID, "start"); } catch (e) { if (e.code === "unknown_action") protocol.wsTyping = false; }
  },

  // onFrame handles the server's events other than new messages (the
  // SDK's "message" event carries those, edit and recall event messages
  // included, which applyEvent applies).
  onFrame(frame) {
    switch (frame.type) {
      case "message.recalled": case "message.edited":
        // message is the original as changed (its event message came
        // through the "message" event just before).
        if (frame.message) onMessage(frame.message, false);
        break;
      case "message.reaction":
        // Counts for everyone; my own reactions only from my own acks.
        if (frame.message) onReactions(frame.message, frame.actor === state.me ? null : undefined);
        break;
      case "message.pinned": case "message.unpinned":
        refreshConversations(); // the conversation carries its pins
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

// onReactions takes a message's new counts (and, from my own ack, my
// reactions) into the copy the page holds.
function onReactions(m, mine) {
  const copy = state.messages.get(m.conversation_id)?.get(m.seq);
  if (!copy) return;
  copy.reactions = m.reactions;
  if (mine !== undefined && mine !== null) copy.my_reactions = mine;
  render();
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
    // What the page shows starts at the list (history loads by REST): the
    // SDK syncs from there, not from seq 0, for conversations it has not seen.
    for (const c of state.conversations) if (client && client.lastSeq(c.conversation_id) === 0) client.seed(c.conversation_id, c.last_seq || 0);
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
  $("moderation").hidden = !(c && c.kind === "dm");
  const enabled = Boolean(c || state.pendingPeer);
  $("text").disabled = !enabled;
  $("file").disabled = !enabled;
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
    if (m.reply_preview) {
      const q = document.createElement("div");
      q.className = "quote";
      q.dataset.testid = "quote";
      const rp = m.reply_preview;
      q.textContent = `↪ ${rp.sender_id || "system"}: ` + (rp.recalled ? "(recalled)" : rp.preview || (rp.payload_type ? `[${rp.payload_type}]` : ""));
      li.append(q);
    }
    const body = document.createElement("div");
    body.className = "body";
    body.textContent = m.recalled ? "(recalled)" : m.text || (m.payload ? JSON.stringify(m.payload) : "");
    li.append(meta, body);
    for (const a of m.recalled ? [] : m.attachments || []) li.append(attachmentView(m.conversation_id, a));
    if (m.reactions && m.reactions.length && !m.recalled) {
      const r = document.createElement("div");
      r.className = "reactions";
      r.dataset.testid = "reactions";
      r.textContent = m.reactions.map((x) => `${x.emoji} ${x.count}`).join("  ");
      li.append(r);
    }
    if (!m.recalled && c) li.append(messageActions(c, m));
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
  const pins = $("pinned");
  pins.textContent = c && c.pinned && c.pinned.length ? "📌 pinned: " + c.pinned.map((p) => "#" + p.seq).join(", ") : "";
  $("replying").hidden = !state.replyTo;
  $("replying-text").textContent = state.replyTo ? `replying to #${state.replyTo.seq}: ${(state.replyTo.text || "").slice(0, 40)}` : "";
  renderTyping();
}

// attachmentView shows an image attachment inline (others as a link),
// from its presigned GET.
function attachmentView(conversationID, a) {
  const image = a.content_type.startsWith("image/");
  const el = document.createElement(image ? "img" : "a");
  el.className = "attachment";
  el.dataset.testid = "attachment";
  el.dataset.upload = a.upload_id;
  if (image) { el.alt = a.name; if (a.width) { el.width = a.width; el.height = a.height; } } else { el.textContent = "📎 " + a.name; }
  api.attachmentURL(conversationID, a.upload_id).then((url) => { if (image) el.src = url; else el.href = url; })
    .catch((e) => showError("attachment: " + e.message));
  return el;
}

// messageActions are a message's buttons: reply, 👍 (toggle), pin (toggle).
function messageActions(c, m) {
  const bar = document.createElement("span");
  bar.className = "actions";
  const button = (label, testid, onclick) => {
    const b = document.createElement("button");
    b.type = "button"; b.textContent = label; b.dataset.testid = testid; b.onclick = onclick;
    bar.append(b);
  };
  button("reply", "reply", () => { state.replyTo = m; render(); $("text").focus(); });
  const liked = (m.my_reactions || []).includes("👍");
  button(liked ? "👍 undo" : "👍", "react", async () => {
    try { const res = await protocol.react(c.conversation_id, m.seq, "👍", liked); onReactions(res, res.my_reactions || []); }
    catch (e) { showError("react: " + e.message); }
  });
  const pinned = (c.pinned || []).some((p) => p.seq === m.seq);
  button(pinned ? "unpin" : "pin", "pin", async () => {
    try { const res = await protocol.pin(c.conversation_id, m.seq, pinned); c.pinned = res.pinned; render(); }
    catch (e) { showError("pin: " + e.message); }
  });
  return bar;
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
  const file = $("file").files[0];
  if (!text && !file) return;
  const target = state.current ? { conversation_id: state.current } : { to_user: state.pendingPeer };
  if (state.replyTo && state.current) target.reply_to = state.replyTo.seq;
  state.replyTo = null;
  $("text").value = "";
  lastTyping = 0; // the next keystroke starts a new typing indicator
  try {
    const attachments = file ? [await api.upload(state.current || dmID(state.me, state.pendingPeer), file)] : [];
    $("file").value = "";
    const m = await protocol.send(target, text, attachments);
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

// Moderation buttons act on the open DM's peer.
function currentPeer() {
  const c = state.conversations.find((c) => c.conversation_id === state.current);
  return c && c.kind === "dm" ? c.peer_id : "";
}
async function moderate(what, f) {
  const peer = currentPeer();
  if (!peer) return;
  try { await f(peer); showError(`${what} ${peer}: done`); } catch (e) { showError(`${what}: ${e.message}`); }
}
$("block").onclick = () => moderate("block", api.block);
$("unblock").onclick = () => moderate("unblock", api.unblock);
$("ban").onclick = () => moderate("ban", (peer) => api.ban(peer, "banned from the demo"));
$("replying-cancel").onclick = () => { state.replyTo = null; render(); };
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
  rest = new TokenIM.RestClient({ baseUrl: state.restURL, token });
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
