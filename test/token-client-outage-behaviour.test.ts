// TokenClient during a token endpoint outage (stale-if-error), the cases stale-if-error.test.ts leaves open: no
// request between backoff steps once the failed attempt has settled, the default minRemaining of short tokens, a
// forced refresh that fails, and a token found in the fleet's store during an outage.
import type { ServerResponse } from 'node:http';
import { TokenClient, type StoredToken, type TokenClientErrorEvent, type TokenStore } from 'm2m-token';
import { describe, expect, it } from 'vitest';
import { SECRET, setup, warmClient } from './helpers/client.js';
import { ManualClock } from './helpers/clock.js';
import { json } from './helpers/token-server.js';

const down = (_req: unknown, res: ServerResponse) => json(res, 503, { message: 'down' });
const settle = () => new Promise((resolve) => setTimeout(resolve, 30));

const warm = warmClient;

describe('between backoff steps', () => {
  it('stale hand-outs send nothing, also once the failed attempt has settled; the next step sends one', async () => {
    const { server, client, clock } = await warm(100);
    server.respond(down);
    clock.advance(50_001); // past the leeway (capped at half of 100 s)
    expect((await client.getToken()).accessToken).toBe('at-1');
    await settle();
    expect(server.requests).toHaveLength(2);
    for (let i = 0; i < 3; i++) {
      clock.advance(300); // 0.9 s of the 1 s backoff
      expect((await client.getToken()).accessToken).toBe('at-1');
      await settle();
    }
    expect(server.requests).toHaveLength(2);
    clock.advance(100); // the backoff step is over
    expect((await client.getToken()).accessToken).toBe('at-1');
    await settle();
    expect(server.requests).toHaveLength(3);
    // The second failure doubles the step: 2 s.
    clock.advance(1_999);
    await client.getToken();
    await settle();
    expect(server.requests).toHaveLength(3);
    clock.advance(1);
    await client.getToken();
    await settle();
    expect(server.requests).toHaveLength(4);
  });
});

describe('the default minRemaining', () => {
  it('is a tenth of the lifetime for a token shorter than 100 s', async () => {
    // 50 s token: handed out for 25 s (leeway capped at half), stale until 5 s before expiry.
    const { server, client, clock } = await warm(50);
    server.respond(down);
    clock.advance(44_000); // 6 s left
    expect((await client.getToken()).accessToken).toBe('at-1');
    clock.advance(1_001); // 4.999 s left
    await expect(client.getToken()).rejects.toMatchObject({ status: 503 });
  });
});

describe('a forced refresh that fails', () => {
  it('is not a stale hand-out: nothing reported as stale, the cached token not marked failing, later calls ask again', async () => {
    const { server, client, clock, events } = await warm(100);
    server.respond(down);
    clock.advance(50_001);
    await expect(client.getToken({ forceRefresh: true })).rejects.toMatchObject({ status: 503 });
    expect(events.filter((e) => e.type === 'stale')).toEqual([]);
    expect(client.stats().tokens).toMatchObject([{ failing: false }]);
  });

  it('made while a background attempt is running does not get the stale token that attempt offers', async () => {
    const { server, client, clock } = await warm(100);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    server.respond(async (req, res) => {
      await held;
      down(req, res);
    });
    clock.advance(50_001);
    const stale = client.getToken(); // waits on the held request, or the stale token it offers
    await expect.poll(() => server.requests.length).toBe(2);
    const forced = client.getToken({ forceRefresh: true }).then(
      (token) => ['token', token.accessToken],
      (error: { status?: number }) => ['error', error.status],
    );
    release();
    expect((await stale).accessToken).toBe('at-1');
    expect(await forced).toEqual(['error', 503]);
  });
});

class MapStore implements TokenStore {
  readonly data = new Map<string, StoredToken>();
  gets = 0;
  async get(key: string) {
    this.gets++;
    return this.data.get(key);
  }
  async set(key: string, token: StoredToken) {
    this.data.set(key, structuredClone(token));
  }
  async delete(key: string) {
    this.data.delete(key);
  }
}

