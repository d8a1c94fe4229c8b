import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Redis, type RedisOptions } from 'ioredis';
import type { StoredToken, TokenClientErrorEvent } from 'm2m-token';
import { RedisTokenStore, type RedisClientLike, type RedisTokenStoreOptions } from 'm2m-token/redis';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { credentialFingerprint } from '../src/credential-fingerprint.js';
import { SECRET, setup } from './helpers/client.js';
import { expectNoLeak } from './helpers/leaks.js';
import { CLIENT_KINDS, connectClient, type ClientKind, type ClientTuning } from './helpers/redis-clients.js';
import { describeRedis, redisMissing } from './helpers/redis-suite.js';
import { startRedisServer, type RedisServer } from './helpers/redis-server.js';
import { json, okToken } from './helpers/token-server.js';

const KEY_OLD = randomBytes(32).toString('base64');
const KEY_NEW = randomBytes(32).toString('hex');
const KEY_OTHER = randomBytes(32);
const CLIENT_ID = 'm2m-client-Zx81';
const AUDIENCE = 'https://orders.example.com/api';
const ORGANIZATION = 'org_7Hq2Redis';
const TOKEN = 'at-redis-secret-token-Kq93';
// Every suite runs with each client; node-redis 5 too (the oldest major the peer range allows).
const KINDS: readonly ClientKind[] = [...CLIENT_KINDS, 'node-redis-v5'];

let server: RedisServer | undefined;
let admin: Redis;
const cleanup: (() => unknown)[] = [];

beforeAll(async () => {
  if (redisMissing) return;
  server = await startRedisServer();
  admin = new Redis({ host: '127.0.0.1', port: server.port });
  admin.on('error', () => {});
  await once(admin, 'ready');
});
afterAll(async () => {
  admin?.disconnect();
  await server?.stop();
});
beforeEach(async () => {
  await admin.flushall();
});
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

/** A ready client of `kind`, configured as the README recommends, closed after the test. */
async function connect(kind: ClientKind, tuning: ClientTuning = {}): Promise<RedisClientLike> {
  const connection = await connectClient(kind, { port: server!.port }, tuning);
  cleanup.push(() => connection.close());
  return connection.redis;
}

/** A store on its own connection, as another process would have; closed after the test. */
async function newStore(kind: ClientKind, encryptionKeys: RedisTokenStoreOptions['encryptionKeys'] = [KEY_OLD]): Promise<RedisTokenStore> {
  const store = new RedisTokenStore({ redis: await connect(kind), encryptionKeys });
  cleanup.push(() => store.close());
  return store;
}

/** A `duplicate` for `redis` that makes clients of the same kind which cannot connect (port 1, no retries). */
async function unreachableDuplicates(kind: ClientKind, redis: RedisClientLike): Promise<RedisClientLike['duplicate']> {
  if (kind === 'ioredis') {
    const io = redis as Redis;
    return ((override?: RedisOptions) => new Redis({ ...io.options, ...override, port: 1, retryStrategy: () => null })) as RedisClientLike['duplicate'];
  }
  const { createClient } = kind === 'node-redis' ? await import('redis') : ((await import('redis-v5')) as unknown as typeof import('redis'));
  return ((override?: object) => createClient({ ...override, url: 'redis://127.0.0.1:1', socket: { reconnectStrategy: false } })) as RedisClientLike['duplicate'];
}

const clientOptions = { clientId: CLIENT_ID, audience: AUDIENCE, organization: ORGANIZATION };

const stored = (accessToken = TOKEN): StoredToken => ({
  accessToken,
  tokenType: 'Bearer',
  expiresIn: 3_600_000,
  expiresAt: Date.now() + 3_600_000,
  raw: { access_token: accessToken, token_type: 'Bearer', expires_in: 3600 },
});

async function tokenKeys(): Promise<string[]> {
  return admin.keys('*:token');
}

async function commandCalls(command: string): Promise<number> {
  const stats = await admin.info('commandstats');
  return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
}

