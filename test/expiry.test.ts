import { describe, expect, it } from 'vitest';
import { scheduleToken, type ExpiryPolicy } from '../src/expiry.js';
import { resolveOptions } from '../src/options.js';

const OBTAINED_AT = Date.parse('2026-01-01T00:00:00Z');
const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const ALMOST_ONE = 1 - Number.EPSILON;

/** A token obtained at OBTAINED_AT with the given lifetime. */
const token = (lifetime: number) => ({ expiresIn: lifetime, expiresAt: OBTAINED_AT + lifetime });
const noRefresh = (leeway: number): ExpiryPolicy => ({ leeway, refreshAhead: 0 });

describe('scheduleToken: leeway', () => {
  it('stops handing a token out leeway before it expires', () => {
    expect(scheduleToken(token(3600 * SECOND), noRefresh(MINUTE)).usableUntil).toBe(OBTAINED_AT + 3600 * SECOND - MINUTE);
  });

  it('uses the token until expiresAt with no leeway', () => {
    expect(scheduleToken(token(3600 * SECOND), noRefresh(0)).usableUntil).toBe(OBTAINED_AT + 3600 * SECOND);
  });

  it('applies the default policy (60 s leeway, 5 min refresh-ahead) to a one-hour token', () => {
    const { expiry } = resolveOptions({ domain: 'tenant.auth0.com', clientId: 'cid', clientSecret: 'secret' });
    expect(expiry).toMatchObject({ leeway: MINUTE, refreshAhead: 5 * MINUTE });
    const schedule = scheduleToken(token(3600 * SECOND), expiry, () => 0);
    expect(schedule.usableUntil).toBe(OBTAINED_AT + 59 * MINUTE);
    expect(schedule.refreshAt).toBe(OBTAINED_AT + 54 * MINUTE);
  });

  it('caps the leeway at half the lifetime: 60 s leeway on a 30 s token is usable for 15 s', () => {
    expect(scheduleToken(token(30 * SECOND), noRefresh(MINUTE)).usableUntil).toBe(OBTAINED_AT + 15 * SECOND);
  });

  it('keeps a leeway of exactly half the lifetime', () => {
    expect(scheduleToken(token(2 * MINUTE), noRefresh(MINUTE)).usableUntil).toBe(OBTAINED_AT + MINUTE);
  });
});

describe('scheduleToken: refresh-ahead', () => {
  it.each([
    ['a long token (window = refreshAhead)', 3600 * SECOND, MINUTE, 5 * MINUTE],
    ['a short token (window = half the usable lifetime)', 4 * MINUTE, MINUTE, 5 * MINUTE],
    ['a token where the leeway is capped', 30 * SECOND, MINUTE, 5 * MINUTE],
  ])('refreshes within [usableUntil − window, usableUntil − window/2] for %s', (_name, lifetime, leeway, refreshAhead) => {
    const { usableUntil } = scheduleToken(token(lifetime), noRefresh(leeway));
    const window = Math.min(refreshAhead, (usableUntil - OBTAINED_AT) / 2);
    const policy = { leeway, refreshAhead };

    const early = scheduleToken(token(lifetime), policy, () => 0);
    const late = scheduleToken(token(lifetime), policy, () => ALMOST_ONE);
    const middle = scheduleToken(token(lifetime), policy, () => 0.5);

    for (const s of [early, late, middle]) {
      expect(s.usableUntil).toBe(usableUntil);
      expect(s.refreshAt).toBeGreaterThanOrEqual(usableUntil - window);
      expect(s.refreshAt).toBeLessThanOrEqual(usableUntil - window / 2);
    }
    expect(early.refreshAt).toBe(usableUntil - window);
    expect(late.refreshAt).toBeCloseTo(usableUntil - window / 2, 3);
    expect(middle.refreshAt).toBe(usableUntil - (3 / 4) * window);
  });

  it('limits the window to half the usable lifetime on a short token', () => {
    // 4 min token, 60 s leeway: usable 3 min, so the window is 90 s, not the 5 min asked for.
    const { usableUntil, refreshAt } = scheduleToken(token(4 * MINUTE), { leeway: MINUTE, refreshAhead: 5 * MINUTE }, () => 0);
    expect(usableUntil).toBe(OBTAINED_AT + 3 * MINUTE);
    expect(refreshAt).toBe(OBTAINED_AT + 90 * SECOND);
  });

  it('never refreshes before the token was obtained', () => {
    const { refreshAt } = scheduleToken(token(10 * SECOND), { leeway: MINUTE, refreshAhead: 5 * MINUTE }, () => 0);
    expect(refreshAt).toBeGreaterThan(OBTAINED_AT);
  });

  it('sets refreshAt to usableUntil when refreshAhead is 0, without calling random', () => {
    let calls = 0;
    const schedule = scheduleToken(token(3600 * SECOND), { leeway: MINUTE, refreshAhead: 0 }, () => {
      calls += 1;
      return 0;
    });
    expect(schedule.refreshAt).toBe(schedule.usableUntil);
    expect(calls).toBe(0);
  });

  it('maps refreshAhead: false to no refresh-ahead', () => {
    const { expiry } = resolveOptions({ domain: 'tenant.auth0.com', clientId: 'cid', clientSecret: 'secret', refreshAhead: false });
    const schedule = scheduleToken(token(3600 * SECOND), expiry, () => 0);
    expect(schedule.refreshAt).toBe(schedule.usableUntil);
  });
});
