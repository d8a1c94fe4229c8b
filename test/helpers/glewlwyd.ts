import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/**
 * glewlwyd (https://github.com/babelouest/glewlwyd), an OAuth 2 / OpenID Connect server written in C, from the
 * Debian package: an authorization server the project did not write and did not configure to agree with it. It
 * runs as a child process on a free loopback port with a fresh SQLite database, configured through its admin API
 * as an operator would.
 */

/** How a newcomer gets the glewlwyd suite to run; printed wherever it is skipped. */
export const GLEWLWYD_HINT =
  'install the Debian package (`sudo apt-get install -y glewlwyd`), or set M2M_GLEWLWYD=/path/to/glewlwyd (and M2M_GLEWLWYD_SCHEMA=/path/to/sqlite3.sql)';

const DEBIAN_SCHEMA = '/usr/share/dbconfig-common/data/glewlwyd/install/sqlite3';
const MODULES = '/usr/lib/glewlwyd';

function onPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of [...(env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The glewlwyd binary: `M2M_GLEWLWYD` when set, else `glewlwyd` on PATH (Debian: /usr/bin). */
export function findGlewlwyd(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const given = env.M2M_GLEWLWYD;
  if (!given) return onPath('glewlwyd', env);
  try {
    accessSync(given, constants.X_OK);
    return given;
  } catch {
    return undefined;
  }
}

function run(command: string, args: string[], input?: string): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-4000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (error) => resolve({ status: null, output: String(error) }));
    child.on('close', (status) => resolve({ status, output }));
    child.stdin.end(input);
  });
}

/**
 * The glewlwyd binary, installed with apt-get when it is missing and this process may (root, apt-get present).
 * Otherwise `reason` says why there is none.
 */
export async function ensureGlewlwyd(): Promise<{ binary: string; reason?: undefined } | { binary?: undefined; reason: string }> {
  const found = findGlewlwyd();
  if (found) return { binary: found };
  if (process.env.M2M_GLEWLWYD) return { reason: `M2M_GLEWLWYD=${process.env.M2M_GLEWLWYD} is not an executable file; ${GLEWLWYD_HINT}` };
  const apt = onPath('apt-get');
  if (apt === undefined || process.getuid?.() !== 0) {
    return { reason: `glewlwyd is not installed, and this process cannot install it (${apt === undefined ? 'no apt-get' : 'not root'}); ${GLEWLWYD_HINT}` };
  }
  process.stderr.write('\n--- glewlwyd is missing: installing the Debian package (apt-get install -y glewlwyd) for the interop suite ---\n');
  let result = await run(apt, ['install', '-y', '-q', 'glewlwyd']);
  if (result.status !== 0) {
    await run(apt, ['update', '-q']);
    result = await run(apt, ['install', '-y', '-q', 'glewlwyd']);
  }
  const installed = findGlewlwyd();
  return installed ? { binary: installed } : { reason: `apt-get install glewlwyd failed (exit ${String(result.status)}):\n${result.output}` };
}

export interface GlewlwydClient {
  client_id: string;
  token_endpoint_auth_method: ('client_secret_basic' | 'client_secret_post' | 'client_secret_jwt' | 'private_key_jwt')[];
  client_secret?: string;
  /** Public keys for private_key_jwt, looked up by the assertion's kid. */
  jwks?: { keys: object[] };
  /** A PEM public key for private_key_jwt, for assertions without a kid. */
  pubkey?: string;
  scope?: string[];
}

export interface Glewlwyd {
  /** The OIDC plugin's issuer: `http://127.0.0.1:{port}/api/oidc`. */
  issuer: string;
  tokenEndpoint: string;
  jwksUri: string;
  /** Scope every registered client may get. */
  scope: string;
  addClient(client: GlewlwydClient): Promise<void>;
  /** The server's recent log lines, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

const SCOPE = 'api:read';

/** Starts glewlwyd with a fresh database and an OIDC plugin that allows client_credentials and client assertions. */
export async function startGlewlwyd(binary: string): Promise<Glewlwyd> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(binary, await freePort());
    } catch (error) {
      if (attempt === 3 || !(error instanceof Error) || !error.message.includes('exited during startup')) throw error;
    }
  }
}

