import {
  ConfigurationError,
  ErrorCode,
  OAuthError,
  QuotaExceededError,
  TokenClient,
  type StoredToken,
  type TokenClientErrorEvent,
  type TokenClientOptions,
  type TokenStore,
  type TokenStoreBlocks,
} from 'm2m-token';
import { ManualClock, mockNetwork, mockTokenEndpoint, useMockNetwork } from 'm2m-token/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readQuota } from '../src/quota.js';

// Auth0 fine-grained token quotas against the testing kit's mock endpoint, on a manual clock that starts at a full
// UTC hour: the per_hour bucket resets 3600 s in, the per_day bucket 86 400 s in.
const START = Date.parse('2026-01-01T00:00:00Z');
const HOUR = 3_600_000;
const API = 'https://api.example.com';
const OTHER_API = 'https://other.example.com';
const CLIENT_ID = 'quota-client';
const SECRET = 'fake-quota-secret-8c1f';

let clock = new ManualClock(START);
const endpointClock = { now: () => clock.now() };
const common = { clientId: CLIENT_ID, clientSecret: SECRET, clock: endpointClock, expiresIn: 600 };
/** The application may get 3 tokens an hour, 5 a day. */
const app = mockTokenEndpoint({ ...common, domain: 'quota-app.eu.auth0.com', quotas: { client: { perHour: 3, perDay: 5 } } });
/** Each organization may get 1 token an hour; the application 100 a day. */
const orgs = mockTokenEndpoint({ ...common, domain: 'quota-org.eu.auth0.com', quotas: { client: { perDay: 100 }, organization: { perHour: 1 } } });
/** Monitoring only: 2 an hour, not enforced. */
const monitored = mockTokenEndpoint({ ...common, domain: 'quota-monitor.eu.auth0.com', quotas: { client: { perHour: 2, enforce: false } } });
useMockNetwork(mockNetwork(app.handlers, orgs.handlers, monitored.handlers), { beforeAll, afterEach, afterAll }, { reset: [app, orgs, monitored] });

beforeEach(() => {
  clock = new ManualClock(START);
});
const clients: TokenClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

function client(domain: string, options: Partial<TokenClientOptions> = {}) {
  const events: TokenClientErrorEvent[] = [];
  const c = new TokenClient({
    domain,
    clientId: CLIENT_ID,
    clientSecret: SECRET,
    audience: API,
    clock,
    retry: { retries: 2, baseDelay: 1, maxDelay: 2 },
    onError: (event) => events.push(event),
    ...options,
  } as TokenClientOptions);
  clients.push(c);
  return { client: c, events };
}

const fresh = (c: TokenClient, options: Parameters<TokenClient['getToken']>[0] = {}) => c.getToken({ ...options, forceRefresh: true });

describe('reading the headers', () => {
  it('parses Auth0-Client-Quota-Limit and Auth0-Organization-Quota-Limit into token.quota', async () => {
    const { client: c } = client('quota-org.eu.auth0.com');
    clock.advance(60_000); // 00:01: the hour resets in 3540 s
    const token = await c.getToken({ organization: 'org_acme' });
    expect(token.quota).toEqual({
      at: START + 60_000,
      buckets: [
        { scope: 'client', bucket: 'per_day', limit: 100, remaining: 99, resetAt: START + 24 * HOUR },
        { scope: 'organization', bucket: 'per_hour', limit: 1, remaining: 0, resetAt: START + HOUR },
      ],
      rateLimit: undefined,
    });
    expect(Object.isFrozen(token.quota)).toBe(true);
    // Shown by the token's JSON (nothing in it is a secret), and kept by stats().
    expect(JSON.parse(JSON.stringify(token)).quota.buckets).toHaveLength(2);
    expect(c.stats().quota).toBe(token.quota);
  });

  it('reads the documented example, x-ratelimit-*, and skips malformed buckets', () => {
    const sentAt = START;
    const reading = readQuota(
      {
        'auth0-client-quota-limit': 'b=per_hour;q=10;r=7;t=3540,b=per_day;q=50;r=47;t=43200',
        'auth0-organization-quota-limit': ['b=per_hour;q=5;r=x;t=60', 'b=<script>;q=1;r=1;t=1,b=per_day;q=20;r=0;t=100'],
        'x-ratelimit-limit': '30',
        'x-ratelimit-remaining': '29',
        'x-ratelimit-reset': String(START / 1000 + 5),
      },
      sentAt,
    );
    expect(reading).toEqual({
      at: sentAt,
      buckets: [
        { scope: 'client', bucket: 'per_hour', limit: 10, remaining: 7, resetAt: sentAt + 3_540_000 },
        { scope: 'client', bucket: 'per_day', limit: 50, remaining: 47, resetAt: sentAt + 43_200_000 },
        { scope: 'organization', bucket: 'per_day', limit: 20, remaining: 0, resetAt: sentAt + 100_000 },
      ],
      rateLimit: { limit: 30, remaining: 29, resetAt: START + 5000 },
    });
    expect(readQuota({ 'content-type': 'application/json' }, sentAt)).toBeUndefined();
  });

  it('puts the reading on the error of a 429 too', async () => {
    const { client: c } = client('quota-app.eu.auth0.com', { quota: { block: false } });
    for (let i = 0; i < 3; i++) await fresh(c);
    const error = await fresh(c).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ status: 429, error: 'too_many_requests' });
    expect((error as OAuthError).quota?.buckets).toEqual([
      { scope: 'client', bucket: 'per_hour', limit: 3, remaining: 0, resetAt: START + HOUR },
      { scope: 'client', bucket: 'per_day', limit: 5, remaining: 2, resetAt: START + 24 * HOUR },
    ]);
  });
});

