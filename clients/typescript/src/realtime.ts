// RealtimeClient: one WebSocket to TokenIM (docs/websocket.md) that an app
// can rely on. It connects with a token provider (and refreshes a refused
// or expired token), reconnects with jittered backoff, matches replies by
// request_id with timeouts, sends through an outbox that survives
// disconnects and follows the documented retry rule, and hands the app
// every message exactly once and in seq order, syncing after a gap or a
// reconnect.
import { Emitter } from "./emitter.js";
import { ClientCodes, TokenIMError, isRetryable } from "./errors.js";
import { TokenCache, subjectOf, type TokenSource } from "./token.js";
import { SeqTracker, type Entry, type Source } from "./tracker.js";
import type {
  Action,
  ActionRequests,
  ActionResults,
  Conversation,
  ErrorFrame,
  Message,
  MessageBody,
  ServerEvent,
  ServerEventType,
  Target,
} from "./types.js";

/** The part of the WebSocket API the client uses: browsers' WebSocket and the `ws` package both have it. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketFactory = new (url: string, protocols?: string | string[]) => WebSocketLike;

export type ConnectionState = "idle" | "connecting" | "open" | "reconnecting" | "closed";

export interface RealtimeOptions {
  /** The WebSocket URL (stack output WebSocketUrl; `websocket_url` in .tokenim/local.json). */
  url: string;
  /** A user access token, or a function returning one (called before every connect). */
  token: TokenSource;
  /** A device name stored with the connection (≤ 64 characters). */
  device?: string;
  /** The WebSocket implementation: the global one in browsers; in Node 20 pass `WebSocket` of the `ws` package. */
  WebSocket?: WebSocketFactory;
  /** How the token travels: as the `tokenim` subprotocol (default; keeps it out of URLs and logs) or in the query. */
  tokenIn?: "protocol" | "query";
  /** Reply timeout of a request (default 10 s, the retry rule's). */
  requestTimeoutMs?: number;
  /** Attempts of one send under the retry rule (default 5). */
  sendAttempts?: number;
  /** Wait before resending a send that timed out or met the gateway's error (default 1 s, jittered). */
  retryDelayMs?: number;
  /** Reconnect backoff: first delay and cap (default 1 s doubling to 30 s, jittered). */
  reconnect?: { initialMs?: number; maxMs?: number };
  /** Ping interval that keeps an idle socket open and finds a dead one (default 4 min; 0 turns it off). */
  pingIntervalMs?: number;
  /** How long a gap may wait for sync before its held messages are delivered anyway (default 15 s, above the 10 s delivery bound). */
  gapTimeoutMs?: number;
  /** Refresh a JWT this long before its `exp`, at the next connect (default 30 s). */
  tokenRefreshSkewMs?: number;
  /** The last seq the app already holds per conversation (its stored state): sync starts there. */
  since?: Record<string, number>;
}

export interface MessageInfo {
  source: Source;
}

/** Events of RealtimeClient: the server's pushes by their `type`, and the client's own. */
export type RealtimeEvents = {
  /** Every message of every conversation (edit and recall event messages included), once, in seq order. */
  message: [Message, MessageInfo];
  state: [ConnectionState];
  /** After each completed sync (on every connect and after gaps). */
  synced: [{ conversations: Conversation[]; removed: string[] }];
  /** A conversation of `since` the user no longer belongs to. */
  removed: [string];
  /** Seqs sync did not return within gapTimeoutMs; the held messages were delivered after them. */
  gap: [{ conversationId: string; from: number; to: number }];
  error: [Error];
} & { [T in ServerEventType]: [Extract<ServerEvent, { type: T }>] };