async function startOnce(binary: string, port: number): Promise<Glewlwyd> {
  const dir = mkdtempSync(join(tmpdir(), 'm2m-glewlwyd-'));
  const schema = process.env.M2M_GLEWLWYD_SCHEMA || DEBIAN_SCHEMA;
  if (!existsSync(schema)) throw new Error(`glewlwyd's SQLite schema is not at ${schema}; ${GLEWLWYD_HINT}`);
  const db = join(dir, 'glewlwyd.db');
  const created = await run(onPath('sqlite3') ?? 'sqlite3', [db], readFileSync(schema, 'utf8'));
  if (created.status !== 0) throw new Error(`could not create glewlwyd's database with sqlite3:\n${created.output}`);
  const origin = `http://127.0.0.1:${port}`;
  const config = join(dir, 'glewlwyd.conf');
  // libconfig syntax. No use_secure_connection line at all: glewlwyd 2.7 reads even `false` as "on".
  writeFileSync(
    config,
    [
      `port=${port}`,
      'bind_address="127.0.0.1"',
      `external_url="${origin}"`,
      'login_url="login.html"',
      'api_prefix="api"',
      'allow_origin="*"',
      'log_mode="console"',
      'log_level="DEBUG"',
      'cookie_secure=0',
      'session_expiration=3600',
      'session_key="GLEWLWYD2_SESSION_ID"',
      'admin_scope="g_admin"',
      'profile_scope="g_profile"',
      `user_module_path="${MODULES}/user"`,
      `client_module_path="${MODULES}/client"`,
      `user_auth_scheme_module_path="${MODULES}/scheme"`,
      `plugin_module_path="${MODULES}/plugin"`,
      'hash_algorithm="SHA512"',
      `database = { type = "sqlite3"; path = "${db}"; };`,
      '',
    ].join('\n'),
  );

  const child = spawn(binary, [`--config-file=${config}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = once(child, 'exit').then(() => undefined);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const cookie = await Promise.race([
      login(origin),
      exited.then(() => {
        throw new Error(`glewlwyd exited during startup (exit code ${String(child.exitCode)}):\n${output}`);
      }),
    ]);
    const admin = async (method: string, path: string, body: unknown) => {
      const response = await fetch(`${origin}/api${path}`, {
        method,
        headers: { cookie, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (response.status !== 200) throw new Error(`glewlwyd admin ${method} ${path} answered ${response.status}: ${await response.text()}\n${output.slice(-3000)}`);
    };
    await admin('POST', '/mod/plugin/', oidcPlugin(origin));
    return {
      issuer: `${origin}/api/oidc`,
      tokenEndpoint: `${origin}/api/oidc/token`,
      jwksUri: `${origin}/api/oidc/jwks`,
      scope: SCOPE,
      addClient: (client) =>
        admin('POST', '/client/?source=database', {
          name: client.client_id,
          enabled: true,
          confidential: true,
          authorization_type: ['client_credentials'],
          redirect_uri: [],
          scope: [SCOPE],
          ...client,
        }),
      log: () => output,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Logs in as the administrator the Debian schema creates (admin / password) and returns the session cookie. */
async function login(origin: string): Promise<string> {
  const deadline = performance.now() + 15_000;
  for (;;) {
    try {
      const response = await fetch(`${origin}/api/auth/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: 'password' }),
      });
      const cookie = response.headers.get('set-cookie');
      if (response.status === 200 && cookie) return cookie.split(';')[0]!;
      throw new Error(`admin login answered ${response.status}`);
    } catch (error) {
      if (performance.now() > deadline) throw new Error(`glewlwyd did not accept the admin login on ${origin}`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** The OIDC plugin as an operator would set it up for machine-to-machine clients; glewlwyd's own defaults otherwise. */
function oidcPlugin(origin: string) {
  const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  return {
    module: 'oidc',
    name: 'oidc',
    display_name: 'OpenID Connect',
    parameters: {
      iss: `${origin}/api/oidc`,
      'jwks-private': JSON.stringify({ keys: [{ ...key, kid: 'glewlwyd-1', alg: 'RS256', use: 'sig' }] }),
      'default-kid': 'glewlwyd-1',
      'access-token-duration': 3600,
      'refresh-token-duration': 1209600,
      'code-duration': 600,
      // client_credentials is a "non-OIDC" grant in glewlwyd.
      'allow-non-oidc': true,
      'auth-type-client-enabled': true,
      'auth-type-code-enabled': false,
      // What enables client_secret_jwt and private_key_jwt at the token endpoint.
      'request-parameter-allow': true,
      'client-jwks-parameter': 'jwks',
      'client-pubkey-parameter': 'pubkey',
      'allowed-scope': ['openid', SCOPE],
    },
  };
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

