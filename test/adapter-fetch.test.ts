// m2m-token/fetch end to end: oidc-provider issues the tokens, jose-verifying APIs accept or refuse them.
import { fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchWithTokens } from 'm2m-token/fetch';
import { BILLING, startAdapterFixture, type AdapterFixture } from './helpers/adapter-fixture.js';
import { adapterContract, type AdapterHarness, type CallInit } from './helpers/adapter-contract.js';

let fx: AdapterFixture;
beforeAll(async () => {
  fx = await startAdapterFixture();
});
afterAll(() => fx.close());

function toInit(init: CallInit = {}): RequestInit {
  const body = init.stream && init.body !== undefined ? ReadableStream.from([new TextEncoder().encode(init.body)]) : init.body;
  return { method: init.method, headers: init.headers, body, signal: init.signal, ...(init.stream ? { duplex: 'half' } : {}) } as RequestInit;
}

async function read(response: Response) {
  const text = await response.text();
  return { status: response.status, body: text.startsWith('{') ? JSON.parse(text) : text };
}

const harness: AdapterHarness = {
  name: 'fetch',
  wrap(source, options) {
    const tokenFetch = fetchWithTokens(source, options);
    return async (url, init) => read(await tokenFetch(url, toInit(init)));
  },
  // fetch follows redirects by default.
  wrapFollowingRedirects(source, options) {
    return harness.wrap(source, options);
  },
  isAbort: (error) => (error as Error | undefined)?.name === 'AbortError',
};

adapterContract(harness, () => fx);

describe('fetch specifics', () => {
  it('takes a Request object and a URL object as input', async () => {
    const tokenFetch = fetchWithTokens(fx.client(), { targets: fx.targets() });
    expect((await tokenFetch(new Request(`${fx.billing.url}/req`, { headers: { accept: 'application/json' } }))).status).toBe(200);
    expect((await tokenFetch(new URL(`${fx.billing.url}/url`))).status).toBe(200);
    expect(fx.billing.requests.slice(-2)).toEqual([
      expect.objectContaining({ path: '/req', authorized: true }),
      expect.objectContaining({ path: '/url', authorized: true }),
    ]);
  });

  it("keeps a Request's own headers when adding Authorization", async () => {
    const tokenFetch = fetchWithTokens(fx.client(), { targets: { [fx.plain.url]: { resource: BILLING } } });
    const response = await tokenFetch(new Request(`${fx.plain.url}/h`, { headers: { 'x-trace': 't-1' } }));
    expect(response.status).toBe(200);
    expect(fx.plain.requests.at(-1)!.authorization).toMatch(/^Bearer /);
  });

  it('a Request object with a body is not replayed: its body is a stream', async () => {
    const tokenFetch = fetchWithTokens(fx.client(), { targets: fx.targets() });
    const before = fx.nobody.requests.length;
    const response = await tokenFetch(new Request(`${fx.nobody.url}/r`, { method: 'POST', body: 'payload' }));
    expect(response.status).toBe(401);
    expect(fx.nobody.requests.length - before).toBe(1);
  });

  it('wraps any fetch: undici’s own, given as `fetch`', async () => {
    const calls: string[] = [];
    const tokenFetch = fetchWithTokens(fx.client(), {
      targets: fx.targets(),
      fetch: (input: Parameters<typeof undiciFetch>[0], init?: Parameters<typeof undiciFetch>[1]) => {
        calls.push(String(input));
        return undiciFetch(input, init);
      },
    });
    fx.billing.revokeSeenTokens();
    const response = await tokenFetch(`${fx.billing.url}/undici`);
    expect(response.status).toBe(200);
    expect(calls).toEqual([`${fx.billing.url}/undici`]);
  });

  it('returns the wrapped Response untouched, body included', async () => {
    const tokenFetch = fetchWithTokens(fx.client(), { targets: fx.targets() });
    const response = await tokenFetch(`${fx.reports.url}/body`);
    expect(await response.json()).toMatchObject({ ok: true, path: '/body', scope: 'reports:read' });
  });

  it('refuses a fetch option that is not a function', () => {
    expect(() => fetchWithTokens(fx.client(), { targets: fx.targets(), fetch: 'nope' as unknown as typeof fetch })).toThrow(/`fetch`/);
  });
});
