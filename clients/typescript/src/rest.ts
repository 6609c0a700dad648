// RestClient: the REST calls a chat app makes with a user token
// (docs/openapi.yaml), typed from the generated openapi.ts. Errors are
// TokenIMError with the server's code and request id. A 401 asks the token
// provider for a fresh token and retries once.
import { TokenIMError } from "./errors.js";
import { TokenCache, type TokenSource } from "./token.js";
import type { ConversationPage, Message, MessagePage, SendMessage, SyncRequest, SyncResult, paths } from "./types.js";

export interface RestOptions {
  /** The REST API's base URL (stack output ApiUrl; `rest_url` in .tokenim/local.json). */
  baseUrl: string;
  token: TokenSource;
  /** fetch implementation (default: the global one; Node 20 has it). */
  fetch?: typeof fetch;
}

type ReadReply = paths["/v1/conversations/{conversation_id}/read"]["post"]["responses"][200]["content"]["application/json"];
type SendReply = paths["/v1/messages"]["post"]["responses"][201]["content"]["application/json"];

export class RestClient {
  private readonly tokens: TokenCache;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly opts: RestOptions) {
    this.tokens = new TokenCache(opts.token);
    this.fetchImpl = opts.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** call makes one request: path below the base URL, body sent as JSON. */
  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { Authorization: "Bearer " + (await this.tokens.get()) };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      const resp = await this.fetchImpl(this.opts.baseUrl.replace(/\/$/, "") + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await resp.text();
      let data: unknown = {};
      try {
        data = text ? JSON.parse(text) : {};
      } catch {
        data = {};
      }
      if (resp.ok) return data as T;
      if (resp.status === 401 && attempt === 0) {
        this.tokens.invalidate();
        continue;
      }
      const err = (data as { error?: { code?: string; message?: string; request_id?: string; details?: Record<string, unknown> } }).error;
      throw new TokenIMError(err?.code ?? "http_" + resp.status, err?.message ?? resp.statusText, {
        status: resp.status,
        requestId: err?.request_id,
        details: err?.details,
      });
    }
  }

  listConversations(params: { limit?: number; cursor?: string } = {}): Promise<ConversationPage> {
    return this.call("GET", "/v1/conversations" + query(params));
  }

  listMessages(conversationId: string, params: { limit?: number; before?: number; after?: number } = {}): Promise<MessagePage> {
    return this.call("GET", `/v1/conversations/${encodeURIComponent(conversationId)}/messages` + query(params));
  }

  sendMessage(body: SendMessage): Promise<SendReply> {
    return this.call("POST", "/v1/messages", body);
  }

  markRead(conversationId: string, seq: number): Promise<ReadReply> {
    return this.call("POST", `/v1/conversations/${encodeURIComponent(conversationId)}/read`, { seq });
  }

  sync(body: SyncRequest): Promise<SyncResult> {
    return this.call("POST", "/v1/sync", body);
  }
}

export type { Message };

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? "?" + s : "";
}
