// The SDK against the local stack (infra/local's gateway, real functions,
// the emulator at AWS_ENDPOINT_URL): kill the socket mid-burst, restart
// the server, expire the token, duplicate (and drop) pushes. After each,
// the receiver has every message exactly once, in seq order, and the
// sender's promises resolved with the stored messages.
// Run through clients/typescript/run-tests.sh (make test does).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { RealtimeClient, RestClient } from "../dist/index.js";
import { LocalStack } from "./stack.mjs";
import { faultySocket, waitFor, synced } from "./helpers.mjs";

const skip = LocalStack.available() ? false : "needs AWS_ENDPOINT_URL, TOKENIM_LOCAL and TOKENIM_BIN (run-tests.sh sets them)";
const stack = new LocalStack();
before(async () => { if (!skip) await stack.start(); });
after(async () => { if (!skip) await stack.stop(); });

// Fast timings so faults resolve within seconds; the defaults are the
// documented ones (10 s reply timeout, 1 s retry wait, 1–30 s backoff).
const fast = { reconnect: { initialMs: 100, maxMs: 800 }, requestTimeoutMs: 4000, retryDelayMs: 200, pingIntervalMs: 0 };

/** client makes a RealtimeClient for a user, recording its messages. */
function client(t, stack, user, extra = {}) {
  const sock = faultySocket();
  const calls = [];
  const c = new RealtimeClient({
    url: stack.wsURL,
    device: "sdk-test",
    WebSocket: sock.WebSocket,
    token: async (req) => {
      calls.push(req.forceRefresh);
      return extra.token ? extra.token(req, calls.length) : user.mint();
    },
    ...fast,
    ...extra.options,
  });
  const got = [];
  const errors = [];
  c.on("error", (e) => errors.push(e.code ?? e.message));
  c.on("message", (m, info) => got.push({ ...m, source: info.source }));
  t.after(() => c.close());
  return { c, sock, got, calls, errors };
}

/** assertExactlyOnce: the conversation's messages are seq 1..n with the expected texts, once each. */
function assertExactlyOnce(got, conversationId, texts) {
  const mine = got.filter((m) => m.conversation_id === conversationId);
  assert.deepEqual(mine.map((m) => m.seq), texts.map((_, i) => i + 1), "seqs 1..n, once each, in order");
  assert.deepEqual(mine.map((m) => m.text), texts, "texts in send order");
}

async function assertStoredOnce(stack, conversationId, texts, token) {
  const page = await stack.rest("GET", `/v1/conversations/${encodeURIComponent(conversationId)}/messages?limit=100`, undefined, token);
  const msgs = [...page.messages].sort((a, b) => a.seq - b.seq);
  assert.deepEqual(msgs.map((m) => m.text), texts, "history holds each message once");
}

/** connectedPair: a receiver (alice, with the given push faults) and a sender (bob), both connected and synced. */
async function connectedPair(t, faults = {}) {
  const [a, b] = [await stack.user("alice"), await stack.user("bob")];
  const rx = client(t, stack, a);
  const tx = client(t, stack, b);
  Object.assign(rx.sock.faults, faults);
  rx.c.connect();
  tx.c.connect();
  await Promise.all([synced(rx.c), synced(tx.c)]);
  return { a, b, rx, tx };
}

const burst = (n, tag) => Array.from({ length: n }, (_, i) => `${tag}-${i}`);

test("kill the socket mid-burst: both sides reconnect, every message once, in order", { skip, timeout: 45_000 }, async (t) => {
  const { a, b, rx, tx } = await connectedPair(t);
  const texts = burst(30, "kill");
  let acked = 0;
  const sends = texts.map((text) => tx.c.send({ to_user: a.userId }, { text }).then((m) => (acked++, m)));
  await waitFor(() => acked >= 8, 15_000, "8 acks");
  tx.sock.kill();
  rx.sock.kill();
  await waitFor(() => acked >= 18, 15_000, "18 acks");
  tx.sock.kill(); // and again, with sends in flight
  const stored = await Promise.all(sends);
  assert.deepEqual(stored.map((m) => m.seq), texts.map((_, i) => i + 1), "each send resolved with its stored message");
  const conv = stored[0].conversation_id;
  await waitFor(() => rx.got.filter((m) => m.conversation_id === conv).length >= texts.length, 15_000, "all messages at the receiver");
  assertExactlyOnce(rx.got, conv, texts);
  assert.ok(tx.sock.sockets.length >= 3 && rx.sock.sockets.length >= 2, "the sockets were really replaced");
  await assertStoredOnce(stack, conv, texts, await b.mint());
});

