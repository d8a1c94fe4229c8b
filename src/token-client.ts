import { LRUCache } from 'lru-cache';
import { cacheKey } from './cache-key.js';
import { ConfigurationError, ErrorCode, REDACTED, TokenClientError } from './errors.js';
import { scheduleToken, type TokenSchedule } from './expiry.js';
import { resolveOptions, type ResolvedOptions, type TokenClientErrorEvent, type TokenClientOptions } from './options.js';
import { SingleFlight, waitFor } from './single-flight.js';
import type { StoredToken } from './stores/token-store.js';
import { mergeTokenParams, type TokenParams } from './token-params.js';
import { buildTokenRequest, defaultUserAgent } from './token-request.js';
import { parseTokenResponse, type ResponseContext } from './token-response.js';
import { createToken, type GetTokenOptions, type Token, type TokenSource } from './token-source.js';
import { closedError, Transport } from './transport.js';
import { systemClock } from './types.js';

interface CacheEntry extends TokenSchedule {
  token: Token;
}

interface FlightState {
  /** True once the flight's token can only come from the token endpoint (not a possibly older stored copy). */
  fresh: boolean;
}

/**
 * Gets client_credentials tokens: in-memory cache → optional shared store → one request per key at a time.
 * Orchestration only: request building, response parsing, HTTP and expiry arithmetic live in their own modules.
 */
export class TokenClient implements TokenSource {
  readonly #options: ResolvedOptions;
  readonly #cache: LRUCache<string, CacheEntry>;
  readonly #flights = new SingleFlight<Token, FlightState>();
  readonly #transport: Transport;
  readonly #defaultKey: string;
  readonly #userAgent: string;
  readonly #responseContext: ResponseContext;
  readonly #pendingStoreCalls = new Set<Promise<unknown>>();
  // The constructor's defaults get a slot of their own: the commonest call skips the LRU bookkeeping.
  #defaultEntry: CacheEntry | undefined;
  readonly #now: () => number;
  #closed = false;

  constructor(options: TokenClientOptions) {
    const o = resolveOptions(options);
    this.#options = o;
    this.#cache = new LRUCache({ max: o.cache.max });
    this.#transport = new Transport({ endpoint: o.endpoint.origin, clock: o.clock, ...o.transport });
    this.#defaultKey = cacheKey(o.endpoint.url.href, o.clientId, o.defaults);
    this.#now = o.clock === systemClock ? Date.now : () => o.clock.now();
    this.#userAgent = defaultUserAgent(o.transport.userAgent);
    this.#responseContext = {
      endpoint: o.endpoint.origin,
      allowedTokenTypes: o.allowedTokenTypes,
      defaultLifetime: o.expiry.defaultLifetime,
      secrets: [o.clientSecret],
    };
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
        if (!usesDefaults(options)) {
          params = mergeTokenParams(params, options);
          key = this.#keyFor(params);
        }
      } catch (error) {
        return Promise.reject(error as Error);
      }
      if (options.forceRefresh === true) return this.#join(key, params, true, options.signal);
    }
    const entry = key === this.#defaultKey ? this.#defaultEntry : this.#cache.get(key);
    if (entry !== undefined) {
      const now = this.#now();
      if (now < entry.refreshAt) return Promise.resolve(entry.token);
      if (now < entry.usableUntil) {
        this.#refreshInBackground(key, params);
        return Promise.resolve(entry.token);
      }
    }
    return this.#join(key, params, false, options?.signal);
  }

  /** `Authorization` header value for these options, e.g. `Bearer eyJ…`. */
  async getAuthorizationHeader(options?: GetTokenOptions): Promise<string> {
    const token = await this.getToken(options);
    return `${token.tokenType} ${token.accessToken}`;
  }

  /**
   * Drops the cached token for these options from memory at once, and from the shared store; the promise
   * settles when the store has answered (it never rejects: store failures go to `onError`).
   */
  invalidate(options?: GetTokenOptions): Promise<void> {
    let key = this.#defaultKey;
    if (options !== undefined) {
      try {
        checkCallOptions(options);
        if (!usesDefaults(options)) key = this.#keyFor(mergeTokenParams(this.#options.defaults, options));
      } catch (error) {
        return Promise.reject(error as Error);
      }
    }
    this.#forget(key);
    const { store } = this.#options.cache;
    return store ? this.#storeCall('delete', () => store.delete(key)).then(() => undefined) : Promise.resolve();
  }

  /** Aborts requests in flight, waits for pending store writes and releases the HTTP Agent. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([this.#transport.close(), Promise.allSettled(this.#pendingStoreCalls)]);
  }

  #remember(key: string, entry: CacheEntry): void {
    if (key === this.#defaultKey) this.#defaultEntry = entry;
    else this.#cache.set(key, entry);
  }

  #forget(key: string): void {
    if (key === this.#defaultKey) this.#defaultEntry = undefined;
    else this.#cache.delete(key);
  }

  #keyFor(params: TokenParams): string {
    return cacheKey(this.#options.endpoint.url.href, this.#options.clientId, params);
  }

  #join(key: string, params: TokenParams, force: boolean, signal: AbortSignal | undefined): Promise<Token> {
    let flight = this.#flights.get(key);
    // A forced refresh must not be served a stored copy of the token it is replacing.
    if (flight === undefined || (force && !flight.meta.fresh)) {
      const state: FlightState = { fresh: force };
      flight = this.#flights.start(key, state, () => this.#obtain(key, params, state));
    }
    return waitFor(flight.promise, signal);
  }

  #refreshInBackground(key: string, params: TokenParams): void {
    if (this.#flights.get(key) !== undefined) return;
    const state: FlightState = { fresh: false };
    this.#flights.start(key, state, () => this.#obtain(key, params, state)).promise.catch((error: unknown) => {
      // The cached token is still usable; the next call past refreshAt tries again.
      this.#report({ type: 'refresh', error: asClientError(error) });
    });
  }

  async #obtain(key: string, params: TokenParams, state: FlightState): Promise<Token> {
    const { store } = this.#options.cache;
    if (store && !state.fresh) {
      const stored = await this.#storeCall('get', () => store.get(key));
      const entry = stored === undefined ? undefined : this.#fromStore(stored);
      if (entry && this.#now() < entry.refreshAt) {
        this.#remember(key, entry);
        return entry.token;
      }
    }
    state.fresh = true;
    const o = this.#options;
    const request = buildTokenRequest(o.endpoint.url, o, params, this.#userAgent);
    const token = await this.#transport.send(request, (response) => parseTokenResponse(response, this.#responseContext));
    const entry: CacheEntry = { token, ...scheduleToken(token, o.expiry) };
    this.#remember(key, entry);
    if (store && !this.#closed) {
      const ttl = entry.usableUntil - this.#now();
      if (ttl > 0) void this.#storeCall('set', () => store.set(key, toStored(token), ttl));
    }
    return token;
  }

  #fromStore(value: unknown): CacheEntry | undefined {
    const v = value as Partial<StoredToken> | null;
    const valid =
      typeof v?.accessToken === 'string' && v.accessToken !== '' && typeof v.tokenType === 'string' &&
      Number.isFinite(v.expiresAt) && Number.isFinite(v.expiresIn) && (v.expiresIn as number) > 0 &&
      this.#options.allowedTokenTypes.includes(v.tokenType.toLowerCase());
    if (!valid) {
      this.#report({ type: 'store', operation: 'get', error: storeError('get', 'returned a value that is not a stored token') });
      return undefined;
    }
    const token = createToken(v as StoredToken);
    return { token, ...scheduleToken(token, this.#options.expiry) };
  }

  /** Runs one store call with `storeTimeout`; a failure is reported and reads as `undefined`. */
  #storeCall<T>(operation: 'get' | 'set' | 'delete', call: () => Promise<T>): Promise<T | undefined> {
    const { storeTimeout } = this.#options.cache;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(storeError(operation, `did not answer within storeTimeout (${storeTimeout} ms)`)), storeTimeout);
    });
    const pending = (async () => {
      try {
        return await Promise.race([call(), timeout]);
      } catch (error) {
        const reported = error instanceof TokenClientError ? error : storeError(operation, 'failed', error);
        this.#report({ type: 'store', operation, error: reported });
        return undefined;
      } finally {
        clearTimeout(timer);
      }
    })();
    this.#pendingStoreCalls.add(pending);
    void pending.finally(() => this.#pendingStoreCalls.delete(pending));
    return pending;
  }

  #report(event: TokenClientErrorEvent): void {
    try {
      if (this.#options.onError) this.#options.onError(event);
      else process.emitWarning(event.error.message, { type: 'M2MTokenWarning', code: event.error.code });
    } catch {
      // A throwing onError must not turn a worked-around problem into a failure.
    }
  }

  toJSON(): Record<string, unknown> {
    const o = this.#options;
    return {
      tokenEndpoint: o.endpoint.url.href,
      clientId: o.clientId,
      clientSecret: REDACTED,
      clientAuthentication: o.clientAuthentication,
      audience: o.defaults.audience,
      organization: o.defaults.organization,
      scope: o.defaults.scope,
      cachedTokens: this.#cache.size + (this.#defaultEntry ? 1 : 0),
      closed: this.#closed,
    };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `TokenClient ${JSON.stringify(this.toJSON())}`;
  }
}

