import { ConfigurationError } from 'm2m-token';
import { redisCommands, type RedisClientLike, type RedisCommands } from './commands.js';

/** A 32-byte AES-256 key: a Buffer/Uint8Array, 64 hex characters, or base64 (`openssl rand -base64 32`). */
export type EncryptionKey = string | Uint8Array;

export interface RedisTokenStoreOptions {
  /**
   * The client the store sends its commands through: an ioredis `Redis` or `Cluster`, or a node-redis (v5+)
   * client or cluster. The store never closes it. Recommended: commands that fail at once while Redis is
   * unreachable and never outlive the TokenClient's `storeTimeout`, e.g. ioredis
   * `new Redis(url, { enableOfflineQueue: false, commandTimeout: 500 })`, node-redis
   * `createClient({ url, disableOfflineQueue: true, commandOptions: { timeout: 500 } })`.
   */
  redis: RedisClientLike;
  /**
   * AES-256-GCM keys, newest first. Tokens are encrypted with the first; values written under any of them are
   * read. Each key also names its own Redis keys, so a key not in this list is invisible rather than an error.
   */
  encryptionKeys: readonly EncryptionKey[];
  /**
   * Prepended to every Redis key and pub/sub channel the store uses. Default `'m2m-token:'`. It cannot contain
   * `{` or `}`: the store puts a Redis Cluster hash tag right after it.
   */
  prefix?: string | undefined;
}

export interface ResolvedRedisStoreOptions {
  commands: RedisCommands;
  keys: Buffer[];
  prefix: string;
}

const OPTIONS = new Set(['redis', 'encryptionKeys', 'prefix']);
const KEY_BYTES = 32;
const HEX_KEY = /^[0-9a-fA-F]{64}$/;
// 32 bytes are 43 base64 characters plus one '=' of padding; base64url usually drops the padding.
const BASE64_KEY = /^(?:[A-Za-z0-9+/]{43}=?|[A-Za-z0-9_-]{43}=?)$/;
const KEY_HINT = `must be ${KEY_BYTES} random bytes: a Buffer, 64 hex characters, or base64 such as the output of \`openssl rand -base64 32\``;

/** Validates the options once, at construction; errors name the option and never echo a key. */
export function resolveRedisStoreOptions(options: RedisTokenStoreOptions): ResolvedRedisStoreOptions {
  if (options === null || typeof options !== 'object') {
    throw new ConfigurationError('options', 'must be an object such as { redis, encryptionKeys }');
  }
  for (const name in options) {
    if (!OPTIONS.has(name)) throw new ConfigurationError(name, `unknown option; RedisTokenStore takes ${[...OPTIONS].join(', ')}`);
  }
  return {
    commands: redisCommands(options.redis),
    keys: checkKeys(options.encryptionKeys),
    prefix: checkPrefix(options.prefix),
  };
}

function checkKeys(keys: unknown): Buffer[] {
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new ConfigurationError('encryptionKeys', `must be a non-empty array of keys, newest first; each ${KEY_HINT}`);
  }
  return keys.map((key: unknown, i) => parseKey(key, `encryptionKeys[${i}]`));
}

function parseKey(key: unknown, option: string): Buffer {
  if (key instanceof Uint8Array) {
    if (key.length !== KEY_BYTES) throw new ConfigurationError(option, `${KEY_HINT}; got ${key.length} bytes`);
    return Buffer.from(key); // a copy: later changes to the caller's buffer do not change the store's key
  }
  if (typeof key !== 'string') throw new ConfigurationError(option, KEY_HINT);
  // Keys read from files or environment variables often carry a trailing newline.
  const text = key.trim();
  // Hex first: 64 hex characters are also valid base64, of the wrong length.
  if (HEX_KEY.test(text)) return Buffer.from(text, 'hex');
  if (BASE64_KEY.test(text)) return Buffer.from(text, text.includes('-') || text.includes('_') ? 'base64url' : 'base64');
  // The message gives the length only: never any part of what may be a secret.
  throw new ConfigurationError(option, `${KEY_HINT}; got a string of ${text.length} characters that is neither`);
}

function checkPrefix(prefix: unknown): string {
  if (prefix === undefined) return 'm2m-token:';
  if (typeof prefix !== 'string') throw new ConfigurationError('prefix', "must be a string such as 'm2m-token:'");
  // A brace in the prefix would become (or break) the hash tag, and split one entry's names across slots.
  if (/[{}]/.test(prefix)) throw new ConfigurationError('prefix', 'must not contain { or }: the store puts a Redis Cluster hash tag after it');
  return prefix;
}
