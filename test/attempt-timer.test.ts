import { afterEach, describe, expect, it, vi } from 'vitest';
import { AttemptTimer, TIMED_OUT } from '../src/attempt-timer.js';
import { monotonicNow } from '../src/monotonic.js';
import { trackTimers } from './helpers/timers.js';

describe('AttemptTimer', () => {
  it('aborts each attempt at its own deadline, earliest first', async () => {
    const timer = new AttemptTimer();
    const aborted: string[] = [];
    const now = monotonicNow();
    timer.add({ abort: () => aborted.push('late') }, now + 60);
    timer.add({ abort: () => aborted.push('early') }, now + 20);
    await new Promise((r) => setTimeout(r, 40));
    expect(aborted).toEqual(['early']);
    await new Promise((r) => setTimeout(r, 40));
    expect(aborted).toEqual(['early', 'late']);
  });

  it('does not abort an attempt that finished, and one faulty abort does not stop the others', async () => {
    const timer = new AttemptTimer();
    const reasons: unknown[] = [];
    const done = { abort: () => reasons.push('done') };
    const now = monotonicNow();
    timer.add(done, now + 10);
    timer.add({ abort: () => { throw new Error('faulty'); } }, now + 10);
    timer.add({ abort: (reason) => reasons.push(reason) }, now + 10);
    timer.delete(done);
    await new Promise((r) => setTimeout(r, 40));
    expect(reasons).toEqual([TIMED_OUT]);
  });
});

// Whether the timer keeps the process alive: only while an attempt waits, and never a second timer for nothing.
describe('AttemptTimer and the process', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('an earlier deadline replaces the armed timer instead of adding one', () => {
    const refTimers = trackTimers();
    const timer = new AttemptTimer();
    const now = monotonicNow();
    const a = { abort: () => {} };
    const b = { abort: () => {} };
    timer.add(a, now + 60_000);
    timer.add(b, now + 30_000);
    expect(refTimers()).toBe(1);
    timer.delete(a);
    timer.delete(b);
    expect(refTimers()).toBe(0);
  });

  it('abortAll stops the timer', () => {
    const refTimers = trackTimers();
    const timer = new AttemptTimer();
    timer.add({ abort: () => {} }, monotonicNow() + 60_000);
    timer.abortAll(new Error('closed'));
    expect(refTimers()).toBe(0);
  });

  it('once the last attempt has timed out, no timer is left armed (and none for "never")', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const refTimers = trackTimers();
      const timer = new AttemptTimer();
      const reasons: unknown[] = [];
      timer.add({ abort: (r) => reasons.push(r) }, monotonicNow() + 10);
      await new Promise((r) => setTimeout(r, 40));
      expect(reasons).toEqual([TIMED_OUT]);
      expect(refTimers()).toBe(0);
      await new Promise((r) => setTimeout(r, 20));
    } finally {
      process.off('warning', onWarning);
    }
    // Arming for Infinity would overflow Node's timer (a TimeoutOverflowWarning, then a firing every millisecond).
    expect(warnings.map((w) => w.name)).toEqual([]);
  });
});
