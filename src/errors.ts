import type { QuotaExceededError } from './quota.js';
import type { QuotaReading } from './quota.js';

/** Stable error codes. Match on `error.code`, never on the message. */
export const ErrorCode = {
  /** An option given to the constructor or to `getToken()` is missing or invalid. */
  INVALID_OPTION: 'M2M_INVALID_OPTION',
  /** The server answered with an RFC 6749 §5.2 error body (`invalid_client`, `access_denied`, …). */
  OAUTH_ERROR: 'M2M_OAUTH_ERROR',
  /** A non-success HTTP status without an OAuth error body (a 502 HTML page, a 404, a redirect). */
  HTTP_STATUS: 'M2M_HTTP_STATUS',
  /** A success status whose body is not JSON at all. */
  RESPONSE_NOT_JSON: 'M2M_RESPONSE_NOT_JSON',
  /** A body that claims or looks like JSON but does not parse. */
  RESPONSE_MALFORMED_JSON: 'M2M_RESPONSE_MALFORMED_JSON',
  /** Valid JSON, but a required field is missing or has the wrong type or value. */
  RESPONSE_INVALID: 'M2M_RESPONSE_INVALID',
  /** The body is larger than the cap (1 MiB). */
  RESPONSE_TOO_LARGE: 'M2M_RESPONSE_TOO_LARGE',
  /** The token's `token_type` is not `Bearer` and was not allowed with `allowedTokenTypes`. */
  TOKEN_TYPE_UNSUPPORTED: 'M2M_TOKEN_TYPE_UNSUPPORTED',
  /** An attempt took longer than `timeout`, or all attempts together longer than `totalTimeout`. */
  TIMEOUT: 'M2M_TIMEOUT',
  /** The connection failed: DNS, refused, reset, TLS. */
  NETWORK_ERROR: 'M2M_NETWORK_ERROR',
  /** The caller's `signal` aborted its wait. */
  ABORTED: 'M2M_ABORTED',
  /** `close()` was called. */
  CLIENT_CLOSED: 'M2M_CLIENT_CLOSED',
  /** Server metadata (RFC 8414 / OpenID Discovery) for `issuer` could not be fetched or does not fit. */
  DISCOVERY_FAILED: 'M2M_DISCOVERY_FAILED',
  /** A failure the client did not foresee (a bug, or a broken dependency); `cause` has the original. */
  UNEXPECTED: 'M2M_UNEXPECTED_ERROR',
  /** A `TokenStore` threw or timed out. Reported through `onError`, never thrown by `getToken()`. */
  STORE_ERROR: 'M2M_STORE_ERROR',
  /** The running Node.js is older than the package supports (thrown by the `TokenClient` constructor). */
  UNSUPPORTED_RUNTIME: 'M2M_UNSUPPORTED_RUNTIME',
  /**
   * The token endpoint is failing and a cached token past its leeway, still valid, is being handed out
   * (`staleIfError`). Reported through `onError` (type `'stale'`), never thrown; `cause` is the failure.
   */
  STALE_TOKEN: 'M2M_STALE_TOKEN',
  /** An Auth0 token quota is used up: the key's requests are blocked until `resetAt` (`QuotaExceededError`). */
  QUOTA_EXCEEDED: 'M2M_QUOTA_EXCEEDED',
  /** An Auth0 token quota fell below the `quota.warnBelow` fraction. Reported through `onError` (type `'quota'`), never thrown. */
  QUOTA_LOW: 'M2M_QUOTA_LOW',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The codes of {@link TokenResponseError}: a response arrived but could not be used. */
export type TokenResponseErrorCode =
  | typeof ErrorCode.HTTP_STATUS
  | typeof ErrorCode.RESPONSE_NOT_JSON
  | typeof ErrorCode.RESPONSE_MALFORMED_JSON
  | typeof ErrorCode.RESPONSE_INVALID
  | typeof ErrorCode.RESPONSE_TOO_LARGE
  | typeof ErrorCode.TOKEN_TYPE_UNSUPPORTED
  | typeof ErrorCode.DISCOVERY_FAILED;

/** The codes of {@link TokenRequestError}: no usable response arrived. */
export type TokenRequestErrorCode =
  | typeof ErrorCode.TIMEOUT
  | typeof ErrorCode.NETWORK_ERROR
  | typeof ErrorCode.ABORTED
  | typeof ErrorCode.CLIENT_CLOSED;

/**
 * Every error m2m-token throws or reports, as a union discriminated by `code`: checking `code` narrows to the
 * class that carries it, so its own fields are there without a second `instanceof`.
 *
 * | `code` | class |
 * | --- | --- |
 * | `M2M_INVALID_OPTION` | {@link ConfigurationError} (`option`) |
 * | `M2M_OAUTH_ERROR` | {@link OAuthError} (`status`, `error`, `errorDescription`, `errorUri`) |
 * | `M2M_HTTP_STATUS`, `M2M_RESPONSE_*`, `M2M_TOKEN_TYPE_UNSUPPORTED`, `M2M_DISCOVERY_FAILED` | {@link TokenResponseError} (`status`) |
 * | `M2M_TIMEOUT`, `M2M_NETWORK_ERROR`, `M2M_ABORTED`, `M2M_CLIENT_CLOSED` | {@link TokenRequestError} |
 * | `M2M_QUOTA_EXCEEDED` | `QuotaExceededError` (`resetAt`, `scope`, `bucket`, `status?`) |
 * | `M2M_UNEXPECTED_ERROR`, `M2M_STORE_ERROR`, `M2M_STALE_TOKEN`, `M2M_UNSUPPORTED_RUNTIME`, `M2M_QUOTA_LOW` | {@link TokenClientError} itself |
 *
 * `err instanceof TokenClientError` narrows to this union (TypeScript ≥ 5.3), as does {@link isTokenClientError}:
 *
 * ```ts
 * try {
 *   await client.getToken();
 * } catch (err) {
 *   if (err instanceof TokenClientError && err.code === ErrorCode.OAUTH_ERROR) {
 *     console.error(err.error, err.errorDescription); // err is an OAuthError here
 *   }
 * }
 * ```
 */
export type M2MError =
  | ConfigurationError
  | OAuthError
  | TokenResponseError
  | TokenRequestError
  | QuotaExceededError
  | TokenClientError<typeof ErrorCode.UNEXPECTED | typeof ErrorCode.STORE_ERROR | typeof ErrorCode.STALE_TOKEN | typeof ErrorCode.UNSUPPORTED_RUNTIME | typeof ErrorCode.QUOTA_LOW>;

/** The classes of {@link M2MError} that can have one of the codes `C`: `M2M_HTTP_STATUS` → `TokenResponseError`. */
export type TokenClientErrorWithCode<C extends ErrorCode> = M2MError extends infer E
  ? E extends { readonly code: infer K }
    ? [Extract<K, C>] extends [never] ? never : E
    : never
  : never;

/**
 * What `x instanceof SomeErrorClass` narrows `x` to: the whole {@link M2MError} union for `TokenClientError`
 * itself (so that checking `code` then narrows further), the class's own instance type for any subclass.
 */
export type InstanceOfTokenClientError<T> = [TokenClientError] extends [T] ? M2MError : T;

export const REDACTED = '[REDACTED]';

// A brand that survives two copies of the package (ESM and CJS side by side), like undici's errors.
const kKinds = Symbol.for('m2m-token.error.kinds');

interface ErrorDetails {
  cause?: unknown;
  /** Origin of the token endpoint, e.g. `https://tenant.auth0.com`. Never a path or query. */
  endpoint?: string;
}

/**
 * Base class of every error m2m-token throws. Match on {@link TokenClientError.code | code}, never on the message:
 * `err instanceof TokenClientError` narrows `err` to the {@link M2MError} union, and checking `code` then narrows
 * it to the class with that code's fields (`err.code === ErrorCode.OAUTH_ERROR` → `OAuthError`). `instanceof`
 * holds across two copies of the package (ESM and CJS side by side): it checks a `Symbol.for` brand, not the
 * prototype chain.
 *
 * @typeParam C The codes an instance can have: the subclasses narrow it, e.g. `OAuthError` has `M2M_OAUTH_ERROR` only.
 */
export class TokenClientError<C extends ErrorCode = ErrorCode> extends Error {
  static readonly kind: string = 'TokenClientError';

  static override [Symbol.hasInstance]<T>(
    this: (abstract new (...args: never) => T) & { readonly kind: string },
    value: unknown,
  ): value is InstanceOfTokenClientError<T> {
    const kinds = (value as { [kKinds]?: unknown } | null | undefined)?.[kKinds];
    return Array.isArray(kinds) && kinds.includes(this.kind);
  }

  /** Stable code: one of {@link ErrorCode}'s values. */
  readonly code: C;
  /** Origin of the token endpoint involved, when there was one. */
  readonly endpoint?: string;
  /** How many HTTP attempts were made before this error, when a request was sent. */
  attempts?: number;
  /** How long the server asked to wait (`Retry-After`, `x-ratelimit-reset`), in ms, when it said. */
  retryAfter?: number;
  /** The quota headers of the response behind this error (a 429 for an exceeded Auth0 quota), when it had any. */
  quota?: QuotaReading;

  constructor(code: C, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    const kinds: string[] = [];
    for (let c = new.target as typeof TokenClientError | undefined; c?.kind; c = Object.getPrototypeOf(c)) {
      kinds.push(c.kind);
      if (c === TokenClientError) break;
    }
    Object.defineProperty(this, kKinds, { value: kinds });
    Object.defineProperty(this, 'name', { value: new.target.kind, configurable: true, writable: true });
    this.code = code;
    if (details.endpoint !== undefined) this.endpoint = details.endpoint;
  }

  toJSON(): Record<string, unknown> {
    const json: Record<string, unknown> = { name: this.name, code: this.code, message: this.message };
    for (const [k, v] of Object.entries(this)) if (v !== undefined) json[k] = v;
    if (this.cause !== undefined) json.cause = describeCause(this.cause);
    return json;
  }
}

/** An option is missing or invalid. `option` names it (`clientSecret`, `retry.retries`, `getToken.scope`). */
export class ConfigurationError extends TokenClientError<typeof ErrorCode.INVALID_OPTION> {
  static override readonly kind: string = 'ConfigurationError';
  readonly option: string;

  constructor(option: string, message: string) {
    super(ErrorCode.INVALID_OPTION, `Invalid option \`${option}\`: ${message}`);
    this.option = option;
  }
}

/** The authorization server refused the request with an RFC 6749 §5.2 error. */
export class OAuthError extends TokenClientError<typeof ErrorCode.OAUTH_ERROR> {
  static override readonly kind: string = 'OAuthError';
  /** HTTP status of the response. */
  readonly status: number;
  /** RFC 6749 `error`, e.g. `invalid_client`. */
  readonly error: string;
  /** RFC 6749 `error_description`, with the client secret redacted if the server echoed it. */
  readonly errorDescription?: string;
  /** RFC 6749 `error_uri`. */
  readonly errorUri?: string;

  constructor(fields: { status: number; error: string; errorDescription?: string; errorUri?: string; endpoint: string; hint?: string | undefined }) {
    const description = fields.errorDescription ? `: ${fields.errorDescription}` : '';
    super(
      ErrorCode.OAUTH_ERROR,
      `Token endpoint ${fields.endpoint} refused the request with HTTP ${fields.status} ${fields.error}${description}. ${fields.hint ?? oauthHint(fields.error)}`,
      { endpoint: fields.endpoint },
    );
    this.status = fields.status;
    this.error = fields.error;
    if (fields.errorDescription !== undefined) this.errorDescription = fields.errorDescription;
    if (fields.errorUri !== undefined) this.errorUri = fields.errorUri;
  }
}

/**
 * The token endpoint's (or the metadata endpoint's) response could not be used: unexpected status, not JSON, a
 * missing field, too large. `code` is one of {@link TokenResponseErrorCode}.
 */
export class TokenResponseError extends TokenClientError<TokenResponseErrorCode> {
  static override readonly kind: string = 'TokenResponseError';
  /** HTTP status of the response. */
  readonly status: number;

  constructor(code: TokenResponseErrorCode, status: number, message: string, details: ErrorDetails = {}) {
    super(code, message, details);
    this.status = status;
  }
}

/** No usable response arrived: timeout, network failure, abort, closed client. `code` is one of {@link TokenRequestErrorCode}. */
export class TokenRequestError extends TokenClientError<TokenRequestErrorCode> {
  static override readonly kind: string = 'TokenRequestError';
}

/**
 * Whether `value` is an error from m2m-token (any copy of the package), optionally with one of the given codes.
 * A type guard: with a code, it narrows to the class that has it.
 *
 * ```ts
 * if (isTokenClientError(err, ErrorCode.OAUTH_ERROR)) console.error(err.error); // err: OAuthError
 * if (isTokenClientError(err, ErrorCode.TIMEOUT, ErrorCode.NETWORK_ERROR)) retryLater(); // err: TokenRequestError
 * ```
 */
export function isTokenClientError(value: unknown): value is M2MError;
export function isTokenClientError<C extends ErrorCode>(value: unknown, ...codes: [C, ...C[]]): value is TokenClientErrorWithCode<C>;
export function isTokenClientError(value: unknown, ...codes: ErrorCode[]): boolean {
  return value instanceof TokenClientError && (codes.length === 0 || codes.includes(value.code));
}

const OAUTH_HINTS: Record<string, string> = {
  invalid_client: 'Check clientId, clientSecret and clientAuthentication.',
  unauthorized_client: 'Check that this application may use the client_credentials grant.',
  access_denied: 'Check that this application is authorized for the audience (in Auth0: the API\'s machine-to-machine access).',
  invalid_scope: 'Check the requested scope against what the application was granted.',
  invalid_target: 'Check the requested resource or audience.',
  invalid_request: 'Check the request parameters (audience, organization, extraParams).',
  invalid_grant: 'Check the grant type and the application\'s settings.',
  unsupported_grant_type: 'Check that the server supports the client_credentials grant for this application.',
};

function oauthHint(error: string): string {
  return OAUTH_HINTS[error] ?? 'See the error description and the authorization server\'s logs.';
}

function describeCause(cause: unknown): unknown {
  if (cause instanceof TokenClientError) return cause.toJSON();
  if (cause instanceof Error) {
    const { code } = cause as { code?: unknown };
    return { name: cause.name, message: cause.message, ...(code === undefined ? {} : { code }) };
  }
  return String(cause);
}

/** Secrets this long or longer are cut out of a text; shorter ones would match ordinary words. */
const SCRUB_IN_PLACE = 4;

/**
 * Makes a text that came from outside (a server's answer, a dispatcher's error) safe to show: every occurrence of
 * a secret is replaced by `[REDACTED]`. A secret shorter than 4 characters cannot be cut out without mangling
 * ordinary words, so a text that contains one is withheld whole.
 */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  // Each secret once: a second pass would cut a secret out of the [REDACTED] the first one wrote.
  for (const secret of new Set(secrets)) {
    if (!secret) continue;
    if (secret.length >= SCRUB_IN_PLACE) out = out.split(secret).join(REDACTED);
    else if (out.includes(secret)) return REDACTED;
  }
  return out;
}

