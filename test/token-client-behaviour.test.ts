// TokenClient details a user relies on: what its JSON and inspect show (and hide), how long a token claiming an
// absurd lifetime is kept, what the shared store is told (TTLs, lease lifetime), the Authorization header.
import type { ServerResponse } from 'node:http';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { TokenClient, type StoredToken, type TokenClientErrorEvent, type TokenStore } from '../src/index.js';
import { MAX_CACHED_LIFETIME } from '../src/token-client.js';
import { setup, SECRET } from './helpers/client.js';
import { ManualClock } from './helpers/clock.js';
import { json } from './helpers/token-server.js';

describe('toJSON and inspect', () => {
  it('show the configuration and the number of cached tokens, never the secret', async () => {
    const { server, client } = await setup({ audience: 'https://api', organization: 'org_1', scope: 'b a' });
    const before = client.toJSON();
    expect(before).toEqual({
      tokenEndpoint: server.url,
      clientId: 'client-1',
      clientSecret: '[REDACTED]',
      clientAuthentication: 'client_secret_post',
      audience: 'https://api',
      organization: 'org_1',
      scope: ['a', 'b'],
      cachedTokens: 0,
      closed: false,
    });
    await client.getToken();
    expect(client.toJSON().cachedTokens).toBe(1);
    await client.getToken({ audience: 'https://other' });
    await client.getToken({ audience: 'https://third' });
    expect(client.toJSON().cachedTokens).toBe(3);
    await client.invalidate();
    expect(client.toJSON().cachedTokens).toBe(2);
    const shown = inspect(client);
    expect(shown.startsWith('TokenClient {')).toBe(true);
    expect(shown).toContain('"clientId":"client-1"');
    expect(shown).not.toContain(SECRET);
    await client.close();
    expect(client.toJSON().closed).toBe(true);
  });

  it('for a client without a secret, with an issuer', () => {
    const c = new TokenClient({ issuer: 'https://as.example', clientId: 'a', clientAssertion: () => 'a.b.c' });
    expect(c.toJSON()).toMatchObject({ issuer: 'https://as.example', clientSecret: undefined, clientAuthentication: undefined });
    expect(c.toJSON()).not.toHaveProperty('tokenEndpoint');
    void c.close();
  });
});

describe('the Authorization header', () => {
  it('is the token type and the token', async () => {
    // Another type the user allows (DPoP has its own option, see dpop-client.test.ts), spelled as the server sent it.
    const { server, client } = await setup({ allowedTokenTypes: ['mac'] });
    server.respond((_r, res) => json(res, 200, { access_token: 'tok', token_type: 'MAC', expires_in: 60 }));
    expect(await client.getAuthorizationHeader()).toBe('MAC tok');
  });
});

describe('a stored token of a type this client does not accept', () => {
  it('is not handed out: the endpoint is asked', async () => {
    // Written by a client with other allowedTokenTypes that shares the store (allowedTokenTypes is not in the key).
    const mac: StoredToken = { accessToken: 'mac-from-store', tokenType: 'MAC', expiresIn: 3_600_000, expiresAt: Date.now() + 3_600_000, scope: undefined, raw: {} };
    const store: TokenStore = { get: async () => mac, set: async () => {}, delete: async () => {} };
    const { server, client } = await setup({ cache: store });
    server.respond((_r, res) => json(res, 200, { access_token: 'bearer-from-endpoint', token_type: 'Bearer', expires_in: 60 }));
    expect(await client.getAuthorizationHeader()).toBe('Bearer bearer-from-endpoint');
    expect(server.requests).toHaveLength(1);
  });
});

describe('a token that claims to live for ever', () => {
  it('is kept 24 hours at most, then requested again', async () => {
    const clock = new ManualClock();
    const { server, client } = await setup({ clock, refreshAhead: false, expiryLeeway: 0 });
    server.respond((_r, res, i) => json(res, 200, { access_token: `t${i}`, token_type: 'Bearer', expires_in: 1e12 }));
    expect((await client.getToken()).accessToken).toBe('t1');
    expect(MAX_CACHED_LIFETIME).toBe(24 * 60 * 60 * 1000);
    clock.advance(MAX_CACHED_LIFETIME - 1);
    expect((await client.getToken()).accessToken).toBe('t1');
    clock.advance(1);
    expect((await client.getToken()).accessToken).toBe('t2');
  });
});

