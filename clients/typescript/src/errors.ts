// TokenIMError carries an error code of docs/errors.md (branch on `code`,
// never on `message`), or one of the client's own codes below.
export const ClientCodes = {
  /** No reply within the request timeout. */
  timeout: "timeout",
  /** The socket closed before the reply came. */
  disconnected: "disconnected",
  /** API Gateway's generic "Internal server error" frame: the function failed. */
  gatewayError: "gateway_error",
  /** The client was closed with close(). */
  closed: "closed",
} as const;

export class TokenIMError extends Error {
  readonly code: string;
  readonly requestId?: string;
  readonly status?: number;
  readonly details?: Record<string, unknown>;

  constructor(code: string, message: string, opts: { requestId?: string; status?: number; details?: Record<string, unknown> } = {}) {
    super(message);
    this.name = "TokenIMError";
    this.code = code;
    this.requestId = opts.requestId;
    this.status = opts.status;
    this.details = opts.details;
  }
}

/** Codes after which the documented retry rule resends a `send` (docs/websocket.md). */
export function isRetryable(code: string): boolean {
  return code === "service_unavailable" || code === "rate_limited" || code === ClientCodes.timeout || code === ClientCodes.gatewayError;
}
