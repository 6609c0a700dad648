// The SDK against docs/websocket.md: every action documented there has a
// RealtimeClient method and is in ACTIONS, every event type documented
// there is in SERVER_EVENT_TYPES and reaches the app as an event of that
// name, and nothing the SDK lists is missing from the doc. A new action or
// event in the doc fails here until the SDK knows it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { WebSocketServer, WebSocket } from "ws";
import { ACTIONS, SERVER_EVENT_TYPES, RealtimeClient } from "../dist/index.js";

const doc = readFileSync(new URL("../../../docs/websocket.md", import.meta.url), "utf8");

/** lines of md under the heading `start`, up to the next heading of its level or above. */
function section(md, start) {
  const level = start.indexOf(" ");
  const lines = md.split("\n");
  const from = lines.indexOf(start);
  assert.ok(from >= 0, `docs/websocket.md has no heading ${JSON.stringify(start)}`);
  const out = [];
  for (const line of lines.slice(from + 1)) {
    const m = /^(#+) /.exec(line);
    if (m && m[1].length <= level) break;
    out.push(line);
  }
  return out;
}

/** The documented actions: the ### headings under "## Client frames". */
export function documentedActions(md) {
  return section(md, "## Client frames").filter((l) => l.startsWith("### ")).map((l) => l.slice(4).trim());
}

/** The documented event types: the backticked names in the first cell of the first table under "### Events". */
export function documentedEvents(md) {
  const out = [];
  let inTable = false;
  for (const line of section(md, "### Events")) {
    if (!line.startsWith("|")) {
      if (inTable) break;
      continue;
    }
    inTable = true;
    const cell = /^\| *(`[^|]*`) *\|/.exec(line);
    if (cell) for (const m of cell[1].matchAll(/`([^`]+)`/g)) out.push(m[1]);
  }
  return out;
}

const actions = documentedActions(doc);
const events = documentedEvents(doc);

test("docs/websocket.md is read (the walk finds its actions and events)", () => {
  assert.ok(actions.includes("send") && actions.includes("ping") && actions.length >= 8, `actions: ${actions}`);
  assert.ok(events.includes("message.created") && events.includes("typing") && events.length >= 15, `events: ${events}`);
});

test("every documented action is known to the SDK, and nothing else", () => {
  assert.deepEqual([...ACTIONS].sort(), [...actions].sort(), "ACTIONS (src/types.ts) and docs/websocket.md's actions differ");
  for (const a of actions) assert.equal(typeof RealtimeClient.prototype[a], "function", `RealtimeClient has no method ${a}()`);
});

test("every documented event type is known to the SDK, and nothing else", () => {
  assert.deepEqual([...SERVER_EVENT_TYPES].sort(), [...events].sort(), "SERVER_EVENT_TYPES (src/types.ts) and docs/websocket.md's events differ");
});

const msg = (seq, extra = {}) => ({ conversation_id: "c", seq, message_id: "m" + seq, kind: "message", sender_type: "user", sender_id: "u", text: "t" + seq, created_at: "2026-01-01T00:00:00Z", ...extra });

/** A frame of each documented type, valid enough for the client's dispatch (message.* events in seq order). */
function frameOf(type) {
  const at = "2026-01-01T00:00:00Z";
  switch (type) {
    case "message.created":
      return { type, conversation_id: "c", seq: 1, actor: "u", message: msg(1), at };
    case "message.edited":
      return { type, conversation_id: "c", seq: 1, actor: "u", message: msg(1, { text: "e", edited_at: at }), event_seq: 2, event_message: msg(2, { kind: "edit", ref_seq: 1, text: "e" }), at };
    case "message.recalled":
      return { type, conversation_id: "c", seq: 1, actor: "u", message: msg(1, { text: undefined, recalled: true }), event_seq: 3, event_message: msg(3, { kind: "recall", ref_seq: 1, text: undefined }), at };
    case "notification":
      return { type, notification_id: "n1", title: "T", body: "B", at };
    default:
      return { type, conversation_id: "c", group_id: "g", seq: 1, actor: "u", message: msg(1), reaction: { emoji: "👍", op: "added" }, state: "start", user_ids: ["u"], at };
  }
}

test("every documented event reaches the app under its type; react and pin round-trip", async (t) => {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, handleProtocols: () => "tokenim" });
  await new Promise((r) => wss.once("listening", r));
  t.after(() => new Promise((r) => { for (const c of wss.clients) c.terminate(); wss.close(r); }));
  const frames = [];
  wss.on("connection", (ws) => {
    ws.on("message", (data) => {
      const f = JSON.parse(String(data));
      frames.push(f);
      const result = { sync: { messages: [], conversations: [], removed: [] }, react: msg(1, { reactions: [{ emoji: "👍", count: 1 }], my_reactions: ["👍"] }), pin: { conversation_id: "c", pinned: [{ seq: 1, pinned_by: "u", pinned_at: "2026-01-01T00:00:00Z" }] } }[f.action];
      if (result) ws.send(JSON.stringify({ type: "ack", action: f.action, request_id: f.request_id, result }));
      if (f.action === "sync" && frames.filter((x) => x.action === "sync").length === 1) for (const type of events) ws.send(JSON.stringify(frameOf(type)));
    });
  });
  const c = new RealtimeClient({ url: `ws://127.0.0.1:${wss.address().port}`, token: "tok", WebSocket, pingIntervalMs: 0 });
  t.after(() => c.close());
  const got = new Map();
  for (const type of events) c.on(type, (ev) => got.set(type, ev));
  c.connect();
  const end = Date.now() + 3000;
  while (got.size < events.length && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual([...got.keys()].sort(), [...events].sort(), "events the app was given");
  assert.equal(got.get("message.reaction").reaction.emoji, "👍");
  assert.equal(got.get("notification").notification_id, "n1");

  const reacted = await c.react("c", 1, "👍");
  assert.deepEqual(reacted.my_reactions, ["👍"]);
  await c.react("c", 1, "👍", { remove: true });
  const pins = await c.pin("c", 1);
  assert.equal(pins.pinned[0].seq, 1);
  await c.pin("c", 1, { unpin: true });
  const sent = frames.filter((f) => f.action === "react" || f.action === "pin").map(({ request_id: _r, ...f }) => f);
  assert.deepEqual(sent, [
    { action: "react", conversation_id: "c", seq: 1, emoji: "👍" },
    { action: "react", conversation_id: "c", seq: 1, emoji: "👍", remove: true },
    { action: "pin", conversation_id: "c", seq: 1 },
    { action: "pin", conversation_id: "c", seq: 1, unpin: true },
  ]);
});
