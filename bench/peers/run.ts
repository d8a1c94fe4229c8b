// npm run bench:peers — m2m-token beside the other Node client_credentials libraries, on one local token
// server (a separate process), in one run. Every figure is a median over interleaved rounds and is reported as a
// ratio to a floor measured in the same run:
//   1. fetching a token (cache bypassed): calls/s and client CPU per call, floor = undici.request + keep-alive Agent
//   2. cached calls: ops/s, floor = an awaited Map.get + clock read
//   3. 1 000 concurrent callers on a cold cache: requests the server saw
//   4. import cost in fresh processes, floor = bare `node -e ''`
//   4b. cold start: a fresh process's first token (import, construct, one request, exit), wall time over bare
//       `node -e 0`, floor = the same process with one node:http request
//   5. memory: m2m-token over many keys with a bounded cache
// Writes bench/peers/results.svg (bar chart) and bench/peers/results.json.
//
// Flags: --no-build (measure the existing dist/), --quick (fewer rounds, for checking the harness),
// --rows=cold,cached,stampede,coldstart,import,memory (a subset; `first` is an alias of coldstart), --only=m2m,undici (libraries whose name contains one of
// these; floors always run). Quick and partial runs print their table but leave results.svg / .json alone.
import { execFileSync, fork, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { COLD_START_FLOOR, coldStartArgv, coldStartCases, coldStartUnmeasured, type ColdStartTarget } from './coldstart.js';
import { cachedRows, coldRows, fetchFloor, importCases, M2M_ARGS_ROW, noCache, nodeHttpRow, stampedeRows, type Call, type Row, type Target } from './peers.js';
import { renderSvg, type Results } from './svg.js';


/** Appends a sample to the list kept under `key`. */
function record<K>(samples: Map<K, number[]>, key: K, value: number): void {
  const list = samples.get(key);
  if (list) list.push(value);
  else samples.set(key, [value]);
}

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const args = new Set(process.argv.slice(2));
const QUICK = args.has('--quick');
const flag = (name: string) => [...args].find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3).split(',').filter(Boolean);
const ALL_ROWS = ['cold', 'cached', 'stampede', 'coldstart', 'import', 'memory'];
/** `first` was row 4b's name before the cold-start row replaced it. */
const ROWS = new Set((flag('rows') ?? ALL_ROWS).map((r) => (r === 'first' ? 'coldstart' : r)));
const ONLY = flag('only');
/** Floors always run; --only=a,b keeps the libraries whose name contains a or b. */
const wanted = (name: string) => name.startsWith('floor') || !ONLY || ONLY.some((o) => name.toLowerCase().includes(o.toLowerCase()));
const PARTIAL = ALL_ROWS.some((r) => !ROWS.has(r)) || ONLY !== undefined;

const COLD_ROUNDS = QUICK ? 3 : 15;
const COLD_CALLS = QUICK ? 50 : 250;
const COLD_WARM = 10; // unmeasured calls before each measured batch: the row's connection and code are warm again
const CACHED_ROUNDS = QUICK ? 3 : 7;
const CACHED_MS = QUICK ? 40 : 100; // each measurement runs whole batches until this much time has passed
const STAMPEDE_CALLERS = 1000;
const IMPORT_ROUNDS = QUICK ? 3 : 7;
const COLDSTART_ROUNDS = QUICK ? 5 : 25;
/** A cold-start child still running after this has something open that keeps its event loop alive. */
const COLDSTART_EXIT_MS = 10_000;
const MEMORY_KEYS = QUICK ? 20_000 : 200_000;
const MEMORY_MAX = 1000;
const MEMORY_BUDGET_MS = QUICK ? 10_000 : 45_000; // stops early on a slow machine and says how many keys it did

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
/** The q-quantile, interpolated between the two nearest samples. */
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  return s[lo]! + (s[Math.min(lo + 1, s.length - 1)]! - s[lo]!) * (i - lo);
};
/**
 * Median over rounds of each round's value divided by the floor's in the same round: load that drifts from
 * round to round cancels out better than in a ratio of two medians.
 */
const pairedRatio = (xs: number[] | undefined, floor: number[] | undefined) => {
  if (!xs || !floor) return undefined;
  const n = Math.min(xs.length, floor.length);
  return n === 0 ? undefined : median(Array.from({ length: n }, (_, i) => xs[i]! / floor[i]!));
};
const log = (line: string) => process.stderr.write(`${line}\n`);
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;
const loadAverage = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

// ---------------------------------------------------------------------------------------------------------------
// Setup: the peers in their own folder, the built package, the server.

