// The m2m-token command's judgements and formatting, in-process: the fix `doctor` prints for each failure it can
// observe (a probe's network error, a refused token request, a clock reading, an issued token's lifetime, claims
// and quota), and how `token`/`decode` print times, claims and errors. test/cli.test.ts runs the command end to
// end in child processes; these are the same decisions, case by case, where a mutation test can see them.
import * as jose from 'jose';
import { describe, expect, it } from 'vitest';
import { createToken, type Token, type TokenClientOptions } from 'm2m-token';
import { checkToken, clockCheck, metadataUrls, networkFix, tokenFailure, type Status } from '../src/cli/advice.js';
import type { DoctorTools } from '../src/cli/commands.js';
import { claimLines, decodeParts, describeError, exitFor, inWords } from '../src/cli/format.js';
import { UsageError } from '../src/cli/shared.js';

const base = { clientId: 'the-client', clientSecret: 'fake-secret', tokenEndpoint: 'https://as.example.com/oauth/token' } as TokenClientOptions;

describe('networkFix: what an unreachable endpoint needs', () => {
  const fix = (code: string, variable = 'M2M_TOKEN_ENDPOINT') => networkFix({ url: 'https://as.example.com:8443/x', error: { code, message: `${code} happened` } }, variable);
  it('a name that does not resolve', () => {
    for (const code of ['ENOTFOUND', 'EAI_AGAIN']) {
      expect(fix(code, 'M2M_DOMAIN')).toBe(`the name as.example.com does not resolve (${code}): check M2M_DOMAIN for typos (an Auth0 domain looks like tenant.eu.auth0.com), and DNS from this machine`);
    }
  });
  it('nothing listening, no answer in time, TLS, anything else', () => {
    expect(fix('ECONNREFUSED')).toBe('nothing listens at as.example.com:8443 (ECONNREFUSED): check the host and port in M2M_TOKEN_ENDPOINT');
    for (const code of ['TIMEOUT', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT']) {
      expect(fix(code)).toBe('as.example.com:8443 did not answer in 10 s: check firewalls, the proxy (HTTPS_PROXY, NO_PROXY) and M2M_TOKEN_ENDPOINT');
    }
    for (const code of ['CERT_HAS_EXPIRED', 'SELF_SIGNED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_TLS', 'tls_lowercase']) {
      expect(fix(code)).toBe(`TLS failed (${code}): the server's certificate is not trusted for as.example.com:8443; check M2M_TOKEN_ENDPOINT, or give a private CA with NODE_EXTRA_CA_CERTS=/path/ca.pem`);
    }
    expect(fix('ECONNRESET')).toBe('as.example.com:8443 is unreachable (ECONNRESET: ECONNRESET happened): check M2M_TOKEN_ENDPOINT and the network');
  });
});

describe('metadataUrls: where discovery looks', () => {
  it('RFC 8414 first (the path after the well-known name), then OpenID Connect (before it)', () => {
    expect(metadataUrls('https://as.example.com/')).toEqual(['https://as.example.com/.well-known/oauth-authorization-server', 'https://as.example.com/.well-known/openid-configuration']);
    expect(metadataUrls('https://as.example.com/realms/x/')).toEqual([
      'https://as.example.com/.well-known/oauth-authorization-server/realms/x',
      'https://as.example.com/realms/x/.well-known/openid-configuration',
    ]);
  });
});

describe('tokenFailure: the fix for a refused token request', () => {
  const oauth = (error: string, extra: object = {}) => Object.assign(new Error(`refused: ${error}`), { code: 'M2M_OAUTH_ERROR', error, ...extra });

  it('invalid_client: the credential to check, and the method the server allows', () => {
    const secretText = 'the client secret (M2M_CLIENT_SECRET / M2M_CLIENT_SECRET_FILE) is the current one for the client (no stray newline or quotes; rotated secrets need updating)';
    const start = 'the server refused the client\'s credentials: check that M2M_CLIENT_ID (the-client) is right and that';
    const r = tokenFailure(oauth('invalid_client'), base, 'client_secret_post', ['private_key_jwt', 'client_secret_basic']);
    expect(r).toEqual({
      detail: 'M2M_OAUTH_ERROR: refused: invalid_client',
      fix: `${start} ${secretText}. The server allows private_key_jwt, client_secret_basic, not client_secret_post: set M2M_CLIENT_AUTHENTICATION.`,
    });
    expect(tokenFailure(oauth('invalid_client'), base, 'client_secret_post', ['client_secret_post']).fix).toBe(
      `${start} ${secretText}. If they are right, check that the client is registered for client_secret_post (M2M_CLIENT_AUTHENTICATION).`,
    );
    expect(tokenFailure(oauth('invalid_client'), base, 'client_secret_post', undefined).fix).toBe(
      `${start} ${secretText}. If they are right, check that the client is registered for client_secret_post (M2M_CLIENT_AUTHENTICATION).`,
    );
    expect(tokenFailure(oauth('invalid_client'), base, undefined, ['private_key_jwt']).fix).toBe(`${start} ${secretText}.`);
    const withKey = { ...base, clientSecret: undefined, clientAssertion: { privateKey: 'k' } } as unknown as TokenClientOptions;
    expect(tokenFailure(oauth('invalid_client'), withKey, undefined, undefined).fix).toBe(
      `${start} the private key (M2M_PRIVATE_KEY / M2M_PRIVATE_KEY_FILE, M2M_PRIVATE_KEY_ID) matches a public key registered for the client.`,
    );
  });

  it('unauthorized_client: the grant', () => {
    expect(tokenFailure(oauth('unauthorized_client'), base, undefined, undefined).fix).toBe(
      'the client may not use the client_credentials grant: enable it for the application (Auth0: Applications → your app → Advanced Settings → Grant Types → Client Credentials)',
    );
  });

  it('the audience: invalid_target, access_denied, or invalid_request that names the audience or resource', () => {
    const fix = (audience: string) =>
      `the server does not issue tokens for the audience ${JSON.stringify(audience)} to this client: check that M2M_AUDIENCE is exactly the API identifier (Auth0: APIs → your API → Identifier, including scheme and trailing slash), and that the application is authorized for that API (Auth0: APIs → your API → Machine to Machine Applications)`;
    const options = { ...base, audience: 'https://api.example.com/' };
    expect(tokenFailure(oauth('invalid_target'), options, undefined, undefined).fix).toBe(fix('https://api.example.com/'));
    expect(tokenFailure(oauth('access_denied'), options, undefined, undefined).fix).toBe(fix('https://api.example.com/'));
    expect(tokenFailure(oauth('invalid_request', { errorDescription: 'Service not found: the AUDIENCE' }), options, undefined, undefined).fix).toBe(fix('https://api.example.com/'));
    expect(tokenFailure(oauth('invalid_request', { errorDescription: 'unknown resource' }), { ...base, resource: 'https://r1  https://r2' } as TokenClientOptions, undefined, undefined).fix).toBe(fix('https://r1 https://r2'));
    expect(tokenFailure(oauth('invalid_target'), base, undefined, undefined).fix).toBe(fix(''));
    // invalid_request about something else, or without a description: the general fix.
    const general = 'see the error code in docs/errors.md; check M2M_TOKEN_ENDPOINT and the credentials';
    expect(tokenFailure(oauth('invalid_request', { errorDescription: 'grant_type missing' }), options, undefined, undefined).fix).toBe(general);
    expect(tokenFailure(oauth('invalid_request'), options, undefined, undefined).fix).toBe(general);
    // Another OAuth error whose description happens to name the audience: not an audience problem.
    expect(tokenFailure(oauth('server_error', { errorDescription: 'audience service down' }), options, undefined, undefined).fix).toBe(general);
  });

  it('invalid_scope: the scope asked for, however it was given', () => {
    const fix = (scope: string) => `the server refused the scope ${JSON.stringify(scope)}: check M2M_SCOPE against the scopes the API defines and grants to this client`;
    expect(tokenFailure(oauth('invalid_scope'), { ...base, scope: 'read  write' }, undefined, undefined).fix).toBe(fix('read write'));
    expect(tokenFailure(oauth('invalid_scope'), { ...base, scope: ['read', '', 'write'] } as TokenClientOptions, undefined, undefined).fix).toBe(fix('read write'));
    expect(tokenFailure(oauth('invalid_scope'), base, undefined, undefined).fix).toBe(fix(''));
  });

  it('by error code, naming the endpoint variable of the configuration', () => {
    const fail = (code: string, extra: object = {}, options: TokenClientOptions = base) => tokenFailure(Object.assign(new Error('x'), { code, ...extra }), options, undefined, undefined).fix;
    expect(fail('M2M_DISCOVERY_FAILED')).toBe('discovery failed: see the endpoint and discovery checks above; M2M_ISSUER must be the issuer the metadata names');
    expect(fail('M2M_NETWORK_ERROR', {}, { ...base, tokenEndpoint: undefined, issuer: 'https://as.example.com' } as TokenClientOptions)).toBe('the token endpoint is unreachable: see the endpoint check, and M2M_ISSUER');
    expect(fail('M2M_TIMEOUT', {}, { ...base, tokenEndpoint: undefined, domain: 'tenant.auth0.com' } as TokenClientOptions)).toBe('the token endpoint is unreachable: see the endpoint check, and M2M_DOMAIN (or AUTH0_DOMAIN)');
    for (const status of [404, 405]) {
      expect(fail('M2M_HTTP_STATUS', { status })).toBe(`no token endpoint at that URL (HTTP ${status}): check M2M_TOKEN_ENDPOINT; for Auth0 use M2M_DOMAIN=tenant.region.auth0.com, not a URL with a path`);
    }
    expect(fail('M2M_HTTP_STATUS', { status: 500 })).toBe('see the error code in docs/errors.md; check M2M_TOKEN_ENDPOINT and the credentials');
    expect(fail('M2M_OAUTH_ERROR', { status: 404 })).toBe('see the error code in docs/errors.md; check M2M_TOKEN_ENDPOINT and the credentials');
    expect(fail('M2M_QUOTA_EXCEEDED')).toBe('the Auth0 token quota is used up: wait for the reset, cache tokens (a shared TokenStore), or raise the quota');
    for (const code of ['M2M_RESPONSE_NOT_JSON', 'M2M_RESPONSE_INVALID', 'M2M_RESPONSE_MALFORMED_JSON']) {
      expect(fail(code)).toBe('the URL did not answer like a token endpoint: check M2M_TOKEN_ENDPOINT');
    }
    expect(fail('M2M_SOMETHING_ELSE')).toBe('see the error code in docs/errors.md; check M2M_TOKEN_ENDPOINT and the credentials');
  });

  it('the detail line: code and message; without them, "error" and the thrown value', () => {
    expect(tokenFailure('boom', base, undefined, undefined).detail).toBe('error: boom');
  });
});

describe('clockCheck: the skew between this machine and the servers', () => {
  // Readings are the server's Date minus the local time (ms); the median counts.
  it('no reading: skipped', () => {
    expect(clockCheck([], inWords)).toEqual({ status: 'skip', detail: 'the server sent no Date header' });
  });
  it('ahead or behind, warned past 10 s and failed past 60 s, with the fix', () => {
    const fix = (amount: string) =>
      `sync this machine's clock (NTP: \`timedatectl set-ntp true\`, \`chronyc makestep\`, or the container host's clock); at ${amount} of skew, servers and APIs reject JWTs and client assertions as not yet valid or expired, and tokens are refreshed at the wrong time`;
    expect(clockCheck([-120_000], inWords)).toEqual({ status: 'fail', detail: 'local clock 120 s ahead of the server\'s Date header', fix: fix('2 minutes') });
    expect(clockCheck([60_001], inWords)).toEqual({ status: 'fail', detail: 'local clock 60 s behind the server\'s Date header', fix: fix('1 minute') });
    expect(clockCheck([60_000], inWords)).toEqual({ status: 'warn', detail: 'local clock 60 s behind the server\'s Date header', fix: fix('1 minute') });
    expect(clockCheck([-20_000], inWords)).toEqual({ status: 'warn', detail: 'local clock 20 s ahead of the server\'s Date header', fix: fix('20 seconds') });
    expect(clockCheck([10_001], inWords).status).toBe('warn');
    expect(clockCheck([10_000], inWords)).toEqual({ status: 'pass', detail: 'within 10 s of the server' });
    expect(clockCheck([200], inWords)).toEqual({ status: 'pass', detail: 'within 1 s of the server' });
  });
  it('the median of several readings, in any order', () => {
    expect(clockCheck([5_000, -100, 3_000], inWords)).toEqual({ status: 'pass', detail: 'within 3 s of the server' });
    expect(clockCheck([40_000, 1_000, 30_000, 2_000], inWords).detail).toBe('local clock 30 s behind the server\'s Date header');
  });
});

describe('checkToken: the response, claims and quota of an issued token', () => {
  const tools = { jose: async () => jose, decodeParts, inWords } as unknown as DoctorTools;
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const jwt = (claims: object) => `${b64({ alg: 'RS256', typ: 'at+jwt' })}.${b64(claims)}.c2ln`;
  const now = () => Math.floor(Date.now() / 1000);
  function token(fields: { accessToken?: string; tokenType?: string; expiresIn?: number; raw?: Record<string, unknown>; scope?: string[]; quota?: Token['quota'] } = {}): Token {
    const expiresIn = fields.expiresIn ?? 3_600_000;
    return createToken({
      accessToken: fields.accessToken ?? 'opaque-token',
      tokenType: fields.tokenType ?? 'Bearer',
      expiresIn,
      expiresAt: Date.now() + expiresIn,
      raw: fields.raw ?? { expires_in: expiresIn / 1000 },
      scope: fields.scope,
      quota: fields.quota,
    });
  }
  type Checks = Record<'response' | 'claims' | 'quota', [Status, string, string?]>;
  async function check(t: Token, options: TokenClientOptions = base): Promise<Checks> {
    const checks = {} as Checks;
    await checkToken(t, options, tools, (name, status, detail, fix) => {
      checks[name as keyof Checks] = fix === undefined ? [status, detail] : [status, detail, fix];
    });
    return checks;
  }
  const lifetimeFix = 'raise the token lifetime on the server (Auth0: APIs → your API → Settings → Maximum Access Token Lifetime)';

  it('the response: token type and lifetime', async () => {
    expect((await check(token())).response).toEqual(['pass', 'token_type Bearer, expires_in 3600 s']);
    expect((await check(token({ tokenType: 'bearer', raw: { expires_in: '3600' } }))).response).toEqual(['pass', 'token_type Bearer, expires_in 3600 s']);
    expect((await check(token({ tokenType: 'mac' }))).response).toEqual(['warn', 'token_type mac, not Bearer', 'the API must accept this token type; `header` prints it as is']);
    expect((await check(token({ tokenType: 'DPoP' }))).response[0]).toBe('warn');
    expect((await check(token({ tokenType: 'DPoP' }), { ...base, dpop: false } as TokenClientOptions)).response[0]).toBe('warn');
    expect((await check(token({ tokenType: 'mac' }), { ...base, dpop: { privateKey: 'k' } } as unknown as TokenClientOptions)).response[0]).toBe('warn');
    expect((await check(token({ tokenType: 'DPoP' }), { ...base, dpop: { privateKey: 'k' } } as unknown as TokenClientOptions)).response).toEqual(['pass', 'token_type DPoP (bound to the M2M_DPOP key), expires_in 3600 s']);
    expect((await check(token({ raw: {} }))).response).toEqual(['warn', 'no expires_in: lifetime 3600 s taken from the JWT exp or the default', 'have the server send expires_in']);
    expect((await check(token({ expiresIn: 59_000 }))).response).toEqual(['fail', 'lifetime 59 s: too short to cache', lifetimeFix]);
    expect((await check(token({ expiresIn: 60_000 }))).response).toEqual(['warn', 'lifetime 60 s: a new token every few minutes', lifetimeFix]);
    expect((await check(token({ expiresIn: 299_000 }))).response[0]).toBe('warn');
    expect((await check(token({ expiresIn: 300_000 }))).response).toEqual(['pass', 'token_type Bearer, expires_in 300 s']);
  });

  it('claims: an opaque token has none; a JWT that matches passes, showing aud, org_id and the scopes granted', async () => {
    expect((await check(token())).claims).toEqual(['skip', 'opaque token: no claims to check']);
    expect((await check(token({ accessToken: 'a.b' }))).claims[0]).toBe('skip');
    const good = jwt({ aud: ['https://api', 'https://other'], org_id: 'org_1', scope: 'read', permissions: ['write'], iat: now(), exp: now() + 3600 });
    expect((await check(token({ accessToken: good, scope: ['admin'] }), { ...base, audience: 'https://api', organization: 'org_1', scope: 'read write admin' })).claims).toEqual([
      'pass',
      'aud ["https://api","https://other"], org_id org_1, scope admin read write',
    ]);
    expect((await check(token({ accessToken: jwt({ aud: 'https://api' }) }), { ...base, audience: 'https://api' })).claims).toEqual(['pass', 'aud ["https://api"]']);
    expect((await check(token({ accessToken: jwt({}) }))).claims).toEqual(['pass', 'aud []']);
    // No organization configured: whatever org_id the token has is fine.
    expect((await check(token({ accessToken: jwt({ org_id: 'org_9', org_name: 'acme' }) }))).claims).toEqual(['pass', 'aud [], org_id org_9']);
    // A scope claim that is not a string grants nothing; two missing scopes are listed apart.
    expect((await check(token({ accessToken: jwt({ scope: ['read'] }) }), { ...base, scope: 'read write' })).claims[1]).toBe('scope lacks read write');
    // An organization given by name matches org_name.
    expect((await check(token({ accessToken: jwt({ org_name: 'acme' }) }), { ...base, organization: 'acme' })).claims[0]).toBe('pass');
  });

  it('claims: each problem, with its fix, all on one line', async () => {
    const bad = jwt({ aud: 'https://other', org_id: 'org_2', scope: 'read', iat: now() + 7200, exp: now() + 7200 + 600 });
    const [status, detail, fix] = (await check(token({ accessToken: bad }), { ...base, audience: 'https://api', organization: 'org_1', scope: 'read write' })).claims;
    expect(status).toBe('fail');
    expect(detail).toBe('aud is ["https://other"], not "https://api"; org_id is "org_2", not "org_1"; scope lacks write; exp - iat is 600 s but expires_in is 3600 s; iat is in 2 hours');
    expect(fix).toBe(
      [
        'M2M_AUDIENCE must be the API identifier the API checks; the server issued a token for another audience',
        'check M2M_ORGANIZATION, and that the application may join that organization (Auth0: Organizations → Machine to Machine Access)',
        'grant those scopes to the application for this API (Auth0: APIs → your API → Machine to Machine Applications), or drop them from M2M_SCOPE',
        'the server and the token disagree on the lifetime: check the server clock and configuration',
        'the server clock is ahead of this machine: sync the clocks (NTP)',
      ].join('; '),
    );
    // Within a minute either way is fine: lifetime and iat.
    const close = jwt({ iat: now() + 50, exp: now() + 50 + 3600 + 60 });
    expect((await check(token({ accessToken: close }))).claims[0]).toBe('pass');
    // exp or iat that is not a number (even numeric text) is not compared.
    for (const claims of [{ exp: String(now() + 100), iat: now() }, { exp: now() + 3600, iat: String(now() + 7200) }]) {
      expect((await check(token({ accessToken: jwt(claims) }))).claims).toEqual(['pass', 'aud []']);
    }
    const off = jwt({ iat: now(), exp: now() + 3600 - 61 });
    expect((await check(token({ accessToken: off }))).claims[1]).toBe('exp - iat is 3539 s but expires_in is 3600 s');
  });

  it('quota: none, plenty, low, used up (a bucket or the rate limit)', async () => {
    const at = Date.now();
    const bucket = (remaining: number, limit = 100) => ({ scope: 'client' as const, bucket: 'per_hour', limit, remaining, resetAt: at + 7_200_000 });
    const quota = (buckets: ReturnType<typeof bucket>[], rateLimit?: { limit: number | undefined; remaining: number | undefined; resetAt: undefined }) => ({ at, buckets, rateLimit });
    const fix = 'cache tokens across processes (a shared TokenStore such as m2m-token/redis), request fewer distinct audiences, or ask Auth0 for a higher quota';
    expect((await check(token())).quota).toEqual(['skip', 'no Auth0 quota or rate-limit headers in the response']);
    expect((await check(token({ quota: quota([]) }))).quota[0]).toBe('skip');
    expect((await check(token({ quota: quota([bucket(50)], { limit: 30, remaining: 29, resetAt: undefined }) }))).quota).toEqual([
      'pass',
      'client per_hour 50/100 left, resets in 2 hours; rate limit 29/30 left',
    ]);
    expect((await check(token({ quota: quota([], { limit: undefined, remaining: 5, resetAt: undefined }) }))).quota).toEqual(['pass', 'rate limit 5/? left']);
    expect((await check(token({ quota: quota([], { limit: 30, remaining: undefined, resetAt: undefined }) }))).quota).toEqual(['pass', '']);
    expect((await check(token({ quota: quota([bucket(9)]) }))).quota).toEqual(['warn', 'client per_hour 9/100 left, resets in 2 hours', fix]);
    expect((await check(token({ quota: quota([bucket(10)]) }))).quota[0]).toBe('pass');
    expect((await check(token({ quota: quota([bucket(0, 0)]) }))).quota[0]).toBe('fail');
    expect((await check(token({ quota: quota([bucket(0)]) }))).quota).toEqual(['fail', 'client per_hour 0/100 left, resets in 2 hours', `the quota is used up until its reset: ${fix}`]);
    expect((await check(token({ quota: quota([bucket(50)], { limit: 30, remaining: 0, resetAt: undefined }) }))).quota).toEqual([
      'fail',
      'client per_hour 50/100 left, resets in 2 hours; rate limit 0/30 left',
      `the quota is used up until its reset: ${fix}`,
    ]);
    expect((await check(token({ quota: quota([bucket(5), bucket(50)]) }))).quota).toEqual(['warn', 'client per_hour 5/100 left, resets in 2 hours; client per_hour 50/100 left, resets in 2 hours', fix]);
  });
});

describe('what token and decode print', () => {
  it('inWords: the largest unit, rounded, singular or plural, ahead or past; under a second is now', () => {
    expect([0, 999, -999].map(inWords)).toEqual(['now', 'now', 'now']);
    expect(inWords(1000)).toBe('in 1 second');
    expect(inWords(1500)).toBe('in 2 seconds');
    expect(inWords(-60_000)).toBe('1 minute ago');
    expect(inWords(59_999)).toBe('in 60 seconds');
    expect(inWords(3_600_000)).toBe('in 1 hour');
    expect(inWords(-2 * 86_400_000)).toBe('2 days ago');
  });

  it('claimLines: names padded to the longest (at least 3), times with their date and distance', () => {
    const now = Date.UTC(2026, 0, 1);
    expect(claimLines({ iss: 'https://as', aud: ['a', 'b'], exp: now / 1000 + 3600, iat: now / 1000, nbf: now / 1000 - 60, auth_time: now / 1000, n: 5 }, now)).toEqual([
      '  iss        https://as',
      '  aud        ["a","b"]',
      '  exp        1767229200 (2026-01-01T01:00:00.000Z, in 1 hour)',
      '  iat        1767225600 (2026-01-01T00:00:00.000Z, now)',
      '  nbf        1767225540 (2025-12-31T23:59:00.000Z, 1 minute ago)',
      '  auth_time  1767225600 (2026-01-01T00:00:00.000Z, now)',
      '  n          5',
    ]);
    expect(claimLines({ a: 'x', exp: 'soon' }, now)).toEqual(['  a    x', '  exp  soon']);
  });

  it('decodeParts: three parts that decode, or nothing', () => {
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    expect(decodeParts(`${b64({ alg: 'none' })}.${b64({ sub: 's' })}.`, jose)).toEqual({ header: { alg: 'none' }, claims: { sub: 's' } });
    expect(decodeParts('a.b', jose)).toBeUndefined();
    expect(decodeParts('a.b.c.d', jose)).toBeUndefined();
    expect(decodeParts('not.json.here', jose)).toBeUndefined();
  });

  it('describeError and exitFor: the code before the message; usage errors and invalid options exit 2, the rest 1', () => {
    expect(describeError(Object.assign(new Error('bad'), { code: 'M2M_X' }))).toBe('M2M_X: bad');
    expect(describeError(Object.assign(new Error('bad'), { code: 5 }))).toBe('bad');
    expect(describeError('plain')).toBe('plain');
    expect(describeError(null)).toBe('null');
    expect(exitFor(new UsageError('u'))).toBe(2);
    expect(exitFor(Object.assign(new Error('o'), { code: 'M2M_INVALID_OPTION' }))).toBe(2);
    expect(exitFor(Object.assign(new Error('o'), { code: 'M2M_OTHER' }))).toBe(1);
    expect(exitFor(null)).toBe(1);
  });
});
