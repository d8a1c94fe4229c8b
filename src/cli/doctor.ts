// `m2m-token doctor`: checks a configuration end to end and prints a checklist, with the fix for each failure.
import type { Token, TokenClient, TokenClientOptions } from '../index.js';
import type { DoctorTools, Library } from './commands.js';
import { EXIT, type ParsedValues } from './shared.js';

type Status = 'pass' | 'warn' | 'fail' | 'skip';
export interface Check {
  name: string;
  status: Status;
  detail: string;
  fix?: string;
}

const ORDER = ['configuration', 'endpoint', 'discovery', 'clock', 'token request', 'auth method', 'response', 'claims', 'quota'];

/** Clock skew (ms) beyond which a check warns, and fails. */
const SKEW_WARN = 10_000;
const SKEW_FAIL = 60_000;
const PROBE_TIMEOUT = 10_000;

interface Probe {
  url: string;
  status?: number;
  date?: number;
  body?: string;
  error?: { code: string; message: string };
}

/** One plain GET, for reachability (DNS, TLS, TCP), the status and the server's Date header. */
async function probe(url: string): Promise<Probe> {
  const sent = Date.now();
  try {
    const response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(PROBE_TIMEOUT), headers: { accept: 'application/json' } });
    const body = await response.text().catch(() => '');
    const received = Date.now();
    const date = Date.parse(response.headers.get('date') ?? '');
    // The server stamped its Date somewhere between sending and receiving: compare with the midpoint.
    return { url, status: response.status, body, ...(Number.isNaN(date) ? {} : { date: date - (sent + received) / 2 }) };
  } catch (error) {
    let cause = error as { code?: string; message?: string; cause?: unknown; name?: string };
    while (cause.cause && typeof cause.cause === 'object') cause = cause.cause as typeof cause;
    const code = cause.name === 'TimeoutError' || cause.name === 'AbortError' ? 'TIMEOUT' : typeof cause.code === 'string' ? cause.code : 'NETWORK_ERROR';
    return { url, error: { code, message: cause.message ?? String(error) } };
  }
}

function networkFix(p: Probe, variable: string): string {
  const code = p.error!.code;
  const host = new URL(p.url).host;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `the name ${new URL(p.url).hostname} does not resolve (${code}): check ${variable} for typos (an Auth0 domain looks like tenant.eu.auth0.com), and DNS from this machine`;
  if (code === 'ECONNREFUSED') return `nothing listens at ${host} (ECONNREFUSED): check the host and port in ${variable}`;
  if (code === 'TIMEOUT' || code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return `${host} did not answer in ${PROBE_TIMEOUT / 1000} s: check firewalls, the proxy (HTTPS_PROXY, NO_PROXY) and ${variable}`;
  if (/CERT|SELF_SIGNED|TLS|SSL|ERR_TLS/i.test(code)) return `TLS failed (${code}): the server's certificate is not trusted for ${host}; check ${variable}, or give a private CA with NODE_EXTRA_CA_CERTS=/path/ca.pem`;
  return `${host} is unreachable (${code}: ${p.error!.message}): check ${variable} and the network`;
}

function endpointVariable(options: TokenClientOptions): string {
  return options.issuer !== undefined ? 'M2M_ISSUER' : options.domain !== undefined ? 'M2M_DOMAIN (or AUTH0_DOMAIN)' : 'M2M_TOKEN_ENDPOINT';
}

function metadataUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return [`${url.origin}/.well-known/oauth-authorization-server${path}`, `${url.origin}${path}/.well-known/openid-configuration`];
}

const words = (s: string | readonly string[] | undefined): string[] =>
  s === undefined ? [] : (typeof s === 'string' ? s.split(' ') : [...s]).filter((x) => x !== '');

