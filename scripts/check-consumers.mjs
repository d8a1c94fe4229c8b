// npm run check:consumers: the packed package in consumer projects, under the test runners users have, on
// Node 22.19.0 and on Node 24:
//
//   jest-cjs    Jest 30 with its default configuration: CommonJS, `.test.js` files with require(), no flags.
//   jest-esm    Jest 30 in ESM mode (node --experimental-vm-modules), a `.test.mjs` file with import.
//   vitest      vitest, a `.test.mjs` file.
//   node:test   node --test: an ESM and a CommonJS file, and a check that the fakes load neither msw nor jose.
//   example     examples/app-under-test/app.jest.test.cjs under Jest's default configuration.
//
// Each runner's test uses the core (TokenClient.getToken() against mockTokenEndpoint, with a retry and a
// signed client assertion, which load p-retry and jose), FakeTokenSource,
// staticTokenSource, ManualClock, and each adapter entry (fetch, axios, undici) against a loopback server.
// All projects share one install (.scratch/check-consumers/projects/node_modules) of the tarball and the
// runners, at the versions pinned below; msw is not installed, as the kit must not need it at run time.
// Prints one line per (runner, Node) and exits non-zero on any failure. Run with `npm run check:consumers`;
// `npx node scripts/check-consumers.mjs --tarball <file.tgz>` checks a given tarball instead of a fresh build.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import ts from 'typescript';

const root = resolve(import.meta.dirname, '..');
const scratch = join(root, '.scratch', 'check-consumers');
const NODE_22 = '22.19.0';
/** The consumers' dependencies, exact. vite is pinned below 8.4, whose install fails (see DEVELOPERS.md). */
const PINNED = { jest: '30.5.2', vitest: '5.1.2', vite: '8.3.8', axios: '1.21.1', undici: '8.13.1' };
/** Per-test timeout (ms): generous, because the machine may be busy; the tests take well under a second. */
const TIMEOUT = 20_000;
/** A runner still going after this long (ms) is stopped and fails, e.g. one kept alive by an open handle. */
const RUN_TIMEOUT = 180_000;
const started = performance.now();

const quiet = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'inherit'], env: process.env });
const writeJson = (file, value) => writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);

if (!process.version.startsWith('v24.')) throw new Error(`Run this on Node 24 (npm run check:consumers, or npx node …), not ${process.version}.`);
mkdirSync(scratch, { recursive: true });

