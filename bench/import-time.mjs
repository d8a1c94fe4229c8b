// npm run bench:import: what `require('m2m-token')` and `import('m2m-token')` add to a process's start-up,
// measured on the packed tarball. Each sample is a fresh process; the floor is a process loading nothing
// (bare node), measured in the same interleaved rounds. Reports medians of the wall time and the difference,
// and two figures that a busy machine disturbs less: the CPU time of the whole process (user + system) over
// bare node's, and the load time measured inside the process.
//
//   npm run bench:import                               # build, pack, install into .scratch/bench-import, measure
//   npx node bench/import-time.mjs --consumer <dir>    # an existing install of m2m-token in <dir>; repeat the
//                                                      # option to compare installs (e.g. before/after) in one run
//   npx node bench/import-time.mjs --node <path>       # with another Node binary (default: this one)
//   npx node bench/import-time.mjs --rounds 25         # default 15
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { consumer: { type: 'string', multiple: true }, node: { type: 'string' }, rounds: { type: 'string' } } });
const root = resolve(import.meta.dirname, '..');
const node = values.node ? resolve(values.node) : process.execPath;
const rounds = Number(values.rounds ?? 15);

let consumers = (values.consumer ?? []).map((dir) => resolve(dir));
if (consumers.length === 0) {
  const scratch = join(root, '.scratch', 'bench-import');
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(join(scratch, 'consumer'), { recursive: true });
  const quiet = { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] };
  execFileSync('npm', ['run', 'build'], quiet);
  execFileSync('npm', ['pack', '--pack-destination', scratch, '--silent'], quiet);
  const tarball = join(scratch, readdirSync(scratch).find((f) => f.endsWith('.tgz')));
  consumers = [join(scratch, 'consumer')];
  writeFileSync(join(consumers[0], 'package.json'), JSON.stringify({ name: 'bench-import', private: true, version: '0.0.0' }));
  execFileSync('npm', ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { ...quiet, cwd: consumers[0] });
}

// Each script prints how long its load took, and the process's CPU time so far.
const report = "const c = process.cpuUsage(); console.log(JSON.stringify({ inside: performance.now() - t, cpu: (c.user + c.system) / 1000 }));\n";
const scripts = {
  'bare.cjs': `const t = performance.now();\n${report}`,
  'bare.mjs': `const t = performance.now();\n${report}`,
  'require.cjs': `const t = performance.now(); require('m2m-token');\n${report}`,
  'import.mjs': `const t = performance.now(); await import('m2m-token');\n${report}`,
};
const runs = [];
for (const dir of consumers) {
  for (const [file, text] of Object.entries(scripts)) {
    writeFileSync(join(dir, file), text);
    runs.push({ dir, file, wall: [], inside: [], cpu: [] });
  }
}

const run = (r) => {
  const start = process.hrtime.bigint();
  const result = spawnSync(node, [r.file], { cwd: r.dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`${r.dir}/${r.file} failed: ${result.stderr}`);
  return { ms, ...JSON.parse(result.stdout) };
};
for (const r of runs) run(r); // warm the file system cache
for (let i = 0; i < rounds; i++) {
  for (const r of runs) {
    const { ms, inside, cpu } = run(r);
    r.wall.push(ms);
    r.inside.push(inside);
    r.cpu.push(cpu);
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
console.log(`Node ${version}, median of ${rounds} fresh processes each:`);
for (const dir of consumers) {
  const get = (file) => runs.find((r) => r.dir === dir && r.file === file);
  if (consumers.length > 1) console.log(`${dir}:`);
  for (const [label, file, bare] of [["require('m2m-token')", 'require.cjs', 'bare.cjs'], ["import('m2m-token') ", 'import.mjs', 'bare.mjs']]) {
    const [load, floor] = [median(get(file).wall), median(get(bare).wall)];
    const cpu = median(get(file).cpu) - median(get(bare).cpu);
    console.log(
      `  ${label}: ${load.toFixed(1)} ms, bare node ${floor.toFixed(1)} ms: +${(load - floor).toFixed(1)} ms wall, +${cpu.toFixed(1)} ms CPU, ${median(get(file).inside).toFixed(1)} ms in-process`,
    );
  }
}