test("server restart: sends made while it is down are stored once and delivered in order", { skip, timeout: 50_000 }, async (t) => {
  const { a, b, rx, tx } = await connectedPair(t);
  const texts = burst(20, "restart");
  const first = await Promise.all(texts.slice(0, 10).map((text) => tx.c.send({ to_user: a.userId }, { text })));
  const restarting = stack.restart({ downMs: 500 });
  await waitFor(() => tx.c.state !== "open", 10_000, "the sender to see the drop");
  const rest = texts.slice(10).map((text) => tx.c.send({ to_user: a.userId }, { text }));
  assert.equal(tx.c.outboxItems().length, 10, "the outbox holds the sends made while down");
  await restarting;
  const stored = [...first, ...(await Promise.all(rest))];
  assert.deepEqual(stored.map((m) => m.seq), texts.map((_, i) => i + 1));
  const conv = stored[0].conversation_id;
  await waitFor(() => rx.got.filter((m) => m.conversation_id === conv).length >= texts.length, 20_000, "all messages at the receiver");
  assertExactlyOnce(rx.got, conv, texts);
  assert.ok(rx.sock.sockets.length >= 2 && tx.sock.sockets.length >= 2, "both clients reconnected");
  await assertStoredOnce(stack, conv, texts, await b.mint());
});

// A forged token stands for one the server refuses (expired or revoked:
// the handshake's bare 401 is the same); a token close to its exp is
// refreshed before the reconnect without being tried.
const forged = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + Buffer.from(JSON.stringify({ sub: "x", exp: 4102444800 })).toString("base64url") + ".bad";
for (const tc of [
  { name: "refused at the handshake", token: (req, n, mint) => (n === 1 ? forged : mint()), options: {}, wantCalls: [false, true] },
  { name: "expiring before the reconnect", token: (req, n, mint) => mint(), options: { tokenRefreshSkewMs: 86_400_000 - 1_000 }, wantCalls: [false, true] },
]) {
  test(`token expiry (${tc.name}): the provider is asked for a fresh token, nothing is lost`, { skip, timeout: 40_000 }, async (t) => {
    const [a, b] = [await stack.user("alice"), await stack.user("bob")];
    const rx = client(t, stack, a, { token: (req, n) => tc.token(req, n, a.mint), options: tc.options });
    const tx = client(t, stack, b);
    tx.c.connect();
    await synced(tx.c);
    const texts = burst(12, "token");
    const early = await Promise.all(texts.slice(0, 4).map((text) => tx.c.send({ to_user: a.userId }, { text })));
    rx.c.connect();
    await synced(rx.c, 15_000);
    await new Promise((r) => setTimeout(r, 1200)); // the token now expires within the skew
    rx.sock.kill();
    const late = await Promise.all(texts.slice(4).map((text) => tx.c.send({ to_user: a.userId }, { text })));
    const conv = early[0].conversation_id;
    await waitFor(() => rx.got.filter((m) => m.conversation_id === conv).length >= texts.length, 15_000, "all messages at the receiver").catch((e) => {
      console.log("receiver state:", rx.calls, rx.c.state, rx.got.map((m) => [m.conversation_id, m.seq, m.source]), rx.c.tracker.gaps(), rx.errors);
      throw e;
    });
    assertExactlyOnce(rx.got, conv, texts);
    assert.deepEqual(rx.calls.slice(0, 2), tc.wantCalls, "provider calls (forceRefresh)");
    assert.equal(late.length, 8);
  });
}

test("duplicate, late and missed pushes: dropped or synced, every message once, in order", { skip, timeout: 40_000 }, async (t) => {
  // Every push twice, the copy up to 40 ms late; every 4th push lost: a gap, filled by sync.
  const { a, b, rx, tx } = await connectedPair(t, { duplicate: true, dropEvery: 4 });
  const texts = burst(30, "dup");
  const stored = [];
  for (const text of texts) stored.push(tx.c.send({ to_user: a.userId }, { text }));
  const msgs = await Promise.all(stored);
  const conv = msgs[0].conversation_id;
  // A retry with the same client_msg_id (the server's own duplicate
  // case) returns the stored message and pushes nothing.
  const again = await new RestClient({ baseUrl: stack.restURL, token: b.mint }).sendMessage({ conversation_id: conv, text: texts[5], client_msg_id: msgs[5].client_msg_id });
  assert.equal(again.seq, 6);
  assert.equal(again.message_id, msgs[5].message_id);
  const viaSdk = await tx.c.send({ conversation_id: conv }, { text: texts[7] }, { clientMsgId: msgs[7].client_msg_id });
  assert.equal(viaSdk.message_id, msgs[7].message_id);
  await waitFor(() => rx.got.filter((m) => m.conversation_id === conv).length >= texts.length, 20_000, "all messages at the receiver");
  await new Promise((r) => setTimeout(r, 300)); // late copies still arriving
  assertExactlyOnce(rx.got, conv, texts);
  assert.ok(rx.c.duplicates >= 10, `duplicates dropped: ${rx.c.duplicates}`);
  assert.ok(rx.got.some((m) => m.source === "sync"), "missed pushes came by sync");
});