describe('warning at the threshold', () => {
  it('warns once per bucket crossing, through onError type quota, and again after the bucket resets', async () => {
    const { client: c, events } = client('quota-app.eu.auth0.com', { quota: { warnBelow: 0.5 } });
    await fresh(c); // per_hour 2 of 3 left (0.67), per_day 4 of 5
    expect(events).toEqual([]);
    await fresh(c); // per_hour 1 of 3 (0.33 < 0.5): warn
    expect(events).toHaveLength(1);
    expect(events[0]!.type).toBe('quota');
    expect(events[0]!.error.code).toBe(ErrorCode.QUOTA_LOW);
    expect(events[0]!.error.message).toContain('per_hour token quota is running out: 1 of 3 tokens left');
    expect(events[0]!.error.quota?.buckets[0]).toMatchObject({ bucket: 'per_hour', remaining: 1 });
    await fresh(c); // per_hour 0 of 3: still below, no second warning; per_day 2 of 5 (0.4): its own first warning
    expect(events.map((e) => e.error.message.match(/(per_\w+)/)![1])).toEqual(['per_hour', 'per_day']);
    clock.advance(HOUR); // the hour resets: per_hour 2 of 3 left, above the threshold again (per_day 1 of 5: still below)
    await fresh(c);
    expect(events).toHaveLength(2);
    await fresh(c); // per_hour 1 of 3: below again, so a new warning; per_day 0 of 5 (the last token of the day)
    expect(events.map((e) => e.error.message.match(/(per_\w+)/)![1])).toEqual(['per_hour', 'per_day', 'per_hour']);
    await expect(fresh(c)).rejects.toMatchObject({ code: ErrorCode.QUOTA_EXCEEDED, bucket: 'per_day', resetAt: START + 24 * HOUR });
    expect(events.map((e) => e.error.code)).toEqual([ErrorCode.QUOTA_LOW, ErrorCode.QUOTA_LOW, ErrorCode.QUOTA_LOW, ErrorCode.QUOTA_EXCEEDED]);
  });

  it('warns below 10% by default, and never with warnBelow: false', async () => {
    const quiet = client('quota-app.eu.auth0.com', { quota: { warnBelow: false } });
    const loud = client('quota-app.eu.auth0.com');
    await fresh(loud.client);
    await fresh(loud.client);
    expect(loud.events).toEqual([]); // 1 of 3 is 33%
    await fresh(loud.client); // 0 of 3
    expect(loud.events.map((e) => e.error.code)).toEqual([ErrorCode.QUOTA_LOW]);
    clock.advance(HOUR);
    await fresh(quiet.client);
    await fresh(quiet.client);
    expect(quiet.events).toEqual([]);
  });

  it('validates the option', () => {
    const make = (quota: unknown) => () => new TokenClient({ domain: 'quota-app.eu.auth0.com', clientId: CLIENT_ID, clientSecret: SECRET, quota } as TokenClientOptions);
    expect(make({ warnBelow: 2 })).toThrow(expect.objectContaining({ option: 'quota.warnBelow' }) as Error);
    expect(make({ block: 'yes' })).toThrow(expect.objectContaining({ option: 'quota.block' }) as Error);
    expect(make({ blok: true })).toThrow(expect.objectContaining({ option: 'quota.blok' }) as Error);
    expect(make('off')).toThrow(ConfigurationError);
    expect(make(false)).not.toThrow();
  });
});

