// The commands of the m2m-token command line. Loaded by ./index.ts only when a command runs; the library and
// jose are imported here on first use, never at the top, so that this module costs nothing to parse-and-skip.
import type { Token, TokenClient, TokenRequestMessage } from '../index.js';
import { optionsFromEnv, type EnvRecord } from '../env.js';
import { claimLines, decodeParts, describeError, exitFor, inWords } from './format.js';
import { EXIT, UsageError, useColor, type Command, type ParsedValues } from './shared.js';

type Library = typeof import('../index.js');
type Jose = typeof import('jose');

// 'm2m-token' is the package itself: external in the build, the sources under tsx (tsconfig paths).
const library = (): Promise<Library> => import('m2m-token') as Promise<Library>;
const jose = (): Promise<Jose> => import('jose');

const out = (text: string) => process.stdout.write(`${text}\n`);
const err = (text: string) => process.stderr.write(`${text}\n`);

function paint(stream: NodeJS.WriteStream) {
  const on = useColor(stream);
  const wrap = (open: number, close: number) => (s: string) => (on ? `\u001b[${open}m${s}\u001b[${close}m` : s);
  return { red: wrap(31, 39), green: wrap(32, 39), yellow: wrap(33, 39), dim: wrap(2, 22), bold: wrap(1, 22) };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The environment with the command line's flags over it. Secret files named `-` are read from standard input. */
async function configEnv(values: ParsedValues): Promise<EnvRecord> {
  const env: Record<string, string | undefined> = { ...process.env };
  const endpointFlags = [values.domain, values.issuer, values['token-endpoint']].filter((v) => v !== undefined);
  if (endpointFlags.length > 1) throw new UsageError('give only one of --domain, --issuer, --token-endpoint');
  if (endpointFlags.length === 1) {
    for (const name of ['M2M_DOMAIN', 'AUTH0_DOMAIN', 'M2M_ISSUER', 'M2M_TOKEN_ENDPOINT']) delete env[name];
    if (values.domain !== undefined) env.M2M_DOMAIN = values.domain;
    if (values.issuer !== undefined) env.M2M_ISSUER = values.issuer;
    if (values['token-endpoint'] !== undefined) env.M2M_TOKEN_ENDPOINT = values['token-endpoint'];
  }
  if (values['client-secret-file'] === '-' && values['private-key-file'] === '-') {
    throw new UsageError('only one of --client-secret-file and --private-key-file can read standard input');
  }
  if (values['client-secret-file'] !== undefined || values['private-key-file'] !== undefined) {
    for (const name of ['M2M_CLIENT_SECRET', 'M2M_CLIENT_SECRET_FILE', 'M2M_PRIVATE_KEY', 'M2M_PRIVATE_KEY_FILE']) delete env[name];
  }
  const secretFile = values['client-secret-file'];
  if (secretFile === '-') env.M2M_CLIENT_SECRET = (await readStdin()).trim();
  else if (secretFile !== undefined) env.M2M_CLIENT_SECRET_FILE = secretFile;
  const keyFile = values['private-key-file'];
  if (keyFile === '-') env.M2M_PRIVATE_KEY = await readStdin();
  else if (keyFile !== undefined) env.M2M_PRIVATE_KEY_FILE = keyFile;
  const plain: [keyof ParsedValues, string][] = [
    ['client-id', 'M2M_CLIENT_ID'], ['auth-method', 'M2M_CLIENT_AUTHENTICATION'], ['audience', 'M2M_AUDIENCE'],
    ['organization', 'M2M_ORGANIZATION'], ['scope', 'M2M_SCOPE'],
  ];
  for (const [flag, name] of plain) if (values[flag] !== undefined) env[name] = values[flag] as string;
  return env;
}

/** Watches the client's token requests (m2m-token:request) for the endpoint, the method used and the status. */
async function watchRequests(lib: Library): Promise<{ seen: TokenRequestMessage[]; stop(): void }> {
  const dc = await import('node:diagnostics_channel');
  const channel = dc.tracingChannel<string, TokenRequestMessage>(lib.diagnosticsChannels.request);
  const seen: TokenRequestMessage[] = [];
  const none = () => {};
  const handlers = { start: (m: TokenRequestMessage) => void seen.push(m), end: none, asyncStart: none, asyncEnd: none, error: none };
  channel.subscribe(handlers);
  return { seen, stop: () => channel.unsubscribe(handlers) };
}

async function getToken(values: ParsedValues): Promise<{ lib: Library; client: TokenClient; token: Token; seen: TokenRequestMessage[] }> {
  const env = await configEnv(values);
  const lib = await library();
  const options = optionsFromEnv(env);
  const client = new lib.TokenClient(options);
  const watch = await watchRequests(lib);
  try {
    const token = await client.getToken();
    return { lib, client, token, seen: watch.seen };
  } catch (error) {
    await client.close();
    throw error;
  } finally {
    watch.stop();
  }
}

async function tokenCommand(values: ParsedValues): Promise<number> {
  const { client, token, seen } = await getToken(values);
  await client.close();
  if (values.raw) {
    out(token.accessToken);
    return EXIT.OK;
  }
  const j = await jose();
  const parts = decodeParts(token.accessToken, j);
  const now = Date.now();
  const last = seen.at(-1);
  const summary = {
    tokenType: token.tokenType,
    expiresIn: Math.round(token.expiresIn / 1000),
    expiresAt: new Date(token.expiresAt).toISOString(),
    scope: token.scope ?? null,
    endpoint: last ? `${last.endpoint}${last.path}` : null,
    authMethod: last?.authMethod ?? null,
    quota: token.quota ?? null,
    format: parts ? 'jwt' : 'opaque',
    header: parts?.header ?? null,
    claims: parts?.claims ?? null,
  };
  if (values.json) {
    out(JSON.stringify(summary));
    return EXIT.OK;
  }
  const c = paint(process.stdout);
  out(`${c.bold('token')}       ${token.tokenType}, ${parts ? 'JWT' : 'opaque'}, expires ${inWords(token.expiresAt - now)} (${summary.expiresAt})`);
  if (token.scope) out(`${c.bold('scope')}       ${token.scope.join(' ')}`);
  if (last) out(`${c.bold('endpoint')}    ${summary.endpoint} (${last.authMethod})`);
  for (const b of token.quota?.buckets ?? []) {
    out(`${c.bold('quota')}       ${b.scope} ${b.bucket}: ${b.remaining}/${b.limit} left, resets ${inWords(b.resetAt - now)}`);
  }
  if (parts) {
    out(`${c.bold('header')}      ${JSON.stringify(parts.header)}`);
    out(c.bold('claims'));
    for (const line of claimLines(parts.claims, now)) out(line);
  }
  out(c.dim('(the token itself is not printed: use --raw)'));
  return EXIT.OK;
}

async function headerCommand(values: ParsedValues): Promise<number> {
  if (values.method !== undefined && values.url === undefined) throw new UsageError('--method needs --url: the request the DPoP proof is for');
  const { client, token } = await getToken(values);
  try {
    if (token.tokenType.toLowerCase() === 'dpop') {
      // A DPoP token is useless without a proof made for the exact request, so both headers are printed.
      if (values.url === undefined) {
        throw new UsageError('the token is a DPoP token: give --url (and --method, default GET) of the request, and both headers are printed, one per line (curl -H "$line")');
      }
      const headers = await client.getRequestHeaders({ method: values.method ?? 'GET', url: values.url });
      out(`Authorization: ${headers.authorization}`);
      out(`DPoP: ${headers.dpop}`);
      return EXIT.OK;
    }
    const type = token.tokenType.toLowerCase() === 'bearer' ? 'Bearer' : token.tokenType;
    out(`${type} ${token.accessToken}`);
    return EXIT.OK;
  } finally {
    await client.close();
  }
}

async function discoverJwks(issuer: string): Promise<string> {
  const url = new URL(issuer);
  const trimmed = url.href.replace(/\/$/, '');
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  const candidates = [`${trimmed}/.well-known/openid-configuration`, `${url.origin}/.well-known/oauth-authorization-server${path}`];
  for (const candidate of candidates) {
    const response = await fetch(candidate).catch(() => undefined);
    if (!response?.ok) continue;
    const metadata = (await response.json().catch(() => ({}))) as { jwks_uri?: unknown };
    if (typeof metadata.jwks_uri === 'string') return metadata.jwks_uri;
  }
  throw new Error(`no discovery metadata with a jwks_uri for ${issuer} (tried ${candidates.join(', ')})`);
}

async function decodeCommand(values: ParsedValues, positionals: string[]): Promise<number> {
  let input = positionals[0];
  if (input === undefined || input === '-') {
    if (input === undefined && process.stdin.isTTY) throw new UsageError('decode needs a JWT, or - to read one from standard input');
    input = await readStdin();
  }
  const jwt = input.trim().replace(/^Bearer\s+/i, '');
  const j = await jose();
  const parts = decodeParts(jwt, j);
  if (!parts) {
    err('m2m-token: not a JWT (three base64url parts with a JSON header and claims)');
    return EXIT.FAILED;
  }
  const now = Date.now();
  const exp = typeof parts.claims.exp === 'number' ? parts.claims.exp * 1000 : undefined;
  const expiry = exp === undefined ? 'no expiry (no exp claim)' : exp > now ? `expires ${inWords(exp - now)}` : `expired ${inWords(exp - now)}`;
  let verified: { ok: boolean; by: string; error?: string } | undefined;
  if (values.jwks !== undefined || values.issuer !== undefined) {
    const by = values.jwks ?? values.issuer!;
    try {
      const jwksUrl = values.jwks ?? (await discoverJwks(values.issuer!));
      await j.jwtVerify(jwt, j.createRemoteJWKSet(new URL(jwksUrl)), {
        ...(values.issuer === undefined ? {} : { issuer: values.issuer }),
        ...(values.audience === undefined ? {} : { audience: values.audience }),
      });
      verified = { ok: true, by };
    } catch (error) {
      const e = error as { code?: string; message?: string };
      verified = { ok: false, by, error: `${e.code ? `${e.code}: ` : ''}${e.message ?? String(error)}` };
    }
  } else if (values.audience !== undefined) {
    throw new UsageError('--audience is checked only with --jwks or --issuer');
  }
  if (values.json) {
    out(JSON.stringify({ header: parts.header, claims: parts.claims, expired: exp !== undefined && exp <= now, expiry, verified: verified ?? null }));
  } else {
    const c = paint(process.stdout);
    out(`${c.bold('header')}  ${JSON.stringify(parts.header)}`);
    out(c.bold('claims'));
    for (const line of claimLines(parts.claims, now)) out(line);
    out(`${c.bold('expiry')}  ${exp !== undefined && exp <= now ? c.red(expiry) : expiry}`);
    if (verified === undefined) out(c.dim('signature not verified (use --jwks <url> or --issuer <url>)'));
    else if (verified.ok) out(`${c.bold('signature')}  ${c.green('valid')} (${verified.by})`);
    else out(`${c.bold('signature')}  ${c.red('INVALID')}: ${verified.error}`);
  }
  return verified !== undefined && !verified.ok ? EXIT.FAILED : EXIT.OK;
}

export async function run(command: Command, values: ParsedValues, positionals: string[]): Promise<number> {
  try {
    switch (command) {
      case 'token':
        return await tokenCommand(values);
      case 'header':
        return await headerCommand(values);
      case 'decode':
        return await decodeCommand(values, positionals);
      case 'doctor': {
        const { doctor } = await import('./doctor.js');
        return await doctor(values, { optionsFromEnv, configEnv, library, jose, watchRequests, decodeParts, inWords, paint });
      }
    }
  } catch (error) {
    err(`m2m-token ${command}: ${describeError(error)}`);
    return exitFor(error);
  }
}

export type { Library, Jose };
export type DoctorTools = {
  optionsFromEnv: typeof optionsFromEnv;
  configEnv: typeof configEnv;
  library: typeof library;
  jose: typeof jose;
  watchRequests: typeof watchRequests;
  decodeParts: typeof decodeParts;
  inWords: typeof inWords;
  paint: typeof paint;
};
