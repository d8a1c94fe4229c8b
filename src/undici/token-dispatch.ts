// One request through the interceptor: wait for the token, dispatch with it, and on a 401 that renews it hide
// that response from the caller, let its body drain, and dispatch once more with the new token.
import type { Token } from 'm2m-token';
import type { Dispatcher } from 'undici';
import type { TokenTarget } from '../adapters/options.js';
import { isDpopToken, isNonceChallenge } from '../adapters/dpop.js';
import { answeredBy, asAbortSignal, authorizationFor, isReplayableBody, shouldRenew } from '../adapters/policy.js';
import type { AdapterTokens } from '../adapters/tokens.js';
import { headerText } from '../adapters/www-authenticate.js';
import { withHeader } from './headers.js';
import { StableController } from './stable-controller.js';

type Handler = Dispatcher.DispatchHandler;
type ResponseHeaders = Parameters<NonNullable<Handler['onResponseStart']>>[2];
type UpgradeSocket = Parameters<NonNullable<Handler['onRequestUpgrade']>>[3];

export class TokenDispatch implements Dispatcher.DispatchHandler {
  readonly #tokens: AdapterTokens;
  readonly #target: TokenTarget;
  /** Where the token goes: the origin the dispatcher connects to for this request. */
  readonly #origin: string;
  readonly #dispatch: Dispatcher.Dispatch;
  readonly #opts: Dispatcher.DispatchOptions;
  readonly #handler: Dispatcher.DispatchHandler;
  readonly #signal: AbortSignal | undefined;
  // Decided before the first attempt: a stream body is consumed by it.
  readonly #replayable: boolean;
  readonly #controller = new StableController((reason) => this.#onCallerAbort(reason));
  #token: Token | undefined;
  #attempts = 0;
  /**
   * The URLs of the current attempt so far, when a redirect interceptor below this one follows redirects: it
   * hands each hop's context a `history` (undici's RedirectHandler), which at the final response lists every hop.
   */
  #hops: readonly unknown[] | undefined;
  /** Set while a 401 is being hidden from the caller: the renewal that the next attempt waits for. */
  #renewal: Promise<Token> | undefined;
  /** True while no attempt is in flight: waiting for the first token, or for the renewed one. */
  #waiting = false;
  /** The caller's handler got its last callback (end or error); nothing more goes to it. */
  #finished = false;

  constructor(tokens: AdapterTokens, target: TokenTarget, origin: string, dispatch: Dispatcher.Dispatch, opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) {
    this.#tokens = tokens;
    this.#target = target;
    this.#origin = origin;
    this.#dispatch = dispatch;
    this.#opts = opts;
    this.#handler = handler;
    // undici.request passes its `signal` down in the options; fetch does not, it aborts through the controller.
    this.#signal = asAbortSignal((opts as { signal?: unknown }).signal);
    this.#replayable = isReplayableBody(opts.body);
  }

  start(): void {
    this.#send(this.#tokens.get(this.#target, this.#signal));
  }

  #send(token: Promise<Token>): void {
    this.#waiting = true;
    token
      .then((t) => {
        // A DPoP token gets a fresh proof for every attempt it goes out with; any other token, only its header.
        if (!isDpopToken(t)) return this.#go(t, authorizationFor(t), undefined);
        return this.#tokens.credentials(t, this.#opts.method, this.#url()).then(({ authorization, dpop }) => this.#go(t, authorization, dpop));
      })
      .catch((error: unknown) => this.#fail(error));
  }

  #go(token: Token, authorization: string, dpop: string | undefined): void {
    if (this.#finished) return;
    this.#waiting = false;
    this.#token = token;
    this.#attempts++;
    const headers = withHeader(this.#opts.headers, 'authorization', authorization);
    this.#dispatch({ ...this.#opts, headers: dpop === undefined ? headers : withHeader(headers, 'dpop', dpop) }, this);
  }

  /** The request's URL, for the DPoP proof's `htu`: where the token goes, and the request's path. */
  #url(): URL {
    return new URL(this.#opts.path, this.#origin || String(this.#opts.origin ?? ''));
  }

  #fail(error: unknown): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#handler.onResponseError?.(this.#controller, error as Error);
  }

  /** An abort while no attempt is in flight reaches no connection: end the request here. */
  #onCallerAbort(reason: Error): void {
    if (this.#waiting) this.#fail(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.#controller.target = controller;
    const history = (context as { history?: unknown } | null | undefined)?.history;
    this.#hops = Array.isArray(history) ? history : undefined;
    // The caller sees one request: the start of the first attempt.
    if (this.#attempts === 1) this.#handler.onRequestStart?.(this.#controller, context);
  }

  onRequestUpgrade(_controller: Dispatcher.DispatchController, statusCode: number, headers: ResponseHeaders, socket: UpgradeSocket): void {
    this.#handler.onRequestUpgrade?.(this.#controller, statusCode, headers, socket);
  }

  onResponseStarted(): void {
    this.#handler.onResponseStarted?.();
  }

  onBodySent(chunk: Buffer): void {
    this.#handler.onBodySent?.(chunk);
  }

  onRequestSent(): void {
    this.#handler.onRequestSent?.();
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: ResponseHeaders, statusMessage?: string): void {
    const token = this.#token!;
    if (statusCode >= 200 && isDpopToken(token)) {
      const nonce = headerText(headers['dpop-nonce']);
      const here = answeredBy(this.#origin, (this.#hops ?? []).map((hop) => (hop instanceof URL ? hop : String(hop))));
      if (here) this.#tokens.noteNonce(token, this.#url(), nonce);
      // A DPoP nonce challenge: hidden like a renewed 401, and the request goes once more with a proof that
      // carries the nonce (the same token). One replay per request, whichever asked for it.
      if (here && this.#attempts === 1 && this.#replayable && isNonceChallenge(token, statusCode, headerText(headers['www-authenticate']), nonce)) {
        this.#renewal = Promise.resolve(token);
        return;
      }
    }
    if (
      statusCode >= 200 &&
      this.#attempts === 1 &&
      shouldRenew(this.#tokens.config, statusCode, headerText(headers['www-authenticate']), token) &&
      // A 401 at the end of a redirect to another origin (a redirect interceptor composed below this one): that
      // origin got no token (undici's redirect drops Authorization there), so there is nothing to renew.
      answeredBy(this.#origin, (this.#hops ?? []).map((hop) => (hop instanceof URL ? hop : String(hop))))
    ) {
      if (!this.#replayable) {
        void this.#tokens.discard(this.#target, token);
      } else {
        // Renew while the 401's body drains; the next attempt goes out when both are done. None when the token's
        // key was renewed less than renewInterval ago: the 401 stands.
        const renewal = this.#tokens.renew(this.#target, token, this.#signal);
        if (renewal !== undefined) {
          this.#renewal = renewal;
          renewal.catch(() => {}); // handled in onResponseEnd; this only keeps it from counting as unhandled
          return;
        }
      }
    }
    this.#handler.onResponseStart?.(this.#controller, statusCode, headers, statusMessage);
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#renewal) return; // the hidden 401's body
    this.#handler.onResponseData?.(this.#controller, chunk);
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: ResponseHeaders): void {
    const renewal = this.#renewal;
    if (renewal) {
      this.#renewal = undefined;
      this.#send(renewal);
      return;
    }
    if (this.#finished) return;
    this.#finished = true;
    this.#handler.onResponseEnd?.(this.#controller, trailers);
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, error: Error): void {
    this.#renewal = undefined;
    this.#fail(error);
  }
}