describe('block until the bucket resets', () => {
  it('a 429 for a used-up bucket is not retried; later calls fail fast with M2M_QUOTA_EXCEEDED and send nothing', async () => {
    const { client: c, events } = client('quota-app.eu.auth0.com');
    for (let i = 0; i < 3; i++) await fresh(c);
    expect(app.requestCount).toBe(3);
    clock.advance(10 * 60_000); // 00:10
    const error = await fresh(c).catch((e: unknown) => e);
    // One request (retries: 2 were allowed): its reset is 50 min away, far beyond retry.maxRetryAfter.
    expect(app.requestCount).toBe(4);
    expect(error).toBeInstanceOf(QuotaExceededError);
    expect(error).toMatchObject({ code: ErrorCode.QUOTA_EXCEEDED, status: 429, scope: 'client', bucket: 'per_hour', resetAt: START + HOUR, attempts: 1 });
    expect((error as QuotaExceededError).cause).toBeInstanceOf(OAuthError);
    expect((error as QuotaExceededError).retryAfter).toBe(50 * 60_000);
    expect(events.filter((e) => e.error.code === ErrorCode.QUOTA_EXCEEDED)).toHaveLength(1);

    // Every key of the client is blocked: another audience, a forced refresh, a cache miss.
    for (const call of [() => fresh(c), () => c.getToken({ audience: OTHER_API }), () => c.getToken({ audience: OTHER_API, scope: 'read' })]) {
      const blocked = await call().catch((e: unknown) => e);
      expect(blocked).toBeInstanceOf(QuotaExceededError);
      expect(blocked).toMatchObject({ code: ErrorCode.QUOTA_EXCEEDED, resetAt: START + HOUR, scope: 'client' });
      expect((blocked as QuotaExceededError).status).toBeUndefined();
    }
    expect(app.requestCount).toBe(4);
    expect(c.stats().blocks).toEqual([{ scope: 'client', bucket: 'per_hour', resetAt: START + HOUR }]);

    clock.advance(50 * 60_000 - 1); // 1 ms before the reset: still blocked
    await expect(c.getToken({ audience: OTHER_API })).rejects.toMatchObject({ code: ErrorCode.QUOTA_EXCEEDED });
    expect(app.requestCount).toBe(4);
    clock.advance(1); // 01:00: the hour has reset
    await expect(c.getToken({ audience: OTHER_API })).resolves.toMatchObject({ tokenType: 'Bearer' });
    expect(app.requestCount).toBe(5);
    expect(c.stats().blocks).toEqual([]);
  });

  it('serves a cached token that is still usable during the block, and a stale one past its leeway (stale-if-error)', async () => {
    const { client: c, events } = client('quota-app.eu.auth0.com', { refreshAhead: false });
    const cached = await c.getToken(); // tokens live 600 s: handed out until 540 s, stale-if-error until 590 s
    await fresh(c, { audience: OTHER_API });
    await fresh(c, { audience: OTHER_API });
    await expect(fresh(c, { audience: OTHER_API })).rejects.toMatchObject({ code: ErrorCode.QUOTA_EXCEEDED, status: 429 });
    expect(app.requestCount).toBe(4);

    expect(await c.getToken()).toBe(cached); // still fresh: a plain cache hit
    clock.advance(560_000); // past the leeway, 40 s before expiry
    expect(await c.getToken()).toBe(cached); // stale-if-error: the block counts as a transient failure
    expect(await c.getToken()).toBe(cached);
    expect(app.requestCount).toBe(4);
    expect(events.map((e) => e.type)).toContain('stale');
    // A forced refresh is never answered with a stale token: it fails fast.
    await expect(fresh(c)).rejects.toMatchObject({ code: ErrorCode.QUOTA_EXCEEDED });
    clock.advance(35_000); // 5 s before expiry: below stale-if-error's minRemaining, and still blocked
    await expect(c.getToken()).rejects.toMatchObject({ code: ErrorCode.QUOTA_EXCEEDED });
    expect(app.requestCount).toBe(4);
  });

  it('refresh-ahead waits for the reset: the cached token is served, nothing is sent, no refresh failure is reported', async () => {
    const { client: c, events } = client('quota-app.eu.auth0.com', { refreshAhead: 200_000 });
    const cached = await c.getToken(); // 600 s tokens: handed out until 540 s; the refresh starts between 340 s and 440 s
    await fresh(c, { audience: OTHER_API });
    await fresh(c, { audience: OTHER_API });
    await expect(fresh(c, { audience: OTHER_API })).rejects.toMatchObject({ code: ErrorCode.QUOTA_EXCEEDED });
    clock.advance(450_000); // in the refresh-ahead window
    for (let i = 0; i < 5; i++) expect(await c.getToken()).toBe(cached);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(app.requestCount).toBe(4);
    // The low warning (the third token left 0 of 3) and the block: no 'refresh' failure for the refresh the block stopped.
    expect(events.map((e) => [e.type, e.error.code])).toEqual([['quota', ErrorCode.QUOTA_LOW], ['quota', ErrorCode.QUOTA_EXCEEDED]]);
    expect(c.stats()).toMatchObject({ refreshes: 1, hits: 5 });
  });

  it('an organization bucket blocks that organization only; the application bucket blocks every key', async () => {
    const { client: c } = client('quota-org.eu.auth0.com');
    await c.getToken({ organization: 'org_a' });
    const error = await fresh(c, { organization: 'org_a' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.QUOTA_EXCEEDED, scope: 'organization', bucket: 'per_hour', resetAt: START + HOUR, status: 429 });
    expect((error as Error).message).toContain("the organization's per_hour token quota of 1 token");
    expect(orgs.requestCount).toBe(2);

    // org_a's other keys fail fast; another organization and no organization at all are not blocked.
    await expect(c.getToken({ organization: 'org_a', audience: OTHER_API })).rejects.toMatchObject({ code: ErrorCode.QUOTA_EXCEEDED, scope: 'organization' });
    expect(orgs.requestCount).toBe(2);
    await expect(c.getToken({ organization: 'org_b' })).resolves.toMatchObject({ tokenType: 'Bearer' });
    await expect(c.getToken()).resolves.toMatchObject({ tokenType: 'Bearer' });
    expect(orgs.requestCount).toBe(4);
    expect(c.stats().blocks).toEqual([{ scope: 'organization', organization: expect.stringMatching(/^[0-9a-f]{12}$/) as string, bucket: 'per_hour', resetAt: START + HOUR }]);
    expect(JSON.stringify(c.stats())).not.toContain('org_a');
  });

  it('an unenforced quota only reports: tokens keep coming, nothing is blocked', async () => {
    const { client: c, events } = client('quota-monitor.eu.auth0.com');
    for (let i = 0; i < 4; i++) await fresh(c);
    expect(monitored.requestCount).toBe(4);
    expect((await fresh(c)).quota?.buckets[0]).toMatchObject({ bucket: 'per_hour', limit: 2, remaining: 0 });
    expect(events.map((e) => e.error.code)).toEqual([ErrorCode.QUOTA_LOW]);
  });

  it('quota: false does not block: the 429 is an OAuthError and the next call asks again', async () => {
    const { client: c, events } = client('quota-app.eu.auth0.com', { quota: false });
    for (let i = 0; i < 3; i++) await fresh(c);
    await expect(fresh(c)).rejects.toBeInstanceOf(OAuthError);
    await expect(fresh(c)).rejects.toBeInstanceOf(OAuthError);
    expect(app.requestCount).toBe(5);
    expect(events).toEqual([]);
  });
});

