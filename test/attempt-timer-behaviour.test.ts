// AttemptTimer under a fake clock: each attempt is aborted at its own deadline, not before, whatever order the
// deadlines come in; abortAll ends everything at once.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AttemptTimer, TIMED_OUT } from '../src/attempt-timer.js';
import { monotonicNow } from '../src/monotonic.js';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'hrtime'] });
});
afterEach(() => {
  vi.useRealTimers();
});

function attempt(name: string, log: string[], reasons: unknown[] = []) {
  return {
    abort(reason: Error) {
      log.push(`${name}@${Math.round(monotonicNow())}`);
      reasons.push(reason);
    },
  };
}

describe('AttemptTimer', () => {
  it('aborts at the deadline and not a millisecond before it (1 ms slack for early timers)', () => {
    const timer = new AttemptTimer();
    const log: string[] = [];
    const reasons: unknown[] = [];
    const t0 = monotonicNow();
    timer.add(attempt('a', log, reasons), t0 + 100);
    vi.advanceTimersByTime(98);
    expect(log).toEqual([]);
    vi.advanceTimersByTime(2);
    expect(log).toEqual([`a@${Math.round(t0 + 100)}`]);
    expect(reasons).toEqual([TIMED_OUT]);
  });

  it('re-arms for an earlier deadline added later, then goes on to the later ones', () => {
    const timer = new AttemptTimer();
    const log: string[] = [];
    const t0 = monotonicNow();
    timer.add(attempt('late', log), t0 + 300);
    timer.add(attempt('early', log), t0 + 100);
    timer.add(attempt('middle', log), t0 + 200);
    vi.advanceTimersByTime(100);
    expect(log).toEqual([`early@${Math.round(t0 + 100)}`]);
    vi.advanceTimersByTime(100);
    expect(log).toEqual([`early@${Math.round(t0 + 100)}`, `middle@${Math.round(t0 + 200)}`]);
    vi.advanceTimersByTime(100);
    expect(log).toHaveLength(3);
    expect(log[2]).toBe(`late@${Math.round(t0 + 300)}`);
  });

  it('after a firing, re-arms for the earliest remaining deadline, whatever order they were added in', () => {
    const timer = new AttemptTimer();
    const log: string[] = [];
    const t0 = monotonicNow();
    timer.add(attempt('first', log), t0 + 100);
    timer.add(attempt('second', log), t0 + 200);
    timer.add(attempt('third', log), t0 + 300);
    vi.advanceTimersByTime(200);
    expect(log).toEqual([`first@${Math.round(t0 + 100)}`, `second@${Math.round(t0 + 200)}`]);
    vi.advanceTimersByTime(100);
    expect(log).toHaveLength(3);
  });

  it('aborts every attempt whose deadline has come in one firing', () => {
    const timer = new AttemptTimer();
    const log: string[] = [];
    const t0 = monotonicNow();
    timer.add(attempt('a', log), t0 + 50);
    timer.add(attempt('b', log), t0 + 50);
    timer.add(attempt('c', log), t0 + 50.5);
    vi.advanceTimersByTime(50);
    expect(log.sort()).toEqual([`a@${Math.round(t0 + 50)}`, `b@${Math.round(t0 + 50)}`, `c@${Math.round(t0 + 50)}`]);
  });

  it('a deleted attempt is never aborted; the others still are', () => {
    const timer = new AttemptTimer();
    const log: string[] = [];
    const t0 = monotonicNow();
    const done = attempt('done', log);
    timer.add(done, t0 + 10);
    timer.add(attempt('other', log), t0 + 20);
    timer.delete(done);
    vi.advanceTimersByTime(30);
    expect(log).toEqual([`other@${Math.round(t0 + 20)}`]);
  });

  it('abortAll aborts everything with the reason, at once, and stops the timer', () => {
    const timer = new AttemptTimer();
    const log: string[] = [];
    const reasons: unknown[] = [];
    const t0 = monotonicNow();
    timer.add(attempt('a', log, reasons), t0 + 10);
    timer.add(attempt('b', log, reasons), t0 + 20);
    const closed = new Error('closed');
    timer.abortAll(closed);
    expect(log).toHaveLength(2);
    expect(reasons).toEqual([closed, closed]);
    vi.advanceTimersByTime(100);
    expect(log).toHaveLength(2);
    // Still usable afterwards: a new attempt gets its own deadline.
    timer.add(attempt('c', log), monotonicNow() + 5);
    vi.advanceTimersByTime(5);
    expect(log).toHaveLength(3);
  });

  it('a deadline already past fires on the next tick', () => {
    const timer = new AttemptTimer();
    const log: string[] = [];
    timer.add(attempt('past', log), monotonicNow() - 100);
    expect(log).toEqual([]);
    vi.advanceTimersByTime(0);
    expect(log).toHaveLength(1);
  });

  it('a faulty abort neither throws out of the timer nor stops abortAll', () => {
    const timer = new AttemptTimer();
    const log: string[] = [];
    const t0 = monotonicNow();
    timer.add({ abort: () => { throw new Error('faulty'); } }, t0 + 10);
    timer.add(attempt('ok', log), t0 + 10);
    expect(() => vi.advanceTimersByTime(10)).not.toThrow();
    expect(log).toHaveLength(1);
    timer.add({ abort: () => { throw new Error('faulty'); } }, t0 + 50);
    timer.add(attempt('ok2', log), t0 + 50);
    expect(() => timer.abortAll(new Error('x'))).not.toThrow();
    expect(log).toHaveLength(2);
  });
});