// OAuth errors that say the credential itself is wrong: no retry or stale token can help, and an operator must know.
const CREDENTIAL_ERRORS = new Set(['invalid_client', 'unauthorized_client', 'invalid_grant']);
// OAuth errors a server sends for its own trouble (RFC 6749 §4.1.2.1 names them for redirects; some token endpoints use them too).
const TRANSIENT_OAUTH_ERRORS = new Set(['temporarily_unavailable', 'server_error']);

/**
 * Whether a failure of the token endpoint may pass by itself (network, timeout, 408, 429, 5xx other than 501 and 505,
 * `temporarily_unavailable`, an exhausted Auth0 quota): what stale-if-error covers. A credential error never is.
 */
export function isTransientFailure(error: unknown): boolean {
  if (!(error instanceof TokenClientError)) return false;
  if (error.code === ErrorCode.NETWORK_ERROR || error.code === ErrorCode.TIMEOUT || error.code === ErrorCode.QUOTA_EXCEEDED) return true;
  if (error instanceof OAuthError) {
    if (CREDENTIAL_ERRORS.has(error.error)) return false;
    if (TRANSIENT_OAUTH_ERRORS.has(error.error)) return true;
  }
  const status = (error as { status?: unknown }).status;
  if (typeof status !== 'number') return false;
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

/** Fields of a foreign error worth keeping (all primitives); everything else on it is dropped. */
const KEPT_ERROR_FIELDS = ['code', 'errno', 'syscall', 'address', 'port', 'hostname', 'reason', 'statusCode'] as const;
const MAX_CAUSE_DEPTH = 4;
/** An error code as systems write them (ENOTFOUND, ERR_TLS_CERT_ALTNAME_INVALID): public text, kept as it is. */
const SYSTEM_CODE = /^[A-Z][A-Z0-9_]{2,63}$/;

/** Reads a property without letting a throwing getter escape. */
function read(source: object, key: PropertyKey): unknown {
  try {
    return (source as Record<PropertyKey, unknown>)[key];
  } catch {
    return undefined;
  }
}

/**
 * A clean copy of an error that came from outside (an HTTP client, a dispatcher, a user's function): name, message,
 * stack and a few primitive fields, with the secrets scrubbed from each, and the same for its `cause` chain. Never
 * the original object: it may carry the request (body, headers, socket) in any property or getter.
 */
export function cleanCopy(error: unknown, secrets: readonly (string | undefined)[] = [], depth = 0): unknown {
  if (error === null || typeof error !== 'object') {
    return typeof error === 'string' ? redact(error, secrets) : typeof error === 'number' || error === undefined ? error : typeof error;
  }
  const text = (value: unknown) => (typeof value === 'string' ? redact(value, secrets) : undefined);
  const copy = new Error(text(read(error, 'message')) ?? 'unknown error');
  copy.name = text(read(error, 'name')) ?? 'Error';
  copy.stack = text(read(error, 'stack')) ?? `${copy.name}: ${copy.message}`;
  for (const field of KEPT_ERROR_FIELDS) {
    const value = read(error, field);
    if (typeof value === 'string') Object.assign(copy, { [field]: field === 'code' && SYSTEM_CODE.test(value) ? value : redact(value, secrets) });
    else if (typeof value === 'number') Object.assign(copy, { [field]: value });
  }
  const cause = read(error, 'cause');
  if (cause !== undefined && depth < MAX_CAUSE_DEPTH) {
    Object.defineProperty(copy, 'cause', { value: cleanCopy(cause, secrets, depth + 1), configurable: true, writable: true });
  }
  return copy;
}

/**
 * The last line of defence before an error reaches the caller: the secrets scrubbed from the message and stack of
 * this error and of every TokenClientError in its cause chain, and any other cause replaced by a clean copy.
 */
export function scrubError<E>(error: E, given: readonly (string | undefined)[]): E {
  // Only secrets that can be cut out in place: a shorter one would match the words of our own messages, and the
  // server's text in them was already withheld where it held one.
  const secrets = given.filter((s): s is string => s !== undefined && s.length >= SCRUB_IN_PLACE);
  if (secrets.length === 0) return error;
  let current: unknown = error;
  for (let depth = 0; current instanceof TokenClientError && depth <= MAX_CAUSE_DEPTH; depth++) {
    const e: TokenClientError = current;
    const message = redact(e.message, secrets);
    if (message !== e.message) e.message = message;
    if (e.stack !== undefined) e.stack = redact(e.stack, secrets);
    const cause = e.cause;
    if (cause !== undefined && !(cause instanceof TokenClientError)) {
      Object.defineProperty(e, 'cause', { value: cleanCopy(cause, secrets), configurable: true, writable: true });
    }
    current = cause;
  }
  return error;
}
