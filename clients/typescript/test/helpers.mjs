// Test helpers: a WebSocket implementation with fault injection (kill the
// socket without a close frame, duplicate, reorder and drop pushes) and
// bounded waits.
import { WebSocket } from "ws";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * faultySocket returns a WebSocket class for one client, wrapping `ws`:
 * `sockets` holds every socket it opened, kill() drops the current one
 * as a lost network does, and `faults` acts on incoming push frames.
 */
export function faultySocket() {
  const sockets = [];
  const faults = { duplicate: false, dropEvery: 0 };
  let pushes = 0;
  class FaultyWS {
    constructor(url, protocols) {
      this.inner = new WebSocket(url, protocols);
      this.onopen = this.onmessage = this.onclose = this.onerror = null;
      this.inner.onopen = (e) => this.onopen?.(e);
      this.inner.onerror = (e) => this.onerror?.(e);
      this.inner.onclose = (e) => this.onclose?.(e);
      this.inner.onmessage = (e) => {
        const isPush = /"type":"message\./.test(String(e.data));
        if (isPush) {
          pushes++;
          if (faults.dropEvery && pushes % faults.dropEvery === 0) return; // a missed push
          if (faults.duplicate) setTimeout(() => this.onmessage?.({ data: e.data }), Math.random() * 40); // at least once, late
        }
        this.onmessage?.(e);
      };
      sockets.push(this);
    }
    get readyState() {
      return this.inner.readyState;
    }
    send(d) {
      this.inner.send(d);
    }
    close(code, reason) {
      this.inner.close(code, reason);
    }
  }
  return {
    WebSocket: FaultyWS,
    faults,
    sockets,
    /** kill terminates the open socket (no close frame), as a dropped network does. */
    kill() {
      const s = sockets.at(-1);
      if (s) s.inner.terminate();
    },
  };
}

/** waitFor polls cond every 20 ms until it holds, failing after timeoutMs. */
export async function waitFor(cond, timeoutMs, what) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(20);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** opened resolves once the client has connected and finished its first sync. */
export function synced(client, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("no sync within " + timeoutMs + " ms")), timeoutMs);
    const off = client.on("synced", () => {
      clearTimeout(t);
      off();
      resolve();
    });
  });
}