function npm(argv: string[], cwd: string): void {
  const result = spawnSync('npm', argv, { cwd, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false' } });
  if (result.status !== 0) throw new Error(`npm ${argv.join(' ')} failed (exit ${result.status})`);
}

/** True when bench/peers/node_modules holds exactly the versions bench/peers/package.json pins. */
function peersInstalled(): boolean {
  const { dependencies } = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  return Object.entries(dependencies).every(([name, version]) => {
    const manifest = join(here, 'node_modules', name, 'package.json');
    return existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version === version;
  });
}

if (!peersInstalled()) {
  const lock = existsSync(join(here, 'package-lock.json'));
  log(`installing the peer libraries into bench/peers/node_modules (npm ${lock ? 'ci' : 'install'})`);
  npm([lock ? 'ci' : 'install', '--prefix', here, '--no-audit', '--no-fund'], root);
}

let buildNote = 'built by npm run build in this run';
if (args.has('--no-build')) {
  buildNote = 'existing dist/ (--no-build)';
} else {
  log('npm run build');
  try {
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim().split('\n').slice(-3).join(' | ');
    if (!existsSync(join(root, 'dist/index.js')) || !existsSync(join(root, 'dist/index.cjs'))) {
      throw new Error(`npm run build failed and there is no dist/ to measure: ${stderr}`, { cause: error });
    }
    buildNote = `npm run build FAILED (${stderr}); measured the dist/ it left, built ${statSync(join(root, 'dist/index.js')).mtime.toISOString()}`;
    log(`WARNING: ${buildNote}`);
  }
}
const distDir = join(root, 'dist');

interface Counts {
  tokens: number;
  requests: number;
  connections: number;
}
const server = fork(join(here, 'server.ts'), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const port = await new Promise<number>((resolvePort, reject) => {
  server.once('error', reject);
  server.once('exit', (code) => reject(new Error(`token server exited (${code})`)));
  server.on('message', (m: { type: string; port?: number }) => {
    if (m.type === 'listening') resolvePort(m.port!);
  });
});
const counts = () =>
  new Promise<Counts>((resolveCounts) => {
    const onMessage = (m: Counts & { type: string }) => {
      if (m.type !== 'counts') return;
      server.off('message', onMessage);
      resolveCounts(m);
    };
    server.on('message', onMessage);
    server.send({ type: 'counts' });
  });
const base = `http://127.0.0.1:${port}`;
const target: Target = {
  base,
  tokenEndpoint: `${base}/oauth/token`,
  clientId: 'bench-client',
  clientSecret: 'fake-bench-secret',
  audience: 'https://api.bench.test',
  m2mDist: join(distDir, 'index.js'),
};
log(`token server on ${base} (pid ${server.pid}); load average ${loadAverage()}`);
const loadAtStart = loadAverage();

// ---------------------------------------------------------------------------------------------------------------
// Row 1: fetching a token.

interface Prepared {
  row: Row;
  call?: Call;
  close?: () => Promise<void> | void;
  error?: string;
}

async function prepare(rows: Row[]): Promise<Prepared[]> {
  const out: Prepared[] = [];
  for (const row of rows) {
    try {
      out.push({ row, ...(await row.make(target)) });
    } catch (error) {
      out.push({ row, error: (error as Error).message.split('\n')[0]! });
      log(`  ${row.name}: could not be set up: ${(error as Error).message}`);
    }
  }
  return out;
}

/** Runs `fn` for every prepared row, in an order rotated each round so that no row always goes first. */
async function interleaved(prepared: Prepared[], rounds: number, fn: (p: Prepared) => Promise<void>): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < prepared.length; k++) {
      const p = prepared[(k + round) % prepared.length]!;
      if (p.error !== undefined) continue;
      try {
        await fn(p);
      } catch (error) {
        p.error = (error as Error).message.split('\n')[0]!;
        log(`  ${p.row.name}: failed: ${p.error}`);
      }
    }
  }
}

interface ColdResult {
  name: string;
  how: string;
  callsPerSec?: number;
  cpuUsPerCall?: number;
  /** calls/s ÷ the floor's, paired by round. */
  ratio?: number;
  /** CPU per call ÷ the floor's, paired by round. */
  cpuRatio?: number;
  connectionsPerCall?: number;
  error?: string;
}

