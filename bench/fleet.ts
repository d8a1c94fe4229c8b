// npm run bench:fleet: token-endpoint requests per token lifetime for a fleet of N processes, each on its own
// (in-process cache only) and sharing a RedisTokenStore, on one Redis and on a Redis Cluster (three primaries, three
// replicas). Counts, not timings: the figure that Auth0 bills and rate-limits. Starts its own redis-server
// processes (redis-server must be installed), token endpoints and worker processes; runs in about a minute.
import { randomBytes } from 'node:crypto';
import { startFleet, type Fleet, type WorkerConfig } from '../test/fixtures/fleet-worker.js';
import type { ClientKind, RedisTarget } from '../test/helpers/redis-clients.js';
import { startRedisCluster } from '../test/helpers/redis-cluster.js';
import { startRedisServer } from '../test/helpers/redis-server.js';
import { json, startTokenServer } from '../test/helpers/token-server.js';

const FLEET_SIZES = [1, 4, 8];
const LIFETIME_S = 1; // expires_in: short, so a run spans several lifetimes
const LEEWAY_MS = 100;
const LIFETIMES = 3;
const CALL_EVERY_MS = 5;

interface Run {
  requests: number;
  calls: number;
  failures: number;
}

/** One round on the first `processes` workers, with its own token endpoint. */
async function run(fleet: Fleet, processes: number, store: { target: RedisTarget; client: ClientKind } | undefined, key: string): Promise<Run> {
  const tokens = await startTokenServer();
  tokens.respond((_req, res, i) => json(res, 200, { access_token: `bench-${i}`, token_type: 'Bearer', expires_in: LIFETIME_S }));
  try {
    const config = (index: number): WorkerConfig => ({
      tokenEndpoint: tokens.url,
      ...(store !== undefined && { redis: { ...store, encryptionKey: key } }),
      name: `bench-worker-${index}`,
      expiryLeeway: LEEWAY_MS,
      load: { steady: { for: LIFETIMES * LIFETIME_S * 1000, every: CALL_EVERY_MS } },
    });
    await fleet.prepare(config, processes);
    fleet.go();
    const results = await fleet.results();
    return {
      requests: tokens.requests.length,
      calls: results.reduce((n, r) => n + (r?.tokens.length ?? 0), 0),
      failures: results.reduce((n, r) => n + (r ? r.failures.length : 1), 0),
    };
  } finally {
    await tokens.close();
  }
}

const [redis, cluster, fleet] = await Promise.all([startRedisServer(), startRedisCluster(), startFleet(Math.max(...FLEET_SIZES))]);
const key = randomBytes(32).toString('base64');
const rows: string[] = [];
const perLifetime = (r: Run) => (r.requests / LIFETIMES).toFixed(1);
try {
  // One round at a time: on a small machine, two fleets side by side starve each other's event loops, and a
  // process that rarely calls getToken rarely refreshes, which would understate the requests without a store.
  const row = async (processes: number, redisLabel: string, store: { target: RedisTarget; client: ClientKind }) => {
    const alone = await run(fleet, processes, undefined, key);
    const shared = await run(fleet, processes, store, key);
    rows.push(
      `| ${processes} | ${redisLabel} | ${perLifetime(alone)} | ${perLifetime(shared)} | ${alone.calls + shared.calls} | ${alone.failures + shared.failures} |`,
    );
    console.error(`  ${processes} process(es), ${redisLabel}: done`);
  };
  for (const processes of FLEET_SIZES) await row(processes, 'one server, ioredis', { target: { port: redis.port }, client: 'ioredis' });
  const nodes = { cluster: cluster.startupNodes };
  await row(8, 'cluster, ioredis', { target: nodes, client: 'ioredis' });
  await row(8, 'cluster, node-redis', { target: nodes, client: 'node-redis' });
} finally {
  await Promise.all([fleet.close(), redis.stop(), cluster.stop()]);
}

console.log(
  `m2m-token fleet bench — node ${process.version}; token lifetime ${LIFETIME_S} s, expiryLeeway ${LEEWAY_MS} ms, ` +
    `refresh-ahead at its default; each process calls getToken every ${CALL_EVERY_MS} ms for ${LIFETIMES} lifetimes. ` +
    'Cluster: 3 primaries, 3 replicas, on loopback.\n',
);
console.log('| processes | Redis, client | requests per lifetime, in-process cache only | with RedisTokenStore | getToken calls | failed calls |');
console.log('| ---: | --- | ---: | ---: | ---: | ---: |');
for (const row of rows) console.log(row);
console.log('\nRefresh-ahead renews a token before its leeway point, so even one process asks more than once per lifetime.');
