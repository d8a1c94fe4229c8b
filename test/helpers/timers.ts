import { vi } from 'vitest';

/**
 * Counts the timers set from now on that would keep the process alive: not fired, not cleared, not unref'd. (The
 * process-wide count, process.getActiveResourcesInfo(), also sees the test runner's own timers come and go.)
 * Spies on the global setTimeout and clearTimeout: restore them with vi.restoreAllMocks().
 */
export function trackTimers(): () => number {
  const realSet = globalThis.setTimeout;
  const realClear = globalThis.clearTimeout;
  const timers: { timer: NodeJS.Timeout; done: boolean }[] = [];
  vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const entry = { timer: undefined as unknown as NodeJS.Timeout, done: false };
    entry.timer = realSet(() => {
      entry.done = true;
      fn(...args);
    }, ms);
    timers.push(entry);
    return entry.timer;
  }) as typeof setTimeout);
  vi.spyOn(globalThis, 'clearTimeout').mockImplementation((timer) => {
    for (const entry of timers) if (entry.timer === timer) entry.done = true;
    realClear(timer);
  });
  return () => timers.filter((t) => !t.done && t.timer.hasRef()).length;
}
