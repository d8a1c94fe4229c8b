// Memory row of `npm run bench:peers`, forked by run.ts with --expose-gc so that it starts from a clean heap.
// One TokenClient with cache.max = MAX asks for KEYS distinct audiences, one after another. Its dispatcher is an
// undici MockAgent (in process, no socket): this row measures what the client keeps per key, not HTTP.
import { pathToFileURL } from 'node:url';
import { MockAgent } from 'undici';
import type * as M2M from '../../src/index.js';

const [distPath, keysArg, maxArg, budgetArg] = process.argv.slice(2);
const KEYS = Number(keysArg);
// A slow machine stops early rather than blow the run's time; the keys actually used are reported.
const BUDGET_MS = Number(budgetArg ?? 60_000);
const MAX = Number(maxArg);
const { TokenClient } = (await import(pathToFileURL(distPath!).href)) as typeof M2M;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('memory.ts needs --expose-gc');

let served = 0;
const dispatcher = new MockAgent();
dispatcher.disableNetConnect();
dispatcher
  .get('https://tenant.bench.test')
  .intercept({ path: '/oauth/token', method: 'POST' })
  .reply(() => {
    served += 1;
    return { statusCode: 200, data: { access_token: `bench-token-${served}`, token_type: 'Bearer', expires_in: 86_400 }, responseOptions: { headers: { 'content-type': 'application/json' } } };
  })
  .persist();

const client = new TokenClient({
  tokenEndpoint: 'https://tenant.bench.test/oauth/token',
  clientId: 'bench-client',
  clientSecret: 'bench-secret',
  cache: { max: MAX },
  dispatcher,
});

const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};
const cached = () => (client.toJSON() as { cachedTokens: number }).cachedTokens;

// Fill the cache once, so "before" already holds MAX tokens: what grows after that is a leak.
let i = 0;
for (; i < MAX; i++) await client.getToken({ audience: `https://api-${i}.bench.test` });
const before = heap();
const samples: number[] = [];
const start = performance.now();
const step = Math.max(1, Math.floor(KEYS / 4));
let done = 0;
while (done < KEYS) {
  await client.getToken({ audience: `https://api-${i}.bench.test` });
  done += 1;
  i += 1;
  if (done % step === 0 && done < KEYS) samples.push(heap());
  if (done % 1024 === 0 && performance.now() - start > BUDGET_MS) break;
}
const ms = performance.now() - start;
const after = heap();
const result = { keys: done, max: MAX, served, cachedTokens: cached(), before, after, samples, ms };
await client.close();
await dispatcher.close();
process.send!(result);
