import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { startFleet, type Fleet, type WorkerConfig } from './fixtures/fleet-worker.js';
import { CLIENT_KINDS, type ClientKind } from './helpers/redis-clients.js';
import { describeRedis, redisMissing } from './helpers/redis-suite.js';
import { startRedisServer, type RedisServer } from './helpers/redis-server.js';
import { json, startTokenServer, type TokenServer } from './helpers/token-server.js';

// Acceptance: real processes, one real redis-server, one token endpoint in this process. The same eight worker
// processes run every round (see fleet-worker.ts), each round with a fresh client, store and TokenClient.

const KEY = randomBytes(32).toString('base64');
const SETUP_TIMEOUT = 120_000; // starting 8 tsx processes on a busy 2-core machine takes a while
const ROUND_TIMEOUT = 60_000;

let redis: RedisServer;
let admin: Redis;
let fleet: Fleet;
let tokens: TokenServer;
beforeAll(async () => {
  if (redisMissing) return;
  [redis, fleet] = await Promise.all([startRedisServer(), startFleet(8)]);
  admin = new Redis({ host: '127.0.0.1', port: redis.port });
}, SETUP_TIMEOUT);
afterAll(async () => {
  admin?.disconnect();
  await Promise.all([fleet?.close(), redis?.stop()]);
});
beforeEach(async () => {
  tokens = await startTokenServer();
  await admin.flushall();
});
afterEach(() => tokens.close());

const worker = (client: ClientKind, overrides: Partial<WorkerConfig> = {}) => (index: number): WorkerConfig => ({
  tokenEndpoint: tokens.url,
  redis: { target: { port: redis.port }, client, encryptionKey: KEY },
  name: `fleet-worker-${index}`,
  load: { burst: 200 },
  ...overrides,
});

describeRedis.each(CLIENT_KINDS)('a fleet sharing a RedisTokenStore on one Redis (%s)', (client) => {
  it('8 processes × 200 concurrent getToken on a cold fleet: 1 request, 1 600 callers with the same token', async () => {
    tokens.respond(async (_req, res, i) => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      json(res, 200, { access_token: `fleet-token-${i}`, token_type: 'Bearer', expires_in: 3600 });
    });
    await fleet.prepare(worker(client));
    fleet.go();
    const results = await fleet.results();

    expect(results.every((r) => r !== undefined)).toBe(true);
    // Together, so that a failure shows what the store reported.
    const problems = results.flatMap((r) => [...r!.failures, ...r!.reported]);
    expect({ requests: tokens.requests.length, problems }).toEqual({ requests: 1, problems: [] });
    const all = results.flatMap((r) => r!.tokens);
    expect(all).toHaveLength(1_600);
    expect(new Set(all)).toEqual(new Set(['fleet-token-1']));
  }, ROUND_TIMEOUT);

  it('a lease holder killed mid-request is replaced once its lease expires; the other callers succeed', async () => {
    let killed: number | undefined;
    tokens.respond((req, res, i) => {
      if (i === 1) {
        // Hold the answer and kill the process that asked: its lease is never released.
        killed = Number(/fleet-worker-(\d+)/.exec(req.headers['user-agent'] ?? '')?.[1]);
        fleet.children[killed]!.kill('SIGKILL');
        return;
      }
      json(res, 200, { access_token: `fleet-token-${i}`, token_type: 'Bearer', expires_in: 3600 });
    });
    // The lease lasts min(totalTimeout + 1 s, 5 s): 2 s here.
    await fleet.prepare(worker(client, { totalTimeout: 1_000, load: { burst: 50 } }), 4);
    const started = performance.now();
    fleet.go();
    const results = await fleet.results();
    const elapsed = performance.now() - started;

    expect(killed).toBeTypeOf('number');
    expect(results[killed!]).toBeUndefined();
    const survivors = results.filter((r) => r !== undefined);
    expect(survivors).toHaveLength(3);
    const all = survivors.flatMap((r) => r.tokens);
    expect(all).toHaveLength(150);
    // One takeover after the lease expired, not one request per process.
    expect(new Set(all)).toEqual(new Set(['fleet-token-2']));
    expect(tokens.requests).toHaveLength(2);
    expect(elapsed).toBeGreaterThanOrEqual(1_900);
    expect(survivors.flatMap((r) => [...r.failures, ...r.reported])).toEqual([]);
  }, ROUND_TIMEOUT);
});