describeRedis.each(KINDS)('RedisTokenStore with TokenClient (%s)', (kind) => {
  it('two clients on their own connections share one token: the second makes no request', async () => {
    const first = await setup({ ...clientOptions, cache: await newStore(kind) });
    first.server.respond(okToken(TOKEN));
    const token = await first.client.getToken();

    const second = await setup({ ...clientOptions, cache: await newStore(kind), tokenEndpoint: first.server.url });
    const shared = await second.client.getToken();
    expect(shared.accessToken).toBe(TOKEN);
    expect(shared.expiresAt).toBe(token.expiresAt);
    expect(first.server.requests).toHaveLength(1);
    expect(second.server.requests).toHaveLength(0);

    // The in-process cache stays in front: a cached call sends nothing to Redis.
    await admin.config('RESETSTAT');
    for (let i = 0; i < 20; i++) await second.client.getToken();
    expect(await commandCalls('get')).toBe(0);
  });

  it('nothing in Redis or sent to it contains the token, client id, audience, organization or secret', async () => {
    const traffic: string[][] = [];
    const monitor = await admin.duplicate().monitor();
    monitor.on('error', () => {});
    cleanup.push(() => monitor.disconnect());
    monitor.on('monitor', (_time: string, args: string[]) => traffic.push(args));

    const first = await setup({ ...clientOptions, cache: await newStore(kind) });
    first.server.respond(async (_req, res) => {
      await new Promise((resolve) => setTimeout(resolve, 100)); // long enough for the other client to wait on pub/sub
      json(res, 200, { access_token: TOKEN, token_type: 'Bearer', expires_in: 3600, scope: 'read:orders' });
    });
    const second = await setup({ ...clientOptions, cache: await newStore(kind), tokenEndpoint: first.server.url });
    const tokens = await Promise.all([first.client.getToken(), second.client.getToken()]);
    expect(tokens.map((t) => t.accessToken)).toEqual([TOKEN, TOKEN]);
    expect(first.server.requests).toHaveLength(1);
    await expect.poll(() => traffic.filter((args) => args[0]!.toLowerCase() === 'unsubscribe').length).toBe(1);

    const secrets = [
      TOKEN,
      Buffer.from(TOKEN).toString('base64'),
      Buffer.from(TOKEN).toString('base64url'),
      Buffer.from(TOKEN).toString('hex'),
      CLIENT_ID,
      AUDIENCE,
      'orders.example.com',
      ORGANIZATION,
      SECRET,
      // The credential's fingerprint is in the store key, which reaches Redis only hashed and as associated data.
      credentialFingerprint({ clientId: CLIENT_ID, clientSecret: SECRET, assertion: undefined, tls: false }, undefined),
    ];
    const keys = await admin.keys('*');
    expect(keys.length).toBeGreaterThan(0);
    const stored = await Promise.all(keys.map((k) => admin.get(k)));
    for (const text of [...keys, ...stored.map(String)]) for (const s of secrets) expect(text).not.toContain(s);

    // Every argument of every command, key and channel names and PUBLISH payloads included.
    const commands = new Set(traffic.map((args) => args[0]!.toLowerCase()));
    // The store's commands are scripts (EVALSHA); MONITOR shows what each ran, too.
    for (const command of ['evalsha', 'strlen', 'get', 'set', 'publish', 'subscribe', 'unsubscribe']) expect(commands).toContain(command);
    for (const args of traffic) for (const arg of args) for (const s of secrets) expect(arg).not.toContain(s);
  });

  it.each([
    { expiresIn: 3600, leeway: 60_000, usable: 3_540_000 },
    { expiresIn: 120, leeway: 60_000, usable: 60_000 }, // the leeway is capped at half the lifetime
  ])('with staleIfError off, the Redis TTL ends when the token stops being usable ($expiresIn s, leeway $leeway ms)', async ({ expiresIn, leeway, usable }) => {
    const { server: tokens, client } = await setup({ ...clientOptions, expiryLeeway: leeway, staleIfError: false, cache: await newStore(kind) });
    tokens.respond(okToken(TOKEN, expiresIn));
    await client.getToken();
    const [name] = await tokenKeys();
    const ttl = await admin.pttl(name!);
    expect(ttl).toBeLessThanOrEqual(usable);
    expect(ttl).toBeGreaterThan(usable - 5_000);
  });

  it('with staleIfError on (the default), the Redis TTL lasts until expiresAt − minRemaining, so the fleet can serve it stale', async () => {
    const { server: tokens, client } = await setup({ ...clientOptions, cache: await newStore(kind) });
    tokens.respond(okToken(TOKEN, 3600));
    await client.getToken();
    const [name] = await tokenKeys();
    const ttl = await admin.pttl(name!);
    expect(ttl).toBeLessThanOrEqual(3_600_000 - 10_000);
    expect(ttl).toBeGreaterThan(3_600_000 - 10_000 - 5_000);
  });

  it('key rotation: a value written under the old key is read after rotation; new writes use the new key', async () => {
    const before = await setup({ ...clientOptions, cache: await newStore(kind, [KEY_OLD]) });
    await before.client.getToken(); // token-1, under the old key

    const rotated = await setup({ ...clientOptions, cache: await newStore(kind, [KEY_NEW, KEY_OLD]), tokenEndpoint: before.server.url });
    expect((await rotated.client.getToken()).accessToken).toBe('token-1');
    expect(before.server.requests).toHaveLength(1);

    expect((await rotated.client.getToken({ forceRefresh: true })).accessToken).toBe('token-2');
    await expect.poll(tokenKeys).toHaveLength(2);

    // Once the old key is dropped, the fleet reads what the rotated process wrote under the new key.
    const after = await setup({ ...clientOptions, cache: await newStore(kind, [KEY_NEW]), tokenEndpoint: before.server.url });
    expect((await after.client.getToken()).accessToken).toBe('token-2');
    expect(before.server.requests).toHaveLength(2);
  });

  // node-redis 5 has no keyPrefix option: the test exists only for the clients that have one.
  if (kind !== 'node-redis-v5') it("composes with the client's keyPrefix: keys, lease release and pub/sub all work under it", async () => {
    const prefixed = async () => {
      const store = new RedisTokenStore({ redis: await connect(kind, { keyPrefix: 'app:' }), encryptionKeys: [KEY_OLD] });
      cleanup.push(() => store.close());
      return store;
    };
    const first = await setup({ ...clientOptions, cache: await prefixed() });
    first.server.respond(async (_req, res) => {
      await new Promise((resolve) => setTimeout(resolve, 100)); // the second client waits on pub/sub meanwhile
      json(res, 200, { access_token: TOKEN, token_type: 'Bearer', expires_in: 3600 });
    });
    const second = await setup({ ...clientOptions, cache: await prefixed(), tokenEndpoint: first.server.url });
    const tokens = await Promise.all([first.client.getToken(), second.client.getToken()]);
    expect(tokens.map((t) => t.accessToken)).toEqual([TOKEN, TOKEN]);
    expect(first.server.requests).toHaveLength(1);
    expect(await admin.keys('*')).toEqual([expect.stringMatching(/^app:m2m-token:\{[\w-]+\}:token$/)]); // lease released
  });

  it('the same key given as hex, base64 or a Buffer is the same key', async () => {
    const bytes = randomBytes(32);
    await (await newStore(kind, [bytes.toString('hex')])).set('k', stored(), 60_000);
    expect(await (await newStore(kind, [bytes.toString('base64')])).get('k')).toMatchObject({ accessToken: TOKEN });
    expect(await (await newStore(kind, [`${bytes.toString('base64url')}\n`])).get('k')).toMatchObject({ accessToken: TOKEN });
    expect(await (await newStore(kind, [bytes])).get('k')).toMatchObject({ accessToken: TOKEN });
  });

  it('a process with another key sees nothing: a miss, its own request, no error', async () => {
    const first = await setup({ ...clientOptions, cache: await newStore(kind, [KEY_OLD]) });
    await first.client.getToken();
    const events: TokenClientErrorEvent[] = [];
    const other = await setup({
      ...clientOptions,
      cache: await newStore(kind, [KEY_OTHER]),
      tokenEndpoint: first.server.url,
      onError: (e) => events.push(e),
    });
    expect((await other.client.getToken()).accessToken).toBe('token-2');
    expect(first.server.requests).toHaveLength(2);
    expect(events).toEqual([]);
  });

  const tamper: Record<string, (value: string, other: string) => string> = {
    'altered ciphertext': (v) => v.slice(0, -6) + (v.endsWith('AAAAAA') ? 'BBBBBB' : 'AAAAAA'),
    'edited key id': (v) => v.replace(/^2\.[0-9a-f]{8}\./, '2.00000000.'),
    'copied from another cache key': (_v, other) => other,
    'not an envelope': () => 'hello',
    truncated: (v) => v.slice(0, 12),
  };

  it.each(Object.keys(tamper))('a stored value that does not decrypt (%s) is reported and the client falls back to the endpoint', async (how) => {
    const events: TokenClientErrorEvent[] = [];
    const store = await newStore(kind);
    const { server: tokens, client } = await setup({ ...clientOptions, cache: store, onError: (e) => events.push(e) });
    tokens.respond(okToken(TOKEN));
    await client.getToken({ audience: 'https://other.example.com' });
    const [otherName] = await tokenKeys();
    const otherValue = (await admin.get(otherName!))!;
    await client.getToken();
    const name = (await tokenKeys()).find((k) => k !== otherName)!;
    await admin.set(name, tamper[how]!((await admin.get(name))!, otherValue), 'PX', 60_000);

    const fresh = await setup({ ...clientOptions, cache: store, tokenEndpoint: tokens.url, onError: (e) => events.push(e) });
    expect((await fresh.client.getToken()).accessToken).toBe(TOKEN);
    expect(tokens.requests).toHaveLength(3);
    const reported = events.find((e) => e.operation === 'get');
    expect(reported).toMatchObject({ type: 'store', error: { code: 'M2M_STORE_ERROR' } });
    expect(String((reported!.error.cause as Error).message)).toMatch(/RedisTokenStore: the stored value/);
    expectNoLeak(reported, [TOKEN, KEY_OLD, CLIENT_ID, AUDIENCE, ORGANIZATION]);
  });

  it('a value that decrypts but is not a token object is an error that quotes nothing', async () => {
    // Written by a store holding the same key, as JSON that is not a token: a bug or an attack, never a miss.
    const store = await newStore(kind);
    await store.set('k', stored(), 60_000);
    const [name] = await tokenKeys();
    const writer = await newStore(kind);
    await writer.set('k', 'not-a-token-but-secret' as unknown as StoredToken, 60_000);
    await expect(store.get('k')).rejects.toThrow(/decrypted but is not a token object/);
    const error = await store.get('k').catch((e: unknown) => e);
    expectNoLeak(error, ['not-a-token-but-secret', KEY_OLD, name!]);
  });
});

