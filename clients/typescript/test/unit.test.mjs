// Unit tests without the stack: the ordering rules (SeqTracker), the
// edit/recall rules, the token cache, and the send retry rule against a
// scripted WebSocket server on 127.0.0.1.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WebSocketServer, WebSocket } from "ws";
import { RealtimeClient, SeqTracker, TokenCache, applyEventMessage, TokenIMError } from "../dist/index.js";

const msg = (seq, extra = {}) => ({ conversation_id: "c", seq, message_id: "m" + seq, kind: "message", sender_type: "user", sender_id: "u", text: "t" + seq, created_at: "2026-01-01T00:00:00Z", ...extra });

test("SeqTracker delivers each seq once, in order", async (t) => {
  for (const tc of [
    { name: "in order", offered: [1, 2, 3], seed: 0, want: [1, 2, 3], gaps: 0 },
    { name: "duplicates dropped", offered: [1, 1, 2, 1, 2, 3, 3], seed: 0, want: [1, 2, 3], gaps: 0 },
    { name: "out of order held until filled", offered: [1, 3, 4, 2], seed: 0, want: [1, 2, 3, 4], gaps: 0 },
    { name: "gap left open", offered: [1, 3], seed: 0, want: [1], gaps: 1 },
    { name: "seeded: older seqs are duplicates", offered: [4, 5, 6, 7], seed: 5, want: [6, 7], gaps: 0 },
  ]) {
    await t.test(tc.name, () => {
      const got = [];
      const tr = new SeqTracker((_, e) => got.push(e.seq));
      tr.seed("c", tc.seed);
      for (const s of tc.offered) tr.accept("c", { seq: s, message: msg(s), source: "push" });
      assert.deepEqual(got, tc.want);
      assert.equal(tr.gaps().length, tc.gaps);
    });
  }
  await t.test("skipGap delivers held messages after the missing ones", () => {
    const got = [];
    const tr = new SeqTracker((_, e) => got.push(e.seq));
    for (const s of [1, 4, 5]) tr.accept("c", { seq: s, message: msg(s), source: "push" });
    assert.deepEqual(tr.gaps(), [{ conversationId: "c", from: 2, to: 3 }]);
    tr.skipGap("c");
    assert.deepEqual(got, [1, 4, 5]);
  });
});

test("applyEventMessage follows the edit and recall rules", async (t) => {
  for (const tc of [
    { name: "edit sets text", target: msg(1), ev: msg(2, { kind: "edit", ref_seq: 1, text: "new" }), text: "new", recalled: undefined },
    { name: "recall drops text", target: msg(1), ev: msg(2, { kind: "recall", ref_seq: 1, text: undefined }), text: undefined, recalled: true },
    { name: "older edit ignored", target: msg(1, { text: "newer", edit_seq: 5 }), ev: msg(3, { kind: "edit", ref_seq: 1, text: "old" }), text: "newer", recalled: undefined },
    { name: "erased edit ignored", target: msg(1), ev: msg(2, { kind: "edit", ref_seq: 1, recalled: true, text: undefined }), text: "t1", recalled: undefined },
    { name: "other message untouched", target: msg(1), ev: msg(2, { kind: "edit", ref_seq: 7, text: "x" }), text: "t1", recalled: undefined },
  ]) {
    await t.test(tc.name, () => {
      const out = applyEventMessage(tc.target, tc.ev);
      assert.equal(out.text, tc.text);
      assert.equal(out.recalled, tc.recalled);
    });
  }
});

test("TokenCache refreshes refused and expiring tokens", async () => {
  const jwt = (expSec) => "h." + Buffer.from(JSON.stringify({ sub: "u", exp: expSec })).toString("base64url") + ".s";
  const calls = [];
  let now = 1_000_000_000_000;
  const tokens = [jwt(now / 1000 + 3600), jwt(now / 1000 + 7200), jwt(now / 1000 + 9000)];
  const cache = new TokenCache(async (req) => (calls.push(req.forceRefresh), tokens[calls.length - 1]), 30_000, () => now);
  assert.equal(await cache.get(), tokens[0]);
  assert.equal(await cache.get(), tokens[0], "cached while valid");
  cache.invalidate();
  assert.equal(await cache.get(), tokens[1], "refused: asked again");
  now += 7200_000 - 10_000; // within the skew of its exp
  assert.equal(await cache.get(), tokens[2], "expiring: asked again");
  assert.deepEqual(calls, [false, true, true]);
});

