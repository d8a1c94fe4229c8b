import { monotonicNow } from './monotonic.js';
import type { LRUCache } from 'lru-cache';
import { cacheKey } from './cache-key.js';
import { CallKeyMemo } from './call-key-memo.js';
import { assertionAudience, authenticate, chooseMethod, fixedAuthParts, refusalHint, secretForms, type ClientAuthentication, type ClientAuthParts } from './client-auth.js';
import { credentialFingerprint } from './credential-fingerprint.js';
import { Discovery } from './discovery.js';
import { DpopKey } from './dpop.js';
import { cacheChannel, fingerprint, refreshChannel, requestChannel, storeErrorChannel, type CacheLookupMessage, type RequestTrace } from './diagnostics.js';
import { ConfigurationError, ErrorCode, isTransientFailure, REDACTED, scrubError, TokenClientError, TokenResponseError, type M2MError } from './errors.js';
import { optionsFromEnv, type EnvOverrides, type EnvRecord } from './env.js';
import { scheduleToken, type TokenSchedule } from './expiry.js';
import { checkCallOptions, resolveOptions, type ResolvedOptions, type TokenClientErrorEvent, type TokenClientOptions } from './options.js';
import { abortedError, SingleFlight, waitFor } from './single-flight.js';
import { QuotaExceededError } from './quota.js';
import { QuotaGuard, statusOf } from './quota-guard.js';
import type { TokenClientStats, TokenStats } from './stats.js';
import { SharedStore } from './stores/shared-store.js';
import type { StoredToken } from './stores/token-store.js';
import { mergeTokenParams, type TokenParams } from './token-params.js';
import { buildTokenRequest, defaultUserAgent } from './token-request.js';
import { header, parseTokenResponse, type HttpResponse, type ResponseContext } from './token-response.js';
import { createToken, requestHeaders, type GetTokenOptions, type RequestHeaders, type RequestHeadersOptions, type Token, type TokenSource } from './token-source.js';
import { closedError, Transport, unexpectedError, type HttpRequest } from './transport.js';
import { assertSupportedNode } from './runtime.js';
import { systemClock } from './types.js';

let lruCacheModule: Promise<typeof import('lru-cache')> | undefined;
const loadLruCache = () => (lruCacheModule ??= import('lru-cache'));

interface CacheEntry extends TokenSchedule {
  token: Token;
  /** Monotonic minus wall time when the entry was made: `monotonic() - offset` is the wall time had the clock not been stepped. */
  offset: number;
  /** Made once: a cached call hands out this same settled promise instead of allocating one. */
  resolved: Promise<Token>;
  /** Background refreshes that failed in a row; each one pushes `refreshAt` further out. */
  refreshFailures: number;
  /** Stale-if-error: the token may still be handed out while the endpoint fails, until this point (wall time). */
  staleUntil: number;
  /** The endpoint's last answer for this key was a transient failure: calls past the leeway get this token at once. */
  failing: boolean;
  /** While failing: when the next background attempt may start (backoff). */
  retryAt: number;
  /** The failure behind `failing`, for the `'stale'` report. */
  lastError: TokenClientError | undefined;
  /** When a stale hand-out of this entry was last reported through onError. */
  staleReportedAt: number;
  /** The `m2m-token:cache` message of a hit on this entry, made on the first hit a subscriber sees (then reused). */
  hitMessage: CacheLookupMessage | undefined;
}

interface FlightState {
  /** True once the flight's token can only come from the token endpoint (not a possibly older stored copy). */
  fresh: boolean;
  /**
   * Set when a forced refresh or invalidate() overtook this flight: its token still goes to the callers that
   * waited for it, but it must not be cached over what replaced it (it may be the very token being dropped).
   */
  superseded: boolean;
  /** A forced refresh (forceRefresh, or a token an API refused) is never answered with a stale token. */
  forced: boolean;
  /**
   * The cache entry whose token was offered when the endpoint failed transiently: waiters stop waiting. A caller
   * that joins later gets it only while it is still within its stale-if-error limit.
   */
  staleOffer: CacheEntry | undefined;
  /** Callers waiting for that offer (made only when a caller could use one: it costs nothing on other flights). */
  staleWaiters: ((token: Token) => void)[] | undefined;
  /** A token read from the shared store that is past its leeway but still valid: the fallback of a fresh process. */
  storeCandidate: CacheEntry | undefined;
}

/**
 * Gets client_credentials tokens: in-memory cache → optional shared store → one request per key at a time.
 * Orchestration only: request building, response parsing, HTTP and expiry arithmetic live in their own modules.
 * Create one per application (client id) and keep it for the process's lifetime: the cache lives in it.
 *
 * @example
 * ```ts
 * const client = new TokenClient({ domain: 'tenant.eu.auth0.com', clientId, clientSecret, audience: 'https://billing.example.com/api' });
 * const token = await client.getToken(); // cached; one request however many callers wait
 * const authorization = await client.getAuthorizationHeader({ organization: 'org_acme' }); // another cache key
 * await client.close(); // on shutdown
 * ```
 */
