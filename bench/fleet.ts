// npm run bench:fleet: token-endpoint requests per token lifetime for a fleet of N processes, each on its own
// (in-process cache only) and sharing a RedisTokenStore. Counts, not timings: the figure that Auth0 bills and
// rate-limits. Starts its own redis-server (which must be on PATH) and token endpoint; runs in about 30 s.
import { randomBytes } from 'node:crypto';
import { startFleet, type WorkerConfig } from '../test/fixtures/fleet-worker.js';
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

/** Starts a fleet with its own token endpoint; resolves to a function that runs it and counts. */
async function prepare(processes: number, redisPort: number | undefined, key: string): Promise<() => Promise<Run>> {
  const tokens = await startTokenServer();
  tokens.respond((_req, res, i) => json(res, 200, { access_token: `bench-${i}`, token_type: 'Bearer', expires_in: LIFETIME_S }));
  const config = (index: number): WorkerConfig => ({
    tokenEndpoint: tokens.url,
    ...(redisPort !== undefined && { redis: { port: redisPort, encryptionKey: key } }),
    name: `bench-worker-${index}`,
    expiryLeeway: LEEWAY_MS,
    load: { steady: { for: LIFETIMES * LIFETIME_S * 1000, every: CALL_EVERY_MS } },
  });
  const fleet = await startFleet(processes, config).catch(async (error: unknown) => {
    await tokens.close();
    throw error;
  });
  return async () => {
    try {
      fleet.go();
      const results = await fleet.results();
      return {
        requests: tokens.requests.length,
        calls: results.reduce((n, r) => n + (r?.tokens.length ?? 0), 0),
        failures: results.reduce((n, r) => n + (r ? r.failures.length : 1), 0),
      };
    } finally {
      await fleet.close();
      await tokens.close();
    }
  };
}

const redis = await startRedisServer();
const key = randomBytes(32).toString('base64');
const rows: string[] = [];
try {
  for (const processes of FLEET_SIZES) {
    // One fleet at a time: on a small machine, two fleets side by side starve each other's event loops, and a
    // process that rarely calls getToken rarely refreshes, which would understate the requests without a store.
    const alone = await (await prepare(processes, undefined, key))();
    const shared = await (await prepare(processes, redis.port, key))();
    const perLifetime = (r: Run) => (r.requests / LIFETIMES).toFixed(1);
    rows.push(
      `| ${processes} | ${perLifetime(alone)} | ${perLifetime(shared)} | ${alone.calls + shared.calls} | ${alone.failures + shared.failures} |`,
    );
    console.error(`  ${processes} process(es) done`);
  }
} finally {
  await redis.stop();
}

console.log(
  `m2m-token fleet bench — node ${process.version}; token lifetime ${LIFETIME_S} s, expiryLeeway ${LEEWAY_MS} ms, ` +
    `refresh-ahead at its default; each process calls getToken every ${CALL_EVERY_MS} ms for ${LIFETIMES} lifetimes.\n`,
);
console.log('| processes | requests per lifetime, in-process cache only | with RedisTokenStore | getToken calls | failed calls |');
console.log('| ---: | ---: | ---: | ---: | ---: |');
for (const row of rows) console.log(row);
console.log('\nRefresh-ahead renews a token before its leeway point, so even one process asks more than once per lifetime.');