describe('what the shared store is told', () => {
  function recordingStore() {
    const sets: { key: string; token: StoredToken; ttl: number }[] = [];
    const leases: number[] = [];
    const stored = new Map<string, StoredToken>();
    const store: TokenStore = {
      get: async (key) => stored.get(key),
      set: async (key, token, ttl) => {
        sets.push({ key, token, ttl });
        stored.set(key, token);
      },
      delete: async (key) => void stored.delete(key),
      acquireLease: async (_key, ttl) => {
        leases.push(ttl);
        return { release: async () => {} };
      },
    };
    return { store, sets, leases };
  }

  it('the lease lasts the whole request (totalTimeout) and a second more, 5 s at most', async () => {
    for (const [totalTimeout, lease] of [[3_000, 4_000], [3_999, 4_999], [4_000, 5_000], [7_000, 5_000]] as const) {
      const { store, leases } = recordingStore();
      const { client } = await setup({ cache: { store }, totalTimeout });
      await client.getToken();
      expect(leases, `totalTimeout ${totalTimeout}`).toEqual([lease]);
      await client.close();
    }
  });

  it('the token is kept until its stale-if-error limit', async () => {
    const clock = new ManualClock();
    const { store, sets } = recordingStore();
    const { server, client } = await setup({ clock, cache: { store }, expiryLeeway: 60_000 });
    server.respond((_r, res) => json(res, 200, { access_token: 'tok', token_type: 'Bearer', expires_in: 3600, extra: 'x' }));
    await client.getToken();
    expect(sets).toHaveLength(1);
    // staleUntil = expiresAt − min(10 s, lifetime / 10) is later than usableUntil = expiresAt − 60 s.
    expect(sets[0]!.ttl).toBe(3_600_000 - 10_000);
    expect(sets[0]!.token).toMatchObject({ accessToken: 'tok', tokenType: 'Bearer', expiresIn: 3_600_000, expiresAt: clock.now() + 3_600_000 });
    expect(sets[0]!.token.raw).toEqual({ access_token: 'tok', token_type: 'Bearer', expires_in: 3600, extra: 'x' });
  });

  it('without stale-if-error, until the end of its leeway', async () => {
    const clock = new ManualClock();
    const { store, sets } = recordingStore();
    const { server, client } = await setup({ clock, cache: { store }, staleIfError: false, expiryLeeway: 60_000 });
    server.respond((_r, res) => json(res, 200, { access_token: 'tok', token_type: 'Bearer', expires_in: 3600 }));
    await client.getToken();
    expect(sets[0]!.ttl).toBe(3_600_000 - 60_000);
  });

  it('a token a second client reads from the store is handed out without a request', async () => {
    const { store } = recordingStore();
    const { server, client } = await setup({ cache: { store } });
    const first = await client.getToken();
    const other = new TokenClient({ tokenEndpoint: server.url, clientId: 'client-1', clientSecret: SECRET, cache: { store } });
    try {
      expect((await other.getToken()).accessToken).toBe(first.accessToken);
      expect(server.requests).toHaveLength(1);
    } finally {
      await other.close();
    }
  });
});

describe('closing and invalid calls', () => {
  it('close() is idempotent; every call after it rejects with M2M_CLIENT_CLOSED', async () => {
    const { client } = await setup();
    await client.close();
    await client.close();
    await expect(client.getToken()).rejects.toMatchObject({ code: 'M2M_CLIENT_CLOSED' });
    await expect(client.getToken({ audience: 'x' })).rejects.toMatchObject({ code: 'M2M_CLIENT_CLOSED' });
  });

  it('invalidate() and getToken() reject invalid options without touching the cache', async () => {
    const { server, client } = await setup();
    await client.getToken();
    await expect(client.invalidate({ scope: 5 } as never)).rejects.toMatchObject({ code: 'M2M_INVALID_OPTION', option: 'getToken.scope' });
    await expect(client.invalidate({ bogus: 1 } as never)).rejects.toMatchObject({ option: 'getToken.bogus' });
    await expect(client.getToken({ forceRefresh: 'yes' } as never)).rejects.toMatchObject({ option: 'getToken.forceRefresh' });
    await client.getToken();
    expect(server.requests).toHaveLength(1);
  });

  it('invalidate() with per-call options drops that token only', async () => {
    const { server, client } = await setup();
    await client.getToken();
    await client.getToken({ audience: 'a' });
    await client.invalidate({ audience: 'a' });
    await client.getToken();
    expect(server.requests).toHaveLength(2);
    await client.getToken({ audience: 'a' });
    expect(server.requests).toHaveLength(3);
  });
});