export class TokenClient implements TokenSource {
  readonly #options: ResolvedOptions;
  /** Tokens for every key but the default one; created with the first such key (see #ensureCache). */
  #cache: LRUCache<string, CacheEntry> | undefined;
  readonly #flights = new SingleFlight<Token, FlightState>();
  readonly #callKeys: CallKeyMemo<{ key: string; params: TokenParams }>;
  readonly #requests = new Map<string, HttpRequest>();
  readonly #transport: Transport;
  readonly #defaultKey: string;
  readonly #userAgent: string;
  readonly #discovery: Discovery | undefined;
  readonly #staticEndpoint: EndpointInfo | undefined;
  readonly #shared: SharedStore | undefined;
  /** DPoP (RFC 9449): the key tokens are bound to, the servers' nonces, the proofs. */
  readonly #dpop: DpopKey | undefined;
  // The constructor's defaults get a slot of their own: the commonest call skips the LRU bookkeeping.
  #defaultEntry: CacheEntry | undefined;
  readonly #now: () => number;
  readonly #monotonic: () => number;
  /** The latest wall time seen, and whether the wall clock was ever seen going back (then both clocks are read). */
  #lastNow = -Infinity;
  #clockStepped = false;
  #closed = false;
  // Observability: stats() counters (a hit costs one increment), quota state, key fingerprints for the channels.
  #hits = 0;
  #misses = 0;
  #requestsSent = 0;
  #failures = 0;
  #refreshes = 0;
  #lastError: TokenClientStats['lastError'];
  readonly #since: number;
  readonly #quota: QuotaGuard;
  readonly #fingerprints = new Map<string, string>();

  /**
   * A client configured from the environment (`M2M_DOMAIN` or `AUTH0_DOMAIN`, `M2M_ISSUER` or
   * `M2M_TOKEN_ENDPOINT`, `M2M_CLIENT_ID`, `M2M_CLIENT_SECRET`, `M2M_PRIVATE_KEY`, `M2M_AUDIENCE`, … : see
   * `docs/cli.md`), with `overrides` over it. Throws `ConfigurationError` naming the variable.
   *
   * @example
   * ```ts
   * // M2M_DOMAIN=tenant.eu.auth0.com M2M_CLIENT_ID=… M2M_CLIENT_SECRET_FILE=/run/secrets/m2m M2M_AUDIENCE=https://billing/
   * const client = TokenClient.fromEnv(process.env, { userAgent: 'billing-service/2.1' });
   * ```
   */
  static fromEnv(env: EnvRecord = process.env, overrides: EnvOverrides = {}): TokenClient {
    return new TokenClient(optionsFromEnv(env, overrides));
  }

