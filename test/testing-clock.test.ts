import { TokenClient } from 'm2m-token';
import { ManualClock, mockNetwork, mockTokenEndpoint, useMockNetwork } from 'm2m-token/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

describe('ManualClock', () => {
  it('starts at the real time by default, or where told', () => {
    const before = Date.now();
    const now = new ManualClock().now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
    expect(new ManualClock(new Date('2026-01-01T00:00:00Z')).now()).toBe(Date.parse('2026-01-01T00:00:00Z'));
    expect(new ManualClock(5).now()).toBe(5);
  });

  it('moves only when moved: advance() forwards, set() anywhere', () => {
    const clock = new ManualClock(1_000);
    expect(clock.now()).toBe(1_000);
    expect(clock.advance(500)).toBe(1_500);
    expect(clock.now()).toBe(1_500);
    clock.set(100);
    expect(clock.now()).toBe(100);
    clock.set(new Date(2_000));
    expect(clock.now()).toBe(2_000);
  });

  it('refuses to go back with advance(), and non-finite times', () => {
    const clock = new ManualClock(1_000);
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => clock.advance(Number.NaN)).toThrow(RangeError);
    expect(() => clock.set(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => new ManualClock(new Date('nope'))).toThrow(RangeError);
    expect(clock.now()).toBe(1_000);
  });

  it('works detached, as clocks get passed around', () => {
    const clock = new ManualClock(7);
    const { now } = clock;
    clock.advance(1);
    expect(now()).toBe(8);
  });
});

describe('ManualClock driving TokenClient', () => {
  const clock = new ManualClock();
  const auth = mockTokenEndpoint({ domain: 'clock-tenant.auth0.com', clientId: 'clock-app', clientSecret: 'fake-clock-secret', expiresIn: 3600, clock });
  useMockNetwork(mockNetwork(auth.handlers), { beforeAll, afterEach, afterAll }, { reset: [auth] });

  const clients: TokenClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  function client(refreshAhead: number | false): TokenClient {
    const c = new TokenClient({ domain: 'clock-tenant.auth0.com', clientId: 'clock-app', clientSecret: 'fake-clock-secret', audience: 'https://api.example.com', clock, refreshAhead, expiryLeeway: 60_000 });
    clients.push(c);
    return c;
  }

  it('expiry: no new request before the leeway point, a new token after it, without sleeping', async () => {
    const c = client(false);
    const first = await c.getToken();
    expect(first.expiresAt).toBe(clock.now() + 3_600_000);
    clock.advance(3_600_000 - 60_000 - 1);
    expect((await c.getToken()).accessToken).toBe(first.accessToken);
    expect(auth.requestCount).toBe(1);
    clock.advance(1);
    expect((await c.getToken()).accessToken).not.toBe(first.accessToken);
    expect(auth.requestCount).toBe(2);
  });

  it('refresh-ahead: inside the window the cached token comes back at once and one refresh starts', async () => {
    const c = client(300_000);
    const first = await c.getToken();
    clock.advance(3_600_000 - 60_000 - 1); // the last moment before the leeway point: inside the window
    expect((await c.getToken()).accessToken).toBe(first.accessToken);
    await vi.waitFor(() => expect(auth.requestCount).toBe(2));
    expect((await c.getToken()).accessToken).not.toBe(first.accessToken);
    expect(auth.requestCount).toBe(2);
  });
});
