import { monotonicNow } from './monotonic.js';

/** The reason an attempt's controller is aborted with when its time is up. */
export const TIMED_OUT = Object.freeze(new Error('attempt timed out'));

/** Anything that can be aborted: an AbortController, an exchange in flight. */
export interface Abortable {
  abort(reason: Error): void;
}

/**
 * Aborts each HTTP attempt at its deadline with one timer for all of them, armed for the earliest. A timer
 * per attempt costs a setTimeout and a clearTimeout on every request; here an attempt costs a Map entry, and
 * the timer is re-armed only when a deadline comes earlier than the one it waits for. The timer is unref'd:
 * an idle client does not keep the process alive.
 */
export class AttemptTimer {
  readonly #deadlines = new Map<Abortable, number>();
  #timer: NodeJS.Timeout | undefined;
  #armedFor = Number.POSITIVE_INFINITY;

  /** Aborts `controller` with {@link TIMED_OUT} once `monotonicNow()` reaches `deadline`. */
  add(controller: Abortable, deadline: number): void {
    this.#deadlines.set(controller, deadline);
    if (deadline < this.#armedFor) this.#arm(deadline);
    // While an attempt waits, its deadline keeps the process alive (a dispatcher may hold no handle of its own).
    else this.#timer?.ref();
  }

  delete(controller: Abortable): void {
    this.#deadlines.delete(controller);
    if (this.#deadlines.size === 0) this.#timer?.unref();
  }

  /** Aborts every attempt still running (with `reason`) and stops the timer. */
  abortAll(reason: Error): void {
    clearTimeout(this.#timer);
    this.#armedFor = Number.POSITIVE_INFINITY;
    const all = [...this.#deadlines.keys()];
    this.#deadlines.clear();
    for (const controller of all) abortQuietly(controller, reason);
  }

  #arm(at: number): void {
    clearTimeout(this.#timer);
    this.#armedFor = at;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, at - monotonicNow()));
    if (this.#deadlines.size === 0) this.#timer.unref();
  }

  #fire(): void {
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
    const now = monotonicNow();
    let next = Number.POSITIVE_INFINITY;
    for (const [controller, deadline] of this.#deadlines) {
      // Timers may fire a hair early; a millisecond of slack keeps that from re-arming for nothing.
      if (deadline <= now + 1) {
        this.#deadlines.delete(controller);
        abortQuietly(controller, TIMED_OUT);
      } else if (deadline < next) next = deadline;
    }
    if (next < Number.POSITIVE_INFINITY) this.#arm(next);
  }
}

/** One faulty abort must not stop the others, nor escape a timer callback as an uncaught exception. */
function abortQuietly(controller: Abortable, reason: Error): void {
  try {
    controller.abort(reason);
  } catch {
    // The exchange settles itself before it touches undici's controller.
  }
}
