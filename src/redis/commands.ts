import { ConfigurationError } from 'm2m-token';

/**
 * Everything the store asks of a Redis client, so the store is written once. Two implementations: ioredis
 * (`Redis` and `Cluster`) and node-redis (v5+: `createClient` and `createCluster`), told apart by their shape;
 * neither package is imported. Every command the store sends is a Lua script over one key (so it routes to the
 * key's slot on a cluster), which keeps this surface to scripts and pub/sub.
 */
export interface RedisCommands {
  /** `ioredis` or `node-redis`, for messages. */
  readonly client: 'ioredis' | 'node-redis';
  /** A cluster client: notifications use sharded pub/sub (`SPUBLISH` / `SSUBSCRIBE`, Redis 7). */
  readonly cluster: boolean;
  evalsha(sha: string, keys: readonly string[], args: readonly string[]): Promise<unknown>;
  eval(script: string, keys: readonly string[], args: readonly string[]): Promise<unknown>;
  /** A new connection for pub/sub, duplicated from the user's client (same settings), not yet connected. */
  subscriber(onMessage: (channel: string) => void): Subscriber;
}

/** The store's own pub/sub connection. */
export interface Subscriber {
  /** Connects; rejects when the connection could not be made (subscribing then fails until it is). */
  connect(): Promise<void>;
  subscribe(channel: string): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  /** Closes the connection at once; resolves when it is closed. */
  close(): Promise<void>;
  /** True once the connection has given up for good (closed, or its client stopped reconnecting). */
  readonly ended: boolean;
}

/**
 * The `redis` option: an ioredis `Redis` or `Cluster`, or a node-redis client or cluster (v5 or later). Typed
 * structurally, so this entry's types compile whichever of the two packages is installed; the constructor checks
 * the rest.
 */
export interface RedisClientLike {
  duplicate(...args: never[]): unknown;
}

type Method = (...args: never[]) => unknown;
type Shape = Record<string, unknown>;

const noop = () => {};
/** How long close() waits for a connection to report that it has ended. */
const CLOSE_WAIT = 2_000;

/** The adapter for `client`, or a ConfigurationError naming `redis`. */
export function redisCommands(client: unknown): RedisCommands {
  const c = client as Shape | null;
  if (c !== null && typeof c === 'object') {
    if (isIoRedis(c)) return ioredis(c as unknown as IoRedis);
    if (isNodeRedis(c)) return nodeRedis(c as unknown as NodeRedis);
  }
  throw new ConfigurationError(
    'redis',
    'must be an ioredis client or Cluster (e.g. new Redis(url, { enableOfflineQueue: false, commandTimeout: 500 })) ' +
      'or a node-redis client or cluster (e.g. createClient({ url, disableOfflineQueue: true }))',
  );
}

const has = (c: Shape, ...methods: string[]) => methods.every((m) => typeof c[m] === 'function');

// ioredis: `status` is a string and `isCluster` a boolean on both Redis and Cluster.
function isIoRedis(c: Shape): boolean {
  return typeof c.status === 'string' && typeof c.isCluster === 'boolean' && has(c, 'eval', 'evalsha', 'duplicate', 'connect') &&
    (c.isCluster !== true || has(c, 'ssubscribe', 'spublish'));
}

// node-redis: `isOpen` / `isReady` getters and camel-cased `evalSha`; a cluster also lists its `masters`.
function isNodeRedis(c: Shape): boolean {
  return typeof c.isOpen === 'boolean' && typeof c.isReady === 'boolean' && has(c, 'eval', 'evalSha', 'duplicate', 'connect');
}

// ---- ioredis --------------------------------------------------------------------------------------------------

interface IoConnection {
  status: string;
  on(event: string, listener: (...args: never[]) => void): unknown;
  once(event: string, listener: () => void): unknown;
  connect(): Promise<unknown>;
  disconnect(): void;
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  ssubscribe(channel: string): Promise<unknown>;
  sunsubscribe(channel: string): Promise<unknown>;
}

