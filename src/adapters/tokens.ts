// The one stateful piece the adapters share: getting a token for a target, and renewing it after a 401 so
// that many requests rejected with the same token cause one renewal, not one each, and that an API answering
// 401 to every token costs one token request per renewInterval, not one per call.
import { ConfigurationError, type Token, type TokenSource } from 'm2m-token';
import { isDpopToken } from './dpop.js';
import { resolveAdapterOptions, type AdapterConfig, type TokenTarget } from './options.js';
import { authorizationFor, targetFor, tokenKey } from './policy.js';

export class AdapterTokens {
  readonly config: AdapterConfig;
  readonly #source: TokenSource;
  // Keyed by the rejected Token object: when hundreds of in-flight requests carrying one token come back 401,
  // the first starts the renewal and the rest reuse its result, however late their 401 arrives. Weak, so a
  // token nobody holds any more is forgotten with its entry.
  readonly #renewals = new WeakMap<Token, Promise<Token>>();
  readonly #discarded = new WeakSet<Token>();
  /** Token key → when its last renewal (or discard) started, on `config.clock`. One entry per distinct target. */
  readonly #lastRenewal = new Map<string, number>();
  readonly #keys = new WeakMap<TokenTarget, string>();

  /** Validates `source` and the shared options; `ownOptions` are the names the adapter itself takes. */
  constructor(source: unknown, options: unknown, ownOptions: readonly string[] = []) {
    if (source === null || typeof source !== 'object' || typeof (source as TokenSource).getToken !== 'function') {
      throw new ConfigurationError('source', 'must be a TokenSource, such as a TokenClient (an object with getToken())');
    }
    this.#source = source as TokenSource;
    this.config = resolveAdapterOptions(options, ownOptions);
  }

  /** The token parameters for a request to `url`, or `undefined` when it must pass through untouched. */
  targetFor(url: string | URL): TokenTarget | undefined {
    return targetFor(this.config, url);
  }

  /**
   * A token for `target`, from the source (its cache and single flight make concurrent callers share one
   * request). Rejects with the source's typed error; when `signal` aborted the wait, with `signal.reason`,
   * as the HTTP client itself would have.
   */
  async get(target: TokenTarget, signal?: AbortSignal): Promise<Token> {
    try {
      return await this.#source.getToken(signal ? { ...target, signal } : { ...target });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw error;
    }
  }

  /**
   * The credentials of one request that carries `token`: its `Authorization` value and, for a DPoP token, a fresh
   * proof for this method and URL (the source's `proof()`); `undefined` for any other token. Call it for every
   * request, replays included: a proof is good for one request only.
   */
  async credentials(token: Token, method: string, url: string | URL): Promise<{ authorization: string; dpop: string | undefined }> {
    const authorization = authorizationFor(token);
    if (!isDpopToken(token)) return { authorization, dpop: undefined };
    if (typeof this.#source.proof !== 'function') {
      throw new ConfigurationError('source', 'returned a DPoP token but has no proof() method to make the DPoP proof each request needs; use a TokenClient with the dpop option');
    }
    const dpop = await this.#source.proof(token, method.toUpperCase(), url);
    // Like the token, the proof goes into a header: visible ASCII only, or the request is not sent.
    if (typeof dpop !== 'string' || !/^[\x21-\x7e]+$/.test(dpop)) {
      throw new ConfigurationError('source', 'proof() returned something that is not a compact JWT; the request was not sent');
    }
    return { authorization, dpop };
  }

  /** A `DPoP-Nonce` the server of `url` sent in answer to a request that carried `token`: the source remembers it. */
  noteNonce(token: Token, url: string | URL, nonce: string | null | undefined): void {
    if (typeof nonce === 'string' && nonce !== '' && isDpopToken(token)) this.#source.rememberNonce?.(url, nonce);
  }

  /**
   * After a 401 to a request that carried `rejected`: drops that token from the source's cache and gets a new
   * one, once per rejected token however many requests saw it rejected. `undefined` when the token's key was
   * renewed less than `renewInterval` ago: then the 401 stands, and the cached token stays.
   */
  renew(target: TokenTarget, rejected: Token, signal?: AbortSignal): Promise<Token> | undefined {
    let renewal = this.#renewals.get(rejected);
    if (renewal === undefined) {
      if (!this.#mayRenew(target)) return undefined;
      const started = this.#refresh(target);
      renewal = started;
      this.#renewals.set(rejected, started);
      // A failed renewal is forgotten, so a later 401 with the same token tries again (after renewInterval).
      started.catch(() => {
        if (this.#renewals.get(rejected) === started) this.#renewals.delete(rejected);
      });
    }
    return abortable(renewal, signal);
  }

  /**
   * After a 401 that cannot be retried (its body was a stream): drops the rejected token from the cache so the
   * next request gets a new one, unless a renewal already replaced it. Within `renewInterval` of the key's last
   * renewal it does nothing: dropping the token costs the next request a token request, as a renewal does.
   */
  async discard(target: TokenTarget, rejected: Token): Promise<void> {
    if (this.#renewals.has(rejected) || this.#discarded.has(rejected)) return;
    if (!this.#mayRenew(target)) return;
    this.#discarded.add(rejected);
    try {
      await this.#source.invalidate?.({ ...target });
    } catch {
      // The caller gets the 401 it would have got anyway; the next 401 with this token tries again.
      this.#discarded.delete(rejected);
    }
  }

  /** Whether `target`'s token may be renewed now; if so, starts its interval. */
  #mayRenew(target: TokenTarget): boolean {
    let key = this.#keys.get(target);
    if (key === undefined) {
      key = tokenKey(target);
      this.#keys.set(target, key);
    }
    const now = this.config.clock.now();
    const last = this.#lastRenewal.get(key);
    // A clock that went back (an injected wall clock) does not hold renewals off.
    if (last !== undefined && now >= last && now - last < this.config.renewInterval) return false;
    this.#lastRenewal.set(key, now);
    return true;
  }

  async #refresh(target: TokenTarget): Promise<Token> {
    await this.#source.invalidate?.({ ...target });
    return this.#source.getToken({ ...target, forceRefresh: true });
  }
}

/** `promise`, or `signal.reason` as soon as `signal` aborts: one caller stops waiting, the shared work goes on. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
