import { ErrorCode, OAuthError, redact, TokenClientError, TokenResponseError } from './errors.js';
import { exhaustedBuckets, readQuota, type QuotaReading } from './quota.js';
import { createToken, type Token } from './token-source.js';
import type { EpochMilliseconds, Milliseconds } from './types.js';

/** A received HTTP response, body already read (and capped) as text. */
export interface HttpResponse {
  status: number;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: string;
  /** When the request was sent, epoch ms: lifetimes count from there, the safe side. */
  sentAt: EpochMilliseconds;
}

export interface ResponseContext {
  /** Origin of the token endpoint, for messages. */
  endpoint: string;
  /** Lower-case token types accepted; always includes `bearer`. */
  allowedTokenTypes: readonly string[];
  defaultLifetime: Milliseconds;
  /** Values to scrub from anything the server echoes back (the client secret). */
  secrets: readonly (string | undefined)[];
  /**
   * What to check when the server refuses the client's credentials (`invalid_client`, or a 401/403 without an
   * OAuth body): for an assertion, its `aud` and the option that changes it. Never a secret.
   */
  refusalHint?: (() => string) | undefined;
  /**
   * DPoP (RFC 9449): `'required'` when the request carried a proof (a Bearer answer is a downgrade), `'allow-bearer'`
   * when the user accepts that downgrade; absent without DPoP (then a DPoP token is refused: it is useless here).
   */
  dpop?: 'required' | 'allow-bearer' | undefined;
}

/**
 * The longest lifetime a Token reports: 100 years. `expires_in: 1e308` would otherwise make `expiresAt` Infinity.
 * (The cache keeps a token 24 hours at most anyway.)
 */
const MAX_LIFETIME = 100 * 365 * 24 * 60 * 60 * 1000;

/** Visible ASCII only (RFC 7230 VCHAR): what a `Bearer` credential may hold, and what a header can carry. */
const HEADER_SAFE_TOKEN = /^[\x21-\x7e]+$/;
/** RFC 7230 `token` characters: the auth scheme (`token_type`) is sent before the token in the header. */
const AUTH_SCHEME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Turns a token endpoint response into a {@link Token} or a typed error (RFC 6749 §5.1, §5.2). Quota headers go on
 * the token, or on the error (a 429 whose quota bucket is used up also gets `retryAfter`: until that bucket resets).
 */
export function parseTokenResponse(response: HttpResponse, context: ResponseContext, requestSecrets?: readonly string[]): Token {
  const quota = readQuota(response.headers, response.sentAt);
  if (quota === undefined) return parse(response, context, requestSecrets, undefined);
  try {
    return parse(response, context, requestSecrets, quota);
  } catch (error) {
    if (error instanceof TokenClientError) {
      error.quota = quota;
      const exhausted = response.status === 429 ? exhaustedBuckets(quota, response.sentAt) : [];
      if (exhausted.length > 0) error.retryAfter = Math.max(...exhausted.map((b) => b.resetAt)) - response.sentAt;
    }
    throw error;
  }
}

function parse(response: HttpResponse, context: ResponseContext, requestSecrets: readonly string[] | undefined, quota: QuotaReading | undefined): Token {
  // The request's own secrets too (a signed client assertion): a server may echo them in an error.
  const ctx = requestSecrets?.length ? { ...context, secrets: [...context.secrets, ...requestSecrets] } : context;
  const { status } = response;
  if (status < 200 || status > 299) throw errorForStatus(response, ctx);

  const body = parseJsonObject(response, ctx);
  if (typeof body.error === 'string' && body.access_token === undefined) throw oauthError(status, body, ctx);

  const accessToken = body.access_token;
  if (typeof accessToken !== 'string' || accessToken === '') {
    throw invalid(ctx, status, `has no access_token (a non-empty string is required by RFC 6749 §5.1)`);
  }
  // It goes into an Authorization header: CR/LF there would split the request. Never quoted: it is the token.
  if (!HEADER_SAFE_TOKEN.test(accessToken)) {
    throw invalid(ctx, status, `has an access_token of ${accessToken.length} characters with some that cannot go in an HTTP header (spaces, control or non-ASCII characters); the server or a proxy is broken`);
  }
  // From here on the server may echo the token it just issued: it is scrubbed like a secret from anything shown.
  const tokenType = readTokenType(body.token_type, ctx, status, accessToken);
  const expiresIn = readLifetime(body.expires_in, accessToken, response, ctx);
  return createToken({
    accessToken,
    tokenType,
    expiresIn,
    expiresAt: response.sentAt + expiresIn,
    scope: readScope(body.scope, ctx.secrets, accessToken),
    raw: body,
    quota,
  });
}

