// Builds, checks that the CommonJS files never use import() or an empty import.meta (what Jest's CommonJS
// runtime cannot run), packs, lints the tarball (publint, arethetypeswrong), then installs it into a scratch
// consumer and loads it there both as ESM (import) and as CJS (require). Run with `npm run check:package`
// (Node 24 via npm). scripts/check-consumers.mjs runs it under Jest, vitest and node:test.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const scratch = join(root, '.scratch', 'check-package');
const run = (cmd, args, cwd = root) => {
  console.log(`$ ${cmd} ${args.join(' ')}`);
  execFileSync(cmd, args, { cwd, stdio: 'inherit', env: process.env });
};

rmSync(scratch, { recursive: true, force: true });
mkdirSync(scratch, { recursive: true });
run('npm', ['run', 'build']);
const cjsFiles = readdirSync(join(root, 'dist'), { recursive: true }).filter((f) => f.endsWith('.cjs'));
for (const file of cjsFiles) {
  const code = readFileSync(join(root, 'dist', file), 'utf8');
  // esbuild writes `var import_meta = {};` where it could not keep import.meta in CommonJS.
  for (const [pattern, what] of [[/\bimport\(/, 'import()'], [/\bimport_meta\d* = \{\}/, 'an empty import.meta']]) {
    if (pattern.test(code)) throw new Error(`dist/${file} uses ${what}: Jest's CommonJS runtime cannot run it`);
  }
}
console.log(`${cjsFiles.length} CommonJS files in dist/, none with import() or an empty import.meta`);
run('npm', ['pack', '--pack-destination', scratch, '--silent']);
const tarball = join(scratch, readdirSync(scratch).find((f) => f.endsWith('.tgz')));
run('npx', ['publint', 'run', tarball, '--strict']);
run('npx', ['attw', tarball, '--profile', 'node16', '--format', 'table-flipped']);

const consumer = join(scratch, 'consumer');
mkdirSync(consumer);
writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, version: '0.0.0' }));
// The optional peers of the subpath entries, at the versions this repository tests with.
const dev = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).devDependencies;
const peers = ['msw', '@mswjs/interceptors', '@opentelemetry/api'].map((name) => `${name}@${dev[name]}`);
run('npm', ['install', tarball, ...peers, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], consumer);

const smoke = `
  const check = (m, how) => {
    for (const name of ['TokenClient', 'TokenClientError', 'OAuthError', 'ErrorCode', 'createToken']) {
      if (!m[name]) throw new Error(how + ': missing export ' + name);
    }
    const client = new m.TokenClient({ domain: 'tenant.auth0.com', clientId: 'c', clientSecret: 's' });
    if (!JSON.stringify(client).includes('https://tenant.auth0.com/oauth/token')) throw new Error(how + ': bad client');
    return client.close();
  };
  const checkAdapters = (load, how) => {
    for (const [entry, name] of [['m2m-token/fetch', 'fetchWithTokens'], ['m2m-token/axios', 'attachTokens'], ['m2m-token/undici', 'tokenInterceptor']]) {
      if (typeof load(entry)[name] !== 'function') throw new Error(how + ': ' + entry + ' is missing ' + name);
    }
  };
  const checkTesting = (kit, how) => {
    for (const name of ['mockTokenEndpoint', 'mockNetwork', 'FakeTokenSource', 'staticTokenSource', 'ManualClock']) {
      if (!kit[name]) throw new Error(how + ': m2m-token/testing is missing ' + name);
    }
  };
`;
writeFileSync(join(consumer, 'esm.mjs'), `${smoke}
  import * as esm from 'm2m-token';
  import { createRequire } from 'node:module';
  const cjs = createRequire(import.meta.url)('m2m-token');
  await check(esm, 'import');
  await check(cjs, 'require');
  checkTesting(await import('m2m-token/testing'), 'import');
  const imported = {};
  for (const entry of ['m2m-token/fetch', 'm2m-token/axios', 'm2m-token/undici']) imported[entry] = await import(entry);
  checkAdapters((entry) => imported[entry], 'import');
  checkAdapters(createRequire(import.meta.url), 'require');
  // ioredis is an optional peer the entry only uses for types: it loads without it.
  if (typeof (await import('m2m-token/redis')).RedisTokenStore !== 'function') throw new Error('import: m2m-token/redis');
  if (typeof createRequire(import.meta.url)('m2m-token/redis').RedisTokenStore !== 'function') throw new Error('require: m2m-token/redis');
  checkTesting(createRequire(import.meta.url)('m2m-token/testing'), 'require');
  // The kit runs its own copy of msw (dist/testing/msw-modules.cjs); handlers cross between it and the app's msw.
  {
    const { http, HttpResponse } = await import('msw');
    const { defineNetwork, InterceptorSource } = await import('msw/experimental');
    const { HttpRequestInterceptor } = await import('@mswjs/interceptors/http');
    const kit = await import('m2m-token/testing');
    const auth = kit.mockTokenEndpoint({ domain: 'tenant.auth0.com', clientId: 'c', clientSecret: 'fake-secret' });
    const network = kit.mockNetwork(auth.handlers, http.get('https://api.example.com/own', () => HttpResponse.json({ own: true })));
    await network.enable();
    try {
      const body = await (await fetch('https://api.example.com/own')).json();
      if (body.own !== true) throw new Error('msw: a handler made with the app msw did not answer in mockNetwork()');
    } finally {
      await network.disable();
    }
    const own = defineNetwork({ sources: [new InterceptorSource({ interceptors: [new HttpRequestInterceptor()] })], handlers: [...auth.handlers], context: { quiet: true }, onUnhandledFrame: 'error' });
    await own.enable();
    try {
      const client = new esm.TokenClient({ domain: 'tenant.auth0.com', clientId: 'c', clientSecret: 'fake-secret', audience: 'https://api' });
      const token = await client.getToken().finally(() => client.close());
      if (token.accessToken.split('.').length !== 3 || auth.requestCount !== 1) throw new Error('msw: the kit handlers did not answer in a network of the app msw');
    } finally {
      await own.disable();
    }
  }
  if (typeof (await import('m2m-token/opentelemetry')).enableOpenTelemetry !== 'function') throw new Error('import: m2m-token/opentelemetry');
  if (typeof createRequire(import.meta.url)('m2m-token/opentelemetry').enableOpenTelemetry !== 'function') throw new Error('require: m2m-token/opentelemetry');
  // Two copies (ESM and CJS) of the package: instanceof still holds through the Symbol.for brand.
  try { new cjs.TokenClient({ clientId: 'c' }); } catch (e) {
    if (!(e instanceof esm.TokenClientError) || !(e instanceof esm.ConfigurationError)) throw new Error('brand: instanceof across copies failed');
  }
  console.log('import and require of the packed tarball: ok');
`);
writeFileSync(join(consumer, 'cjs.cjs'), `${smoke}
  checkTesting(require('m2m-token/testing'), 'require');
  check(require('m2m-token'), 'require').then(() => console.log('require from a CommonJS file: ok'));
`);
run('node', ['esm.mjs'], consumer);
run('node', ['cjs.cjs'], consumer);

