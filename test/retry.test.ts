import { describe, expect, it } from 'vitest';
import { retryAfter } from '../src/transport.js';
import { setup } from './helpers/client.js';
import { ManualClock } from './helpers/clock.js';
import { json, type Responder } from './helpers/token-server.js';

/** Answers with each responder in turn, the last one repeating. */
function sequence(...responders: Responder[]): Responder {
  return (req, res, i) => responders[Math.min(i, responders.length) - 1]!(req, res, i);
}
const ok: Responder = (_r, res) => json(res, 200, { access_token: 'ok', token_type: 'Bearer', expires_in: 3600 });
const status = (code: number, body: unknown = { error: 'server_error' }, headers: Record<string, string> = {}): Responder =>
  (_r, res) => json(res, code, body, headers);

describe('retries', () => {
  it.each([500, 502, 503, 504, 408, 429])('retries HTTP %i and succeeds', async (code) => {
    const { server, client } = await setup();
    server.respond(sequence(status(code), status(code), ok));
    await expect(client.getToken()).resolves.toMatchObject({ accessToken: 'ok' });
    expect(server.requests).toHaveLength(3);
  });

  it('retries an HTML 502 page and reports its status when retries run out', async () => {
    const { server, client } = await setup({ retry: { retries: 2, baseDelay: 1 } });
    server.respond((_r, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html><body>Bad gateway</body></html>');
    });
    await expect(client.getToken()).rejects.toMatchObject({ code: 'M2M_HTTP_STATUS', status: 502, attempts: 3 });
    expect(server.requests).toHaveLength(3);
  });

  it.each(['invalid_client', 'access_denied', 'unauthorized_client', 'invalid_scope', 'invalid_grant', 'invalid_target', 'invalid_request'])(
    'never retries %s',
    async (error) => {
      const { server, client } = await setup();
      server.respond(status(error === 'invalid_client' ? 401 : error === 'access_denied' ? 403 : 400, { error }));
      await expect(client.getToken()).rejects.toMatchObject({ code: 'M2M_OAUTH_ERROR', error, attempts: 1 });
      expect(server.requests).toHaveLength(1);
    },
  );

  it.each([501, 505])('does not retry HTTP %i, which will answer the same next time', async (code) => {
    const { server, client } = await setup();
    server.respond(status(code));
    await expect(client.getToken()).rejects.toMatchObject({ status: code, attempts: 1 });
    expect(server.requests).toHaveLength(1);
  });

  it('puts the Retry-After the server asked for on the error', async () => {
    const { server, client } = await setup({ retry: { retries: 1, maxRetryAfter: 1_000 } });
    server.respond(status(429, { error: 'too_many_requests' }, { 'retry-after': '60' }));
    await expect(client.getToken()).rejects.toMatchObject({ status: 429, retryAfter: 60_000 });
  });

  it('retry: false makes a single attempt', async () => {
    const { server, client } = await setup({ retry: false });
    server.respond(status(503));
    await expect(client.getToken()).rejects.toMatchObject({ code: 'M2M_OAUTH_ERROR', status: 503 });
    expect(server.requests).toHaveLength(1);
  });

  it('retries network failures (connection reset)', async () => {
    const { server, client } = await setup();
    server.respond(sequence((_r, res) => void res.socket?.destroy(), ok));
    await expect(client.getToken()).resolves.toMatchObject({ accessToken: 'ok' });
    expect(server.requests).toHaveLength(2);
  });

  it('reports a refused connection as M2M_NETWORK_ERROR naming the host', async () => {
    const { server } = await setup();
    const url = server.url;
    await server.close();
    const { client } = await setup({ tokenEndpoint: url, retry: { retries: 1, baseDelay: 1 } });
    const error = await client.getToken().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'M2M_NETWORK_ERROR', attempts: 2 });
    expect((error as Error).message).toContain(new URL(url).host);
  });

  it('honours Retry-After as an HTTP date', async () => {
    const second = Math.ceil(Date.now() / 1000) * 1000;
    const clock = new ManualClock(second - 300); // the date has second resolution: the wait is exactly 300 ms
    const { server, client } = await setup({ clock, retry: { retries: 1, baseDelay: 0 } });
    const arrivals: number[] = [];
    server.respond((req, res, i) => {
      arrivals.push(performance.now());
      if (i === 1) status(429, { error: 'too_many_requests' }, { 'retry-after': new Date(second).toUTCString() })(req, res, i);
      else ok(req, res, i);
    });
    await expect(client.getToken()).resolves.toMatchObject({ accessToken: 'ok' });
    expect(arrivals[1]! - arrivals[0]!).toBeGreaterThanOrEqual(250);
  });

  it("honours Auth0's x-ratelimit-reset (epoch seconds) on a 429", async () => {
    const reset = Math.floor(Date.now() / 1000) + 10;
    const clock = new ManualClock(reset * 1000 - 120);
    const { server, client } = await setup({ clock, retry: { retries: 1, baseDelay: 0 } });
    const arrivals: number[] = [];
    server.respond((req, res, i) => {
      arrivals.push(performance.now());
      if (i === 1) status(429, { error: 'too_many_requests' }, { 'x-ratelimit-reset': String(reset) })(req, res, i);
      else ok(req, res, i);
    });
    await expect(client.getToken()).resolves.toMatchObject({ accessToken: 'ok' });
    expect(arrivals[1]! - arrivals[0]!).toBeGreaterThanOrEqual(100);
  });

  it('fails at once when Retry-After asks for longer than retry.maxRetryAfter', async () => {
    const { server, client } = await setup({ retry: { retries: 3, maxRetryAfter: 500 } });
    server.respond(status(429, { error: 'too_many_requests' }, { 'retry-after': '120' }));
    await expect(client.getToken()).rejects.toMatchObject({ code: 'M2M_OAUTH_ERROR', status: 429, attempts: 1 });
    expect(server.requests).toHaveLength(1);
  });

  it('parses Retry-After seconds, dates, and x-ratelimit-reset', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const r = (headers: Record<string, string>, s = 429) => retryAfter({ status: s, headers, body: '', sentAt: now }, now);
    expect(r({ 'retry-after': '7' })).toBe(7000);
    expect(r({ 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' })).toBe(3000);
    expect(r({ 'x-ratelimit-reset': String(now / 1000 + 4) })).toBe(4000);
    expect(r({ 'x-ratelimit-reset': String(now / 1000 + 4) }, 503)).toBeUndefined();
    expect(r({ 'retry-after': 'soon' })).toBeUndefined();
  });
});

