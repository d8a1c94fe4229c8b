import type { Clock } from 'm2m-token';

/**
 * A {@link Clock} that moves only when a test moves it. Give the same instance to `TokenClient` (`clock`
 * option), to {@link mockTokenEndpoint} and to your own token verification, and a test can step past
 * refresh-ahead points and expiry without sleeping.
 *
 * ```ts
 * const clock = new ManualClock();
 * const client = new TokenClient({ ...options, clock });
 * clock.advance(24 * 60 * 60 * 1000); // a day later: the next getToken() requests a new token
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #elapsed = 0;

  /**
   * @param start Initial time, epoch ms or a `Date`. Defaults to the real current time, so tokens signed
   *   with this clock also verify in code that reads the real time, as long as the test does not advance it.
   */
  constructor(start: number | Date = Date.now()) {
    this.#now = toEpochMs(start, 'start');
  }

  /**
   * Current time in epoch ms. An arrow property rather than a method, because clocks get passed around
   * detached (`{ now: clock.now }`), and a method would then lose `this`.
   */
  readonly now = (): number => this.#now;

  /**
   * Monotonic time in ms: moved by {@link advance}, not by {@link set}. The client tracks expiry on both clocks,
   * so `set()` back in time simulates a system clock stepped back without reviving an expired token.
   */
  readonly monotonic = (): number => this.#elapsed;

  /** Moves the clock forward by `ms` milliseconds and returns the new time. Time does not go back: use `set()`. */
  advance(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`ManualClock.advance(ms) needs a finite ms ≥ 0, got ${ms}; use set() to go back.`);
    this.#now += ms;
    this.#elapsed += ms;
    return this.#now;
  }

  /** Sets the wall clock to `time` (epoch ms or a `Date`), forwards or backwards; monotonic time does not move. */
  set(time: number | Date): void {
    this.#now = toEpochMs(time, 'set(time)');
  }
}

function toEpochMs(time: number | Date, what: string): number {
  const ms = time instanceof Date ? time.getTime() : time;
  if (!Number.isFinite(ms)) throw new RangeError(`ManualClock ${what} must be a finite epoch ms or a valid Date, got ${String(time)}.`);
  return ms;
}
