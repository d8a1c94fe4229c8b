import { monotonicNow } from './monotonic.js';

/** A duration or an offset in milliseconds. */
export type Milliseconds = number;

/** A point in time as milliseconds since the Unix epoch (what `Date.now()` returns). */
export type EpochMilliseconds = number;

/** The time source. Inject one in tests to drive expiry and refresh-ahead without sleeping. */
export interface Clock {
  /** Current time in epoch milliseconds. */
  now(): EpochMilliseconds;
  /**
   * Monotonic time in milliseconds (like `performance.now()`): it never goes back and ignores changes to the
   * system clock. Expiry is tracked on both clocks, whichever ends first, so a system clock stepped back does not
   * keep an expired token alive. Optional: a clock without it is used for both.
   */
  monotonic?(): Milliseconds;
}

export const systemClock: Clock = { now: () => Date.now(), monotonic: monotonicNow };
