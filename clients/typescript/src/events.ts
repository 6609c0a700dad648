// applyEventMessage applies an edit or recall event message (kind "edit" /
// "recall", ref_seq = the changed message) to the app's copy of the
// message at ref_seq, by the rules of docs/websocket.md, "Staying in sync".
import type { Message } from "./types.js";

export function applyEventMessage(target: Message, event: Message): Message {
  if (event.kind === "message" || event.ref_seq !== target.seq) return target;
  if (event.kind === "recall") {
    const { text: _t, payload: _p, ...rest } = target;
    return { ...rest, recalled: true, recalled_at: event.created_at, recalled_by: event.sender_id, recall_seq: event.seq };
  }
  // An edit: not when the edit itself was erased by a later recall, nor
  // when a newer edit is already applied.
  if (event.recalled || target.recalled || event.seq <= (target.edit_seq ?? 0)) return target;
  return { ...target, text: event.text, edited_at: event.created_at, edit_seq: event.seq };
}