interface Pending {
  resolve: (frame: { type: string; result?: unknown }) => void;
  reject: (err: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** An outbox entry: a send waiting for its ack. */
export interface OutboxItem {
  clientMsgId: string;
  target: Target;
  body: MessageBody;
  attempts: number;
}

interface SendJob extends OutboxItem {
  key: string;
  resolve: (m: Message) => void;
  reject: (err: Error) => void;
  inflight: boolean;
  timer?: ReturnType<typeof setTimeout>;
}

const OPEN = 1;

export function newClientMsgId(): string {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === "function") return "c-" + c.randomUUID();
  return "c-" + Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
}

function jitter(ms: number): number {
  return ms / 2 + Math.random() * (ms / 2);
}

export class RealtimeClient extends Emitter<RealtimeEvents> {
  private readonly opts: Required<Omit<RealtimeOptions, "since" | "device" | "WebSocket" | "reconnect" | "tokenRefreshSkewMs">> & RealtimeOptions;
  private readonly tokens: TokenCache;
  private readonly Impl: WebSocketFactory;
  private readonly tracker: SeqTracker<ServerEvent>;
  private ws: WebSocketLike | null = null;
  private nextId = 1;
  private pending = new Map<string, Pending>();
  private outbox: SendJob[] = [];
  private sendsByRequest = new Map<string, SendJob>();
  private failures = 0;
  private stopped = true;
  private reconnectTimer?: ReturnType<typeof setTimeout>;
  private pingTimer?: ReturnType<typeof setInterval>;
  private syncing: Promise<void> | null = null;
  private syncAgain = false;
  private gapTimer?: ReturnType<typeof setTimeout>;
  private gapSince = 0;
  private openWaiters: (() => void)[] = [];
  state: ConnectionState = "idle";

