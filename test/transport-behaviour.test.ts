// The transport as callers see it: which failures are retried and how long it waits, what a network error says and
// keeps of its cause, what Retry-After means. A scripted dispatcher stands in for the network where a real server
// cannot produce the failure (a DNS error, an error with odd fields).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TokenClient, type TokenClientOptions } from '../src/index.js';
import { backoff, retryAfter, unexpectedError } from '../src/transport.js';
import { setup } from './helpers/client.js';
import { json } from './helpers/token-server.js';

afterEach(() => {
  vi.restoreAllMocks();
});

/** A dispatcher whose every request fails with `error()` (a fresh one each time), counting the attempts. */
function failingDispatcher(error: () => unknown) {
  const state = { attempts: 0 };
  const dispatcher = {
    dispatch(_opts: unknown, handler: { onResponseError?(controller: unknown, error: unknown): void }) {
      state.attempts += 1;
      queueMicrotask(() => handler.onResponseError?.({}, error()));
      return true;
    },
  };
  return { dispatcher: dispatcher as unknown as TokenClientOptions['dispatcher'], state };
}

const client = (options: Partial<TokenClientOptions>) =>
  new TokenClient({ tokenEndpoint: 'https://as.example/oauth/token', clientId: 'c', clientSecret: 'fake-secret-value', retry: { retries: 2, baseDelay: 1, maxDelay: 2 }, ...options } as TokenClientOptions);

