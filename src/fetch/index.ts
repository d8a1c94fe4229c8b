/**
 * `m2m-token/fetch`: {@link fetchWithTokens} wraps `fetch` so that requests to the origins you list carry a token,
 * and a 401 renews it once.
 *
 * @module m2m-token/fetch
 */
// m2m-token/fetch: a fetch that adds Authorization for the origins you configured, and renews the token once
// when the API answers 401. It depends on the TokenSource interface only.
import { ConfigurationError, type Token, type TokenSource } from 'm2m-token';
import type { TokenAdapterOptions } from '../adapters/options.js';
import { isDpopToken, isNonceChallenge } from '../adapters/dpop.js';
import { answeredBy, asAbortSignal, isReplayableBody, originOf, shouldRenew } from '../adapters/policy.js';
import { AdapterTokens } from '../adapters/tokens.js';

export type { RenewOn, TokenAdapterOptions, TokenTarget } from '../adapters/options.js';

/** The parts of a Response the wrapper reads. WHATWG `Response`, undici's and ky's all have them. */
export interface FetchResponseLike {
  /** HTTP status: a 401 may renew the token. */
  readonly status: number;
  /** Response headers: `WWW-Authenticate` decides a renewal under `renewOn: 'invalid_token'`. */
  readonly headers: {
    /** The header's value, or `null`. */
    get(name: string): string | null;
  };
  /** The body, cancelled when a 401 is replayed, so its connection is freed. */
  readonly body: {
    /** Discards the body. */
    cancel(reason?: unknown): Promise<void>;
  } | null;
  /** Whether redirects were followed (WHATWG fetch). Missing means no redirect. */
  readonly redirected?: boolean;
  /** The final URL after redirects (WHATWG fetch): a 401 from another origin renews nothing. */
  readonly url?: string;
}

/** Any function with fetch's signature: `globalThis.fetch`, undici's `fetch`, a test fetch. */
export type FetchLike = (input: never, init?: never) => Promise<FetchResponseLike>;

/** Options of {@link fetchWithTokens}: the shared adapter options, plus the fetch to wrap. */
export interface FetchWithTokensOptions<F extends FetchLike = typeof fetch> extends TokenAdapterOptions {
  /** The fetch to wrap. Default: `globalThis.fetch`, as it is when `fetchWithTokens` is called. */
  fetch?: F | undefined;
}

type HeadersInit = ConstructorParameters<typeof Headers>[0];

interface RequestLike {
  readonly url: string;
  readonly method?: string;
  readonly headers: HeadersInit;
  readonly body: unknown;
  readonly signal?: unknown;
}

interface InitLike {
  method?: string;
  headers?: HeadersInit;
  body?: unknown;
  signal?: unknown;
}

/**
 * Wraps a fetch so that requests to the configured origins carry `Authorization: Bearer …` from `source`.
 * The result has the wrapped fetch's signature and returns its Response unchanged.
 *
 * - A DPoP token (a `TokenClient` with the `dpop` option) goes out as `Authorization: DPoP …` with a fresh `DPoP`
 *   proof for that request's method and URL, on replays too. A 401 with `WWW-Authenticate: DPoP
 *   error="use_dpop_nonce"` and a `DPoP-Nonce` is answered by one replay with a proof carrying the nonce (if
 *   the body can be sent again); the nonce of every response is remembered for the next proofs.
 *
 * - Requests to other origins, and requests that already carry `Authorization`, pass through untouched.
 * - On a 401 (see `renewOn`) the token is invalidated and the request is sent once more with a new one, if
 *   its body can be sent again (not a stream; a `Request` object with a body counts as a stream). Otherwise
 *   the 401 is returned and the next request gets a new token. Never more than one retry. At most one renewal
 *   per `renewInterval` for the same token parameters, and none for a 401 from another origin at the end of a
 *   redirect (fetch sent it no token).
 * - When no token can be had, the call rejects with the source's `TokenClientError` and nothing is sent. An
 *   aborted `signal` rejects with its reason, as fetch does.
 *
 * Throws `ConfigurationError` for invalid options.
 *
 * @typeParam F The type of the wrapped fetch, which the result keeps: `typeof fetch` by default.
 * @param source Where tokens come from: a `TokenClient`, a fake, any `TokenSource`.
 * @param options The origins that get tokens (`targets`, `anyOrigin`), the 401 policy, and the fetch to wrap.
 * @returns A function with the wrapped fetch's signature.
 * @example
 * const apiFetch = fetchWithTokens(client, { targets: { 'https://billing.internal': { audience: 'https://billing' } } });
 * const res = await apiFetch('https://billing.internal/invoices');
 */
