// @tokenim/client browser bundle, built from clients/typescript by `npm run build`: do not edit.
"use strict";
var TokenIM = (() => {
  var __defProp = Object.defineProperty;
  var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
  var __getOwnPropNames = Object.getOwnPropertyNames;
  var __hasOwnProp = Object.prototype.hasOwnProperty;
  var __defNormalProp = (obj, key, value) => key in obj ? __defProp(obj, key, { enumerable: true, configurable: true, writable: true, value }) : obj[key] = value;
  var __export = (target, all) => {
    for (var name in all)
      __defProp(target, name, { get: all[name], enumerable: true });
  };
  var __copyProps = (to, from, except, desc) => {
    if (from && typeof from === "object" || typeof from === "function") {
      for (let key of __getOwnPropNames(from))
        if (!__hasOwnProp.call(to, key) && key !== except)
          __defProp(to, key, { get: () => from[key], enumerable: !(desc = __getOwnPropDesc(from, key)) || desc.enumerable });
    }
    return to;
  };
  var __toCommonJS = (mod) => __copyProps(__defProp({}, "__esModule", { value: true }), mod);
  var __publicField = (obj, key, value) => __defNormalProp(obj, typeof key !== "symbol" ? key + "" : key, value);

  // src/index.ts
  var index_exports = {};
  __export(index_exports, {
    ACTIONS: () => ACTIONS,
    ClientCodes: () => ClientCodes,
    RealtimeClient: () => RealtimeClient,
    RestClient: () => RestClient,
    SERVER_EVENT_TYPES: () => SERVER_EVENT_TYPES,
    SeqTracker: () => SeqTracker,
    TokenCache: () => TokenCache,
    TokenIMError: () => TokenIMError,
    applyEventMessage: () => applyEventMessage,
    expiresAt: () => expiresAt,
    isRetryable: () => isRetryable,
    newClientMsgId: () => newClientMsgId
  });

  // src/emitter.ts
  var Emitter = class {
    constructor() {
      __publicField(this, "listeners", /* @__PURE__ */ new Map());
    }
    /** on subscribes and returns the function that unsubscribes. */
    on(event, fn) {
      let set = this.listeners.get(event);
      if (!set) this.listeners.set(event, set = /* @__PURE__ */ new Set());
      set.add(fn);
      return () => this.off(event, fn);
    }
    off(event, fn) {
      this.listeners.get(event)?.delete(fn);
    }
    // A throwing listener must not break the client's state machine: its
    // error is reported asynchronously, as an uncaught error of the app.
    emit(event, ...args) {
      for (const fn of this.listeners.get(event) ?? []) {
        try {
          fn(...args);
        } catch (err) {
          setTimeout(() => {
            throw err;
          });
        }
      }
    }
  };

  // src/errors.ts
  var ClientCodes = {
    /** No reply within the request timeout. */
    timeout: "timeout",
    /** The socket closed before the reply came. */
    disconnected: "disconnected",
    /** API Gateway's generic "Internal server error" frame: the function failed. */
    gatewayError: "gateway_error",
    /** The client was closed with close(). */
    closed: "closed"
  };
  var TokenIMError = class extends Error {
    constructor(code, message, opts = {}) {
      super(message);
      __publicField(this, "code");
      __publicField(this, "requestId");
      __publicField(this, "status");
      __publicField(this, "details");
      this.name = "TokenIMError";
      this.code = code;
      this.requestId = opts.requestId;
      this.status = opts.status;
      this.details = opts.details;
    }
  };
  function isRetryable(code) {
    return code === "service_unavailable" || code === "rate_limited" || code === ClientCodes.timeout || code === ClientCodes.gatewayError;
  }

  // src/token.ts
  function claims(token) {
    const part = token.split(".")[1];
    if (!part) return void 0;
    try {
      const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(b64 + "=".repeat((4 - b64.length % 4) % 4)));
    } catch {
      return void 0;
    }
  }
  function expiresAt(token) {
    const exp = claims(token)?.exp;
    return typeof exp === "number" ? exp * 1e3 : void 0;
  }
  function subjectOf(token) {
    const sub = claims(token)?.sub;
    return typeof sub === "string" ? sub : void 0;
  }
  var TokenCache = class {
    constructor(source, skewMs = 3e4, now = Date.now) {
      __publicField(this, "source", source);
      __publicField(this, "skewMs", skewMs);
      __publicField(this, "now", now);
      __publicField(this, "token");
      __publicField(this, "refused", false);
    }
    async get() {
      const exp = this.token === void 0 ? void 0 : expiresAt(this.token);
      const expired = exp !== void 0 && exp - this.skewMs <= this.now();
      if (this.token !== void 0 && !expired && !this.refused) return this.token;
      if (typeof this.source === "string") return this.token = this.source;
      const forceRefresh = this.token !== void 0;
      this.token = await this.source({ forceRefresh });
      this.refused = false;
      return this.token;
    }
    /** current is the last token get() returned. */
    get current() {
      return this.token;
    }
    /** invalidate marks the current token refused: the next get() asks the provider. */
    invalidate() {
      this.refused = true;
    }
  };

  // src/tracker.ts
  var SeqTracker = class {
    constructor(deliver) {
      __publicField(this, "deliver", deliver);
      __publicField(this, "last", /* @__PURE__ */ new Map());
      __publicField(this, "held", /* @__PURE__ */ new Map());
      /** Messages dropped as duplicates (seq <= last or already held). */
      __publicField(this, "duplicates", 0);
    }
    lastSeq(conversationId) {
      return this.last.get(conversationId) ?? 0;
    }
    /** since is every known conversation's last seq, as `sync` takes it. */
    since() {
      return Object.fromEntries(this.last);
    }
    /**
     * seed records what the app already holds (e.g. a conversation's
     * last_seq from the conversation list, or its stored history): the
     * tracker never moves back, so seeding below `last` does nothing.
     */
    seed(conversationId, seq) {
      if (seq > this.lastSeq(conversationId)) {
        this.last.set(conversationId, seq);
        this.drain(conversationId);
      }
    }
    forget(conversationId) {
      this.last.delete(conversationId);
      this.held.delete(conversationId);
    }
    /**
     * accept offers one message at `seq` (a message's seq, or an edit's or
     * recall's event_seq). It returns true when the conversation now has a
     * gap below a held message, which the caller fills with sync.
     */
    accept(conversationId, entry) {
      const last = this.lastSeq(conversationId);
      if (entry.seq <= last) {
        this.duplicates++;
        return this.hasGap(conversationId);
      }
      if (entry.seq > last + 1) {
        let held = this.held.get(conversationId);
        if (!held) this.held.set(conversationId, held = /* @__PURE__ */ new Map());
        if (held.has(entry.seq)) this.duplicates++;
        else held.set(entry.seq, entry);
        return true;
      }
      this.last.set(conversationId, entry.seq);
      this.deliver(conversationId, entry);
      this.drain(conversationId);
      return this.hasGap(conversationId);
    }
    /** gaps lists the conversations waiting for messages below held ones. */
    gaps() {
      const out = [];
      for (const [id, held] of this.held) {
        if (held.size === 0) continue;
        out.push({ conversationId: id, from: this.lastSeq(id) + 1, to: Math.min(...held.keys()) - 1 });
      }
      return out;
    }
    /**
     * skipGap gives up on the missing seqs below a conversation's first held
     * message and delivers what is held: used only when sync has not
     * returned them within the delivery bound, so the app is not stalled.
     */
    skipGap(conversationId) {
      const held = this.held.get(conversationId);
      if (!held || held.size === 0) return;
      this.last.set(conversationId, Math.min(...held.keys()) - 1);
      this.drain(conversationId);
    }
    hasGap(conversationId) {
      return (this.held.get(conversationId)?.size ?? 0) > 0;
    }
    drain(conversationId) {
      const held = this.held.get(conversationId);
      if (!held) return;
      for (const seq of [...held.keys()]) if (seq <= this.lastSeq(conversationId)) held.delete(seq);
      for (; ; ) {
        const next = this.lastSeq(conversationId) + 1;
        const entry = held.get(next);
        if (!entry) break;
        held.delete(next);
        this.last.set(conversationId, next);
        this.deliver(conversationId, entry);
      }
      if (held.size === 0) this.held.delete(conversationId);
    }
  };

  // src/realtime.ts
  var OPEN = 1;
  function newClientMsgId() {
    const c = globalThis.crypto;
    if (c && typeof c.randomUUID === "function") return "c-" + c.randomUUID();
    return "c-" + Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  }
  function jitter(ms) {
    return ms / 2 + Math.random() * (ms / 2);
  }
  var RealtimeClient = class extends Emitter {
    constructor(options) {
      super();
      __publicField(this, "opts");
      __publicField(this, "tokens");
      __publicField(this, "Impl");
      __publicField(this, "tracker");
      __publicField(this, "ws", null);
      __publicField(this, "nextId", 1);
      __publicField(this, "pending", /* @__PURE__ */ new Map());
      __publicField(this, "outbox", []);
      __publicField(this, "sendsByRequest", /* @__PURE__ */ new Map());
      __publicField(this, "failures", 0);
      __publicField(this, "stopped", true);
      __publicField(this, "reconnectTimer");
      __publicField(this, "pingTimer");
      __publicField(this, "syncing", null);
      __publicField(this, "syncAgain", false);
      __publicField(this, "gapTimer");
      __publicField(this, "gapSince", 0);
      __publicField(this, "openWaiters", []);
      __publicField(this, "state", "idle");
      this.opts = {
        tokenIn: "protocol",
        requestTimeoutMs: 1e4,
        sendAttempts: 5,
        retryDelayMs: 1e3,
        pingIntervalMs: 24e4,
        gapTimeoutMs: 15e3,
        ...options
      };
      const Impl = options.WebSocket ?? globalThis.WebSocket;
      if (!Impl) throw new Error("no WebSocket implementation: in Node 20 pass { WebSocket } from the 'ws' package");
      this.Impl = Impl;
      this.tokens = new TokenCache(options.token, options.tokenRefreshSkewMs ?? 3e4);
      this.tracker = new SeqTracker((id, entry) => this.deliver(id, entry));
      for (const [id, seq] of Object.entries(options.since ?? {})) this.tracker.seed(id, seq);
    }
    // ------------------------------------------------------------ lifecycle
    /** connect opens the socket and keeps it open (reconnecting) until close(). */
    connect() {
      if (!this.stopped) return;
      this.stopped = false;
      void this.open();
    }
    /** close stops for good: the socket closes, pending requests and unsent messages are rejected. */
    close() {
      this.stopped = true;
      clearTimeout(this.reconnectTimer);
      clearTimeout(this.gapTimer);
      this.stopPing();
      const ws = this.ws;
      this.ws = null;
      if (ws) {
        ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
        ws.close(1e3, "client closed");
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
    lastSeq(conversationId) {
      return this.tracker.lastSeq(conversationId);
    }
    /** seed tells the client what the app already holds of a conversation (never moves back). */
    seed(conversationId, seq) {
      this.tracker.seed(conversationId, seq);
    }
    /** outboxItems lists the sends not acked yet, in the order they were made. */
    outboxItems() {
      return this.outbox.map(({ clientMsgId, target, body, attempts }) => ({ clientMsgId, target, body, attempts }));
    }
    /** duplicates counts messages dropped because the app already had them. */
    get duplicates() {
      return this.tracker.duplicates;
    }
    async open() {
      if (this.stopped) return;
      this.setState(this.failures === 0 && this.state !== "reconnecting" ? "connecting" : "reconnecting");
      let token;
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
      let ws;
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
        this.requestSync();
        this.pump();
        void this.checkRegistered(ws);
      };
      ws.onmessage = (ev) => this.onFrame(ev.data);
      ws.onerror = () => {
      };
      ws.onclose = () => {
        if (this.ws !== ws) return;
        this.ws = null;
        if (!opened) this.tokens.invalidate();
        this.stopPing();
        this.dropPending(ClientCodes.disconnected);
        for (const job of this.outbox) {
          clearTimeout(job.timer);
          job.timer = void 0;
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
    async checkRegistered(ws) {
      const me = this.tokens.current && subjectOf(this.tokens.current);
      if (!me) return;
      try {
        await this.syncing;
        const res = await this.request("presence", { user_ids: [me] });
        const self = res.users.find((u) => u.user_id === me);
        if (this.ws === ws && self && self.connections === 0) {
          this.emit("error", new TokenIMError("not_registered", "the server lost this connection's record: reconnecting"));
          ws.close(4e3, "not registered");
        }
      } catch {
      }
    }
    scheduleReconnect() {
      if (this.stopped) return;
      this.setState("reconnecting");
      const initial = this.opts.reconnect?.initialMs ?? 1e3;
      const max = this.opts.reconnect?.maxMs ?? 3e4;
      const delay = jitter(Math.min(max, initial * 2 ** Math.min(this.failures, 16)));
      this.failures++;
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = setTimeout(() => void this.open(), delay);
    }
    setState(s) {
      if (this.state === s) return;
      this.state = s;
      this.emit("state", s);
    }
    startPing() {
      this.stopPing();
      if (!this.opts.pingIntervalMs) return;
      this.pingTimer = setInterval(() => {
        this.request("ping", {}).catch((err) => {
          if (err instanceof TokenIMError && err.code === ClientCodes.timeout) this.ws?.close(4e3, "ping timeout");
        });
      }, this.opts.pingIntervalMs);
    }
    stopPing() {
      clearInterval(this.pingTimer);
    }
    dropPending(code) {
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(new TokenIMError(code, code === ClientCodes.closed ? "the client was closed" : "the socket closed before the reply"));
      }
      this.pending.clear();
    }
    whenOpen(timeoutMs) {
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
    async request(action, body, opts = {}) {
      const timeoutMs = opts.timeoutMs ?? this.opts.requestTimeoutMs;
      await this.whenOpen(timeoutMs);
      const frame = await this.roundTrip({ ...body, action }, timeoutMs);
      return frame.type === "pong" ? {} : frame.result;
    }
    roundTrip(frame, timeoutMs) {
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
    transmit(frame) {
      const ws = this.ws;
      if (!ws || ws.readyState !== OPEN) return false;
      try {
        ws.send(JSON.stringify(frame));
        return true;
      } catch {
        return false;
      }
    }
    read(conversationId, seq) {
      return this.request("read", { conversation_id: conversationId, seq });
    }
    typing(conversationId, state = "start") {
      return this.request("typing", { conversation_id: conversationId, state });
    }
    presence(userIds) {
      return this.request("presence", { user_ids: userIds });
    }
    /** react adds the caller's emoji reaction to the message at seq (or removes it): the ack is the message with its counts. */
    react(conversationId, seq, emoji, opts = {}) {
      return this.request("react", { conversation_id: conversationId, seq, emoji, ...opts.remove ? { remove: true } : {} });
    }
    /** pin pins the message at seq (or unpins it): the ack is the conversation's pins. */
    pin(conversationId, seq, opts = {}) {
      return this.request("pin", { conversation_id: conversationId, seq, ...opts.unpin ? { unpin: true } : {} });
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
    send(target, body, opts = {}) {
      if (this.stopped && this.state === "closed") return Promise.reject(new TokenIMError(ClientCodes.closed, "the client was closed"));
      const key = "conversation_id" in target ? "c:" + target.conversation_id : "to_user" in target ? "u:" + target.to_user : "g:" + target.to_group;
      return new Promise((resolve, reject) => {
        this.outbox.push({ clientMsgId: opts.clientMsgId ?? newClientMsgId(), target, body, attempts: 0, key, resolve, reject, inflight: false });
        this.pump();
      });
    }
    // pump transmits the first unsent message of each conversation: one in
    // flight per conversation keeps the stored order the order of send().
    pump() {
      if (!this.ws || this.ws.readyState !== OPEN || this.state !== "open") return;
      const seen = /* @__PURE__ */ new Set();
      for (const job of this.outbox) {
        if (seen.has(job.key)) continue;
        seen.add(job.key);
        if (job.inflight || job.timer) continue;
        this.transmitSend(job);
      }
    }
    transmitSend(job) {
      const id = "s" + this.nextId++;
      const frame = { action: "send", request_id: id, ...job.target, ...job.body, client_msg_id: job.clientMsgId };
      if (!this.transmit(frame)) return;
      job.inflight = true;
      job.attempts++;
      this.sendsByRequest.set(id, job);
      job.timer = setTimeout(() => this.sendFailed(job, ClientCodes.timeout, this.opts.retryDelayMs), this.opts.requestTimeoutMs);
    }
    sendFailed(job, code, waitMs, err) {
      clearTimeout(job.timer);
      job.timer = void 0;
      job.inflight = false;
      if (!isRetryable(code) || job.attempts >= this.opts.sendAttempts) {
        this.finishSend(job);
        job.reject(new TokenIMError(code, err?.message ?? `send failed: ${code} after ${job.attempts} attempt(s)`, { requestId: err?.request_id, details: err?.details }));
        return;
      }
      job.timer = setTimeout(() => {
        job.timer = void 0;
        this.pump();
      }, jitter(waitMs));
    }
    finishSend(job) {
      clearTimeout(job.timer);
      this.outbox = this.outbox.filter((j) => j !== job);
      for (const [id, j] of this.sendsByRequest) if (j === job) this.sendsByRequest.delete(id);
      this.pump();
    }
    // --------------------------------------------------------------- frames
    onFrame(data) {
      let frame;
      try {
        frame = JSON.parse(typeof data === "string" ? data : String(data));
      } catch {
        return;
      }
      if (!frame || typeof frame !== "object") return;
      const rid = typeof frame.request_id === "string" ? frame.request_id : void 0;
      if (frame.type === void 0 && frame.message === "Internal server error") {
        for (const job2 of this.outbox) if (job2.inflight) this.sendFailed(job2, ClientCodes.gatewayError, this.opts.retryDelayMs);
        return;
      }
      const job = rid ? this.sendsByRequest.get(rid) : void 0;
      if (job) return this.onSendReply(job, frame);
      const waiter = rid ? this.pending.get(rid) : void 0;
      if (waiter && rid) {
        this.pending.delete(rid);
        clearTimeout(waiter.timer);
        if (frame.type === "error") {
          const e = frame;
          waiter.reject(new TokenIMError(e.code, e.message, { requestId: e.request_id, details: e.details }));
        } else waiter.resolve(frame);
        return;
      }
      if (typeof frame.type === "string" && frame.type !== "ack" && frame.type !== "error" && frame.type !== "pong") {
        this.onEvent(frame);
      }
    }
    onSendReply(job, frame) {
      if (!this.outbox.includes(job)) return;
      if (frame.type === "ack") {
        const result = frame.result;
        this.finishSend(job);
        job.resolve(result.message);
        this.offer(result.message.conversation_id, { seq: result.message.seq, message: result.message, source: "ack" });
        return;
      }
      const e = frame;
      const retryAfter = typeof e.details?.retry_after_ms === "number" ? e.details.retry_after_ms : this.opts.retryDelayMs;
      this.sendFailed(job, e.code, retryAfter, e);
    }
    onEvent(ev) {
      switch (ev.type) {
        case "message.created":
          return this.offer(ev.conversation_id, { seq: ev.seq, message: ev.message, source: "push", event: ev });
        case "message.edited":
        case "message.recalled":
          return this.offer(ev.conversation_id, { seq: ev.event_seq, message: ev.event_message, source: "push", event: ev });
        default:
          this.emit(ev.type, ev);
      }
    }
    offer(conversationId, entry) {
      if (this.tracker.accept(conversationId, entry)) this.requestSync();
    }
    deliver(_id, entry) {
      this.emit("message", entry.message, { source: entry.source });
      if (entry.event) this.emit(entry.event.type, entry.event);
    }
    // ----------------------------------------------------------------- sync
    /**
     * sync fetches what the client missed in every known conversation (all
     * pages) and delivers it in order. The client runs it on every connect
     * and after a gap; an app calls it only to force one.
     */
    sync() {
      this.requestSync();
      return this.syncing ?? Promise.resolve();
    }
    requestSync() {
      if (this.syncing) {
        this.syncAgain = true;
        return;
      }
      this.syncing = this.runSync().catch((err) => {
        if (!(err instanceof TokenIMError && (err.code === ClientCodes.disconnected || err.code === ClientCodes.closed))) this.emit("error", err);
      }).finally(() => {
        this.syncing = null;
        if (this.syncAgain && !this.stopped) {
          this.syncAgain = false;
          this.requestSync();
        } else this.checkGaps();
      });
    }
    async runSync() {
      const since = this.tracker.since();
      const conversations = [];
      const removed = [];
      let cursor;
      for (let page = 0; page < 1e4; page++) {
        const res = await this.request("sync", cursor ? { since, limit: 100, cursor } : { since, limit: 100 });
        for (const m of res.messages) this.tracker.accept(m.conversation_id, { seq: m.seq, message: m, source: "sync" });
        conversations.push(...res.conversations);
        removed.push(...res.removed);
        if (!res.next_cursor) break;
        cursor = res.next_cursor;
      }
      this.failures = 0;
      for (const id of removed) {
        this.tracker.forget(id);
        this.emit("removed", id);
      }
      this.emit("synced", { conversations, removed });
    }
    // A gap sync did not fill (the missing message is stored but not yet
    // readable, within the delivery bound): sync again with backoff, and
    // after gapTimeoutMs deliver the held messages anyway.
    checkGaps() {
      clearTimeout(this.gapTimer);
      const gaps = this.tracker.gaps();
      if (gaps.length === 0) {
        this.gapSince = 0;
        return;
      }
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
      this.gapTimer = setTimeout(() => this.requestSync(), Math.min(2e3, 250 * 2 ** Math.floor((now - this.gapSince) / 1e3)));
    }
  };

  // src/rest.ts
  var RestClient = class {
    constructor(opts) {
      __publicField(this, "opts", opts);
      __publicField(this, "tokens");
      __publicField(this, "fetchImpl");
      this.tokens = new TokenCache(opts.token);
      this.fetchImpl = opts.fetch ?? globalThis.fetch.bind(globalThis);
    }
    /** call makes one request: path below the base URL, body sent as JSON. */
    async call(method, path, body) {
      for (let attempt = 0; ; attempt++) {
        const headers = { Authorization: "Bearer " + await this.tokens.get() };
        if (body !== void 0) headers["Content-Type"] = "application/json";
        const resp = await this.fetchImpl(this.opts.baseUrl.replace(/\/$/, "") + path, {
          method,
          headers,
          body: body === void 0 ? void 0 : JSON.stringify(body)
        });
        const text = await resp.text();
        let data = {};
        try {
          data = text ? JSON.parse(text) : {};
        } catch {
          data = {};
        }
        if (resp.ok) return data;
        if (resp.status === 401 && attempt === 0) {
          this.tokens.invalidate();
          continue;
        }
        const err = data.error;
        throw new TokenIMError(err?.code ?? "http_" + resp.status, err?.message ?? resp.statusText, {
          status: resp.status,
          requestId: err?.request_id,
          details: err?.details
        });
      }
    }
    listConversations(params = {}) {
      return this.call("GET", "/v1/conversations" + query(params));
    }
    listMessages(conversationId, params = {}) {
      return this.call("GET", `/v1/conversations/${encodeURIComponent(conversationId)}/messages` + query(params));
    }
    sendMessage(body) {
      return this.call("POST", "/v1/messages", body);
    }
    markRead(conversationId, seq) {
      return this.call("POST", `/v1/conversations/${encodeURIComponent(conversationId)}/read`, { seq });
    }
    sync(body) {
      return this.call("POST", "/v1/sync", body);
    }
  };
  function query(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== void 0) q.set(k, String(v));
    const s = q.toString();
    return s ? "?" + s : "";
  }

  // src/events.ts
  function applyEventMessage(target, event) {
    if (event.kind === "message" || event.ref_seq !== target.seq) return target;
    if (event.kind === "recall") {
      const { text: _t, payload: _p, ...rest } = target;
      return { ...rest, recalled: true, recalled_at: event.created_at, recalled_by: event.sender_id, recall_seq: event.seq };
    }
    if (event.recalled || target.recalled || event.seq <= (target.edit_seq ?? 0)) return target;
    return { ...target, text: event.text, edited_at: event.created_at, edit_seq: event.seq };
  }

  // src/types.ts
  var actionSet = { send: true, read: true, typing: true, sync: true, presence: true, react: true, pin: true, ping: true };
  var ACTIONS = Object.keys(actionSet);
  var eventTypeSet = {
    "message.created": true,
    "message.edited": true,
    "message.recalled": true,
    "message.reaction": true,
    "message.pinned": true,
    "message.unpinned": true,
    "conversation.read": true,
    typing: true,
    "group.members_added": true,
    "group.member_removed": true,
    "group.member_updated": true,
    "group.owner_changed": true,
    "group.updated": true,
    "group.dissolved": true,
    notification: true
  };
  var SERVER_EVENT_TYPES = Object.keys(eventTypeSet);
  return __toCommonJS(index_exports);
})();
