// m2m-token/redis: share tokens across a fleet through Redis. ioredis is an optional peer dependency, needed only
// by applications that import this entry; the core entry never loads it.
export { RedisTokenStore } from './redis-token-store.js';
export type { EncryptionKey, RedisTokenStoreOptions } from './options.js';
