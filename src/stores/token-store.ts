import type { EpochMilliseconds, Milliseconds } from '../types.js';

/** What a {@link TokenStore} keeps: plain data, serializable as JSON. It contains the access token. */
export interface StoredToken {
  accessToken: string;
  tokenType: string;
  /** Lifetime granted by the server, in ms. */
  expiresIn: Milliseconds;
  expiresAt: EpochMilliseconds;
  scope?: readonly string[] | undefined;
  raw?: Record<string, unknown> | undefined;
}

/** A won lease: this caller fetches the token for the whole fleet, then releases. */
export interface TokenStoreLease {
  /** Gives the lease up; only its holder's release has any effect. */
  release(): Promise<void>;
}

/**
 * A shared token cache behind the in-memory one (e.g. Redis for a fleet). Keys are opaque strings that include
 * a one-way fingerprint of the client's credential, so only clients with the same credential share an entry; a
 * store that puts them somewhere others can read should still hash them. Every call may fail or hang: the client
 * bounds it with `storeTimeout`, reports the failure through `onError` and treats it as a miss.
 */
export interface TokenStore {
  get(key: string): Promise<StoredToken | undefined>;
  /** `ttl`: ms until the token stops being usable; the store may drop it after that. */
  set(key: string, token: StoredToken, ttl: Milliseconds): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * Optional fleet-wide single flight. Try to become the one caller in the fleet that fetches `key`'s token,
   * for at most `ttl` ms (after that another caller may take over). Resolves the lease when won, `null` when
   * someone else holds it. Without this method every process fetches on its own miss.
   */
  acquireLease?(key: string, ttl: Milliseconds): Promise<TokenStoreLease | null>;
  /**
   * Optional: resolves with the token once one is set under `key`, or `undefined` after `timeout` ms.
   * Without it the client polls `get`.
   */
  waitForToken?(key: string, timeout: Milliseconds): Promise<StoredToken | undefined>;
}

export function isTokenStore(value: unknown): value is TokenStore {
  const v = value as Partial<TokenStore> | null | undefined;
  return typeof v?.get === 'function' && typeof v.set === 'function' && typeof v.delete === 'function';
}
