import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, startRedisServer, type RedisServer } from './redis-server.js';

/**
 * A real Redis Cluster on 127.0.0.1: three primaries, each with one replica, built with CLUSTER MEET /
 * ADDSLOTSRANGE / REPLICATE (what `redis-cli --cluster create` does, without its one-second sleeps). No
 * persistence; each node's cluster state lives in a scratch folder, so a killed node can be restarted and rejoins
 * (as a replica of whoever took over its slots). No vitest imports: bench/ uses it too.
 */
export interface RedisCluster {
  readonly nodes: readonly ClusterNode[];
  /** `{ host, port }` of every node, for the clients' startup lists. */
  readonly startupNodes: { host: string; port: number }[];
  /** The node that serves `slot` as primary now, asked of a live node. */
  primaryOf(slot: number): Promise<ClusterNode>;
  /** The hash slot of a key or shard channel name. */
  slotOf(name: string): Promise<number>;
  /** SIGKILL: a crash. */
  kill(node: ClusterNode): Promise<void>;
  /** Starts a killed node again on its ports and waits until it is back in the cluster as a synced replica. */
  restart(node: ClusterNode): Promise<void>;
  /** Resolves once every live node reports `cluster_state:ok` and agrees who serves each slot. */
  waitHealthy(timeout?: number): Promise<void>;
  /** An admin connection (plain, not cluster-aware) to a live node, closed with the cluster. */
  admin(node: ClusterNode): Redis;
  /** FLUSHALL on every live primary. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

export interface ClusterNode {
  readonly port: number;
  readonly busPort: number;
  id: string;
  server: RedisServer | undefined;
}

/** Fast failure detection: a killed primary's replica takes over within about two seconds. */
const NODE_TIMEOUT = 1_000;
const READY_TIMEOUT = 30_000;
const SLOTS = 16_384;

export async function startRedisCluster(): Promise<RedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'm2m-redis-cluster-'));
  const admins = new Map<number, Redis>();
  const nodes: ClusterNode[] = [];
  const args = (node: { port: number; busPort: number }) => [
    '--cluster-enabled', 'yes',
    '--cluster-config-file', join(dir, `nodes-${node.port}.conf`),
    '--cluster-port', String(node.busPort),
    '--cluster-node-timeout', String(NODE_TIMEOUT),
    '--dir', dir,
  ];
  const admin = (node: ClusterNode): Redis => {
    let connection = admins.get(node.port);
    if (connection === undefined) {
      connection = new Redis({ host: '127.0.0.1', port: node.port, lazyConnect: false, maxRetriesPerRequest: 1, retryStrategy: () => 50 });
      connection.on('error', () => {});
      admins.set(node.port, connection);
    }
    return connection;
  };
  const live = () => nodes.filter((n) => n.server !== undefined);

  const cluster: RedisCluster = {
    nodes,
    get startupNodes() {
      return nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
    },
    async primaryOf(slot) {
      const shards = (await admin(live()[0]!).call('CLUSTER', 'SLOTS')) as [number, number, [string, number, string]][];
      const shard = shards.find(([from, to]) => from <= slot && slot <= to);
      const port = shard?.[2][1];
      const node = nodes.find((n) => n.port === port);
      if (node === undefined) throw new Error(`no primary serves slot ${slot}`);
      return node;
    },
    async slotOf(name) {
      return Number(await admin(live()[0]!).call('CLUSTER', 'KEYSLOT', name));
    },
    async kill(node) {
      admins.get(node.port)?.disconnect();
      admins.delete(node.port);
      await node.server?.stop();
      node.server = undefined;
    },
    async restart(node) {
      node.server = await startRedisServer(node.port, args(node));
      await cluster.waitHealthy();
      await waitFor(async () => {
        const info = await admin(node).info('replication');
        return info.includes('role:slave') && info.includes('master_link_status:up');
      }, 'the restarted node to sync as a replica');
    },
    async waitHealthy(timeout = READY_TIMEOUT) {
      await waitFor(async () => {
        const views = await Promise.all(
          live().map(async (n) => {
            const info = String(await admin(n).call('CLUSTER', 'INFO'));
            if (!info.includes('cluster_state:ok')) return undefined;
            const shards = (await admin(n).call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
            return JSON.stringify(shards.map(([from, to, [, port]]) => [from, to, port]).sort((a, b) => a[0]! - b[0]!));
          }),
        );
        if (views.some((v) => v === undefined) || new Set(views).size !== 1) return false;
        // Every slot is served by a live node.
        const shards = JSON.parse(views[0]!) as [number, number, number][];
        const covered = shards.reduce((n, [from, to]) => n + to - from + 1, 0);
        return covered === SLOTS && shards.every(([, , port]) => live().some((l) => l.port === port));
      }, 'the cluster to be healthy', timeout);
    },
    admin,
    async flush() {
      const primaries = await Promise.all(
        live().map(async (n) => ((await admin(n).info('replication')).includes('role:master') ? n : undefined)),
      );
      await Promise.all(primaries.filter((n) => n !== undefined).map((n) => admin(n).flushall()));
    },
    async stop() {
      for (const connection of admins.values()) connection.disconnect();
      admins.clear();
      await Promise.all(nodes.map((n) => n.server?.stop()));
      await rm(dir, { recursive: true, force: true });
    },
  };

  try {
    for (let i = 0; i < 6; i++) {
      // Each node needs two ports: clients' and the cluster bus's.
      const [port, busPort] = await distinctFreePorts(nodes);
      const node: ClusterNode = { port, busPort, id: '', server: undefined };
      node.server = await startRedisServer(port, args(node));
      nodes.push(node);
    }
    for (const node of nodes) node.id = String(await admin(node).call('CLUSTER', 'MYID'));
    const primaries = nodes.slice(0, 3);
    await Promise.all(
      primaries.map((node, i) => {
        const from = Math.floor((SLOTS * i) / 3);
        const to = Math.floor((SLOTS * (i + 1)) / 3) - 1;
        return admin(node).call('CLUSTER', 'ADDSLOTSRANGE', String(from), String(to));
      }),
    );
    await Promise.all(nodes.slice(1).map((node) => admin(nodes[0]!).call('CLUSTER', 'MEET', '127.0.0.1', String(node.port), String(node.busPort))));
    await waitFor(async () => {
      const known = await Promise.all(nodes.map(async (n) => String(await admin(n).call('CLUSTER', 'NODES')).trim().split('\n').length));
      return known.every((count) => count === nodes.length);
    }, 'the nodes to meet');
    await Promise.all(nodes.slice(3).map((replica, i) => admin(replica).call('CLUSTER', 'REPLICATE', primaries[i]!.id)));
    await cluster.waitHealthy();
    await waitFor(async () => {
      const infos = await Promise.all(nodes.slice(3).map((n) => admin(n).info('replication')));
      return infos.every((info) => info.includes('master_link_status:up'));
    }, 'the replicas to sync');
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

async function distinctFreePorts(taken: readonly ClusterNode[]): Promise<[number, number]> {
  const used = new Set(taken.flatMap((n) => [n.port, n.busPort]));
  const ports: number[] = [];
  while (ports.length < 2) {
    const port = await freePort();
    if (!used.has(port) && !ports.includes(port)) ports.push(port);
  }
  return [ports[0]!, ports[1]!];
}

async function waitFor(check: () => Promise<boolean>, what: string, timeout = READY_TIMEOUT): Promise<void> {
  const deadline = performance.now() + timeout;
  for (;;) {
    let error: unknown;
    try {
      if (await check()) return;
    } catch (e) {
      error = e;
    }
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`, error === undefined ? undefined : { cause: error });
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