async function coldRow(): Promise<ColdResult[]> {
  log(`[${elapsed()}] row 1: fetching a token, ${COLD_ROUNDS} rounds × ${COLD_CALLS} sequential calls`);
  const prepared = await prepare([fetchFloor, ...coldRows, nodeHttpRow].filter((r) => wanted(r.name)));
  const rate = new Map<Prepared, number[]>();
  const cpu = new Map<Prepared, number[]>();
  const conns = new Map<Prepared, number[]>();
  // Warm-up: connections opened, code compiled.
  await interleaved(prepared, 1, async (p) => {
    for (let i = 0; i < 30; i++) await p.call!();
  });
  await interleaved(prepared, COLD_ROUNDS, async (p) => {
    for (let i = 0; i < COLD_WARM; i++) await p.call!();
    // Every batch starts with the garbage of the rows before it collected: otherwise a row pays for collecting
    // another library's garbage in proportion to what it allocates itself (npm run bench:peers passes --expose-gc).
    globalThis.gc?.();
    const c0 = await counts();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < COLD_CALLS; i++) await p.call!();
    const wall = performance.now() - t0;
    const used = process.cpuUsage(cpu0);
    const c1 = await counts();
    if (c1.tokens - c0.tokens !== COLD_CALLS) throw new Error(`expected ${COLD_CALLS} token requests, the server saw ${c1.tokens - c0.tokens}`);
    record(rate, p, COLD_CALLS / (wall / 1000));
    record(cpu, p, (used.user + used.system) / COLD_CALLS);
    record(conns, p, (c1.connections - c0.connections) / COLD_CALLS);
  });
  for (const p of prepared) await p.close?.();
  return prepared.map((p) => ({
    name: p.row.name,
    how: p.row.how,
    ...(p.error === undefined
      ? {
          callsPerSec: median(rate.get(p)!),
          cpuUsPerCall: median(cpu.get(p)!),
          connectionsPerCall: median(conns.get(p)!),
          ratio: pairedRatio(rate.get(p), rate.get(prepared[0]!)),
          cpuRatio: pairedRatio(cpu.get(p), cpu.get(prepared[0]!)),
        }
      : { error: p.error }),
  }));
}

// ---------------------------------------------------------------------------------------------------------------
// Row 2: cached calls.

const FLOOR_CACHED = 'floor: await Map.get + clock read';
const cachedFloor: Row = {
  name: FLOOR_CACHED,
  how: 'await map.get(key), Date.now() < expiry',
  async make() {
    const map = new Map([['token', { token: 'bench-token', usableUntil: Date.now() + 3_600_000 }]]);
    return {
      call: () => {
        const entry = map.get('token')!;
        // Awaited by the loop, like every other row's promise.
        return (Date.now() < entry.usableUntil ? entry.token : undefined) as unknown as Promise<unknown>;
      },
    };
  },
};

interface CachedResult {
  name: string;
  how: string;
  /** Ops per second of wall time. */
  opsPerSec?: number;
  /** Ops per second of this process's CPU time: what other processes on a busy machine do not inflate. */
  opsPerCpuSec?: number;
  /** Ops per CPU second ÷ the floor's, paired by round. */
  ratio?: number;
  /** Ops per wall second ÷ the floor's, paired by round. */
  wallRatio?: number;
  error?: string;
}

/** Runs whole batches of `call` for at least `ms`; ops per wall second and per CPU second of this process. */
async function timedOps(call: Call, ms: number): Promise<{ wall: number; cpu: number }> {
  let ops = 0;
  let batch = 256;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let now = t0;
  while (now - t0 < ms) {
    for (let i = 0; i < batch; i++) await call();
    ops += batch;
    now = performance.now();
    if (now - t0 < ms / 8) batch *= 2;
  }
  const used = process.cpuUsage(cpu0);
  return { wall: ops / ((now - t0) / 1000), cpu: ops / ((used.user + used.system) / 1e6) };
}

async function cachedRow(): Promise<CachedResult[]> {
  log(`[${elapsed()}] row 2: cached calls, ${CACHED_ROUNDS} rounds × ≥${CACHED_MS} ms each`);
  const prepared = await prepare([cachedFloor, ...cachedRows].filter((r) => wanted(r.name)));
  const before = await counts();
  const ops = new Map<Prepared, number[]>();
  const cpuOps = new Map<Prepared, number[]>();
  await interleaved(prepared, 1, async (p) => void (await timedOps(p.call!, CACHED_MS / 2)));
  await interleaved(prepared, CACHED_ROUNDS, async (p) => {
    const { wall, cpu } = await timedOps(p.call!, CACHED_MS);
    record(ops, p, wall);
    record(cpuOps, p, cpu);
  });
  const after = await counts();
  if (after.tokens !== before.tokens) log(`  note: ${after.tokens - before.tokens} token request(s) during the cached row`);
  for (const p of prepared) await p.close?.();
  return prepared.map((p) => ({
    name: p.row.name,
    how: p.row.how,
    ...(p.error === undefined
      ? {
          opsPerSec: median(ops.get(p)!),
          opsPerCpuSec: median(cpuOps.get(p)!),
          ratio: pairedRatio(cpuOps.get(p), cpuOps.get(prepared[0]!)),
          wallRatio: pairedRatio(ops.get(p), ops.get(prepared[0]!)),
        }
      : { error: p.error }),
  }));
}

// ---------------------------------------------------------------------------------------------------------------
// Row 3: stampede.