/** fakeServer answers each send frame with the next scripted reply (a function of the frame), counting frames. */
async function fakeServer(t, script, { onConnect = () => {}, syncResult = () => ({ messages: [], conversations: [], removed: [] }) } = {}) {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, handleProtocols: () => "tokenim" });
  await new Promise((r) => wss.once("listening", r));
  const sends = [];
  const syncs = [];
  wss.on("connection", (ws) => {
    onConnect(ws);
    ws.on("message", (data) => {
      const f = JSON.parse(String(data));
      if (f.action === "sync") {
        syncs.push(f);
        return ws.send(JSON.stringify({ type: "ack", action: "sync", request_id: f.request_id, result: syncResult(f, syncs.length) }));
      }
      if (f.action !== "send") return;
      sends.push(f);
      const reply = script[Math.min(sends.length - 1, script.length - 1)](f);
      if (reply) ws.send(JSON.stringify(reply));
    });
  });
  t.after(() => new Promise((r) => { for (const c of wss.clients) c.terminate(); wss.close(r); }));
  return { url: `ws://127.0.0.1:${wss.address().port}`, sends, syncs };
}

const ack = (f) => ({ type: "ack", action: "send", request_id: f.request_id, result: { created: false, message: msg(1, { client_msg_id: f.client_msg_id, text: f.text }) } });
const err = (code, details) => (f) => ({ type: "error", action: "send", code, message: code, request_id: f.request_id, details });
const gatewayError = () => ({ message: "Internal server error", connectionId: "x", requestId: "y" });
const silence = () => null;

test("send follows the retry rule", async (t) => {
  for (const tc of [
    { name: "service_unavailable, gateway error, no reply, then ack: one message", script: [err("service_unavailable", { retry_after_ms: 50 }), gatewayError, silence, ack], attempts: 4, ok: true },
    { name: "rate_limited waits and retries", script: [err("rate_limited", { retry_after_ms: 30 }), ack], attempts: 2, ok: true },
    { name: "gives up after 5 attempts", script: [err("service_unavailable", { retry_after_ms: 10 })], attempts: 5, ok: false, code: "service_unavailable" },
    { name: "a refusal is not retried", script: [err("not_found")], attempts: 1, ok: false, code: "not_found" },
  ]) {
    await t.test(tc.name, async (t) => {
      const srv = await fakeServer(t, tc.script);
      const c = new RealtimeClient({ url: srv.url, token: "tok", WebSocket, requestTimeoutMs: 300, retryDelayMs: 50, pingIntervalMs: 0 });
      t.after(() => c.close());
      c.connect();
      const p = c.send({ to_user: "bob" }, { text: "hi" });
      if (tc.ok) {
        const m = await p;
        assert.equal(m.text, "hi");
      } else {
        await assert.rejects(p, (e) => e instanceof TokenIMError && e.code === tc.code);
      }
      assert.equal(srv.sends.length, tc.attempts, "frames sent");
      assert.equal(new Set(srv.sends.map((f) => f.client_msg_id)).size, 1, "one client_msg_id for every attempt");
      assert.equal(c.outboxItems().length, 0, "outbox empty");
    });
  }
});

const push = (seq) => JSON.stringify({ type: "message.created", conversation_id: "c", seq, message: msg(seq), at: "2026-01-01T00:00:00Z" });

test("a gap is synced, or given up after gapTimeoutMs", async (t) => {
  for (const tc of [
    { name: "sync fills the gap", fill: true, want: [1, 2, 3], gap: false },
    { name: "sync never has it: delivered after the gap event", fill: false, want: [1, 3], gap: true },
  ]) {
    await t.test(tc.name, async (t) => {
      const srv = await fakeServer(t, [ack], {
        onConnect: (ws) => setTimeout(() => { ws.send(push(1)); ws.send(push(3)); ws.send(push(3)); }, 50),
        syncResult: (f, n) => ({ messages: tc.fill && n > 1 ? [msg(2), msg(3)] : [], conversations: [], removed: [] }),
      });
      const c = new RealtimeClient({ url: srv.url, token: "tok", WebSocket, pingIntervalMs: 0, gapTimeoutMs: 400 });
      t.after(() => c.close());
      const got = [];
      const gaps = [];
      c.on("message", (m) => got.push(m.seq));
      c.on("gap", (g) => gaps.push(g));
      c.connect();
      const end = Date.now() + 3000;
      while (got.length < tc.want.length && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(got, tc.want);
      assert.equal(gaps.length > 0, tc.gap);
      assert.ok(srv.syncs.length >= 2, "a sync on connect and one for the gap");
      assert.deepEqual(srv.syncs[1].since, { c: 1 }, "the gap sync starts at the last seq delivered");
    });
  }
});
