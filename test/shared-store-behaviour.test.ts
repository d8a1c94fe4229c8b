// SharedStore, the client's view of a user's TokenStore: a store can slow getToken() down by one storeTimeout and
// never fail it; what it returns is checked; the fleet elects one fetcher through leases. Short real timeouts.
import { describe, expect, it, vi } from 'vitest';
import { TokenClientError } from '../src/errors.js';
import type { TokenClientErrorEvent } from '../src/options.js';
import { SharedStore } from '../src/stores/shared-store.js';
import type { StoredToken, TokenStore } from '../src/stores/token-store.js';

const TOKEN: StoredToken = { accessToken: 'at', tokenType: 'Bearer', expiresIn: 60_000, expiresAt: Date.now() + 60_000 };

function shared(store: Partial<TokenStore>, timeout = 50) {
  const events: TokenClientErrorEvent[] = [];
  const full = { get: async () => undefined, set: async () => {}, delete: async () => {}, ...store } as TokenStore;
  return { s: new SharedStore(full, timeout, (e) => events.push(e), 'credential-fp'), events };
}

describe('the key the store sees', () => {
  it('is a JSON array: the credential fingerprint, then the cache key, for every operation', async () => {
    const seen: string[] = [];
    const { s } = shared({
      get: async (key) => void seen.push(`get ${key}`),
      set: async (key) => void seen.push(`set ${key}`),
      delete: async (key) => void seen.push(`delete ${key}`),
      acquireLease: async (key) => {
        seen.push(`lease ${key}`);
        return null;
      },
    });
    const key = JSON.stringify(['https://as/token', 'client', 'aud']);
    await s.get(key);
    await s.set(key, TOKEN, 1000);
    await s.delete(key);
    await s.acquireLease(key, 1000);
    const stored = `["credential-fp",${key}]`;
    expect(JSON.parse(stored)).toEqual(['credential-fp', ['https://as/token', 'client', 'aud']]);
    expect(seen).toEqual([`get ${stored}`, `set ${stored}`, `delete ${stored}`, `lease ${stored}`]);
  });
});

describe('every store call is bounded and its failure reported, never thrown', () => {
  it('a throwing store: undefined, one report naming the operation, the cause kept', async () => {
    const boom = new Error('redis down');
    const { s, events } = shared({
      get: async () => Promise.reject(boom),
      set: async () => Promise.reject(boom),
      delete: async () => Promise.reject(boom),
    });
    expect(await s.get('k')).toBeUndefined();
    await expect(s.set('k', TOKEN, 1000)).resolves.toBeUndefined();
    await expect(s.delete('k')).resolves.toBeUndefined();
    expect(events.map((e) => [e.type, e.operation])).toEqual([['store', 'get'], ['store', 'set'], ['store', 'delete']]);
    const error = events[0]!.error;
    expect(error).toBeInstanceOf(TokenClientError);
    expect(error.code).toBe('M2M_STORE_ERROR');
    expect(error.message).toBe('TokenStore get failed; treated as a cache miss, the token endpoint is used instead.');
    expect(error.cause).toBe(boom);
  });

  it('a store that does not answer: undefined after storeTimeout, reported as such', async () => {
    const { s, events } = shared({ get: () => new Promise(() => {}) }, 20);
    const started = performance.now();
    expect(await s.get('k')).toBeUndefined();
    expect(performance.now() - started).toBeGreaterThanOrEqual(15);
    expect(events).toHaveLength(1);
    expect(events[0]!.error.message).toBe('TokenStore get did not answer within 20 ms (storeTimeout); treated as a cache miss, the token endpoint is used instead.');
    expect(events[0]!.error.cause).toBeUndefined();
    expect('cause' in events[0]!.error).toBe(false);
  });

  it("the store's own wait gets the wait's timeout plus storeTimeout before it counts as failed", async () => {
    // The answer comes after either bound alone (200 ms) but well within both together (400 ms): a loaded machine's
    // late timers do not change the outcome.
    const { s, events } = shared({ waitForToken: () => new Promise((r) => setTimeout(() => r(TOKEN), 250)) }, 200);
    expect(await s.waitForToken('k', 200)).toEqual({ ...TOKEN, scope: undefined, raw: undefined });
    expect(events).toEqual([]);
  });

  it('without a wait of its own, the store is polled until the timeout, then nothing', async () => {
    // Fake timers and performance.now(): a loaded machine's late timers cannot change the count of polls.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      let gets = 0;
      // A busy loop would never see the fake clock move: the token it then finds ends it, and fails the test.
      const { s } = shared({ get: async () => ((gets += 1) > 50 ? TOKEN : undefined) });
      const started = performance.now();
      let result: StoredToken | undefined | 'pending' = 'pending';
      void s.waitForToken('k', 100).then((value) => (result = value));
      await vi.advanceTimersByTimeAsync(99);
      expect(result).toBe('pending');
      await vi.advanceTimersByTimeAsync(1);
      expect(result).toBeUndefined();
      expect(performance.now() - started).toBe(100);
      // 20, 40, 80 ms… capped by the deadline: a few polls, not a busy loop and not one long sleep.
      expect(gets).toBeGreaterThanOrEqual(2);
      expect(gets).toBeLessThanOrEqual(5);
    } finally {
      vi.useRealTimers();
    }
  });

  it('settle() waits for the calls in flight', async () => {
    let finish!: () => void;
    let done = false;
    const { s } = shared({ set: () => new Promise<void>((r) => (finish = r)).then(() => void (done = true)) }, 1_000);
    void s.set('k', TOKEN, 1000);
    const settled = s.settle();
    setTimeout(() => finish(), 5);
    await settled;
    expect(done).toBe(true);
  });
});

