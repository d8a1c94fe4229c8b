import diagnosticsChannel from 'node:diagnostics_channel';
import type { ServerResponse } from 'node:http';
import {
  diagnosticsChannels,
  ErrorCode,
  TokenClientError,
  type CacheLookupMessage,
  type QuotaBlockMessage,
  type QuotaMessage,
  type RefreshMessage,
  type StoreErrorMessage,
  type TokenRequestMessage,
  type TokenStore,
} from 'm2m-token';
import { afterEach, describe, expect, it } from 'vitest';
import { SECRET, setup } from './helpers/client.js';
import { ManualClock } from './helpers/clock.js';
import { expectNoLeak } from './helpers/leaks.js';
import { json, okToken } from './helpers/token-server.js';

const AUDIENCE = 'https://secret-audience.example.com';
const ORGANIZATION = 'org_private_customer';
const TOKEN = 'at-diagnostics-token-value';

type Event = [string, Record<string, unknown>];
const unsubscribes: (() => void)[] = [];
afterEach(() => {
  for (const off of unsubscribes.splice(0)) off();
});

/** Records every event of every m2m-token channel, as [event, a copy of the message at that moment]. */
function record(): Event[] {
  const events: Event[] = [];
  const push = (name: string) => (message: unknown) => events.push([name, { ...(message as Record<string, unknown>) }]);
  const tracing = diagnosticsChannel.tracingChannel(diagnosticsChannels.request);
  const handlers = { start: push('request:start'), end: push('request:end'), asyncStart: push('request:asyncStart'), asyncEnd: push('request:asyncEnd'), error: push('request:error') };
  tracing.subscribe(handlers);
  unsubscribes.push(() => tracing.unsubscribe(handlers));
  for (const name of ['cache', 'refresh', 'storeError', 'quota', 'quotaBlock'] as const) {
    const handler = push(name);
    diagnosticsChannel.subscribe(diagnosticsChannels[name], handler);
    unsubscribes.push(() => diagnosticsChannel.unsubscribe(diagnosticsChannels[name], handler));
  }
  return events;
}
const of = (events: Event[], name: string) => events.filter(([n]) => n === name).map(([, m]) => m);

const quotaHeaders = (remaining: number, limit = 10) => ({ 'auth0-client-quota-limit': `b=per_hour;q=${limit};r=${remaining};t=3600` });

it('channel names are stable', () => {
  expect(diagnosticsChannels).toEqual({
    request: 'm2m-token:request',
    cache: 'm2m-token:cache',
    refresh: 'm2m-token:refresh',
    storeError: 'm2m-token:store:error',
    quota: 'm2m-token:quota',
    quotaBlock: 'm2m-token:quota:block',
  });
});

describe('m2m-token:request (tracing channel)', () => {
  it('traces each attempt: start, end, error for a failed one, asyncEnd with status and duration', async () => {
    const events = record();
    const { server, client } = await setup({ audience: AUDIENCE, organization: ORGANIZATION });
    let n = 0;
    server.respond((_req, res) => (++n === 1 ? json(res, 503, { message: 'down' }) : okToken(TOKEN)(_req, res, n)));
    await client.getToken();
    const requestEvents = events.filter(([name]) => name.startsWith('request:')).map(([name, m]) => [name, m.attempt]);
    expect(requestEvents).toEqual([
      ['request:start', 1],
      ['request:end', 1],
      ['request:error', 1],
      ['request:asyncStart', 1],
      ['request:asyncEnd', 1],
      ['request:start', 2],
      ['request:end', 2],
      ['request:asyncStart', 2],
      ['request:asyncEnd', 2],
    ]);
    const [first, second] = of(events, 'request:asyncEnd') as unknown as TokenRequestMessage[];
    const url = new URL(server.url);
    const common = { endpoint: url.origin, serverAddress: '127.0.0.1', serverPort: Number(url.port), method: 'POST', authMethod: 'client_secret_post' };
    expect(first).toMatchObject({ ...common, attempt: 1, status: 503 });
    expect(first!.error).toMatchObject({ code: ErrorCode.HTTP_STATUS, status: 503 });
    expect(second).toMatchObject({ ...common, attempt: 2, status: 200, result: undefined });
    expect(second!.error).toBeUndefined();
    expect(second!.duration).toBeGreaterThan(0);
    expect(first!.key).toMatch(/^[0-9a-f]{12}$/);
    expect(second!.key).toBe(first!.key);
    // Neither the secret, the token, nor what the key names (audience, organization) goes through a channel.
    expectNoLeak(events, [SECRET, TOKEN, AUDIENCE, ORGANIZATION]);
  });

  it('has no status when no response came (network error)', async () => {
    const events = record();
    const { server, client } = await setup({ retry: false });
    server.respond((_req, res) => void res.socket?.destroy());
    await expect(client.getToken()).rejects.toMatchObject({ code: ErrorCode.NETWORK_ERROR });
    const [end] = of(events, 'request:asyncEnd') as unknown as TokenRequestMessage[];
    expect(end).toMatchObject({ attempt: 1, status: undefined });
    expect(end!.error).toMatchObject({ code: ErrorCode.NETWORK_ERROR });
  });
});

