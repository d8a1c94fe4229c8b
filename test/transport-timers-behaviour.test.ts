// What the transport's timers mean for the process and the caller: a request in flight keeps the process alive by
// its deadline, an idle client holds no timer that would (a dispatcher may hold no handle of its own), close() ends
// a backoff wait and its timer, a store call leaves no timer behind, and a retry whose wait would pass totalTimeout
// is not waited for.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TokenClient, type TokenClientOptions, type TokenStore } from '../src/index.js';
import { setup } from './helpers/client.js';
import { json } from './helpers/token-server.js';
import { trackTimers } from './helpers/timers.js';

afterEach(() => {
  vi.restoreAllMocks();
});


/** A dispatcher that answers nothing until told to fail the requests it holds. */
function heldDispatcher() {
  const held: { onResponseError?(controller: unknown, error: unknown): void }[] = [];
  const dispatcher = {
    dispatch(_opts: unknown, handler: (typeof held)[number]) {
      held.push(handler);
      return true;
    },
  };
  const failAll = () => {
    for (const h of held.splice(0)) h.onResponseError?.({}, Object.assign(new Error('gone'), { code: 'ECONNRESET' }));
  };
  return { dispatcher: dispatcher as unknown as TokenClientOptions['dispatcher'], held, failAll };
}

describe('keeping the process alive', () => {
  it('a request in flight does, by its deadline; a client with nothing in flight does not', async () => {
    const { dispatcher, held, failAll } = heldDispatcher();
    const c = new TokenClient({ tokenEndpoint: 'https://as.example/oauth/token', clientId: 'c', clientSecret: 'fake-secret-value', retry: false, timeout: 60_000, dispatcher });
    const refTimers = trackTimers();
    try {
      const idle = refTimers();
      const first = c.getToken().catch((e: unknown) => e);
      await vi.waitFor(() => expect(held).toHaveLength(1));
      expect(refTimers()).toBe(idle + 1);
      failAll();
      expect(await first).toMatchObject({ code: 'M2M_NETWORK_ERROR' });
      expect(refTimers()).toBe(idle);
      // A later request (a later deadline than the one the timer is still set for) keeps it alive again.
      const second = c.getToken().catch((e: unknown) => e);
      await vi.waitFor(() => expect(held).toHaveLength(1));
      expect(refTimers()).toBe(idle + 1);
      failAll();
      expect(await second).toMatchObject({ code: 'M2M_NETWORK_ERROR' });
      expect(refTimers()).toBe(idle);
    } finally {
      await c.close();
    }
  });

  it('close() during a backoff wait ends the wait and its timer', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.99);
    const { server, client: c } = await setup({ retry: { retries: 3, baseDelay: 10_000, maxDelay: 10_000 } });
    server.respond((_r, res) => json(res, 503, {}));
    const refTimers = trackTimers();
    const pending = c.getToken().catch((e: unknown) => e);
    await vi.waitFor(() => expect(server.requests).toHaveLength(1));
    await new Promise((r) => setTimeout(r, 20));
    // The backoff wait.
    expect(refTimers()).toBe(1);
    await c.close();
    expect(await pending).toMatchObject({ code: 'M2M_CLIENT_CLOSED' });
    expect(refTimers()).toBe(0);
  });

  it('a store call that answered leaves no timer behind', async () => {
    const entries = new Map<string, unknown>();
    const store: TokenStore = {
      get: async (key) => entries.get(key) as never,
      set: async (key, value) => void entries.set(key, value),
      delete: async (key) => void entries.delete(key),
    };
    const { client: c } = await setup({ cache: store, storeTimeout: 60_000 });
    const refTimers = trackTimers();
    const idle = refTimers();
    await c.getToken();
    // The write to the store may still be settling.
    await vi.waitFor(() => expect(entries.size).toBe(1));
    await new Promise((r) => setImmediate(r));
    expect(refTimers()).toBe(idle);
  });
});

describe('close() while a request is being built', () => {
  it('no connection is opened for it afterwards', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let signing = false;
    const { server, client: c } = await setup({
      clientSecret: undefined,
      clientAssertion: async () => {
        signing = true;
        await gate;
        return 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln';
      },
    });
    const pending = c.getToken().catch((e: unknown) => e);
    await vi.waitFor(() => expect(signing).toBe(true));
    await c.close();
    release();
    expect(await pending).toMatchObject({ code: 'M2M_CLIENT_CLOSED' });
    await new Promise((r) => setTimeout(r, 50));
    expect(server.requests).toHaveLength(0);
  });
});

describe('retries that would pass totalTimeout', () => {
  it('a later Retry-After longer than the time left ends the attempts at once, with the last answer', async () => {
    const { server, client: c } = await setup({ retry: { retries: 3, baseDelay: 1, maxDelay: 1, maxRetryAfter: 60_000 }, totalTimeout: 6_000 });
    server.respond((_r, res, i) => json(res, 503, { error: 'temporarily_unavailable' }, { 'retry-after': i === 1 ? '0' : '30' }));
    const started = performance.now();
    const error = await c.getToken().catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 503, attempts: 2, retryAfter: 30_000 });
    // Waiting out the time left would last the whole 6 s totalTimeout; two quick answers take milliseconds.
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(server.requests).toHaveLength(2);
  });
});