describe('what the store returns is checked', () => {
  it('a stored token comes back as stored, null scope and raw read as absent', async () => {
    const { s, events } = shared({ get: async () => ({ ...TOKEN, scope: null, raw: null }) as unknown as StoredToken });
    expect(await s.get('k')).toEqual({ ...TOKEN, scope: undefined, raw: undefined });
    const { s: s2 } = shared({ get: async () => ({ ...TOKEN, scope: ['a'], raw: { x: 1 } }) });
    expect(await s2.get('k')).toEqual({ ...TOKEN, scope: ['a'], raw: { x: 1 } });
    expect(events).toEqual([]);
  });

  it.each([
    ['no access token', { ...TOKEN, accessToken: undefined }],
    ['an empty access token', { ...TOKEN, accessToken: '' }],
    ['a token type that is not a string', { ...TOKEN, tokenType: 1 }],
    ['expiresAt not finite', { ...TOKEN, expiresAt: Number.NaN }],
    ['expiresIn not finite', { ...TOKEN, expiresIn: Infinity }],
    ['expiresIn of 0', { ...TOKEN, expiresIn: 0 }],
    ['a scope that is not a list', { ...TOKEN, scope: 'a b' }],
    ['a scope with a non-string', { ...TOKEN, scope: ['a', 1] }],
    ['raw that is a list', { ...TOKEN, raw: [] }],
    ['raw that is text', { ...TOKEN, raw: 'x' }],
    ['a string', 'token'],
    ['null', null],
  ])('%s is a miss, reported', async (_what, value) => {
    const { s, events } = shared({ get: async () => value as unknown as StoredToken });
    expect(await s.get('k')).toBeUndefined();
    expect(events).toHaveLength(1);
    expect(events[0]!.operation).toBe('get');
    expect(events[0]!.error.message).toBe('TokenStore get returned a value that is not a stored token; treated as a cache miss, the token endpoint is used instead.');
  });
});