describe('m2m-token:cache and m2m-token:refresh', () => {
  it('publishes hit, stale (refresh-ahead started), miss and stale-if-error, and each background refresh outcome', async () => {
    const events = record();
    const clock = new ManualClock();
    const before = performance.now();
    // 100 s tokens: handed out until 50 s (leeway capped at half), refresh-ahead from 25 s to 37.5 s at the latest.
    const { server, client } = await setup({ clock, audience: AUDIENCE, retry: false, onError: () => {} });
    server.respond(okToken(TOKEN, 100));
    await client.getToken(); // miss
    await client.getToken(); // hit
    clock.advance(45_000);
    await client.getToken(); // stale: a background refresh starts
    await new Promise((resolve) => setTimeout(resolve, 50));
    server.respond((_req, res) => json(res, 503, { message: 'down' }));
    clock.advance(45_000); // in the new token's refresh window again
    await client.getToken(); // stale, and the refresh fails
    await new Promise((resolve) => setTimeout(resolve, 50));
    clock.advance(10_000); // past its leeway, still valid: the endpoint is failing
    await client.getToken(); // stale-if-error, and (the backoff is over) one more background attempt
    await new Promise((resolve) => setTimeout(resolve, 50));
    const lookups = of(events, 'cache') as unknown as CacheLookupMessage[];
    expect(lookups.map((m) => m.result)).toEqual(['miss', 'hit', 'stale', 'stale', 'stale-if-error']);
    expect(new Set(lookups.map((m) => m.key)).size).toBe(1);
    const refreshes = of(events, 'refresh') as unknown as RefreshMessage[];
    expect(refreshes.map((m) => m.outcome)).toEqual(['success', 'failure', 'failure']);
    expect(refreshes[0]!.expiresAt).toBeGreaterThan(clock.now());
    expect(refreshes[1]!.error).toMatchObject({ code: ErrorCode.HTTP_STATUS });
    // How long each refresh took (on the monotonic clock, not the injected one): within the time this test took.
    const took = performance.now() - before;
    for (const m of refreshes) {
      expect(m.duration).toBeGreaterThanOrEqual(0);
      expect(m.duration).toBeLessThanOrEqual(took);
    }
    expectNoLeak(events, [SECRET, TOKEN, AUDIENCE]);
    expect(client.stats()).toMatchObject({ hits: 4, misses: 1, requests: 4, failures: 2, refreshes: 3, lastError: { code: ErrorCode.HTTP_STATUS } });
    expect(client.stats().tokens).toMatchObject([{ failing: true }]);
  });
});

describe('m2m-token:store:error', () => {
  it('publishes TokenStore failures', async () => {
    const events = record();
    const store: TokenStore = { get: () => Promise.reject(new Error('fake store down')), set: async () => {}, delete: async () => {} };
    const { client } = await setup({ cache: store, onError: () => {} });
    await client.getToken();
    const [message] = of(events, 'storeError') as unknown as StoreErrorMessage[];
    expect(message).toMatchObject({ operation: 'get' });
    expect(message!.error).toBeInstanceOf(TokenClientError);
    expect(message!.error.code).toBe(ErrorCode.STORE_ERROR);
  });

  it('names the operation that failed: set', async () => {
    const events = record();
    const store: TokenStore = { get: async () => undefined, set: () => Promise.reject(new Error('fake store read-only')), delete: async () => {} };
    const { client } = await setup({ cache: store, onError: () => {} });
    await client.getToken();
    await client.close();
    const messages = of(events, 'storeError') as unknown as StoreErrorMessage[];
    expect(messages.map((m) => [m.operation, m.error.code])).toEqual([['set', ErrorCode.STORE_ERROR]]);
  });
});

