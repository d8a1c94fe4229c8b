import { createToken, ErrorCode, TokenRequestError, type Clock, type GetTokenOptions, type Token, type TokenSource } from 'm2m-token';

/** One recorded `getToken()` or `invalidate()` call: the options as given, minus `signal`. */
export type FakeTokenCall = Readonly<Omit<GetTokenOptions, 'signal'>>;

/** Which calls a token set with {@link FakeTokenSource.setToken} answers. An omitted field matches any value. */
export interface FakeTokenMatch {
  /** The audience the call must ask for. */
  audience?: string | undefined;
  /** The organization the call must ask for. */
  organization?: string | undefined;
}

/** Options of {@link FakeTokenSource}. */
export interface FakeTokenSourceOptions {
  /** Token for every call no {@link FakeTokenSource.setToken} rule matches. Without it, tokens are minted. */
  token?: string | Token | undefined;
  /** Time source for `expiresAt`. Default: `Date.now`. */
  clock?: Clock | undefined;
  /** Lifetime in ms of the tokens the fake makes from strings or mints. Default: one hour. */
  expiresIn?: number | undefined;
}

interface Rule {
  token: string | Token;
  match: FakeTokenMatch;
}

const ONE_HOUR = 3_600_000;

/**
 * A programmable {@link TokenSource} for dependency injection: hand it to code that takes a `TokenSource`
 * (your services, any adapter) instead of a `TokenClient`. No network, no msw.
 *
 * - Fixed tokens per audience/organization with {@link setToken}; the most specific rule wins.
 * - Otherwise it mints `fake-token-1`, `fake-token-2`, … one per set of options, kept like a cache until
 *   `invalidate()` for those options, `forceRefresh`, or expiry on the clock; then the next call mints a
 *   new one. So "on 401, invalidate and retry" gets a different token, as with a real client.
 * - Scripted failures with {@link failNext} / {@link failAlways}: throw e.g. an `OAuthError` you construct.
 * - Everything is recorded: {@link calls}, {@link callCount}, {@link invalidations}, {@link invalidateCount}.
 */
export class FakeTokenSource implements TokenSource {
  readonly #clock: Clock;
  readonly #expiresIn: number;
  readonly #default: string | Token | undefined;
  readonly #rules: Rule[] = [];
  readonly #minted = new Map<string, Token>();
  readonly #calls: FakeTokenCall[] = [];
  readonly #invalidations: FakeTokenCall[] = [];
  #failures: unknown[] = [];
  #failAlways: { error: unknown } | undefined;
  #serial = 0;

