import { describe, expect, it } from 'vitest';
import type { StoredToken, TokenClientErrorEvent, TokenStore } from '../src/index.js';
import { setup } from './helpers/client.js';
import { ManualClock } from './helpers/clock.js';

/** A Map-backed store that records calls and can be told to fail or hang. */
class RecordingStore implements TokenStore {
  readonly data = new Map<string, StoredToken>();
  readonly calls: string[] = [];
  mode: 'ok' | 'throw' | 'hang' | 'garbage' = 'ok';

  async get(key: string): Promise<StoredToken | undefined> {
    this.calls.push('get');
    await this.#trouble();
    if (this.mode === 'garbage') return { nonsense: true } as unknown as StoredToken;
    return this.data.get(key);
  }
  async set(key: string, token: StoredToken, ttl: number): Promise<void> {
    this.calls.push(`set:${ttl > 0}`);
    await this.#trouble();
    this.data.set(key, JSON.parse(JSON.stringify(token)) as StoredToken);
  }
  async delete(key: string): Promise<void> {
    this.calls.push('delete');
    await this.#trouble();
    this.data.delete(key);
  }
  async #trouble(): Promise<void> {
    if (this.mode === 'throw') throw new Error('store down');
    if (this.mode === 'hang') await new Promise(() => {});
  }
}

describe('TokenStore', () => {
  it('is consulted on a miss and filled after a fetch; a second client sharing it makes no request', async () => {
    const store = new RecordingStore();
    const first = await setup({ cache: store });
    const token = await first.client.getToken({ audience: 'a' });
    await expect.poll(() => store.data.size).toBe(1);

    const second = await setup({ cache: store, tokenEndpoint: first.server.url });
    const shared = await second.client.getToken({ audience: 'a' });
    expect(shared.accessToken).toBe(token.accessToken);
    expect(shared.expiresAt).toBe(token.expiresAt);
    expect(first.server.requests).toHaveLength(1);
    // The in-memory cache stays in front: a cached call does not touch the store.
    const before = store.calls.length;
    await second.client.getToken({ audience: 'a' });
    expect(store.calls.length).toBe(before);
  });

  it.each(['throw', 'hang', 'garbage'] as const)('a store that fails (%s) is reported and treated as a miss', async (mode) => {
    const store = new RecordingStore();
    store.mode = mode;
    const events: TokenClientErrorEvent[] = [];
    const { server, client } = await setup({ cache: store, storeTimeout: 50, onError: (e) => events.push(e) });
    await expect(client.getToken()).resolves.toMatchObject({ accessToken: 'token-1' });
    expect(server.requests).toHaveLength(1);
    await expect.poll(() => events.length).toBeGreaterThanOrEqual(1);
    expect(events[0]).toMatchObject({ type: 'store', operation: 'get', error: { code: 'M2M_STORE_ERROR' } });
  });

  it('does not take a stored token that is past its refresh point', async () => {
    const clock = new ManualClock();
    const store = new RecordingStore();
    const first = await setup({ cache: store, clock, refreshAhead: 10 * 60_000 });
    await first.client.getToken();
    await expect.poll(() => store.data.size).toBe(1);
    clock.advance(55 * 60_000);
    const second = await setup({ cache: store, clock, refreshAhead: 10 * 60_000, tokenEndpoint: first.server.url });
    expect((await second.client.getToken()).accessToken).toBe('token-2');
  });

  it('invalidate() deletes from the store too', async () => {
    const store = new RecordingStore();
    const { client } = await setup({ cache: store });
    await client.getToken();
    await expect.poll(() => store.data.size).toBe(1);
    await client.invalidate();
    expect(store.data.size).toBe(0);
  });

  it('reports with process.emitWarning when no onError is given', async () => {
    const store = new RecordingStore();
    store.mode = 'throw';
    const warnings: Error[] = [];
    const listener = (w: Error) => warnings.push(w);
    process.on('warning', listener);
    try {
      const { client } = await setup({ cache: store });
      await client.getToken();
      await expect.poll(() => warnings.some((w) => (w as Error & { code?: string }).code === 'M2M_STORE_ERROR')).toBe(true);
    } finally {
      process.off('warning', listener);
    }
  });
});

