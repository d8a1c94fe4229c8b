import type { RedisCommands, Subscriber } from './commands.js';

/** One caller waiting on a channel. */
export interface Listener {
  /** Settles when Redis has confirmed the subscription; rejects when it could not be made. */
  readonly subscribed: Promise<void>;
  /** When the subscription was asked for (`performance.now()`). */
  readonly since: number;
  /** Resolves at the first message since the previous call (or since `listen`), or after `timeout` ms. */
  next(timeout: number): Promise<void>;
  /** Stops listening; the channel is unsubscribed when its last listener closes. */
  close(): void;
}

interface Channel {
  wakes: Set<() => void>;
  subscribed: Promise<void>;
  since: number;
  /** Set once the last listener left: the UNSUBSCRIBE in flight. */
  leaving?: Promise<void>;
}

const noop = () => {};

/**
 * Pub/sub for one store: a single subscriber connection, duplicated from the user's client on first use, shared
 * by every waiter, with one subscription per channel that someone is waiting on. On a cluster the channels are
 * shard channels (the adapter subscribes with SSUBSCRIBE on the primary that owns each one's slot).
 */
export class Notifications {
  readonly #commands: RedisCommands;
  #connection: Subscriber | undefined;
  #connected: Promise<void> = Promise.resolve();
  readonly #channels = new Map<string, Channel>();
  #closed = false;

  constructor(commands: RedisCommands) {
    this.#commands = commands;
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
      since: current.since,
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
    await this.#connection?.close();
  }

  #subscriber(): Subscriber {
    if (this.#closed) throw new Error('RedisTokenStore is closed.');
    // A connection whose client gave up reconnecting is replaced, once its subscriptions have failed (they are
    // forgotten then): the store does not stay without pub/sub after Redis is back.
    if (this.#connection !== undefined && !(this.#connection.ended && this.#channels.size === 0)) return this.#connection;
    void this.#connection?.close();
    const connection = this.#commands.subscriber((channel) => {
      for (const wake of this.#channels.get(channel)?.wakes ?? []) wake();
    });
    this.#connected = connection.connect().catch(noop);
    this.#connection = connection;
    return connection;
  }

  #subscribe(connection: Subscriber, channel: string, after: Promise<void> | undefined): Channel {
    // After the initial connect, and after a previous UNSUBSCRIBE of the same channel, so that one cannot undo
    // this subscription. A connection that is not ready rejects at once (no offline queue).
    const subscribed = (after ?? this.#connected).then(() => connection.subscribe(channel));
    const entry: Channel = { wakes: new Set(), subscribed, since: performance.now() };
    this.#channels.set(channel, entry);
    subscribed.catch(() => {
      // Forget a failed subscription, so the next waiter tries again rather than inherit the failure.
      if (this.#channels.get(channel) === entry) this.#channels.delete(channel);
    });
    return entry;
  }

  #leave(connection: Subscriber, channel: string, entry: Channel): void {
    if (entry.wakes.size > 0 || entry.leaving !== undefined || this.#channels.get(channel) !== entry) return;
    entry.leaving = entry.subscribed.then(() => connection.unsubscribe(channel)).then(noop, noop);
    void entry.leaving.then(() => {
      if (this.#channels.get(channel) === entry) this.#channels.delete(channel);
    });
  }
}
