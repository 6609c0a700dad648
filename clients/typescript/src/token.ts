// Token providers: the app's function that returns a user access token
// (from its backend, or POST /v1/users/{id}/tokens with an admin token).
// The client calls it before every connect; `forceRefresh` is true when
// the last token was refused or has expired, so a caching provider knows
// to mint a new one.
export interface TokenRequest {
  forceRefresh: boolean;
}
export type TokenProvider = (req: TokenRequest) => string | Promise<string>;
export type TokenSource = string | TokenProvider;

// claims reads a JWT's payload without verifying it (the server does):
// the client only needs `exp` and `sub`. Undefined if it is not a JWT.
function claims(token: string): { exp?: unknown; sub?: unknown } | undefined {
  const part = token.split(".")[1];
  if (!part) return undefined;
  try {
    const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)));
  } catch {
    return undefined;
  }
}

/** expiresAt reads a JWT's `exp` (epoch ms), or undefined if it has none or is not a JWT. */
export function expiresAt(token: string): number | undefined {
  const exp = claims(token)?.exp;
  return typeof exp === "number" ? exp * 1000 : undefined;
}

/** subjectOf reads a JWT's `sub` (the user id of a user token). */
export function subjectOf(token: string): string | undefined {
  const sub = claims(token)?.sub;
  return typeof sub === "string" ? sub : undefined;
}

/**
 * TokenCache wraps a source: it returns the last token while it is valid
 * for at least `skewMs` more, and asks the provider again when it is not,
 * or when the server refused it (invalidate()).
 */
export class TokenCache {
  private token?: string;
  private refused = false;

  constructor(
    private readonly source: TokenSource,
    private readonly skewMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<string> {
    const exp = this.token === undefined ? undefined : expiresAt(this.token);
    const expired = exp !== undefined && exp - this.skewMs <= this.now();
    if (this.token !== undefined && !expired && !this.refused) return this.token;
    if (typeof this.source === "string") return (this.token = this.source);
    const forceRefresh = this.token !== undefined; // a first call is not a refresh
    this.token = await this.source({ forceRefresh });
    this.refused = false;
    return this.token;
  }

  /** current is the last token get() returned. */
  get current(): string | undefined {
    return this.token;
  }

  /** invalidate marks the current token refused: the next get() asks the provider. */
  invalidate(): void {
    this.refused = true;
  }
}
