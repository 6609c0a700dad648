// SeqTracker turns pushes, acks and sync pages, which arrive duplicated,
// late or out of order, into each conversation's messages exactly once and
// in seq order (docs/websocket.md, "Staying in sync"). It keeps per
// conversation the highest seq handed to the app (`last`) and holds
// messages above a gap until the gap is filled (by sync) or given up.
import type { Message } from "./types.js";

/** Where a message reached the client. */
export type Source = "push" | "ack" | "sync";

export interface Entry<E> {
  seq: number;
  message: Message;
  source: Source;
  /** The push frame that carried it, emitted with it (absent for ack and sync). */
  event?: E;
}

export class SeqTracker<E> {
  private last = new Map<string, number>();
  private held = new Map<string, Map<number, Entry<E>>>();
  /** Messages dropped as duplicates (seq <= last or already held). */
  duplicates = 0;

  constructor(private readonly deliver: (conversationId: string, entry: Entry<E>) => void) {}

  lastSeq(conversationId: string): number {
    return this.last.get(conversationId) ?? 0;
  }

  /** since is every known conversation's last seq, as `sync` takes it. */
  since(): Record<string, number> {
    return Object.fromEntries(this.last);
  }

  /**
   * seed records what the app already holds (e.g. a conversation's
   * last_seq from the conversation list, or its stored history): the
   * tracker never moves back, so seeding below `last` does nothing.
   */
  seed(conversationId: string, seq: number): void {
    if (seq > this.lastSeq(conversationId)) {
      this.last.set(conversationId, seq);
      this.drain(conversationId);
    }
  }

  forget(conversationId: string): void {
    this.last.delete(conversationId);
    this.held.delete(conversationId);
  }

  /**
   * accept offers one message at `seq` (a message's seq, or an edit's or
   * recall's event_seq). It returns true when the conversation now has a
   * gap below a held message, which the caller fills with sync.
   */
  accept(conversationId: string, entry: Entry<E>): boolean {
    const last = this.lastSeq(conversationId);
    if (entry.seq <= last) {
      this.duplicates++;
      return this.hasGap(conversationId);
    }
    if (entry.seq > last + 1) {
      let held = this.held.get(conversationId);
      if (!held) this.held.set(conversationId, (held = new Map()));
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
  gaps(): { conversationId: string; from: number; to: number }[] {
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
  skipGap(conversationId: string): void {
    const held = this.held.get(conversationId);
    if (!held || held.size === 0) return;
    this.last.set(conversationId, Math.min(...held.keys()) - 1);
    this.drain(conversationId);
  }

  private hasGap(conversationId: string): boolean {
    return (this.held.get(conversationId)?.size ?? 0) > 0;
  }

  private drain(conversationId: string): void {
    const held = this.held.get(conversationId);
    if (!held) return;
    for (const seq of [...held.keys()]) if (seq <= this.lastSeq(conversationId)) held.delete(seq);
    for (;;) {
      const next = this.lastSeq(conversationId) + 1;
      const entry = held.get(next);
      if (!entry) break;
      held.delete(next);
      this.last.set(conversationId, next);
      this.deliver(conversationId, entry);
    }
    if (held.size === 0) this.held.delete(conversationId);
  }
}