describe('m2m-token:quota and m2m-token:quota:block', () => {
  it('publishes every reading, and a block', async () => {
    const events = record();
    const { server, client } = await setup({ audience: AUDIENCE, onError: () => {} });
    server.respond((_req, res) => json(res, 200, { access_token: TOKEN, token_type: 'Bearer', expires_in: 3600 }, quotaHeaders(3)));
    await client.getToken();
    server.respond((_req: unknown, res: ServerResponse) => json(res, 429, { error: 'too_many_requests' }, quotaHeaders(0)));
    await expect(client.getToken({ forceRefresh: true })).rejects.toMatchObject({ code: ErrorCode.QUOTA_EXCEEDED });
    const readings = of(events, 'quota') as unknown as QuotaMessage[];
    expect(readings.map((m) => [m.status, m.quota.buckets[0]!.remaining])).toEqual([[200, 3], [429, 0]]);
    expect(readings[0]!.endpoint).toBe(new URL(server.url).origin);
    // The key is the fingerprint of the cache key, as in m2m-token:cache.
    const [lookup] = of(events, 'cache') as unknown as CacheLookupMessage[];
    expect(readings[0]!.key).toMatch(/^[0-9a-f]{12}$/);
    expect(readings.map((m) => m.key)).toEqual([lookup!.key, lookup!.key]);
    const [block] = of(events, 'quotaBlock') as unknown as QuotaBlockMessage[];
    expect(block).toMatchObject({ scope: 'client', bucket: 'per_hour', source: 'response', key: readings[0]!.key });
    expect(block!.resetAt).toBeGreaterThan(Date.now() + 3_500_000);
    expectNoLeak(events, [SECRET, TOKEN, AUDIENCE]);
  });
});

describe('stats()', () => {
  it('counts hits, misses, requests, failures; lists cached tokens by fingerprint with their next refresh', async () => {
    const clock = new ManualClock();
    const { server, client } = await setup({ clock, audience: AUDIENCE, organization: ORGANIZATION, retry: { retries: 1, baseDelay: 1, maxDelay: 1 } });
    const empty = client.stats();
    expect(empty).toEqual({ since: clock.now(), hits: 0, misses: 0, requests: 0, failures: 0, refreshes: 0, lastError: undefined, tokens: [], quota: undefined, blocks: [] });
    server.respond(okToken(TOKEN, 3600));
    const token = await client.getToken();
    for (let i = 0; i < 5; i++) await client.getToken();
    await client.getToken({ audience: 'https://other.example.com' });
    server.respond((_req, res) => json(res, 500, { message: 'down' }));
    await expect(client.getToken({ audience: 'https://third.example.com' })).rejects.toMatchObject({ status: 500 });
    const stats = client.stats();
    expect(stats).toMatchObject({ hits: 5, misses: 3, requests: 4, failures: 1, refreshes: 0, lastError: { code: ErrorCode.HTTP_STATUS, at: clock.now() } });
    expect(stats.tokens).toHaveLength(2);
    expect(stats.tokens[0]).toEqual({ key: expect.stringMatching(/^[0-9a-f]{12}$/) as string, expiresAt: token.expiresAt, refreshAt: expect.any(Number) as number, usableUntil: token.expiresAt - 60_000, failing: false });
    expect(stats.tokens[0]!.refreshAt).toBeLessThan(token.expiresAt - 60_000);
    expect(stats.tokens[0]!.key).not.toBe(stats.tokens[1]!.key);
    // JSON for a health endpoint, with nothing secret or identifying in it.
    expectNoLeak(stats, [SECRET, TOKEN, AUDIENCE, ORGANIZATION, 'other.example.com']);
  });
});
