// @tokenim/client: the TokenIM client SDK for browsers and Node 20.
export { RealtimeClient, newClientMsgId } from "./realtime.js";
export type { RealtimeOptions, RealtimeEvents, ConnectionState, MessageInfo, OutboxItem, WebSocketLike, WebSocketFactory } from "./realtime.js";
export { RestClient } from "./rest.js";
export type { RestOptions } from "./rest.js";
export { TokenIMError, ClientCodes, isRetryable } from "./errors.js";
export { TokenCache, expiresAt } from "./token.js";
export type { TokenProvider, TokenSource, TokenRequest } from "./token.js";
export { SeqTracker } from "./tracker.js";
export type { Source } from "./tracker.js";
export { applyEventMessage } from "./events.js";
export { ACTIONS, SERVER_EVENT_TYPES } from "./types.js";
export type * from "./types.js";
