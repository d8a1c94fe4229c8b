import http from 'node:http';
import { inspect } from 'node:util';
import { TokenClient } from 'm2m-token';
import { localhostPassthrough, mockNetwork, UnmockedRequestError, useMockNetwork, type TestHooks } from 'm2m-token/testing';
import { http as mswHttp, HttpResponse } from 'msw';
import { Agent, request as undiciRequest } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { expectNoLeak } from './helpers/leaks.js';

const SECRET = 'fake-network-secret-31c9';
const seen: string[] = [];
const network = mockNetwork(
  mswHttp.all('*://mocked.example.com/*', ({ request }) => {
    seen.push(`${request.method} ${request.url}`);
    return HttpResponse.json({ ok: true });
  }),
  localhostPassthrough(),
);
beforeAll(() => network.enable());
afterAll(() => network.disable());

// Captures what the kit prints, so tests can check it names the request and never the secret.
let printed: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  network.clearUnhandledRequests();
  seen.length = 0;
});
function capture(): void {
  printed = [];
  const record = (...args: unknown[]) => void printed.push(args.map((a) => (typeof a === 'string' ? a : inspect(a))).join(' '));
  for (const method of ['error', 'warn', 'log', 'info'] as const) vi.spyOn(console, method).mockImplementation(record);
}

function nodeHttp(url: string, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: body === undefined ? 'GET' : 'POST' }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('mockNetwork sees every HTTP client', () => {
  it('global fetch', async () => {
    expect(await (await fetch('https://mocked.example.com/a')).json()).toEqual({ ok: true });
  });

  it("undici's request() with its own Agent, which setupServer from msw/node misses", async () => {
    const dispatcher = new Agent();
    const response = await undiciRequest('https://mocked.example.com/b', { dispatcher });
    expect(await response.body.json()).toEqual({ ok: true });
    await dispatcher.close();
  });

  it('node:http', async () => {
    expect(await nodeHttp('http://mocked.example.com/c')).toBe(200);
    expect(seen).toEqual(['GET http://mocked.example.com/c']);
  });
});

describe('an unmocked request', () => {
  const body = `grant_type=client_credentials&client_id=app&client_secret=${SECRET}`;

  it('fails fetch with a network error naming method and URL, logs it, and never prints the body', async () => {
    capture();
    const error = await fetch('https://unmocked.example.com/oauth/token?x=1', { method: 'POST', body }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError); // fetch's network error…
    const cause = (error as Error).cause;
    expect(cause).toBeInstanceOf(UnmockedRequestError); // …caused by the kit, not by DNS or a real host
    expect(cause).toMatchObject({ method: 'POST', url: 'https://unmocked.example.com/oauth/token?x=1', code: 'M2M_UNMOCKED_REQUEST' });
    expect((cause as Error).message).toContain('POST https://unmocked.example.com/oauth/token?x=1');
    expect(printed.join('\n')).toContain('Unmocked request: POST https://unmocked.example.com/oauth/token?x=1');
    expectNoLeak(error, [SECRET]);
    for (const line of printed) expect(line).not.toContain(SECRET);
    expect(network.unhandledRequests).toEqual([{ method: 'POST', url: 'https://unmocked.example.com/oauth/token?x=1' }]);
  });

  it('fails undici and node:http requests with the same error', async () => {
    capture();
    await expect(undiciRequest('https://unmocked.example.com/u', { method: 'POST', body })).rejects.toBeInstanceOf(UnmockedRequestError);
    await expect(nodeHttp('http://unmocked.example.com/n', body)).rejects.toBeInstanceOf(UnmockedRequestError);
    expect(network.unhandledRequests.map((r) => r.url)).toEqual(['https://unmocked.example.com/u', 'http://unmocked.example.com/n']);
    for (const line of printed) expect(line).not.toContain(SECRET);
  });

  it('fails a TokenClient with M2M_NETWORK_ERROR, and neither the error nor the log holds the secret', async () => {
    capture();
    const client = new TokenClient({ domain: 'unmocked-tenant.auth0.com', clientId: 'app', clientSecret: SECRET, audience: 'https://api.example.com', retry: false });
    const error = await client.getToken().catch((e: unknown) => e);
    await client.close();
    expect(error).toMatchObject({ code: 'M2M_NETWORK_ERROR' });
    // The client keeps a clean copy of the HTTP client's error (name, message, code), never the object itself.
    expect((error as Error).cause).toMatchObject({ name: 'UnmockedRequestError', code: 'M2M_UNMOCKED_REQUEST' });
    expect(((error as Error).cause as Error).message).toContain('POST https://unmocked-tenant.auth0.com/oauth/token');
    expectNoLeak(error, [SECRET]);
    expect(printed.join('\n')).toContain('POST https://unmocked-tenant.auth0.com/oauth/token');
    for (const line of printed) expect(line).not.toContain(SECRET);
  });

  it('does not report credentials given in the URL', async () => {
    capture();
    const withCredentials = new URL('https://unmocked.example.com/p');
    withCredentials.username = 'user';
    withCredentials.password = SECRET;
    await nodeHttp(withCredentials.href.replace('https:', 'http:')).catch(() => undefined);
    expect(network.unhandledRequests.at(-1)!.url).toBe('http://unmocked.example.com/p');
    for (const line of printed) expect(line).not.toContain(SECRET);
  });

  it('assertNoUnhandledRequests() throws naming every unhandled request once, then forgets them', async () => {
    capture();
    network.assertNoUnhandledRequests(); // nothing yet
    await fetch('https://unmocked.example.com/1').catch(() => undefined);
    await fetch('https://unmocked.example.com/2', { method: 'DELETE' }).catch(() => undefined);
    expect(() => network.assertNoUnhandledRequests()).toThrow('2 unmocked requests: GET https://unmocked.example.com/1, DELETE https://unmocked.example.com/2');
    expect(() => network.assertNoUnhandledRequests()).not.toThrow();
    await fetch('https://unmocked.example.com/3').catch(() => undefined);
    expect(() => network.assertNoUnhandledRequests()).toThrow(UnmockedRequestError);
  });
});

