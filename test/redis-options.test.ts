import { randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { createClient, createCluster } from 'redis';
import { ConfigurationError } from 'm2m-token';
import { RedisTokenStore, type RedisTokenStoreOptions } from 'm2m-token/redis';
import { afterAll, describe, expect, it } from 'vitest';
import { expectNoLeak } from './helpers/leaks.js';

// Never connects: validation happens before any command.
const redis = new Redis({ lazyConnect: true });
const ioCluster = new Cluster([{ host: '127.0.0.1', port: 7000 }], { lazyConnect: true });
afterAll(() => {
  redis.disconnect();
  ioCluster.disconnect();
});

const KEY = randomBytes(32);

function rejection(options: unknown): ConfigurationError {
  try {
    new RedisTokenStore(options as RedisTokenStoreOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error('expected the constructor to throw');
}

describe('RedisTokenStore options', () => {
  it.each([
    ['a Buffer', KEY],
    ['a Uint8Array', new Uint8Array(KEY)],
    ['hex', KEY.toString('hex')],
    ['upper-case hex', KEY.toString('hex').toUpperCase()],
    ['base64', KEY.toString('base64')],
    ['base64 without padding', KEY.toString('base64').replace(/=$/, '')],
    ['base64url', KEY.toString('base64url')],
    ['base64 with a trailing newline', `${KEY.toString('base64')}\n`],
  ])('accepts a 32-byte key as %s', (_how, key) => {
    expect(() => new RedisTokenStore({ redis, encryptionKeys: [key] })).not.toThrow();
  });

  it.each([
    ['16 random bytes in base64', randomBytes(16).toString('base64')],
    ['48 random bytes in base64', randomBytes(48).toString('base64')],
    ['63 hex characters', KEY.toString('hex').slice(1)],
    ['a passphrase', 'correct horse battery staple, but secret'],
    ['31 bytes', randomBytes(31)],
    ['33 bytes', randomBytes(33)],
    ['a number', 42],
  ])('rejects %s, naming the option and quoting none of it', (_how, bad) => {
    const error = rejection({ redis, encryptionKeys: [KEY, bad] });
    expect(error.option).toBe('encryptionKeys[1]');
    expect(error.code).toBe('M2M_INVALID_OPTION');
    expect(error.message).toMatch(/32 random bytes/);
    if (typeof bad === 'string') expectNoLeak(error, [bad, bad.slice(0, 8), bad.slice(-8)]);
    else if (bad instanceof Uint8Array) expectNoLeak(error, [Buffer.from(bad).toString('hex').slice(0, 8), Buffer.from(bad).toString('base64').slice(0, 8)]);
  });

  it.each([
    ['missing', undefined],
    ['empty', []],
    ['a single key instead of a list', KEY.toString('base64')],
  ])('rejects encryptionKeys %s', (_how, encryptionKeys) => {
    expect(rejection({ redis, encryptionKeys }).option).toBe('encryptionKeys');
  });

  it.each([
    ['missing', undefined],
    ['a URL string', 'redis://127.0.0.1:6379'],
    ['a plain object', { get() {} }],
  ])('rejects redis %s', (_how, value) => {
    expect(rejection({ redis: value, encryptionKeys: [KEY] }).option).toBe('redis');
  });

  it.each([
    ['an ioredis Redis', () => redis],
    ['an ioredis Cluster', () => ioCluster],
    ['a node-redis client', () => createClient({ url: 'redis://127.0.0.1:1' })],
    ['a node-redis cluster', () => createCluster({ rootNodes: [{ url: 'redis://127.0.0.1:1' }] })],
  ])('accepts %s, told apart by its shape, without connecting it', (_how, client) => {
    expect(() => new RedisTokenStore({ redis: client(), encryptionKeys: [KEY] })).not.toThrow();
  });

  it('rejects an object that only looks like a client in part, naming both clients', () => {
    const error = rejection({ redis: { isOpen: true, isReady: true, eval() {}, duplicate() {}, connect() {} }, encryptionKeys: [KEY] });
    expect(error.option).toBe('redis');
    expect(error.message).toMatch(/ioredis .* node-redis/);
  });

  it('rejects a prefix that is not a string, or holds a brace (the hash tag follows it), and unknown options', () => {
    expect(rejection({ redis, encryptionKeys: [KEY], prefix: 7 }).option).toBe('prefix');
    expect(rejection({ redis, encryptionKeys: [KEY], prefix: 'app{1}:' }).option).toBe('prefix');
    expect(rejection({ redis, encryptionKeys: [KEY], prefix: 'app}' }).option).toBe('prefix');
    expect(rejection({ redis, encryptionKeys: [KEY], keyPrefix: 'x:' }).option).toBe('keyPrefix');
    expect(rejection(null).option).toBe('options');
  });

  it('keeps its own copy of a Buffer key', () => {
    const key = Buffer.from(KEY);
    const store = new RedisTokenStore({ redis, encryptionKeys: [key] });
    key.fill(0);
    expectNoLeak(store, [KEY.toString('hex'), KEY.toString('base64')]);
  });
});