function tokenFailure(error: unknown, options: TokenClientOptions, method: string | undefined, allowed: string[] | undefined): { detail: string; fix: string } {
  const e = error as { code?: string; message?: string; error?: string; errorDescription?: string; status?: number };
  const detail = `${e.code ?? 'error'}: ${e.message ?? String(error)}`;
  const oauth = e.error;
  const description = (e.errorDescription ?? '').toLowerCase();
  const audience = options.audience ?? words(options.resource as string | undefined).join(' ');
  if (oauth === 'invalid_client') {
    const methods = allowed && method && !allowed.includes(method)
      ? ` The server allows ${allowed.join(', ')}, not ${method}: set M2M_CLIENT_AUTHENTICATION.`
      : method ? ` If they are right, check that the client is registered for ${method} (M2M_CLIENT_AUTHENTICATION).` : '';
    const credential = options.clientAssertion !== undefined
      ? 'the private key (M2M_PRIVATE_KEY / M2M_PRIVATE_KEY_FILE, M2M_PRIVATE_KEY_ID) matches a public key registered for the client'
      : 'the client secret (M2M_CLIENT_SECRET / M2M_CLIENT_SECRET_FILE) is the current one for the client (no stray newline or quotes; rotated secrets need updating)';
    return { detail, fix: `the server refused the client's credentials: check that M2M_CLIENT_ID (${options.clientId}) is right and that ${credential}.${methods}` };
  }
  if (oauth === 'unauthorized_client') {
    return { detail, fix: 'the client may not use the client_credentials grant: enable it for the application (Auth0: Applications → your app → Advanced Settings → Grant Types → Client Credentials)' };
  }
  if (oauth === 'invalid_target' || oauth === 'access_denied' || (oauth === 'invalid_request' && /audience|resource/.test(description))) {
    return {
      detail,
      fix: `the server does not issue tokens for the audience ${JSON.stringify(audience)} to this client: check that M2M_AUDIENCE is exactly the API identifier (Auth0: APIs → your API → Identifier, including scheme and trailing slash), and that the application is authorized for that API (Auth0: APIs → your API → Machine to Machine Applications)`,
    };
  }
  if (oauth === 'invalid_scope') {
    return { detail, fix: `the server refused the scope ${JSON.stringify(words(options.scope).join(' '))}: check M2M_SCOPE against the scopes the API defines and grants to this client` };
  }
  if (e.code === 'M2M_DISCOVERY_FAILED') return { detail, fix: 'discovery failed: see the endpoint and discovery checks above; M2M_ISSUER must be the issuer the metadata names' };
  if (e.code === 'M2M_NETWORK_ERROR' || e.code === 'M2M_TIMEOUT') return { detail, fix: `the token endpoint is unreachable: see the endpoint check, and ${endpointVariable(options)}` };
  if (e.code === 'M2M_HTTP_STATUS' && (e.status === 404 || e.status === 405)) {
    return { detail, fix: `no token endpoint at that URL (HTTP ${e.status}): check ${endpointVariable(options)}; for Auth0 use M2M_DOMAIN=tenant.region.auth0.com, not a URL with a path` };
  }
  if (e.code === 'M2M_QUOTA_EXCEEDED') return { detail, fix: 'the Auth0 token quota is used up: wait for the reset, cache tokens (a shared TokenStore), or raise the quota' };
  if (e.code === 'M2M_RESPONSE_NOT_JSON' || e.code === 'M2M_RESPONSE_INVALID' || e.code === 'M2M_RESPONSE_MALFORMED_JSON') {
    return { detail, fix: `the URL did not answer like a token endpoint: check ${endpointVariable(options)}` };
  }
  return { detail, fix: `see the error code in docs/cli.md and the README's error table; check ${endpointVariable(options)} and the credentials` };
}