// On a Node older than engines allows, the package must say so by name (M2M_UNSUPPORTED_RUNTIME), not fail deep
// inside a dependency. The machine's own node (outside node_modules/.bin) is such a Node on the dev machines (20).
{
  const systemPath = (process.env.PATH ?? '').split(':').filter((dir) => !dir.includes('node_modules')).join(':');
  const which = spawnSync('sh', ['-c', 'command -v node'], { env: { ...process.env, PATH: systemPath }, encoding: 'utf8' });
  const oldNode = which.stdout.trim();
  const version = oldNode ? spawnSync(oldNode, ['--version'], { encoding: 'utf8' }).stdout.trim() : '';
  const [major, minor] = version.slice(1).split('.').map(Number);
  if (!oldNode || major > 22 || (major === 22 && minor >= 19)) {
    console.log(`check:package: no Node older than 22.19 on PATH (${version || 'none'}); the unsupported-runtime check did not run`);
    if (process.env.CI) throw new Error('CI: the unsupported-runtime check needs the machine\'s Node 20');
  } else {
    const probe = `const e = (() => { try { new m.TokenClient({ domain: 'tenant.auth0.com', clientId: 'c', clientSecret: 'fake-secret' }); } catch (error) { return error; } })();
if (!e || e.code !== 'M2M_UNSUPPORTED_RUNTIME' || !e.message.includes('22.19.0')) { console.error('expected M2M_UNSUPPORTED_RUNTIME, got', e); process.exit(1); }`;
    writeFileSync(join(consumer, 'old-node.cjs'), `const m = require('m2m-token');\n${probe}`);
    writeFileSync(join(consumer, 'old-node.mjs'), `import * as m from 'm2m-token';\n${probe}`);
    for (const file of ['old-node.cjs', 'old-node.mjs']) {
      const result = spawnSync(oldNode, [file], { cwd: consumer, encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`${file} on Node ${version}: ${result.stderr || result.stdout}`);
    }
    console.log(`on Node ${version} (unsupported), import and require, then construction, fail with M2M_UNSUPPORTED_RUNTIME: ok`);
  }
}

// The m2m-token bin from the tarball (consumer/node_modules/.bin/m2m-token), against the demo servers: started by
// a tsx script (they are TypeScript), which spawns the installed bin as a user's shell would.
const cliCheck = join(scratch, 'cli-check.mts');
writeFileSync(cliCheck, `
import { spawn, spawnSync } from 'node:child_process';
import { startCliDemo, AUDIENCE, CLIENT_ID, CLIENT_SECRET } from ${JSON.stringify(join(root, 'test/helpers/cli-demo.ts'))};
const bin = ${JSON.stringify(join(consumer, 'node_modules', '.bin', 'm2m-token'))};
const version = ${JSON.stringify(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version)};
const fail = (message: string) => { throw new Error('m2m-token bin: ' + message); };
const cli = (args: string[], env: Record<string, string>) => new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
  const child = spawn(bin, args, { env: { PATH: process.env.PATH ?? '', ...env } });
  let stdout = '', stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  child.on('close', (code) => resolve({ code, stdout, stderr }));
});
// --help over bare node: the median of 15 runs of each, interleaved.
const time = (args: string[]) => { const t = performance.now(); const r = spawnSync(process.execPath, args, { encoding: 'utf8' }); if (r.status !== 0) fail(args.join(' ') + ' exited ' + r.status); return performance.now() - t; };
const helpRuns: number[] = [], bareRuns: number[] = [];
for (let i = 0; i < 15; i++) { helpRuns.push(time([bin, '--help'])); bareRuns.push(time(['-e', '0'])); }
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const overBare = median(helpRuns) - median(bareRuns);
console.log('m2m-token --help: ' + median(helpRuns).toFixed(0) + ' ms, bare node -e 0: ' + median(bareRuns).toFixed(0) + ' ms, over bare node: ' + overBare.toFixed(0) + ' ms');
if (overBare > 150) fail('--help took ' + overBare.toFixed(0) + ' ms over bare node (budget 150 ms)');

const demo = await startCliDemo();
try {
  const env = { M2M_DOMAIN: demo.origin, M2M_CLIENT_ID: CLIENT_ID, M2M_CLIENT_SECRET: CLIENT_SECRET, M2M_AUDIENCE: AUDIENCE };
  const v = await cli(['--version'], {});
  if (v.stdout.trim() !== version) fail('--version printed ' + v.stdout);
  const refused = await cli(['token', '--client-secret', 'fake-argv-secret'], env);
  if (refused.code !== 2 || !refused.stderr.includes('is refused')) fail('a secret argument was not refused: ' + refused.stderr);
  const token = await cli(['token', '--json'], env);
  if (token.code !== 0 || JSON.parse(token.stdout).claims?.aud !== AUDIENCE) fail('token --json: ' + token.stdout + token.stderr);
  const header = await cli(['header'], env);
  const api = await fetch(demo.api.url + '/invoices', { headers: { authorization: header.stdout.trim() } });
  if (header.code !== 0 || api.status !== 200) fail('header: the demo API answered ' + api.status);
  const raw = await cli(['token', '--raw'], env);
  const decoded = await cli(['decode', raw.stdout.trim(), '--issuer', demo.as.issuer, '--json'], {});
  if (decoded.code !== 0 || JSON.parse(decoded.stdout).verified?.ok !== true) fail('decode --issuer: ' + decoded.stdout + decoded.stderr);
  const doctor = await cli(['doctor'], env);
  if (doctor.code !== 0) fail('doctor on a good configuration: ' + doctor.stdout + doctor.stderr);
  const wrong = await cli(['doctor'], { ...env, M2M_CLIENT_SECRET: 'fake-wrong-secret' });
  if (wrong.code !== 1 || !wrong.stdout.includes('M2M_CLIENT_SECRET')) fail('doctor on a wrong secret: ' + wrong.stdout + wrong.stderr);
  const audience = await cli(['doctor'], { ...env, M2M_AUDIENCE: 'https://unknown-api' });
  if (audience.code !== 1 || !/M2M_AUDIENCE is exactly the API identifier/.test(audience.stdout)) fail('doctor on a wrong audience: ' + audience.stdout + audience.stderr);
  const mismatch = await cli(['doctor'], { ...env, M2M_DOMAIN: '', M2M_ISSUER: demo.as.issuer.replace('127.0.0.1', 'localhost') });
  if (mismatch.code !== 1 || !mismatch.stdout.includes('M2M_ISSUER=' + demo.as.issuer)) fail('doctor on an issuer mismatch: ' + mismatch.stdout + mismatch.stderr);
  // A token endpoint whose Date header is 10 minutes ahead of this machine.
  const { createServer } = await import('node:http');
  const skewed = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', date: new Date(Date.now() + 10 * 60_000).toUTCString() });
      res.end(JSON.stringify({ access_token: 'opaque-token', token_type: 'Bearer', expires_in: 3600 }));
    });
  });
  await new Promise<void>((resolve) => skewed.listen(0, '127.0.0.1', resolve));
  try {
    const port = (skewed.address() as { port: number }).port;
    const clock = await cli(['doctor'], { M2M_TOKEN_ENDPOINT: 'http://127.0.0.1:' + port + '/oauth/token', M2M_CLIENT_ID: 'c', M2M_CLIENT_SECRET: 'fake-secret' });
    if (clock.code !== 1 || !/FAIL {2}clock/.test(clock.stdout) || !clock.stdout.includes('NTP')) fail('doctor on a skewed clock: ' + clock.stdout + clock.stderr);
  } finally {
    skewed.close();
  }
  console.log('m2m-token bin from the packed tarball: --version, token --json, header, decode, doctor (passing; wrong secret, wrong audience, issuer mismatch, skewed clock): ok');
} finally {
  await demo.close();
}
`);
run('npx', ['tsx', cliCheck]);
console.log('check:package passed');