describe('localhostPassthrough', () => {
  it('lets requests to a real loopback server through while everything else stays mocked', async () => {
    const server = http.createServer((_req, res) => res.end('from the real local server'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('from the real local server');
      expect(await (await fetch(`http://localhost:${port}/`)).text()).toBe('from the real local server');
    } finally {
      server.close();
    }
    capture();
    await expect(fetch('http://127.0.0.1.example.com/')).rejects.toThrow();
    expect(network.unhandledRequests).toHaveLength(1);
  });
});

describe('useMockNetwork', () => {
  function hooks() {
    const registered: Record<string, () => unknown> = {};
    const hook = (name: string) => (fn: () => unknown) => void (registered[name] = fn);
    return { registered, vitest: { beforeAll: hook('beforeAll'), afterEach: hook('afterEach'), afterAll: hook('afterAll') }, nodeTest: { before: hook('before'), afterEach: hook('afterEach'), after: hook('after') } };
  }

  it('enables before all, and after each test resets handlers and resettables, then fails on unmocked requests', async () => {
    const { registered, vitest } = hooks();
    const own = mockNetwork(mswHttp.get('https://own.example.com/', () => HttpResponse.text('initial')));
    const resettable = { reset: vi.fn() };
    expect(useMockNetwork(own, vitest satisfies TestHooks, { reset: [resettable] })).toBe(own);
    await network.disable(); // one network at a time: this test drives its own
    try {
      await registered.beforeAll!();
      own.use(mswHttp.get('https://own.example.com/', () => HttpResponse.text('runtime')));
      expect(await (await fetch('https://own.example.com/')).text()).toBe('runtime');
      capture();
      await fetch('https://unmocked.example.com/swallowed').catch(() => undefined); // an app that swallows the error
      expect(() => registered.afterEach!()).toThrow('Unmocked request: GET https://unmocked.example.com/swallowed');
      expect(resettable.reset).toHaveBeenCalledOnce();
      expect(await (await fetch('https://own.example.com/')).text()).toBe('initial');
      expect(() => registered.afterEach!()).not.toThrow();
      await registered.afterAll!();
      expect(own.readyState).toBe(0);
    } finally {
      if (own.readyState !== 0) await own.disable();
      await network.enable();
    }
  });

  it('takes node:test hook names', () => {
    const { registered, nodeTest } = hooks();
    useMockNetwork(mockNetwork(), nodeTest);
    expect(Object.keys(registered).sort()).toEqual(['after', 'afterEach', 'before']);
  });
});