function usesDefaults(o: GetTokenOptions): boolean {
  return o.audience === undefined && o.organization === undefined && o.scope === undefined &&
    o.resource === undefined && o.extraParams === undefined;
}

const CALL_OPTIONS = new Set(['audience', 'organization', 'scope', 'resource', 'extraParams', 'forceRefresh', 'signal']);

function checkCallOptions(options: GetTokenOptions): void {
  if (options === null || typeof options !== 'object') {
    throw new ConfigurationError('getToken', 'options must be an object such as { audience }');
  }
  for (const name in options) {
    if (!CALL_OPTIONS.has(name)) {
      throw new ConfigurationError(`getToken.${name}`, `unknown option; getToken takes ${[...CALL_OPTIONS].join(', ')}`);
    }
  }
  const { signal } = options;
  // Duck-typed so a signal from another realm or a polyfill works.
  if (signal !== undefined && (signal === null || typeof signal.addEventListener !== 'function' || typeof signal.aborted !== 'boolean')) {
    throw new ConfigurationError('getToken.signal', 'must be an AbortSignal');
  }
  if (options.forceRefresh !== undefined && typeof options.forceRefresh !== 'boolean') {
    throw new ConfigurationError('getToken.forceRefresh', 'must be true or false');
  }
}

function toStored(token: Token): StoredToken {
  const { accessToken, tokenType, expiresIn, expiresAt, scope, raw } = token;
  return { accessToken, tokenType, expiresIn, expiresAt, scope, raw: { ...raw } };
}

function storeError(operation: string, what: string, cause?: unknown): TokenClientError {
  return new TokenClientError(
    ErrorCode.STORE_ERROR,
    `TokenStore.${operation}() ${what}; treated as a cache miss, the token endpoint is used instead.`,
    cause === undefined ? {} : { cause },
  );
}

function asClientError(error: unknown): TokenClientError {
  return error instanceof TokenClientError
    ? error
    : new TokenClientError(ErrorCode.NETWORK_ERROR, 'Background refresh failed unexpectedly.', { cause: error });
}