interface IoRedis {
  isCluster: boolean;
  eval(script: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  evalsha(sha: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  duplicate: Method;
}

function ioredis(redis: IoRedis): RedisCommands {
  const cluster = redis.isCluster;
  return {
    client: 'ioredis',
    cluster,
    evalsha: (sha, keys, args) => redis.evalsha(sha, keys.length, ...keys, ...args),
    eval: (script, keys, args) => redis.eval(script, keys.length, ...keys, ...args),
    subscriber(onMessage) {
      // The store's own connection fails fast while Redis is away instead of queueing (a waiter that cannot
      // subscribe polls instead), and subscribes again after a reconnect. A Cluster gets one subscriber per
      // primary for the shard channels, and follows their slots through a failover.
      const connection = (
        cluster
          ? (redis.duplicate as (nodes: unknown[], options: object) => unknown)([], { lazyConnect: true, enableOfflineQueue: false, shardedSubscribers: true })
          : (redis.duplicate as (options: object) => unknown)({ lazyConnect: true, enableOfflineQueue: false, autoResubscribe: true })
      ) as IoConnection;
      // Failures reach the waiters as rejected subscriptions; without a listener ioredis would log every
      // reconnect attempt to the console.
      connection.on('error', noop);
      connection.on(cluster ? 'smessage' : 'message', ((channel: string) => onMessage(channel)) as (...args: never[]) => void);
      return {
        connect: () => connection.connect().then(noop),
        subscribe: (channel) => (cluster ? connection.ssubscribe(channel) : connection.subscribe(channel)).then(noop),
        unsubscribe: (channel) => (cluster ? connection.sunsubscribe(channel) : connection.unsubscribe(channel)).then(noop),
        get ended() {
          return connection.status === 'end';
        },
        close: async () => {
          if (connection.status === 'end') return;
          // A connection between reconnect attempts may have no socket left to close, and never say 'end'.
          const ended = ending(connection);
          connection.disconnect();
          await ended;
        },
      };
    },
  };
}

function ending(connection: IoConnection): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, CLOSE_WAIT);
    timer.unref();
    connection.once('end', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

// ---- node-redis -----------------------------------------------------------------------------------------------

type Listener = (message: unknown, channel: unknown) => void;

interface NodeConnection {
  isOpen: boolean;
  on(event: string, listener: (...args: never[]) => void): unknown;
  connect(): Promise<unknown>;
  destroy(): void;
  subscribe(channel: string, listener: Listener): Promise<unknown>;
  unsubscribe(channel: string, listener: Listener): Promise<unknown>;
  sSubscribe(channel: string, listener: Listener): Promise<unknown>;
  sUnsubscribe(channel: string, listener: Listener): Promise<unknown>;
}

interface NodeRedis {
  masters?: unknown;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  duplicate(overrides: object): unknown;
}

function nodeRedis(redis: NodeRedis): RedisCommands {
  // A cluster (createCluster) lists its primaries; a client (createClient) has no such property.
  const cluster = Array.isArray(redis.masters);
  return {
    client: 'node-redis',
    cluster,
    evalsha: (sha, keys, args) => redis.evalSha(sha, { keys: [...keys], arguments: [...args] }),
    eval: (script, keys, args) => redis.eval(script, { keys: [...keys], arguments: [...args] }),
    subscriber(onMessage) {
      // Same settings as the user's client; a client fails fast while disconnected instead of queueing. (A
      // cluster keeps its per-node defaults: overriding `defaults` would drop the user's, such as credentials.)
      // node-redis subscribes again by itself after a reconnect, and follows shard channels across a failover.
      // A cluster duplicate only learns the topology on connect (minimizeConnections): it opens a connection per
      // shard when a channel of that shard is first subscribed to, not one per primary up front.
      const connection = (cluster ? redis.duplicate({ minimizeConnections: true }) : redis.duplicate({ disableOfflineQueue: true })) as NodeConnection;
      connection.on('error', noop);
      const listener: Listener = (_message, channel) => onMessage(String(channel));
      let closed = false;
      return {
        connect: () => connection.connect().then(noop),
        subscribe: async (channel) => {
          // node-redis would keep a subscription on a closed client pending until it is destroyed.
          if (!connection.isOpen) throw new Error('RedisTokenStore: the pub/sub connection is not open.');
          await (cluster ? connection.sSubscribe(channel, listener) : connection.subscribe(channel, listener));
        },
        unsubscribe: (channel) =>
          (cluster ? connection.sUnsubscribe(channel, listener) : connection.unsubscribe(channel, listener)).then(noop),
        get ended() {
          return closed || !connection.isOpen;
        },
        close: async () => {
          closed = true;
          try {
            // At once: pending subscriptions reject, and a connection still trying to connect stops trying.
            connection.destroy();
          } catch {
            // already closed
          }
        },
      };
    },
  };
}
