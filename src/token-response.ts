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
}

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
  const tokenType = readTokenType(body.token_type, ctx, status);
  const expiresIn = readLifetime(body.expires_in, accessToken, response, ctx);
  return createToken({
    accessToken,
    tokenType,
    expiresIn,
    expiresAt: response.sentAt + expiresIn,
    scope: readScope(body.scope),
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
  const contentType = header(headers, 'content-type')?.split(';')[0]?.trim() || 'no content type';
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
  } else {
    hint = 'the server did not send an OAuth error body; check the endpoint and any proxy in front of it';
  }
  return new TokenResponseError(
    ErrorCode.HTTP_STATUS,
    status,
    `Token endpoint ${ctx.endpoint} answered HTTP ${status} (${contentType}): ${hint}.`,
    { endpoint: ctx.endpoint },
  );
}

function oauthError(status: number, body: Record<string, unknown>, ctx: ResponseContext): OAuthError {
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? redact(v, ctx.secrets).slice(0, 1000) : undefined);
  return new OAuthError({
    status,
    error: text(body.error) ?? 'unknown_error',
    errorDescription: text(body.error_description),
    errorUri: text(body.error_uri),
    endpoint: ctx.endpoint,
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
      `Token endpoint ${ctx.endpoint} answered HTTP ${status} with ${contentType || 'no content type'}, not JSON; check that the URL is the token endpoint and not a web page or a proxy.`,
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

function readTokenType(value: unknown, ctx: ResponseContext, status: number): string {
  // RFC 6749 requires token_type; some servers omit it, and Go's x/oauth2 reads that as Bearer too.
  if (value === undefined || value === null) return 'Bearer';
  if (typeof value !== 'string' || value === '') throw invalid(ctx, status, 'has a token_type that is not a non-empty string');
  const lower = value.toLowerCase();
  if (!ctx.allowedTokenTypes.includes(lower)) {
    // Quoted only when it is a plain scheme name, and scrubbed even then: a server may echo anything here.
    const shown = AUTH_SCHEME.test(value) ? JSON.stringify(redact(value.slice(0, 40), ctx.secrets)) : `(${value.length} characters, not a scheme name)`;
    throw new TokenResponseError(
      ErrorCode.TOKEN_TYPE_UNSUPPORTED,
      status,
      `Token endpoint ${ctx.endpoint} issued a token of type ${shown}, not Bearer; if your API accepts that type, list it in the allowedTokenTypes option.`,
      { endpoint: ctx.endpoint },
    );
  }
  return lower === 'bearer' ? 'Bearer' : value;
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
    return lifetime;
  }
  const seconds = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isFinite(seconds) || seconds <= 0) {
    const shown = typeof value === 'number' ? String(value) : `of type ${Array.isArray(value) ? 'array' : typeof value}`;
    throw invalid(ctx, status, `has expires_in ${typeof value === 'string' ? `"${redact(value.slice(0, 40), ctx.secrets)}"` : shown}; it must be a positive number of seconds`);
  }
  return seconds * 1000;
}

function readScope(value: unknown): readonly string[] | undefined {
  if (typeof value === 'string') return value.split(/\s+/).filter((s) => s !== '');
  if (Array.isArray(value) && value.every((s) => typeof s === 'string')) return value as string[];
  return undefined;
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
