import { describe, expect, it } from 'vitest';
import { AttemptTimer, TIMED_OUT } from '../src/attempt-timer.js';
import { monotonicNow } from '../src/monotonic.js';

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