// Node 22.19.0 from the npm package `node`, kept between runs.
const node22Dir = join(scratch, 'node22');
const node22 = join(node22Dir, 'node_modules', 'node', 'bin', 'node');
const versionOf = (bin) => (existsSync(bin) ? execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim() : undefined);
if (versionOf(node22) !== `v${NODE_22}`) {
  rmSync(node22Dir, { recursive: true, force: true });
  mkdirSync(node22Dir);
  writeJson(join(node22Dir, 'package.json'), { private: true, dependencies: { node: NODE_22 }, allowScripts: { node: true } });
  quiet('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], node22Dir);
  if (versionOf(node22) !== `v${NODE_22}`) throw new Error(`Installing node@${NODE_22} did not give a Node ${NODE_22} binary at ${node22}.`);
}
const nodes = [
  ['22', node22],
  ['24', process.execPath],
];

// The tarball (built and packed here, or --tarball <file>, e.g. an earlier build to compare with), named by
// its content: the projects' package.json then changes exactly when the package does, and npm reinstalls it
// (it would keep a same-named tarball it has installed before).
const { values: options } = parseArgs({ options: { tarball: { type: 'string' } } });
let packed = options.tarball && resolve(options.tarball);
if (!packed) {
  quiet('npm', ['run', 'build'], root);
  const packDir = join(scratch, 'pack');
  rmSync(packDir, { recursive: true, force: true });
  mkdirSync(packDir);
  quiet('npm', ['pack', '--pack-destination', packDir, '--silent'], root);
  packed = join(packDir, readdirSync(packDir).find((f) => f.endsWith('.tgz')));
}
const hash = createHash('sha256').update(readFileSync(packed)).digest('hex').slice(0, 12);
const projects = join(scratch, 'projects');
mkdirSync(projects, { recursive: true });
for (const old of readdirSync(projects).filter((f) => f.endsWith('.tgz'))) rmSync(join(projects, old));
cpSync(packed, join(projects, `m2m-token-${hash}.tgz`));
writeJson(join(projects, 'package.json'), {
  name: 'm2m-token-consumers',
  private: true,
  dependencies: { 'm2m-token': `file:./m2m-token-${hash}.tgz`, ...PINNED },
});
quiet('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], projects);
const installed = performance.now();

// ---------------------------------------------------------------------------------------------------------
// The consumer test, one body for every runner. Before it, `requires` or `imports` binds assert, http
// (node:http), m2m, kit, fetchEntry, axiosEntry, undiciEntry, axios and undici, and a runner's line binds
// describe, it, beforeAll, afterAll and afterEach.
const body = (runner) => `
const TENANT = { domain: 'tenant.auth0.com', clientId: 'consumer-app', clientSecret: 'fake-consumer-secret' };
const API = 'https://api.example.com';
const auth = kit.mockTokenEndpoint({ ...TENANT, audiences: [API] });
// localhostPassthrough: the adapters' requests go to a real loopback server; everything else stays mocked.
kit.useMockNetwork(kit.mockNetwork(auth.handlers, kit.localhostPassthrough()), { beforeAll, afterEach, afterAll }, { reset: [auth] });

let server;
let origin;
const seen = [];
beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push(req.headers.authorization);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  origin = 'http://127.0.0.1:' + server.address().port;
});
afterAll(() => {
  server.closeAllConnections(); // keep-alive sockets of fetch, axios and undici would hold the runner open
  return new Promise((done) => server.close(done));
});
afterEach(() => {
  seen.length = 0;
});

describe('m2m-token from the packed tarball under ${runner}', () => {
  it('TokenClient gets a token from the mocked Auth0 endpoint, once for concurrent callers', async () => {
    const client = new m2m.TokenClient({ ...TENANT, audience: API });
    try {
      const [a, b] = await Promise.all([client.getToken(), client.getToken()]);
      assert.equal(a.accessToken.split('.').length, 3);
      assert.equal(b.accessToken, a.accessToken);
      assert.equal(auth.requestCount, 1);
      assert.equal(auth.calls[0].audience, API);
    } finally {
      await client.close();
    }
  });

  it('an error from the endpoint is an OAuthError', async () => {
    auth.replyNext({ kind: 'oauth-error', error: 'invalid_client' });
    const client = new m2m.TokenClient({ ...TENANT, audience: API });
    try {
      await assert.rejects(client.getToken(), (error) => error instanceof m2m.OAuthError && error.error === 'invalid_client');
    } finally {
      await client.close();
    }
  });

  // p-retry and jose are ESM-only; the CommonJS build loads its bundled copies on first use.
  it('retries a 503 (p-retry)', async () => {
    auth.replyNext({ kind: 'server-error', status: 503 });
    const client = new m2m.TokenClient({ ...TENANT, audience: API, retry: { baseDelay: 1, maxDelay: 5 } });
    try {
      await client.getToken();
      assert.equal(auth.requestCount, 2);
    } finally {
      await client.close();
    }
  });

  it('signs a client assertion (jose); the mock refuses assertions with invalid_client', async () => {
    const client = new m2m.TokenClient({ ...TENANT, audience: API, clientAuthentication: 'client_secret_jwt' });
    try {
      await assert.rejects(client.getToken(), (error) => error instanceof m2m.OAuthError && error.error === 'invalid_client');
      assert.equal(auth.calls[0].clientAuthentication, 'client_assertion');
    } finally {
      await client.close();
    }
  });

  it('FakeTokenSource, staticTokenSource and ManualClock', async () => {
    const clock = new kit.ManualClock(0);
    const fake = new kit.FakeTokenSource({ clock });
    const first = await fake.getToken({ audience: API });
    assert.equal((await fake.getToken({ audience: API })).accessToken, first.accessToken);
    clock.advance(2 * 60 * 60 * 1000);
    assert.notEqual((await fake.getToken({ audience: API })).accessToken, first.accessToken);
    assert.equal(fake.callCount, 3);
    const fixed = kit.staticTokenSource('fake-static-token');
    assert.equal((await fixed.getToken()).accessToken, 'fake-static-token');
    assert.equal(fixed.callCount, 1);
  });

  it('m2m-token/fetch sends the token to a loopback server', async () => {
    const apiFetch = fetchEntry.fetchWithTokens(kit.staticTokenSource('fake-fetch-token'), { targets: { [origin]: {} } });
    assert.equal((await apiFetch(origin + '/things')).status, 200);
    assert.deepEqual(seen, ['Bearer fake-fetch-token']);
  });

  it('m2m-token/axios sends the token to a loopback server', async () => {
    const instance = axios.create();
    axiosEntry.attachTokens(instance, kit.staticTokenSource('fake-axios-token'), { targets: { [origin]: {} } });
    assert.equal((await instance.get(origin + '/things')).status, 200);
    assert.deepEqual(seen, ['Bearer fake-axios-token']);
  });

  it('m2m-token/undici sends the token to a loopback server', async () => {
    const agent = new undici.Agent();
    try {
      const dispatcher = agent.compose(undiciEntry.tokenInterceptor(kit.staticTokenSource('fake-undici-token'), { targets: { [origin]: {} } }));
      const { statusCode, body } = await undici.request(origin + '/things', { dispatcher });
      await body.dump();
      assert.equal(statusCode, 200);
      assert.deepEqual(seen, ['Bearer fake-undici-token']);
    } finally {
      await agent.close();
    }
  });
});
`;

const requires = `const assert = require('node:assert/strict');
const http = require('node:http');
const m2m = require('m2m-token');
const kit = require('m2m-token/testing');
const fetchEntry = require('m2m-token/fetch');
const axiosEntry = require('m2m-token/axios');
const undiciEntry = require('m2m-token/undici');
const axios = require('axios');
const undici = require('undici');
`;
const imports = `import assert from 'node:assert/strict';
import http from 'node:http';
import * as m2m from 'm2m-token';
import * as kit from 'm2m-token/testing';
import * as fetchEntry from 'm2m-token/fetch';
import * as axiosEntry from 'm2m-token/axios';
import * as undiciEntry from 'm2m-token/undici';
import axios from 'axios';
import * as undici from 'undici';
`;
const generated = '// Generated by scripts/check-consumers.mjs.\n';

// What the fakes and ManualClock load, for ESM and CommonJS: never msw, the interceptors, jose or the kit's
// msw bundle. Then mockTokenEndpoint() loads the bundle, and still no msw package from node_modules.
const loadedProbe = `${generated}import { registerHooks } from 'node:module';
const seen = new Set();
registerHooks({
  resolve(specifier, context, next) {
    const result = next(specifier, context);
    seen.add(result.url);
    return result;
  },
});
const suspicious = () => [...seen].filter((url) => /\\/node_modules\\/(msw|@mswjs|jose)\\/|\\/msw-modules\\.cjs$|\\/vendor\\/jose\\.cjs$/.test(url));
const kit = process.argv[2] === 'require' ? (await import('node:module')).createRequire(import.meta.url)('m2m-token/testing') : await import('m2m-token/testing');
const clock = new kit.ManualClock();
await new kit.FakeTokenSource({ clock }).getToken();
await kit.staticTokenSource('fake-token').getToken();
const afterFakes = suspicious();
kit.mockTokenEndpoint({ domain: 'tenant.auth0.com', clientId: 'probe', clientSecret: 'fake-probe-secret' });
console.log(JSON.stringify({ afterFakes, afterMock: suspicious().map((url) => url.replace(/.*\\/node_modules\\//, '')) }));
`;
const loadedTest = `${generated}import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { it } from 'node:test';

for (const how of ['import', 'require']) {
  it(\`m2m-token/testing by \${how}: the fakes load no msw and no jose; mockTokenEndpoint loads the kit's bundle, not node_modules/msw\`, () => {
    const { afterFakes, afterMock } = JSON.parse(execFileSync(process.execPath, ['loaded-probe.mjs', how], { encoding: 'utf8' }));
    assert.deepEqual(afterFakes, []);
    assert.ok(afterMock.some((file) => file.endsWith('/dist/testing/msw-modules.cjs')), afterMock.join(', '));
    assert.deepEqual(afterMock.filter((file) => /^(msw|@mswjs)\\//.test(file)), []);
  });
}
`;

// The Jest example: the billing service compiled to CommonJS (what ts-jest or babel would do for a TypeScript
// app), beside the test file.
const example = join(root, 'examples', 'app-under-test');
const billing = ts.transpileModule(readFileSync(join(example, 'billing.ts'), 'utf8'), {
  compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
}).outputText;

const files = {
  'jest-cjs': {
    'package.json': '{ "name": "jest-cjs", "private": true }\n',
    'consumer.test.js': `${generated}${requires}jest.setTimeout(${TIMEOUT});\n${body('Jest (CommonJS)')}`,
  },
  'jest-esm': {
    'package.json': '{ "name": "jest-esm", "private": true }\n',
    'consumer.test.mjs': `${generated}${imports}import { afterAll, afterEach, beforeAll, describe, it, jest } from '@jest/globals';\njest.setTimeout(${TIMEOUT});\n${body('Jest (ESM)')}`,
  },
  vitest: {
    'package.json': '{ "name": "vitest-consumer", "private": true, "type": "module" }\n',
    'consumer.test.mjs': `${generated}${imports}import { afterAll, afterEach, beforeAll, describe, it, vi } from 'vitest';\nvi.setConfig({ testTimeout: ${TIMEOUT}, hookTimeout: ${TIMEOUT} });\n${body('vitest')}`,
  },
  'node-test': {
    'package.json': '{ "name": "node-test-consumer", "private": true }\n',
    'consumer.test.mjs': `${generated}${imports}import { after as afterAll, afterEach, before as beforeAll, describe, it } from 'node:test';\n${body('node:test (ESM)')}`,
    'consumer.test.cjs': `${generated}${requires}const { after: afterAll, afterEach, before: beforeAll, describe, it } = require('node:test');\n${body('node:test (CommonJS)')}`,
    'loaded-probe.mjs': loadedProbe,
    'loaded.test.mjs': loadedTest,
  },
  example: {
    'package.json': '{ "name": "app-under-test-jest", "private": true }\n',
    'billing.js': `// examples/app-under-test/billing.ts compiled to CommonJS by scripts/check-consumers.mjs.\n${billing}`,
    'app.jest.test.cjs': `${readFileSync(join(example, 'app.jest.test.cjs'), 'utf8')}\njest.setTimeout(${TIMEOUT});\n`,
  },
};
for (const [project, contents] of Object.entries(files)) {
  const dir = join(projects, project);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  for (const [name, text] of Object.entries(contents)) writeFileSync(join(dir, name), text);
}

const jest = join(projects, 'node_modules', 'jest', 'bin', 'jest.js');
const vitest = join(projects, 'node_modules', 'vitest', 'vitest.mjs');
const runners = [
  ['jest-cjs', 'jest-cjs', [jest, '--ci']],
  ['jest-esm', 'jest-esm', ['--experimental-vm-modules', '--no-warnings=ExperimentalWarning', jest, '--ci']],
  ['vitest', 'vitest', [vitest, 'run']],
  ['node:test', 'node-test', ['--test', '--test-reporter=spec', 'consumer.test.mjs', 'consumer.test.cjs', 'loaded.test.mjs']],
  ['example (jest-cjs)', 'example', [jest, '--ci']],
];

/** Tests passed, from the runner's summary: a run that found no tests must not count as a pass. */
function passedCount(output) {
  const match = /Tests:\s+(?:\d+ \w+, )*(\d+) passed/.exec(output) ?? /Tests\s+(\d+) passed/.exec(output) ?? /(?:ℹ|#) pass (\d+)/.exec(output);
  return match ? Number(match[1]) : 0;
}

function run(bin, args, cwd) {
  return new Promise((done) => {
    const env = { ...process.env, CI: 'true', NO_COLOR: '1', FORCE_COLOR: '0' };
    const child = spawn(bin, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: RUN_TIMEOUT, killSignal: 'SIGKILL' });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const start = performance.now();
    child.on('close', (code, signal) => {
      if (signal) output += `\n(stopped with ${signal} after ${RUN_TIMEOUT / 1000} s)`;
      const passed = passedCount(output);
      done({ ok: code === 0 && passed > 0, passed, output, ms: performance.now() - start });
    });
  });
}

// The two Node versions run side by side; each runs its runners one after the other.
const results = await Promise.all(
  nodes.map(async ([version, bin]) => {
    const list = [];
    for (const [label, dir, args] of runners) list.push({ label, version, ...(await run(bin, args, join(projects, dir))) });
    return list;
  }),
);

let failed = 0;
for (const [label] of runners) {
  for (const r of results.flat().filter((x) => x.label === label)) {
    if (!r.ok) {
      failed += 1;
      console.log(`\n----- ${r.label} on Node ${r.version} -----\n${r.output.trim()}\n`);
    }
  }
}
for (const [label] of runners) {
  for (const r of results.flat().filter((x) => x.label === label)) {
    console.log(`${r.ok ? 'pass' : 'FAIL'}  ${r.label.padEnd(18)} Node ${r.version}  ${String(r.passed).padStart(2)} tests passed  ${(r.ms / 1000).toFixed(1)} s`);
  }
}
const total = (performance.now() - started) / 1000;
console.log(`${failed === 0 ? 'check:consumers passed' : `check:consumers: ${failed} failed`} in ${total.toFixed(0)} s (build, pack and install ${((installed - started) / 1000).toFixed(0)} s)`);
process.exitCode = failed === 0 ? 0 : 1;