export function fetchWithTokens<F extends FetchLike = typeof fetch>(source: TokenSource, options: FetchWithTokensOptions<F>): F {
  const tokens = new AdapterTokens(source, options, ['fetch']);
  const base = (options.fetch ?? globalThis.fetch) as unknown as (input: unknown, init?: InitLike) => Promise<FetchResponseLike>;
  if (typeof base !== 'function') throw new ConfigurationError('fetch', 'must be a fetch function (there is no globalThis.fetch here)');

  const wrapped = async (input: unknown, init?: InitLike): Promise<FetchResponseLike> => {
    const request = isRequestLike(input) ? input : undefined;
    const url = request ? request.url : input instanceof URL || typeof input === 'string' ? input : undefined;
    const target = url === undefined ? undefined : tokens.targetFor(url);
    // init.headers replaces a Request's headers (Fetch spec), so start from whichever the request will use.
    const headers = new Headers(init?.headers ?? request?.headers);
    if (target === undefined || headers.has('authorization')) return base(input, init);

    const signal = asAbortSignal(init?.signal ?? request?.signal);
    const method = init?.method ?? request?.method ?? 'GET';
    const token = await tokens.get(target, signal);
    const send = async (carried: Token) => {
      // A DPoP token gets a fresh proof for every request it goes out with, replays included.
      const { authorization, dpop } = await tokens.credentials(carried, method, url!);
      headers.set('authorization', authorization);
      if (dpop === undefined) headers.delete('dpop');
      else headers.set('dpop', dpop);
      const answer = await base(input, { ...init, headers });
      if (isDpopToken(carried)) tokens.noteNonce(carried, url!, answer.headers.get('dpop-nonce'));
      return answer;
    };
    const response = await send(token);
    // A DPoP nonce challenge: the nonce is remembered; the request goes once more with a proof that carries it.
    if (isNonceChallenge(token, response.status, response.headers.get('www-authenticate'), response.headers.get('dpop-nonce'))) {
      if (!canReplay(request, init)) return response;
      await response.body?.cancel().catch(() => {});
      return send(token);
    }
    if (!shouldRenew(tokens.config, response.status, response.headers.get('www-authenticate'), token)) return response;
    // A 401 from the end of a redirect to another origin: fetch dropped Authorization on the way, so that
    // origin never saw the token, and renewing it would only cost a token request.
    if (!answeredBy(originOf(url!)!, response.redirected === true ? [response.url ?? ''] : [])) return response;

    if (!canReplay(request, init)) {
      await tokens.discard(target, token);
      return response;
    }
    const renewal = tokens.renew(target, token, signal);
    // The token's key was renewed less than renewInterval ago: the 401 stands.
    if (renewal === undefined) return response;
    // Free the connection the 401 holds; its body is not needed.
    await response.body?.cancel().catch(() => {});
    return send(await renewal);
  };
  return wrapped as unknown as F;
}

function isRequestLike(input: unknown): input is RequestLike {
  return typeof input === 'object' && input !== null && !(input instanceof URL) && typeof (input as RequestLike).url === 'string';
}

/** A body given in init replaces the Request's; a Request's own body is a stream that the first attempt used up. */
function canReplay(request: RequestLike | undefined, init: InitLike | undefined): boolean {
  if (init?.body !== undefined) return isReplayableBody(init.body);
  return request === undefined || request.body === null || request.body === undefined;
}
