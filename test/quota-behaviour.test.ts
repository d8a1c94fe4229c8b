// Auth0 quota headers as a user sees them, over real HTTP on loopback: what token.quota says for each header form,
// which 429s block which keys and until when, the messages of QuotaExceededError and of the low-quota warning, and
// quota blocks shared through a TokenStore. quota.test.ts drives the same features through the testing kit.
import diagnosticsChannel from 'node:diagnostics_channel';
import type { ServerResponse } from 'node:http';
import {
  diagnosticsChannels,
  ErrorCode,
  OAuthError,
  QuotaExceededError,
  TokenClientError,
  type StoredToken,
  type QuotaBlockMessage,
  type TokenClient,
  type TokenClientErrorEvent,
  type TokenStore,
  type TokenStoreBlocks,
} from 'm2m-token';
import { ManualClock } from 'm2m-token/testing';
import { describe, expect, it } from 'vitest';
import { setup, type ClientOverrides } from './helpers/client.js';
import { json, type TokenServer } from './helpers/token-server.js';

const START = Date.parse('2026-01-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

type Headers = Record<string, string>;

function ok(headers: Headers = {}) {
  return (_req: unknown, res: ServerResponse) => json(res, 200, { access_token: 'at-quota', token_type: 'Bearer', expires_in: 3600 }, headers);
}
function refused(headers: Headers, status = 429) {
  return (_req: unknown, res: ServerResponse) => json(res, status, { error: status === 429 ? 'too_many_requests' : 'temporarily_unavailable' }, headers);
}
const client = (buckets: string) => ({ 'auth0-client-quota-limit': buckets });
const organization = (buckets: string) => ({ 'auth0-organization-quota-limit': buckets });

async function quotaClient(options: ClientOverrides = {}): Promise<{ server: TokenServer; client: TokenClient; clock: ManualClock; events: TokenClientErrorEvent[] }> {
  const clock = new ManualClock(START);
  const events: TokenClientErrorEvent[] = [];
  const { server, client: c } = await setup({ clock, retry: false, onError: (e) => events.push(e), ...options });
  return { server, client: c, clock, events };
}

/** The quota reading of a 200 response with these headers. */
async function readingOf(headers: Headers) {
  const { server, client: c } = await quotaClient();
  server.respond(ok(headers));
  return (await c.getToken()).quota;
}

describe('token.quota', () => {
  it('is undefined without quota headers; each x-ratelimit header alone is a reading of its own', async () => {
    expect(await readingOf({})).toBeUndefined();
    expect(await readingOf({ 'x-ratelimit-limit': '30' })).toEqual({ at: START, buckets: [], rateLimit: { limit: 30, remaining: undefined, resetAt: undefined } });
    expect(await readingOf({ 'x-ratelimit-remaining': '12' })).toEqual({ at: START, buckets: [], rateLimit: { limit: undefined, remaining: 12, resetAt: undefined } });
    // A reset below 1e9 is seconds from now; above, epoch seconds.
    expect(await readingOf({ 'x-ratelimit-reset': '60' })).toEqual({ at: START, buckets: [], rateLimit: { limit: undefined, remaining: undefined, resetAt: START + 60_000 } });
    expect(await readingOf({ 'x-ratelimit-reset': String(START / 1000 + 7) })).toMatchObject({ rateLimit: { resetAt: START + 7000 } });
    const reading = await readingOf({ 'x-ratelimit-limit': '30', 'x-ratelimit-remaining': 'many' });
    expect(reading).toEqual({ at: START, buckets: [], rateLimit: { limit: 30, remaining: undefined, resetAt: undefined } });
    expect(Object.isFrozen(reading)).toBe(true);
    expect(Object.isFrozen(reading!.rateLimit)).toBe(true);
    expect(Object.isFrozen(reading!.buckets)).toBe(true);
  });

  it('reads an organization header alone, and buckets written loosely: any case, spaces, more left than allowed', async () => {
    expect(await readingOf(organization('b=per_day;q=20;r=3;t=100'))).toEqual({
      at: START,
      buckets: [{ scope: 'organization', bucket: 'per_day', limit: 20, remaining: 3, resetAt: START + 100_000 }],
      rateLimit: undefined,
    });
    const reading = await readingOf(client(' B=per_hour ; Q= 10 ;R=12;  T=3540 '));
    expect(reading!.buckets).toEqual([{ scope: 'client', bucket: 'per_hour', limit: 10, remaining: 10, resetAt: START + 3_540_000 }]);
  });

  it('skips a bucket with a field missing or malformed, and keeps 8 buckets of a header at most', async () => {
    const malformed = [
      'q=1;r=1;t=1', // no name
      'b=no_limit;r=1;t=1',
      'b=no_remaining;q=1;t=1',
      'b=no_reset;q=1;r=1',
      'bx;q=1;r=1;t=1', // "b" without "="
      'b=fraction;q=1.5;r=1;t=1',
      'b=negative;q=5;r=-1;t=1',
      'b=sixteen_digits;q=1;r=1;t=1234567890123456',
      'b=suffix;q=1;r=1;t=5s',
      'b=prefix;q=1;r=1;t=x5',
      'b=bad name;q=1;r=1;t=1',
    ].join(',');
    const valid = Array.from({ length: 10 }, (_, i) => `b=b${i};q=${10 + i};r=${i};t=${100 + i}`).join(',');
    const reading = await readingOf({ ...client(`${malformed},b=ok;q=12;r=11;t=123456789012345`), ...organization(valid) });
    expect(reading!.buckets).toEqual([
      { scope: 'client', bucket: 'ok', limit: 12, remaining: 11, resetAt: START + 123_456_789_012_345_000 },
      ...Array.from({ length: 8 }, (_, i) => ({ scope: 'organization', bucket: `b${i}`, limit: 10 + i, remaining: i, resetAt: START + (100 + i) * 1000 })),
    ]);
  });
  it('a failed attempt that is retried is read too: kept for stats() and warned about', async () => {
    const { server, client: c, events } = await quotaClient({ retry: { retries: 1, baseDelay: 1, maxDelay: 1 } });
    let n = 0;
    server.respond((req, res) => (++n === 1 ? refused(client('b=per_hour;q=100;r=2;t=600'), 503)(req, res) : ok()(req, res)));
    expect((await c.getToken()).quota).toBeUndefined();
    expect(server.requests).toHaveLength(2);
    expect(c.stats().quota?.buckets).toEqual([{ scope: 'client', bucket: 'per_hour', limit: 100, remaining: 2, resetAt: START + 600_000 }]);
    expect(events.map((e) => e.error.code)).toEqual([ErrorCode.QUOTA_LOW]);
  });
});

describe('which 429 blocks, and until when', () => {
  it('a 429 whose bucket resets now, one with tokens left, and a 503 with a used-up bucket do not block', async () => {
    const { server, client: c } = await quotaClient();
    const answers = [refused(client('b=per_hour;q=5;r=0;t=0')), refused(client('b=per_hour;q=5;r=1;t=60')), refused(client('b=per_hour;q=5;r=0;t=60'), 503)];
    for (const answer of answers) {
      server.respond(answer);
      const error = await c.getToken({ forceRefresh: true }).catch((e: unknown) => e);
      expect(error).not.toBeInstanceOf(QuotaExceededError);
      // The endpoint's own answer, with its status.
      expect(error).toBeInstanceOf(TokenClientError);
      expect((error as { status?: number }).status).toBe(answer === answers[2] ? 503 : 429);
    }
    expect(server.requests).toHaveLength(3);
    server.respond(ok());
    await expect(c.getToken()).resolves.toMatchObject({ accessToken: 'at-quota' });
    expect(c.stats().blocks).toEqual([]);
  });

  it('an organization bucket used up by a request without an organization blocks the whole application', async () => {
    const { server, client: c } = await quotaClient();
    server.respond(refused(organization('b=per_hour;q=1;r=0;t=60')));
    await expect(c.getToken()).rejects.toMatchObject({ code: ErrorCode.QUOTA_EXCEEDED, scope: 'client', bucket: 'per_hour', resetAt: START + 60_000 });
    await expect(c.getToken({ organization: 'org_a' })).rejects.toMatchObject({ code: ErrorCode.QUOTA_EXCEEDED, scope: 'client' });
    expect(server.requests).toHaveLength(1);
    expect(c.stats().blocks).toEqual([{ scope: 'client', bucket: 'per_hour', resetAt: START + 60_000 }]);
  });

  it('two used-up buckets of one scope: blocked until the later reset', async () => {
    const { server, client: c } = await quotaClient();
    server.respond(refused(client('b=per_hour;q=5;r=0;t=600,b=per_day;q=50;r=0;t=3600,b=per_minute;q=9;r=0;t=60')));
    const error = (await c.getToken().catch((e: unknown) => e)) as QuotaExceededError;
    expect(error).toMatchObject({ scope: 'client', bucket: 'per_day', resetAt: START + 3_600_000, retryAfter: 3_600_000 });
    expect(c.stats().blocks).toEqual([{ scope: 'client', bucket: 'per_day', resetAt: START + 3_600_000 }]);
  });

  it('application and organization used up together: each blocks its keys until its own reset; the error names the later', async () => {
    const { server, client: c, clock, events } = await quotaClient();
    server.respond(refused({ ...client('b=per_hour;q=5;r=0;t=600'), ...organization('b=per_day;q=2;r=0;t=1200') }));
    const error = (await c.getToken({ organization: 'org_a' }).catch((e: unknown) => e)) as QuotaExceededError;
    expect(error).toMatchObject({ scope: 'organization', bucket: 'per_day', resetAt: START + 1_200_000, status: 429 });
    // One report for the 429, however many blocks it made.
    expect(events.filter((e) => e.error.code === ErrorCode.QUOTA_EXCEEDED)).toHaveLength(1);
    expect(c.stats().blocks).toEqual([
      { scope: 'client', bucket: 'per_hour', resetAt: START + 600_000 },
      { scope: 'organization', organization: expect.stringMatching(/^[0-9a-f]{12}$/) as string, bucket: 'per_day', resetAt: START + 1_200_000 },
    ]);
    // org_a waits for the later of the two; other keys for the application's.
    await expect(c.getToken({ organization: 'org_a', audience: 'https://other' })).rejects.toMatchObject({ scope: 'organization', resetAt: START + 1_200_000 });
    await expect(c.getToken({ organization: 'org_b' })).rejects.toMatchObject({ scope: 'client', resetAt: START + 600_000 });
    await expect(c.getToken()).rejects.toMatchObject({ scope: 'client', resetAt: START + 600_000 });
    server.respond(ok());
    clock.advance(600_000);
    expect(c.stats().blocks).toEqual([expect.objectContaining({ scope: 'organization' })]);
    await expect(c.getToken({ organization: 'org_b' })).resolves.toMatchObject({ accessToken: 'at-quota' });
    await expect(c.getToken()).resolves.toMatchObject({ accessToken: 'at-quota' });
    await expect(c.getToken({ organization: 'org_a' })).rejects.toMatchObject({ scope: 'organization', resetAt: START + 1_200_000 });
    clock.advance(600_000);
    await expect(c.getToken({ organization: 'org_a' })).resolves.toMatchObject({ accessToken: 'at-quota' });
    expect(c.stats().blocks).toEqual([]);
  });

  it('the error of a 429 names the later block when it is the application\'s', async () => {
    const { server, client: c } = await quotaClient();
    server.respond(refused({ ...client('b=per_day;q=5;r=0;t=1200'), ...organization('b=per_hour;q=2;r=0;t=600') }));
    await expect(c.getToken({ organization: 'org_a' })).rejects.toMatchObject({ scope: 'client', bucket: 'per_day', resetAt: START + 1_200_000 });
  });

  it('429s for two keys at once: both fail with the block, reported once', async () => {
    const { server, client: c, events } = await quotaClient();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    server.respond(async (req, res) => {
      await held;
      refused(client('b=per_hour;q=5;r=0;t=600'))(req, res);
    });
    const calls = [c.getToken(), c.getToken({ audience: 'https://other' })].map((p) => p.catch((e: unknown) => e));
    await expect.poll(() => server.requests.length).toBe(2);
    release();
    for (const error of await Promise.all(calls)) expect(error).toMatchObject({ code: ErrorCode.QUOTA_EXCEEDED, status: 429, resetAt: START + 600_000 });
    expect(events.filter((e) => e.error.code === ErrorCode.QUOTA_EXCEEDED)).toHaveLength(1);
  });

  it('429s for two keys at once with different resets: blocked until the later', async () => {
    const { server, client: c, clock } = await quotaClient();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let n = 0;
    server.respond(async (req, res) => {
      const reset = ++n === 1 ? 600 : 1200;
      await held;
      refused(client(`b=per_hour;q=5;r=0;t=${reset}`))(req, res);
    });
    const first = c.getToken().catch((e: unknown) => e);
    await expect.poll(() => server.requests.length).toBe(1);
    const second = c.getToken({ audience: 'https://other' }).catch((e: unknown) => e);
    await expect.poll(() => server.requests.length).toBe(2);
    release();
    expect(await first).toMatchObject({ resetAt: START + 600_000 });
    expect(await second).toMatchObject({ resetAt: START + 1_200_000 });
    clock.advance(700_000);
    await expect(c.getToken({ audience: 'https://third' })).rejects.toMatchObject({ code: ErrorCode.QUOTA_EXCEEDED, resetAt: START + 1_200_000 });
    expect(server.requests).toHaveLength(2);
  });

  it('a background refresh that gets the 429 is reported as a failed refresh too (quota.test.ts: one the block stopped is not)', async () => {
    const { server, client: c, clock, events } = await quotaClient({ refreshAhead: 600_000 });
    server.respond(ok());
    const cached = await c.getToken(); // 1 h token: handed out until 59 min, refreshed ahead before that
    server.respond(refused(client('b=per_hour;q=5;r=0;t=600')));
    clock.advance(3_500_000);
    expect(await c.getToken()).toBe(cached); // starts the refresh, which gets the 429
    await expect.poll(() => events.map((e) => [e.type, e.error.code])).toEqual([
      ['quota', ErrorCode.QUOTA_LOW],
      ['quota', ErrorCode.QUOTA_EXCEEDED],
      ['refresh', ErrorCode.QUOTA_EXCEEDED],
    ]);
    expect((events[2]!.error as QuotaExceededError).status).toBe(429);
    // Its Retry-After (the bucket's reset) pushes the next refresh past the leeway: nothing more is sent.
    expect(await c.getToken()).toBe(cached);
    expect(server.requests).toHaveLength(2);
  });

  it('an organization block does not hide a later application block', async () => {
    const { server, client: c } = await quotaClient();
    server.respond(refused(organization('b=per_hour;q=1;r=0;t=60')));
    await expect(c.getToken({ organization: 'org_a' })).rejects.toMatchObject({ scope: 'organization', resetAt: START + 60_000 });
    server.respond(refused(client('b=per_day;q=1;r=0;t=900')));
    await expect(c.getToken({ organization: 'org_b' })).rejects.toMatchObject({ scope: 'client', resetAt: START + 900_000 });
    await expect(c.getToken({ organization: 'org_a' })).rejects.toMatchObject({ scope: 'client', resetAt: START + 900_000 });
    expect(server.requests).toHaveLength(2);
  });
});

describe('messages', () => {
  it('QuotaExceededError: who, which bucket, how many tokens, until when, what to do', async () => {
    const { server, client: c, clock } = await quotaClient();
    server.respond(refused(client('b=per_hour;q=3;r=0;t=90')));
    const first = (await c.getToken().catch((e: unknown) => e)) as QuotaExceededError;
    const until = iso(START + 90_000);
    expect(first.message).toBe(
      `The token endpoint answered HTTP 429: Auth0 the application's per_hour token quota of 3 tokens is used up until ${until} (in 90 s). ` +
        "Token requests for this application are not sent until then; cached tokens that are still valid are served. Raise the quota in Auth0, or request fewer tokens.",
    );
    clock.advance(500); // 89.5 s left: rounded up
    const blocked = (await c.getToken({ audience: 'https://other' }).catch((e: unknown) => e)) as QuotaExceededError;
    expect(blocked.message).toBe(
      `Auth0 the application's per_hour token quota of 3 tokens is used up until ${until} (in 90 s). ` +
        "Token requests for this application are not sent until then; cached tokens that are still valid are served. Raise the quota in Auth0, or request fewer tokens.",
    );
    expect(blocked).toMatchObject({ retryAfter: 89_500, endpoint: server.origin });
    expect(blocked.status).toBeUndefined();
    expect(blocked.cause).toBeUndefined();
  });

  it("QuotaExceededError for one token of an organization's quota", async () => {
    const { server, client: c } = await quotaClient();
    server.respond(refused(organization('b=per_day;q=1;r=0;t=7200')));
    const error = (await c.getToken({ organization: 'org_a' }).catch((e: unknown) => e)) as QuotaExceededError;
    expect(error.message).toBe(
      `The token endpoint answered HTTP 429: Auth0 the organization's per_day token quota of 1 token is used up until ${iso(START + 7_200_000)} (in 7200 s). ` +
        "Token requests for this organization are not sent until then; cached tokens that are still valid are served. Raise the quota in Auth0, or request fewer tokens.",
    );
    expect(error.cause).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ endpoint: server.origin, attempts: 1 });
  });

  it('the low-quota warning: whose, which bucket, how many left, the threshold, until when; once per organization and bucket', async () => {
    const { server, client: c, events } = await quotaClient({ quota: { warnBelow: 0.25 } });
    server.respond(ok(organization('b=per_hour;q=20;r=4;t=600')));
    await c.getToken({ organization: 'org_a' });
    await c.getToken({ organization: 'org_b' });
    await c.getToken({ organization: 'org_a', audience: 'https://other' });
    expect(events.map((e) => [e.type, e.error.code])).toEqual([['quota', ErrorCode.QUOTA_LOW], ['quota', ErrorCode.QUOTA_LOW]]);
    expect(events[0]!.error.message).toBe(
      `Auth0 an organization's per_hour token quota is running out: 4 of 20 tokens left (below 25%) until ${iso(START + 600_000)}. ` +
        'Once it is used up, token requests fail until it resets; cached tokens keep being served.',
    );
    expect(events[0]!.error.endpoint).toBe(server.origin);
    expect(events[0]!.error.quota).toEqual({ at: START, buckets: [expect.objectContaining({ remaining: 4 })], rateLimit: undefined });
    // The application's bucket: one warning whichever organization the request was for.
    server.respond(ok(client('b=per_day;q=1000;r=3;t=600')));
    await c.getToken({ organization: 'org_c' });
    await c.getToken({ organization: 'org_d' });
    expect(events.map((e) => /^Auth0 (an organization's|the application's) (per_\w+) /.exec(e.error.message)?.slice(1))).toEqual([
      ["an organization's", 'per_hour'],
      ["an organization's", 'per_hour'],
      ["the application's", 'per_day'],
    ]);
    expect(events[2]!.error.message).toContain('3 of 1000 tokens left (below 25%)');
  });

  it('exactly at the threshold is not below it', async () => {
    const { server, client: c, events } = await quotaClient({ quota: { warnBelow: 0.25 } });
    server.respond(ok(client('b=per_hour;q=100;r=25;t=600')));
    await c.getToken();
    expect(events).toEqual([]);
  });
});

