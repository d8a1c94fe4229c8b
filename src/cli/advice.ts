// The doctor's judgements, apart from its I/O: what a failed probe, a refused token request, a clock reading and an
// issued token mean, and the fix to print for each. Pure functions of what the doctor observed, so that tests run
// them in-process (the command itself runs in a child process in test/cli.test.ts, where no mutant is active).
import type { Token, TokenClientOptions } from '../index.js';
import type { DoctorTools } from './commands.js';

export type Status = 'pass' | 'warn' | 'fail' | 'skip';

/** Clock skew (ms) beyond which a check warns, and fails. */
export const SKEW_WARN = 10_000;
export const SKEW_FAIL = 60_000;
export const PROBE_TIMEOUT = 10_000;

/** What one plain GET found. */
export interface Probe {
  url: string;
  status?: number;
  date?: number;
  body?: string;
  error?: { code: string; message: string };
}

export function networkFix(p: Probe, variable: string): string {
  const code = p.error!.code;
  const host = new URL(p.url).host;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `the name ${new URL(p.url).hostname} does not resolve (${code}): check ${variable} for typos (an Auth0 domain looks like tenant.eu.auth0.com), and DNS from this machine`;
  if (code === 'ECONNREFUSED') return `nothing listens at ${host} (ECONNREFUSED): check the host and port in ${variable}`;
  if (code === 'TIMEOUT' || code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return `${host} did not answer in ${PROBE_TIMEOUT / 1000} s: check firewalls, the proxy (HTTPS_PROXY, NO_PROXY) and ${variable}`;
  if (/CERT|SELF_SIGNED|TLS|SSL|ERR_TLS/i.test(code)) return `TLS failed (${code}): the server's certificate is not trusted for ${host}; check ${variable}, or give a private CA with NODE_EXTRA_CA_CERTS=/path/ca.pem`;
  return `${host} is unreachable (${code}: ${p.error!.message}): check ${variable} and the network`;
}

export function endpointVariable(options: TokenClientOptions): string {
  return options.issuer !== undefined ? 'M2M_ISSUER' : options.domain !== undefined ? 'M2M_DOMAIN (or AUTH0_DOMAIN)' : 'M2M_TOKEN_ENDPOINT';
}

export function metadataUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return [`${url.origin}/.well-known/oauth-authorization-server${path}`, `${url.origin}${path}/.well-known/openid-configuration`];
}

export const words = (s: string | readonly string[] | undefined): string[] =>
  s === undefined ? [] : (typeof s === 'string' ? s.split(' ') : [...s]).filter((x) => x !== '');

export function tokenFailure(error: unknown, options: TokenClientOptions, method: string | undefined, allowed: string[] | undefined): { detail: string; fix: string } {
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
  return { detail, fix: `see the error code in docs/errors.md; check ${endpointVariable(options)} and the credentials` };
}

/** The clock check from the servers' Date readings (server time minus local time, ms): the median decides. */
export function clockCheck(dates: number[], inWords: DoctorTools['inWords']): { status: Status; detail: string; fix?: string } {
  if (dates.length === 0) return { status: 'skip', detail: 'the server sent no Date header' };
  // The median of the readings: Date has a one-second resolution.
  const skew = -dates.sort((a, b) => a - b)[Math.floor(dates.length / 2)]!;
  const seconds = Math.round(skew / 1000);
  const side = skew > 0 ? 'ahead of' : 'behind';
  const text = `local clock ${Math.abs(seconds)} s ${side} the server's Date header`;
  const fix = `sync this machine's clock (NTP: \`timedatectl set-ntp true\`, \`chronyc makestep\`, or the container host's clock); at ${inWords(Math.abs(skew)).replace(/^in /, '')} of skew, servers and APIs reject JWTs and client assertions as not yet valid or expired, and tokens are refreshed at the wrong time`;
  if (Math.abs(skew) > SKEW_FAIL) return { status: 'fail', detail: text, fix };
  if (Math.abs(skew) > SKEW_WARN) return { status: 'warn', detail: text, fix };
  return { status: 'pass', detail: `within ${Math.max(1, Math.abs(seconds))} s of the server` };
}

/** The response, claims and quota checks of an issued token. */
export async function checkToken(token: Token, options: TokenClientOptions, tools: DoctorTools, add: (name: string, status: Status, detail: string, fix?: string) => void) {
  const now = Date.now();
  const expiresIn = token.raw.expires_in;
  const lifetime = Math.round(token.expiresIn / 1000);
  const fixLifetime = 'raise the token lifetime on the server (Auth0: APIs → your API → Settings → Maximum Access Token Lifetime)';
  const type = token.tokenType.toLowerCase();
  // A DPoP token is what a client with a DPoP key asked for (the library refuses it otherwise).
  const expected = type === 'bearer' || (type === 'dpop' && options.dpop !== undefined && options.dpop !== false);
  if (!expected) add('response', 'warn', `token_type ${token.tokenType}, not Bearer`, 'the API must accept this token type; `header` prints it as is');
  else if (typeof expiresIn !== 'number' && typeof expiresIn !== 'string') add('response', 'warn', `no expires_in: lifetime ${lifetime} s taken from the JWT exp or the default`, 'have the server send expires_in');
  else if (lifetime < 60) add('response', 'fail', `lifetime ${lifetime} s: too short to cache`, fixLifetime);
  else if (lifetime < 300) add('response', 'warn', `lifetime ${lifetime} s: a new token every few minutes`, fixLifetime);
  else add('response', 'pass', `token_type ${type === 'dpop' ? 'DPoP (bound to the M2M_DPOP key)' : 'Bearer'}, expires_in ${lifetime} s`);

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