/** An in-memory fleet store with leases, shared by several clients as Redis would be by several processes. */
class LeasingStore extends RecordingStore {
  holder: symbol | undefined;
  leases = 0;
  async acquireLease(_key: string, ttl: number) {
    this.calls.push('lease');
    if (this.holder) return null;
    const me = Symbol('lease');
    this.holder = me;
    this.leases += 1;
    setTimeout(() => {
      if (this.holder === me) this.holder = undefined;
    }, ttl).unref();
    return {
      release: async () => {
        if (this.holder === me) this.holder = undefined;
      },
    };
  }
}

describe('TokenStore races', () => {
  /** A store whose reads take a while and return an old token, as a slow Redis would. */
  const staleStore = () => {
    const store = new RecordingStore();
    const old = { accessToken: 'OLD-REVOKED', tokenType: 'Bearer', expiresIn: 3_600_000, expiresAt: Date.now() + 3_600_000 };
    store.get = async () => {
      store.calls.push('get');
      await new Promise((r) => setTimeout(r, 80));
      return old;
    };
    return store;
  };

  it('a forceRefresh that overtakes a slow store read is not undone by the stale token', async () => {
    const { server, client } = await setup({ cache: staleStore() });
    const reading = client.getToken();
    const forced = await client.getToken({ forceRefresh: true });
    expect(forced.accessToken).toBe('token-1');
    expect((await reading).accessToken).toBe('OLD-REVOKED');
    expect((await client.getToken()).accessToken).toBe('token-1');
    expect(server.requests).toHaveLength(1);
  });

  it('an invalidate() during a slow store read is not undone by the token read', async () => {
    const store = staleStore();
    const { client } = await setup({ cache: store });
    const reading = client.getToken();
    await client.invalidate();
    await reading;
    // The stale read was not cached in memory: the next call asks the store again.
    const reads = store.calls.filter((c) => c === 'get').length;
    await client.getToken();
    expect(store.calls.filter((c) => c === 'get').length).toBe(reads + 1);
  });

  it('a getToken() after invalidate() does not join the older read and get the dropped token', async () => {
    const store = new RecordingStore();
    const key = { current: '' };
    store.get = async (k: string) => {
      key.current = k;
      const snapshot = store.data.get(k);
      await new Promise((r) => setTimeout(r, 80));
      return snapshot;
    };
    const { server, client } = await setup({ cache: store });
    await client.getToken();
    await expect.poll(() => store.data.size).toBe(1);
    await client.invalidate({ audience: 'x' }); // another key: nothing changes for the default one
    const { client: second } = await setup({ cache: store, tokenEndpoint: server.url });
    const reading = second.getToken(); // snapshots token-1 from the store
    await second.invalidate();
    const after = await second.getToken();
    expect((await reading).accessToken).toBe('token-1');
    expect(after.accessToken).toBe('token-2');
  });

  it.each([
    ['scope null (a SQL column)', { scope: null, raw: null }, true],
    ['scope not a list', { scope: 42 }, false],
    ['raw an array', { raw: [1] }, false],
  ])('a stored value with %s is used or reported, never a TypeError', async (_name, extra, usable) => {
    const store = new RecordingStore();
    const events: TokenClientErrorEvent[] = [];
    store.get = async () => ({ accessToken: 'stored', tokenType: 'Bearer', expiresIn: 3_600_000, expiresAt: Date.now() + 3_600_000, ...extra }) as unknown as StoredToken;
    const { server, client } = await setup({ cache: store, onError: (e) => events.push(e) });
    const token = await client.getToken();
    expect(token.accessToken).toBe(usable ? 'stored' : 'token-1');
    expect(server.requests).toHaveLength(usable ? 0 : 1);
    if (!usable) expect(events[0]).toMatchObject({ type: 'store', error: { code: 'M2M_STORE_ERROR' } });
  });
});