  constructor(options: FakeTokenSourceOptions = {}) {
    this.#clock = options.clock ?? { now: () => Date.now() };
    this.#expiresIn = options.expiresIn ?? ONE_HOUR;
    if (!(Number.isFinite(this.#expiresIn) && this.#expiresIn > 0)) throw new RangeError(`FakeTokenSource expiresIn must be a positive number of ms, got ${this.#expiresIn}.`);
    this.#default = options.token;
  }

  /** Every `getToken()` call so far, in order, failed ones included. */
  get calls(): readonly FakeTokenCall[] {
    return this.#calls;
  }

  /** Number of `getToken()` calls so far. */
  get callCount(): number {
    return this.#calls.length;
  }

  /** Every `invalidate()` call so far, in order. */
  get invalidations(): readonly FakeTokenCall[] {
    return this.#invalidations;
  }

  /** Number of `invalidate()` calls so far. */
  get invalidateCount(): number {
    return this.#invalidations.length;
  }

  /**
   * Answers calls matching `match` with `token` from now on. A string becomes a Bearer token of
   * `expiresIn` ms from the time of each call. Later rules win over earlier ones of the same specificity.
   */
  setToken(token: string | Token, match: FakeTokenMatch = {}): this {
    this.#rules.push({ token, match: { ...match } });
    return this;
  }

  /** The next calls reject with these errors, one each, in order; then calls succeed again. */
  failNext(...errors: unknown[]): this {
    this.#failures.push(...errors);
    return this;
  }

  /** Every call rejects with `error` (after any {@link failNext} errors) until `failAlways(undefined)` or {@link reset}. */
  failAlways(error: unknown): this {
    this.#failAlways = error === undefined ? undefined : { error };
    return this;
  }

  /** Records the call, then answers with a scripted failure, a fixed token, or a minted one. */
  async getToken(options: GetTokenOptions = {}): Promise<Token> {
    const { signal, ...call } = options;
    this.#calls.push(Object.freeze({ ...call }));
    // Like TokenClient: an aborted caller gets M2M_ABORTED with its reason as the cause.
    if (signal?.aborted) {
      throw new TokenRequestError(ErrorCode.ABORTED, 'getToken() was aborted by its signal.', { cause: signal.reason });
    }
    if (this.#failures.length > 0) throw this.#failures.shift();
    if (this.#failAlways) throw this.#failAlways.error;
    const fixed = this.#lookup(call) ?? this.#default;
    if (fixed !== undefined) return typeof fixed === 'string' ? this.#makeToken(fixed, call) : fixed;
    return this.#mint(call);
  }

  /** Records the call and drops the minted token for these options, so the next call gets a new one. */
  invalidate(options: GetTokenOptions = {}): void {
    const { signal: _signal, ...call } = options;
    this.#invalidations.push(Object.freeze({ ...call }));
    this.#minted.delete(keyOf(call));
  }

  /**
   * Forgets what happened: calls, invalidations, minted tokens, and pending or permanent failures. Keeps
   * the configuration: the constructor's `token` and the {@link setToken} rules.
   */
  reset(): void {
    this.#calls.length = 0;
    this.#invalidations.length = 0;
    this.#minted.clear();
    this.#failures = [];
    this.#failAlways = undefined;
  }

  #lookup(call: FakeTokenCall): string | Token | undefined {
    let best: Rule | undefined;
    let bestScore = -1;
    for (const rule of this.#rules) {
      const { audience, organization } = rule.match;
      if (audience !== undefined && audience !== call.audience) continue;
      if (organization !== undefined && organization !== call.organization) continue;
      const score = (audience === undefined ? 0 : 2) + (organization === undefined ? 0 : 1);
      if (score >= bestScore) [best, bestScore] = [rule, score];
    }
    return best?.token;
  }

  #mint(call: FakeTokenCall): Token {
    const key = keyOf(call);
    const cached = this.#minted.get(key);
    if (cached && !call.forceRefresh && cached.expiresAt > this.#clock.now()) return cached;
    this.#serial += 1;
    const token = this.#makeToken(`fake-token-${this.#serial}`, call);
    this.#minted.set(key, token);
    return token;
  }

  #makeToken(accessToken: string, call: FakeTokenCall): Token {
    const scope = scopeList(call.scope);
    const expiresIn = this.#expiresIn;
    return createToken({
      accessToken,
      tokenType: 'Bearer',
      expiresIn,
      expiresAt: this.#clock.now() + expiresIn,
      scope,
      raw: {
        access_token: accessToken,
        token_type: 'Bearer',
        expires_in: Math.floor(expiresIn / 1000),
        ...(scope ? { scope: scope.join(' ') } : {}),
      },
    });
  }
}

/**
 * A {@link TokenSource} that always answers with the same token: a string (a Bearer token that never runs
 * out: each call gets `expiresAt` one hour ahead) or a `Token` you made with `createToken`. It is a
 * {@link FakeTokenSource}, so calls are recorded too.
 */
export function staticTokenSource(token: string | Token, options: Omit<FakeTokenSourceOptions, 'token'> = {}): FakeTokenSource {
  return new FakeTokenSource({ ...options, token });
}

function scopeList(scope: string | readonly string[] | undefined): string[] | undefined {
  if (scope === undefined) return undefined;
  const list = typeof scope === 'string' ? scope.split(/\s+/) : [...scope];
  return [...new Set(list.filter(Boolean))].sort();
}

// The same options in a different spelling (scope order, key order) share one minted token, as in TokenClient.
function keyOf(call: FakeTokenCall): string {
  const resource = call.resource === undefined ? [] : typeof call.resource === 'string' ? [call.resource] : [...call.resource];
  const extra = Object.entries(call.extraParams ?? {})
    .map(([name, value]) => [name, typeof value === 'string' ? [value] : [...value]] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([call.audience ?? null, call.organization ?? null, scopeList(call.scope) ?? [], resource, extra]);
}