/** A TokenStore that shares quota blocks, with scripted answers. */
class BlockStore implements TokenStore, TokenStoreBlocks {
  readonly blocks = new Map<string, number>();
  readonly asked: string[] = [];
  answer: (scope: string) => Promise<number | undefined> = async (scope) => this.blocks.get(scope);
  async get(): Promise<StoredToken | undefined> {
    return undefined;
  }
  async set() {}
  async delete() {}
  readonly written: string[] = [];
  async setBlock(scope: string, until: number) {
    this.written.push(scope);
    // A store that takes its time: close() still waits for the write.
    await new Promise((resolve) => setTimeout(resolve, 20));
    this.blocks.set(scope, until);
  }
  getBlock(scope: string) {
    this.asked.push(scope);
    return this.answer(scope);
  }
}

describe('quota blocks shared through the store', () => {
  it('names scopes per endpoint, client and organization: the application scope is shared by every organization', async () => {
    const store = new BlockStore();
    const { server, client: c } = await quotaClient({ cache: store });
    await c.getToken({ organization: 'org_a' });
    await c.getToken({ organization: 'org_b' });
    await c.getToken();
    const [appA, orgA, appB, orgB, app] = store.asked;
    expect(store.asked).toHaveLength(5);
    expect(new Set([appA, appB, app]).size).toBe(1);
    expect(new Set([appA, orgA, orgB]).size).toBe(3);
    const other = await quotaClient({ cache: store, clientId: 'client-2', tokenEndpoint: server.url });
    await other.client.getToken();
    expect(store.asked[5]).not.toBe(app);
  });

  it('a block the store holds stops the request; the later of the application and organization blocks is the one thrown', async () => {
    const store = new BlockStore();
    const { server, client: c, events } = await quotaClient({ cache: store });
    await c.getToken({ organization: 'org_a' });
    const [appScope, orgScope] = store.asked;
    store.blocks.set(appScope!, START + 60_000);
    store.blocks.set(orgScope!, START + 120_000);
    store.written.length = 0;
    const published: QuotaBlockMessage[] = [];
    const onBlock = (m: unknown) => void published.push(m as QuotaBlockMessage);
    diagnosticsChannel.subscribe(diagnosticsChannels.quotaBlock, onBlock);
    const error = (await c.getToken({ organization: 'org_a', audience: 'https://other' }).catch((e: unknown) => e)) as QuotaExceededError;
    diagnosticsChannel.unsubscribe(diagnosticsChannels.quotaBlock, onBlock);
    // Published as learnt from the store.
    expect(published.map((m) => [m.scope, m.source, m.bucket, m.resetAt])).toEqual([['client', 'store', undefined, START + 60_000], ['organization', 'store', undefined, START + 120_000]]);
    expect(error).toBeInstanceOf(QuotaExceededError);
    expect(error).toMatchObject({ scope: 'organization', resetAt: START + 120_000, bucket: undefined });
    expect(error.message).toMatch(/^Another process of the fleet saw that Auth0 the organization's token quota is used up until/);
    // Each block found in the store is reported once.
    const reported = events.filter((e) => e.error.code === ErrorCode.QUOTA_EXCEEDED).map((e) => e.error as QuotaExceededError);
    expect(reported.map((e) => e.scope)).toEqual(['client', 'organization']);
    expect(reported[0]!.message).toBe(
      `Another process of the fleet saw that Auth0 the application's token quota is used up until ${iso(START + 60_000)} (in 60 s). ` +
        "Token requests for this application are not sent until then; cached tokens that are still valid are served. Raise the quota in Auth0, or request fewer tokens.",
    );
    expect(reported[0]!.endpoint).toBe(server.origin);
    expect(server.requests).toHaveLength(1);
    // A block read from the store is not written back to it.
    expect(store.written).toEqual([]);
    // Another process, where the application's block is the later one: that is the one thrown.
    store.blocks.set(appScope!, START + 180_000);
    const other = await quotaClient({ cache: store, tokenEndpoint: server.url });
    await expect(other.client.getToken({ organization: 'org_a' })).rejects.toMatchObject({ scope: 'client', resetAt: START + 180_000 });
    // And for a key without an organization: the application's block, named as such.
    const third = await quotaClient({ cache: store, tokenEndpoint: server.url });
    const blocked = (await third.client.getToken().catch((e: unknown) => e)) as QuotaExceededError;
    expect(blocked).toMatchObject({ scope: 'client', resetAt: START + 180_000 });
    expect(blocked.message).toContain("Auth0 the application's token quota is used up");
    // Later calls fail from memory, still naming the fleet.
    const again = (await c.getToken({ organization: 'org_a', audience: 'https://third' }).catch((e: unknown) => e)) as QuotaExceededError;
    expect(again.message).toMatch(/^Another process of the fleet saw that/);
    expect(events.filter((e) => e.error.code === ErrorCode.QUOTA_EXCEEDED)).toHaveLength(2);
  });

  it('a block time in the past, not a number, or not finite is no block', async () => {
    const store = new BlockStore();
    const { server, client: c, events } = await quotaClient({ cache: store });
    for (const until of [START - 1, START, Number.POSITIVE_INFINITY, Number.NaN, String(START + 60_000)]) {
      store.answer = async () => until as number;
      expect((await c.getToken({ forceRefresh: true })).accessToken).toMatch(/^token-/);
    }
    expect(server.requests).toHaveLength(5);
    expect(events).toEqual([]);
  });

  it('with quota.block false the store is not asked, and a 429 is not shared', async () => {
    const store = new BlockStore();
    const { server, client: c } = await quotaClient({ cache: store, quota: { block: false } });
    server.respond(refused(client('b=per_hour;q=1;r=0;t=60')));
    await expect(c.getToken()).rejects.toBeInstanceOf(OAuthError);
    expect(store.asked).toEqual([]);
    expect(store.blocks.size).toBe(0);
  });

  it('a 429 this process got is written to the store with its reset', async () => {
    const store = new BlockStore();
    const { server, client: c } = await quotaClient({ cache: store });
    server.respond(refused(organization('b=per_hour;q=1;r=0;t=60')));
    await expect(c.getToken({ organization: 'org_a' })).rejects.toBeInstanceOf(QuotaExceededError);
    expect(store.blocks.size).toBe(0); // the write is under way
    await c.close(); // and close() waits for it
    expect([...store.blocks.values()]).toEqual([START + 60_000]);
    expect([...store.blocks.keys()]).toEqual([store.asked[1]]);
  });

  it('a 429 that arrives as the client closes is neither reported as a block nor written to the store', async () => {
    const store = new BlockStore();
    const events: TokenClientErrorEvent[] = [];
    // onError closes the client on the low-quota warning that the same 429 raises first.
    const { server, client: c } = await quotaClient({
      cache: store,
      onError: (e) => {
        events.push(e);
        if (e.error.code === ErrorCode.QUOTA_LOW) void c.close();
      },
    });
    server.respond(refused(client('b=per_hour;q=5;r=0;t=600')));
    await expect(c.getToken()).rejects.toThrow();
    await c.close();
    expect(events.map((e) => e.error.code)).toEqual([ErrorCode.QUOTA_LOW]);
    expect(store.written).toEqual([]);
  });

  it('a store that fails or does not answer is reported, and read as no block', async () => {
    const store = new BlockStore();
    const { server, client: c, events } = await quotaClient({ cache: store, storeTimeout: 30 });
    const down = new Error('fake store down');
    store.answer = () => Promise.reject(down);
    expect((await c.getToken()).accessToken).toMatch(/^token-/);
    store.answer = () => new Promise(() => {});
    expect((await c.getToken({ forceRefresh: true })).accessToken).toMatch(/^token-/);
    const blockEvents = events.filter((e) => e.operation === 'block');
    expect(blockEvents.map((e) => [e.type, e.error.code, e.error.message])).toEqual([
      ['store', ErrorCode.STORE_ERROR, 'TokenStore setBlock/getBlock failed; quota blocks are not shared with the fleet for this call.'],
      ['store', ErrorCode.STORE_ERROR, 'TokenStore setBlock/getBlock did not answer within 30 ms (storeTimeout); quota blocks are not shared with the fleet for this call.'],
    ]);
    expect(blockEvents[0]!.error.cause).toBe(down);
    expect(blockEvents[1]!.error.cause).toBeUndefined();
    expect(server.requests).toHaveLength(2);
    // A store that throws one of this package's errors is reported the same way, its error as the cause.
    const thrown = new TokenClientError(ErrorCode.UNEXPECTED, 'fake store error');
    store.answer = () => Promise.reject(thrown);
    await c.getToken({ forceRefresh: true });
    expect(events.at(-1)!.error).toMatchObject({ code: ErrorCode.STORE_ERROR, cause: thrown, message: blockEvents[0]!.error.message });
  });
});
