import { REDACTED } from './errors.js';
import type { QuotaReading } from './quota.js';
import type { EpochMilliseconds, Milliseconds } from './types.js';

/** An access token. `accessToken` and `raw` are hidden from `util.inspect` and `JSON.stringify`. */
export interface Token {
  /** The access token itself. A credential: never log it. */
  readonly accessToken: string;
  /** `Bearer` (normalized to that spelling), or another type the client was allowed to accept. */
  readonly tokenType: string;
  /** Lifetime granted by the server, in milliseconds (`expires_in` × 1000, or from the JWT `exp`). */
  readonly expiresIn: Milliseconds;
  /** When the token expires, in epoch milliseconds. */
  readonly expiresAt: EpochMilliseconds;
  /** Scopes the server says it granted (`scope`, split on spaces), or `undefined` if it did not say. */
  readonly scope: readonly string[] | undefined;
  /** The whole JSON body of the token response. Contains the token: never log it. */
  readonly raw: Readonly<Record<string, unknown>>;
  /**
   * What the response's quota headers said (Auth0's `Auth0-Client-Quota-Limit` / `Auth0-Organization-Quota-Limit`,
   * and `x-ratelimit-*`), or `undefined` when it had none (and for tokens from a shared store).
   */
  readonly quota?: QuotaReading | undefined;
}

/** Which token to get. Every field is optional and falls back to the client's defaults. */
export interface GetTokenOptions {
  /** The API the token is for (Auth0's `audience` parameter). */
  audience?: string | undefined;
  /** Auth0 organization id or name the token is for. */
  organization?: string | undefined;
  /** Scopes to request: an array, or one space-separated string. */
  scope?: string | readonly string[] | undefined;
  /** RFC 8707 resource indicator(s), each sent as its own `resource` parameter. */
  resource?: string | readonly string[] | undefined;
  /** Extra form parameters, merged over the client's `extraParams`. Part of the cache key. */
  extraParams?: Readonly<Record<string, string | readonly string[]>> | undefined;
  /** Skip the caches and get a new token from the server (concurrent callers still share one request). */
  forceRefresh?: boolean | undefined;
  /** Abandons this caller's wait only; a request shared with other callers goes on. */
  signal?: AbortSignal | undefined;
}

/**
 * The one seam between token logic and everything that uses tokens: adapters, test fakes and other
 * implementations depend on this interface alone.
 */
export interface TokenSource {
  getToken(options?: GetTokenOptions): Promise<Token>;
  /** Drop the cached token for these options, e.g. after an API answered 401. */
  invalidate?(options?: GetTokenOptions): void | Promise<void>;
}

export interface TokenFields {
  accessToken: string;
  tokenType: string;
  expiresIn: Milliseconds;
  expiresAt: EpochMilliseconds;
  scope?: readonly string[] | undefined;
  raw?: Readonly<Record<string, unknown>> | undefined;
  quota?: QuotaReading | undefined;
}

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

class RedactedToken implements Token {
  readonly #accessToken: string;
  readonly #raw: Readonly<Record<string, unknown>>;
  readonly tokenType: string;
  readonly expiresIn: Milliseconds;
  readonly expiresAt: EpochMilliseconds;
  readonly scope: readonly string[] | undefined;
  readonly quota: QuotaReading | undefined;

  constructor(fields: TokenFields) {
    this.#accessToken = fields.accessToken;
    this.#raw = Object.freeze({ ...(fields.raw ?? {}) });
    this.tokenType = fields.tokenType;
    this.expiresIn = fields.expiresIn;
    this.expiresAt = fields.expiresAt;
    this.scope = fields.scope === undefined ? undefined : Object.freeze([...fields.scope]);
    this.quota = fields.quota;
    Object.freeze(this);
  }

  get accessToken(): string {
    return this.#accessToken;
  }

  get raw(): Readonly<Record<string, unknown>> {
    return this.#raw;
  }

  toJSON(): Record<string, unknown> {
    return {
      accessToken: REDACTED,
      tokenType: this.tokenType,
      expiresIn: this.expiresIn,
      expiresAt: this.expiresAt,
      scope: this.scope,
      raw: REDACTED,
      ...(this.quota === undefined ? {} : { quota: this.quota }),
    };
  }

  [inspectSymbol](): string {
    return `Token ${JSON.stringify(this.toJSON())}`;
  }
}

/**
 * Makes a {@link Token} whose `accessToken` and `raw` do not show in `util.inspect` or `JSON.stringify`.
 * Use it in your own `TokenSource` implementations and fakes.
 */
export function createToken(fields: TokenFields): Token {
  return new RedactedToken(fields);
}
