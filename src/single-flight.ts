import { ConfigurationError, ErrorCode, TokenRequestError } from './errors.js';

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

/**
 * Waits for `promise`, or rejects with M2M_ABORTED when this caller's `signal` aborts. Others are unaffected.
 * Each caller gets its own copy of a shared failure: one caller's changes to its error are not seen by the others.
 */
export function waitFor<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise.catch(rethrowOwnCopy);
  if (signal.aborted) return Promise.reject(abortedError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortedError(signal));
    try {
      signal.addEventListener('abort', onAbort, { once: true });
    } catch (error) {
      // A broken signal (a polyfill whose addEventListener throws) is the caller's option, and says so.
      reject(new ConfigurationError('getToken.signal', `could not be listened to (${(error as Error | null)?.name ?? typeof error}); pass a standard AbortSignal`));
      return;
    }
    promise.then(
      (value) => {
        removeQuietly(signal, onAbort);
        resolve(value);
      },
      (error: unknown) => {
        removeQuietly(signal, onAbort);
        reject(ownCopy(error));
      },
    );
  });
}

function removeQuietly(signal: AbortSignal, listener: () => void): void {
  try {
    signal.removeEventListener('abort', listener);
  } catch {
    // Nothing to undo on a broken signal.
  }
}

function rethrowOwnCopy(error: unknown): never {
  throw ownCopy(error);
}

/** A shallow copy of an error, same class and fields (brand, stack and cause included); other values as they are. */
function ownCopy(error: unknown): unknown {
  if (error === null || typeof error !== 'object') return error;
  return Object.defineProperties(Object.create(Object.getPrototypeOf(error) as object) as object, Object.getOwnPropertyDescriptors(error));
}

export function abortedError(signal: AbortSignal): TokenRequestError {
  return new TokenRequestError(ErrorCode.ABORTED, 'getToken() was aborted by its signal; a request shared with other callers goes on.', {
    cause: signal.reason,
  });
}
