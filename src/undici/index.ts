/**
 * `m2m-token/undici`: {@link tokenInterceptor}, a `dispatcher.compose()` interceptor that puts tokens on undici
 * requests to the origins you list, and renews them once on a 401.
 *
 * @module m2m-token/undici
 */
// m2m-token/undici: an interceptor for dispatcher.compose(), so undici.request, undici's fetch and libraries
// built on undici send tokens to the origins you configured and renew them once on a 401.
import { ConfigurationError, type TokenSource } from 'm2m-token';
import type { Dispatcher } from 'undici';
import type { TokenAdapterOptions } from '../adapters/options.js';
import { originOf } from '../adapters/policy.js';
import { AdapterTokens } from '../adapters/tokens.js';
import { hasHeader } from './headers.js';
import { TokenDispatch } from './token-dispatch.js';

export type { RenewOn, TokenAdapterOptions, TokenTarget } from '../adapters/options.js';

/**
 * An undici interceptor that sets `Authorization: Bearer …` from `source` on requests to the configured
 * origins. Use it with `compose`: `new Agent().compose(tokenInterceptor(client, { targets }))`.
 *
 * - Requests to other origins, and requests that already carry `Authorization`, pass through untouched.
 * - On a 401 (see `renewOn`) the 401 is not passed on: the token is invalidated and the request is dispatched
 *   once more with a new one, if its body can be sent again (none, a string, bytes or FormData). A stream or
 *   iterable body cannot; undici's `fetch` sends every body as one. Then the 401 is passed on and the next
 *   request gets a new token. Never more than one retry. At most one renewal per `renewInterval` for the same
 *   token parameters, and none for a 401 from another origin at the end of a redirect (it got no token).
 * - When no token can be had, the request fails with the source's `TokenClientError` and nothing is sent.
 *   An aborted `signal` fails it with the signal's reason.
 *
 * It sends a token where the connection really goes: for a `Client` or `Pool` (or a `compose()` chain over one),
 * that is the dispatcher's own origin, whatever `opts.origin` a request names; for an `Agent`, `ProxyAgent` or
 * `MockAgent`, `opts.origin`. Through a `BalancedPool`, whose upstream is not known in advance, only `anyOrigin`
 * attaches a token. It needs undici 8.10.1 or later, whose `compose()` passes interceptors that origin; with an
 * older undici, `compose()` throws a `ConfigurationError`.
 *
 * With undici's redirect interceptor, list this one first: `compose(tokenInterceptor(…), interceptors.redirect(…))`.
 * compose() wraps in order, so the redirect interceptor is the outer one and dispatches each hop through this
 * one: every hop gets the token of its own origin (or none), and a 401 on a hop renews that hop's token. In the
 * other order this interceptor sees only the first hop: a same-origin redirect carries that first token along,
 * and a cross-origin one none (undici's redirect drops `Authorization` there).
 *
 * Throws `ConfigurationError` for invalid options.
 *
 * @example
 * const dispatcher = new Agent().compose(tokenInterceptor(client, { targets: { 'https://billing.internal': { audience: 'https://billing' } } }));
 * const { statusCode, body } = await request('https://billing.internal/invoices', { dispatcher });
 *
 * @example
 * // Following redirects: the token interceptor first, so that every hop passes through it.
 * const dispatcher = new Agent().compose(tokenInterceptor(client, { targets }), interceptors.redirect({ maxRedirections: 3 }));
 */
export function tokenInterceptor(source: TokenSource, options: TokenAdapterOptions): Dispatcher.DispatcherComposeInterceptor {
  const tokens = new AdapterTokens(source, options);
  // compose() calls this with the dispatcher's own origin as a second argument (undici 8.10.1 and later):
  // a string for a Client or Pool, which connect to that origin whatever opts.origin says; null for a dispatcher
  // that picks among several (BalancedPool); undefined for one that goes where opts.origin says (Agent,
  // ProxyAgent, MockAgent). Without it, a Pool's request naming another origin would get that origin's token.
  return function m2mTokenInterceptorFactory(dispatch: Dispatcher.Dispatch, ...rest: unknown[]): Dispatcher.Dispatch {
    if (rest.length === 0) {
      throw new ConfigurationError(
        'undici',
        'tokenInterceptor was not told where the dispatcher connects: it needs undici 8.10.1 or later, whose compose() passes the dispatcher\'s origin to interceptors (npm install undici@^8.10.1). Called by hand, pass it as the second argument: the Client\'s or Pool\'s origin, or undefined for an Agent.',
      );
    }
    const fixed = dispatcherOrigin(rest[0]);
    // Exactly two parameters: compose() checks the arity.
    return function m2mTokenInterceptor(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
      // Where this request really goes: a Client's or Pool's own origin, whatever opts.origin says.
      const origin = fixed === undefined ? (opts.origin === undefined ? undefined : originOf(opts.origin)) : fixed;
      // Only anyOrigin may send a token to a destination nobody can name (BalancedPool).
      const target = origin === undefined ? undefined : origin === null ? tokens.config.anyOrigin : tokens.targetFor(origin);
      if (target === undefined || hasHeader(opts.headers, 'authorization')) return dispatch(opts, handler);
      new TokenDispatch(tokens, target, origin ?? '', dispatch, opts, handler).start();
      // The request waits for its token rather than for the dispatcher: nothing to back off from yet.
      return true;
    };
  };
}

/** The origin compose() reported: a string (normalized), `null` (several), or `undefined` (opts.origin decides). */
function dispatcherOrigin(value: unknown): string | null | undefined {
  if (value === undefined || value === null) return value;
  if (typeof value === 'string' || value instanceof URL) return originOf(value) ?? null;
  // Something else: where the requests go cannot be told, so no target gets a token through it.
  return null;
}
