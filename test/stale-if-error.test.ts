import type { ServerResponse } from 'node:http';
import { ConfigurationError, ErrorCode, OAuthError, TokenClient, type StoredToken, type TokenStore } from 'm2m-token';
import { describe, expect, it } from 'vitest';
import { SECRET, setup, warmClient } from './helpers/client.js';
import { json, okToken } from './helpers/token-server.js';

// Outage resilience: a still-valid cached token is handed out while the token endpoint fails transiently.
// Tokens live 100 s; the leeway (60 s) is capped at half the lifetime, so each is handed out normally for 50 s.
const LIFETIME_S = 100;
const USABLE_MS = 50_000;
const down = (status = 503) => (_req: unknown, res: ServerResponse) => json(res, status, { message: 'down' });

const warm = (options: Parameters<typeof setup>[0] = {}) => warmClient(LIFETIME_S, options);

describe('staleIfError (on by default)', () => {
  it('served stale at minRemaining + 1 ms, refused at minRemaining − 1 ms', async () => {
    const { server, client, clock } = await warm({ staleIfError: { minRemaining: 10_000 } });
    server.respond(down());
    clock.advance(LIFETIME_S * 1000 - 10_000 - 1); // 10 001 ms left
    expect((await client.getToken()).accessToken).toBe('at-1');
    clock.advance(2); // 9 999 ms left
    await expect(client.getToken()).rejects.toMatchObject({ code: ErrorCode.HTTP_STATUS, status: 503 });
  });

  it('the default minRemaining is the smaller of 10 s and a tenth of the lifetime', async () => {
    const { server, client, clock } = await warm();
    server.respond(down());
    clock.advance(LIFETIME_S * 1000 - 10_000); // exactly 10 s (= a tenth of 100 s) left
    expect((await client.getToken()).accessToken).toBe('at-1');
    clock.advance(1);
    await expect(client.getToken()).rejects.toMatchObject({ status: 503 });
  });

  it.each([408, 429, 500, 502, 503, 504])('covers HTTP %i', async (status) => {
    const { server, client, clock } = await warm();
    server.respond(down(status));
    clock.advance(USABLE_MS + 1);
    expect((await client.getToken()).accessToken).toBe('at-1');
  });

  it('covers network failures', async () => {
    const { server, client, clock } = await warm();
    server.respond((_req, res) => void res.socket?.destroy());
    clock.advance(USABLE_MS + 1);
    expect((await client.getToken()).accessToken).toBe('at-1');
  });

  it.each(['invalid_client', 'unauthorized_client', 'invalid_grant'])('is not served for %s: the caller gets the error, and onError hears of it at once', async (error) => {
    const { server, client, clock, events } = await warm({ refreshAhead: 20_000 });
    server.respond((_req, res) => json(res, 401, { error }));
    clock.advance(USABLE_MS - 5_000); // in the refresh-ahead window: the cached token is handed out, the refresh fails
    expect((await client.getToken()).accessToken).toBe('at-1');
    await expect.poll(() => events.map((e) => e.type)).toEqual(['refresh']);
    expect(events[0]!.error).toBeInstanceOf(OAuthError);
    clock.advance(5_001); // past the leeway: no stale token for a credential error
    await expect(client.getToken()).rejects.toMatchObject({ code: ErrorCode.OAUTH_ERROR, error });
  });

  it('is not served for a 501 (the server will answer the same)', async () => {
    const { server, client, clock } = await warm();
    server.respond(down(501));
    clock.advance(USABLE_MS + 1);
    await expect(client.getToken()).rejects.toMatchObject({ status: 501 });
  });

  it('false turns it off', async () => {
    const { server, client, clock } = await warm({ staleIfError: false });
    server.respond(down());
    clock.advance(USABLE_MS + 1);
    await expect(client.getToken()).rejects.toMatchObject({ status: 503 });
  });

  it('while the endpoint is known to fail, callers get the stale token without a request, one background attempt per backoff step, and recover', async () => {
    const { server, client, clock } = await warm();
    server.respond(down());
    clock.advance(USABLE_MS + 1);
    await client.getToken(); // the request fails: stale from now on
    expect(server.requests).toHaveLength(2);
    for (let i = 0; i < 20; i++) expect((await client.getToken()).accessToken).toBe('at-1');
    expect(server.requests).toHaveLength(2); // nobody waits on the failing endpoint, nobody hammers it
    server.respond(okToken('at-2', LIFETIME_S));
    clock.advance(1_000); // the first backoff step (1 s)
    expect((await client.getToken()).accessToken).toBe('at-1'); // still stale; starts the background attempt
    await expect.poll(() => server.requests.length).toBe(3);
    await expect.poll(async () => (await client.getToken()).accessToken).toBe('at-2');
    expect(server.requests).toHaveLength(3);
  });

  it('a Retry-After beyond the backoff is honoured by the background attempts', async () => {
    const { server, client, clock } = await warm();
    server.respond((_req, res) => json(res, 503, {}, { 'retry-after': '20' }));
    clock.advance(USABLE_MS + 1);
    await client.getToken();
    clock.advance(19_000);
    await client.getToken();
    expect(server.requests).toHaveLength(2);
    clock.advance(1_000);
    await client.getToken();
    await expect.poll(() => server.requests.length).toBe(3);
  });

  it('a waiting caller is released with the stale token at the first failed attempt, not after the retries', async () => {
    const { server, client, clock } = await warm({ retry: { retries: 3, baseDelay: 1, maxDelay: 1, maxRetryAfter: 60_000 } });
    // The retry would wait 30 s (Retry-After): the caller must not.
    server.respond((_req, res) => json(res, 503, {}, { 'retry-after': '30' }));
    clock.advance(USABLE_MS + 1);
    const token = await client.getToken();
    expect(token.accessToken).toBe('at-1');
    expect(server.requests).toHaveLength(2); // released before any retry was sent
  });

  it('each stale hand-out is reported through onError as type "stale", at most once per key every 30 s', async () => {
    const { server, client, clock, events } = await warm();
    server.respond(down());
    clock.advance(USABLE_MS + 1);
    for (let i = 0; i < 5; i++) await client.getToken();
    const stale = () => events.filter((e) => e.type === 'stale');
    expect(stale()).toHaveLength(1);
    expect(stale()[0]!.error.message).toMatch(/still valid for \d+ s \(staleIfError\)/);
    expect(stale()[0]!.error.cause).toMatchObject({ status: 503 });
    clock.advance(29_000);
    await client.getToken();
    expect(stale()).toHaveLength(1);
    clock.advance(1_000);
    await client.getToken();
    expect(stale()).toHaveLength(2);
  });

  it('a forced refresh (a token an API refused) is never answered with the stale token', async () => {
    const { server, client, clock } = await warm();
    server.respond(down());
    clock.advance(USABLE_MS + 1);
    await expect(client.getToken({ forceRefresh: true })).rejects.toMatchObject({ status: 503 });
  });

  it('invalidate() drops the token: nothing stale is left to serve', async () => {
    const { server, client, clock } = await warm();
    server.respond(down());
    clock.advance(USABLE_MS + 1);
    await client.getToken();
    await client.invalidate();
    await expect(client.getToken()).rejects.toMatchObject({ status: 503 });
  });
});