  constructor(options: TokenClientOptions) {
    assertSupportedNode();
    const o = resolveOptions(options);
    this.#options = o;
    this.#callKeys = new CallKeyMemo(2 * o.cache.max);
    this.#transport = new Transport({ clock: o.clock, ...o.transport });
    this.#dpop = o.dpop && new DpopKey(o.dpop);
    this.#defaultKey = cacheKey(o.endpoint.id, o.credentials.clientId, o.defaults, this.#dpop?.binding);
    this.#now = o.clock === systemClock ? Date.now : () => o.clock.now();
    const { clock } = o;
    this.#monotonic = clock === systemClock ? monotonicNow : clock.monotonic ? () => clock.monotonic!() : this.#now;
    this.#userAgent = defaultUserAgent(o.transport.userAgent);
    if (o.endpoint.kind === 'issuer') {
      this.#discovery = new Discovery(o.endpoint.issuer, this.#transport, o.allowInsecureHttp, this.#userAgent);
    } else {
      this.#staticEndpoint = this.#endpointFor(o.endpoint.url, o.clientAuthentication!, o.endpoint.assertionAudience);
    }
    this.#shared = o.cache.store &&
      new SharedStore(o.cache.store, o.cache.storeTimeout, (event) => this.#report(event), credentialFingerprint(o.credentials, o.transport.tls));
    this.#since = this.#now();
    this.#quota = new QuotaGuard({
      options: o.quota,
      store: o.cache.store,
      storeTimeout: o.cache.storeTimeout,
      endpointId: o.endpoint.id,
      clientId: o.credentials.clientId,
      now: this.#now,
      fingerprint: (key) => this.#fingerprint(key),
      report: (event) => this.#report(event),
      closed: () => this.#closed,
    });
  }

  /**
   * A usable token for these options (all optional, defaults from the constructor): from the in-memory cache
   * when it has one, else from the shared store, else from the token endpoint, with one request per key however
   * many callers wait.
   */
  getToken(options?: GetTokenOptions): Promise<Token> {
    if (this.#closed) return Promise.reject(closedError());
    let key = this.#defaultKey;
    let params = this.#options.defaults;
    if (options !== undefined) {
      try {
        checkCallOptions(options);
        if (!usesDefaults(options)) ({ key, params } = this.#callKey(options));
      } catch (error) {
        return Promise.reject(error as Error);
      }
      // Checked before any flight starts: an aborted caller must not cause a request.
      if (options.signal?.aborted) return Promise.reject(abortedError(options.signal));
      if (options.forceRefresh === true) return this.#join(key, params, true, options.signal);
    }
    const entry = key === this.#defaultKey ? this.#defaultEntry : this.#cache?.get(key);
    if (entry !== undefined) {
      const now = this.#elapsedNow(entry);
      if (now < entry.refreshAt) {
        this.#hits++;
        if (cacheChannel.hasSubscribers) cacheChannel.publish((entry.hitMessage ??= this.#lookupMessage(key, 'hit')));
        return entry.resolved;
      }
      if (now < entry.usableUntil) {
        this.#hits++;
        if (cacheChannel.hasSubscribers) this.#publishLookup(key, 'stale');
        this.#refreshInBackground(key, params);
        return entry.resolved;
      }
      // Past the leeway, the endpoint failing, the token still valid: hand it out rather than wait on the endpoint.
      if (entry.failing && now <= entry.staleUntil) {
        this.#hits++;
        if (cacheChannel.hasSubscribers) this.#publishLookup(key, 'stale-if-error');
        return this.#serveStale(key, params, entry, now);
      }
    }
    this.#misses++;
    if (cacheChannel.hasSubscribers) this.#publishLookup(key, 'miss');
    return this.#join(key, params, false, options?.signal);
  }

  /**
   * The headers that authorize one request to an API, for callers without an adapter: `authorization` with the
   * token for these options (`Bearer …`, or `DPoP …` with the `dpop` option), and for a DPoP token `dpop`, a fresh
   * proof for this `method` and `url` (with the server's latest nonce). Make one per request: a proof is good
   * for one request only.
   *
   * ```ts
   * const headers = await client.getRequestHeaders({ method: 'GET', url, audience: 'https://billing' });
   * await fetch(url, { headers: { ...headers } });
   * ```
   */
  async getRequestHeaders(options: RequestHeadersOptions): Promise<RequestHeaders> {
    if (options === null || typeof options !== 'object') throw new ConfigurationError('getRequestHeaders', 'options must be { method, url, …getToken options }');
    const { method, url, ...tokenOptions } = options;
    if (typeof method !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(method)) throw new ConfigurationError('getRequestHeaders.method', 'must be an HTTP method such as GET');
    const target = absoluteUrl(url, 'getRequestHeaders.url');
    const token = await this.getToken(tokenOptions);
    const authorization = `${token.tokenType} ${token.accessToken}`;
    return requestHeaders(authorization, token.tokenType === 'DPoP' ? await this.proof(token, method, target) : undefined);
  }

  /**
   * DPoP: a fresh proof (the `DPoP` header) for one request that carries `token`, a token of this client whose
   * `tokenType` is `DPoP`. The adapters call it for every request; {@link getRequestHeaders} does both steps.
   */
  async proof(token: Token, method: string, url: string | URL): Promise<string> {
    const dpop = this.#dpop;
    if (dpop === undefined) throw new ConfigurationError('dpop', 'is not set: this client makes no DPoP proofs');
    return dpop.proof(method, absoluteUrl(url, 'proof.url'), token);
  }

  /** DPoP: a `DPoP-Nonce` a server sent; the next proofs for that server's origin carry it. Ignored without DPoP. */
  rememberNonce(url: string | URL, nonce: string): void {
    try {
      this.#dpop?.rememberNonce(url, nonce);
    } catch {
      // An unparsable URL: no server to remember it for.
    }
  }

  /**
   * A snapshot for health endpoints: counts since construction, the cached tokens (keys as fingerprints) with their
   * next refresh, the last quota reading and the quota blocks in force. Cheap: counting costs the hot path one
   * increment; the snapshot itself is built only here.
   */
  stats(): TokenClientStats {
    const tokens: TokenStats[] = [];
    const add = (key: string, entry: CacheEntry) =>
      tokens.push({ key: this.#fingerprint(key), expiresAt: entry.token.expiresAt, refreshAt: entry.refreshAt, usableUntil: entry.usableUntil, failing: entry.failing });
    if (this.#defaultEntry !== undefined) add(this.#defaultKey, this.#defaultEntry);
    if (this.#cache !== undefined) for (const [key, entry] of this.#cache.entries()) add(key, entry);
    return {
      since: this.#since,
      hits: this.#hits,
      misses: this.#misses,
      requests: this.#requestsSent,
      failures: this.#failures,
      refreshes: this.#refreshes,
      lastError: this.#lastError,
      tokens,
      quota: this.#quota.last,
      blocks: this.#quota.blocks(),
    };
  }

  /** `Authorization` header value for these options, e.g. `Bearer eyJ…`. */
  async getAuthorizationHeader(options?: GetTokenOptions): Promise<string> {
    const token = await this.getToken(options);
    return `${token.tokenType} ${token.accessToken}`;
  }

  /**
   * Drops the cached token for these options from memory at once, and from the shared store; the promise
   * settles when the store has answered. It rejects only for invalid options: store failures go to `onError`.
   */
  invalidate(options?: GetTokenOptions): Promise<void> {
    let key = this.#defaultKey;
    if (options !== undefined) {
      try {
        checkCallOptions(options);
        if (!usesDefaults(options)) key = this.#callKey(options).key;
      } catch (error) {
        return Promise.reject(error as Error);
      }
    }
    this.#forget(key);
    const flight = this.#flights.get(key);
    if (flight) flight.meta.superseded = true;
    return this.#shared ? this.#shared.delete(key) : Promise.resolve();
  }

  /** Aborts requests in flight, waits for pending store writes and releases the HTTP Agent. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([this.#transport.close(), this.#shared?.settle(), this.#quota.settle()]);
  }

  #entryFor(token: Token): CacheEntry {
    const now = this.#now();
    // Seen here too, so a step back before the first cached call is noticed.
    if (now < this.#lastNow) this.#clockStepped = true;
    else this.#lastNow = now;
    // A token may claim to live for ever (expires_in 1e20, a JWT exp of 1e300): its cache entry ends at the cap.
    const capped = token.expiresAt - now > MAX_CACHED_LIFETIME ? { expiresAt: now + MAX_CACHED_LIFETIME, expiresIn: MAX_CACHED_LIFETIME } : token;
    const stale = this.#options.staleIfError;
    // Fields listed, not spread: one object shape for every entry, built without a copy (made once per token fetched).
    const { usableUntil, refreshAt } = scheduleToken(capped, this.#options.expiry);
    return {
      token,
      resolved: Promise.resolve(token),
      refreshFailures: 0,
      offset: this.#monotonic() - now,
      usableUntil,
      refreshAt,
      staleUntil: stale ? capped.expiresAt - (stale.minRemaining ?? Math.min(10_000, capped.expiresIn / 10)) : -Infinity,
      failing: false,
      retryAt: 0,
      lastError: undefined,
      staleReportedAt: -Infinity,
      hitMessage: undefined,
    };
  }

  /**
   * Now, for this entry's deadlines: the later of the wall clock and the monotonic clock's view of it, so an entry
   * ends at whichever deadline comes first, even after the system clock was stepped back. Until the wall clock is
   * seen going back, both agree and the monotonic clock is not read: this is the cached call's hot path.
   */
  #elapsedNow(entry: CacheEntry): number {
    const now = this.#now();
    if (now >= this.#lastNow && !this.#clockStepped) {
      this.#lastNow = now;
      return now;
    }
    this.#clockStepped = true;
    return Math.max(now, this.#monotonic() - entry.offset);
  }

  /**
   * lru-cache is loaded with the first key other than the default one, not at import: it is two thirds of the
   * package's import time, and most services (and every cold start) only ever use the default token.
   */
  async #ensureCache(): Promise<void> {
    const { LRUCache } = await loadLruCache();
    this.#cache ??= new LRUCache({ max: this.#options.cache.max });
  }

  /** Per-call options → cache key, memoized (see CallKeyMemo); extraParams are rare and not memoized. */
  #callKey(options: GetTokenOptions): { key: string; params: TokenParams } {
    const { audience, organization, scope, resource, extraParams } = options;
    if (extraParams === undefined) {
      const known = this.#callKeys.get(audience, organization, scope, resource);
      if (known !== undefined) return known;
    }
    const params = mergeTokenParams(this.#options.defaults, options);
    const resolved = { key: this.#keyFor(params), params };
    if (extraParams === undefined) this.#callKeys.set(audience, organization, scope, resource, resolved);
    return resolved;
  }

  #remember(key: string, entry: CacheEntry): void {
    if (key === this.#defaultKey) this.#defaultEntry = entry;
    else this.#cache?.set(key, entry);
  }

  #forget(key: string): void {
    if (key === this.#defaultKey) this.#defaultEntry = undefined;
    else this.#cache?.delete(key);
  }

  #keyFor(params: TokenParams): string {
    return cacheKey(this.#options.endpoint.id, this.#options.credentials.clientId, params, this.#dpop?.binding);
  }

  /** Where and how to ask, from the issuer's metadata (fetched once, shared). */
  async #discoveredEndpoint(deadline: number): Promise<EndpointInfo> {
    const metadata = await this.#discovery!.metadata(deadline);
    const o = this.#options;
    // RFC 8705 §5: a request that carries a client certificate goes to the mTLS alias when there is one.
    const url = (o.transport.tls && metadata.mtlsTokenEndpoint) || metadata.tokenEndpoint;
    // RFC 8414 §2: a server that does not list its methods supports client_secret_basic.
    const method = o.clientAuthentication ?? chooseMethod(o.credentials, metadata.authMethods ?? ['client_secret_basic']);
    // A key the server cannot accept fails here, before any token request.
    this.#dpop?.chooseAlg(metadata.dpopAlgs);
    return this.#endpointFor(url, method, metadata.issuer);
  }

  #endpointFor(url: URL, method: ClientAuthentication, issuer: string): EndpointInfo {
    const o = this.#options;
    return {
      url,
      method,
      assertionAudience: assertionAudience(o.credentials, issuer, url),
      auth: fixedAuthParts(method, o.credentials),
      responseContext: {
        endpoint: url.origin,
        allowedTokenTypes: o.allowedTokenTypes,
        defaultLifetime: o.expiry.defaultLifetime,
        secrets: [o.credentials.clientSecret],
        refusalHint: () => refusalHint(method, o.credentials, issuer, url),
        dpop: this.#dpop === undefined ? undefined : this.#dpop.allowBearer ? 'allow-bearer' : 'required',
      },
    };
  }

  #join(key: string, params: TokenParams, force: boolean, signal: AbortSignal | undefined): Promise<Token> {
    let flight = this.#flights.get(key);
    // A forced refresh must not be served a stored copy of the token it is replacing.
    // A superseded flight (overtaken by invalidate() or a forced refresh) is not joined: it may bring back the
    // very token that was dropped.
    if (flight === undefined || flight.meta.superseded || (force && !flight.meta.fresh)) {
      if (flight) flight.meta.superseded = true;
      flight = this.#startFlight(key, params, force);
    }
    const waiting = waitFor(flight.promise, signal);
    // A stale token offered while the endpoint fails ends the wait; the request goes on in the background. Only a
    // key with a cached token can have one (or a store candidate, found later in the flight).
    const cached = key === this.#defaultKey ? this.#defaultEntry : this.#cache?.get(key);
    if (force || !this.#options.staleIfError || (this.#shared === undefined && cached === undefined)) return waiting;
    const state = flight.meta;
    const stale = new Promise<Token>((resolve) => {
      const offer = state.staleOffer;
      if (offer === undefined) (state.staleWaiters ??= []).push(resolve);
      // Past the limit (the flight outlived it), the token may expire in use: wait for the endpoint instead.
      else if (this.#elapsedNow(offer) <= offer.staleUntil) resolve(offer.token);
    });
    return Promise.race([waiting, stale]);
  }

  #startFlight(key: string, params: TokenParams, force: boolean) {
    const state: FlightState = { fresh: force, superseded: false, forced: force, staleOffer: undefined, staleWaiters: undefined, storeCandidate: undefined };
    return this.#flights.start(key, state, () => this.#obtain(key, params, state));
  }

  #refreshInBackground(key: string, params: TokenParams): void {
    if (this.#flights.get(key) !== undefined) return;
    this.#refreshes++;
    const started = monotonicNow();
    this.#startFlight(key, params, false).promise.then(
      (token) => {
        if (refreshChannel.hasSubscribers) {
          refreshChannel.publish({ key: this.#fingerprint(key), outcome: 'success', expiresAt: token.expiresAt, duration: monotonicNow() - started });
        }
      },
      (error: unknown) => {
        const failure = asClientError(error);
        // A credential error is reported at once, even while a stale token is still being handed out. A refresh
        // that a quota block stopped before sending anything is not: the block itself was reported.
        const blocked = failure instanceof QuotaExceededError && failure.status === undefined;
        if (!this.#closed && !blocked) this.#report({ type: 'refresh', error: failure });
        if (refreshChannel.hasSubscribers) {
          refreshChannel.publish({ key: this.#fingerprint(key), outcome: 'failure', error: failure, duration: monotonicNow() - started });
        }
      },
    );
  }

  /** Hands out a token past its leeway while the endpoint fails; one background attempt per backoff step. */
  #serveStale(key: string, params: TokenParams, entry: CacheEntry, now: number): Promise<Token> {
    if (now >= entry.retryAt) this.#refreshInBackground(key, params);
    this.#reportStale(entry, now);
    return entry.resolved;
  }

  #reportStale(entry: CacheEntry, now: number): void {
    if (now - entry.staleReportedAt < STALE_REPORT_INTERVAL || this.#closed) return;
    entry.staleReportedAt = now;
    const cause = entry.lastError;
    const left = Math.round((entry.token.expiresAt - now) / 1000);
    const error = new TokenClientError(
      ErrorCode.STALE_TOKEN,
      `The token endpoint is failing${cause ? ` (${cause.code})` : ''}; handing out a cached token past its leeway that is still valid for ${left} s (staleIfError). It is retried in the background.`,
      { cause, ...(cause?.endpoint === undefined ? {} : { endpoint: cause.endpoint }) },
    );
    this.#report({ type: 'stale', error });
  }

  /**
   * After a failure for `key`: back off (1 s doubling per failure up to 30 s, longer if the server's Retry-After
   * says so) rather than try on every call, which would hammer a struggling server and burn quota exactly when it
   * fails; and, for a transient failure with stale-if-error on, offer the cached token to the waiters.
   */
  #noteFailure(key: string, state: FlightState, error: unknown, final: boolean): void {
    const failure = asClientError(error);
    const transient = this.#options.staleIfError !== false && !state.forced && isTransientFailure(failure);
    const entry = (key === this.#defaultKey ? this.#defaultEntry : this.#cache?.get(key)) ?? (transient ? state.storeCandidate : undefined);
    if (entry === undefined) return;
    const now = this.#elapsedNow(entry);
    if (final) {
      entry.refreshFailures += 1;
      const pause = Math.max(failure.retryAfter ?? 0, Math.min(30_000, 1_000 * 2 ** (entry.refreshFailures - 1)));
      entry.refreshAt = Math.min(entry.usableUntil, now + pause);
      entry.retryAt = now + pause;
    }
    if (!transient) {
      entry.failing = false;
      return;
    }
    if (now > entry.staleUntil || state.superseded) return;
    if (entry === state.storeCandidate) this.#remember(key, entry);
    entry.failing = true;
    entry.lastError = failure;
    // Until the request in flight settles, no other background attempt starts for this key.
    if (!final) entry.retryAt = Infinity;
    state.staleOffer = entry;
    for (const resolve of state.staleWaiters ?? []) resolve(entry.token);
    if (now >= entry.usableUntil) this.#reportStale(entry, now);
  }

  async #obtain(key: string, params: TokenParams, state: FlightState): Promise<Token> {
    try {
      return await this.#obtainOnce(key, params, state);
    } catch (error) {
      this.#failures++;
      this.#lastError = { code: asClientError(error).code, at: this.#now() };
      this.#noteFailure(key, state, error, true);
      throw error;
    }
  }

  // Not async: the fetch path passes through here on every request, and an async frame of its own costs a promise.
  #obtainOnce(key: string, params: TokenParams, state: FlightState): Promise<Token> {
    if (key !== this.#defaultKey && this.#cache === undefined) return this.#ensureCache().then(() => this.#obtainOnce(key, params, state));
    const shared = this.#shared;
    if (shared === undefined || state.fresh) return this.#fetch(key, params, state);
    return shared.obtain(key, {
      accept: (stored) => this.#usable(key, stored, state),
      fetch: (asLeaseHolder) => this.#fetch(key, params, state, asLeaseHolder),
      // Long enough for the holder's whole request, retries and Retry-After waits included.
      leaseTtl: this.#options.transport.totalTimeout + LEASE_MARGIN,
      checkOpen: () => {
        if (this.#closed) throw closedError();
      },
    });
  }

  /** Requests a token from the endpoint, caches it, and writes it to the shared store (awaited for a lease holder). */
  async #fetch(key: string, params: TokenParams, state: FlightState, awaitStore = false): Promise<Token> {
    state.fresh = true;
    const o = this.#options;
    // One deadline for the whole request, discovery included.
    const deadline = monotonicNow() + o.transport.totalTimeout;
    let token: Token;
    let origin: string | undefined;
    try {
      const endpoint = this.#staticEndpoint ?? (await this.#discoveredEndpoint(deadline));
      const { url, auth } = endpoint;
      // The origin the endpoint info was built with: URL's origin getter builds a new string on every read.
      origin = endpoint.responseContext.endpoint;
      // An Auth0 quota used up (seen here, or by another process of the fleet): nothing is sent until it resets.
      const blocked = o.quota.block ? this.#quota.check(key, params.organization, origin) : undefined;
      if (blocked !== undefined) await blocked;
      const dpop = this.#dpop;
      const build = auth
        ? () => {
            this.#requestsSent++;
            return this.#fixedRequest(key, url, auth, params);
          }
        : async () => {
            this.#requestsSent++;
            return buildTokenRequest(url, await authenticate(endpoint.method, o.credentials, endpoint.assertionAudience), params, this.#userAgent);
          };
      token = await this.#transport.send(
        dpop ? async () => withProof(await build(), await dpop.proof('POST', url)) : build,
        dpop
          ? (response, request) => {
              const nonce = header(response.headers, 'dpop-nonce');
              if (nonce !== undefined) dpop.rememberNonce(url, nonce);
              const issued = parseTokenResponse(response, endpoint.responseContext, request.secrets);
              dpop.checkBinding(issued, url.origin, response.status);
              return issued;
            }
          : (response, request) => parseTokenResponse(response, endpoint.responseContext, request.secrets),
        deadline,
        (error) => {
          if (error instanceof TokenClientError && error.quota) this.#quota.read(key, params.organization, error.quota, statusOf(error), url.origin);
          this.#noteFailure(key, state, error, false);
        },
        requestChannel.hasSubscribers ? this.#trace(key, endpoint) : undefined,
        dpop && ((response) => isNonceChallenge(response, dpop, url)),
      );
    } catch (error) {
      // The metadata may be stale (a moved endpoint): fetch it again next time.
      if (isEndpointTrouble(error)) this.#discovery?.invalidate();
      // Whatever path the failure took (discovery metadata, a server's method list, a dispatcher), the secret does
      // not leave with it.
      throw scrubError(this.#quota.failed(key, params.organization, error, origin), o.credentials.clientSecret === undefined ? [] : secretForms(o.credentials.clientSecret));
    }
    if (token.quota !== undefined) this.#quota.read(key, params.organization, token.quota, 200, origin!);
    const entry = this.#entryFor(token);
    if (!state.superseded) this.#remember(key, entry);
    // The fleet keeps the entry until its stale-if-error limit: a process that starts during an outage can use it.
    const ttl = Math.max(entry.usableUntil, entry.staleUntil) - this.#now();
    if (this.#shared && !this.#closed && ttl > 0) {
      const written = this.#shared.set(key, toStored(token), ttl);
      if (awaitStore) await written;
    }
    return token;
  }

  /**
   * Without a signed assertion a key's request never changes: build it once. Bounded like the token cache, and
   * kept per endpoint URL (discovery may move it).
   */
  #fixedRequest(key: string, url: URL, auth: ClientAuthParts, params: TokenParams): HttpRequest {
    const known = this.#requests.get(key);
    if (known !== undefined && known.url === url) return known;
    if (this.#requests.size >= this.#options.cache.max) this.#requests.clear();
    const request = buildTokenRequest(url, auth, params, this.#userAgent);
    this.#requests.set(key, request);
    return request;
  }

  /** A stored token this client may hand out and need not refresh yet, now cached in memory; else undefined. */
  #usable(key: string, stored: StoredToken | undefined, state: FlightState): Token | undefined {
    if (stored === undefined || !this.#accepts(stored.tokenType.toLowerCase())) return undefined;
    const token = createToken(stored);
    const entry = this.#entryFor(token);
    const now = this.#elapsedNow(entry);
    if (now >= entry.refreshAt) {
      // Not for normal use; but if the endpoint fails, it is better than nothing while still valid.
      if (now <= entry.staleUntil) state.storeCandidate = entry;
      return undefined;
    }
    if (!state.superseded) this.#remember(key, entry);
    return token;
  }

  /** Whether a stored token of this (lower-case) type may be handed out: with DPoP, a DPoP token (or an allowed Bearer one). */
  #accepts(type: string): boolean {
    const dpop = this.#dpop;
    if (dpop === undefined) return type !== 'dpop' && this.#options.allowedTokenTypes.includes(type);
    return type === 'dpop' || (type === 'bearer' && dpop.allowBearer);
  }

  #report(event: TokenClientErrorEvent): void {
    this.#lastError = { code: event.error.code, at: this.#now() };
    if (event.type === 'store' && storeErrorChannel.hasSubscribers) {
      storeErrorChannel.publish({ operation: event.operation ?? 'get', error: event.error });
    }
    try {
      if (this.#options.onError) this.#options.onError(event);
      else process.emitWarning(event.error.message, { type: 'M2MTokenWarning', code: event.error.code });
    } catch {
      // A throwing onError must not turn a worked-around problem into a failure.
    }
  }

  #fingerprint(key: string): string {
    let known = this.#fingerprints.get(key);
    if (known === undefined) {
      if (this.#fingerprints.size >= 2 * this.#options.cache.max) this.#fingerprints.clear();
      known = fingerprint(key);
      this.#fingerprints.set(key, known);
    }
    return known;
  }

  #publishLookup(key: string, result: CacheLookupMessage['result']): void {
    cacheChannel.publish(this.#lookupMessage(key, result));
  }

  #lookupMessage(key: string, result: CacheLookupMessage['result']): CacheLookupMessage {
    return Object.freeze({ key: this.#fingerprint(key), result });
  }

  #trace(key: string, endpoint: EndpointInfo): RequestTrace {
    const { url } = endpoint;
    return {
      key: this.#fingerprint(key),
      endpoint: url.origin,
      path: url.pathname,
      serverAddress: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      serverPort: Number(url.port) || (url.protocol === 'https:' ? 443 : 80),
      method: 'POST',
      authMethod: endpoint.method,
    };
  }

  /** What `JSON.stringify` shows: the endpoint, the client id and the defaults; `clientSecret: '[REDACTED]'`, never a token. */
  toJSON(): Record<string, unknown> {
    const o = this.#options;
    return {
      ...(o.endpoint.kind === 'static' ? { tokenEndpoint: o.endpoint.url.href } : { issuer: o.endpoint.issuer }),
      clientId: o.credentials.clientId,
      clientSecret: o.credentials.clientSecret === undefined ? undefined : REDACTED,
      clientAuthentication: o.clientAuthentication,
      audience: o.defaults.audience,
      organization: o.defaults.organization,
      scope: o.defaults.scope,
      cachedTokens: (this.#cache?.size ?? 0) + (this.#defaultEntry ? 1 : 0),
      ...(this.#dpop === undefined ? {} : { dpop: this.#dpop.toJSON() }),
      closed: this.#closed,
    };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `TokenClient ${JSON.stringify(this.toJSON())}`;
  }
}

interface EndpointInfo {
  url: URL;
  method: ClientAuthentication;
  assertionAudience: string;
  /** Authentication parts that never change (all but JWT assertions, which are signed per attempt). */
  auth: ClientAuthParts | undefined;
  responseContext: ResponseContext;
}

function isEndpointTrouble(error: unknown): boolean {
  return error instanceof TokenClientError &&
    (error.code === ErrorCode.NETWORK_ERROR || (error instanceof TokenResponseError && (error.status === 404 || error.status === 405)));
}

/** `url` as a URL, or a ConfigurationError naming `option`. */
function absoluteUrl(url: unknown, option: string): URL {
  if (url instanceof URL) return url;
  try {
    if (typeof url === 'string') return new URL(url);
  } catch {
    // refused below
  }
  throw new ConfigurationError(option, 'must be an absolute URL');
}

/** The request with its DPoP proof: a copy (a fixed request is reused), the proof scrubbed like a secret. */
function withProof(request: HttpRequest, proof: string): HttpRequest {
  return { ...request, headers: { ...request.headers, dpop: proof }, secrets: [...(request.secrets ?? []), proof] };
}

/**
 * A token endpoint's `400 use_dpop_nonce` with a `DPoP-Nonce` header (RFC 9449 §8): the nonce is remembered, and
 * the request is sent again at once with it.
 */
function isNonceChallenge(response: HttpResponse, dpop: DpopKey, url: URL): boolean {
  if (response.status !== 400 && response.status !== 401) return false;
  const nonce = header(response.headers, 'dpop-nonce');
  if (nonce === undefined || !response.body.includes('use_dpop_nonce')) return false;
  try {
    if ((JSON.parse(response.body) as { error?: unknown } | null)?.error !== 'use_dpop_nonce') return false;
  } catch {
    return false;
  }
  dpop.rememberNonce(url, nonce);
  return dpop.nonceFor(url) === nonce;
}

function usesDefaults(o: GetTokenOptions): boolean {
  return o.audience === undefined && o.organization === undefined && o.scope === undefined &&
    o.resource === undefined && o.extraParams === undefined;
}

function toStored(token: Token): StoredToken {
  const { accessToken, tokenType, expiresIn, expiresAt, scope, raw } = token;
  return { accessToken, tokenType, expiresIn, expiresAt, scope, raw: { ...raw } };
}

/**
 * The longest a token stays in the cache, whatever lifetime it claims: 24 hours. It is still handed out until then;
 * after that it is requested again. Guards against absurd lifetimes (expires_in 1e20) that would cache a token for
 * ever and overflow timers and store TTLs.
 */
export const MAX_CACHED_LIFETIME = 24 * 60 * 60 * 1000;

/** A stale hand-out is reported through onError at most this often per key. */
const STALE_REPORT_INTERVAL = 30_000;

// Added to totalTimeout for the fleet lease: the holder's request may take all of totalTimeout.
const LEASE_MARGIN = 1_000;

function asClientError(error: unknown): M2MError {
  // unexpectedError() is typed with the wide TokenClientError; its code is always M2M_UNEXPECTED_ERROR.
  return error instanceof TokenClientError ? error : (unexpectedError(error) as TokenClientError<typeof ErrorCode.UNEXPECTED>);
}
