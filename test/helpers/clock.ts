import type { Clock } from '../../src/index.js';

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  private elapsed = 0;
  constructor(private time = Date.parse('2026-01-01T00:00:00Z')) {}
  now(): number {
    return this.time;
  }
  /** Moves time on: the wall clock and the monotonic clock together. */
  advance(ms: number): void {
    this.time += ms;
    this.elapsed += ms;
  }
  /** Steps the wall clock only (an NTP correction, an operator's date command): monotonic time does not move. */
  step(ms: number): void {
    this.time += ms;
  }
  monotonic(): number {
    return this.elapsed;
  }
}