export async function doctor(values: ParsedValues, tools: DoctorTools): Promise<number> {
  const checks = new Map<string, Check>();
  const add = (name: string, status: Status, detail: string, fix?: string) => void checks.set(name, { name, status, detail, ...(fix === undefined ? {} : { fix }) });

  let lib: Library;
  let options: TokenClientOptions;
  let client: TokenClient | undefined;
  try {
    const env = await tools.configEnv(values);
    lib = await tools.library();
    options = tools.optionsFromEnv(env);
    client = new lib.TokenClient({ ...options, retry: false });
    const json = client.toJSON() as { tokenEndpoint?: string; issuer?: string };
    const credential = options.clientAssertion !== undefined ? 'private key' : options.tls !== undefined ? 'TLS certificate' : 'client secret';
    const parts = [
      `client ${options.clientId}`,
      json.issuer !== undefined ? `issuer ${json.issuer}` : `token endpoint ${json.tokenEndpoint}`,
      credential,
      ...(options.audience === undefined ? [] : [`audience ${options.audience}`]),
      ...(options.organization === undefined ? [] : [`organization ${options.organization}`]),
      ...(options.scope === undefined ? [] : [`scope ${words(options.scope).join(' ')}`]),
    ];
    add('configuration', 'pass', parts.join(', '));
  } catch (error) {
    const e = error as { code?: string; message?: string; option?: string };
    add('configuration', 'fail', `${e.code ?? 'error'}: ${e.message ?? String(error)}`, `${e.option ? `fix ${e.option}; ` : ''}the names are listed in \`m2m-token doctor --help\` and docs/cli.md`);
    return report(checks, values, tools);
  }

  try {
    const json = client.toJSON() as { tokenEndpoint?: string; issuer?: string };
    const variable = endpointVariable(options);
    const dates: number[] = [];
    let metadata: Record<string, unknown> | undefined;
    let tokenEndpoint = json.tokenEndpoint;

    // Discovery: required with an issuer; tried (and optional) for an Auth0 domain, whose metadata is at its root.
    const discoveryIssuer = json.issuer ?? (options.domain !== undefined && tokenEndpoint !== undefined ? `${new URL(tokenEndpoint).origin}/` : undefined);
    let unreachable: Probe | undefined;
    if (discoveryIssuer !== undefined) {
      const tried: string[] = [];
      for (const url of metadataUrls(discoveryIssuer)) {
        const p = await probe(url);
        if (p.date !== undefined) dates.push(p.date);
        if (p.error) {
          unreachable = p;
          break;
        }
        tried.push(`${url} (HTTP ${p.status})`);
        if (p.status !== 200) continue;
        try {
          metadata = JSON.parse(p.body ?? '') as Record<string, unknown>;
        } catch {
          tried[tried.length - 1] = `${url} (not JSON)`;
          continue;
        }
        break;
      }
      if (unreachable) {
        add('endpoint', 'fail', `${unreachable.url}: ${unreachable.error!.code}`, networkFix(unreachable, variable));
      } else if (metadata === undefined) {
        if (json.issuer !== undefined) add('discovery', 'fail', `no metadata: ${tried.join(', ')}`, `M2M_ISSUER must be the issuer URL whose /.well-known/openid-configuration or RFC 8414 metadata exists; or set M2M_TOKEN_ENDPOINT instead`);
        else add('discovery', 'skip', `no metadata at ${discoveryIssuer} (optional with a domain)`);
      } else {
        const named = metadata.issuer;
        const expected = json.issuer ?? discoveryIssuer;
        if (typeof named !== 'string' || named.replace(/\/$/, '') !== expected.replace(/\/$/, '')) {
          if (json.issuer !== undefined) {
            add('discovery', 'fail', `issuer mismatch: the metadata names ${JSON.stringify(named)}, the configuration says ${JSON.stringify(expected)}`,
              `set M2M_ISSUER=${String(named)} exactly as the metadata names it (scheme, host, port and path); if that is not the server you meant, the URL points at the wrong server`);
          } else {
            add('discovery', 'skip', `the metadata at ${discoveryIssuer} names another issuer (${JSON.stringify(named)}): not used with a domain`);
          }
          metadata = undefined;
        } else {
          add('discovery', 'pass', `issuer ${named}, token endpoint ${String(metadata.token_endpoint)}`);
          if (json.issuer !== undefined && typeof metadata.token_endpoint === 'string') tokenEndpoint = metadata.token_endpoint;
        }
      }
    } else {
      add('discovery', 'skip', 'a token endpoint URL is configured: no discovery');
    }

    if (!unreachable && tokenEndpoint !== undefined && checks.get('discovery')?.status !== 'fail') {
      const p = await probe(tokenEndpoint);
      if (p.date !== undefined) dates.push(p.date);
      if (p.error) add('endpoint', 'fail', `${tokenEndpoint}: ${p.error.code}`, networkFix(p, variable));
      // A token endpoint answers only POST: any HTTP answer to a GET proves DNS, TCP and TLS; the token request tells the rest.
      else add('endpoint', 'pass', `${tokenEndpoint} reachable (${new URL(tokenEndpoint).protocol === 'https:' ? 'TLS ok, ' : ''}GET answered HTTP ${p.status})`);
    } else if (!checks.has('endpoint')) {
      add('endpoint', unreachable ? 'fail' : 'skip', 'not probed: discovery failed');
    }

    if (dates.length > 0) {
      // The median of the readings: Date has a one-second resolution.
      const skew = -dates.sort((a, b) => a - b)[Math.floor(dates.length / 2)]!;
      const seconds = Math.round(skew / 1000);
      const side = skew > 0 ? 'ahead of' : 'behind';
      const text = `local clock ${Math.abs(seconds)} s ${side} the server's Date header`;
      const fix = `sync this machine's clock (NTP: \`timedatectl set-ntp true\`, \`chronyc makestep\`, or the container host's clock); at ${tools.inWords(Math.abs(skew)).replace(/^in /, '')} of skew, servers and APIs reject JWTs and client assertions as not yet valid or expired, and tokens are refreshed at the wrong time`;
      if (Math.abs(skew) > SKEW_FAIL) add('clock', 'fail', text, fix);
      else if (Math.abs(skew) > SKEW_WARN) add('clock', 'warn', text, fix);
      else add('clock', 'pass', `within ${Math.max(1, Math.abs(seconds))} s of the server`);
    } else {
      add('clock', 'skip', 'the server sent no Date header');
    }

    const allowed = Array.isArray(metadata?.token_endpoint_auth_methods_supported)
      ? (metadata.token_endpoint_auth_methods_supported as unknown[]).filter((m): m is string => typeof m === 'string')
      : undefined;

    if (checks.get('endpoint')?.status === 'fail' || checks.get('discovery')?.status === 'fail') {
      add('token request', 'skip', 'skipped: the endpoint checks failed');
    } else {
      const watch = await tools.watchRequests(lib);
      let token: Token | undefined;
      try {
        token = await client.getToken();
      } catch (error) {
        const method = watch.seen.at(-1)?.authMethod ?? options.clientAuthentication;
        const { detail, fix } = tokenFailure(error, options, method, allowed);
        add('token request', 'fail', detail, fix);
      } finally {
        watch.stop();
      }
      const method = watch.seen.at(-1)?.authMethod ?? options.clientAuthentication;
      if (method === undefined) add('auth method', 'skip', 'no request was sent');
      else if (allowed !== undefined && !allowed.includes(method)) {
        add('auth method', 'fail', `${method}, which the server's metadata does not list (${allowed.join(', ')})`, `set M2M_CLIENT_AUTHENTICATION to one of ${allowed.join(', ')} that the client is registered for`);
      } else {
        add('auth method', 'pass', `${method}${allowed ? ` (the server allows ${allowed.join(', ')})` : ' (the server publishes no list)'}`);
      }
      if (token) {
        add('token request', 'pass', `${token.tokenType} token issued`);
        await checkToken(token, options, tools, add);
      }
    }
  } finally {
    await client.close();
  }
  return report(checks, values, tools);
}

