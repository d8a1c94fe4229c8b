import type { TokenClientError } from './errors.js';
import type { QuotaReading, QuotaScope } from './quota.js';
import type { EpochMilliseconds, Milliseconds } from './types.js';

/**
 * The `node:diagnostics_channel` names m2m-token publishes on. They are part of the public API: stable across minor
 * versions. Subscribe with `diagnostics_channel.subscribe(name, fn)` (or `tracingChannel(name)` for `request`).
 * Nothing is built or published while a channel has no subscriber. No payload ever holds a secret, a token, an
 * assertion or a cache key: keys appear as `key`, a 12-character hash (the same key gives the same hash in every
 * process), because a key names audiences and organizations.
 */
export const diagnosticsChannels = {
  /** A `TracingChannel` around each HTTP attempt at the token endpoint: {@link TokenRequestMessage}. */
  request: 'm2m-token:request',
  /** Each `getToken()` lookup in the in-memory cache: {@link CacheLookupMessage}. */
  cache: 'm2m-token:cache',
  /** Each background refresh (refresh-ahead, stale-if-error retry) when it settles: {@link RefreshMessage}. */
  refresh: 'm2m-token:refresh',
  /** A `TokenStore` call failed or timed out (also reported through `onError`): {@link StoreErrorMessage}. */
  storeError: 'm2m-token:store:error',
  /** Quota headers read from a token endpoint response: {@link QuotaMessage}. */
  quota: 'm2m-token:quota',
  /** A quota bucket ran out and token requests are blocked until it resets: {@link QuotaBlockMessage}. */
  quotaBlock: 'm2m-token:quota:block',
} as const;

/**
 * The context object of the `m2m-token:request` tracing channel, one per HTTP attempt. `start` sees the fields
 * known up front; `status` and `duration` are set before `asyncStart`/`asyncEnd`, and `error` (set by the
 * channel) before `error`. `result` is always `undefined`: the token never goes through the channel.
 */
export interface TokenRequestMessage {
  /** Fingerprint of the cache key (12 hex characters), never the key. */
  readonly key: string;
  /** Origin of the token endpoint, e.g. `https://tenant.auth0.com`. */
  readonly endpoint: string;
  /** Path of the token endpoint, e.g. `/oauth/token` (never its query). */
  readonly path: string;
  /** Host name of the token endpoint (OTel `server.address`). */
  readonly serverAddress: string;
  /** Port of the token endpoint (OTel `server.port`). */
  readonly serverPort: number;
  /** HTTP method: always `POST` for a token request. */
  readonly method: 'POST';
  /** Client authentication method, e.g. `client_secret_post`. */
  readonly authMethod: string;
  /** 1 for the first attempt, 2 for the first retry, … */
  readonly attempt: number;
  /** HTTP status of the response; `undefined` when none arrived (network error, timeout). */
  status: number | undefined;
  /** How long the attempt took, in ms. */
  duration: Milliseconds | undefined;
  /** Set by the channel when the attempt failed: a `TokenClientError` (redacted like every error of the package). */
  error?: unknown;
  /** Set by the channel on success: always `undefined`. */
  result?: undefined;
}

/**
 * `m2m-token:cache`: `hit` (a fresh cached token), `stale` (cached, in its refresh-ahead window: handed out and a
 * background refresh started), `stale-if-error` (past its leeway but still valid, handed out while the endpoint
 * fails or a quota block lasts), `miss` (the caller waits for the store or the endpoint). Forced refreshes are
 * not lookups.
 */
export interface CacheLookupMessage {
  readonly key: string;
  readonly result: 'hit' | 'stale' | 'stale-if-error' | 'miss';
}

/** `m2m-token:refresh`: a background refresh settled. */
export interface RefreshMessage {
  readonly key: string;
  readonly outcome: 'success' | 'failure';
  /** When the new token expires, on success. */
  readonly expiresAt?: EpochMilliseconds;
  /** Why it failed, on failure. */
  readonly error?: TokenClientError;
  readonly duration: Milliseconds;
}

/** `m2m-token:store:error`: a TokenStore call failed (the call counted as a miss). */
export interface StoreErrorMessage {
  readonly operation: string;
  readonly error: TokenClientError;
}

/** `m2m-token:quota`: the quota headers of one token endpoint response (success, or the 429 of an exceeded quota). */
export interface QuotaMessage {
  readonly key: string;
  readonly endpoint: string;
  readonly status: number;
  readonly quota: QuotaReading;
}

/** `m2m-token:quota:block`: token requests in `scope` are blocked until `resetAt`. */
export interface QuotaBlockMessage {
  readonly key: string;
  readonly endpoint: string;
  readonly scope: QuotaScope;
  /** The bucket that ran out, e.g. `per_hour`; `undefined` when the block came from the fleet's store. */
  readonly bucket: string | undefined;
  readonly resetAt: EpochMilliseconds;
  /** `response`: this process got the 429; `store`: another process of the fleet did (shared through the TokenStore). */
  readonly source: 'response' | 'store';
}

// node:diagnostics_channel is loaded by Node itself at startup (http and net publish on it): getting it costs nothing.
// process.getBuiltinModule, as elsewhere in the package: the bundle keeps no static import of a builtin.
const diagnosticsChannel = process.getBuiltinModule('node:diagnostics_channel');
export const requestChannel = diagnosticsChannel.tracingChannel<string, TokenRequestMessage>(diagnosticsChannels.request);
export const cacheChannel = diagnosticsChannel.channel(diagnosticsChannels.cache);
export const refreshChannel = diagnosticsChannel.channel(diagnosticsChannels.refresh);
export const storeErrorChannel = diagnosticsChannel.channel(diagnosticsChannels.storeError);
export const quotaChannel = diagnosticsChannel.channel(diagnosticsChannels.quota);
export const quotaBlockChannel = diagnosticsChannel.channel(diagnosticsChannels.quotaBlock);

/** What the client knows about a token request before its first attempt. */
export type RequestTrace = Omit<TokenRequestMessage, 'attempt' | 'status' | 'duration' | 'error' | 'result'>;

/**
 * Runs one attempt inside the `m2m-token:request` tracing channel. `run` resolves with the attempt's result, which
 * stays out of the channel; `status` reads the response status once the attempt has settled.
 */
export async function traceAttempt<T>(trace: RequestTrace, attempt: number, run: () => Promise<T>, status: () => number | undefined): Promise<T> {
  const message: TokenRequestMessage = { ...trace, attempt, status: undefined, duration: undefined };
  const started = performance.now();
  let value!: T;
  await requestChannel.tracePromise(async () => {
    try {
      value = await run();
    } finally {
      message.status = status();
      message.duration = performance.now() - started;
    }
  }, message);
  return value;
}

let createHash: typeof import('node:crypto').createHash | undefined;

/**
 * A short, stable, one-way name for a cache key (or any other identifier that names audiences or organizations):
 * the first 12 hex characters of its SHA-256. The same input gives the same fingerprint in every process.
 */
export function fingerprint(value: string): string {
  createHash ??= process.getBuiltinModule('node:crypto').createHash;
  return createHash('sha256').update(value).digest('hex').slice(0, 12);
}
