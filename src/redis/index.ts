/**
 * `m2m-token/redis`: {@link RedisTokenStore}, a `TokenStore` that lets a fleet share one token per cache key
 * through Redis or Redis Cluster (ioredis or node-redis), encrypted, with a lease so one process fetches.
 *
 * @module m2m-token/redis
 */
// m2m-token/redis: share tokens across a fleet through Redis or Redis Cluster. ioredis and node-redis (`redis`)
// are optional peer dependencies: the entry uses whichever client it is given and loads neither package itself;
// the core entry never loads this one.
export { RedisTokenStore } from './redis-token-store.js';
export type { RedisClientLike } from './commands.js';
export type { EncryptionKey, RedisTokenStoreOptions } from './options.js';
