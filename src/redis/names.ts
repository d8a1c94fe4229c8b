/** The Redis names used for one cache key. None contains the cache key, only its keyed hashes. */
export interface RedisNames {
  /** Where the token is stored under each encryption key, newest first; written under the first only. */
  tokens: readonly string[];
  /** The fleet lease (`SET NX PX`) for fetching this key's token. */
  lease: string;
  /** Published to after a token is stored, to wake the processes waiting on the lease holder. */
  channel: string;
}

/**
 * Lease and channel follow the newest key: during a key rollout, processes on the old and on the new list elect
 * one fetcher each, which is at most one extra request per cache key.
 */
export function redisNames(prefix: string, hashes: readonly string[]): RedisNames {
  const newest = hashes[0]!;
  return {
    tokens: hashes.map((hash) => `${prefix}${hash}:token`),
    lease: `${prefix}${newest}:lease`,
    channel: `${prefix}${newest}:ready`,
  };
}
