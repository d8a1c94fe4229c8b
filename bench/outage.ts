// npm run bench:outage — outage resilience under load (stale-if-error). 200 looping callers over 50 audience ×
// organization keys; tokens live 6 s with expiryLeeway 2 000 ms and refreshAhead 1 000 ms; the token endpoint (its
// own process, on loopback) answers 503 for 2 s in every 8 s. Run for 24 s with staleIfError on (the default), then
// off. Reports failed calls, token requests per key per lifetime, p99 of getToken() during outages, and the heap
// after GC before and after. Counts, not timings, are the point; the p99 is for comparison within the run.
// Flags: --seconds=N (default 24).
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TokenClient } from '../src/index.js';

const SECONDS = Number(process.argv.find((a) => a.startsWith('--seconds='))?.slice(10) ?? 24);
const CALLERS = 200;
const AUDIENCES = 10;
const ORGANIZATIONS = 5; // 10 × 5 = 50 keys
const LIFETIME_S = 6;
const CYCLE_MS = 8_000;
const OUTAGE_MS = 2_000;

interface Server {
  url: string;
  requests(): Promise<number>;
  close(): void;
}

/** The token endpoint in a child process (its CPU is not the client's); down for OUTAGE_MS of every CYCLE_MS. */
function startServer(): Promise<Server> {
  const child = fork(fileURLToPath(import.meta.url), ['--server'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let counted: ((n: number) => void) | undefined;
  return new Promise((resolve) => {
    child.on('message', (message: { url?: string; requests?: number }) => {
      if (message.url) {
        resolve({
          url: message.url,
          requests: () => new Promise((r) => ((counted = r), child.send('count'))),
          close: () => child.kill(),
        });
      }
      if (message.requests !== undefined) counted?.(message.requests);
    });
  });
}

async function serve(): Promise<void> {
  const { createServer } = await import('node:http');
  const started = Date.now();
  let requests = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests += 1;
      // The first outage starts half a cycle in, once every key holds a token.
      const phase = (Date.now() - started + CYCLE_MS / 2) % CYCLE_MS;
      if (phase < OUTAGE_MS) {
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"temporarily_unavailable"}');
      } else {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: `at-${requests}`, token_type: 'Bearer', expires_in: LIFETIME_S }));
      }
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as { port: number };
    process.send!({ url: `http://127.0.0.1:${port}/oauth/token` });
  });
  process.on('message', () => process.send!({ requests }));
  process.on('disconnect', () => process.exit(0));
}

/** A log-scale latency histogram: 38 M samples do not fit in an array. Buckets of 2^(1/8) from 0.1 µs. */
class Histogram {
  readonly counts = new Float64Array(400);
  total = 0;
  add(ms: number): void {
    const bucket = ms <= 0.0001 ? 0 : Math.min(399, Math.max(0, Math.ceil(8 * Math.log2(ms / 0.0001))));
    this.counts[bucket]! += 1;
    this.total += 1;
  }
  quantile(q: number): number {
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= q * this.total) return 0.0001 * 2 ** (i / 8);
    }
    return Number.NaN;
  }
}

interface Result {
  staleIfError: boolean;
  calls: number;
  failed: number;
  requests: number;
  perKeyPerLifetime: number;
  p99OutageMs: number;
  p99Ms: number;
  heapBeforeMiB: number;
  heapAfterMiB: number;
}

async function run(staleIfError: boolean): Promise<Result> {
  const server = await startServer();
  const client = new TokenClient({
    tokenEndpoint: server.url,
    clientId: 'bench-outage',
    clientSecret: 'fake-client-secret',
    expiryLeeway: 2_000,
    refreshAhead: 1_000,
    staleIfError,
    retry: { retries: 3, baseDelay: 50, maxDelay: 400 },
    timeout: 2_000,
    totalTimeout: 5_000,
    onError: () => {},
  });
  const keys = Array.from({ length: AUDIENCES * ORGANIZATIONS }, (_, i) => ({
    audience: `https://api-${i % AUDIENCES}.example.com`,
    organization: `org_${Math.floor(i / AUDIENCES)}`,
  }));
  // Warm every key before the clock starts (the first outage begins 4 s after the server started).
  await Promise.all(keys.map((k) => client.getToken(k)));
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const serverStarted = performance.now() - 0; // approximately: the server's phase is measured in the child
  void serverStarted;
  const all = new Histogram();
  const duringOutage = new Histogram();
  let calls = 0;
  let failed = 0;
  const requestsBefore = await server.requests();
  const started = performance.now();
  const end = started + SECONDS * 1000;
  let outage = false;
  const watch = setInterval(() => {
    // Mirrors the server's schedule from the client's side, for the outage p99 (a few ms off is fine).
    const phase = (performance.now() - started + CYCLE_MS / 2) % CYCLE_MS;
    outage = phase < OUTAGE_MS + 200;
  }, 20);
  await Promise.all(
    Array.from({ length: CALLERS }, async (_, caller) => {
      let i = caller;
      while (performance.now() < end) {
        const key = keys[i++ % keys.length]!;
        const t = performance.now();
        try {
          await client.getToken(key);
        } catch {
          failed += 1;
        }
        const ms = performance.now() - t;
        all.add(ms);
        if (outage) duringOutage.add(ms);
        calls += 1;
        // Let timers and sockets run: a cached call never yields to the event loop on its own.
        if ((calls & 1023) === 0) await new Promise((r) => setImmediate(r));
      }
    }),
  );
  clearInterval(watch);
  const requests = (await server.requests()) - requestsBefore;
  await client.close();
  server.close();
  global.gc?.();
  const heapAfter = process.memoryUsage().heapUsed;
  return {
    staleIfError,
    calls,
    failed,
    requests,
    perKeyPerLifetime: requests / keys.length / (SECONDS / LIFETIME_S),
    p99OutageMs: duringOutage.quantile(0.99),
    p99Ms: all.quantile(0.99),
    heapBeforeMiB: heapBefore / 2 ** 20,
    heapAfterMiB: heapAfter / 2 ** 20,
  };
}

if (process.argv.includes('--server')) {
  await serve();
} else {
  if (!global.gc) {
    console.error('Run with --expose-gc (npm run bench:outage does).');
    process.exit(1);
  }
  console.log(`bench:outage — ${CALLERS} callers, ${AUDIENCES * ORGANIZATIONS} keys, tokens ${LIFETIME_S} s (leeway 2 s, refreshAhead 1 s), endpoint 503 for ${OUTAGE_MS / 1000} s every ${CYCLE_MS / 1000} s, ${SECONDS} s per run\n`);
  const results = [await run(true), await run(false)];
  console.log('| staleIfError | calls | failed calls | token requests per key per lifetime | p99 getToken() during outages | p99 overall | heap after GC, before → after |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const r of results) {
    console.log(
      `| ${r.staleIfError ? 'on (default)' : 'off'} | ${r.calls.toLocaleString('en')} | ${r.failed.toLocaleString('en')} | ${r.perKeyPerLifetime.toFixed(2)} | ${r.p99OutageMs.toFixed(3)} ms | ${r.p99Ms.toFixed(3)} ms | ${r.heapBeforeMiB.toFixed(1)} → ${r.heapAfterMiB.toFixed(1)} MiB |`,
    );
  }
  const on = results[0]!;
  if (on.failed !== 0) {
    console.error(`\nFAILED: ${on.failed} calls failed with staleIfError on (expected 0).`);
    process.exitCode = 1;
  }
}
