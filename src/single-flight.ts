import { ErrorCode, TokenRequestError } from './errors.js';

interface Flight<T, M> {
  promise: Promise<T>;
  meta: M;
}

/** One in-flight promise per key: concurrent callers for a key share it. */
export class SingleFlight<T, M> {
  readonly #flights = new Map<string, Flight<T, M>>();

  get(key: string): Flight<T, M> | undefined {
    return this.#flights.get(key);
  }

  /** Starts `work` as the flight for `key` (replacing any in the map; a replaced flight still settles). */
  start(key: string, meta: M, work: () => Promise<T>): Flight<T, M> {
    const flight = { meta } as Flight<T, M>;
    // In the map before work starts, so a synchronous throw still finds and removes it.
    this.#flights.set(key, flight);
    flight.promise = (async () => {
      try {
        return await work();
      } finally {
        if (this.#flights.get(key) === flight) this.#flights.delete(key);
      }
    })();
    // Every waiter may have given up; the rejection is theirs to see, not an unhandled one.
    flight.promise.catch(() => {});
    return flight;
  }

  get size(): number {
    return this.#flights.size;
  }
}

/** Waits for `promise`, or rejects with M2M_ABORTED when this caller's `signal` aborts. Others are unaffected. */
export function waitFor<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(abortedError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortedError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

export function abortedError(signal: AbortSignal): TokenRequestError {
  return new TokenRequestError(ErrorCode.ABORTED, 'getToken() was aborted by its signal; a request shared with other callers goes on.', {
    cause: signal.reason,
  });
}
