/** The Redis names used for one store key. None contains the key, only its keyed hashes. */
export interface RedisNames {
  /** The newest key's hash: what this process remembers about the entry is filed under it. */
  id: string;
  /** Where the token is stored under each encryption key, newest first; written under the first only. */
  tokens: readonly string[];
  /** The fleet lease (`SET NX PX`) for fetching this key's token. */
  lease: string;
  /** Published to after a token is stored, to wake the processes waiting on the lease holder. */
  channel: string;
}

/**
 * `<prefix>{<hash>}:token`, `:lease` and `:ready`. The hash is in braces, a Redis Cluster hash tag: the names of
 * one entry (under one encryption key) hash to one slot, so a value and the notification that announces it are
 * on the same node, and every script touches one slot. (The prefix cannot hold braces; see options.ts.)
 *
 * Lease and channel follow the newest key: during a key rollout, processes on the old and on the new list elect
 * one fetcher each, which is at most one extra request per cache key.
 */
export function redisNames(prefix: string, hashes: readonly string[]): RedisNames {
  const newest = hashes[0]!;
  return {
    id: newest,
    tokens: hashes.map((hash) => `${prefix}{${hash}}:token`),
    lease: `${prefix}{${newest}}:lease`,
    channel: `${prefix}{${newest}}:ready`,
  };
}