describe('a wall clock stepped back', () => {
  it('does not keep a token alive: its end is also measured on the monotonic clock', async () => {
    const clock = new ManualClock();
    const { server, client } = await setup({ clock, refreshAhead: false, expiryLeeway: 0, staleIfError: false });
    server.respond((_r, res, i) => json(res, 200, { access_token: `t${i}`, token_type: 'Bearer', expires_in: 60 }));
    expect((await client.getToken()).accessToken).toBe('t1');
    clock.step(-3_600_000);
    clock.advance(30_000);
    expect((await client.getToken()).accessToken).toBe('t1');
    clock.advance(30_000);
    expect((await client.getToken()).accessToken).toBe('t2');
  });

  it('stepped back before the first token, then forward again: the new token still ends on time', async () => {
    const clock = new ManualClock();
    const { server, client } = await setup({ clock, refreshAhead: false, expiryLeeway: 0, staleIfError: false });
    server.respond((_r, res, i) => json(res, 200, { access_token: `t${i}`, token_type: 'Bearer', expires_in: 60 }));
    await client.getToken({ audience: 'warm-up' });
    clock.step(-10_000);
    expect((await client.getToken()).accessToken).toBe('t2');
    clock.advance(59_999);
    expect((await client.getToken()).accessToken).toBe('t2');
    clock.advance(1);
    expect((await client.getToken()).accessToken).toBe('t3');
  });
});

describe('a wall clock stepped back, then forward again', () => {
  it('keeps measuring on the monotonic clock once a step back was seen', async () => {
    const clock = new ManualClock();
    const { server, client } = await setup({ clock, refreshAhead: false, expiryLeeway: 0, staleIfError: false });
    server.respond((_r, res, i) => json(res, 200, { access_token: `t${i}`, token_type: 'Bearer', expires_in: 60 }));
    expect((await client.getToken()).accessToken).toBe('t1');
    clock.step(-10_000);
    expect((await client.getToken()).accessToken).toBe('t1');
    // The wall clock is past the last reading again, but 10 s behind the time that really passed.
    clock.advance(20_000);
    expect((await client.getToken()).accessToken).toBe('t1');
    clock.advance(45_000);
    expect((await client.getToken()).accessToken).toBe('t2');
  });

  it('notices a step back when a new token is cached, before any cached call', async () => {
    const clock = new ManualClock();
    const { server, client } = await setup({ clock, refreshAhead: false, expiryLeeway: 0, staleIfError: false });
    server.respond((_r, res, i) => json(res, 200, { access_token: `t${i}`, token_type: 'Bearer', expires_in: 60 }));
    expect((await client.getToken()).accessToken).toBe('t1');
    clock.step(-10_000);
    expect((await client.getToken({ audience: 'other' })).accessToken).toBe('t2');
    clock.advance(65_000);
    // 65 s have passed for the default token, though the wall clock says 55 s.
    expect((await client.getToken()).accessToken).toBe('t3');
  });
});

describe('a failing background refresh backs off', () => {
  it('1 s after the first failure, 2 s after the second, never past the end of the token', async () => {
    const clock = new ManualClock();
    const events: TokenClientErrorEvent[] = [];
    const { server, client } = await setup({ clock, refreshAhead: 30_000, expiryLeeway: 0, retry: false, onError: (e) => events.push(e) });
    server.respond((_r, res, i) => (i === 1 ? json(res, 200, { access_token: 'at', token_type: 'Bearer', expires_in: 100 }) : json(res, 503, {})));
    await client.getToken();
    const settle = async (n: number) => {
      await expect.poll(() => server.requests.length).toBe(n);
      await expect.poll(() => events.length).toBe(n - 1);
    };
    clock.advance(90_000);
    await client.getToken();
    await settle(2);
    clock.advance(999);
    await client.getToken();
    await new Promise((r) => setTimeout(r, 10));
    expect(server.requests).toHaveLength(2);
    clock.advance(1);
    await client.getToken();
    await settle(3);
    clock.advance(1_999);
    await client.getToken();
    await new Promise((r) => setTimeout(r, 10));
    expect(server.requests).toHaveLength(3);
    clock.advance(1);
    await client.getToken();
    await settle(4);
  });
});