/** A TokenStore shared by several clients, as Redis is by a fleet, with quota blocks. */
class FleetStore implements TokenStore, TokenStoreBlocks {
  readonly tokens = new Map<string, StoredToken>();
  readonly blocks = new Map<string, number>();
  async get(key: string) {
    return this.tokens.get(key);
  }
  async set(key: string, token: StoredToken) {
    this.tokens.set(key, token);
  }
  async delete(key: string) {
    this.tokens.delete(key);
  }
  async setBlock(scope: string, until: number) {
    this.blocks.set(scope, Math.max(until, this.blocks.get(scope) ?? 0));
  }
  async getBlock(scope: string) {
    return this.blocks.get(scope);
  }
}

describe('sharing blocks with the fleet', () => {
  it('a block one process saw stops the others before they send anything', async () => {
    const store = new FleetStore();
    const one = client('quota-org.eu.auth0.com', { cache: store });
    const two = client('quota-org.eu.auth0.com', { cache: store });
    await one.client.getToken({ organization: 'org_a' });
    await expect(fresh(one.client, { organization: 'org_a' })).rejects.toMatchObject({ code: ErrorCode.QUOTA_EXCEEDED, status: 429 });
    await Promise.resolve();
    expect([...store.blocks.values()]).toEqual([START + HOUR]);
    const [scope] = store.blocks.keys();
    expect(scope).not.toContain(SECRET);
    expect(orgs.requestCount).toBe(2);

    // The second process has the token in the store (served), but none for another audience: blocked from the store.
    await expect(two.client.getToken({ organization: 'org_a' })).resolves.toMatchObject({ tokenType: 'Bearer' });
    const error = await two.client.getToken({ organization: 'org_a', audience: OTHER_API }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QuotaExceededError);
    expect(error).toMatchObject({ scope: 'organization', resetAt: START + HOUR, bucket: undefined });
    expect((error as Error).message).toContain('Another process of the fleet');
    expect(orgs.requestCount).toBe(2);
    expect(two.events.map((e) => [e.type, e.error.code])).toEqual([['quota', ErrorCode.QUOTA_EXCEEDED]]);
    // Other organizations are not blocked in the second process either.
    await expect(two.client.getToken({ organization: 'org_b' })).resolves.toMatchObject({ tokenType: 'Bearer' });
    expect(orgs.requestCount).toBe(3);
  });

  it('a store whose block methods fail is reported and read as no block', async () => {
    const store = new FleetStore();
    store.getBlock = () => Promise.reject(new Error('fake store down'));
    const { client: c, events } = client('quota-org.eu.auth0.com', { cache: store });
    await expect(c.getToken({ organization: 'org_a' })).resolves.toMatchObject({ tokenType: 'Bearer' });
    expect(events.map((e) => [e.type, e.operation, e.error.code])).toContainEqual(['store', 'block', ErrorCode.STORE_ERROR]);
  });
});

