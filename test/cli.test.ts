// The m2m-token bin, run from the sources (node --import tsx src/cli/index.ts) as a child process against the
// demo servers (oidc-provider shaped like Auth0, and a protected API) and the scripted token endpoint. The packed
// bin is run by scripts/check-package.mjs and by test/cli-packed.test.ts.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startTokenServer, type TokenServer } from './helpers/token-server.js';
import { AUDIENCE, CLIENT_ID, CLIENT_SECRET, KEY_CLIENT_ID, KEY_CLIENT_PEM, startCliDemo, type CliDemo } from './helpers/cli-demo.js';

const root = join(import.meta.dirname, '..');
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the bin with exactly this environment (plus PATH), and `input` on standard input. */
function cli(args: string[], env: Record<string, string> = {}, input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/index.ts'), ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

let demo: CliDemo;
let env: Record<string, string>;

beforeAll(async () => {
  demo = await startCliDemo();
  env = { M2M_DOMAIN: demo.origin, M2M_CLIENT_ID: CLIENT_ID, M2M_CLIENT_SECRET: CLIENT_SECRET, M2M_AUDIENCE: AUDIENCE };
});
afterAll(async () => {
  await demo?.close();
});

/** `Name: value` lines, as `header --url` prints them, as a headers object. */
const asHeaders = (stdout: string) =>
  Object.fromEntries(stdout.trim().split('\n').map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]));
const doctorJson = (r: CliResult) => JSON.parse(r.stdout) as { ok: boolean; checks: { name: string; status: string; detail: string; fix?: string }[] };
const check = (r: CliResult, name: string) => doctorJson(r).checks.find((c) => c.name === name)!;

describe('m2m-token: help, version, usage errors', () => {
  it('--help lists the commands, the environment names and the exit codes; --version prints the version', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    for (const text of ['token', 'header', 'decode', 'doctor', 'M2M_CLIENT_SECRET', 'AUTH0_DOMAIN', 'Exit status', 'NO_COLOR']) expect(help.stdout).toContain(text);
    const v = await cli(['--version']);
    expect(v).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it('--help and --version load neither the library nor jose', async () => {
    // Logs every module the process resolves (import and require alike), at exit.
    const hook = `import { registerHooks } from 'node:module';
      const seen = [];
      registerHooks({ resolve(s, c, next) { const r = next(s, c); seen.push(r.url); return r; } });
      process.on('exit', () => process.stderr.write('LOADED ' + JSON.stringify(seen) + '\\n'));`;
    for (const flag of ['--help', '--version']) {
      const r = await new Promise<CliResult>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(hook)}`, '--import', 'tsx', join(root, 'src/cli/index.ts'), flag], { cwd: root, env: { PATH: process.env.PATH ?? '' } });
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
        child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
      expect(r.code).toBe(0);
      const loaded = (JSON.parse(/LOADED (.*)/.exec(r.stderr)![1]!) as string[]).filter((u) => u.includes('/src/') || u.includes('/node_modules/jose/'));
      expect(loaded.map((u) => u.slice(u.indexOf('/src/') + 1)).sort()).toEqual(['src/cli/help.ts', 'src/cli/index.ts', 'src/cli/shared.ts', 'src/version.ts']);
    }
  });

  it.each(['token', 'header', 'decode', 'doctor'])('%s --help has usage and examples', async (command) => {
    const r = await cli([command, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: m2m-token ${command}`);
    expect(r.stdout).toContain('Examples:');
  });

  it('refuses a secret given as an argument, with exit status 2, without echoing it', async () => {
    for (const args of [['token', '--client-secret', 'fake-argv-secret'], ['doctor', '--client-secret=fake-argv-secret'], ['header', '--private-key', 'fake-argv-secret']]) {
      const r = await cli(args, env);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--(client-secret|private-key) is refused: a secret on the command line/);
      expect(r.stderr).toMatch(/M2M_(CLIENT_SECRET|PRIVATE_KEY)/);
      expect(r.stdout + r.stderr).not.toContain('fake-argv-secret');
    }
  });

  it('an unknown command or option, or no command, exits 2', async () => {
    expect((await cli(['tokens'])).code).toBe(2);
    expect((await cli(['token', '--nope'])).code).toBe(2);
    expect((await cli(['decode', '--raw', 'x'])).code).toBe(2);
    const none = await cli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage: m2m-token');
  });

  it('a configuration error exits 2 with the library code and the variable', async () => {
    const r = await cli(['token'], { M2M_DOMAIN: demo.origin, M2M_CLIENT_SECRET: CLIENT_SECRET });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('M2M_INVALID_OPTION');
    expect(r.stderr).toContain('M2M_CLIENT_ID');
    const two = await cli(['token'], { ...env, M2M_TOKEN_ENDPOINT: `${demo.origin}/oauth/token` });
    expect(two.code).toBe(2);
    expect(two.stderr).toMatch(/set only one of M2M_TOKEN_ENDPOINT, .*M2M_DOMAIN/);
  });
});

