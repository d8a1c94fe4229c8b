import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { ErrorCode, QuotaExceededError, type TokenClientErrorEvent } from 'm2m-token';
import { RedisTokenStore } from 'm2m-token/redis';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { setup } from './helpers/client.js';
import { startRedisServer, type RedisServer } from './helpers/redis-server.js';
import { describeRedis, redisMissing } from './helpers/redis-suite.js';
import { json } from './helpers/token-server.js';

// Auth0 quota blocks shared through the Redis store: one process's 429 stops the fleet's requests until the reset.

const KEY = randomBytes(32).toString('base64');
let server: RedisServer | undefined;
const cleanup: (() => unknown)[] = [];
beforeAll(async () => {
  if (!redisMissing) server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

async function store(keys = [KEY]): Promise<RedisTokenStore> {
  const redis = new Redis({ host: '127.0.0.1', port: server!.port, enableOfflineQueue: false, commandTimeout: 500 });
  redis.on('error', () => {});
  cleanup.push(() => redis.disconnect());
  await once(redis, 'ready');
  const created = new RedisTokenStore({ redis, encryptionKeys: keys });
  cleanup.push(() => created.close());
  return created;
}

const exhausted = { 'auth0-client-quota-limit': 'b=per_hour;q=10;r=0;t=3000' };

describeRedis('quota blocks in RedisTokenStore', () => {
  it('a block one process saw stops another process before it sends anything', async () => {
    const events: TokenClientErrorEvent[] = [];
    const first = await setup({ audience: 'https://api-a', cache: await store(), onError: (e) => events.push(e) });
    first.server.respond((_req, res) => json(res, 429, { error: 'too_many_requests' }, exhausted));
    await expect(first.client.getToken()).rejects.toMatchObject({ code: ErrorCode.QUOTA_EXCEEDED, status: 429 });
    expect(first.server.requests).toHaveLength(1);

    const second = await setup({ audience: 'https://api-b', cache: await store(), tokenEndpoint: first.server.url, onError: () => {} });
    const error = await second.client.getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QuotaExceededError);
    expect((error as Error).message).toContain('Another process of the fleet');
    expect((error as QuotaExceededError).resetAt).toBeGreaterThan(Date.now() + 2_900_000);
    expect(first.server.requests).toHaveLength(1);
  });

  it('a block value written without the store key is not a block', async () => {
    const planted = await store([randomBytes(32).toString('base64')]);
    await planted.setBlock('scope-x', Date.now() + 60_000);
    expect(await planted.getBlock('scope-x')).toBeGreaterThan(Date.now());
    const ours = await store();
    expect(await ours.getBlock('scope-x')).toBeUndefined();
  });

  it('keeps the later of two blocks, and a block in the past is no block', async () => {
    const s = await store();
    const later = Date.now() + 120_000;
    await s.setBlock('scope-y', later);
    await s.setBlock('scope-y', Date.now() + 10_000);
    expect(await s.getBlock('scope-y')).toBe(later);
    await s.setBlock('scope-z', Date.now() - 1);
    expect(await s.getBlock('scope-z')).toBeUndefined();
  });
});
