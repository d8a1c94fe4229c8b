import { describe, expect, it } from 'vitest';
import type { TokenClientErrorEvent } from '../src/index.js';
import { setup } from './helpers/client.js';
import { ManualClock } from './helpers/clock.js';
import { json } from './helpers/token-server.js';

const HOUR = 3_600_000;
const MIN = 60_000;

/** Resolves once the server has seen `n` requests. */
async function requestsReach(server: { requests: unknown[] }, n: number): Promise<void> {
  for (let i = 0; i < 500 && server.requests.length < n; i++) await new Promise((r) => setTimeout(r, 2));
  expect(server.requests.length).toBe(n);
}

describe('expiry and refresh-ahead (injected clock)', () => {
  it('hands a token out until expiresAt − expiryLeeway, then fetches a new one', async () => {
    const clock = new ManualClock();
    const { server, client } = await setup({ clock, refreshAhead: false, expiryLeeway: MIN });
    const first = await client.getToken();
    expect(first.expiresAt).toBe(clock.now() + HOUR);
    clock.advance(HOUR - MIN - 1);
    expect((await client.getToken()).accessToken).toBe(first.accessToken);
    expect(server.requests).toHaveLength(1);
    clock.advance(1);
    expect((await client.getToken()).accessToken).not.toBe(first.accessToken);
    expect(server.requests).toHaveLength(2);
  });

  it('caps the leeway at half the lifetime so a short-lived token is still used', async () => {
    const clock = new ManualClock();
    const { server, client } = await setup({ clock, refreshAhead: false, expiryLeeway: 5 * MIN });
    server.respond((_req, res, i) => json(res, 200, { access_token: `short-${i}`, token_type: 'Bearer', expires_in: 60 }));
    await client.getToken();
    clock.advance(29_999);
    await client.getToken();
    expect(server.requests).toHaveLength(1);
    clock.advance(1);
    await client.getToken();
    expect(server.requests).toHaveLength(2);
  });

  it('in the refresh-ahead window returns the cached token at once and refreshes once in the background', async () => {
    const clock = new ManualClock();
    const { server, client } = await setup({ clock, expiryLeeway: MIN, refreshAhead: 10 * MIN });
    const first = await client.getToken();
    // Before the window (usable until 59 min, window starts at 49 min at the earliest): no refresh.
    clock.advance(49 * MIN - 1);
    await client.getToken();
    expect(server.requests).toHaveLength(1);
    // Past the latest jittered refresh point (54 min): cached token now, one refresh behind it.
    clock.advance(5 * MIN + 1);
    const during = await Promise.all(Array.from({ length: 50 }, () => client.getToken()));
    expect(new Set(during.map((t) => t.accessToken))).toEqual(new Set([first.accessToken]));
    await requestsReach(server, 2);
    await expect.poll(async () => (await client.getToken()).accessToken).toBe('token-2');
    expect(server.requests).toHaveLength(2);
  });

  it('a failed background refresh does not fail callers, is reported, and is retried after a pause', async () => {
    const clock = new ManualClock();
    const events: TokenClientErrorEvent[] = [];
    const { server, client } = await setup({ clock, refreshAhead: 10 * MIN, retry: false, onError: (e) => events.push(e) });
    const first = await client.getToken();
    clock.advance(55 * MIN);
    server.respond((_req, res) => json(res, 503, { error: 'temporarily_unavailable' }));
    expect((await client.getToken()).accessToken).toBe(first.accessToken);
    await requestsReach(server, 2);
    await expect.poll(() => events.length).toBe(1);
    expect(events[0]).toMatchObject({ type: 'refresh', error: { code: 'M2M_OAUTH_ERROR', status: 503 } });

    // Within the pause (1 s after a first failure) calls get the cached token and send nothing.
    server.respond((_req, res) => json(res, 200, { access_token: 'renewed', token_type: 'Bearer', expires_in: 3600 }));
    for (let i = 0; i < 20; i++) expect((await client.getToken()).accessToken).toBe(first.accessToken);
    expect(server.requests).toHaveLength(2);
    clock.advance(1_000);
    expect((await client.getToken()).accessToken).toBe(first.accessToken);
    await requestsReach(server, 3);
    await expect.poll(async () => (await client.getToken()).accessToken).toBe('renewed');
  });

  it("waits as long as the server's Retry-After before refreshing again, so a throttled server is not hammered", async () => {
    const clock = new ManualClock();
    const events: TokenClientErrorEvent[] = [];
    const { server, client } = await setup({ clock, refreshAhead: 10 * MIN, retry: false, onError: (e) => events.push(e) });
    const first = await client.getToken();
    clock.advance(55 * MIN);
    server.respond((_req, res) => json(res, 429, { error: 'too_many_requests' }, { 'retry-after': '120' }));
    await client.getToken();
    await expect.poll(() => events.length).toBe(1);
    expect(events[0]!.error.retryAfter).toBe(120_000);
    for (let i = 0; i < 200; i++) expect((await client.getToken()).accessToken).toBe(first.accessToken);
    clock.advance(119_000);
    await client.getToken();
    expect(server.requests).toHaveLength(2);
    clock.advance(1_000);
    await client.getToken();
    await requestsReach(server, 3);
  });

  it.each([
    ['Retry-After: 0', { 'retry-after': '0' }],
    ['an x-ratelimit-reset already past', { 'x-ratelimit-reset': '1' }],
  ])('%s does not remove the pause before the next refresh', async (_name, headers) => {
    const clock = new ManualClock();
    const events: TokenClientErrorEvent[] = [];
    const { server, client } = await setup({ clock, refreshAhead: 10 * MIN, retry: false, onError: (e) => events.push(e) });
    await client.getToken();
    clock.advance(55 * MIN);
    server.respond((_req, res) => json(res, 429, { error: 'too_many_requests' }, headers));
    await client.getToken();
    await expect.poll(() => events.length).toBe(1);
    for (let i = 0; i < 100; i++) await client.getToken();
    expect(server.requests).toHaveLength(2);
  });

  it('uses the JWT exp when expires_in is missing, else defaultLifetime', async () => {
    const clock = new ManualClock();
    const { server, client } = await setup({ clock, defaultLifetime: 120_000 });
    const exp = Math.floor(clock.now() / 1000) + 600;
    const jwt = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ exp })).toString('base64url')}.sig`;
    server.respond((_req, res) => json(res, 200, { access_token: jwt, token_type: 'Bearer' }));
    expect((await client.getToken({ audience: 'jwt' })).expiresAt).toBe(exp * 1000);
    server.respond((_req, res) => json(res, 200, { access_token: 'opaque', token_type: 'Bearer' }));
    expect((await client.getToken({ audience: 'opaque' })).expiresIn).toBe(120_000);
  });
});