function errorForStatus(response: HttpResponse, ctx: ResponseContext): Error {
  const { status, headers } = response;
  const json = tryParseJson(response.body);
  if (json && typeof json === 'object' && typeof (json as Record<string, unknown>).error === 'string') {
    return oauthError(status, json as Record<string, unknown>, ctx);
  }
  const contentType = describeContentType(header(headers, 'content-type'), ctx.secrets);
  let hint: string;
  if (status >= 300 && status < 400) {
    const location = header(headers, 'location');
    const to = location ? ` to ${safeOrigin(location, ctx.endpoint)}` : '';
    hint = `a redirect${to}, which is not followed (it could carry the credentials elsewhere); set tokenEndpoint to the final URL`;
  } else if (status === 404 || status === 405) {
    hint = 'check the token endpoint URL (domain or tokenEndpoint)';
  } else if (status === 501 || status === 505) {
    hint = 'the server does not support this request (not retried: it would answer the same); check the token endpoint URL';
  } else if (status === 408 || status === 429 || status >= 500) {
    hint = 'the server is failing or overloaded (a transient failure: retried as the retry option allows)';
  } else if (status === 401 || status === 403) {
    // Servers such as glewlwyd refuse bad client credentials with a bare 401/403: that is the likely cause.
    const credentials = ctx.refusalHint?.() ?? 'Check clientId, the client secret, key or certificate, and clientAuthentication.';
    hint = `the server refused the request without an OAuth error body, most likely because of the client's credentials. ${credentials} If they are right, check the endpoint URL and any proxy in front of it`;
  } else if (status === 407) {
    hint = 'a proxy between this client and the endpoint wants credentials; check the user and password in the proxy URL (the proxy option, or HTTP_PROXY / HTTPS_PROXY)';
  } else {
    hint = 'the server did not send an OAuth error body; check the endpoint and any proxy in front of it';
  }
  return new TokenResponseError(
    ErrorCode.HTTP_STATUS,
    status,
    `Token endpoint ${ctx.endpoint} answered HTTP ${status} (${contentType}): ${hint.replace(/\.$/, '')}.`,
    { endpoint: ctx.endpoint },
  );
}

function oauthError(status: number, body: Record<string, unknown>, ctx: ResponseContext): OAuthError {
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? redact(v, ctx.secrets).slice(0, 1000) : undefined);
  const error = text(body.error) ?? 'unknown_error';
  return new OAuthError({
    status,
    error,
    errorDescription: text(body.error_description),
    errorUri: text(body.error_uri),
    endpoint: ctx.endpoint,
    hint: error === 'invalid_client' ? ctx.refusalHint?.() : undefined,
  });
}

