// m2m-token/undici: an interceptor for dispatcher.compose(), so undici.request, undici's fetch and libraries
// built on undici send tokens to the origins you configured and renew them once on a 401.
import type { TokenSource } from 'm2m-token';
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
  return (dispatch) =>
    // Exactly two parameters: compose() checks the arity.
    function m2mTokenInterceptor(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
      const origin = opts.origin === undefined ? undefined : originOf(opts.origin);
      const target = origin === undefined ? undefined : tokens.targetFor(origin);
      if (target === undefined || hasHeader(opts.headers, 'authorization')) return dispatch(opts, handler);
      new TokenDispatch(tokens, target, origin!, dispatch, opts, handler).start();
      // The request waits for its token rather than for the dispatcher: nothing to back off from yet.
      return true;
    };
}
