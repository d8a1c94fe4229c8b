// The controller the caller's handler holds for the whole request. A renewal after a 401 is a second dispatch
// with a controller of its own; the caller must not keep pausing, resuming or aborting the first one, so this
// forwards to whichever attempt is current (the pattern of undici's RetryController).
import type { Dispatcher } from 'undici';

export class StableController implements Dispatcher.DispatchController {
  #target: Dispatcher.DispatchController | undefined;
  #paused = false;
  #reason: Error | null = null;
  readonly #onAbort: (reason: Error) => void;

  /** `onAbort` hears every abort, also one that arrives while no attempt is in flight. */
  constructor(onAbort: (reason: Error) => void) {
    this.#onAbort = onAbort;
  }

  set target(controller: Dispatcher.DispatchController) {
    this.#target = controller;
    // The caller aborted after this attempt was dispatched but before it started (abort() reached the previous,
    // finished attempt): abort this one now, or the caller would get its response after all.
    if (this.#reason !== null) {
      controller.abort(this.#reason);
      return;
    }
    if (this.#paused) controller.pause();
  }

  get aborted(): boolean {
    return this.#reason !== null || (this.#target?.aborted ?? false);
  }

  get paused(): boolean {
    return this.#paused || (this.#target?.paused ?? false);
  }

  get reason(): Error | null {
    return this.#reason ?? this.#target?.reason ?? null;
  }

  // undici's fetch reads these in onResponseStart to keep the header names' case and order.
  get rawHeaders(): Dispatcher.DispatchController['rawHeaders'] {
    return this.#target?.rawHeaders ?? null;
  }

  get rawTrailers(): Dispatcher.DispatchController['rawTrailers'] {
    return this.#target?.rawTrailers ?? null;
  }

  abort(reason: Error): void {
    this.#reason ??= reason;
    this.#target?.abort(reason);
    this.#onAbort(reason);
  }

  pause(): void {
    this.#paused = true;
    this.#target?.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#target?.resume();
  }
}