describe('mockTokenEndpoint quotas (the testing kit)', () => {
  const post = (organization?: string) =>
    fetch(orgs.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: SECRET, audience: API, ...(organization ? { organization } : {}) }),
    });

  it('sends the headers Auth0 sends, answers 429 once an enforced bucket is used up, and resets at the next UTC hour', async () => {
    clock.advance(30 * 60_000 + 500); // 00:30:00.5: the hour resets in 1800 s (rounded up)
    const first = await post('org_x');
    expect(first.status).toBe(200);
    expect(first.headers.get('auth0-client-quota-limit')).toBe('b=per_day;q=100;r=99;t=84600');
    expect(first.headers.get('auth0-organization-quota-limit')).toBe('b=per_hour;q=1;r=0;t=1800');
    const noOrg = await post();
    expect(noOrg.headers.get('auth0-organization-quota-limit')).toBeNull();
    const refused = await post('org_x');
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ error: 'too_many_requests' });
    expect(refused.headers.get('auth0-organization-quota-limit')).toBe('b=per_hour;q=1;r=0;t=1800');
    expect(refused.headers.get('auth0-client-quota-limit')).toBe('b=per_day;q=100;r=98;t=84600'); // a refused request is not counted
    expect(orgs.calls.map((c) => [c.status, c.error])).toEqual([[200, undefined], [200, undefined], [429, 'too_many_requests']]);
    clock.advance(1800 * 1000);
    expect((await post('org_x')).status).toBe(200);
  });

  it('checks its options', () => {
    const make = (quotas: unknown) => () => mockTokenEndpoint({ domain: 'x.example.com', clientId: 'a', clientSecret: 'fake-b', quotas } as Parameters<typeof mockTokenEndpoint>[0]);
    expect(make({ client: { perHour: 0 } })).toThrow(/perHour must be a whole number/);
    expect(make({ organization: {} })).toThrow(/needs perHour, perDay or both/);
  });
});
