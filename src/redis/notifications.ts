import { once } from 'node:events';
import type { Redis } from 'ioredis';

/** One caller waiting on a channel. */
export interface Listener {
  /** Settles when Redis has confirmed the subscription; rejects when it could not be made. */
  readonly subscribed: Promise<void>;
  /** Resolves at the first message since the previous call (or since `listen`), or after `timeout` ms. */
  next(timeout: number): Promise<void>;
  /** Stops listening; the channel is unsubscribed when its last listener closes. */
  close(): void;
}

interface Channel {
  wakes: Set<() => void>;
  subscribed: Promise<void>;
  /** Set once the last listener left: the UNSUBSCRIBE in flight. */
  leaving?: Promise<void>;
}

const noop = () => {};

/**
 * Pub/sub for one store: a single subscriber connection, duplicated from the user's client on first use, shared
 * by every waiter, with one subscription per channel that someone is waiting on.
 */
export class Notifications {
  readonly #source: Redis;
  #connection: Redis | undefined;
  #connected: Promise<void> = Promise.resolve();
  readonly #channels = new Map<string, Channel>();
  #closed = false;

  constructor(source: Redis) {
    this.#source = source;
  }

  /** Starts listening on `channel` at once, so a message published from now on is not missed. */
  listen(channel: string): Listener {
    const connection = this.#subscriber();
    let entry = this.#channels.get(channel);
    if (entry === undefined || entry.leaving !== undefined) entry = this.#subscribe(connection, channel, entry?.leaving);
    const current = entry;
    let pending = false;
    let wake: (() => void) | undefined;
    const notify = () => {
      pending = true;
      wake?.();
    };
    current.wakes.add(notify);
    return {
      subscribed: current.subscribed,
      next: (timeout) => {
        if (pending || this.#closed) {
          pending = false;
          return Promise.resolve();
        }
        return new Promise<void>((resolve) => {
          const timer = setTimeout(() => done(), timeout);
          const done = () => {
            clearTimeout(timer);
            wake = undefined;
            pending = false;
            resolve();
          };
          wake = done;
        });
      },
      close: () => {
        wake?.();
        current.wakes.delete(notify);
        this.#leave(connection, channel, current);
      },
    };
  }

  /** Wakes every waiter and closes the subscriber connection, if one was made. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const channel of this.#channels.values()) for (const wake of channel.wakes) wake();
    this.#channels.clear();
    const connection = this.#connection;
    if (connection === undefined) return;
    // A connection between reconnect attempts has no socket left to close and never emits 'end'.
    const live = connection.status === 'connecting' || connection.status === 'connect' || connection.status === 'ready';
    const ended = live ? once(connection, 'end').then(noop, noop) : Promise.resolve();
    connection.disconnect();
    await ended;
  }

  #subscriber(): Redis {
    if (this.#closed) throw new Error('RedisTokenStore is closed.');
    if (this.#connection !== undefined) return this.#connection;
    // The store's own connection, so it fails fast while Redis is away instead of queueing: a waiter that cannot
    // subscribe polls instead. autoResubscribe restores the subscriptions after a reconnect.
    const connection = this.#source.duplicate({ lazyConnect: true, enableOfflineQueue: false, autoResubscribe: true });
    // Failures reach the waiters as rejected subscriptions; without a listener ioredis would log every
    // reconnect attempt to the console.
    connection.on('error', noop);
    connection.on('message', (channel: string) => {
      for (const wake of this.#channels.get(channel)?.wakes ?? []) wake();
    });
    this.#connected = connection.connect().catch(noop);
    this.#connection = connection;
    return connection;
  }

  #subscribe(connection: Redis, channel: string, after: Promise<void> | undefined): Channel {
    // After the initial connect, and after a previous UNSUBSCRIBE of the same channel, so that one cannot undo
    // this subscription. A connection that is not ready rejects at once (no offline queue).
    const subscribed = (after ?? this.#connected).then(() => connection.subscribe(channel)).then(noop);
    const entry: Channel = { wakes: new Set(), subscribed };
    this.#channels.set(channel, entry);
    subscribed.catch(() => {
      // Forget a failed subscription, so the next waiter tries again rather than inherit the failure.
      if (this.#channels.get(channel) === entry) this.#channels.delete(channel);
    });
    return entry;
  }

  #leave(connection: Redis, channel: string, entry: Channel): void {
    if (entry.wakes.size > 0 || entry.leaving !== undefined || this.#channels.get(channel) !== entry) return;
    entry.leaving = entry.subscribed.then(() => connection.unsubscribe(channel)).then(noop, noop);
    void entry.leaving.then(() => {
      if (this.#channels.get(channel) === entry) this.#channels.delete(channel);
    });
  }
}