describe('reports', () => {
  it('without onError, a warning of type M2MTokenWarning with the code', async () => {
    const warnings: (Error & { code?: string })[] = [];
    const listener = (w: Error) => warnings.push(w);
    process.on('warning', listener);
    try {
      const store: TokenStore = { get: () => Promise.reject(new Error('down')), set: async () => {}, delete: async () => {} };
      const { client } = await setup({ cache: { store } });
      await client.getToken();
      await expect.poll(() => warnings.length).toBeGreaterThan(0);
      expect(warnings[0]!.name).toBe('M2MTokenWarning');
      expect(warnings[0]!.code).toBe('M2M_STORE_ERROR');
    } finally {
      process.off('warning', listener);
    }
  });

  it('a stale hand-out names the failure code, the endpoint, and how long the token is still valid', async () => {
    const clock = new ManualClock();
    const events: TokenClientErrorEvent[] = [];
    const { server, client } = await setup({ clock, refreshAhead: false, retry: false, onError: (e) => events.push(e) });
    server.respond((_r, res) => json(res, 200, { access_token: 'at', token_type: 'Bearer', expires_in: 100 }));
    await client.getToken();
    server.respond((_r: unknown, res: ServerResponse) => json(res, 503, { message: 'down' }));
    clock.advance(80_000);
    expect((await client.getToken()).accessToken).toBe('at');
    const stale = events.find((e) => e.type === 'stale')!;
    expect(stale.error.code).toBe('M2M_STALE_TOKEN');
    expect(stale.error.endpoint).toBe(server.origin);
    expect(stale.error.message).toContain('The token endpoint is failing (M2M_HTTP_STATUS)');
    expect(stale.error.message).toContain('still valid for 20 s (staleIfError)');
  });

  it('a per-call key gets its stale token too, with no default token cached', async () => {
    const clock = new ManualClock();
    const { server, client } = await setup({ clock, refreshAhead: false, retry: false, onError: () => {} });
    server.respond((_r, res) => json(res, 200, { access_token: 'at-per-call', token_type: 'Bearer', expires_in: 100 }));
    await client.getToken({ audience: 'https://per-call' });
    server.respond((_r: unknown, res: ServerResponse) => json(res, 503, { message: 'down' }));
    clock.advance(80_000); // past the leeway, still valid: the caller waits for the endpoint, which fails
    expect((await client.getToken({ audience: 'https://per-call' })).accessToken).toBe('at-per-call');
    expect(server.requests).toHaveLength(2);
  });

  it('a background refresh that fails after close() is not reported', async () => {
    const clock = new ManualClock();
    const events: TokenClientErrorEvent[] = [];
    const { server, client } = await setup({ clock, refreshAhead: 30_000, expiryLeeway: 0, retry: false, onError: (e) => events.push(e) });
    server.respond((_r, res) => json(res, 200, { access_token: 'at', token_type: 'Bearer', expires_in: 100 }));
    await client.getToken();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    server.respond(async (_r, res) => {
      await held;
      json(res, 400, { error: 'invalid_client' });
    });
    clock.advance(85_000);
    await client.getToken();
    await expect.poll(() => server.requests.length).toBe(2);
    await client.close();
    release();
    await new Promise((r) => setTimeout(r, 20));
    expect(events.filter((e) => e.type === 'refresh')).toEqual([]);
  });
});

describe('the shared store does not hold callers up', () => {
  it('a slow write does not delay getToken', async () => {
    // The write answers only when the test lets it, after getToken. A getToken that waited for it would wait out
    // the whole storeTimeout (10 s) and see the write reported as timed out: far from a cold call on a busy machine.
    let release!: () => void;
    let writes = 0;
    const set = () => {
      writes += 1;
      return new Promise<void>((r) => (release = r));
    };
    const store: TokenStore = { get: async () => undefined, set, delete: async () => {} };
    const events: TokenClientErrorEvent[] = [];
    const { client } = await setup({ cache: { store }, storeTimeout: 10_000, onError: (e) => events.push(e) });
    const started = performance.now();
    await client.getToken();
    const took = performance.now() - started;
    expect(writes).toBe(1); // the write was started, and is still unanswered
    expect(events).toEqual([]);
    expect(took).toBeLessThan(5_000);
    release();
  });
});

describe('tokens', () => {
  it('are frozen: a caller cannot change the token another caller gets', async () => {
    const { client } = await setup();
    const token = await client.getToken();
    expect(Object.isFrozen(token)).toBe(true);
    expect(() => {
      (token as { tokenType: string }).tokenType = 'Other';
    }).toThrow(TypeError);
    expect((await client.getToken()).tokenType).toBe('Bearer');
  });
});