describe('network failures', () => {
  it('a transient one is retried; the error names the endpoint, the code and what to check', async () => {
    const { dispatcher, state } = failingDispatcher(() => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    const c = client({ dispatcher });
    const error = (await c.getToken().catch((e: unknown) => e)) as Error & { code: string; attempts: number; endpoint: string };
    expect(state.attempts).toBe(3);
    expect(error).toMatchObject({ code: 'M2M_NETWORK_ERROR', attempts: 3, endpoint: 'https://as.example' });
    expect(error.message).toBe(
      'Could not reach token endpoint https://as.example (ECONNRESET); check the host name, the network, any proxy (proxy or dispatcher option, HTTPS_PROXY / NO_PROXY) and TLS.',
    );
    await c.close();
  });

  it.each(['ENOTFOUND', 'CERT_HAS_EXPIRED', 'UND_ERR_INVALID_ARG', 'ERR_PROXY_AUTHENTICATION_REQUIRED', 'SELF_SIGNED_CERT_IN_CHAIN'])('%s will fail the same way again: one attempt', async (code) => {
    const { dispatcher, state } = failingDispatcher(() => Object.assign(new Error(code), { code }));
    const c = client({ dispatcher });
    await expect(c.getToken()).rejects.toMatchObject({ code: 'M2M_NETWORK_ERROR', attempts: 1 });
    expect(state.attempts).toBe(1);
    await c.close();
  });

  it('a proxy refusal says what to check', async () => {
    const proxyAuth = failingDispatcher(() => Object.assign(new Error('x'), { code: 'ERR_PROXY_AUTHENTICATION_REQUIRED' }));
    const c1 = client({ dispatcher: proxyAuth.dispatcher });
    expect(((await c1.getToken().catch((e: unknown) => e)) as Error).message).toContain('the proxy answered 407: check the user and password in the proxy URL');
    const tunnel = failingDispatcher(() => Object.assign(new Error('x'), { code: 'ERR_PROXY_TUNNEL', statusCode: 403 }));
    const c2 = client({ dispatcher: tunnel.dispatcher });
    expect(((await c2.getToken().catch((e: unknown) => e)) as Error).message).toContain('the proxy refused the tunnel with HTTP 403: check that it allows CONNECT');
    await Promise.all([c1.close(), c2.close()]);
  });

  it('keeps a clean copy of the cause: message, name, stack and primitive fields, secrets cut out, four causes deep', async () => {
    const secret = 'fake-secret-value';
    const chain = (depth: number): Error => {
      const e = Object.assign(new TypeError(`level ${depth} ${secret}`), { code: `C${depth}`, errno: -depth, syscall: 'connect', port: 443, hostname: 'as.example', reason: secret, statusCode: 500, socket: { secret } });
      e.stack = `stack ${secret}`;
      if (depth < 6) Object.assign(e, { cause: chain(depth + 1) });
      return e;
    };
    const { dispatcher } = failingDispatcher(() => chain(0));
    const c = client({ dispatcher, retry: false });
    const error = (await c.getToken().catch((e: unknown) => e)) as Error;
    expect(error.message).toContain('(C0)');
    let cause = error.cause as Record<string, unknown> & Error;
    expect(cause).toBeInstanceOf(Error);
    expect(cause).toMatchObject({ name: 'TypeError', message: 'level 0 [REDACTED]', code: 'C0', errno: -0, syscall: 'connect', port: 443, hostname: 'as.example', reason: '[REDACTED]', statusCode: 500 });
    expect(cause.stack).toBe('stack [REDACTED]');
    expect(cause.socket).toBeUndefined();
    let depth = 0;
    while (cause.cause !== undefined) {
      cause = cause.cause as Record<string, unknown> & Error;
      depth += 1;
    }
    expect(depth).toBe(4);
    await c.close();
  });

  it('describes causes that are not errors, or errors without a message, name or stack', async () => {
    for (const [thrown, detail] of [
      ['plain text fake-secret-value', 'plain text [REDACTED]'],
      [42, '42'],
      [undefined, 'undefined'],
      [Object.assign(Object.create(null) as object, { code: 5 }), 'unknown error'],
    ] as const) {
      const { dispatcher } = failingDispatcher(() => thrown);
      const c = client({ dispatcher, retry: false });
      const error = (await c.getToken().catch((e: unknown) => e)) as Error;
      expect(error).toMatchObject({ code: 'M2M_NETWORK_ERROR' });
      expect(error.message).toContain(`(${detail})`);
      await c.close();
    }
    const { dispatcher } = failingDispatcher(() => ({ message: 42, name: 7 }));
    const c = client({ dispatcher, retry: false });
    const cause = ((await c.getToken().catch((e: unknown) => e)) as Error).cause as Error;
    expect(cause).toMatchObject({ name: 'Error', message: 'unknown error' });
    expect(cause.stack).toBe('Error: unknown error');
    expect('cause' in cause).toBe(false);
    await c.close();
  });
});

describe('retries of HTTP answers', () => {
  it('waits Retry-After seconds (within maxRetryAfter), and gives up when asked to wait past totalTimeout', async () => {
    const { server, client: c } = await setup({ retry: { retries: 1, baseDelay: 1, maxDelay: 1, maxRetryAfter: 60_000 }, totalTimeout: 500 });
    server.respond((_r, res) => json(res, 503, { error: 'temporarily_unavailable' }, { 'retry-after': '30' }));
    const error = await c.getToken().catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 503, attempts: 1, retryAfter: 30_000 });
    expect(server.requests).toHaveLength(1);
  });

  it('a Retry-After of 0 retries at once; attempts are counted', async () => {
    const { server, client: c } = await setup({ retry: { retries: 3, baseDelay: 1, maxDelay: 1 } });
    server.respond((_r, res, i) => (i < 3 ? json(res, 429, { error: 'slow_down' }, { 'retry-after': '0' }) : json(res, 200, { access_token: 'ok', token_type: 'Bearer', expires_in: 60 })));
    expect((await c.getToken()).accessToken).toBe('ok');
    expect(server.requests).toHaveLength(3);
  });

  it('a Retry-After past maxRetryAfter fails at once, with how long the server asked for', async () => {
    const { server, client: c } = await setup({ retry: { retries: 3, baseDelay: 1, maxRetryAfter: 1_000 } });
    server.respond((_r, res) => json(res, 503, {}, { 'retry-after': '2' }));
    await expect(c.getToken()).rejects.toMatchObject({ status: 503, attempts: 1, retryAfter: 2_000 });
    expect(server.requests).toHaveLength(1);
  });
});

