/**
 * A scripted answer of the mock token endpoint. Every kind takes `delay` (ms before answering).
 *
 * - `token`: the normal answer. The request is still checked (credentials, audience, …) and an error is
 *   answered if it fails; the fields override what the token would otherwise be.
 * - `oauth-error`: an RFC 6749 §5.2 error, whatever the request.
 * - `server-error`: a 5xx (default 503) with a plain-text body, optionally with `Retry-After`.
 * - `rate-limited`: 429 with `Retry-After` and Auth0's `too_many_requests` body.
 * - `network-error`: the connection fails; no HTTP response at all.
 */
export type TokenEndpointReply =
  | {
      /** The kind of answer. */
      kind: 'token';
      /** `expires_in` in seconds, and `exp` = `iat` + this. */
      expiresIn?: number | undefined;
      /** `token_type` in the body. Default `Bearer`. */
      tokenType?: string | undefined;
      /** Claims merged over the standard ones; a claim set to `undefined` is left out. */
      claims?: Record<string, unknown> | undefined;
      /** Fields merged over the response body; a field set to `undefined` is left out. */
      body?: Record<string, unknown> | undefined;
      /** ms to wait before answering. @default the endpoint's `delay` option, else 0 */
      delay?: number | undefined;
    }
  | {
      /** The kind of answer. */
      kind: 'oauth-error';
      /** RFC 6749 `error`, e.g. `invalid_client`, `access_denied`, `invalid_scope`. */
      error: string;
      /** RFC 6749 `error_description`. */
      errorDescription?: string | undefined;
      /** HTTP status. Default: 401 for invalid_client, 403 for access_denied and unauthorized_client, else 400. */
      status?: number | undefined;
      /** ms to wait before answering. @default the endpoint's `delay` option, else 0 */
      delay?: number | undefined;
    }
  | {
      /** The kind of answer. */
      kind: 'server-error';
      /** HTTP status. Default 503. */
      status?: number | undefined;
      /** Response body, sent as text/plain. Default: the status text. */
      body?: string | undefined;
      /** `Retry-After` in seconds. */
      retryAfter?: number | undefined;
      /** ms to wait before answering. @default the endpoint's `delay` option, else 0 */
      delay?: number | undefined;
    }
  | {
      /** The kind of answer. */
      kind: 'rate-limited';
      /** `Retry-After` in seconds. Default 1. Use 0 to keep tests fast. */
      retryAfter?: number | undefined;
      /** ms to wait before answering. @default the endpoint's `delay` option, else 0 */
      delay?: number | undefined;
    }
  | {
      /** The kind of answer. */
      kind: 'network-error';
      /** ms to wait before failing the connection. */
      delay?: number;
    };

const OAUTH_ERROR_STATUS: Record<string, number> = {
  invalid_client: 401,
  access_denied: 403,
  unauthorized_client: 403,
  too_many_requests: 429,
};

/** The HTTP status the kit uses for an OAuth error code when the reply does not give one. */
export function oauthErrorStatus(error: string): number {
  return OAUTH_ERROR_STATUS[error] ?? 400;
}

/** Checks a reply when it is scripted, so a typo fails at the call site rather than inside a request. */
export function checkReply(reply: TokenEndpointReply): TokenEndpointReply {
  const kinds = ['token', 'oauth-error', 'server-error', 'rate-limited', 'network-error'];
  if (!kinds.includes((reply as { kind?: unknown } | null)?.kind as string)) {
    throw new TypeError(`Unknown token endpoint reply kind ${JSON.stringify((reply as { kind?: unknown } | null)?.kind)}; use one of ${kinds.join(', ')}.`);
  }
  if (reply.delay !== undefined && !(Number.isFinite(reply.delay) && reply.delay >= 0)) throw new RangeError(`Reply delay must be ms ≥ 0, got ${reply.delay}.`);
  if (reply.kind === 'token' && reply.expiresIn !== undefined && !(Number.isFinite(reply.expiresIn) && reply.expiresIn > 0)) {
    throw new RangeError(`Reply expiresIn must be seconds > 0, got ${reply.expiresIn}.`);
  }
  return reply;
}