function parseJsonObject(response: HttpResponse, ctx: ResponseContext): Record<string, unknown> {
  const { status, body } = response;
  const contentType = header(response.headers, 'content-type') ?? '';
  const looksJson = /\bjson\b/i.test(contentType) || /^\s*[{[]/.test(body);
  if (!looksJson) {
    throw new TokenResponseError(
      ErrorCode.RESPONSE_NOT_JSON,
      status,
      `Token endpoint ${ctx.endpoint} answered HTTP ${status} with ${describeContentType(contentType, ctx.secrets)}, not JSON; check that the URL is the token endpoint and not a web page or a proxy.`,
      { endpoint: ctx.endpoint },
    );
  }
  // No cause: V8's SyntaxError quotes the text around the fault, and that text may be the token.
  const json = tryParseJson(body);
  if (json === undefined) {
    throw new TokenResponseError(
      ErrorCode.RESPONSE_MALFORMED_JSON,
      status,
      `Token endpoint ${ctx.endpoint} answered HTTP ${status} with malformed JSON (${body.length} characters); check the server or a proxy that may truncate responses.`,
      { endpoint: ctx.endpoint },
    );
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw invalid(ctx, status, 'is JSON but not an object');
  }
  return json as Record<string, unknown>;
}

function readTokenType(value: unknown, ctx: ResponseContext, status: number, accessToken: string): string {
  // RFC 6749 requires token_type; some servers omit it (or send null), and Go's x/oauth2 reads that as Bearer too.
  if (value === undefined || value === null) {
    checkDpopType('bearer', ctx, status);
    return 'Bearer';
  }
  if (typeof value !== 'string' || value === '') throw invalid(ctx, status, 'has a token_type that is not a non-empty string');
  // ASCII only before comparing: 'POP-\u212AEY' (a Kelvin sign) lower-cases to an allowed 'pop-key'.
  const scheme = AUTH_SCHEME.test(value);
  const lower = value.toLowerCase();
  if (scheme) checkDpopType(lower, ctx, status);
  if (lower === 'dpop') return 'DPoP';
  if (!scheme || !ctx.allowedTokenTypes.includes(lower)) {
    // Quoted only when it is a plain scheme name, and scrubbed even then (then cut): a server may echo anything here.
    const shown = scheme ? JSON.stringify(redact(value, [...ctx.secrets, accessToken]).slice(0, 40)) : `(${value.length} characters, not a scheme name)`;
    throw new TokenResponseError(
      ErrorCode.TOKEN_TYPE_UNSUPPORTED,
      status,
      `Token endpoint ${ctx.endpoint} issued a token of type ${shown}, not Bearer; if your API accepts that type, list it in the allowedTokenTypes option.`,
      { endpoint: ctx.endpoint },
    );
  }
  return lower === 'bearer' ? 'Bearer' : value;
}

/** A DPoP token only for a DPoP request, and a DPoP request gets one (or a Bearer token, when the user allows it). */
function checkDpopType(lower: string, ctx: ResponseContext, status: number): void {
  if ((lower === 'dpop') === (ctx.dpop !== undefined) || (lower === 'bearer' && ctx.dpop === 'allow-bearer')) return;
  throw new TokenResponseError(
    ErrorCode.DPOP_MISMATCH,
    status,
    lower === 'dpop'
      ? `Token endpoint ${ctx.endpoint} issued a DPoP-bound token, but this client sent no DPoP proof; give the dpop option (and the key the server expects).`
      : `Token endpoint ${ctx.endpoint} answered a DPoP request with a ${lower === 'bearer' ? 'Bearer' : 'non-DPoP'} token (a downgrade: the server ignored the proof). Check that DPoP is enabled for this client on the server, or accept Bearer tokens with dpop: { allowBearer: true }.`,
    { endpoint: ctx.endpoint },
  );
}

function readLifetime(value: unknown, accessToken: string, response: HttpResponse, ctx: ResponseContext): Milliseconds {
  const { status } = response;
  if (value === undefined || value === null) {
    const exp = jwtExpiry(accessToken);
    if (exp === undefined) return ctx.defaultLifetime;
    const lifetime = exp * 1000 - response.sentAt;
    if (lifetime <= 0) {
      throw invalid(ctx, status, 'has no expires_in and the token\'s JWT exp is already past; check the clocks of the server and of this machine');
    }
    return Math.min(lifetime, MAX_LIFETIME);
  }
  const seconds = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isFinite(seconds) || seconds <= 0) {
    const shown = typeof value === 'number' ? String(value) : `of type ${Array.isArray(value) ? 'array' : typeof value}`;
    throw invalid(ctx, status, `has expires_in ${typeof value === 'string' ? `"${redact(value, [...ctx.secrets, accessToken]).slice(0, 40)}"` : shown}; it must be a positive number of seconds`);
  }
  return Math.min(seconds * 1000, MAX_LIFETIME);
}

/** The granted scope; an entry that echoes a secret or the token is replaced (a Token's printouts show the scope). */
function readScope(value: unknown, secrets: readonly (string | undefined)[], accessToken: string): readonly string[] | undefined {
  const entries = typeof value === 'string' ? value.split(/\s+/).filter((s) => s !== '') : Array.isArray(value) && value.every((s) => typeof s === 'string') ? (value as string[]) : undefined;
  if (entries === undefined) return undefined;
  const scrubbed = [...secrets, accessToken];
  return entries.map((entry) => redact(entry, scrubbed));
}

/**
 * A response's content type for a message: the media type when it looks like one (`text/html`), scrubbed; else
 * only that it is unusual. A server or proxy may put anything in the header.
 */
function describeContentType(value: string | undefined, secrets: readonly (string | undefined)[]): string {
  const media = value?.split(';')[0]?.trim();
  if (!media) return 'no content type';
  return /^[\w!#$&^.+-]{1,40}\/[\w!#$&^.+-]{1,60}$/.test(media) ? redact(media, secrets) : 'an unusual content type';
}

/** The `exp` claim of a JWT, decoded without verification (only to know when to refresh), or undefined. */
export function jwtExpiry(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    const exp = (payload as { exp?: unknown } | null)?.exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp : undefined;
  } catch {
    return undefined;
  }
}

function invalid(ctx: ResponseContext, status: number, what: string): TokenResponseError {
  return new TokenResponseError(
    ErrorCode.RESPONSE_INVALID,
    status,
    `The token response from ${ctx.endpoint} (HTTP ${status}) ${what}.`,
    { endpoint: ctx.endpoint },
  );
}

function tryParseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function header(headers: HttpResponse['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function safeOrigin(location: string, base: string): string {
  try {
    return new URL(location, base).origin;
  } catch {
    return 'an unparsable location';
  }
}
