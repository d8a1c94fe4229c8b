import type { ErrorCode } from './errors.js';
import type { QuotaReading, QuotaScope } from './quota.js';
import type { EpochMilliseconds } from './types.js';

/**
 * `client.stats()`: a snapshot for health endpoints and debugging. Counts run from the client's construction.
 * Keys appear as fingerprints (12 hex characters of their SHA-256), never as keys: a key names audiences and
 * organizations. Nothing in it is a secret.
 */
export interface TokenClientStats {
  /** When the client was constructed (epoch ms, on the client's clock). */
  readonly since: EpochMilliseconds;
  /** `getToken()` calls answered from memory at once: a fresh token, one in its refresh-ahead window, or a stale-if-error one. */
  readonly hits: number;
  /** `getToken()` calls with no usable token in memory, which waited for the store or the endpoint (or failed fast during a quota block). Forced refreshes are not counted. */
  readonly misses: number;
  /** HTTP requests sent to the token endpoint, retries included. */
  readonly requests: number;
  /** Token requests that failed after their retries, including calls failed fast by a quota block. */
  readonly failures: number;
  /** Background refreshes started (refresh-ahead, and stale-if-error retries). */
  readonly refreshes: number;
  /** The last failure: a failed token request, or a problem reported through `onError`. */
  readonly lastError: { readonly code: ErrorCode; readonly at: EpochMilliseconds } | undefined;
  /** The tokens in memory, one per key. */
  readonly tokens: readonly TokenStats[];
  /** The last quota reading of any response (see `Token.quota`), or `undefined` when none had quota headers. */
  readonly quota: QuotaReading | undefined;
  /** Quota blocks in force: requests in their scope are not sent before `resetAt`. */
  readonly blocks: readonly QuotaBlockStats[];
}

/** One cached token in {@link TokenClientStats}. */
export interface TokenStats {
  /** Fingerprint of the cache key (the `key` of the diagnostics channels). */
  readonly key: string;
  readonly expiresAt: EpochMilliseconds;
  /** When the next refresh is due: the start of the refresh-ahead window, or a later retry after a failure. */
  readonly refreshAt: EpochMilliseconds;
  /** When the token stops being handed out normally (`expiresAt` minus the leeway). */
  readonly usableUntil: EpochMilliseconds;
  /** The endpoint's last answer for this key was a transient failure (stale-if-error is serving this token). */
  readonly failing: boolean;
}

/** One quota block in {@link TokenClientStats}. */
export interface QuotaBlockStats {
  readonly scope: QuotaScope;
  /** For an organization block: a fingerprint of the organization (12 hex characters of its SHA-256). */
  readonly organization?: string;
  /** The bucket that ran out; `undefined` for a block learnt from the fleet's store. */
  readonly bucket: string | undefined;
  readonly resetAt: EpochMilliseconds;
}
