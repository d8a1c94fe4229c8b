import type { EpochMilliseconds, Milliseconds, StoredToken, TokenStore, TokenStoreBlocks, TokenStoreLease } from 'm2m-token';
import type { RedisCommands } from './commands.js';
import { Freshness } from './freshness.js';
import { Keyring, unreadable, UnusableValueError } from './keyring.js';
import { acquireLease } from './lease.js';
import { redisNames, type RedisNames } from './names.js';
import { Notifications } from './notifications.js';
import { resolveRedisStoreOptions, type RedisTokenStoreOptions } from './options.js';
import { DELETE, READ, run, WRITE, WRITE_SHARDED } from './scripts.js';

// While the subscriber connection is unavailable, a waiter polls GET this often instead.
const POLL_INTERVAL = 25;
// A subscription still unconfirmed this long after it was asked for is reported (a first one includes opening the
// connection, which on a cluster means reaching every primary); before that, waiters poll without complaint.
const SUBSCRIBE_GRACE = 5_000;
/**
 * The largest stored value read or written, in bytes: a token with its whole response is a few KiB. A larger
 * value is refused before it is sent (Redis answers its length, see READ), so junk under a token's name costs one
 * round trip, not a transfer.
 */
export const MAX_VALUE_BYTES = 64 * 1024;
/**
 * The longest a token is kept (PX): 30 days, the longest lifetime Auth0 grants. Redis refuses PX values that are
 * not integers or overflow its clock (`expires_in: 1e20` would), and a refused write shares nothing.
 */
export const MAX_STORED_TTL: Milliseconds = 30 * 24 * 3600 * 1000;
/**
 * The longest lease a store takes (the TokenClient asks for at most this: min(totalTimeout + 1 s, 5 s)). A lease
 * key with a longer TTL, or none, was not left by a store and is replaced at once.
 */
export const MAX_LEASE_TTL: Milliseconds = 5_000;

/** The plaintext of a stored value. */
interface Sealed {
  /** Writer's clock when written (kept increasing per writer): a reader never goes back to an older value. */
  issuedAt: number;
  token: StoredToken;
}

/**
 * A {@link TokenStore} in Redis, for a fleet of processes sharing tokens: values encrypted with AES-256-GCM, key
 * names hashed, a `SET NX PX` lease so one process in the fleet fetches each token, and pub/sub to wake the
 * others when it is stored. Works with ioredis and node-redis, on one Redis or a Redis Cluster (each entry's
 * names share a hash tag; notifications use sharded pub/sub). Every method throws on Redis trouble; the
 * TokenClient reports it and carries on without the store.
 */
export class RedisTokenStore implements TokenStore, TokenStoreBlocks {
  readonly #commands: RedisCommands;
  readonly #keyring: Keyring;
  readonly #prefix: string;
  readonly #notifications: Notifications;
  readonly #freshness = new Freshness();
  #closed = false;

  constructor(options: RedisTokenStoreOptions) {
    const o = resolveRedisStoreOptions(options);
    this.#commands = o.commands;
    this.#keyring = new Keyring(o.keys);
    this.#prefix = o.prefix;
    this.#notifications = new Notifications(o.commands);
  }

