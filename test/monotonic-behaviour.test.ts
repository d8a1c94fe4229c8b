// monotonicNow(): milliseconds elapsed on process.hrtime's clock (which never steps), for deadlines and backoff.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { monotonicNow } from '../src/monotonic.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('monotonicNow', () => {
  it('advances by the milliseconds elapsed, across whole seconds and within one', () => {
    vi.useFakeTimers({ toFake: ['hrtime'] });
    const t0 = monotonicNow();
    vi.advanceTimersByTime(2_345);
    expect(monotonicNow() - t0).toBeCloseTo(2_345, 6);
    vi.advanceTimersByTime(7);
    expect(monotonicNow() - t0).toBeCloseTo(2_352, 6);
  });
});