describe('m2m-token token and header', () => {
  it('token --json prints one JSON object with metadata and claims, never the token', async () => {
    const r = await cli(['token', '--json'], env);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown> & { claims: Record<string, unknown> };
    expect(out).toMatchObject({ tokenType: 'Bearer', format: 'jwt', authMethod: 'client_secret_post', endpoint: `${demo.origin}/oauth/token` });
    expect(out.claims).toMatchObject({ aud: AUDIENCE, client_id: CLIENT_ID, iss: demo.as.issuer });
    expect(out.expiresIn).toBeGreaterThan(3500);
    expect(r.stdout).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/);
  });

  it('token prints metadata and claims without colour off a TTY; --raw prints only the token', async () => {
    const r = await cli(['token'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`aud        ${AUDIENCE}`);
    expect(r.stdout).toMatch(/expires in (60|59) minutes/);
    expect(r.stdout).not.toMatch(/eyJ[\w-]+\.eyJ/);
    expect(r.stdout).not.toContain('\u001b[');
    const raw = await cli(['token', '--raw', '--audience', AUDIENCE], env);
    expect(raw.code).toBe(0);
    expect(raw.stdout).toMatch(/^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+\n$/);
  });

  it('header is the Authorization value the demo API accepts', async () => {
    const r = await cli(['header'], env);
    expect(r.code).toBe(0);
    const header = r.stdout.trim();
    expect(header).toMatch(/^Bearer eyJ/);
    const before = demo.api.requests.length;
    const response = await fetch(`${demo.api.url}/invoices`, { headers: { authorization: header } });
    expect(response.status).toBe(200);
    expect(demo.api.requests.slice(before)).toEqual([expect.objectContaining({ authorized: true, path: '/invoices' })]);
  });

  it('header for a DPoP key (M2M_DPOP_KEY): both headers for --url and --method, which a DPoP API accepts; without --url, exit 2', async () => {
    const { startAuthorizationServer } = await import('../demo/authorization-server.js');
    const { startProtectedApi } = await import('../demo/protected-api.js');
    const as = await startAuthorizationServer({
      audienceParameter: true,
      clients: [{ client_id: 'cli-dpop', client_secret: CLIENT_SECRET, token_endpoint_auth_method: 'client_secret_post' }],
      resources: [{ resource: AUDIENCE, scope: 'invoices:read' }],
      dpop: {},
    });
    const api = await startProtectedApi({ issuer: as.issuer, jwksUri: as.jwksUri, audience: AUDIENCE, dpop: {} });
    try {
      const dpopEnv = { M2M_TOKEN_ENDPOINT: as.tokenEndpoint, M2M_CLIENT_ID: 'cli-dpop', M2M_CLIENT_SECRET: CLIENT_SECRET, M2M_AUDIENCE: AUDIENCE, M2M_DPOP_KEY: KEY_CLIENT_PEM };
      const url = `${api.url}/invoices`;
      const r = await cli(['header', '--url', url, '--method', 'GET'], dpopEnv);
      expect(r).toMatchObject({ code: 0, stderr: '' });
      const lines = r.stdout.trim().split('\n');
      expect(lines).toEqual([expect.stringMatching(/^Authorization: DPoP eyJ/), expect.stringMatching(/^DPoP: eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+$/)]);
      const headers = asHeaders(r.stdout);
      expect((await fetch(url, { headers })).status).toBe(200);
      // The proof is for that request only: replayed, or sent with another method, the API refuses it.
      expect((await fetch(url, { headers })).status).toBe(401);
      const post = await cli(['header', '--url', url], dpopEnv);
      expect((await fetch(url, { method: 'POST', headers: asHeaders(post.stdout) })).status).toBe(401);
      const noUrl = await cli(['header'], dpopEnv);
      expect(noUrl.code).toBe(2);
      expect(noUrl.stderr).toContain('DPoP token: give --url');
      expect(noUrl.stdout).toBe('');
      expect((await cli(['header', '--method', 'GET'], dpopEnv)).code).toBe(2);
      const doctor = await cli(['doctor', '--json'], dpopEnv);
      expect(check(doctor, 'response')).toMatchObject({ status: 'pass', detail: expect.stringContaining('token_type DPoP') });
    } finally {
      await api.close();
      await as.close();
    }
  });

  it('reads the secret from standard input (--client-secret-file -) and from a file', async () => {
    const { M2M_CLIENT_SECRET: _, ...noSecret } = env;
    const stdin = await cli(['header', '--client-secret-file', '-'], noSecret, `${CLIENT_SECRET}\n`);
    expect(stdin.code).toBe(0);
    expect(stdin.stdout).toMatch(/^Bearer eyJ/);
    const file = join(mkdtempSync(join(tmpdir(), 'm2m-cli-')), 'secret');
    writeFileSync(file, `${CLIENT_SECRET}\n`);
    const fromFile = await cli(['header', '--client-secret-file', file], { ...noSecret, M2M_CLIENT_SECRET: 'fake-wrong-secret' });
    expect(fromFile.code).toBe(0);
  });

  it('private_key_jwt with discovery: the key from a file, from standard input, or inline in M2M_PRIVATE_KEY', async () => {
    const keyEnv = { M2M_ISSUER: demo.as.issuer, M2M_CLIENT_ID: KEY_CLIENT_ID, M2M_AUDIENCE: AUDIENCE };
    const file = join(mkdtempSync(join(tmpdir(), 'm2m-cli-')), 'key.pem');
    writeFileSync(file, KEY_CLIENT_PEM);
    for (const [args, extra, input] of [
      [['--private-key-file', file], {}, undefined],
      [['--private-key-file', '-'], {}, KEY_CLIENT_PEM],
      [[], { M2M_PRIVATE_KEY: KEY_CLIENT_PEM }, undefined],
    ] as const) {
      const r = await cli(['token', '--json', ...args], { ...keyEnv, ...extra }, input);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ authMethod: 'private_key_jwt', claims: { client_id: KEY_CLIENT_ID, aud: AUDIENCE } });
    }
    const doctor = await cli(['doctor', '--json', '--private-key-file', file], keyEnv);
    expect(doctor.code).toBe(0);
    expect(check(doctor, 'auth method').detail).toMatch(/^private_key_jwt \(the server allows .*private_key_jwt/);
  });

  it('a refused request exits 1 with the library error code', async () => {
    const r = await cli(['token'], { ...env, M2M_CLIENT_SECRET: 'fake-wrong-secret' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('M2M_OAUTH_ERROR');
    expect(r.stderr).toContain('invalid_client');
    expect(r.stderr).not.toContain('fake-wrong-secret');
  });
});

describe('m2m-token decode', () => {
  let jwt: string;
  beforeAll(async () => {
    jwt = (await cli(['token', '--raw'], env)).stdout.trim();
  });

  it('prints header, claims and expiry in words, from an argument or standard input', async () => {
    const arg = await cli(['decode', jwt]);
    expect(arg.code).toBe(0);
    expect(arg.stdout).toContain('"alg":"RS256"');
    expect(arg.stdout).toContain(`aud        ${AUDIENCE}`);
    expect(arg.stdout).toMatch(/expiry {2}expires in (60|59) minutes/);
    expect(arg.stdout).toContain('signature not verified');
    const stdin = await cli(['decode', '-', '--json'], {}, `${jwt}\n`);
    expect(stdin.code).toBe(0);
    expect(JSON.parse(stdin.stdout)).toMatchObject({ claims: { aud: AUDIENCE }, expired: false, verified: null });
  });

  it('verifies the signature with --issuer (discovery) or --jwks, and fails on a forged one', async () => {
    const ok = await cli(['decode', jwt, '--issuer', demo.as.issuer, '--audience', AUDIENCE, '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).verified).toMatchObject({ ok: true });
    const [h, p, s] = jwt.split('.');
    const forged = `${h}.${p}.${s!.slice(0, -4)}${s!.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    const bad = await cli(['decode', forged, '--jwks', demo.as.jwksUri]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('signature  INVALID');
    const wrongAud = await cli(['decode', jwt, '--jwks', demo.as.jwksUri, '--audience', 'https://other']);
    expect(wrongAud.code).toBe(1);
  });

  // util-linux `script` gives the bin a pseudo-terminal: colours there, none with NO_COLOR.
  it.skipIf(!existsSync('/usr/bin/script'))('colours only on a terminal, and not with NO_COLOR', async () => {
    const onTty = (extra: Record<string, string>) => new Promise<string>((resolve, reject) => {
      const command = `${process.execPath} --import tsx src/cli/index.ts decode ${jwt}`;
      const child = spawn('/usr/bin/script', ['-qec', command, '/dev/null'], { cwd: root, env: { PATH: process.env.PATH ?? '', TERM: 'xterm', ...extra } });
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.on('error', reject);
      child.on('close', () => resolve(stdout));
    });
    expect(await onTty({})).toContain('\u001b[1mheader\u001b[22m');
    const plain = await onTty({ NO_COLOR: '1' });
    expect(plain).toContain('header  {');
    expect(plain).not.toContain('\u001b[1m');
  });

  it('refuses what is not a JWT', async () => {
    const r = await cli(['decode', 'not-a-jwt']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('not a JWT');
  });
});

describe('m2m-token doctor', () => {
  it('passes on a good configuration (domain and issuer), exit 0', async () => {
    const r = await cli(['doctor'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/0 failed/);
    const viaIssuer = await cli(['doctor', '--json'], { ...env, M2M_DOMAIN: '', M2M_ISSUER: demo.as.issuer });
    expect(viaIssuer.code).toBe(0);
    const report = doctorJson(viaIssuer);
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => [c.name, c.status])).toEqual([
      ['configuration', 'pass'], ['endpoint', 'pass'], ['discovery', 'pass'], ['clock', 'pass'], ['token request', 'pass'],
      ['auth method', 'pass'], ['response', 'pass'], ['claims', 'pass'], ['quota', 'skip'],
    ]);
  });

  it('a wrong secret: the token request fails and the fix names the secret variables', async () => {
    const r = await cli(['doctor'], { ...env, M2M_CLIENT_SECRET: 'fake-wrong-secret' });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL {2}token request {2}M2M_OAUTH_ERROR: .*invalid_client/);
    expect(r.stdout).toMatch(/fix: the server refused the client's credentials: .*M2M_CLIENT_SECRET/);
    expect(r.stdout + r.stderr).not.toContain('fake-wrong-secret');
  });

  it('a wrong audience: the fix names M2M_AUDIENCE and the API identifier', async () => {
    const r = await cli(['doctor', '--json'], { ...env, M2M_AUDIENCE: 'https://unknown-api' });
    expect(r.code).toBe(1);
    const c = check(r, 'token request');
    expect(c.status).toBe('fail');
    expect(c.detail).toContain('invalid_target');
    expect(c.fix).toMatch(/audience "https:\/\/unknown-api".*M2M_AUDIENCE is exactly the API identifier/);
  });

  it('an issuer mismatch: discovery fails and the fix gives the issuer the metadata names', async () => {
    const wrong = demo.as.issuer.replace('127.0.0.1', 'localhost');
    const r = await cli(['doctor', '--json'], { ...env, M2M_DOMAIN: '', M2M_ISSUER: wrong });
    expect(r.code).toBe(1);
    const c = check(r, 'discovery');
    expect(c.status).toBe('fail');
    expect(c.detail).toContain('issuer mismatch');
    expect(c.fix).toContain(`M2M_ISSUER=${demo.as.issuer} `);
    expect(check(r, 'token request').status).toBe('skip');
  });

  describe('against a scripted token endpoint', () => {
    let server: TokenServer;
    beforeAll(async () => {
      server = await startTokenServer();
    });
    afterAll(async () => {
      await server.close();
    });

    it('a skewed clock: the server Date is 10 minutes ahead, the clock check fails with the NTP fix', async () => {
      server.respond((_req, res) => {
        res.setHeader('date', new Date(Date.now() + 10 * 60_000).toUTCString());
        json(res, 200, { access_token: 'opaque-token', token_type: 'Bearer', expires_in: 3600 });
      });
      const r = await cli(['doctor'], { M2M_TOKEN_ENDPOINT: server.url, M2M_CLIENT_ID: 'c', M2M_CLIENT_SECRET: 'fake-secret' });
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/FAIL {2}clock +local clock (599|600|601) s behind the server's Date header/);
      expect(r.stdout).toMatch(/fix: sync this machine's clock \(NTP/);
      expect(r.stdout).toMatch(/ok {4}token request/);
    });

    it('reports Auth0 quota headers, and fails when a bucket is used up', async () => {
      let remaining = 40;
      server.respond((_req, res) => {
        json(res, 200, { access_token: 'opaque-token', token_type: 'Bearer', expires_in: 3600 }, {
          'auth0-client-quota-limit': `b=per_hour;q=50;r=${remaining};t=600`,
        });
      });
      const config = { M2M_TOKEN_ENDPOINT: server.url, M2M_CLIENT_ID: 'c', M2M_CLIENT_SECRET: 'fake-secret' };
      const fine = await cli(['doctor', '--json'], config);
      expect(fine.code).toBe(0);
      expect(check(fine, 'quota')).toMatchObject({ status: 'pass', detail: expect.stringContaining('client per_hour 40/50 left') });
      remaining = 0;
      const empty = await cli(['doctor', '--json'], config);
      expect(empty.code).toBe(1);
      expect(check(empty, 'quota')).toMatchObject({ status: 'fail', fix: expect.stringContaining('used up') });
    });

    it('a short lifetime fails the response check', async () => {
      server.respond((_req, res) => json(res, 200, { access_token: 'opaque-token', token_type: 'Bearer', expires_in: 30 }));
      const r = await cli(['doctor', '--json'], { M2M_TOKEN_ENDPOINT: server.url, M2M_CLIENT_ID: 'c', M2M_CLIENT_SECRET: 'fake-secret' });
      expect(r.code).toBe(1);
      expect(check(r, 'response')).toMatchObject({ status: 'fail', detail: 'lifetime 30 s: too short to cache' });
    });
  });

  it('an unreachable endpoint fails the endpoint check with the variable to fix', async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const r = await cli(['doctor', '--json'], { M2M_TOKEN_ENDPOINT: `http://127.0.0.1:${port}/oauth/token`, M2M_CLIENT_ID: 'c', M2M_CLIENT_SECRET: 'fake-secret' });
    expect(r.code).toBe(1);
    expect(check(r, 'endpoint')).toMatchObject({ status: 'fail', fix: expect.stringContaining('ECONNREFUSED') });
  });
});
