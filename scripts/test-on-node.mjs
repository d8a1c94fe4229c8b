// npm run test:node22 — the vitest suite and the node:test example on another Node.js: by default the oldest the
// package supports (package.json engines), taken from the npm package `node@<version>` into .scratch/ (cached).
// Usage: npx node scripts/test-on-node.mjs [version] [-- vitest args]. vitest writes .vitest-results-node<major>.json.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, URL } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const [given, ...rest] = process.argv.slice(2).filter((a) => a !== '--');
const version = given ?? `${pkg.engines.node.replace('>=', '')}.0`;
const prefix = join(root, '.scratch', `node-${version}`);
const binary = join(prefix, 'node_modules', 'node', 'bin', 'node');

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: root, ...options });
  return result.status ?? 1;
}

if (!existsSync(binary)) {
  console.log(`Installing Node.js ${version} (npm package node@${version}) into ${prefix}`);
  const status = run('npm', ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', `node@${version}`]);
  if (status !== 0) process.exit(status);
}
const actual = spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout.trim();
if (actual !== `v${version}`) {
  console.error(`expected Node.js v${version} at ${binary}, got ${actual || 'nothing'}`);
  process.exit(1);
}
const major = version.split('.')[0];
console.log(`\n=== The suite on Node.js ${actual} ===`);
// The binary's own directory first on PATH: child processes the tests start (`node`, tsx workers) use it too.
const env = { ...process.env, PATH: `${join(prefix, 'node_modules', 'node', 'bin')}:${process.env.PATH}` };
const vitest = run(binary, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', `--outputFile.json=.vitest-results-node${major}.json`, ...rest], { env });
const nodeTest = rest.length ? 0 : run(binary, ['--import', 'tsx', '--test', 'examples/app-under-test/app.node-test.ts'], { env });
process.exit(vitest || nodeTest);
