/** A duration or an offset in milliseconds. */
export type Milliseconds = number;

/** A point in time as milliseconds since the Unix epoch (what `Date.now()` returns). */
export type EpochMilliseconds = number;

/** The time source. Inject one in tests to drive expiry and refresh-ahead without sleeping. */
export interface Clock {
  /** Current time in epoch milliseconds. */
  now(): EpochMilliseconds;
}

export const systemClock: Clock = { now: () => Date.now() };
