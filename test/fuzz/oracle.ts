/**
 * What the README says should come of a response, written from the README (not from src/): which outcome, which
 * `code`, and the token's fields. Where the README leaves a choice open the oracle allows each reading.
 */
import { ErrorCode } from 'm2m-token';

/** The longest lifetime a Token reports (README, Lifetime). */
const MAX_LIFETIME = 100 * 365 * 24 * 60 * 60 * 1000;

export type Code = (typeof ErrorCode)[keyof typeof ErrorCode];

/** A response as the client saw it. */
export interface SeenResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface ExpectedToken {
  kind: 'token';
  accessToken: string;
  tokenType: string;
  /** ms */
  expiresIn: number;
  scope: readonly string[] | undefined | 'any';
}

export interface ExpectedError {
  kind: 'error';
  code: Code;
  status?: number;
  /** Which rule of the README applies, for reports. */
  why: string;
  /** For OAuth errors: the `error` field as sent (before redaction and truncation). */
  oauthError?: string;
}

export type Expected = ExpectedToken | ExpectedError;

export const MAX_BYTES = 1024 * 1024;

export function first(headers: SeenResponse['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function tryJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** README, Retries: 408, 429 and 5xx except 501 and 505 are retried; the decision depends on the status alone. */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

/** `exp` of a JWT (three dot-separated parts, the second base64url JSON), if it is a finite number. */
export function jwtExp(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as { exp?: unknown } | null;
    return typeof payload?.exp === 'number' && Number.isFinite(payload.exp) ? payload.exp : undefined;
  } catch {
    return undefined;
  }
}

/** RFC 7230 `token`: what an auth scheme (token_type, sent before the token) may consist of. */
export const AUTH_SCHEME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Visible ASCII: what a Bearer credential may hold. */
export const HEADER_SAFE = /^[\x21-\x7e]+$/;

/**
 * The possible outcomes of one complete, uncapped response. Several when the README allows more than one reading
 * (several problems at once: any of their codes; an ambiguous numeric string: a token or M2M_RESPONSE_INVALID).
 */
export function expectResponse(r: SeenResponse, o: { allowed: readonly string[]; defaultLifetime: number; sentAt: number }): Expected[] {
  const { status, body } = r;
  const err = (code: Code, why: string): ExpectedError => ({ kind: 'error', code, status, why });
  if (status < 200 || status > 299) {
    const json = tryJson(body);
    if (json.ok && json.value !== null && typeof json.value === 'object' && typeof (json.value as { error?: unknown }).error === 'string') {
      return [{ ...err(ErrorCode.OAUTH_ERROR, 'non-2xx with an OAuth error body'), oauthError: (json.value as { error: string }).error }];
    }
    return [err(ErrorCode.HTTP_STATUS, 'non-2xx without an OAuth error body')];
  }
  const contentType = first(r.headers, 'content-type') ?? '';
  const looksJson = /\bjson\b/i.test(contentType) || /^[{[]/.test(body.trimStart());
  if (!looksJson) return [err(ErrorCode.RESPONSE_NOT_JSON, 'no JSON content type, body not { or [')];
  const json = tryJson(body);
  if (!json.ok) return [err(ErrorCode.RESPONSE_MALFORMED_JSON, 'JSON that does not parse')];
  const b = json.value;
  if (!isObject(b)) return [err(ErrorCode.RESPONSE_INVALID, 'JSON but not an object')];
  if (typeof b.error === 'string' && b.access_token === undefined) {
    return [{ ...err(ErrorCode.OAUTH_ERROR, '2xx with error and no access_token'), oauthError: b.error }];
  }
  const accessToken = b.access_token;
  if (typeof accessToken !== 'string' || accessToken === '') return [err(ErrorCode.RESPONSE_INVALID, 'access_token not a non-empty string')];
  if (!HEADER_SAFE.test(accessToken)) return [err(ErrorCode.RESPONSE_INVALID, 'access_token not visible ASCII')];

  const problems: ExpectedError[] = [];
  // README, Token type: absent or null → Bearer; empty or not a string → invalid; else an ASCII scheme name, compared case-insensitively.
  let tokenType = 'Bearer';
  const t = b.token_type;
  if (t !== undefined) {
    if (t === null) tokenType = 'Bearer';
    else if (typeof t !== 'string' || t === '') problems.push(err(ErrorCode.RESPONSE_INVALID, 'token_type not a non-empty string'));
    else if (t.toLowerCase() === 'bearer') tokenType = 'Bearer';
    else if (/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(t) && o.allowed.map((a) => a.toLowerCase()).includes(t.toLowerCase())) tokenType = t;
    else problems.push(err(ErrorCode.TOKEN_TYPE_UNSUPPORTED, 'token_type not Bearer nor allowed'));
  }
  // README, Lifetime: expires_in (a positive number, or a numeric string), else the JWT exp, else defaultLifetime.
  const lifetimes: number[] = [];
  let ambiguous = false;
  const e = b.expires_in;
  if (e === undefined || e === null) {
    const exp = jwtExp(accessToken);
    if (exp === undefined) lifetimes.push(o.defaultLifetime);
    else if (exp * 1000 - o.sentAt > 0) lifetimes.push(exp * 1000 - o.sentAt);
    else problems.push(err(ErrorCode.RESPONSE_INVALID, 'no expires_in and JWT exp past'));
  } else if (typeof e === 'number') {
    if (Number.isFinite(e) && e > 0) lifetimes.push(e * 1000);
    else problems.push(err(ErrorCode.RESPONSE_INVALID, 'expires_in not a positive finite number'));
  } else if (typeof e === 'string') {
    const n = Number(e.trim());
    if (/^\d+(\.\d+)?$/.test(e) && n > 0 && Number.isFinite(n)) lifetimes.push(n * 1000);
    else if (e.trim() === '' || !Number.isFinite(n) || n <= 0) problems.push(err(ErrorCode.RESPONSE_INVALID, 'expires_in a non-numeric string'));
    else {
      // '1e3', '+5', ' 60 ', '0x10': numeric to JavaScript, not clearly "a numeric string" to the README.
      lifetimes.push(n * 1000);
      ambiguous = true;
      problems.push(err(ErrorCode.RESPONSE_INVALID, 'expires_in an unusual numeric string'));
    }
  } else problems.push(err(ErrorCode.RESPONSE_INVALID, 'expires_in of another type'));

  const out: Expected[] = [...problems];
  // A token only when nothing but an ambiguous lifetime is in question.
  if (problems.length === 0 || (ambiguous && problems.length === 1)) {
    // README: a Token reports at most 100 years.
    for (const expiresIn of lifetimes.map((l) => Math.min(l, MAX_LIFETIME))) out.push({ kind: 'token', accessToken, tokenType, expiresIn, scope: expectedScope(b.scope, accessToken) });
  }
  return out;
}

function expectedScope(scope: unknown, accessToken: string): ExpectedToken['scope'] {
  // README: scope entries that echo the client secret or the token are replaced; the oracle does not model which.
  const echoes = (s: unknown) => typeof s === 'string' && (s.includes(accessToken) || s.includes('[REDACTED]'));
  if (typeof scope === 'string' && echoes(scope)) return 'any';
  if (Array.isArray(scope) && scope.some(echoes)) return 'any';
  if (typeof scope === 'string') {
    // README: "split on spaces". Other whitespace (tabs, NBSP) may or may not separate.
    return /^[\x21-\x7e ]*$/.test(scope) ? scope.split(' ').filter((s) => s !== '') : 'any';
  }
  if (Array.isArray(scope) && scope.every((s) => typeof s === 'string')) return scope as string[];
  return scope === undefined ? undefined : 'any';
}

// ---------------------------------------------------------------- Retry-After

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const LONG_DAY = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const MONTH = `(${MONTHS.join('|')})`;
const IMF = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`);
const RFC850 = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`);
const ASCTIME = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) (\\d{2}):(\\d{2}):(\\d{2}) (\\d{4})$`);

/** RFC 9110 §5.6.7 HTTP-date (IMF-fixdate, and the obsolete RFC 850 and asctime forms, all UTC), in epoch ms. */
export function httpDate(value: string): number | undefined {
  let m = IMF.exec(value);
  if (m) return Date.UTC(Number(m[3]), MONTHS.indexOf(m[2]!), Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  m = RFC850.exec(value);
  if (m) {
    // RFC 9110: a two-digit year more than 50 years in the future is in the past century.
    const yy = Number(m[3]);
    const year = 2000 + yy > new Date().getUTCFullYear() + 50 ? 1900 + yy : 2000 + yy;
    return Date.UTC(year, MONTHS.indexOf(m[2]!), Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  }
  m = ASCTIME.exec(value);
  if (m) return Date.UTC(Number(m[6]), MONTHS.indexOf(m[1]!), Number(m[2]!.trim()), Number(m[3]), Number(m[4]), Number(m[5]));
  return undefined;
}

/**
 * What `error.retryAfter` should be (README: "ms the server asked to wait, from Retry-After or x-ratelimit-reset,
 * when it said"): Retry-After in delay-seconds or an HTTP-date; else, on a 429, x-ratelimit-reset in epoch seconds.
 */
export function expectedRetryAfter(r: SeenResponse, now: number): { value: number | undefined; garbage: boolean; asctime?: boolean } {
  const raw = first(r.headers, 'retry-after')?.trim();
  if (raw) {
    if (/^\d+$/.test(raw)) return { value: Number(raw) * 1000, garbage: false };
    const date = httpDate(raw);
    if (date !== undefined) return { value: Math.max(0, date - now), garbage: false, asctime: ASCTIME.test(raw) };
  }
  const garbage = raw !== undefined && raw !== '';
  const reset = first(r.headers, 'x-ratelimit-reset')?.trim();
  if (r.status === 429 && reset && /^\d+$/.test(reset)) return { value: Math.max(0, Number(reset) * 1000 - now), garbage };
  return { value: undefined, garbage };
}

// ---------------------------------------------------------------- classes

export const CLASS_OF: Record<Code, string[]> = {
  [ErrorCode.INVALID_OPTION]: ['ConfigurationError'],
  [ErrorCode.OAUTH_ERROR]: ['OAuthError'],
  [ErrorCode.HTTP_STATUS]: ['TokenResponseError'],
  [ErrorCode.RESPONSE_NOT_JSON]: ['TokenResponseError'],
  [ErrorCode.RESPONSE_MALFORMED_JSON]: ['TokenResponseError'],
  [ErrorCode.RESPONSE_INVALID]: ['TokenResponseError'],
  [ErrorCode.RESPONSE_TOO_LARGE]: ['TokenResponseError'],
  [ErrorCode.TOKEN_TYPE_UNSUPPORTED]: ['TokenResponseError'],
  [ErrorCode.TIMEOUT]: ['TokenRequestError'],
  [ErrorCode.NETWORK_ERROR]: ['TokenRequestError'],
  [ErrorCode.ABORTED]: ['TokenRequestError'],
  [ErrorCode.CLIENT_CLOSED]: ['TokenRequestError'],
  [ErrorCode.DISCOVERY_FAILED]: ['TokenResponseError'],
  [ErrorCode.UNEXPECTED]: ['TokenClientError'],
  [ErrorCode.STORE_ERROR]: ['TokenClientError'],
  [ErrorCode.UNSUPPORTED_RUNTIME]: ['TokenClientError', 'ConfigurationError'],
  [ErrorCode.STALE_TOKEN]: ['TokenClientError'],
  [ErrorCode.QUOTA_EXCEEDED]: ['QuotaExceededError'],
  [ErrorCode.QUOTA_LOW]: ['TokenClientError'],
};
