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
  // Auth0 quota blocks can be shared too: see TokenStoreBlocks (setBlock / getBlock).
}

/**
 * Optional methods of a {@link TokenStore} that share Auth0 quota blocks with the fleet. When one process gets a 429
 * saying a token quota is used up, it calls `setBlock`; before any token request, every process calls `getBlock`
 * for the scopes of the key, and sends nothing while a block lasts. A store needs both methods for either to be used.
 * Scopes are opaque strings that name the endpoint, the client id and, for an organization's quota, the
 * organization; hash them if others can read the store. Calls are bounded by `storeTimeout`, and a failure is
 * reported through `onError` (`{ type: 'store', operation: 'block' }`) and read as "no block".
 */
export interface TokenStoreBlocks {
  /** Requests in `scope` are blocked until `until` (epoch ms). Keep the later of this and a block already set; drop it after `until`. */
  setBlock(scope: string, until: EpochMilliseconds): Promise<void>;
  /** When the block on `scope` ends (epoch ms), or `undefined` when there is none. */
  getBlock(scope: string): Promise<EpochMilliseconds | undefined>;
}

/** Whether a store shares quota blocks ({@link TokenStoreBlocks}). */
export function sharesBlocks(store: TokenStore): store is TokenStore & TokenStoreBlocks {
  const s = store as Partial<TokenStoreBlocks>;
  return typeof s.setBlock === 'function' && typeof s.getBlock === 'function';
}

export function isTokenStore(value: unknown): value is TokenStore {
  const v = value as Partial<TokenStore> | null | undefined;
  return typeof v?.get === 'function' && typeof v.set === 'function' && typeof v.delete === 'function';
}
