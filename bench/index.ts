// npm run bench: cached getToken() against an awaited Map.get baseline in the same run, and a cold stampede; then
// what a DPoP proof costs per API request, beside the plain Bearer header (`npm run bench -- --only=dpop` runs only
// that part). Figures are ratios to the baseline measured alongside, never absolute thresholds.
import { generateKeyPairSync } from 'node:crypto';
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
    // A DPoP request (it carries a proof) gets a DPoP token, as from a server with DPoP on.
    res.end(JSON.stringify({ access_token: `token-${requests}`, token_type: req.headers.dpop ? 'DPoP' : 'Bearer', expires_in: 86400 }));
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth/token`;
const client = new TokenClient({ tokenEndpoint: endpoint, clientId: 'bench', clientSecret: 'bench-secret', audience: 'https://api' });

const onlyDpop = process.argv.includes('--only=dpop');
if (!onlyDpop) await mainRows();
await dpopRows();
await client.close();
server.close();

async function mainRows(): Promise<void> {
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
}

/**
 * DPoP: the headers of one API request. A Bearer client's `getRequestHeaders()` is a cached token and a string; a
 * DPoP client's adds a fresh proof signed with jose (ES256, the key given as a KeyObject) every time. Measured in
 * interleaved rounds with fewer operations (a signature costs far more than a cache hit); the cached getToken() of
 * the DPoP client is measured too, to show the cache path is the same.
 */
async function dpopRows(): Promise<void> {
  const ops = 5_000;
  const perOp = async (fn: () => Promise<unknown>) => {
    const start = performance.now();
    for (let i = 0; i < ops; i++) await fn();
    return ((performance.now() - start) * 1000) / ops;
  };
  const dpop = new TokenClient({ tokenEndpoint: endpoint, clientId: 'bench', clientSecret: 'bench-secret', audience: 'https://api', dpop: { key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey } });
  const request = { method: 'GET', url: 'https://api.example/invoices?page=1' };
  await client.getRequestHeaders(request);
  await dpop.getRequestHeaders(request);
  const bearerHeaders: number[] = [];
  const dpopHeaders: number[] = [];
  const bearerCached: number[] = [];
  const dpopCached: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    bearerHeaders.push(await perOp(() => client.getRequestHeaders(request)));
    dpopHeaders.push(await perOp(() => dpop.getRequestHeaders(request)));
    bearerCached.push(await perOp(() => client.getToken()));
    dpopCached.push(await perOp(() => dpop.getToken()));
  }
  await dpop.close();
  const us = (n: number) => `${n.toFixed(2)} µs`;
  const [bh, dh, bc, dc] = [median(bearerHeaders), median(dpopHeaders), median(bearerCached), median(dpopCached)];
  console.log(`\nDPoP per API request — ${ROUNDS} rounds × ${fmt(ops)} ops, medians (time per operation)\n`);
  console.log('| case | per request | ratio to Bearer |');
  console.log('| --- | ---: | ---: |');
  console.log(`| cached getToken(), Bearer client | ${us(bc)} | 1.00 |`);
  console.log(`| cached getToken(), DPoP client | ${us(dc)} | ${(dc / bc).toFixed(2)} |`);
  console.log(`| getRequestHeaders(), Bearer: Authorization only | ${us(bh)} | 1.00 |`);
  console.log(`| getRequestHeaders(), DPoP: Authorization + a fresh ES256 proof | ${us(dh)} | ${(dh / bh).toFixed(1)} |`);
  console.log(`\nproof cost per request (DPoP − Bearer headers): ${us(dh - bh)}`);
}
