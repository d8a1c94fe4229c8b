import { ErrorCode, TokenClientError } from '../errors.js';
import type { TokenClientErrorEvent } from '../options.js';
import type { Milliseconds } from '../types.js';
import type { StoredToken, TokenStore, TokenStoreLease } from './token-store.js';

type Operation = NonNullable<TokenClientErrorEvent['operation']>;

/** How a waiting waiter checks the lease again. */
const LEASE_WAIT_SLICE: Milliseconds = 200;
/**
 * The longest a fleet lease lasts, whatever `totalTimeout` is: a holder that dies, or a lease someone else left,
 * blocks the fleet for at most this long. A waiter gives up after twice this (10 s) and fetches on its own.
 */
export const MAX_LEASE_TTL: Milliseconds = 5_000;

export interface ObtainSteps<T> {
  /** The stored token as the caller's result, or undefined when it will not do (expired, wrong type). */
  accept(stored: StoredToken | undefined): T | undefined;
  /** Gets a token from the endpoint; `asLeaseHolder` when this process fetches for the fleet. */
  fetch(asLeaseHolder: boolean): Promise<T>;
  /** How long a lease lasts: the longest a holder's request can take (capped at MAX_LEASE_TTL). */
  leaseTtl: Milliseconds;
  /** Throws when the client was closed, so waiting stops with it. */
  checkOpen(): void;
}

/**
 * The client's view of a user's TokenStore: every call bounded by `storeTimeout`, every failure reported and read
 * as a miss, so a store can slow the client down by at most one timeout and never fail `getToken()`.
 */
export class SharedStore {
  readonly #store: TokenStore;
  readonly #timeout: Milliseconds;
  readonly #report: (event: TokenClientErrorEvent) => void;
  readonly #pending = new Set<Promise<unknown>>();
  /** Put before every cache key given to the store: `["<credential fingerprint>",` (the key is a JSON array). */
  readonly #keyHead: string;
  /** Store calls that failed so far: a waiter watches it to stop waiting on a store that cannot wait. */
  #failures = 0;

  /**
   * `credential`: a fingerprint of the client's credential (see credentialFingerprint). The store sees
   * `["<credential>",<cache key>]`, so its entries are bound to the credential as well as to the request's inputs.
   */
  constructor(store: TokenStore, timeout: Milliseconds, report: (event: TokenClientErrorEvent) => void, credential: string) {
    this.#store = store;
    this.#timeout = timeout;
    this.#report = report;
    this.#keyHead = `${JSON.stringify([credential]).slice(0, -1)},`;
  }

  /** Whether the store can elect one fetcher for the whole fleet. */
  get leases(): boolean {
    return typeof this.#store.acquireLease === 'function';
  }

  async get(key: string): Promise<StoredToken | undefined> {
    const value = await this.#call('get', () => this.#store.get(this.#storeKey(key)));
    return value === undefined ? undefined : this.#checked(value, 'get');
  }

  set(key: string, token: StoredToken, ttl: Milliseconds): Promise<void> {
    return this.#call('set', () => this.#store.set(this.#storeKey(key), token, ttl)).then(() => undefined);
  }

  delete(key: string): Promise<void> {
    return this.#call('delete', () => this.#store.delete(this.#storeKey(key))).then(() => undefined);
  }

  /** A lease when won, `null` when another holder has it, `undefined` when the store failed. */
  acquireLease(key: string, ttl: Milliseconds): Promise<TokenStoreLease | null | undefined> {
    return this.#call('lease', () => this.#store.acquireLease!(this.#storeKey(key), ttl));
  }

  release(lease: TokenStoreLease): Promise<void> {
    return this.#call('release', () => lease.release()).then(() => undefined);
  }

