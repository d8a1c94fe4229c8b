// m2m-token/redis: share tokens across a fleet through Redis or Redis Cluster. ioredis and node-redis (`redis`)
// are optional peer dependencies: the entry uses whichever client it is given and loads neither package itself;
// the core entry never loads this one.
export { RedisTokenStore } from './redis-token-store.js';
export type { RedisClientLike } from './commands.js';
export type { EncryptionKey, RedisTokenStoreOptions } from './options.js';