describe('staleIfError in a fleet', () => {
  class MapStore implements TokenStore {
    readonly data = new Map<string, { token: StoredToken; ttl: number }>();
    async get(key: string) {
      return this.data.get(key)?.token;
    }
    async set(key: string, token: StoredToken, ttl: number) {
      this.data.set(key, { token: structuredClone(token), ttl });
    }
    async delete(key: string) {
      this.data.delete(key);
    }
  }

  it('the store keeps the entry until expiresAt − minRemaining, and a fresh process starting during an outage serves it', async () => {
    const store = new MapStore();
    const { server, clock } = await warm({ cache: store });
    await expect.poll(() => store.data.size).toBe(1);
    expect([...store.data.values()][0]!.ttl).toBe(LIFETIME_S * 1000 - 10_000);

    server.respond(down());
    clock.advance(USABLE_MS + 1);
    const fresh = new TokenClient({ tokenEndpoint: server.url, clientId: 'client-1', clientSecret: SECRET, clock, retry: false, cache: store, onError: () => {} });
    try {
      expect((await fresh.getToken()).accessToken).toBe('at-1');
      expect(server.requests).toHaveLength(2); // it asked, the endpoint failed, the fleet's token was served
    } finally {
      await fresh.close();
    }
  });

  it('a fresh process does not use a stored token past its leeway while the endpoint works', async () => {
    const store = new MapStore();
    const { server, clock } = await warm({ cache: store });
    await expect.poll(() => store.data.size).toBe(1);
    server.respond(okToken('at-2', LIFETIME_S));
    clock.advance(USABLE_MS + 1);
    const fresh = new TokenClient({ tokenEndpoint: server.url, clientId: 'client-1', clientSecret: SECRET, clock, retry: false, cache: store });
    try {
      expect((await fresh.getToken()).accessToken).toBe('at-2');
    } finally {
      await fresh.close();
    }
  });
});

describe('staleIfError options', () => {
  const base = { tokenEndpoint: 'https://as.example.com/token', clientId: 'c', clientSecret: SECRET };
  it.each<[unknown, string]>([
    ['yes', 'staleIfError'],
    [{ minRemaining: -1 }, 'staleIfError.minRemaining'],
    [{ minRemaining: '10s' }, 'staleIfError.minRemaining'],
    [{ maxStale: 1 }, 'staleIfError.maxStale'],
  ])('%j is refused, naming %s', (staleIfError, option) => {
    expect(() => new TokenClient({ ...base, staleIfError } as never)).toThrow(ConfigurationError);
    expect(() => new TokenClient({ ...base, staleIfError } as never)).toThrow(expect.objectContaining({ option }));
  });
});