describe('obtain: one fetcher for the fleet', () => {
  const steps = (over: Partial<Parameters<SharedStore['obtain']>[1]> = {}) => {
    const log: string[] = [];
    return {
      log,
      how: {
        accept: (stored: StoredToken | undefined) => stored?.accessToken,
        fetch: async (asLeaseHolder: boolean) => {
          log.push(`fetch ${asLeaseHolder}`);
          return 'fetched';
        },
        leaseTtl: 40,
        checkOpen: () => {},
        ...over,
      },
    };
  };

  it('a usable stored token: no fetch', async () => {
    const { s } = shared({ get: async () => TOKEN });
    const { how, log } = steps();
    expect(await s.obtain('k', how)).toBe('at');
    expect(log).toEqual([]);
  });

  it('a store without leases: this process fetches, not as lease holder, and nothing is reported', async () => {
    const { s, events } = shared({});
    const { how, log } = steps();
    expect(s.leases).toBe(false);
    expect(await s.obtain('k', how)).toBe('fetched');
    expect(log).toEqual(['fetch false']);
    expect(events).toEqual([]);
    expect(shared({ acquireLease: async () => null }).s.leases).toBe(true);
  });

  it('a failing release is reported as such', async () => {
    const { s, events } = shared({ acquireLease: async () => ({ release: () => Promise.reject(new Error('gone')) }) });
    expect(await s.obtain('k', steps().how)).toBe('fetched');
    expect(events.map((e) => [e.type, e.operation])).toEqual([['store', 'release']]);
    expect(events[0]!.error.message).toContain('TokenStore release failed');
  });

  it('a client closed while waiting for the holder stops instead of fetching', async () => {
    let open = true;
    const { s } = shared({ acquireLease: async () => null, waitForToken: async () => undefined });
    const { how, log } = steps({
      leaseTtl: 20,
      checkOpen: () => {
        if (!open) throw new Error('closed');
      },
    });
    const pending = s.obtain('k', how);
    setTimeout(() => (open = false), 5);
    await expect(pending).rejects.toThrow('closed');
    expect(log).toEqual([]);
  });

  it('the lease won: read again, fetch as lease holder, release', async () => {
    const calls: string[] = [];
    const { s } = shared({
      get: async () => void calls.push('get'),
      acquireLease: async () => {
        calls.push('lease');
        return { release: async () => void calls.push('release') };
      },
    });
    const { how, log } = steps();
    expect(await s.obtain('k', how)).toBe('fetched');
    expect(log).toEqual(['fetch true']);
    expect(calls).toEqual(['get', 'lease', 'get', 'release']);
  });

  it('the lease won but the token arrived meanwhile: no fetch; the lease is released even when fetch fails', async () => {
    let gets = 0;
    let released = 0;
    const { s } = shared({
      get: async () => (++gets === 2 ? TOKEN : undefined),
      acquireLease: async () => ({ release: async () => void (released += 1) }),
    });
    const { how, log } = steps();
    expect(await s.obtain('k', how)).toBe('at');
    expect(log).toEqual([]);
    expect(released).toBe(1);
    const { s: s2 } = shared({ acquireLease: async () => ({ release: async () => void (released += 1) }) });
    await expect(s2.obtain('k', steps({ fetch: () => Promise.reject(new Error('endpoint down')) }).how)).rejects.toThrow('endpoint down');
    expect(released).toBe(2);
  });

  it("another holder: wait for its token through the store's notification", async () => {
    let published = false;
    const { s } = shared({
      get: async () => (published ? TOKEN : undefined),
      acquireLease: async () => null,
      waitForToken: async () => {
        published = true;
        return TOKEN;
      },
    });
    const { how, log } = steps();
    expect(await s.obtain('k', how)).toBe('at');
    expect(log).toEqual([]);
  });

  it('another holder and a store without notifications: poll get until the token appears', async () => {
    let gets = 0;
    const { s } = shared({ get: async () => (++gets >= 3 ? TOKEN : undefined), acquireLease: async () => null });
    const { how, log } = steps({ leaseTtl: 1_000 });
    expect(await s.obtain('k', how)).toBe('at');
    expect(log).toEqual([]);
  });

  it('a holder that never delivers: after twice the lease lifetime, fetch alone', async () => {
    const { s } = shared({ acquireLease: async () => null, waitForToken: async () => undefined });
    const { how, log } = steps({ leaseTtl: 30 });
    const started = performance.now();
    expect(await s.obtain('k', how)).toBe('fetched');
    expect(log).toEqual(['fetch false']);
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
  });

  it('store trouble while waiting, or when taking the lease: fetch alone at once', async () => {
    const { s, events } = shared({ acquireLease: async () => null, waitForToken: () => Promise.reject(new Error('no pubsub')) });
    const { how, log } = steps({ leaseTtl: 10_000 });
    const started = performance.now();
    expect(await s.obtain('k', how)).toBe('fetched');
    expect(log).toEqual(['fetch false']);
    // Waiting on would last twice the (capped) lease lifetime, 10 s.
    expect(performance.now() - started).toBeLessThan(4_000);
    expect(events.map((e) => e.operation)).toEqual(['wait']);
    const { s: s2, events: e2 } = shared({ acquireLease: () => Promise.reject(new Error('lease failed')) });
    const second = steps();
    expect(await s2.obtain('k', second.how)).toBe('fetched');
    expect(second.log).toEqual(['fetch false']);
    expect(e2.map((e) => e.operation)).toEqual(['lease']);
  });

  it('a stored value the caller cannot use is reported and read as a miss', async () => {
    const { s, events } = shared({ get: async () => TOKEN });
    const { how, log } = steps({
      accept: () => {
        throw new Error('bad token');
      },
    });
    expect(await s.obtain('k', how)).toBe('fetched');
    expect(log).toEqual(['fetch false']);
    expect(events[0]!.error.message).toBe('TokenStore get returned a token that could not be used; treated as a cache miss, the token endpoint is used instead.');
    expect([events[0]!.type, events[0]!.operation]).toEqual(['store', 'get']);
    expect((events[0]!.error.cause as Error).message).toBe('bad token');
  });

  it('stops when the client is closed', async () => {
    const { s } = shared({});
    await expect(
      s.obtain('k', steps({ checkOpen: () => {
        throw new Error('closed');
      } }).how),
    ).rejects.toThrow('closed');
  });

  it('waitForToken through the store passes the timeout on and checks what it returns', async () => {
    const seen: number[] = [];
    const { s, events } = shared({
      waitForToken: async (_k, timeout) => {
        seen.push(timeout);
        return { ...TOKEN, expiresIn: -1 };
      },
    });
    expect(await s.waitForToken('k', 123)).toBeUndefined();
    expect(seen).toEqual([123]);
    expect(events[0]!.operation).toBe('wait');
  });
});
