// Types of the REST API (generated from docs/openapi.yaml into openapi.ts:
// `npm run gen`; never edit that file) and of the WebSocket protocol
// (docs/websocket.md, which OpenAPI cannot describe: written here, with
// every message, body and result taken from the generated schemas;
// test/protocol.test.mjs holds the action and event names to the doc).
import type { components, operations, paths } from "./openapi.js";

export type { components, operations, paths };
type Schemas = components["schemas"];

export type Message = Schemas["Message"];
export type Conversation = Schemas["Conversation"];
export type SendMessage = Schemas["SendMessage"];
export type Payload = Schemas["Payload"];
export type ErrorBody = Schemas["Error"];
export type TokenResponse = Schemas["TokenResponse"];
export type SyncRequest = operations["sync"]["requestBody"]["content"]["application/json"];
export type SyncResult = operations["sync"]["responses"][200]["content"]["application/json"];
export type ConversationPage = paths["/v1/conversations"]["get"]["responses"][200]["content"]["application/json"];
export type MessagePage = Schemas["MessagePage"];

/** Exactly one of these names the conversation a message goes to. */
export type Target = { to_user: string } | { to_group: string } | { conversation_id: string };

export type Attachment = Schemas["Attachment"];
export type Reaction = Schemas["Reaction"];
export type PinState = Schemas["PinState"];

/**
 * What a `send` carries besides its target and client_msg_id: text,
 * payload, attachments, reply_to, thread_root, mentions, and whatever
 * SendMessage (docs/openapi.yaml) gains. Derived from the generated schema
 * so it cannot drift; REST's `sender_id` and `system` are not fields of
 * the WebSocket frame (docs/websocket.md, "send").
 */
export type MessageBody = Omit<SendMessage, keyof Target | "to_user" | "to_group" | "conversation_id" | "client_msg_id" | "sender_id" | "system">;

// ------------------------------------------------------------ client frames

export interface ActionRequests {
  send: Target & MessageBody & { client_msg_id?: string };
  read: { conversation_id: string; seq: number };
  typing: { conversation_id: string; state?: "start" | "stop" };
  sync: { since?: Record<string, number>; limit?: number; cursor?: string };
  presence: { user_ids: string[] };
  /** Add the caller's reaction, or remove it with `remove: true`. */
  react: { conversation_id: string; seq: number; emoji: string; remove?: boolean };
  /** Pin the message, or unpin it with `unpin: true`. */
  pin: { conversation_id: string; seq: number; unpin?: boolean };
  ping: Record<string, never>;
}

/** The `read` ack: REST markRead's answer. */
export type ReadResult = operations["markRead"]["responses"][200]["content"]["application/json"];

export interface PresenceResult {
  users: { user_id: string; online: boolean; connections: number; last_seen_at?: number }[];
}

export interface ActionResults {
  send: { created: boolean; message: Message };
  read: ReadResult;
  typing: { delivered: boolean };
  sync: SyncResult;
  presence: PresenceResult;
  /** The message with its `reactions` and the caller's `my_reactions`. */
  react: Message;
  /** The conversation's pins, newest first. */
  pin: PinState;
  ping: Record<string, never>;
}

export type Action = keyof ActionRequests;

// A Record of every member: the compiler refuses a missing or an unknown name.
const actionSet: Record<Action, true> = { send: true, read: true, typing: true, sync: true, presence: true, react: true, pin: true, ping: true };
/** Every action of docs/websocket.md at run time (test/protocol.test.mjs holds it to the doc). */
export const ACTIONS = Object.keys(actionSet) as Action[];

// ------------------------------------------------------------ server frames

export interface AckFrame {
  type: "ack";
  action: Action;
  request_id?: string;
  result: unknown;
}
export interface PongFrame {
  type: "pong";
  request_id?: string;
}
export interface ErrorFrame {
  type: "error";
  action?: string;
  code: string;
  message: string;
  request_id?: string;
  details?: Record<string, unknown>;
}

interface EventBase {
  conversation_id: string;
  group_id?: string;
  actor?: string;
  at: string;
}
/** A reaction changed (no seq: not part of the seq rules). `message` has the counts, never `my_reactions`. */
export interface MessageReactionEvent extends EventBase {
  type: "message.reaction";
  seq: number;
  reaction: { emoji: string; op: "added" | "removed" };
  message: Message;
}
/** A message was pinned or unpinned (no seq). */
export interface MessagePinEvent extends EventBase {
  type: "message.pinned" | "message.unpinned";
  seq: number;
  message: Message;
}
/** An admin broadcast (POST /v1/notifications); a redelivery may repeat it: drop repeats by notification_id. */
export interface NotificationEvent {
  type: "notification";
  notification_id: string;
  title: string;
  body: string;
  data?: Record<string, unknown>;
  link?: string;
  at: string;
}
export interface MessageCreatedEvent extends EventBase {
  type: "message.created";
  seq: number;
  message: Message;
}
export interface MessageChangedEvent extends EventBase {
  type: "message.edited" | "message.recalled";
  seq: number;
  message: Message;
  event_seq: number;
  event_message: Message;
}
export interface ConversationReadEvent extends EventBase {
  type: "conversation.read";
  seq: number;
}
export interface TypingEvent extends EventBase {
  type: "typing";
  state: "start" | "stop";
}
export interface GroupEvent extends EventBase {
  type:
    | "group.members_added"
    | "group.member_removed"
    | "group.member_updated"
    | "group.owner_changed"
    | "group.updated"
    | "group.dissolved";
  user_ids?: string[];
}
export type ServerEvent =
  | MessageCreatedEvent
  | MessageChangedEvent
  | MessageReactionEvent
  | MessagePinEvent
  | ConversationReadEvent
  | TypingEvent
  | GroupEvent
  | NotificationEvent;
export type ServerEventType = ServerEvent["type"];

const eventTypeSet: Record<ServerEventType, true> = {
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
  notification: true,
};
/** Every event type of docs/websocket.md at run time (test/protocol.test.mjs holds it to the doc). */
export const SERVER_EVENT_TYPES = Object.keys(eventTypeSet) as ServerEventType[];