describe("a fleet's stored token during an outage", () => {
  async function fleet() {
    const store = new MapStore();
    const first = await warm(100, { cache: store });
    await expect.poll(() => store.data.size).toBe(1);
    first.server.respond(down);
    const events: TokenClientErrorEvent[] = [];
    const fresh = new TokenClient({ tokenEndpoint: first.server.url, clientId: 'client-1', clientSecret: SECRET, clock: first.clock, retry: false, cache: store, onError: (e) => events.push(e) });
    return { ...first, store, fresh, events };
  }

  it('a new process serves it, keeps it in memory, and asks the endpoint once per backoff step', async () => {
    const { server, clock, store, fresh } = await fleet();
    try {
      clock.advance(50_001);
      expect((await fresh.getToken()).accessToken).toBe('at-1');
      expect(server.requests).toHaveLength(2);
      await settle();
      const gets = store.gets;
      expect((await fresh.getToken()).accessToken).toBe('at-1');
      await settle();
      expect(server.requests).toHaveLength(2);
      expect(store.gets).toBe(gets);
      expect(fresh.stats().tokens).toMatchObject([{ failing: true }]);
    } finally {
      await fresh.close();
    }
  });

  it('a caller that joins a flight after the offer, its cache entry evicted meanwhile, gets the offered token within the limit', async () => {
    const clock = new ManualClock();
    const store = new MapStore();
    let aDown = false;
    const { server, client } = await setup({
      clock, refreshAhead: false, cache: { max: 1, store }, onError: () => {}, totalTimeout: 120_000,
      retry: { retries: 3, baseDelay: 1, maxDelay: 1, maxRetryAfter: 60_000 },
    });
    server.respond((req, res) => {
      if (req.form.get('audience') === 'a' && aDown) json(res, 503, {}, { 'retry-after': '30' });
      else json(res, 200, { access_token: `${req.form.get('audience')}-1`, token_type: 'Bearer', expires_in: 100 });
    });
    expect((await client.getToken({ audience: 'a' })).accessToken).toBe('a-1');
    aDown = true;
    clock.advance(50_001);
    expect((await client.getToken({ audience: 'a' })).accessToken).toBe('a-1'); // offered; the retry waits 30 s
    expect((await client.getToken({ audience: 'b' })).accessToken).toBe('b-1'); // cache.max 1: a's entry is evicted
    const late = client.getToken({ audience: 'a' }); // a miss that joins a's flight, 40 s before the limit
    await client.close();
    await expect(late).resolves.toMatchObject({ accessToken: 'a-1' });
  });

  it('not once it has less than minRemaining left', async () => {
    const { clock, fresh } = await fleet();
    try {
      clock.advance(90_001); // 9.999 s left: below the default minRemaining (10 s)
      await expect(fresh.getToken()).rejects.toMatchObject({ status: 503 });
    } finally {
      await fresh.close();
    }
  });
});

describe('releasing waiters', () => {
  it('a waiting caller gets the stale token at the first failed attempt, while the retry waits for its Retry-After', async () => {
    const { server, client, clock } = await warm(100, { retry: { retries: 3, baseDelay: 1, maxDelay: 1, maxRetryAfter: 60_000 }, totalTimeout: 120_000 });
    server.respond((_req, res) => json(res, 503, {}, { 'retry-after': '30' }));
    clock.advance(50_001);
    const token = await Promise.race([client.getToken(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('still waiting for the retry')), 2_000))]);
    expect(token.accessToken).toBe('at-1');
    expect(server.requests).toHaveLength(2);
    await client.close(); // ends the retry's wait
  });

  it('a caller that joins the flight past the stale-if-error limit waits for the endpoint, not for the token offered earlier', async () => {
    const { server, client, clock } = await warm(100, { retry: { retries: 3, baseDelay: 1, maxDelay: 1, maxRetryAfter: 60_000 }, totalTimeout: 120_000 });
    server.respond((_req, res) => json(res, 503, {}, { 'retry-after': '30' }));
    clock.advance(50_001);
    expect((await client.getToken()).accessToken).toBe('at-1'); // offered at the first failed attempt; the retry waits 30 s
    clock.advance(45_000); // 4.999 s left, past the limit (10 s before expiry): the flight is still waiting
    const late = client.getToken();
    await client.close(); // ends the retry's wait: the late caller gets the flight's outcome
    await expect(late).rejects.toMatchObject({ code: 'M2M_CLIENT_CLOSED' });
    expect(server.requests).toHaveLength(2);
  });

  it('a credential error ends the stale hand-outs: later callers get the error', async () => {
    const { server, client, clock, events } = await warm(100);
    server.respond(down);
    clock.advance(50_001);
    expect((await client.getToken()).accessToken).toBe('at-1'); // failing: stale from now on
    await settle();
    server.respond((_req, res) => json(res, 401, { error: 'invalid_client' }));
    clock.advance(1_000); // the backoff step is over: this hand-out starts a background attempt, which gets the 401
    expect((await client.getToken()).accessToken).toBe('at-1');
    await expect.poll(() => events.map((e) => e.type)).toContain('refresh');
    expect(client.stats().tokens).toMatchObject([{ failing: false }]);
    await expect(client.getToken()).rejects.toMatchObject({ status: 401, error: 'invalid_client' });
  });
});

describe('the backoff of a failing background refresh', () => {
  it('counts failed refreshes, not their attempts: a refresh that failed after a retry waits 1 s', async () => {
    const clock = new ManualClock();
    const events: TokenClientErrorEvent[] = [];
    const { server, client } = await setup({ clock, refreshAhead: 30_000, expiryLeeway: 0, retry: { retries: 1, baseDelay: 1, maxDelay: 1 }, onError: (e) => events.push(e) });
    server.respond((_r, res, i) => (i === 1 ? json(res, 200, { access_token: 'at', token_type: 'Bearer', expires_in: 100 }) : json(res, 503, {})));
    await client.getToken();
    clock.advance(90_000); // in the refresh-ahead window
    await client.getToken();
    await expect.poll(() => events.length).toBe(1); // the refresh failed after its two attempts
    expect(server.requests).toHaveLength(3);
    clock.advance(999);
    await client.getToken();
    await settle();
    expect(server.requests).toHaveLength(3);
    clock.advance(1);
    await client.getToken();
    await expect.poll(() => server.requests.length).toBe(5);
  });
});
