// The options every adapter shares (which origins get which token, which 401 renews it) and their validation.
// Adapters validate at creation, like TokenClient, so a typo fails at startup rather than on the first call.
import { monotonicNow } from '../monotonic.js';
import { ConfigurationError, type Clock, type GetTokenOptions } from 'm2m-token';

/**
 * The token parameters for one target: which token the `TokenSource` is asked for. Omitted fields fall back to
 * the source's defaults (for a `TokenClient`, its constructor options), so `{}` means "the default token".
 */
export type TokenTarget = Pick<GetTokenOptions, 'audience' | 'organization' | 'scope' | 'resource' | 'extraParams'>;

/** Which 401 answers make an adapter renew the token and replay the request once. */
export type RenewOn = 'any-401' | 'invalid_token';

/** Options shared by `m2m-token/fetch`, `m2m-token/axios` and `m2m-token/undici`. */
export interface TokenAdapterOptions {
  /**
   * Origin (`scheme://host[:port]`, no path) → the token parameters for requests to it, e.g.
   * `{ 'https://billing.internal': { audience: 'https://billing' } }`. Requests to any other origin pass through
   * untouched, unless `anyOrigin` is given. At least one target or `anyOrigin` is required.
   * @default {} (no origin gets a token)
   */
  targets?: Readonly<Record<string, TokenTarget>> | undefined;
  /**
   * Attach a token with these parameters to requests for every origin not listed in `targets`. An explicit
   * opt-in: a bearer token sent to a host it was not meant for is a leaked credential.
   * @default undefined (off)
   */
  anyOrigin?: TokenTarget | undefined;
  /**
   * When a 401 renews the token: `'any-401'` (the default) on every 401, `'invalid_token'` only on a 401 whose
   * `WWW-Authenticate` challenge for the token's scheme says `error="invalid_token"` (RFC 6750 §3.1).
   * @default 'any-401'
   */
  renewOn?: RenewOn | undefined;
  /**
   * The least time, in milliseconds, between two renewals after a 401 for the same token parameters. A renewal
   * is a token request: an API that answers 401 to every token (broken, misconfigured or hostile) would otherwise
   * cost one per call. Within the interval a 401 is returned as it is and the cached token is kept. Apart from
   * this floor, a rejected token is renewed at most once, however many requests carried it. `0` leaves only that
   * rule.
   * @default 30_000
   */
  renewInterval?: number | undefined;
  /**
   * The time source for `renewInterval`. Inject one in tests.
   * @default a monotonic clock (`process.hrtime()`)
   */
  clock?: Clock | undefined;
}

/** Validated options: targets keyed by their normalized origin. */
export interface AdapterConfig {
  readonly targets: ReadonlyMap<string, TokenTarget>;
  readonly anyOrigin: TokenTarget | undefined;
  readonly renewOn: RenewOn;
  readonly renewInterval: number;
  readonly clock: Clock;
}

export const DEFAULT_RENEW_INTERVAL = 30_000;
// Monotonic: a wall clock set back would otherwise hold renewals off for as long as it went back.
const monotonicClock: Clock = { now: monotonicNow };

const SHARED_OPTIONS = ['targets', 'anyOrigin', 'renewOn', 'renewInterval', 'clock'];
const TARGET_FIELDS = new Set(['audience', 'organization', 'scope', 'resource', 'extraParams']);

/**
 * Validates the shared options; `ownOptions` are the adapter's own option names (checked by the adapter), so
 * that any other name is reported as unknown. Throws `ConfigurationError` naming the option.
 */
