import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { TokenClientErrorEvent } from 'm2m-token';
import { RedisTokenStore } from 'm2m-token/redis';
import { afterEach, expect, it } from 'vitest';
import { setup } from './helpers/client.js';
import { CLIENT_KINDS, connectClient, type ClientKind, type ClientTuning } from './helpers/redis-clients.js';
import { describeRedis } from './helpers/redis-suite.js';
import { startRedisServer, type RedisServer } from './helpers/redis-server.js';

// Redis trouble never breaks auth: the store throws, the client reports it and carries on without the store.
// Each test has its own redis-server, because some stop it.

const KEY = randomBytes(32).toString('base64');
const STORE_TIMEOUT = 200;
// Time bounds are what the client guarantees, times a slack for a loaded machine, and stay far below the hang
// each one guards against. A getToken that misses the cache waits for at most two store calls (the read, then
// the lease), each cut off at STORE_TIMEOUT (or sooner by commandTimeout), then for one local token request:
// 3 × STORE_TIMEOUT covers all three. A store call that is not cut off waits much longer: ~10 s in ioredis's
// offline queue while Redis is down (20 reconnect attempts), until the reconnect in node-redis's, and the whole
// CLIENT PAUSE below.
const SLACK = 5;
const BOUND = SLACK * 3 * STORE_TIMEOUT; // 3 000 ms
const PAUSE = 15_000; // 5 × BOUND; the server is killed after the test, so nobody waits it out
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

async function server(port?: number): Promise<RedisServer> {
  const started = await startRedisServer(port);
  cleanup.push(() => started.stop());
  return started;
}

async function store(redisServer: RedisServer, kind: ClientKind, tuning: ClientTuning): Promise<RedisTokenStore> {
  const connection = await connectClient(kind, { port: redisServer.port }, tuning);
  cleanup.push(() => connection.close());
  const created = new RedisTokenStore({ redis: connection.redis, encryptionKeys: [KEY] });
  cleanup.push(() => created.close());
  return created;
}

const clients: Record<string, ClientTuning> = {
  'the recommended client (no offline queue, command timeout)': { offlineQueue: false, commandTimeout: 500 },
  'a client with its offline queue and no command timeout': { offlineQueue: true, commandTimeout: 0 },
};

async function timed<T>(work: Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const value = await work;
  return [value, performance.now() - started];
}

describeRedis.each(CLIENT_KINDS)('Redis stopped mid-run (%s)', (kind) => {
  it.each(Object.entries(clients))('callers keep getting tokens, from memory or the endpoint, within bounded time: %s', async (_name, tuning) => {
    const redis = await server();
    const events: TokenClientErrorEvent[] = [];
    const onError = (e: TokenClientErrorEvent) => events.push(e);
    const warm = await setup({ cache: await store(redis, kind, tuning), storeTimeout: STORE_TIMEOUT, onError });
    const coldStore = await store(redis, kind, tuning);
    expect((await warm.client.getToken()).accessToken).toBe('token-1');

    await redis.stop();

    // A process that has the token keeps serving it from memory without waiting on Redis: no store call at all
    // (with Redis down, each would fail and be reported), so no time bound is needed beyond "does not hang".
    const reported = events.length;
    const [cached, cachedMs] = await timed(Promise.all(Array.from({ length: 100 }, () => warm.client.getToken())));
    expect(new Set(cached.map((t) => t.accessToken))).toEqual(new Set(['token-1']));
    expect(events).toHaveLength(reported);
    expect(cachedMs).toBeLessThan(BOUND);

    // A process that has not gets one from the endpoint after at most a few bounded store calls.
    const cold = await setup({ cache: coldStore, storeTimeout: STORE_TIMEOUT, tokenEndpoint: warm.server.url, onError });
    const [token, coldMs] = await timed(cold.client.getToken());
    expect(token.accessToken).toBe('token-2');
    expect(coldMs).toBeLessThan(BOUND);
    expect(warm.server.requests).toHaveLength(2);

    // A forced refresh and an invalidation still work; their store writes fail and are reported.
    expect((await cold.client.getToken({ forceRefresh: true })).accessToken).toBe('token-3');
    await expect(cold.client.invalidate()).resolves.toBeUndefined();
    const operations = new Set(events.map((e) => e.operation));
    for (const operation of ['get', 'delete']) expect(operations).toContain(operation);
    for (const e of events) expect(e).toMatchObject({ type: 'store', error: { code: 'M2M_STORE_ERROR' } });
  });
});

describeRedis.each(CLIENT_KINDS)('Redis back after an outage (%s)', (kind) => {
  it('the store is used again, pub/sub included, once the client has reconnected', async () => {
    const first = await server();
    // Fast reconnects keep the test short; the store's subscriber connection inherits them through duplicate().
    const tuning = { reconnectDelay: 20 };
    const [waiter, writer] = [await store(first, kind, tuning), await store(first, kind, tuning)];
    await expect(waiter.waitForToken('k', 300)).resolves.toBeUndefined(); // opens the subscriber connection
    await first.stop();
    await expect(waiter.get('k')).rejects.toThrow();

    await server(first.port);
    await expect.poll(() => waiter.get('k').then(() => 'up', () => 'down'), { timeout: 5_000 }).toBe('up');
    await expect.poll(() => waiter.waitForToken('k', 10).then(() => 'subscribed', () => 'polling'), { timeout: 5_000 }).toBe('subscribed');
    const waited = waiter.waitForToken('k', 10_000);
    setTimeout(() => void writer.set('k', { accessToken: 'after-outage', tokenType: 'Bearer', expiresIn: 60_000, expiresAt: Date.now() + 60_000 }, 60_000), 50);
    const [token, ms] = await timed(waited);
    expect(token?.accessToken).toBe('after-outage');
    expect(ms).toBeLessThan(5_000); // woken by the message, not by the end of the wait
  });
});

describeRedis.each(CLIENT_KINDS)('a slow Redis (%s)', (kind) => {
  it.each([
    ['without a command timeout: bounded by storeTimeout', { commandTimeout: 0 }, /storeTimeout/],
    // node-redis's timeout covers only the wait before a command is written: one sent is cut off by storeTimeout.
    ['with a command timeout below storeTimeout: bounded by it', { commandTimeout: 100 }, kind === 'ioredis' ? /failed/ : /storeTimeout/],
  ] as const)('does not hold getToken for the length of a CLIENT PAUSE (%s)', async (_name, tuning, reason) => {
    const redis = await server();
    const events: TokenClientErrorEvent[] = [];
    const { client } = await setup({ cache: await store(redis, kind, tuning), storeTimeout: STORE_TIMEOUT, onError: (e) => events.push(e) });
    const admin = new Redis({ host: '127.0.0.1', port: redis.port });
    cleanup.push(() => admin.disconnect());
    admin.on('error', () => {});
    expect(await admin.call('CLIENT', 'PAUSE', String(PAUSE))).toBe('OK');

    const [token, ms] = await timed(client.getToken());
    expect(token.accessToken).toBe('token-1');
    expect(ms).toBeLessThan(BOUND); // the pause lasts 5 × as long
    expect(events[0]).toMatchObject({ type: 'store', operation: 'get', error: { code: 'M2M_STORE_ERROR' } });
    expect(events[0]!.error.message).toMatch(reason);
  });
});