describeRedis.each(KINDS)('RedisTokenStore leases (%s)', (kind) => {
  it('SET NX: one holder at a time; the lease expires on its own; only the holder can release it', async () => {
    const [a, b, c] = [await newStore(kind), await newStore(kind), await newStore(kind)];
    // A lease of 1 s: long enough that the next commands run within it on a busy machine.
    const first = await a.acquireLease('k', 1_000);
    expect(first).not.toBeNull();
    expect(await b.acquireLease('k', 1_000)).toBeNull();
    const [leaseName] = await admin.keys('*:lease');
    expect(await admin.pttl(leaseName!)).toBeGreaterThan(0);
    expect(await admin.pttl(leaseName!)).toBeLessThanOrEqual(1_000); // milliseconds, not seconds

    // The first holder's lease expires unreleased: brought forward (its TTL is checked above) rather than waited out.
    await admin.pexpire(leaseName!, 1);
    await expect.poll(() => admin.exists(leaseName!)).toBe(0);
    const second = await b.acquireLease('k', 10_000);
    expect(second).not.toBeNull();
    await first!.release(); // late: must not release the second holder's lease
    expect(await c.acquireLease('k', 10_000)).toBeNull();
    await second!.release();
    expect(await c.acquireLease('k', 10_000)).not.toBeNull();
  });

  it('leases on different cache keys are independent', async () => {
    const store = await newStore(kind);
    expect(await store.acquireLease('a', 10_000)).not.toBeNull();
    expect(await store.acquireLease('b', 10_000)).not.toBeNull();
  });
});

