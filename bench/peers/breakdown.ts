// npx tsx bench/peers/breakdown.ts [calls per round] [rounds]
// Where m2m-token's CPU per token fetch goes beyond the undici floor. Each variant adds one thing that
// m2m-token's transport does to a bare undici request, and the last one is m2m-token itself (built dist/, run
// `npm run build` first). The variants are interleaved, with the order rotating each round. Each one reports the
// median client CPU per call and a ratio to the floor (A), paired by round. The token server is the one
// `npm run bench:peers` uses, run in its own process.
import { fork } from 'node:child_process';
import http from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pRetry from 'p-retry';
import { Agent, request, type Dispatcher } from 'undici';
import type * as M2M from '../../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const CALLS = Number(process.argv[2] ?? 400);
const ROUNDS = Number(process.argv[3] ?? 11);

const server = fork(join(here, 'server.ts'), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const port = await new Promise<number>((ok) => server.on('message', (m: { type: string; port?: number }) => m.type === 'listening' && ok(m.port!)));
const origin = `http://127.0.0.1:${port}`;
const endpoint = `${origin}/oauth/token`;
const form = () =>
  new URLSearchParams({ grant_type: 'client_credentials', client_id: 'bench-client', client_secret: 'fake-bench-secret', audience: 'https://api.bench.test' }).toString();
const headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };

async function readCapped(body: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** One request through `agent`, with m2m-token's per-attempt timer and AbortController when `signal` is set. */
async function viaAgent(agent: Dispatcher, opts: { signal: boolean; iterate: boolean }): Promise<unknown> {
  const controller = opts.signal ? new AbortController() : undefined;
  const timer = controller ? setTimeout(() => controller.abort(), 10_000) : undefined;
  try {
    const response = await agent.request({ origin, path: '/oauth/token', method: 'POST', headers, body: form(), signal: controller?.signal });
    return JSON.parse(opts.iterate ? await readCapped(response.body) : await response.body.text());
  } finally {
    clearTimeout(timer);
  }
}

const agents: Agent[] = [];
const agent = () => {
  const a = new Agent();
  agents.push(a);
  return a;
};
const { TokenClient } = (await import(pathToFileURL(resolve(here, '../../dist/index.js')).href)) as typeof M2M;
const client = new TokenClient({ tokenEndpoint: endpoint, clientId: 'bench-client', clientSecret: 'fake-bench-secret', audience: 'https://api.bench.test' });
const httpAgent = new http.Agent({ keepAlive: true });

const a = agent();
const b = agent();
const c = agent();
const d = agent();
const e = agent();
const closing = new AbortController();
const variants: [string, () => Promise<unknown>][] = [
  ['A floor: undici.request(url) + body.text() + JSON.parse', async () => JSON.parse(await (await request(endpoint, { method: 'POST', dispatcher: a, headers, body: form() })).body.text())],
  ['B agent.request({ origin, path }) (what m2m-token calls)', () => viaAgent(b, { signal: false, iterate: false })],
  ['C B + AbortController + setTimeout per attempt + signal', () => viaAgent(c, { signal: true, iterate: false })],
  ['D C + for await body chunks + Buffer.concat', () => viaAgent(d, { signal: true, iterate: true })],
  ['E D inside pRetry({ retries: 3, signal, shouldRetry })', () =>
    pRetry(() => viaAgent(e, { signal: true, iterate: true }), { retries: 3, minTimeout: 0, signal: closing.signal, shouldRetry: async () => false })],
  ['F m2m-token getToken({ forceRefresh: true })', () => client.getToken({ forceRefresh: true })],
  ['H node:http keep-alive Agent (no dependency)', () =>
    new Promise((ok, fail) => {
      const body = form();
      const req = http.request({ host: '127.0.0.1', port, path: '/oauth/token', method: 'POST', agent: httpAgent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => ok(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
        res.on('error', fail);
      });
      req.on('error', fail);
      req.end(body);
    })],
];

const cpu = variants.map(() => [] as number[]);
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
for (const [, call] of variants) for (let i = 0; i < 200; i++) await call();
for (let round = 0; round < ROUNDS; round++) {
  for (let k = 0; k < variants.length; k++) {
    const v = (k + round) % variants.length;
    const call = variants[v]![1];
    for (let i = 0; i < 10; i++) await call();
    const before = process.cpuUsage();
    for (let i = 0; i < CALLS; i++) await call();
    const used = process.cpuUsage(before);
    cpu[v]!.push((used.user + used.system) / CALLS);
  }
}
console.log(`client CPU per token fetch, ${ROUNDS} rounds × ${CALLS} calls, medians (ratio to A paired by round)\n`);
variants.forEach(([name], v) => {
  const ratio = median(cpu[v]!.map((x, r) => x / cpu[0]![r]!));
  console.log(`${name.padEnd(60)} ${median(cpu[v]!).toFixed(1).padStart(7)} µs  ${ratio.toFixed(2)}×`);
});
await client.close();
await Promise.all(agents.map((x) => x.close()));
httpAgent.destroy();
server.send({ type: 'close' });