interface StampedeResult {
  name: string;
  how: string;
  requests?: number;
  failed?: number;
  ms?: number;
  error?: string;
}

async function stampedeRow(): Promise<StampedeResult[]> {
  log(`[${elapsed()}] row 3: ${STAMPEDE_CALLERS} concurrent callers on a cold cache`);
  const out: StampedeResult[] = [];
  for (const row of stampedeRows.filter((r) => wanted(r.name))) {
    try {
      const { call, close } = await row.make(target);
      const c0 = await counts();
      const t0 = performance.now();
      const settled = await Promise.allSettled(Array.from({ length: STAMPEDE_CALLERS }, () => call()));
      const ms = performance.now() - t0;
      const c1 = await counts();
      await close?.();
      out.push({ name: row.name, how: row.how, requests: c1.tokens - c0.tokens, failed: settled.filter((s) => s.status === 'rejected').length, ms });
    } catch (error) {
      out.push({ name: row.name, how: row.how, error: (error as Error).message.split('\n')[0]! });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Row 4b: cold start. Fresh processes, each importing a library, constructing it, getting one token and exiting on
// its own; timed from the outside (spawn to exit), minus bare `node -e 0` measured in the same round.

const childEnv = () => {
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // a bare node: no loader (tsx) inherited
  return env;
};

interface ColdStartResult {
  name: string;
  how: string;
  module: 'import' | 'require';
  /** Median over rounds of (this process's wall time − bare `node -e 0`'s in the same round), ms. */
  overBare?: number;
  p25?: number;
  p75?: number;
  /** overBare ÷ the node:http floor's overBare. */
  ratio?: number;
  /** Median time inside the process from before the library is loaded to the token in hand, ms. */
  inProcess?: number;
  /**
   * Median over rounds of (the process's CPU time when its script ends − a bare script's in the same round), ms.
   * All threads. Time spent waiting for a core does not count, but how much V8 does on its background threads varies
   * with load: compare it within one run.
   */
  cpuOverBare?: number;
  error?: string;
}

interface ColdStart {
  rounds: number;
  /** Median wall time of bare `node -e 0`, ms: what every row is measured over. */
  bare: number;
  /** Median CPU time of a bare script that only reads process.cpuUsage(), ms. */
  bareCpu: number;
  results: ColdStartResult[];
}

const BARE = 'bare node -e 0';
const BARE_CPU = 'bare node -e <print process.cpuUsage()>';
const PRINT_CPU = 'const c = process.cpuUsage(); process.stdout.write(JSON.stringify({ cpu: (c.user + c.system) / 1000 }))';

async function coldStartRow(): Promise<ColdStart> {
  const cases = coldStartCases.filter((c) => wanted(c.name));
  log(`[${elapsed()}] row 4b: cold start, ${COLDSTART_ROUNDS} rounds of ${cases.length + 2} fresh processes`);
  const env = childEnv();
  const childTarget: ColdStartTarget = {
    base: target.base,
    tokenEndpoint: target.tokenEndpoint,
    clientId: target.clientId,
    clientSecret: target.clientSecret,
    audience: target.audience,
    m2mUrl: pathToFileURL(join(distDir, 'index.js')).href,
    m2mCjs: join(distDir, 'index.cjs'),
  };
  // A fresh compile cache for the compileCache cases, filled by round 0 (not counted).
  const compileCacheDir = join(root, '.scratch', 'bench-compile-cache');
  rmSync(compileCacheDir, { recursive: true, force: true });
  const cachedEnv = { ...env, NODE_COMPILE_CACHE: compileCacheDir };
  type Job = { name: string; argv: string[]; cwd: string; token: boolean; env?: NodeJS.ProcessEnv };
  const jobs: Job[] = [
    { name: BARE, argv: ['-e', '0'], cwd: root, token: false },
    { name: BARE_CPU, argv: ['-e', PRINT_CPU], cwd: root, token: false },
    ...cases.map((c) => ({ name: c.name, argv: coldStartArgv(c, childTarget), cwd: c.cwd === 'main' ? root : here, token: true, ...(c.compileCache ? { env: cachedEnv } : {}) })),
  ];
  const walls = new Map<string, number[]>();
  const overBare = new Map<string, number[]>();
  const inside = new Map<string, number[]>();
  const cpu = new Map<string, number[]>();
  const cpuOverBare = new Map<string, number[]>();
  const errors = new Map<string, string>();
  let spawned = 0;
  const c0 = await counts();
  // Round 0 warms the file system cache and is not counted.
  for (let round = 0; round <= COLDSTART_ROUNDS; round++) {
    const wall = new Map<string, number>();
    const cpuThisRound = new Map<string, number>();
    for (let k = 0; k < jobs.length; k++) {
      const job = jobs[(k + round) % jobs.length]!;
      if (errors.has(job.name)) continue;
      const t0 = performance.now();
      const result = spawnSync(process.execPath, job.argv, { cwd: job.cwd, env: job.env ?? env, encoding: 'utf8', timeout: COLDSTART_EXIT_MS, killSignal: 'SIGKILL' });
      const ms = performance.now() - t0;
      if (job.token) spawned += 1;
      let error: string | undefined;
      let printed: { token?: unknown; ms?: unknown; cpu?: unknown } = {};
      if (result.signal === 'SIGKILL') error = `did not exit within ${COLDSTART_EXIT_MS / 1000} s (a handle kept it alive)`;
      else if (result.status !== 0) error = result.stderr.trim().split('\n').find((l) => /Error/.test(l)) ?? `exit ${result.status}`;
      else if (result.stdout !== '') {
        try {
          printed = JSON.parse(result.stdout) as typeof printed;
        } catch {
          // reported below
        }
      }
      if (error === undefined && job.token && (typeof printed.token !== 'string' || !printed.token.startsWith('bench-token-'))) {
        error = `printed no token: ${result.stdout.slice(0, 80)}`;
      }
      if (error !== undefined) {
        errors.set(job.name, error);
        log(`  ${job.name}: failed: ${error}`);
        continue;
      }
      if (round === 0) continue;
      wall.set(job.name, ms);
      record(walls, job.name, ms);
      if (typeof printed.cpu === 'number') {
        cpuThisRound.set(job.name, printed.cpu);
        record(cpu, job.name, printed.cpu);
      }
      if (typeof printed.ms === 'number') record(inside, job.name, printed.ms);
    }
    const bare = wall.get(BARE);
    if (bare !== undefined) for (const [name, ms] of wall) record(overBare, name, ms - bare);
    const bareCpu = cpuThisRound.get(BARE_CPU);
    if (bareCpu !== undefined) for (const [name, ms] of cpuThisRound) record(cpuOverBare, name, ms - bareCpu);
  }
  const c1 = await counts();
  if (c1.tokens - c0.tokens !== spawned) log(`  note: ${spawned} cold-start processes, the server saw ${c1.tokens - c0.tokens} token requests`);
  const floor = overBare.get(COLD_START_FLOOR);
  const floorMedian = floor && median(floor);
  return {
    rounds: COLDSTART_ROUNDS,
    bare: median(walls.get(BARE) ?? [NaN]),
    bareCpu: median(cpu.get(BARE_CPU) ?? [NaN]),
    results: cases.map((c) => {
      const xs = overBare.get(c.name);
      const base = { name: c.name, how: c.how, module: c.module };
      if (errors.has(c.name) || !xs) return { ...base, error: errors.get(c.name) ?? 'not measured' };
      return {
        ...base,
        overBare: median(xs),
        p25: quantile(xs, 0.25),
        p75: quantile(xs, 0.75),
        ratio: floorMedian ? median(xs) / floorMedian : undefined,
        inProcess: median(inside.get(c.name)!),
        cpuOverBare: cpuOverBare.has(c.name) ? median(cpuOverBare.get(c.name)!) : undefined,
      };
    }),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Row 4: import cost, fresh processes.

interface ImportResult {
  name: string;
  /** Median wall time of the process minus that of bare `node -e ''`, ms. */
  esmOverBare?: number;
  cjsOverBare?: number;
  /** Median time of the import()/require() call itself, measured inside the process, ms. */
  esmInProcess?: number;
  cjsInProcess?: number;
  esmError?: string;
  cjsError?: string;
}

const TIMED_REQUIRE = 'const t=performance.now();require(process.argv[1]);process.stdout.write(String(performance.now()-t))';
const TIMED_IMPORT = 'const t=performance.now();await import(process.argv[1]);process.stdout.write(String(performance.now()-t))';

function importRow(): { bare: number; bareEsm: number; results: ImportResult[] } {
  log(`[${elapsed()}] row 4: import cost, ${IMPORT_ROUNDS} rounds of fresh processes`);
  const env = childEnv();
  const spawnTimed = (argv: string[], cwd: string) => {
    const t0 = performance.now();
    const result = spawnSync(process.execPath, argv, { cwd, env, encoding: 'utf8' });
    const wall = performance.now() - t0;
    if (result.status !== 0) throw new Error(result.stderr.trim().split('\n').find((l) => /Error/.test(l)) ?? `exit ${result.status}`);
    return { wall, inside: result.stdout === '' ? 0 : Number(result.stdout) };
  };
  type Job = { key: string; argv: string[]; cwd: string };
  const jobs: Job[] = [
    { key: 'bare', argv: ['-e', ''], cwd: root },
    { key: 'bareEsm', argv: ['--input-type=module', '-e', ''], cwd: root },
  ];
  for (const c of importCases(distDir).filter((i) => wanted(i.name))) {
    const cwd = c.cwd === 'main' ? root : here;
    if (c.esm) jobs.push({ key: `${c.name}\0esm`, argv: ['--input-type=module', '-e', TIMED_IMPORT, c.esm], cwd });
    if (c.cjs) jobs.push({ key: `${c.name}\0cjs`, argv: ['-e', TIMED_REQUIRE, c.cjs], cwd });
  }
  const walls = new Map<string, number[]>();
  const insides = new Map<string, number[]>();
  const errors = new Map<string, string>();
  for (let round = 0; round < IMPORT_ROUNDS + 1; round++) {
    for (let k = 0; k < jobs.length; k++) {
      const job = jobs[(k + round) % jobs.length]!;
      if (errors.has(job.key)) continue;
      try {
        const { wall, inside } = spawnTimed(job.argv, job.cwd);
        if (round === 0) continue; // warm-up: file system cache
        record(walls, job.key, wall);
        record(insides, job.key, inside);
      } catch (error) {
        errors.set(job.key, (error as Error).message);
      }
    }
  }
  const bare = median(walls.get('bare')!);
  const bareEsm = median(walls.get('bareEsm')!);
  const results = importCases(distDir).filter((i) => wanted(i.name)).map((c) => {
    const r: ImportResult = { name: c.name };
    for (const mode of ['esm', 'cjs'] as const) {
      const key = `${c.name}\0${mode}`;
      if (errors.has(key)) r[`${mode}Error`] = errors.get(key)!;
      else if (walls.has(key)) {
        r[`${mode}OverBare`] = median(walls.get(key)!) - bare;
        r[`${mode}InProcess`] = median(insides.get(key)!);
      }
    }
    return r;
  });
  return { bare, bareEsm, results };
}

// ---------------------------------------------------------------------------------------------------------------
// Row 5: memory.

interface MemoryResult {
  keys: number;
  max: number;
  served: number;
  cachedTokens: number;
  before: number;
  after: number;
  samples: number[];
  ms: number;
}

function memoryRow(): Promise<MemoryResult> {
  log(`[${elapsed()}] row 5: memory, ${MEMORY_KEYS.toLocaleString('en-US')} distinct audiences, cache.max ${MEMORY_MAX}`);
  const child = fork(join(here, 'memory.ts'), [target.m2mDist, String(MEMORY_KEYS), String(MEMORY_MAX), String(MEMORY_BUDGET_MS)], {
    execArgv: [...process.execArgv, '--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolveMemory, reject) => {
    child.once('message', (m) => resolveMemory(m as MemoryResult));
    child.once('exit', (code) => code !== 0 && reject(new Error(`memory child exited (${code})`)));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Run, print, write.

const cold = ROWS.has('cold') ? await coldRow() : [];
const cached = ROWS.has('cached') ? await cachedRow() : [];
const stampede = ROWS.has('stampede') ? await stampedeRow() : [];
const coldStart = ROWS.has('coldstart') ? await coldStartRow() : undefined;
server.send({ type: 'close' });
const imports = ROWS.has('import') ? importRow() : undefined;
let memory: MemoryResult | { error: string } | undefined;
if (ROWS.has('memory')) {
  try {
    memory = await memoryRow();
  } catch (error) {
    memory = { error: (error as Error).message };
  }
}

const cpuModel = os.cpus()[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown CPU';
const machine = `${cpuModel}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, Node ${process.version}`;
const date = new Date().toISOString().slice(0, 10);
const loadAtEnd = loadAverage();

const fmt = (n: number | undefined, digits = 0) => (n === undefined ? '—' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const fmtRatio = (r: number | undefined) => (r === undefined ? '—' : r.toFixed(r < 0.1 ? 4 : 2));
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const signedMb = (bytes: number) => `${bytes >= 0 ? '+' : ''}${mb(bytes)}`;
const out: string[] = [];
const print = (line = '') => out.push(line);

print(`## bench:peers — ${date}`);
print();
print(`${machine}. Load average (1, 5, 15 min) at start ${loadAtStart}, at end ${loadAtEnd}. m2m-token: ${buildNote}. ${QUICK ? 'QUICK run (fewer rounds). ' : ''}${PARTIAL ? `PARTIAL run (${[...ROWS].join(', ')}${ONLY ? `; only ${ONLY.join(', ')}` : ''}). ` : ''}Medians over interleaved rounds; ratios are to the floor measured in this run.`);
print();
if (ROWS.has('cold')) {
  print(`### 1. Fetching a token (cache bypassed): ${COLD_ROUNDS} rounds × ${COLD_CALLS} sequential calls`);
  print();
  print('| library | cache bypassed by | calls/s | × floor | client CPU µs/call | CPU × floor | TCP connections/call |');
  print('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of cold) {
    if (r.error !== undefined) print(`| ${r.name} | ${r.how} | failed: ${r.error} | | | | |`);
    else print(`| ${r.name} | ${r.how} | ${fmt(r.callsPerSec)} | ${fmtRatio(r.ratio)} | ${fmt(r.cpuUsPerCall, 1)} | ${fmtRatio(r.cpuRatio)} | ${fmt(r.connectionsPerCall, 2)} |`);
  }
  print();
}
if (ROWS.has('cached')) {
  print(`### 2. Cached calls: ${CACHED_ROUNDS} rounds × ≥${CACHED_MS} ms`);
  print();
  print('"× floor" compares CPU time per op (ns/op CPU), which other processes on a busy machine do not inflate; ops/s is wall time.');
  print();
  print('| library | cached path | ops/s | ns/op CPU | × floor |');
  print('| --- | --- | ---: | ---: | ---: |');
  for (const r of cached) {
    if (r.error !== undefined) print(`| ${r.name} | ${r.how} | failed: ${r.error} | | |`);
    else print(`| ${r.name} | ${r.how} | ${fmt(r.opsPerSec)} | ${fmt(1e9 / r.opsPerCpuSec!)} | ${fmtRatio(r.ratio)} |`);
  }
  for (const n of noCache.filter((x) => wanted(x.name))) print(`| ${n.name} | ${n.why} | n/a | | |`);
  print();
}
if (ROWS.has('stampede')) {
  print(`### 3. ${STAMPEDE_CALLERS.toLocaleString('en-US')} concurrent callers on a cold cache`);
  print();
  print('Each library on a fresh instance. The ms column is not a ranking: m2m-token\'s own Agent opens a new connection (and loads undici on first use), while the fetch-based peers reuse the global pool warmed by the earlier rows.');
  print();
  print('| library | how | requests the server saw | rejected calls | ms |');
  print('| --- | --- | ---: | ---: | ---: |');
  for (const r of stampede) {
    if (r.error !== undefined) print(`| ${r.name} | ${r.how} | failed: ${r.error} | | |`);
    else print(`| ${r.name} | ${r.how} | ${fmt(r.requests)} | ${fmt(r.failed)} | ${fmt(r.ms)} |`);
  }
  print(`| global fetch, openid-client, auth0 AuthenticationClient, simple-oauth2 ClientCredentials | no cache | ${STAMPEDE_CALLERS} by design | | |`);
  print();
}
if (imports) {
  print(`### 4. Import cost over bare node: ${IMPORT_ROUNDS} fresh processes each, medians`);
  print();
  print(`Floor: bare \`node -e ''\` ${fmt(imports.bare, 1)} ms (\`node --input-type=module -e ''\`: ${fmt(imports.bareEsm, 1)} ms). "Over bare" is the whole process's wall time minus the floor's; "call alone" is timed inside the process around the import() / require() call.`);
  print();
  print('| module | `import` over bare, ms | `require` over bare, ms | import() call alone, ms | require() call alone, ms |');
  print('| --- | ---: | ---: | ---: | ---: |');
  for (const r of imports.results) {
    print(`| ${r.name} | ${r.esmError ? `fails: ${r.esmError.slice(0, 60)}` : fmt(r.esmOverBare, 1)} | ${r.cjsError ? `fails: ${r.cjsError.slice(0, 60)}` : fmt(r.cjsOverBare, 1)} | ${fmt(r.esmInProcess, 1)} | ${fmt(r.cjsInProcess, 1)} |`);
  }
  print();
}
if (coldStart) {
  print(`### 4b. Cold start: first token in a fresh process, over bare node: ${coldStart.rounds} rounds, medians`);
  print();
  print(`Each process imports the library, constructs it, gets one token from the local server, closes what it opened and exits on its own. Timed from the outside, spawn to exit, minus bare \`node -e 0\` in the same round (median ${fmt(coldStart.bare, 1)} ms). "× floor" is the median over the floor's median. "import → token" is timed inside the process, from before the library is loaded to the token in hand. "CPU over bare" is the process's CPU time (all threads) when its script ends, minus that of a bare script in the same round (${fmt(coldStart.bareCpu, 1)} ms). Waiting for a core on a busy machine does not count in it, but the work V8 does on its background threads varies with load: compare it within one run.`);
  print();
  print('| library | script | over bare node, ms | p25–p75 | × floor | import → token in process, ms | CPU over bare, ms |');
  print('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of coldStart.results) {
    if (r.error !== undefined) print(`| ${r.name} | ${r.how} | fails: ${r.error.slice(0, 80)} | | | | |`);
    else print(`| ${r.name} | ${r.how} | ${fmt(r.overBare, 1)} | ${fmt(r.p25, 1)}–${fmt(r.p75, 1)} | ${fmtRatio(r.ratio)} | ${fmt(r.inProcess, 1)} | ${fmt(r.cpuOverBare, 1)} |`);
  }
  for (const n of coldStartUnmeasured.filter((x) => wanted(x.name))) print(`| ${n.name} | ${n.why} | n/a | | | | |`);
  print();
}
if (memory) {
  print('### 5. Memory: m2m-token, distinct audiences through one client (undici MockAgent as dispatcher: no sockets)');
  print();
  if ('error' in memory) print(`failed: ${memory.error}`);
  else {
    print(`${memory.keys.toLocaleString('en-US')} distinct audiences${memory.keys < MEMORY_KEYS ? ` (stopped at the ${MEMORY_BUDGET_MS / 1000} s budget, of ${MEMORY_KEYS.toLocaleString('en-US')})` : ''} after the cache was filled, cache.max ${memory.max}: heap after gc ${mb(memory.before)} before → ${mb(memory.after)} after (${signedMb(memory.after - memory.before)}); at each quarter ${memory.samples.map(mb).join(', ')}. Tokens cached at the end: ${memory.cachedTokens}. Requests: ${memory.served.toLocaleString('en-US')}, ${fmt(memory.ms / 1000, 1)} s (${fmt((memory.ms * 1000) / memory.keys, 1)} µs per new key).`);
  }
  print();
}
const m2mCold = cold.find((r) => r.name === coldRows[0]!.name);
const m2mCached = cached.find((r) => r.name === cachedRows[0]!.name);
const m2mArgs = cached.find((r) => r.name === M2M_ARGS_ROW);
const m2mImport = imports?.results.find((r) => r.name.startsWith('m2m-token'));
const targets: string[] = [];
if (m2mCold) targets.push(`- fetching a token ≥ 0.9× floor: ${fmtRatio(m2mCold.ratio)} (calls/s), CPU per call ${fmtRatio(m2mCold.cpuRatio)}× the floor's`);
if (m2mCached) targets.push(`- cached getToken() ≥ 0.8× floor: ${fmtRatio(m2mCached.ratio)}; with { audience, organization, scope } ≥ 0.4×: ${fmtRatio(m2mArgs?.ratio)} (CPU time; by wall time ${fmtRatio(m2mCached.wallRatio)} and ${fmtRatio(m2mArgs?.wallRatio)})`);
if (m2mImport) targets.push(`- import ≤ 20 ms over bare node: import ${fmt(m2mImport.esmOverBare, 1)} ms, require ${fmt(m2mImport.cjsOverBare, 1)} ms`);
const m2mColdStart = coldStart?.results.filter((r) => r.name.startsWith('m2m-token'));
if (m2mColdStart?.length) {
  const fetchStart = coldStart!.results.find((r) => r.name === 'global fetch');
  const floorStart = coldStart!.results.find((r) => r.name === COLD_START_FLOOR);
  const parts = m2mColdStart.map((r) => `${r.module}${r.name.includes('NODE_COMPILE_CACHE') ? ' with NODE_COMPILE_CACHE' : ''} ${r.error ? 'failed' : `${fmt(r.overBare, 1)} ms (${fmtRatio(r.ratio)}× floor; CPU ${fmt(r.cpuOverBare, 1)} ms)`}`);
  targets.push(`- cold start, first token over bare node: ${parts.join(', ')}; node:http floor ${fmt(floorStart?.overBare, 1)} ms (CPU ${fmt(floorStart?.cpuOverBare, 1)} ms)${fetchStart?.overBare !== undefined ? `, global fetch ${fmt(fetchStart.overBare, 1)} ms (CPU ${fmt(fetchStart.cpuOverBare, 1)} ms)` : ''}`);
}
if (memory && !('error' in memory)) targets.push(`- memory bounded by cache.max: ${memory.cachedTokens} tokens cached after ${memory.keys.toLocaleString('en-US')} keys, heap ${signedMb(memory.after - memory.before)}`);
if (targets.length > 0) {
  print('### Issue 7 targets (m2m-token)');
  print();
  for (const line of targets) print(line);
  print();
}
print(`Total ${elapsed()}.`);

console.log(out.join('\n'));

if (QUICK || PARTIAL || !imports || !memory || !coldStart) {
  log('quick or partial run: results.svg and results.json left as they were');
} else {
  const results: Results = {
    date,
    machine,
    load: { start: loadAtStart, end: loadAtEnd },
    build: buildNote,
    quick: QUICK,
    cold,
    cached,
    stampede,
    coldStart,
    imports,
    memory,
  };
  writeFileSync(join(here, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(here, 'results.svg'), renderSvg(results));
  log(`wrote bench/peers/results.svg and bench/peers/results.json (${elapsed()})`);
}
process.exit(0);
