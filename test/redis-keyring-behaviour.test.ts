// The Redis store's keyring without Redis: what a sealed value looks like, what opens it (the right key, the right
// cache key, an older key during a rotation) and why anything else is refused; the names it derives.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Keyring } from '../src/redis/keyring.js';
import type { RedisCommands } from '../src/redis/commands.js';
import { Freshness } from '../src/redis/freshness.js';
import { acquireLease } from '../src/redis/lease.js';
import { redisNames } from '../src/redis/names.js';
import { resolveRedisStoreOptions } from '../src/redis/options.js';

const K1 = randomBytes(32);
const K2 = randomBytes(32);

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected a throw');
}

describe('seal and open', () => {
  it('an envelope is version 2, the key id (8 hex) and the base64url body; it opens to the plaintext', () => {
    const ring = new Keyring([K1]);
    const sealed = ring.seal('cache-key', 'plaintext value');
    expect(sealed).toMatch(/^2\.[0-9a-f]{8}\.[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain('plaintext');
    // 12 bytes of IV, the ciphertext, 16 bytes of tag.
    expect(Buffer.from(sealed.split('.')[2]!, 'base64url')).toHaveLength(12 + 'plaintext value'.length + 16);
    expect(ring.open('cache-key', sealed)).toBe('plaintext value');
    expect(ring.seal('cache-key', 'x')).not.toBe(ring.seal('cache-key', 'x'));
  });

  it('refuses what is not an envelope, saying why and that the token is fetched again', () => {
    const ring = new Keyring([K1]);
    const sealed = ring.seal('k', 'v');
    const [, id, body] = sealed.split('.');
    // Version 1 (the format before envelopes were bound to the credential) is refused like any other stranger.
    for (const bad of [`1.${id}.${body}`, `3.${id}.${body}`, `2.${id}`, '2', `${sealed}.extra`, 'plain']) {
      const message = refusal(() => ring.open('k', bad));
      expect(message).toBe('RedisTokenStore: the stored value is not an envelope this version of m2m-token writes; it is ignored and the token is fetched again.');
    }
    expect(refusal(() => ring.open('k', `2.${id}.${Buffer.alloc(28).toString('base64url')}`))).toContain('the stored value is truncated');
    expect(refusal(() => ring.open('k', `2.${id}.`))).toContain('is truncated');
    expect(ring.open('k', `2.${id}.${Buffer.concat([Buffer.from(body!, 'base64url')]).toString('base64url')}`)).toBe('v');
  });

  it('refuses a value under an unknown key, altered, or sealed for another cache key', () => {
    const ring = new Keyring([K1]);
    const sealed = ring.seal('k', 'v');
    expect(refusal(() => new Keyring([K2]).open('k', sealed))).toContain('was encrypted under a key that is not in encryptionKeys');
    const [v, id, body] = sealed.split('.');
    const bytes = Buffer.from(body!, 'base64url');
    bytes[bytes.length - 1]! ^= 1;
    expect(refusal(() => ring.open('k', `${v}.${id}.${bytes.toString('base64url')}`))).toContain('failed authentication: it was altered, or written under another key or for another cache key');
    const middle = Buffer.from(body!, 'base64url');
    middle[13]! ^= 1;
    expect(refusal(() => ring.open('k', `${v}.${id}.${middle.toString('base64url')}`))).toContain('failed authentication');
    expect(refusal(() => ring.open('other-key', sealed))).toContain('failed authentication');
  });

  it('during a rotation, opens values sealed under an older key, and seals under the newest', () => {
    const old = new Keyring([K1]).seal('k', 'old value');
    const rotated = new Keyring([K2, K1]);
    expect(rotated.open('k', old)).toBe('old value');
    expect(new Keyring([K2]).open('k', rotated.seal('k', 'new'))).toBe('new');
  });
});

describe('names', () => {
  it('one keyed hash per distinct key, newest first; stable, 16 bytes, never the cache key', () => {
    const ring = new Keyring([K2, K1, K2]);
    const hashes = ring.hashes('https://as.example|client|audience');
    expect(hashes).toHaveLength(2);
    expect(hashes[0]).toBe(new Keyring([K2]).hashes('https://as.example|client|audience')[0]);
    expect(hashes[1]).toBe(new Keyring([K1]).hashes('https://as.example|client|audience')[0]);
    expect(hashes[0]).not.toBe(hashes[1]);
    expect(Buffer.from(hashes[0]!, 'base64url')).toHaveLength(16);
    expect(new Keyring([K1]).hashes('other')[0]).not.toBe(hashes[1]);
    // Each hash is a Redis Cluster hash tag: one entry's names land in one slot. Lease and channel follow the newest key.
    expect(redisNames('pre:', hashes)).toEqual({
      id: hashes[0],
      tokens: [`pre:{${hashes[0]}}:token`, `pre:{${hashes[1]}}:token`],
      lease: `pre:{${hashes[0]}}:lease`,
      channel: `pre:{${hashes[0]}}:ready`,
    });
  });
});

describe('options', () => {
  // The shape of an ioredis client, which is how the store tells it from node-redis.
  const redis = { status: 'wait', isCluster: false, eval() {}, evalsha() {}, duplicate() {}, connect() {} };

  it('resolves the keys, the prefix (m2m-token: by default) and keeps the client', () => {
    const o = resolveRedisStoreOptions({ redis: redis as never, encryptionKeys: [K1, K2.toString('hex')] });
    expect(o.commands).toMatchObject({ client: 'ioredis', cluster: false });
    expect(o.prefix).toBe('m2m-token:');
    expect(o.keys).toEqual([K1, K2]);
    expect(resolveRedisStoreOptions({ redis: redis as never, encryptionKeys: [K1], prefix: '' }).prefix).toBe('');
  });

  it('refusals name the option and what it takes', () => {
    const refused = (options: unknown) => {
      try {
        resolveRedisStoreOptions(options as never);
      } catch (error) {
        return error as Error & { option: string };
      }
      throw new Error('expected a throw');
    };
    for (const options of [null, 'redis://127.0.0.1', 5]) {
      expect(refused(options)).toMatchObject({ option: 'options', message: expect.stringContaining('must be an object such as { redis, encryptionKeys }') });
    }
    expect(refused({ redis, encryptionKeys: [K1], ttl: 1 })).toMatchObject({ option: 'ttl', message: expect.stringContaining('unknown option; RedisTokenStore takes redis, encryptionKeys, prefix') });
    for (const missing of ['status', 'isCluster', 'eval', 'evalsha', 'duplicate', 'connect']) {
      const partial = { ...redis, [missing]: undefined };
      expect(refused({ redis: partial, encryptionKeys: [K1] })).toMatchObject({ option: 'redis', message: expect.stringContaining('must be an ioredis client') });
    }
    expect(refused({ redis: null, encryptionKeys: [K1] })).toMatchObject({ option: 'redis' });
    expect(refused({ redis, encryptionKeys: [] }).message).toContain('must be a non-empty array of keys, newest first; each must be 32 random bytes');
    expect(refused({ redis, encryptionKeys: [K1, randomBytes(16)] })).toMatchObject({ option: 'encryptionKeys[1]', message: expect.stringContaining('; got 16 bytes') });
    expect(refused({ redis, encryptionKeys: ['short'] }).message).toContain('; got a string of 5 characters that is neither');
    expect(refused({ redis, encryptionKeys: [{}] }).message).toMatch(/must be 32 random bytes: a Buffer, 64 hex characters, or base64 such as the output of `openssl rand -base64 32`$/);
    expect(refused({ redis, encryptionKeys: [K1], prefix: 5 })).toMatchObject({ option: 'prefix', message: expect.stringContaining("must be a string such as 'm2m-token:'") });
    for (const prefix of ['a{b:', 'a}:', '{']) {
      expect(refused({ redis, encryptionKeys: [K1], prefix })).toMatchObject({ option: 'prefix', message: expect.stringContaining('must not contain { or }: the store puts a Redis Cluster hash tag after it') });
    }
  });

  it('tells ioredis from node-redis, and a cluster from a client, by their shape', () => {
    const nodeRedis = { isOpen: false, isReady: false, eval() {}, evalSha() {}, duplicate() {}, connect() {} };
    const kind = (client: object) => {
      const { commands } = resolveRedisStoreOptions({ redis: client as never, encryptionKeys: [K1] });
      return [commands.client, commands.cluster];
    };
    expect(kind(redis)).toEqual(['ioredis', false]);
    expect(kind({ ...redis, isCluster: true, ssubscribe() {}, spublish() {} })).toEqual(['ioredis', true]);
    expect(kind(nodeRedis)).toEqual(['node-redis', false]);
    expect(kind({ ...nodeRedis, masters: [] })).toEqual(['node-redis', true]);
    // An ioredis Cluster too old for sharded pub/sub, or half of a node-redis shape, is no client.
    for (const client of [{ ...redis, isCluster: true }, { ...nodeRedis, isReady: undefined }, { ...nodeRedis, isOpen: undefined }, { ...nodeRedis, evalSha: undefined }]) {
      expect(() => resolveRedisStoreOptions({ redis: client as never, encryptionKeys: [K1] })).toThrow(expect.objectContaining({ option: 'redis' }));
    }
  });

  it('reads base64 with or without padding, and base64url, to the same 32 bytes', () => {
    for (const text of [K1.toString('base64'), K1.toString('base64').replace(/=$/, ''), K1.toString('base64url'), ` ${K1.toString('hex').toUpperCase()}\n`]) {
      expect(resolveRedisStoreOptions({ redis: redis as never, encryptionKeys: [text] }).keys[0]).toEqual(K1);
    }
    const copy = new Uint8Array(K1);
    const resolved = resolveRedisStoreOptions({ redis: redis as never, encryptionKeys: [copy] }).keys[0]!;
    copy[0] = copy[0]! ^ 0xff;
    expect(resolved).toEqual(K1);
  });
});

describe('freshness: never back to an older value', () => {
  it('accepts the newest seen and newer; after a delete, only newer', () => {
    const f = new Freshness();
    expect(f.accepts('e', 5)).toBe(true);
    f.saw('e', 10);
    expect([f.accepts('e', 9), f.accepts('e', 10), f.accepts('e', 11)]).toEqual([false, true, true]);
    f.saw('e', 8); // an older value seen later does not move it back
    expect(f.accepts('e', 9)).toBe(false);
    f.dropped('e');
    expect([f.accepts('e', 10), f.accepts('e', 11)]).toEqual([false, true]);
    f.saw('e', 10); // the dropped value itself does not clear the drop
    expect(f.accepts('e', 10)).toBe(false);
    f.saw('e', 11);
    expect([f.accepts('e', 11), f.accepts('e', 12)]).toEqual([true, true]);
    expect(f.accepts('other', 0)).toBe(true);
    f.dropped('never-seen');
    expect(f.accepts('never-seen', 0)).toBe(true);
  });

  it('issues times after everything seen, on the writer clock otherwise', () => {
    const f = new Freshness();
    expect(f.issueTime('e', 100)).toBe(100);
    f.saw('e', 200);
    expect(f.issueTime('e', 100)).toBe(201);
    expect(f.issueTime('e', 300)).toBe(300);
  });

  it('remembers 10 000 entries; the least recently written is forgotten first', () => {
    const f = new Freshness();
    for (let i = 0; i < 10_000; i++) f.saw(`e${i}`, 10);
    f.saw('e0', 11); // written again: now the newest
    f.saw('e10000', 10); // one over: e1 goes
    expect(f.accepts('e0', 10)).toBe(false);
    expect(f.accepts('e1', 0)).toBe(true);
    expect(f.accepts('e2', 0)).toBe(false);
    expect(f.accepts('e10000', 0)).toBe(false);
  });
});

describe('the lease command', () => {
  function recording(answer: unknown) {
    const calls: { keys: readonly string[]; args: readonly string[] }[] = [];
    const commands = {
      client: 'ioredis',
      cluster: false,
      evalsha: async (_sha: string, keys: readonly string[], args: readonly string[]) => {
        calls.push({ keys, args });
        return answer;
      },
      eval: async () => answer,
      subscriber: () => {
        throw new Error('not here');
      },
    } as unknown as RedisCommands;
    return { commands, calls };
  }

  it('asks for a whole number of ms between 1 and the cap (the cap when the ttl is NaN), under a random holder', async () => {
    for (const [ttl, px] of [[Number.NaN, '5000'], [0.2, '1'], [-5, '1'], [1234.5, '1235'], [4_999, '4999'], [9_999, '5000']] as const) {
      const { commands, calls } = recording(1);
      await acquireLease(commands, 'name', ttl, 5_000);
      expect(calls[0]!.keys).toEqual(['name']);
      expect(calls[0]!.args.slice(1), `ttl ${ttl}`).toEqual([px, '5000']);
      expect(calls[0]!.args[0]).toMatch(/^[A-Za-z0-9_-]{22}$/);
    }
  });

  it('won on 1 (number or string), lost otherwise; release names the same holder', async () => {
    for (const answer of [1, '1']) {
      const { commands, calls } = recording(answer);
      const lease = await acquireLease(commands, 'name', 1000, 5_000);
      expect(lease).not.toBeNull();
      await lease!.release();
      expect(calls[1]).toEqual({ keys: ['name'], args: [calls[0]!.args[0]] });
    }
    for (const answer of [0, null, '0']) expect(await acquireLease(recording(answer).commands, 'name', 1000, 5_000)).toBeNull();
    const a = recording(1);
    await acquireLease(a.commands, 'name', 1000, 5_000);
    await acquireLease(a.commands, 'name', 1000, 5_000);
    expect(a.calls[0]!.args[0]).not.toBe(a.calls[1]!.args[0]);
  });
});

describe('what another process of this version reads', () => {
  // Known answers: every process derives the same key id, names and cipher key from the same key (HKDF with fixed
  // labels), so a fleet shares entries; a change to the derivation would strand every stored value.
  const KEY = Buffer.alloc(32, 7);

  it('the same key gives the same name and key id, and opens a value sealed elsewhere', () => {
    const ring = new Keyring([KEY]);
    expect(ring.hashes('cache-key')).toEqual(['ZpYAdRhe4W0tGXI7iovrCQ']);
    expect(ring.seal('cache-key', 'x').split('.').slice(0, 2)).toEqual(['2', '1eb092e5']);
    expect(ring.open('cache-key', '2.1eb092e5.s6WE7ERysqAxmvjNXVEkauNu7WAQLDzx19Zx1ZUxtwNxutQYJfDYut0CmQ')).toBe('known plaintext');
  });

  it('a refusal is an UnusableValueError', () => {
    let error: unknown;
    try {
      new Keyring([KEY]).open('cache-key', 'plain');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe('UnusableValueError');
  });
});
