// How long the server asks the client to wait, as the caller sees it: the three HTTP date forms of Retry-After
// (RFC 9110 §5.6.7, two-digit years included), Retry-After kept on a failed discovery, an exhausted Auth0 quota
// bucket that resets later than Retry-After (on the error, and when deciding whether to retry), and which requests
// the request tracing channel reports.
import diagnosticsChannel from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { diagnosticsChannels, TokenClient } from '../src/index.js';
import { retryAfter } from '../src/transport.js';
import { startTokenServer, json, type TokenServer } from './helpers/token-server.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});
async function server(): Promise<TokenServer> {
  const s = await startTokenServer();
  open.push(s);
  return s;
}
function client(options: ConstructorParameters<typeof TokenClient>[0]): TokenClient {
  const c = new TokenClient(options);
  open.push(c);
  return c;
}

describe('Retry-After as an HTTP date', () => {
  const res = (value: string) => ({ status: 503, headers: { 'retry-after': value }, body: '', sentAt: 0 });
  const now = Date.UTC(2026, 0, 1);

  it('the obsolete RFC 850 form, its two-digit year read as at most 50 years ahead', () => {
    expect(retryAfter(res('Thursday, 01-Jan-26 00:00:05 GMT'), now)).toBe(5_000);
    // 2094 would be more than 50 years ahead: 1994, long past.
    expect(retryAfter(res('Sunday, 06-Nov-94 08:49:37 GMT'), now)).toBe(0);
    expect(retryAfter(res('Sunday, 06-Nov-94 08:49:37 GMT'), Date.UTC(1994, 10, 6, 8, 49, 30))).toBe(7_000);
    // Exactly 50 years ahead is still this century.
    const edge = new Date().getUTCFullYear() + 50;
    expect(retryAfter(res(`Friday, 01-Jan-${String(edge % 100).padStart(2, '0')} 00:00:00 GMT`), now)).toBe(Date.UTC(edge, 0, 1) - now);
  });

  it("the asctime form, with its space-padded day", () => {
    expect(retryAfter(res('Thu Jan  1 00:00:05 2026'), now)).toBe(5_000);
    expect(retryAfter(res('Sun Jan 11 00:00:00 2026'), now)).toBe(10 * 86_400_000);
  });
});

describe('Retry-After on the error', () => {
  it('a discovery document that is not there for now: the error says how long to wait', async () => {
    const s = await server();
    for (const wait of ['7', '0']) {
      s.respond((_r, res) => json(res, 503, {}, { 'retry-after': wait }));
      const error = await client({ issuer: s.origin, clientId: 'c', clientSecret: 'fake-secret-value', retry: false }).getToken().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'M2M_DISCOVERY_FAILED', retryAfter: Number(wait) * 1_000 });
    }
  });

  it('an exhausted quota bucket that resets later than Retry-After: the error says the longer wait', async () => {
    const s = await server();
    s.respond((_r, res) => json(res, 429, { error: 'too_many_requests' }, { 'auth0-client-quota-limit': 'b=per_hour;q=10;r=0;t=120', 'retry-after': '1' }));
    const c = client({ tokenEndpoint: s.url, clientId: 'c', clientSecret: 'fake-secret-value', retry: false });
    expect(await c.getToken().catch((e: unknown) => e)).toMatchObject({ status: 429, retryAfter: expect.closeTo(120_000, -3) });
  });

  it('without quota blocks, the HTTP error itself carries the longer of Retry-After and the bucket reset', async () => {
    const s = await server();
    const c = client({ tokenEndpoint: s.url, clientId: 'c', clientSecret: 'fake-secret-value', retry: false, quota: { block: false } });
    const exhausted = { 'auth0-client-quota-limit': 'b=per_hour;q=10;r=0;t=120' };
    s.respond((_r, res) => json(res, 429, { error: 'too_many_requests' }, { ...exhausted, 'retry-after': '1' }));
    expect(await c.getToken().catch((e: unknown) => e)).toMatchObject({ status: 429, retryAfter: 120_000 });
    s.respond((_r, res) => json(res, 429, { error: 'too_many_requests' }, { ...exhausted, 'retry-after': '300' }));
    expect(await c.getToken().catch((e: unknown) => e)).toMatchObject({ status: 429, retryAfter: 300_000 });
    s.respond((_r, res) => json(res, 429, { error: 'too_many_requests' }, exhausted));
    expect(await c.getToken().catch((e: unknown) => e)).toMatchObject({ status: 429, retryAfter: 120_000 });
    // Retry-After alone, 0 included.
    s.respond((_r, res) => json(res, 429, { error: 'too_many_requests' }, { 'retry-after': '0' }));
    expect(await c.getToken().catch((e: unknown) => e)).toMatchObject({ status: 429, retryAfter: 0 });
  });

  it('a short Retry-After does not hide a quota bucket that resets after maxRetryAfter: no retry', async () => {
    const s = await server();
    s.respond((_r, res) => json(res, 429, { error: 'too_many_requests' }, { 'auth0-client-quota-limit': 'b=per_hour;q=10;r=0;t=120', 'retry-after': '1' }));
    const c = client({ tokenEndpoint: s.url, clientId: 'c', clientSecret: 'fake-secret-value', retry: { retries: 2, baseDelay: 1, maxDelay: 1, maxRetryAfter: 60_000 } });
    expect(await c.getToken().catch((e: unknown) => e)).toMatchObject({ status: 429, attempts: 1, retryAfter: expect.closeTo(120_000, -3) });
    expect(s.requests).toHaveLength(1);
  });
});

describe('the request tracing channel', () => {
  it('reports token requests, not discovery requests', async () => {
    const s = await server();
    s.respond((r, res) =>
      r.url.startsWith('/.well-known/')
        ? json(res, 200, { issuer: s.origin, token_endpoint: s.url })
        : json(res, 200, { access_token: 'at-1', token_type: 'Bearer', expires_in: 3600 }),
    );
    const started: Record<string, unknown>[] = [];
    const tracing = diagnosticsChannel.tracingChannel(diagnosticsChannels.request);
    const none = () => {};
    const handlers = { start: (m: unknown) => void started.push({ ...(m as Record<string, unknown>) }), end: none, asyncStart: none, asyncEnd: none, error: none };
    tracing.subscribe(handlers);
    try {
      await client({ issuer: s.origin, clientId: 'c', clientSecret: 'fake-secret-value', retry: false }).getToken();
    } finally {
      tracing.unsubscribe(handlers);
    }
    expect(s.requests.map((r) => r.url)).toEqual(['/.well-known/oauth-authorization-server', '/oauth/token']);
    expect(started).toHaveLength(1);
    expect(started[0]).toMatchObject({ path: '/oauth/token', attempt: 1 });
  });
});