describeRedis.each(KINDS)('RedisTokenStore.waitForToken (pub/sub) (%s)', (kind) => {
  it('wakes when another store sets the token', async () => {
    const [waiter, writer] = [await newStore(kind), await newStore(kind)];
    const started = performance.now();
    const waited = waiter.waitForToken('k', 10_000);
    await expect.poll(() => admin.pubsub('CHANNELS')).toHaveLength(1); // subscribed and waiting
    await writer.set('k', stored(), 60_000);
    await expect(waited).resolves.toMatchObject({ accessToken: TOKEN });
    expect(performance.now() - started).toBeLessThan(5_000); // woken, not timed out
  });

  it('returns at once when the token is already stored (checked after subscribing)', async () => {
    const store = await newStore(kind);
    await store.set('k', stored(), 60_000);
    await expect(store.waitForToken('k', 10_000)).resolves.toMatchObject({ accessToken: TOKEN });
  });

  it('resolves undefined after the timeout when nothing is stored', async () => {
    const store = await newStore(kind);
    const started = performance.now();
    await expect(store.waitForToken('k', 100)).resolves.toBeUndefined();
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);
  });

  it('uses one subscriber connection for all waiters and unsubscribes when they are done', async () => {
    const store = await newStore(kind);
    const writer = await newStore(kind);
    const waits = Array.from({ length: 20 }, (_, i) => store.waitForToken(`key-${i % 5}`, 10_000));
    await expect.poll(() => admin.pubsub('CHANNELS')).toHaveLength(5);
    const subscribers = String(await admin.client('LIST')).split('\n').filter((line: string) => / flags=\S*P/.test(line));
    expect(subscribers).toHaveLength(1);
    for (let i = 0; i < 5; i++) await writer.set(`key-${i}`, stored(`token-${i}`), 60_000);
    const tokens = await Promise.all(waits);
    expect(tokens.map((t) => t?.accessToken)).toEqual(Array.from({ length: 20 }, (_, i) => `token-${i % 5}`));
    await expect.poll(() => admin.pubsub('CHANNELS')).toEqual([]);
  });

  it('close() wakes waiters, closes only the subscriber it made, and refuses later calls', async () => {
    const redis = await connect(kind);
    const store = new RedisTokenStore({ redis, encryptionKeys: [KEY_OLD] });
    const waited = store.waitForToken('k', 10_000);
    await expect.poll(() => admin.pubsub('CHANNELS')).toHaveLength(1);
    const started = performance.now();
    await store.close();
    await expect(waited).resolves.toBeUndefined();
    expect(performance.now() - started).toBeLessThan(5_000);
    await expect.poll(() => admin.pubsub('CHANNELS')).toEqual([]);
    // The user's client is still open and usable (both clients have ping()).
    expect(await (redis as unknown as { ping(): Promise<string> }).ping()).toBe('PONG');
    await expect(store.get('k')).rejects.toThrow(/closed/);
    await expect(store.waitForToken('k', 100)).rejects.toThrow(/closed/);
    await store.close(); // idempotent
  });

  it('polls, then reports, when the subscriber connection cannot be made', async () => {
    // A client whose duplicates cannot connect: the subscriber fails, GETs on the main connection still work.
    const redis = await connect(kind);
    const store = new RedisTokenStore({ redis, encryptionKeys: [KEY_OLD] });
    cleanup.push(() => store.close());
    redis.duplicate = await unreachableDuplicates(kind, redis);
    const writer = await newStore(kind);
    setTimeout(() => void writer.set('k', stored(), 60_000), 50);
    await expect(store.waitForToken('k', 2_000)).resolves.toMatchObject({ accessToken: TOKEN }); // found by polling
    await expect(store.waitForToken('none', 100)).rejects.toThrow(/subscribing to the pub\/sub channel failed/);
  });
});

describeRedis.each(KINDS)('RedisTokenStore secrets (%s)', (kind) => {
  it('shows no key material when inspected or serialized', async () => {
    const store = await newStore(kind, [KEY_NEW, KEY_OLD]);
    expectNoLeak(store, [KEY_NEW, KEY_OLD, Buffer.from(KEY_OLD, 'base64').toString('hex')]);
  });
});