  /**
   * The stored token, or `undefined` when there is none, or only one older than the newest this process has seen
   * for the key. Throws when a stored value is too large, or does not decrypt or parse.
   */
  async get(key: string): Promise<StoredToken | undefined> {
    const names = this.#names(key);
    const cap = String(MAX_VALUE_BYTES);
    const replies = await Promise.all(names.tokens.map((name) => run(this.#commands, READ, name, [cap])));
    let newest: Sealed | undefined;
    let failure: Error | undefined;
    // One value per encryption key (after a rotation, old and new): the most recently issued one that is usable.
    for (const reply of replies) {
      if (reply === null || reply === undefined) continue;
      try {
        const value = this.#unseal(key, reply);
        if (newest === undefined || value.issuedAt > newest.issuedAt) newest = value;
      } catch (error) {
        failure ??= error as Error;
      }
    }
    if (newest !== undefined && this.#freshness.accepts(names.id, newest.issuedAt)) {
      this.#freshness.saw(names.id, newest.issuedAt);
      return newest.token;
    }
    if (failure) throw failure;
    // Nothing, or only a value older than one already seen (re-written, or the one invalidate() dropped): a miss.
    return undefined;
  }

  /**
   * Stores the token encrypted under the newest key until `ttl` ms from now (at most 30 days), and wakes the
   * waiters, in one script. Throws, writing nothing, when the encrypted value would be over 64 KiB.
   */
  async set(key: string, token: StoredToken, ttl: Milliseconds): Promise<void> {
    const names = this.#names(key);
    const issuedAt = this.#freshness.issueTime(names.id, Date.now());
    const value = this.#keyring.seal(key, JSON.stringify({ issuedAt, token } satisfies Sealed));
    if (value.length > MAX_VALUE_BYTES) {
      throw new Error(`RedisTokenStore: the token takes ${value.length} bytes encrypted, over the ${MAX_VALUE_BYTES}-byte cap; it is not shared.`);
    }
    this.#freshness.saw(names.id, issuedAt);
    // Rounded down: the value must not outlive the token's usable time.
    const px = Number.isNaN(ttl) ? 1 : Math.min(MAX_STORED_TTL, Math.max(1, Math.floor(ttl)));
    await run(this.#commands, this.#commands.cluster ? WRITE_SHARDED : WRITE, names.tokens[0]!, [value, String(px), names.channel]);
  }

  /** Deletes the entry; this process will not use the value it last saw for it again, wherever it comes from. */
  async delete(key: string): Promise<void> {
    const names = this.#names(key);
    this.#freshness.dropped(names.id);
    // One script per name: under different encryption keys they are in different slots.
    await Promise.all(names.tokens.map((name) => run(this.#commands, DELETE, name, [])));
  }

  /**
   * Shares an Auth0 quota block with the fleet: requests in `scope` wait until `until`. The value is encrypted and
   * authenticated like a token, so nobody without the store key can plant a block; it expires with the block.
   */
  async setBlock(scope: string, until: EpochMilliseconds): Promise<void> {
    const name = this.#blockName(scope);
    const current = await this.getBlock(scope);
    const latest = Math.max(until, current ?? 0);
    const px = Math.min(MAX_STORED_TTL, Math.ceil(latest - Date.now()));
    if (!(px > 0)) return;
    await run(this.#commands, this.#commands.cluster ? WRITE_SHARDED : WRITE, name, [this.#keyring.seal(blockKey(scope), String(latest)), String(px), `${name}:set`]);
  }

  /** When the fleet's block on `scope` ends (epoch ms), or `undefined` when there is none (or it cannot be read). */
  async getBlock(scope: string): Promise<EpochMilliseconds | undefined> {
    const reply = await run(this.#commands, READ, this.#blockName(scope), ['256']);
    if (typeof reply !== 'string') return undefined;
    let until: number;
    try {
      until = Number(this.#keyring.open(blockKey(scope), reply));
    } catch {
      return undefined; // not ours, or altered: no block rather than a planted one
    }
    return Number.isFinite(until) && until > Date.now() ? until : undefined;
  }

  #blockName(scope: string): string {
    return this.#names(blockKey(scope)).tokens[0]!.replace(/:token$/, ':block');
  }

  /** Tries to become the one process in the fleet that fetches `key`'s token, for at most `ttl` ms (≤ 5 s). */
  acquireLease(key: string, ttl: Milliseconds): Promise<TokenStoreLease | null> {
    return acquireLease(this.#commands, this.#names(key).lease, ttl, MAX_LEASE_TTL);
  }

  /**
   * Resolves with the token once the lease holder stores it, or `undefined` after `timeout` ms. Subscribes before
   * checking, so a token stored in between is either seen by the check or announced to the subscription. Until the
   * subscription is confirmed it polls; it throws (so the failure is reported) when the subscription failed, or was
   * still unconfirmed 5 s after it was asked for. A stored value that cannot be used does not end the wait.
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
        try {
          const token = await this.get(key);
          if (token !== undefined) return token;
        } catch (failure) {
          // A value that cannot be used (too large, altered, not a token) is no reason to stop waiting: the
          // lease holder's token replaces it. (The client's own read before the wait reported it.)
          if (!(failure instanceof UnusableValueError)) throw failure;
        }
        const left = deadline - performance.now();
        if (left <= 0) break;
        if (state === 'subscribed') await listener.next(left);
        else await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_INTERVAL, left)));
      }
      if (state === 'failed' || (state === 'late' && performance.now() - listener.since > SUBSCRIBE_GRACE)) {
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

  /** A value as Redis answered READ: the envelope, or its length when it is over the cap. */
  #unseal(key: string, reply: unknown): Sealed {
    if (typeof reply === 'number' || typeof reply === 'bigint') {
      throw unreadable(`is ${reply} bytes, over the ${MAX_VALUE_BYTES}-byte cap, so it was not read`);
    }
    // node-redis hands out Buffers when the user's client maps strings so.
    const envelope = Buffer.isBuffer(reply) ? reply.toString('utf8') : reply;
    if (typeof envelope !== 'string') throw unreadable('is not a string');
    return parseSealed(this.#keyring.open(key, envelope));
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

function parseSealed(plaintext: string): Sealed {
  let value: unknown;
  try {
    value = JSON.parse(plaintext);
  } catch {
    // No cause: V8's SyntaxError quotes the text, which holds the token.
    throw unreadable('decrypted but is not JSON');
  }
  const { issuedAt, token } = (value ?? {}) as Partial<Sealed>;
  if (typeof value !== 'object' || Array.isArray(value) || !Number.isFinite(issuedAt) ||
    token === null || typeof token !== 'object' || Array.isArray(token)) {
    throw unreadable('decrypted but is not a token object');
  }
  return { issuedAt: issuedAt!, token };
}

/** Block scopes and cache keys never share a name or a sealed value. */
const blockKey = (scope: string) => `quota-block\u0000${scope}`;
