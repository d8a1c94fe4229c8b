// The decisions every adapter makes the same way, as pure functions: which token a request gets (if any),
// whether a 401 renews it, and whether a request body can be sent a second time.
import { ErrorCode, TokenClientError, type Token } from 'm2m-token';
import type { AdapterConfig, TokenTarget } from './options.js';
import { saysUseDpopNonce } from './dpop.js';
import { saysInvalidToken } from './www-authenticate.js';

/**
 * The token parameters for a request to `url`, or `undefined` when the request must pass through untouched:
 * its origin is not a target and `anyOrigin` is off, or the URL cannot be parsed (the HTTP client then reports
 * that itself).
 */
export function targetFor(config: AdapterConfig, url: string | URL): TokenTarget | undefined {
  // Only http(s) has an origin worth a token; `null` origins (file:, data:, blob:) never get one.
  const origin = originOf(url);
  if (origin === undefined) return undefined;
  return config.targets.get(origin) ?? config.anyOrigin;
}

/**
 * One string per set of token parameters: the targets that ask for the same token share one key (and one
 * renewal floor). Scopes are compared as a set; resources and extra parameter values as sorted lists.
 */
export function tokenKey(target: TokenTarget): string {
  const scope = target.scope === undefined ? null : sortedSet(typeof target.scope === 'string' ? target.scope.split(/\s+/) : target.scope);
  const resource = target.resource === undefined ? null : sortedSet(typeof target.resource === 'string' ? [target.resource] : target.resource);
  const extra = target.extraParams === undefined
    ? null
    : Object.keys(target.extraParams).sort().map((name) => {
      const value = target.extraParams![name];
      return [name, typeof value === 'string' ? [value] : [...(value ?? [])]];
    });
  return JSON.stringify([target.audience ?? null, target.organization ?? null, scope, resource, extra]);
}

function sortedSet(values: readonly string[]): string[] {
  return [...new Set(values.filter((v) => v !== ''))].sort();
}

/**
 * Whether the response to a request sent to `origin` with a token came from that origin and from no other on the
 * way: `hops` are the URLs the HTTP client reports it went through (redirects, then the final one). A 401 from
 * anywhere else never saw the token (HTTP clients drop Authorization on a cross-origin redirect) and renews
 * nothing. No hops reported means no redirect.
 */
export function answeredBy(origin: string, hops: readonly (string | URL)[]): boolean {
  for (const hop of hops) {
    try {
      if ((typeof hop === 'string' ? new URL(hop) : hop).origin !== origin) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/** The origin of `url`, or `undefined` when it has none worth a token (unparsable, `file:`, `data:`…). */
export function originOf(url: string | URL): string | undefined {
  try {
    const origin = (typeof url === 'string' ? new URL(url) : url).origin;
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
}

// An authentication scheme is an RFC 9110 token; a credential here is visible ASCII without spaces (token68 and
// every opaque token seen in practice). Anything else (CR, LF, NUL, spaces, non-ASCII) is refused before it can
// reach a header: it would split the header, or make the HTTP client throw an error that quotes the value.
const SCHEME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const CREDENTIAL = /^[\x21-\x7E]+$/;

/**
 * The `Authorization` value for a token: `Bearer eyJ…` (or the other type the source allowed). Throws a
 * `TokenClientError` (`M2M_RESPONSE_INVALID`) when the type or the token cannot go into a header value, whatever
 * the source returned; the message never contains either.
 */
export function authorizationFor(token: Token): string {
  const { tokenType, accessToken } = token;
  if (typeof tokenType !== 'string' || !SCHEME.test(tokenType)) {
    throw new TokenClientError(ErrorCode.RESPONSE_INVALID, 'The token source returned a token whose tokenType is not an HTTP authentication scheme (one token of letters, digits and !#$%&\'*+-.^_`|~). The request was not sent.');
  }
  if (typeof accessToken !== 'string' || !CREDENTIAL.test(accessToken)) {
    throw new TokenClientError(ErrorCode.RESPONSE_INVALID, 'The token source returned an access token that cannot be sent in an HTTP header: it is empty, not a string, or contains whitespace, control or non-ASCII characters. The request was not sent.');
  }
  return `${tokenType} ${accessToken}`;
}

/**
 * Whether a response to a request that carried `token` should renew it: a 401 that is not a DPoP nonce challenge, and with
 * `renewOn: 'invalid_token'` only one whose challenge for the token's scheme says `error="invalid_token"`.
 */
export function shouldRenew(config: AdapterConfig, status: number, wwwAuthenticate: string | null | undefined, token: Token): boolean {
  if (status !== 401) return false;
  // A DPoP nonce challenge asks for a fresh proof with the server's nonce, not for another token.
  if (saysUseDpopNonce(wwwAuthenticate)) return false;
  return config.renewOn === 'any-401' || saysInvalidToken(wwwAuthenticate, token.tokenType);
}

/**
 * Whether a request body can be sent again after a 401. An allowlist: in-memory bodies (string, bytes,
 * URLSearchParams, FormData, Blob) can; streams, async iterables and anything unknown cannot, because the first
 * attempt consumed them. Returning the 401 is always safe; replaying half a stream is not.
 */
export function isReplayableBody(body: unknown): boolean {
  if (body === undefined || body === null) return true;
  if (typeof body === 'string' || body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return true;
  if (typeof SharedArrayBuffer !== 'undefined' && body instanceof SharedArrayBuffer) return true;
  return body instanceof URLSearchParams || isFormData(body) || isBlob(body);
}

// Duck-typed like undici does: FormData and Blob from another realm or from undici's own copy count too.
function isFormData(body: object): boolean {
  return (body as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag] === 'FormData' && typeof (body as FormData).getAll === 'function';
}

function isBlob(body: object): boolean {
  const tag = (body as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag];
  return (tag === 'Blob' || tag === 'File') && typeof (body as Blob).arrayBuffer === 'function';
}

/** `value` when it can serve as an AbortSignal (duck-typed: polyfills and other realms count), else `undefined`. */
export function asAbortSignal(value: unknown): AbortSignal | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const signal = value as AbortSignal;
  return typeof signal.aborted === 'boolean' && typeof signal.addEventListener === 'function' ? signal : undefined;
}
