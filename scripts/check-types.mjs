// Type-checks the published declarations the way users compile against them: builds and packs the package, installs
// the tarball into scratch consumers, and runs tsc there for every combination of
//   TypeScript {6.0.x, newest 7.x} × @types/node {22, 24, newest} × {ESM nodenext, CJS nodenext, ESM bundler}
// with skipLibCheck: false, strict, exactOptionalPropertyTypes and noUncheckedIndexedAccess.
// Two consumers: `full` (every entry, with the optional peers installed) and `core` (only `m2m-token`, with no peer
// and no undici installed). The consumer sources are type-tests/*.ts; each is checked as .ts, .mts and .cts.
// Run with `npm run check:types` (Node 24 via npm). One line per combination; exits non-zero on any failure.
import { execFile as execFileCb } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const execFile = promisify(execFileCb);
const root = resolve(import.meta.dirname, '..');
const scratch = join(root, '.scratch', 'check-types');
const sources = join(root, 'type-tests');
const started = Date.now();

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const pinned = (name) => pkg.devDependencies?.[name] ?? pkg.dependencies?.[name] ?? pkg.peerDependencies?.[name];

const TYPESCRIPTS = [
  { label: 'ts6', spec: `typescript@${pinned('typescript')}` }, // what the package builds with (~6.0.x)
  { label: 'ts7', spec: 'typescript@^7' }, // the newest major (native compiler)
];
const TYPES_NODE = [
  { label: 'node22', spec: '@types/node@^22' },
  { label: 'node24', spec: '@types/node@^24' },
  { label: 'node-latest', spec: '@types/node@latest' },
];
// Peers of the subpath entries, plus jose (testing) and the test frameworks whose hooks useMockNetwork takes.
const FULL_DEPS = ['axios', 'ioredis', 'msw', '@mswjs/interceptors', 'undici', 'jose'].map((name) => `${name}@${pinned(name)}`);
FULL_DEPS.push('@jest/globals@latest');