export function resolveAdapterOptions(options: unknown, ownOptions: readonly string[] = []): AdapterConfig {
  if (options === null || typeof options !== 'object') {
    throw new ConfigurationError('options', 'must be an object such as { targets: { "https://api.example.com": { audience } } }');
  }
  const known = new Set([...SHARED_OPTIONS, ...ownOptions]);
  for (const name of Object.keys(options)) {
    if (!known.has(name)) throw new ConfigurationError(name, `unknown option; adapters take ${[...known].join(', ')}`);
  }
  const { targets, anyOrigin, renewOn, renewInterval, clock } = options as TokenAdapterOptions;
  const resolved = resolveTargets(targets);
  if (anyOrigin !== undefined) checkTarget(anyOrigin, 'anyOrigin');
  if (resolved.size === 0 && anyOrigin === undefined) {
    throw new ConfigurationError('targets', 'give at least one origin, or opt in to every origin with anyOrigin');
  }
  if (renewOn !== undefined && renewOn !== 'any-401' && renewOn !== 'invalid_token') {
    throw new ConfigurationError('renewOn', "must be 'any-401' or 'invalid_token'");
  }
  if (renewInterval !== undefined && (typeof renewInterval !== 'number' || !Number.isFinite(renewInterval) || renewInterval < 0)) {
    throw new ConfigurationError('renewInterval', 'must be a finite number of milliseconds, 0 or more (default 30000)');
  }
  if (clock !== undefined && (clock === null || typeof clock !== 'object' || typeof clock.now !== 'function')) {
    throw new ConfigurationError('clock', 'must be an object with a now() method returning milliseconds');
  }
  // Copies: a caller mutating its options object later must not change where tokens go.
  return {
    targets: resolved,
    anyOrigin: anyOrigin && Object.freeze({ ...anyOrigin }),
    renewOn: renewOn ?? 'any-401',
    renewInterval: renewInterval ?? DEFAULT_RENEW_INTERVAL,
    clock: clock ?? monotonicClock,
  };
}

function resolveTargets(targets: unknown): Map<string, TokenTarget> {
  const resolved = new Map<string, TokenTarget>();
  if (targets === undefined) return resolved;
  if (targets === null || typeof targets !== 'object' || Array.isArray(targets)) {
    throw new ConfigurationError('targets', 'must be an object of origin → token parameters');
  }
  for (const [key, target] of Object.entries(targets)) {
    const origin = toOrigin(key);
    checkTarget(target, `targets[${JSON.stringify(origin)}]`);
    if (resolved.has(origin)) throw new ConfigurationError('targets', `origin ${origin} is listed twice`);
    resolved.set(origin, Object.freeze({ ...(target as TokenTarget) }));
  }
  return resolved;
}

/** `https://API.example.com:443/` → `https://api.example.com`. Anything with a path, query or credentials is refused. */
function toOrigin(key: string): string {
  let url: URL;
  try {
    url = new URL(key);
  } catch {
    throw new ConfigurationError('targets', `${JSON.stringify(key)} is not an origin; write it as https://host[:port]`);
  }
  // Never echo a key with credentials in it: the message may be logged.
  if (url.username || url.password) throw new ConfigurationError('targets', 'an origin must not contain user:password@');
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigurationError('targets', `${JSON.stringify(key)} is not an http(s) origin; write it as https://host[:port]`);
  }
  if (url.pathname !== '/' || url.search || url.hash || key.endsWith('?') || key.endsWith('#')) {
    throw new ConfigurationError('targets', `${JSON.stringify(key)} is not an origin: drop the path, query and fragment (tokens are chosen per origin)`);
  }
  return url.origin;
}

/** Shape checks only: the token source validates the values themselves when it is asked for a token. */
function checkTarget(target: unknown, option: string): void {
  if (target === null || typeof target !== 'object' || Array.isArray(target)) {
    throw new ConfigurationError(option, 'must be an object of token parameters such as { audience }; {} means the source\'s defaults');
  }
  for (const [name, value] of Object.entries(target)) {
    if (!TARGET_FIELDS.has(name)) {
      throw new ConfigurationError(`${option}.${name}`, `unknown field; a target takes ${[...TARGET_FIELDS].join(', ')}`);
    }
    if (value === undefined) continue;
    const ok = name === 'extraParams'
      ? value !== null && typeof value === 'object' && !Array.isArray(value)
      : name === 'scope' || name === 'resource'
        ? typeof value === 'string' || (Array.isArray(value) && value.every((v) => typeof v === 'string'))
        : typeof value === 'string' && value !== '';
    if (!ok) {
      const expected = name === 'extraParams' ? 'an object' : name === 'scope' || name === 'resource' ? 'a string or an array of strings' : 'a non-empty string';
      throw new ConfigurationError(`${option}.${name}`, `must be ${expected}`);
    }
  }
}
