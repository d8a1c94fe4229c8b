import type { Redis } from 'ioredis';
import type { Milliseconds, StoredToken, TokenStore, TokenStoreLease } from 'm2m-token';
import { Keyring } from './keyring.js';
import { acquireLease } from './lease.js';
import { redisNames, type RedisNames } from './names.js';
import { Notifications } from './notifications.js';
import { resolveRedisStoreOptions, type RedisTokenStoreOptions } from './options.js';

// While the subscriber connection is unavailable, a waiter polls GET this often instead.
const POLL_INTERVAL = 25;

/**
 * A {@link TokenStore} in Redis, for a fleet of processes sharing tokens: values encrypted with AES-256-GCM, key
 * names hashed, a `SET NX PX` lease so one process in the fleet fetches each token, and pub/sub to wake the
 * others when it is stored. Every method throws on Redis trouble; the TokenClient reports it and carries on
 * without the store.
 */
export class RedisTokenStore implements TokenStore {
  readonly #redis: Redis;
  readonly #keyring: Keyring;
  readonly #prefix: string;
  readonly #notifications: Notifications;
  #closed = false;

  constructor(options: RedisTokenStoreOptions) {
    const o = resolveRedisStoreOptions(options);
    this.#redis = o.redis;
    this.#keyring = new Keyring(o.keys);
    this.#prefix = o.prefix;
    this.#notifications = new Notifications(o.redis);
  }

  /** The stored token, or `undefined` when there is none; throws when a stored value does not decrypt or parse. */
  async get(key: string): Promise<StoredToken | undefined> {
    const { tokens } = this.#names(key);
    const values = await Promise.all(tokens.map((name) => this.#redis.get(name)));
    let failure: Error | undefined;
    // Newest key first: after a rotation, the value written under the new key wins over an older one.
    for (const value of values) {
      if (value === null) continue;
      try {
        return parseStored(this.#keyring.open(key, value));
      } catch (error) {
        failure ??= error as Error;
      }
    }
    if (failure) throw failure;
    return undefined;
  }

  /** Stores the token encrypted under the newest key until `ttl` ms from now, then wakes the waiters. */
  async set(key: string, token: StoredToken, ttl: Milliseconds): Promise<void> {
    const names = this.#names(key);
    const value = this.#keyring.seal(key, JSON.stringify(token));
    // Both go out back to back on one connection, so Redis runs the SET before the PUBLISH: a woken waiter's GET
    // finds the token. The TTL is rounded down: the value must not outlive the token's usable time.
    await Promise.all([
      this.#redis.set(names.tokens[0]!, value, 'PX', Math.max(1, Math.floor(ttl))),
      this.#redis.publish(names.channel, ''),
    ]);
  }

  async delete(key: string): Promise<void> {
    await this.#redis.del(...this.#names(key).tokens);
  }

  /** Tries to become the one process in the fleet that fetches `key`'s token, for at most `ttl` ms. */
  acquireLease(key: string, ttl: Milliseconds): Promise<TokenStoreLease | null> {
    return acquireLease(this.#redis, this.#names(key).lease, ttl);
  }

  /**
   * Resolves with the token once the lease holder stores it, or `undefined` after `timeout` ms. Subscribes before
   * checking, so a token stored in between is either seen by the check or announced to the subscription. If the
   * subscription cannot be made it polls, and then throws, so the failure is reported.
   */
  async waitForToken(key: string, timeout: Milliseconds): Promise<StoredToken | undefined> {
    const names = this.#names(key);
    const deadline = performance.now() + timeout;
    const listener = this.#notifications.listen(names.channel);
    try {
      const { state, error } = await settleBefore(listener.subscribed, deadline);
      for (;;) {
        // close() wakes the waiters: they give up rather than use a closed store.
        if (this.#closed) return undefined;
        const token = await this.get(key);
        if (token !== undefined) return token;
        const left = deadline - performance.now();
        if (left <= 0) break;
        if (state === 'subscribed') await listener.next(left);
        else await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_INTERVAL, left)));
      }
      if (state !== 'subscribed') {
        const why = state === 'failed' ? 'failed' : 'was not confirmed in time';
        const message = `RedisTokenStore: subscribing to the pub/sub channel ${why}, so the wait polled instead.`;
        throw new Error(message, error === undefined ? undefined : { cause: error });
      }
      return undefined;
    } finally {
      listener.close();
    }
  }

  /**
   * Closes the connection the store made for pub/sub and wakes its waiters; the `redis` client you passed stays
   * open (close it yourself, after the TokenClient and the store). Idempotent.
   */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#notifications.close();
  }

  #names(key: string): RedisNames {
    this.#open();
    return redisNames(this.#prefix, this.#keyring.hashes(key));
  }

  #open(): void {
    if (this.#closed) throw new Error('RedisTokenStore is closed.');
  }
}

interface Settled {
  state: 'subscribed' | 'failed' | 'late';
  error?: unknown;
}

/** Whether the subscription was confirmed before `deadline` (a `performance.now()` time), and if not why. */
async function settleBefore(subscribed: Promise<void>, deadline: number): Promise<Settled> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Settled>((resolve) => {
    timer = setTimeout(() => resolve({ state: 'late' }), Math.max(0, deadline - performance.now()));
  });
  try {
    const settled = subscribed.then((): Settled => ({ state: 'subscribed' }), (error: unknown): Settled => ({ state: 'failed', error }));
    return await Promise.race([settled, late]);
  } finally {
    clearTimeout(timer);
  }
}

function parseStored(plaintext: string): StoredToken {
  let value: unknown;
  try {
    value = JSON.parse(plaintext);
  } catch {
    // No cause: V8's SyntaxError quotes the text, which holds the token.
    throw new Error('RedisTokenStore: the stored value decrypted but is not JSON; it is ignored and the token is fetched again.');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error('RedisTokenStore: the stored value decrypted but is not a token object; it is ignored and the token is fetched again.');
  }
  return value as StoredToken;
}