describe('close() during a backoff wait', () => {
  it('ends the wait at once with M2M_CLIENT_CLOSED', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.99);
    const { server, client: c } = await setup({ retry: { retries: 3, baseDelay: 10_000, maxDelay: 10_000 } });
    server.respond((_r, res) => json(res, 503, {}));
    const pending = c.getToken();
    await vi.waitFor(() => expect(server.requests).toHaveLength(1));
    await new Promise((r) => setTimeout(r, 10));
    const started = performance.now();
    await c.close();
    await expect(pending).rejects.toMatchObject({ code: 'M2M_CLIENT_CLOSED' });
    // The backoff lasts 10 s: a close() that did not end it would take that long.
    expect(performance.now() - started).toBeLessThan(4_000);
    expect(server.requests).toHaveLength(1);
  });
});

describe('pure helpers', () => {
  const res = (status: number, headers: Record<string, string>) => ({ status, headers, body: '', sentAt: 0 });
  const now = Date.parse('2026-01-01T00:00:00Z');

  it('retryAfter: seconds, an HTTP date (never negative), x-ratelimit-reset on a 429 only', () => {
    expect(retryAfter(res(503, { 'retry-after': ' 7 ' }), now)).toBe(7_000);
    expect(retryAfter(res(503, { 'retry-after': new Date(now + 5_000).toUTCString() }), now)).toBe(5_000);
    expect(retryAfter(res(503, { 'retry-after': new Date(now - 5_000).toUTCString() }), now)).toBe(0);
    expect(retryAfter(res(503, { 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(retryAfter(res(429, { 'x-ratelimit-reset': String(now / 1000 + 9) }), now)).toBe(9_000);
    expect(retryAfter(res(429, { 'x-ratelimit-reset': String(now / 1000 - 9) }), now)).toBe(0);
    expect(retryAfter(res(503, { 'x-ratelimit-reset': String(now / 1000 + 9) }), now)).toBeUndefined();
    expect(retryAfter(res(429, { 'x-ratelimit-reset': 'later' }), now)).toBeUndefined();
    expect(retryAfter(res(429, { 'retry-after': '', 'x-ratelimit-reset': String(now / 1000 + 1) }), now)).toBe(1_000);
    expect(retryAfter(res(429, {}), now)).toBeUndefined();
    for (const odd of ['12abc', 'abc12', 'x12']) expect(retryAfter(res(503, { 'retry-after': odd }), now)).toBeUndefined();
    expect(retryAfter(res(429, { 'x-ratelimit-reset': ` ${now / 1000 + 3} ` }), now)).toBe(3_000);
    for (const odd of [`${now / 1000 + 3}x`, `x${now / 1000 + 3}`]) expect(retryAfter(res(429, { 'x-ratelimit-reset': odd }), now)).toBeUndefined();
  });

  it('backoff: full jitter up to min(maxDelay, baseDelay × 2^(n-1))', () => {
    const retry = { retries: 5, baseDelay: 100, maxDelay: 1_000, maxRetryAfter: 0 };
    vi.spyOn(Math, 'random').mockReturnValue(0.999999);
    expect(backoff(retry, 1)).toBeCloseTo(100, 0);
    expect(backoff(retry, 2)).toBeCloseTo(200, 0);
    expect(backoff(retry, 3)).toBeCloseTo(400, 0);
    expect(backoff(retry, 5)).toBeCloseTo(1_000, 0);
    vi.spyOn(Math, 'random').mockReturnValue(0);
    expect(backoff(retry, 3)).toBe(0);
  });

  it('unexpectedError names the type and code of what was thrown, with it as the cause', () => {
    const e = unexpectedError(Object.assign(new RangeError('x'), { code: 'ERR_X' }));
    expect(e).toMatchObject({ code: 'M2M_UNEXPECTED_ERROR' });
    expect(e.message).toBe('Getting a token failed unexpectedly (RangeError ERR_X); see the cause, and report it if it looks like a bug in m2m-token.');
    expect(unexpectedError(null).message).toContain('(null)');
    expect(unexpectedError('s').message).toContain('(string)');
    expect(unexpectedError({ name: '', code: 3 }).message).toContain('(object)');
    expect(unexpectedError({ name: 4 }).message).toContain('(object)');
    expect(unexpectedError(undefined).cause).toBeUndefined();
    const cause = new Error('c');
    expect(unexpectedError(cause).cause).toBe(cause);
  });
});