  /**
   * Waits up to `timeout` for a token to appear under `key`: through the store's own notification when it has
   * one, else by polling `get` with a growing interval.
   */
  async waitForToken(key: string, timeout: Milliseconds): Promise<StoredToken | undefined> {
    const store = this.#store;
    if (typeof store.waitForToken === 'function') {
      const value = await this.#call('wait', () => store.waitForToken!(this.#storeKey(key), timeout), timeout + this.#timeout);
      return value === undefined ? undefined : this.#checked(value, 'wait');
    }
    const deadline = performance.now() + timeout;
    for (let interval = 20; performance.now() < deadline; interval = Math.min(interval * 2, 250)) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(interval, Math.max(0, deadline - performance.now()))));
      const value = await this.get(key);
      if (value !== undefined) return value;
    }
    return undefined;
  }

  /**
   * Fleet single flight: a stored token if there is a usable one; else the lease, and this process fetches for
   * the fleet; else wait for the holder's token in short slices, trying for the lease between them (a holder
   * that died lets its lease expire, and the next slice takes over). After twice the lease's lifetime (at most
   * 10 s), or on any store trouble, this process fetches on its own: the store can delay a token, never deny it.
   */
  async obtain<T>(key: string, how: ObtainSteps<T>): Promise<T> {
    const accept = (stored: StoredToken | undefined) => {
      try {
        return how.accept(stored);
      } catch (error) {
        this.#report({ type: 'store', operation: 'get', error: storeError('get', 'returned a token that could not be used', error) });
        return undefined;
      }
    };
    const leaseTtl = Math.min(how.leaseTtl, MAX_LEASE_TTL);
    const giveUpAt = performance.now() + 2 * leaseTtl;
    do {
      how.checkOpen();
      const found = accept(await this.get(key));
      if (found !== undefined) return found;
      if (!this.leases) break;
      const lease = await this.acquireLease(key, leaseTtl);
      if (lease === undefined) break;
      if (lease !== null) {
        try {
          return accept(await this.get(key)) ?? (await how.fetch(true));
        } finally {
          await this.release(lease);
        }
      }
      const failuresBefore = this.#failures;
      const sliceEnds = performance.now() + LEASE_WAIT_SLICE;
      const waited = accept(await this.waitForToken(key, LEASE_WAIT_SLICE));
      if (waited !== undefined) return waited;
      // A store that cannot wait: fetch alone rather than poll it in a tight loop.
      if (this.#failures !== failuresBefore) break;
      // A wait that came back early without a token must still not make this a busy loop.
      const rest = sliceEnds - performance.now();
      if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
    } while (performance.now() < giveUpAt);
    how.checkOpen();
    return how.fetch(false);
  }

  /** Settles when every call started so far has (each is bounded by its timeout). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.#pending);
  }

  #storeKey(key: string): string {
    return `${this.#keyHead}${key}]`;
  }

  #checked(value: unknown, operation: Operation): StoredToken | undefined {
    const v = value as Partial<StoredToken> | null;
    const valid =
      typeof v?.accessToken === 'string' && v.accessToken !== '' && typeof v.tokenType === 'string' &&
      Number.isFinite(v.expiresAt) && Number.isFinite(v.expiresIn) && (v.expiresIn as number) > 0 &&
      (v.scope == null || (Array.isArray(v.scope) && v.scope.every((s) => typeof s === 'string'))) &&
      (v.raw == null || (typeof v.raw === 'object' && !Array.isArray(v.raw)));
    // null reads as absent: SQL and ORM stores give null for an empty column.
    if (valid) return { ...(v as StoredToken), scope: v.scope ?? undefined, raw: v.raw ?? undefined };
    this.#failures += 1;
    this.#report({ type: 'store', operation, error: storeError(operation, 'returned a value that is not a stored token') });
    return undefined;
  }

  #call<T>(operation: Operation, call: () => Promise<T>, timeout = this.#timeout): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(storeError(operation, `did not answer within ${timeout} ms (storeTimeout)`)), timeout);
    });
    const pending = (async () => {
      try {
        return await Promise.race([call(), timedOut]);
      } catch (error) {
        this.#failures += 1;
        const reported = error instanceof TokenClientError ? error : storeError(operation, 'failed', error);
        this.#report({ type: 'store', operation, error: reported });
        return undefined;
      } finally {
        clearTimeout(timer);
      }
    })();
    this.#pending.add(pending);
    void pending.finally(() => this.#pending.delete(pending));
    return pending;
  }
}

function storeError(operation: Operation, what: string, cause?: unknown): TokenClientError<typeof ErrorCode.STORE_ERROR> {
  return new TokenClientError(
    ErrorCode.STORE_ERROR,
    `TokenStore ${operation} ${what}; treated as a cache miss, the token endpoint is used instead.`,
    cause === undefined ? {} : { cause },
  );
}
