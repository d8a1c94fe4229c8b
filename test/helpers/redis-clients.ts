import { once } from 'node:events';
import type { ClusterOptions, RedisOptions } from 'ioredis';
import type { RedisClientLike } from 'm2m-token/redis';

// The Redis clients RedisTokenStore is tested with, connected the way the README recommends. Each package is
// imported when first used, so a fleet worker loads only its own. No vitest imports: bench/ uses it too.

/** `node-redis-v5` is node-redis 5 (the `redis-v5` alias devDependency); `node-redis` is the current major. */
export type ClientKind = 'ioredis' | 'node-redis' | 'node-redis-v5';
export const CLIENT_KINDS: readonly ClientKind[] = ['ioredis', 'node-redis'];

/** Where to connect: one redis-server, or a cluster through its startup nodes. */
export type RedisTarget = { port: number } | { cluster: { host: string; port: number }[] };

export interface ClientTuning {
  /**
   * Per-command timeout, ms (ioredis `commandTimeout`; node-redis `commandOptions.timeout`, which only bounds the
   * wait before a command is sent). Default 500; 0 for none.
   */
  commandTimeout?: number;
  /** Keep the client's offline queue (default: off, as recommended). */
  offlineQueue?: boolean;
  /** ioredis `keyPrefix` / node-redis 6 `keyPrefix`. */
  keyPrefix?: string;
  /** Fixed reconnect delay, ms. */
  reconnectDelay?: number;
}

export interface ConnectedClient {
  readonly kind: ClientKind;
  readonly redis: RedisClientLike;
  /** Closes the client at once (never waits on a server that is gone). */
  close(): Promise<void>;
}

const noop = () => {};

/** A ready client of `kind` on `target`. Errors are swallowed: they reach the store as failed commands. */
export async function connectClient(kind: ClientKind, target: RedisTarget, tuning: ClientTuning = {}): Promise<ConnectedClient> {
  const commandTimeout = tuning.commandTimeout ?? 500;
  const offlineQueue = tuning.offlineQueue ?? false;
  if (kind === 'ioredis') {
    const { Redis, Cluster } = await import('ioredis');
    const common: RedisOptions = {
      // ioredis reads commandTimeout: 0 as "time out at once".
      ...(commandTimeout > 0 && { commandTimeout }),
      ...(tuning.keyPrefix !== undefined && { keyPrefix: tuning.keyPrefix }),
      ...(tuning.reconnectDelay !== undefined && { retryStrategy: () => tuning.reconnectDelay }),
    };
    const redis =
      'cluster' in target
        ? new Cluster(target.cluster, {
            enableOfflineQueue: offlineQueue,
            redisOptions: common,
            ...(tuning.keyPrefix !== undefined && { keyPrefix: tuning.keyPrefix }),
          } satisfies ClusterOptions)
        : new Redis({ host: '127.0.0.1', port: target.port, enableOfflineQueue: offlineQueue, ...common });
    redis.on('error', noop);
    await once(redis, 'ready');
    return { kind, redis, close: async () => redis.disconnect() };
  }
  const { createClient, createCluster } = kind === 'node-redis' ? await import('redis') : ((await import('redis-v5')) as unknown as typeof import('redis'));
  const options = {
    disableOfflineQueue: !offlineQueue,
    commandOptions: { timeout: commandTimeout },
    ...(tuning.keyPrefix !== undefined && { keyPrefix: tuning.keyPrefix }),
    ...(tuning.reconnectDelay !== undefined && { socket: { reconnectStrategy: tuning.reconnectDelay } }),
  };
  if ('cluster' in target) {
    const cluster = createCluster({ rootNodes: target.cluster.map((n) => ({ url: `redis://${n.host}:${n.port}` })), defaults: options });
    cluster.on('error', noop);
    await cluster.connect();
    return { kind, redis: cluster, close: async () => cluster.destroy() };
  }
  const client = createClient({ url: `redis://127.0.0.1:${target.port}`, ...options });
  client.on('error', noop);
  await client.connect();
  return {
    kind,
    redis: client,
    close: async () => {
      if (client.isOpen) client.destroy();
    },
  };
}