  constructor(options: RealtimeOptions) {
    super();
    this.opts = {
      tokenIn: "protocol",
      requestTimeoutMs: 10_000,
      sendAttempts: 5,
      retryDelayMs: 1_000,
      pingIntervalMs: 240_000,
      gapTimeoutMs: 15_000,
      ...options,
    };
    const Impl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketFactory }).WebSocket;
    if (!Impl) throw new Error("no WebSocket implementation: in Node 20 pass { WebSocket } from the 'ws' package");
    this.Impl = Impl;
    this.tokens = new TokenCache(options.token, options.tokenRefreshSkewMs ?? 30_000);
    this.tracker = new SeqTracker((id, entry) => this.deliver(id, entry));
    for (const [id, seq] of Object.entries(options.since ?? {})) this.tracker.seed(id, seq);
  }

  // ------------------------------------------------------------ lifecycle

  /** connect opens the socket and keeps it open (reconnecting) until close(). */
  connect(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.open();
  }

  /** close stops for good: the socket closes, pending requests and unsent messages are rejected. */
  close(): void {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.gapTimer);
    this.stopPing();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
      ws.close(1000, "client closed");
    }
    this.dropPending(ClientCodes.closed);
    for (const job of this.outbox.splice(0)) {
      clearTimeout(job.timer);
      job.reject(new TokenIMError(ClientCodes.closed, "the client was closed before the message was acked"));
    }
    this.sendsByRequest.clear();
    this.setState("closed");
  }

  /** lastSeq is the highest seq of a conversation handed to the app. */
  lastSeq(conversationId: string): number {
    return this.tracker.lastSeq(conversationId);
  }

  /** seed tells the client what the app already holds of a conversation (never moves back). */
  seed(conversationId: string, seq: number): void {
    this.tracker.seed(conversationId, seq);
  }

  /** outboxItems lists the sends not acked yet, in the order they were made. */
  outboxItems(): OutboxItem[] {
    return this.outbox.map(({ clientMsgId, target, body, attempts }) => ({ clientMsgId, target, body, attempts }));
  }

  /** duplicates counts messages dropped because the app already had them. */
  get duplicates(): number {
    return this.tracker.duplicates;
  }

  private async open(): Promise<void> {
    if (this.stopped) return;
    this.setState(this.failures === 0 && this.state !== "reconnecting" ? "connecting" : "reconnecting");
    let token: string;
    try {
      token = await this.tokens.get();
    } catch (err) {
      this.emit("error", err instanceof Error ? err : new Error(String(err)));
      return this.scheduleReconnect();
    }
    if (this.stopped) return;
    const params = new URLSearchParams();
    if (this.opts.tokenIn === "query") params.set("token", token);
    if (this.opts.device) params.set("device", this.opts.device);
    const qs = params.toString();
    const url = qs ? this.opts.url + (this.opts.url.includes("?") ? "&" : "?") + qs : this.opts.url;
    let ws: WebSocketLike;
    try {
      ws = this.opts.tokenIn === "query" ? new this.Impl(url) : new this.Impl(url, ["tokenim", token]);
    } catch (err) {
      this.emit("error", err instanceof Error ? err : new Error(String(err)));
      return this.scheduleReconnect();
    }
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.setState("open");
      for (const w of this.openWaiters.splice(0)) w();
      this.startPing();
      // Pushes of messages stored while the socket was down are never
      // replayed: sync with every known seq (rule 4), then send the outbox.
      this.requestSync();
      this.pump();
      void this.checkRegistered(ws);
    };
    ws.onmessage = (ev) => this.onFrame(ev.data);
    ws.onerror = () => {
      /* onclose follows and handles it */
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      // A socket that never opened was most likely refused (401: the token
      // expired or was revoked); browsers do not show the status, so the
      // next connect asks the provider for a fresh token.
      if (!opened) this.tokens.invalidate();
      this.stopPing();
      this.dropPending(ClientCodes.disconnected);
      // Unacked sends stay in the outbox and go again after the reconnect
      // (same client_msg_id: stored once). A lost socket is not one of the
      // retry rule's attempts.
      for (const job of this.outbox) {
        clearTimeout(job.timer);
        job.timer = undefined;
        if (job.inflight) job.attempts--;
        job.inflight = false;
      }
      this.sendsByRequest.clear();
      this.scheduleReconnect();
    };
  }

  // checkRegistered works around a server race: a push that reaches a
  // connection while its $connect is still running gets 410 Gone (API
  // Gateway does not accept posts before $connect completes), and the
  // server then deletes the new connection's record as stale, so the open
  // socket would get no more pushes. After the first sync, the client asks
  // for its own presence: zero connections means its record is gone, and
  // it reconnects (and syncs). One presence read (0.5 RCU) per connect.
  private async checkRegistered(ws: WebSocketLike): Promise<void> {
    const me = this.tokens.current && subjectOf(this.tokens.current);
    if (!me) return;
    try {
      await this.syncing;
      const res = await this.request("presence", { user_ids: [me] });
      const self = res.users.find((u) => u.user_id === me);
      if (this.ws === ws && self && self.connections === 0) {
        this.emit("error", new TokenIMError("not_registered", "the server lost this connection's record: reconnecting"));
        ws.close(4000, "not registered");
      }
    } catch {
      /* a closed socket reconnects anyway */
    }
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    this.setState("reconnecting");
    const initial = this.opts.reconnect?.initialMs ?? 1_000;
    const max = this.opts.reconnect?.maxMs ?? 30_000;
    const delay = jitter(Math.min(max, initial * 2 ** Math.min(this.failures, 16)));
    this.failures++;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.open(), delay);
  }

  private setState(s: ConnectionState): void {
    if (this.state === s) return;
    this.state = s;
    this.emit("state", s);
  }

  private startPing(): void {
    this.stopPing();
    if (!this.opts.pingIntervalMs) return;
    this.pingTimer = setInterval(() => {
      // A ping without a reply means the socket is dead without a close
      // (a lost network): close it, which reconnects.
      this.request("ping", {}).catch((err) => {
        if (err instanceof TokenIMError && err.code === ClientCodes.timeout) this.ws?.close(4000, "ping timeout");
      });
    }, this.opts.pingIntervalMs);
  }

  private stopPing(): void {
    clearInterval(this.pingTimer);
  }

  private dropPending(code: string): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new TokenIMError(code, code === ClientCodes.closed ? "the client was closed" : "the socket closed before the reply"));
    }
    this.pending.clear();
  }

  private whenOpen(timeoutMs: number): Promise<void> {
    if (this.ws && this.ws.readyState === OPEN && this.state === "open") return Promise.resolve();
    if (this.stopped) return Promise.reject(new TokenIMError(ClientCodes.closed, "the client is not connected: call connect()"));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.openWaiters = this.openWaiters.filter((w) => w !== done);
        reject(new TokenIMError(ClientCodes.disconnected, "not connected within the request timeout"));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.openWaiters.push(done);
    });
  }

  // ------------------------------------------------------------- requests

  /**
   * request sends one frame and resolves with its ack's result (or, for
   * ping, the pong), rejecting with a TokenIMError: the server's code, or
   * timeout / disconnected. It waits for the socket to open, within the
   * timeout. Every action but send is safe to repeat; send through send().
   */
  async request<A extends Exclude<Action, "send">>(action: A, body: ActionRequests[A], opts: { timeoutMs?: number } = {}): Promise<ActionResults[A]> {
    const timeoutMs = opts.timeoutMs ?? this.opts.requestTimeoutMs;
    await this.whenOpen(timeoutMs);
    const frame = await this.roundTrip({ ...body, action }, timeoutMs);
    return (frame.type === "pong" ? {} : frame.result) as ActionResults[A];
  }

  private roundTrip(frame: Record<string, unknown>, timeoutMs: number): Promise<{ type: string; result?: unknown }> {
    return new Promise((resolve, reject) => {
      const id = "r" + this.nextId++;
      const timer = setTimeout(() => {
        if (this.pending.delete(id)) reject(new TokenIMError(ClientCodes.timeout, `no reply to ${String(frame.action)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      if (!this.transmit({ ...frame, request_id: id })) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new TokenIMError(ClientCodes.disconnected, "the socket is not open"));
      }
    });
  }

  private transmit(frame: Record<string, unknown>): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN) return false;
    try {
      ws.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  read(conversationId: string, seq: number) {
    return this.request("read", { conversation_id: conversationId, seq });
  }
  typing(conversationId: string, state: "start" | "stop" = "start") {
    return this.request("typing", { conversation_id: conversationId, state });
  }
  presence(userIds: string[]) {
    return this.request("presence", { user_ids: userIds });
  }
  /** react adds the caller's emoji reaction to the message at seq (or removes it): the ack is the message with its counts. */
  react(conversationId: string, seq: number, emoji: string, opts: { remove?: boolean } = {}) {
    return this.request("react", { conversation_id: conversationId, seq, emoji, ...(opts.remove ? { remove: true } : {}) });
  }
  /** pin pins the message at seq (or unpins it): the ack is the conversation's pins. */
  pin(conversationId: string, seq: number, opts: { unpin?: boolean } = {}) {
    return this.request("pin", { conversation_id: conversationId, seq, ...(opts.unpin ? { unpin: true } : {}) });
  }
  ping() {
    return this.request("ping", {});
  }

  // ----------------------------------------------------------------- send

  /**
   * send stores a message and resolves with it as stored (its seq and
   * message_id). It goes through the outbox: queued while the socket is
   * down, resent after a reconnect, and retried under the documented rule
   * (service_unavailable, rate_limited, the gateway's error frame, or no
   * ack in 10 s: the same frame with the same client_msg_id, up to 5
   * attempts), so it is stored exactly once. Sends to one conversation
   * are stored in the order send() was called.
   */
  send(target: Target, body: MessageBody, opts: { clientMsgId?: string } = {}): Promise<Message> {
    if (this.stopped && this.state === "closed") return Promise.reject(new TokenIMError(ClientCodes.closed, "the client was closed"));
    const key = "conversation_id" in target ? "c:" + target.conversation_id : "to_user" in target ? "u:" + target.to_user : "g:" + target.to_group;
    return new Promise((resolve, reject) => {
      this.outbox.push({ clientMsgId: opts.clientMsgId ?? newClientMsgId(), target, body, attempts: 0, key, resolve, reject, inflight: false });
      this.pump();
    });
  }

  // pump transmits the first unsent message of each conversation: one in
  // flight per conversation keeps the stored order the order of send().
  private pump(): void {
    if (!this.ws || this.ws.readyState !== OPEN || this.state !== "open") return;
    const seen = new Set<string>();
    for (const job of this.outbox) {
      if (seen.has(job.key)) continue;
      seen.add(job.key);
      if (job.inflight || job.timer) continue;
      this.transmitSend(job);
    }
  }

  private transmitSend(job: SendJob): void {
    const id = "s" + this.nextId++;
    const frame = { action: "send", request_id: id, ...job.target, ...job.body, client_msg_id: job.clientMsgId };
    if (!this.transmit(frame)) return; // sent again after the reconnect
    job.inflight = true;
    job.attempts++;
    this.sendsByRequest.set(id, job);
    job.timer = setTimeout(() => this.sendFailed(job, ClientCodes.timeout, this.opts.retryDelayMs), this.opts.requestTimeoutMs);
  }

  private sendFailed(job: SendJob, code: string, waitMs: number, err?: ErrorFrame): void {
    clearTimeout(job.timer);
    job.timer = undefined;
    job.inflight = false;
    if (!isRetryable(code) || job.attempts >= this.opts.sendAttempts) {
      this.finishSend(job);
      job.reject(new TokenIMError(code, err?.message ?? `send failed: ${code} after ${job.attempts} attempt(s)`, { requestId: err?.request_id, details: err?.details }));
      return;
    }
    job.timer = setTimeout(() => {
      job.timer = undefined;
      this.pump();
    }, jitter(waitMs));
  }

  private finishSend(job: SendJob): void {
    clearTimeout(job.timer);
    this.outbox = this.outbox.filter((j) => j !== job);
    for (const [id, j] of this.sendsByRequest) if (j === job) this.sendsByRequest.delete(id);
    this.pump();
  }

  // --------------------------------------------------------------- frames

  private onFrame(data: unknown): void {
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(typeof data === "string" ? data : String(data));
    } catch {
      return;
    }
    if (!frame || typeof frame !== "object") return;
    const rid = typeof frame.request_id === "string" ? frame.request_id : undefined;
    if (frame.type === undefined && frame.message === "Internal server error") {
      // API Gateway's generic frame names no request: every send in flight
      // may have failed. Resending them is safe (same client_msg_id); an
      // ack of the earlier attempt still resolves its send.
      for (const job of this.outbox) if (job.inflight) this.sendFailed(job, ClientCodes.gatewayError, this.opts.retryDelayMs);
      return;
    }
    const job = rid ? this.sendsByRequest.get(rid) : undefined;
    if (job) return this.onSendReply(job, frame);
    const waiter = rid ? this.pending.get(rid) : undefined;
    if (waiter && rid) {
      this.pending.delete(rid);
      clearTimeout(waiter.timer);
      if (frame.type === "error") {
        const e = frame as unknown as ErrorFrame;
        waiter.reject(new TokenIMError(e.code, e.message, { requestId: e.request_id, details: e.details }));
      } else waiter.resolve(frame as { type: string; result?: unknown });
      return;
    }
    if (typeof frame.type === "string" && frame.type !== "ack" && frame.type !== "error" && frame.type !== "pong") {
      this.onEvent(frame as unknown as ServerEvent);
    }
  }

  private onSendReply(job: SendJob, frame: Record<string, unknown>): void {
    if (!this.outbox.includes(job)) return; // an earlier attempt's late reply
    if (frame.type === "ack") {
      const result = frame.result as ActionResults["send"];
      this.finishSend(job);
      job.resolve(result.message);
      // The sending connection gets the ack instead of a push.
      this.offer(result.message.conversation_id, { seq: result.message.seq, message: result.message, source: "ack" });
      return;
    }
    const e = frame as unknown as ErrorFrame;
    const retryAfter = typeof e.details?.retry_after_ms === "number" ? e.details.retry_after_ms : this.opts.retryDelayMs;
    this.sendFailed(job, e.code, retryAfter, e);
  }

  private onEvent(ev: ServerEvent): void {
    switch (ev.type) {
      case "message.created":
        return this.offer(ev.conversation_id, { seq: ev.seq, message: ev.message, source: "push", event: ev });
      case "message.edited":
      case "message.recalled":
        // The event message takes the conversation's next seq; `message`
        // (the changed original) rides along in the event.
        return this.offer(ev.conversation_id, { seq: ev.event_seq, message: ev.event_message, source: "push", event: ev });
      default:
        this.emit(ev.type, ev as never);
    }
  }

  private offer(conversationId: string, entry: Entry<ServerEvent>): void {
    if (this.tracker.accept(conversationId, entry)) this.requestSync();
  }

  private deliver(_id: string, entry: Entry<ServerEvent>): void {
    this.emit("message", entry.message, { source: entry.source });
    if (entry.event) this.emit(entry.event.type, entry.event as never);
  }

  // ----------------------------------------------------------------- sync

  /**
   * sync fetches what the client missed in every known conversation (all
   * pages) and delivers it in order. The client runs it on every connect
   * and after a gap; an app calls it only to force one.
   */
  sync(): Promise<void> {
    this.requestSync();
    return this.syncing ?? Promise.resolve();
  }

  private requestSync(): void {
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    this.syncing = this.runSync()
      .catch((err) => {
        if (!(err instanceof TokenIMError && (err.code === ClientCodes.disconnected || err.code === ClientCodes.closed))) this.emit("error", err);
      })
      .finally(() => {
        this.syncing = null;
        if (this.syncAgain && !this.stopped) {
          this.syncAgain = false;
          this.requestSync();
        } else this.checkGaps();
      });
  }

  private async runSync(): Promise<void> {
    const since = this.tracker.since();
    const conversations: Conversation[] = [];
    const removed: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10_000; page++) {
      const res = await this.request("sync", cursor ? { since, limit: 100, cursor } : { since, limit: 100 });
      for (const m of res.messages) this.tracker.accept(m.conversation_id, { seq: m.seq, message: m, source: "sync" });
      conversations.push(...res.conversations);
      removed.push(...res.removed);
      if (!res.next_cursor) break;
      cursor = res.next_cursor;
    }
    this.failures = 0; // a full round trip: the connection works
    for (const id of removed) {
      this.tracker.forget(id);
      this.emit("removed", id);
    }
    this.emit("synced", { conversations, removed });
  }

  // A gap sync did not fill (the missing message is stored but not yet
  // readable, within the delivery bound): sync again with backoff, and
  // after gapTimeoutMs deliver the held messages anyway.
  private checkGaps(): void {
    clearTimeout(this.gapTimer);
    const gaps = this.tracker.gaps();
    if (gaps.length === 0) {
      this.gapSince = 0;
      return;
    }
    // Offline, the reconnect's sync fills gaps: never give one up then.
    if (this.state !== "open") {
      this.gapSince = 0;
      return;
    }
    const now = Date.now();
    if (!this.gapSince) this.gapSince = now;
    if (now - this.gapSince >= this.opts.gapTimeoutMs) {
      this.gapSince = 0;
      for (const g of gaps) {
        this.emit("gap", g);
        this.tracker.skipGap(g.conversationId);
      }
      return;
    }
    this.gapTimer = setTimeout(() => this.requestSync(), Math.min(2_000, 250 * 2 ** Math.floor((now - this.gapSince) / 1000)));
  }
}
