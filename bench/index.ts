// npm run bench: cached getToken() against an awaited Map.get baseline in the same run, and a cold stampede.
// Figures are ratios to the baseline measured alongside, never absolute thresholds.
import diagnosticsChannel from 'node:diagnostics_channel';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TokenClient } from '../src/index.js';

const ROUNDS = 7;
const OPS_PER_ROUND = 300_000;

async function opsPerSecond(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < OPS_PER_ROUND; i++) await fn();
  return OPS_PER_ROUND / ((performance.now() - start) / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

let requests = 0;
const server = createServer((req, res) => {
  requests += 1;
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ access_token: `token-${requests}`, token_type: 'Bearer', expires_in: 86400 }));
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth/token`;
const client = new TokenClient({ tokenEndpoint: endpoint, clientId: 'bench', clientSecret: 'bench-secret', audience: 'https://api' });

// Cold cache: 10 000 concurrent callers.
const coldStart = performance.now();
await Promise.all(Array.from({ length: 10_000 }, () => client.getToken()));
const coldMs = performance.now() - coldStart;
const coldRequests = requests;

// Warm: cached getToken() vs the floor, interleaved rounds so both see the same machine state.
const map = new Map([['key', { accessToken: 'x' }]]);
const args = { audience: 'https://api', organization: 'org_1', scope: ['read:a', 'write:a'] };
await client.getToken(args);
const expiry = Date.now() + 3_600_000;
const baseline: number[] = [];
const baselineClock: number[] = [];
const cached: number[] = [];
const cachedArgs: number[] = [];
const cachedObserved: number[] = [];
// A subscriber to m2m-token:cache (what enableOpenTelemetry() adds): every cached call then builds and publishes a
// lookup message. Subscribed only for its own measurement, so the others run with no subscriber at all.
let lookups = 0;
const subscriber = () => {
  lookups += 1;
};
for (let round = 0; round < ROUNDS; round++) {
  baseline.push(await opsPerSecond(() => map.get('key') as unknown as Promise<unknown>));
  // Issue 7's floor: a cache also has to check the clock.
  baselineClock.push(await opsPerSecond(() => (Date.now() < expiry ? map.get('key') : undefined) as unknown as Promise<unknown>));
  cached.push(await opsPerSecond(() => client.getToken()));
  cachedArgs.push(await opsPerSecond(() => client.getToken(args)));
  diagnosticsChannel.subscribe('m2m-token:cache', subscriber);
  cachedObserved.push(await opsPerSecond(() => client.getToken()));
  diagnosticsChannel.unsubscribe('m2m-token:cache', subscriber);
}
await client.close();
server.close();

const b = median(baseline);
const bc = median(baselineClock);
const c = median(cached);
const ca = median(cachedArgs);
const co = median(cachedObserved);
console.log(`m2m-token bench — node ${process.version}, ${ROUNDS} rounds × ${fmt(OPS_PER_ROUND)} ops, medians\n`);
console.log('| case | ops/s | ratio to await map.get | ratio to map.get + clock |');
console.log('| --- | ---: | ---: | ---: |');
console.log(`| baseline: await map.get(key) | ${fmt(b)} | 1.00 | ${(b / bc).toFixed(2)} |`);
console.log(`| baseline: await map.get(key) after a Date.now() check | ${fmt(bc)} | ${(bc / b).toFixed(2)} | 1.00 |`);
console.log(`| cached getToken() | ${fmt(c)} | ${(c / b).toFixed(2)} | ${(c / bc).toFixed(2)} |`);
console.log(`| cached getToken({ audience, organization, scope }) | ${fmt(ca)} | ${(ca / b).toFixed(2)} | ${(ca / bc).toFixed(2)} |`);
console.log(`| cached getToken() with a subscriber on m2m-token:cache | ${fmt(co)} | ${(co / b).toFixed(2)} | ${(co / bc).toFixed(2)} |`);
console.log(`\ncold cache: 10,000 concurrent getToken() → ${coldRequests} request(s) at the token endpoint, ${coldMs.toFixed(0)} ms`);
console.log(`target: cached getToken() ≥ 0.5 × baseline → ${c / b >= 0.5 ? 'met' : 'NOT met'}`);
console.log(`subscriber saw ${fmt(lookups)} lookups (${fmt(ROUNDS * OPS_PER_ROUND)} expected once the client publishes them)`);