const quiet = ['--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'];
async function run(cmd, args, cwd) {
  try {
    return await execFile(cmd, args, { cwd, env: process.env, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    console.error(`$ ${cmd} ${args.join(' ')}  (in ${cwd})\n${error.stdout ?? ''}${error.stderr ?? ''}`);
    throw error;
  }
}
const writeJson = (file, value) => writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
function freshDir(...parts) {
  const dir = join(scratch, ...parts);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}
async function npmInstall(dir, specs) {
  writeJson(join(dir, 'package.json'), { name: `scratch-${dir.split('/').pop()}`, private: true, version: '0.0.0' });
  await run('npm', ['install', ...quiet, ...specs], dir);
}

// 1. Build and pack.
rmSync(scratch, { recursive: true, force: true });
mkdirSync(scratch, { recursive: true });
await run('npm', ['run', 'build'], root);
const packDir = freshDir('pack');
await run('npm', ['pack', '--pack-destination', packDir, '--silent'], root);
const tarball = join(packDir, readdirSync(packDir).find((f) => f.endsWith('.tgz')));
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)}s`;
console.log(`built and packed (${elapsed()})`);

// 2. The compilers and the @types/node versions, each installed once in its own folder; the consumers (in parallel).
const tools = {};
const installs = [];
for (const t of [...TYPESCRIPTS, ...TYPES_NODE]) {
  const dir = freshDir('tools', t.label);
  tools[t.label] = dir;
  installs.push(npmInstall(dir, [t.spec]));
}
// msw and @mswjs/interceptors (the testing entry's peers) use DOM types such as MessageEvent and RequestInfo.
const MSW_LIB = ['es2023', 'dom'];
const consumers = { full: freshDir('full'), core: freshDir('core') };
installs.push(npmInstall(consumers.full, [tarball, ...FULL_DEPS]));
installs.push(npmInstall(consumers.core, [tarball]).then(() => {
  // The core must compile without undici's types: the client only calls a user dispatcher's dispatch().
  rmSync(join(consumers.core, 'node_modules', 'undici'), { recursive: true, force: true });
  for (const peer of ['axios', 'ioredis', 'msw', '@mswjs/interceptors', '@types/node']) {
    if (existsSync(join(consumers.core, 'node_modules', peer))) throw new Error(`core consumer: ${peer} is installed`);
  }
}));
await Promise.all(installs);
console.log(`installed the compilers, @types/node and the consumers (${elapsed()})`);
// tsc does not report an import it cannot resolve inside a package's declarations: the type silently becomes `any`.
// So the modules each entry's declarations import are checked against what that entry may need.
const ALLOWED_IMPORTS = {
  '.': ['node:crypto', 'jose'],
  fetch: ['m2m-token'],
  axios: ['m2m-token', 'axios'],
  undici: ['m2m-token', 'undici'],
  testing: ['m2m-token', 'msw', 'msw/experimental', 'jose'],
  redis: ['m2m-token', 'ioredis'],
};
const dist = join(consumers.core, 'node_modules', 'm2m-token', 'dist');
const importsOf = (file, seen = new Set()) => {
  if (seen.has(file)) return [];
  seen.add(file);
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:^import|^export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm)].map((m) => m[1] ?? m[2]);
  return specifiers.flatMap((spec) => (spec.startsWith('.') ? importsOf(join(file, '..', spec.replace(/\.c?js$/, (ext) => (ext === '.cjs' ? '.d.cts' : '.d.ts'))), seen) : [spec]));
};
let badImports = 0;
for (const [entry, allowed] of Object.entries(ALLOWED_IMPORTS)) {
  for (const ext of ['.d.ts', '.d.cts']) {
    const file = join(dist, entry === '.' ? `index${ext}` : `${entry}/index${ext}`);
    const unexpected = [...new Set(importsOf(file))].filter((spec) => !allowed.includes(spec));
    if (unexpected.length) {
      badImports++;
      console.log(`FAIL  ${file.slice(dist.length + 1)} imports ${unexpected.join(', ')}; allowed: ${allowed.join(', ')}`);
    }
  }
}
if (!badImports) console.log(`ok    the declarations of every entry import only what the entry needs (${Object.keys(ALLOWED_IMPORTS).length} entries, .d.ts and .d.cts)`);

const versionOf = (dir, name) => JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')).version;

// 3. Consumer projects. Each mode is a folder with its own package.json `type` and tsconfig per @types/node version.
const MODES = [
  { label: 'esm-nodenext', type: 'module', compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext' }, extensions: ['.ts', '.mts', '.cts'] },
  { label: 'cjs-nodenext', type: 'commonjs', compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext' }, extensions: ['.ts', '.mts', '.cts'] },
  { label: 'esm-bundler', type: 'module', compilerOptions: { module: 'esnext', moduleResolution: 'bundler' }, extensions: ['.ts'] },
];
// What each consumer compiles, and with which @types/node versions:
// - core: the files that import nothing but `m2m-token`, in the consumer without peers;
// - full: every entry, with the peers installed;
// - hooks: useMockNetwork with the @jest/globals and node:test hooks. @jest/globals' own types are large (most of
//   this check's time), and do not depend on the @types/node version: only the newest is used there.
const TESTS = [
  { consumer: 'core', dir: 'core', files: ['core.ts'], nodes: TYPES_NODE, lib: ['es2023'] },
  { consumer: 'full', dir: 'full', files: ['core.ts', 'entries.ts'], nodes: TYPES_NODE, lib: MSW_LIB },
  { consumer: 'hooks', dir: 'full', files: ['hooks.ts'], nodes: TYPES_NODE.slice(-1), lib: MSW_LIB },
];
const listed = new Set(TESTS.flatMap((t) => t.files));
const unlisted = readdirSync(sources).filter((f) => f.endsWith('.ts') && !listed.has(f));
if (unlisted.length) throw new Error(`type-tests/${unlisted.join(', ')}: add to TESTS in scripts/check-types.mjs`);
const jobs = [];
for (const { consumer, dir: consumerDir, files: tests, nodes, lib } of TESTS) {
  for (const mode of MODES) {
    const dir = join(consumers[consumerDir], mode.label, consumer);
    mkdirSync(dir, { recursive: true });
    writeJson(join(dir, 'package.json'), { name: `${consumer}-${mode.label}`, private: true, version: '0.0.0', type: mode.type });
    const files = [];
    for (const test of tests) {
      for (const ext of mode.extensions) {
        const file = test.replace(/\.ts$/, ext);
        cpSync(join(sources, test), join(dir, file));
        files.push(file);
      }
    }
    for (const node of nodes) {
      const tsconfig = `tsconfig.${node.label}.json`;
      writeJson(join(dir, tsconfig), {
        compilerOptions: {
          ...mode.compilerOptions,
          target: 'es2023',
          lib,
          strict: true,
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
          noImplicitOverride: true,
          skipLibCheck: false,
          // TypeScript's own lib.*.d.ts only; every package's declarations are still checked.
          skipDefaultLibCheck: true,
          esModuleInterop: true,
          noEmit: true,
          types: ['node'],
          typeRoots: [join(tools[node.label], 'node_modules', '@types')],
        },
        files,
      });
      for (const ts of TYPESCRIPTS) jobs.push({ consumer, mode: mode.label, ts, node, dir, tsconfig });
    }
  }
}

// 4. Type-check every combination, two at a time (the machines have two cores).
const tsVersions = Object.fromEntries(TYPESCRIPTS.map((t) => [t.label, versionOf(tools[t.label], 'typescript')]));
const nodeVersions = Object.fromEntries(TYPES_NODE.map((n) => [n.label, versionOf(tools[n.label], '@types/node')]));
let failed = 0;
async function check(job) {
  const tsc = join(tools[job.ts.label], 'node_modules', 'typescript', 'bin', 'tsc');
  const t0 = Date.now();
  let output = '';
  let ok = true;
  try {
    await execFile(process.execPath, [tsc, '-p', job.tsconfig, '--pretty', 'false'], { cwd: job.dir, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    ok = false;
    output = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim() || String(error);
  }
  const line = [
    ok ? 'ok  ' : 'FAIL',
    `typescript ${tsVersions[job.ts.label]}`.padEnd(17),
    `@types/node ${nodeVersions[job.node.label]}`.padEnd(20),
    job.mode.padEnd(13),
    job.consumer.padEnd(6),
    `${((Date.now() - t0) / 1000).toFixed(1)}s`,
  ].join('  ');
  console.log(line);
  if (!ok) {
    failed++;
    console.log(output.split('\n').map((l) => `      ${l}`).join('\n'));
  }
}
const queue = [...jobs];
await Promise.all([0, 1].map(async () => {
  for (let job = queue.shift(); job; job = queue.shift()) await check(job);
}));

if (failed || badImports) {
  console.log(`check:types: ${failed} of ${jobs.length} combinations failed, ${badImports} declaration files import more than they may (${elapsed()})`);
  process.exit(1);
}
console.log(`check:types: all ${jobs.length} combinations passed (${elapsed()})`);
