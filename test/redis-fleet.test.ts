import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startFleet, type Fleet, type WorkerConfig } from './fixtures/fleet-worker.js';
import { describeRedis } from './helpers/redis-suite.js';
import { startRedisServer, type RedisServer } from './helpers/redis-server.js';
import { json, startTokenServer, type TokenServer } from './helpers/token-server.js';

// Acceptance: real processes, one real redis-server, one token endpoint in this process.

const KEY = randomBytes(32).toString('base64');
const FLEET_TIMEOUT = 120_000; // starting 8 tsx processes on a busy 2-core machine takes a while

let redis: RedisServer;
let tokens: TokenServer;
let fleet: Fleet | undefined;
beforeEach(async () => {
  [redis, tokens] = await Promise.all([startRedisServer(), startTokenServer()]);
});
afterEach(async () => {
  await fleet?.close();
  fleet = undefined;
  await Promise.all([tokens.close(), redis.stop()]);
});

const worker = (overrides: Partial<WorkerConfig> = {}) => (index: number): WorkerConfig => ({
  tokenEndpoint: tokens.url,
  redis: { port: redis.port, encryptionKey: KEY },
  name: `fleet-worker-${index}`,
  load: { burst: 200 },
  ...overrides,
});

describeRedis('a fleet sharing a RedisTokenStore', () => {
  it('8 processes × 200 concurrent getToken on a cold fleet: 1 request, 1 600 callers with the same token', async () => {
    tokens.respond(async (_req, res, i) => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      json(res, 200, { access_token: `fleet-token-${i}`, token_type: 'Bearer', expires_in: 3600 });
    });
    fleet = await startFleet(8, worker());
    fleet.go();
    const results = await fleet.results();

    expect(tokens.requests).toHaveLength(1);
    expect(results.every((r) => r !== undefined)).toBe(true);
    const all = results.flatMap((r) => r!.tokens);
    expect(all).toHaveLength(1_600);
    expect(new Set(all)).toEqual(new Set(['fleet-token-1']));
    expect(results.flatMap((r) => [...r!.failures, ...r!.reported])).toEqual([]);
  }, FLEET_TIMEOUT);

  it('a lease holder killed mid-request is replaced once its lease expires; the other callers succeed', async () => {
    let killed: number | undefined;
    tokens.respond((req, res, i) => {
      if (i === 1) {
        // Hold the answer and kill the process that asked: its lease is never released.
        killed = Number(/fleet-worker-(\d+)/.exec(req.headers['user-agent'] ?? '')?.[1]);
        fleet!.children[killed]!.kill('SIGKILL');
        return;
      }
      json(res, 200, { access_token: `fleet-token-${i}`, token_type: 'Bearer', expires_in: 3600 });
    });
    // The lease lasts min(totalTimeout, 10 s): 1 s here.
    fleet = await startFleet(4, worker({ totalTimeout: 1_000, load: { burst: 50 } }));
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
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(survivors.flatMap((r) => [...r.failures, ...r.reported])).toEqual([]);
  }, FLEET_TIMEOUT);
});