describe('TokenStore leases (fleet single flight)', () => {
  it('clients sharing a leasing store make one request between them on a cold start', async () => {
    const store = new LeasingStore();
    const first = await setup({ cache: store });
    first.server.respond(async (_r, res, i) => {
      await new Promise((r) => setTimeout(r, 50));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: `fleet-${i}`, token_type: 'Bearer', expires_in: 3600 }));
    });
    const others = await Promise.all(Array.from({ length: 3 }, () => setup({ cache: store, tokenEndpoint: first.server.url })));
    const clients = [first.client, ...others.map((o) => o.client)];
    const tokens = await Promise.all(clients.flatMap((c) => Array.from({ length: 50 }, () => c.getToken())));
    expect(first.server.requests).toHaveLength(1);
    expect(new Set(tokens.map((t) => t.accessToken))).toEqual(new Set(['fleet-1']));
    expect(store.leases).toBe(1);
  });

  it('a lease whose holder never releases expires and another client takes over', async () => {
    const store = new LeasingStore();
    const dead = Symbol('dead holder');
    store.holder = dead; // held, and never released
    // Its lease runs out 300 ms after the client first finds it held (a time counted from the test's start could
    // run out before a cold client's first try on a busy machine, and there would be nothing to take over).
    const acquire = store.acquireLease.bind(store);
    store.acquireLease = async (key, ttl) => {
      const lease = await acquire(key, ttl);
      if (lease === null && store.calls.filter((c) => c === 'lease').length === 1) {
        setTimeout(() => {
          if (store.holder === dead) store.holder = undefined;
        }, 300).unref();
      }
      return lease;
    };
    const { server, client } = await setup({ cache: store });
    await expect(client.getToken()).resolves.toMatchObject({ accessToken: 'token-1' });
    expect(server.requests).toHaveLength(1);
    expect(store.calls.filter((c) => c === 'lease').length).toBeGreaterThanOrEqual(2);
  });

  it('close() ends a wait for a lease holder at once', async () => {
    const store = new LeasingStore();
    store.holder = Symbol('holder that never finishes');
    const { client } = await setup({ cache: store, totalTimeout: 3_000 });
    const pending = client.getToken().catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    const closedAt = performance.now();
    await client.close();
    expect(await pending).toMatchObject({ code: 'M2M_CLIENT_CLOSED' });
    // Without the check it would wait out the lease, 2 × (3 s + 1 s).
    expect(performance.now() - closedAt).toBeLessThan(2_000);
  });

  it('a store that cannot wait (waitForToken fails) is not polled in a loop: the client fetches on its own', async () => {
    const store = new LeasingStore();
    store.holder = Symbol('holder that never finishes');
    Object.assign(store, {
      waitForToken: async () => {
        throw new Error('no pub/sub');
      },
    });
    const events: TokenClientErrorEvent[] = [];
    const { server, client } = await setup({ cache: store, onError: (e) => events.push(e) });
    await expect(client.getToken()).resolves.toMatchObject({ accessToken: 'token-1' });
    expect(server.requests).toHaveLength(1);
    expect(events.filter((e) => e.operation === 'wait')).toHaveLength(1);
  });

  it('a store whose lease call fails is bypassed: the client fetches on its own', async () => {
    const store = new LeasingStore();
    store.acquireLease = async () => {
      throw new Error('lease down');
    };
    const events: TokenClientErrorEvent[] = [];
    const { server, client } = await setup({ cache: store, onError: (e) => events.push(e) });
    await expect(client.getToken()).resolves.toMatchObject({ accessToken: 'token-1' });
    expect(server.requests).toHaveLength(1);
    expect(events).toEqual([expect.objectContaining({ type: 'store', operation: 'lease' })]);
  });
});