describe('timeouts', () => {
  it('times out a stalled attempt and retries it', async () => {
    const { server, client } = await setup({ timeout: 100, retry: { retries: 1, baseDelay: 1 } });
    server.respond(sequence(() => {}, ok));
    await expect(client.getToken()).resolves.toMatchObject({ accessToken: 'ok' });
    expect(server.requests).toHaveLength(2);
  });

  it('stops at totalTimeout with M2M_TIMEOUT', async () => {
    const { server, client } = await setup({ timeout: 100, totalTimeout: 250, retry: { retries: 10, baseDelay: 1 } });
    server.respond(() => {});
    const error = await client.getToken().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'M2M_TIMEOUT' });
    expect((error as Error).message).toMatch(/totalTimeout|timeout/);
    expect(server.requests.length).toBeGreaterThanOrEqual(2);
    expect(server.requests.length).toBeLessThanOrEqual(3);
  });

  it('times out a body that trickles', async () => {
    const { server, client } = await setup({ timeout: 150, retry: false });
    server.respond((_r, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"access_token":');
    });
    await expect(client.getToken()).rejects.toMatchObject({ code: 'M2M_TIMEOUT' });
  });

  it('close() aborts a request in flight', async () => {
    const { server, client } = await setup();
    server.respond(() => {});
    const pending = client.getToken();
    await expect.poll(() => server.requests.length).toBe(1);
    await client.close();
    await expect(pending).rejects.toMatchObject({ code: 'M2M_CLIENT_CLOSED' });
  });
});

describe('response limits', () => {
  it('refuses a body over 1 MiB', async () => {
    const { server, client } = await setup();
    server.respond((_r, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: 'x'.repeat(1024 * 1024), token_type: 'Bearer', expires_in: 60 }));
    });
    await expect(client.getToken()).rejects.toMatchObject({ code: 'M2M_RESPONSE_TOO_LARGE', attempts: 1 });
  });

  it('refuses a chunked body over 1 MiB without a content-length', async () => {
    const { server, client } = await setup();
    server.respond((_r, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      for (let i = 0; i < 20; i++) res.write('x'.repeat(64 * 1024));
      res.end();
    });
    await expect(client.getToken()).rejects.toMatchObject({ code: 'M2M_RESPONSE_TOO_LARGE' });
  });

  it('does not follow redirects', async () => {
    const { server, client } = await setup();
    server.respond((_r, res) => {
      res.writeHead(307, { location: 'https://elsewhere.example.com/token' });
      res.end();
    });
    const error = await client.getToken().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'M2M_HTTP_STATUS', status: 307 });
    expect((error as Error).message).toContain('https://elsewhere.example.com');
    expect(server.requests).toHaveLength(1);
  });
});
