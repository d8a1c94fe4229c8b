import { REDACTED } from './errors.js';
import type { QuotaReading } from './quota.js';
import type { EpochMilliseconds, Milliseconds } from './types.js';

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

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
  /**
   * The API the token is for (Auth0's `audience` parameter).
   * @default the client's `audience` option
   */
  audience?: string | undefined;
  /**
   * Auth0 organization id or name the token is for.
   * @default the client's `organization` option
   */
  organization?: string | undefined;
  /**
   * Scopes to request: an array, or one space-separated string. Replaces the client's default; it does not add to it.
   * @default the client's `scope` option
   */
  scope?: string | readonly string[] | undefined;
  /**
   * RFC 8707 resource indicator(s), each sent as its own `resource` parameter. Replaces the client's default; it does not add to it.
   * @default the client's `resource` option
   */
  resource?: string | readonly string[] | undefined;
  /**
   * Extra form parameters, merged over the client's `extraParams`. Part of the cache key.
   * @default the client's `extraParams` option
   */
  extraParams?: Readonly<Record<string, string | readonly string[]>> | undefined;
  /**
   * Skip the caches and get a new token from the server (concurrent callers still share one request).
   * @default false
   */
  forceRefresh?: boolean | undefined;
  /**
   * Abandons this caller's wait only (`M2M_ABORTED`); a request shared with other callers goes on.
   * @default undefined (the call waits until the token comes or `totalTimeout` ends it)
   */
  signal?: AbortSignal | undefined;
}

/**
 * The one seam between token logic and everything that uses tokens: adapters, test fakes and other
 * implementations depend on this interface alone.
 */
export interface TokenSource {
  /** A usable token for these options (the source's defaults for the fields left out). */
  getToken(options?: GetTokenOptions): Promise<Token>;
  /** Drop the cached token for these options, e.g. after an API answered 401. */
  invalidate?(options?: GetTokenOptions): void | Promise<void>;
  /**
   * DPoP (RFC 9449): a fresh `DPoP` proof for one request that carries `token` (a token whose `tokenType` is
   * `DPoP`): `htm` and `htu` of this request, `ath` of the token, the server's latest nonce. The adapters call it
   * for every such request, replays included. A source without DPoP leaves it out.
   */
  proof?(token: Token, method: string, url: string | URL): Promise<string>;
  /** A `DPoP-Nonce` a server sent (on any response): later proofs for that server's origin carry it. */
  rememberNonce?(url: string | URL, nonce: string): void;
}

/** Which request {@link TokenClient.getRequestHeaders} makes headers for, and which token it carries. */
export interface RequestHeadersOptions extends GetTokenOptions {
  /** The request's method, e.g. `GET` (the proof's `htm`). */
  method: string;
  /** The request's absolute URL (the proof's `htu`, without query and fragment). */
  url: string | URL;
}

/**
 * The headers that authorize one request: `authorization` (`Bearer …` or `DPoP …`) and, for a DPoP token, `dpop`
 * (the proof). Spread them into your request's headers. Credentials: `JSON.stringify` and `util.inspect` show
 * them redacted.
 */
export interface RequestHeaders {
  /** The `Authorization` header value: `Bearer <token>` or `DPoP <token>`. */
  readonly authorization: string;
  /** The `DPoP` header value, a proof for this method and URL: only for a DPoP token. */
  readonly dpop?: string;
}

/** `{ authorization, dpop? }` whose values do not show in `JSON.stringify` or `util.inspect`, but spread as they are. */
export function requestHeaders(authorization: string, dpop: string | undefined): RequestHeaders {
  const headers: { authorization: string; dpop?: string } = { authorization };
  if (dpop !== undefined) headers.dpop = dpop;
  const shown = () => ({ authorization: `${authorization.split(' ', 1)[0]} ${REDACTED}`, ...(dpop === undefined ? {} : { dpop: REDACTED }) });
  Object.defineProperty(headers, 'toJSON', { value: shown });
  Object.defineProperty(headers, inspectSymbol, { value: () => `RequestHeaders ${JSON.stringify(shown())}` });
  return Object.freeze(headers);
}

/** What {@link createToken} makes a {@link Token} from: its fields, with `scope`, `raw` and `quota` optional. */
export interface TokenFields {
  /** The access token. Hidden from `util.inspect` and `JSON.stringify` in the Token. */
  accessToken: string;
  /** The token type, e.g. `Bearer`. */
  tokenType: string;
  /** Lifetime in ms. */
  expiresIn: Milliseconds;
  /** Expiry, epoch ms. */
  expiresAt: EpochMilliseconds;
  /** Granted scopes, if known. */
  scope?: readonly string[] | undefined;
  /** The response body the token came from. @default {} */
  raw?: Readonly<Record<string, unknown>> | undefined;
  /** The quota reading of the response, if any. */
  quota?: QuotaReading | undefined;
}

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
 *
 * @param fields The token's fields; `raw` defaults to `{}`.
 * @returns A frozen Token.
 * @example
 * ```ts
 * const token = createToken({ accessToken: 'test-token', tokenType: 'Bearer', expiresIn: 3_600_000, expiresAt: Date.now() + 3_600_000 });
 * ```
 */
export function createToken(fields: TokenFields): Token {
  return new RedactedToken(fields);
}