async function checkToken(token: Token, options: TokenClientOptions, tools: DoctorTools, add: (name: string, status: Status, detail: string, fix?: string) => void) {
  const now = Date.now();
  const expiresIn = token.raw.expires_in;
  const lifetime = Math.round(token.expiresIn / 1000);
  const fixLifetime = 'raise the token lifetime on the server (Auth0: APIs → your API → Settings → Maximum Access Token Lifetime)';
  if (token.tokenType.toLowerCase() !== 'bearer') add('response', 'warn', `token_type ${token.tokenType}, not Bearer`, 'the API must accept this token type; `header` prints it as is');
  else if (typeof expiresIn !== 'number' && typeof expiresIn !== 'string') add('response', 'warn', `no expires_in: lifetime ${lifetime} s taken from the JWT exp or the default`, 'have the server send expires_in');
  else if (lifetime < 60) add('response', 'fail', `lifetime ${lifetime} s: too short to cache`, fixLifetime);
  else if (lifetime < 300) add('response', 'warn', `lifetime ${lifetime} s: a new token every few minutes`, fixLifetime);
  else add('response', 'pass', `token_type Bearer, expires_in ${lifetime} s`);

  const j = await tools.jose();
  const parts = tools.decodeParts(token.accessToken, j);
  if (!parts) {
    add('claims', 'skip', 'opaque token: no claims to check');
  } else {
    const c = parts.claims;
    const problems: string[] = [];
    const fixes: string[] = [];
    const aud = c.aud === undefined ? [] : Array.isArray(c.aud) ? c.aud.map(String) : [String(c.aud)];
    if (options.audience !== undefined && !aud.includes(options.audience)) {
      problems.push(`aud is ${JSON.stringify(aud)}, not ${JSON.stringify(options.audience)}`);
      fixes.push('M2M_AUDIENCE must be the API identifier the API checks; the server issued a token for another audience');
    }
    if (options.organization !== undefined && c.org_id !== options.organization && c.org_name !== options.organization) {
      problems.push(`org_id is ${JSON.stringify(c.org_id)}, not ${JSON.stringify(options.organization)}`);
      fixes.push('check M2M_ORGANIZATION, and that the application may join that organization (Auth0: Organizations → Machine to Machine Access)');
    }
    const granted = new Set([...words(token.scope), ...words(typeof c.scope === 'string' ? c.scope : undefined), ...(Array.isArray(c.permissions) ? c.permissions.map(String) : [])]);
    const missing = words(options.scope).filter((s) => !granted.has(s));
    if (missing.length > 0) {
      problems.push(`scope lacks ${missing.join(' ')}`);
      fixes.push('grant those scopes to the application for this API (Auth0: APIs → your API → Machine to Machine Applications), or drop them from M2M_SCOPE');
    }
    if (typeof c.exp === 'number' && typeof c.iat === 'number' && Math.abs((c.exp - c.iat) - lifetime) > 60) {
      problems.push(`exp - iat is ${c.exp - c.iat} s but expires_in is ${lifetime} s`);
      fixes.push('the server and the token disagree on the lifetime: check the server clock and configuration');
    }
    if (typeof c.iat === 'number' && c.iat * 1000 - now > SKEW_FAIL) {
      problems.push(`iat is ${tools.inWords(c.iat * 1000 - now)}`);
      fixes.push('the server clock is ahead of this machine: sync the clocks (NTP)');
    }
    if (problems.length > 0) add('claims', 'fail', problems.join('; '), fixes.join('; '));
    else add('claims', 'pass', `aud ${JSON.stringify(aud)}${c.org_id === undefined ? '' : `, org_id ${String(c.org_id)}`}${granted.size ? `, scope ${[...granted].join(' ')}` : ''}`);
  }

  const quota = token.quota;
  const buckets = quota?.buckets ?? [];
  const rate = quota?.rateLimit;
  if (buckets.length === 0 && rate === undefined) {
    add('quota', 'skip', 'no Auth0 quota or rate-limit headers in the response');
  } else {
    const texts = buckets.map((b) => `${b.scope} ${b.bucket} ${b.remaining}/${b.limit} left, resets ${tools.inWords(b.resetAt - now)}`);
    if (rate?.remaining !== undefined) texts.push(`rate limit ${rate.remaining}/${rate.limit ?? '?'} left`);
    const empty = buckets.find((b) => b.remaining === 0) ?? (rate?.remaining === 0 ? rate : undefined);
    const low = buckets.find((b) => b.limit > 0 && b.remaining / b.limit < 0.1);
    const fix = 'cache tokens across processes (a shared TokenStore such as m2m-token/redis), request fewer distinct audiences, or ask Auth0 for a higher quota';
    if (empty) add('quota', 'fail', texts.join('; '), `the quota is used up until its reset: ${fix}`);
    else if (low) add('quota', 'warn', texts.join('; '), fix);
    else add('quota', 'pass', texts.join('; '));
  }
}

function report(checks: Map<string, Check>, values: ParsedValues, tools: DoctorTools): number {
  const list = ORDER.map((name) => checks.get(name) ?? { name, status: 'skip' as const, detail: 'skipped' });
  const ok = !list.some((c) => c.status === 'fail');
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ ok, checks: list })}\n`);
    return ok ? EXIT.OK : EXIT.FAILED;
  }
  const c = tools.paint(process.stdout);
  const mark: Record<Status, string> = { pass: c.green('ok  '), warn: c.yellow('warn'), fail: c.red('FAIL'), skip: c.dim('skip') };
  const width = Math.max(...list.map((x) => x.name.length));
  const lines = ['m2m-token doctor'];
  for (const check of list) {
    lines.push(`  ${mark[check.status]}  ${check.name.padEnd(width)}  ${check.detail}`);
    if (check.fix !== undefined && check.status !== 'pass') lines.push(`        ${' '.repeat(width)}  ${c.bold('fix:')} ${check.fix}`);
  }
  const count = (s: Status) => list.filter((x) => x.status === s).length;
  lines.push(`${count('pass')} ok, ${count('warn')} warnings, ${count('fail')} failed, ${count('skip')} skipped`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return ok ? EXIT.OK : EXIT.FAILED;
}
