// What the mock token endpoint answers to requests TokenClient would never send (each Auth0 rule, its status,
// error and description), what it serves besides tokens (metadata, JWKS), the URLs it derives from its options,
// the options it refuses, and the fakes' and ManualClock's edges. Endpoints are made inside the tests, so that
// what their constructor does is part of each test.
import { decodeJwt } from 'jose';
import { ErrorCode, TokenClient, TokenRequestError } from 'm2m-token';
import { FakeTokenSource, ManualClock, mockNetwork, mockTokenEndpoint, useMockNetwork } from 'm2m-token/testing';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

const CLIENT_ID = 'kit-client';
const SECRET = 'fake-kit-secret-77a1';
const network = useMockNetwork(mockNetwork(), { beforeAll, afterEach, afterAll });

type Options = Parameters<typeof mockTokenEndpoint>[0];
function endpoint(options: Partial<Options> = {}) {
  const auth = mockTokenEndpoint({ domain: 'tenant.example.com', clientId: CLIENT_ID, clientSecret: SECRET, ...options } as Options);
  network.use(...auth.handlers);
  return auth;
}

const form = (fields: Record<string, string | string[]>) => {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) for (const v of [value].flat()) body.append(name, v);
  return body.toString();
};
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const b64 = (text: string) => Buffer.from(text).toString('base64');

async function post(url: string, body: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: JSON.parse(text) as Record<string, unknown> };
}
const good = { grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: SECRET, audience: 'https://api' };

describe('Auth0 rules, in order, with their status, error and description', () => {
  it('a JSON body that does not parse, or is not an object of strings, is invalid_request 400', async () => {
    const auth = endpoint();
    const json = { 'content-type': 'application/json' };
    for (const body of ['{', 'null', '[]', '"text"', JSON.stringify({ ...good, audience: 5 }), JSON.stringify({ ...good, resource: ['a', 7] })]) {
      const r = await post(auth.url, body, json);
      expect({ body, status: r.status, answer: r.body }).toEqual({ body, status: 400, answer: { error: 'invalid_request', error_description: 'The request body could not be parsed' } });
    }
    // A JSON array of strings is a repeated parameter.
    const r = await post(auth.url, JSON.stringify({ ...good, resource: ['https://a', 'https://b'] }), json);
    expect(r.status).toBe(200);
    expect(auth.calls.at(-1)).toMatchObject({ resource: ['https://a', 'https://b'], contentType: 'application/json', clientAuthentication: 'client_secret_post' });
  });

  it('two client authentication methods are invalid_request 400', async () => {
    const auth = endpoint();
    const r = await post(auth.url, form(good), { authorization: basic(CLIENT_ID, SECRET) });
    expect(r).toMatchObject({ status: 400, body: { error: 'invalid_request', error_description: 'Use only one client authentication method' } });
    expect(auth.calls[0]!.clientAuthentication).toBe('multiple');
  });

  it('reads Basic credentials: case, spaces, padding; anything else that says Basic is malformed', async () => {
    const auth = endpoint();
    const body = form({ grant_type: 'client_credentials', audience: 'https://api' });
    const creds = b64(`${CLIENT_ID}:${SECRET}`);
    for (const header of [`basic ${creds}`, `Basic   ${creds}`, `BASIC ${creds}  `]) {
      expect((await post(auth.url, body, { authorization: header })).status, header).toBe(200);
    }
    const malformed = { status: 401, body: { error: 'invalid_client', error_description: 'Malformed Basic authorization header' } };
    for (const header of [`Basic ${creds} junk`, 'Basic !!!', `Basic ${b64('no-colon')}`, `Basic ${b64('%E0%A4%A:secret')}`, `Basic ${b64('id:%ZZ')}`]) {
      const r = await post(auth.url, body, { authorization: header });
      expect({ header, ...r, headers: undefined }).toMatchObject({ header, ...malformed });
      expect(r.headers.get('www-authenticate')).toBe('Basic realm="token"');
    }
    // Not Basic at all (another scheme, or "basic" later in the value): no credentials.
    for (const header of [`Bearer ${creds}`, `x basic ${creds}`, `xbasic ${creds}`]) {
      const r = await post(auth.url, body, { authorization: header });
      expect({ header, ...r, headers: undefined }).toMatchObject({ header, status: 401, body: { error: 'invalid_client', error_description: 'Client authentication is required' } });
    }
    // An empty client id before the colon is a client id, an unknown one.
    expect((await post(auth.url, body, { authorization: `Basic ${b64(`:${SECRET}`)}` })).body).toEqual({ error: 'invalid_client', error_description: 'Unknown client: ' });
  });

  it('a client_id in the body must be the Basic one', async () => {
    const auth = endpoint();
    const headers = { authorization: basic(CLIENT_ID, SECRET) };
    expect((await post(auth.url, form({ grant_type: 'client_credentials', audience: 'https://api', client_id: CLIENT_ID }), headers)).status).toBe(200);
    const r = await post(auth.url, form({ grant_type: 'client_credentials', audience: 'https://api', client_id: 'other' }), headers);
    expect(r).toMatchObject({ status: 401, body: { error: 'invalid_client', error_description: 'client_id in the body does not match the Authorization header' } });
  });

  it('refuses client assertions, missing authentication, unknown clients and wrong secrets', async () => {
    const auth = endpoint();
    const cases: [Record<string, string>, string][] = [
      [{ grant_type: 'client_credentials', client_id: CLIENT_ID, client_assertion: 'x.y.z', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' }, 'This mock token endpoint supports client_secret_post and client_secret_basic only'],
      [{ grant_type: 'client_credentials', client_id: CLIENT_ID }, 'Client authentication is required'],
      [{ grant_type: 'client_credentials', client_secret: SECRET }, 'Client authentication is required'],
      [{ grant_type: 'client_credentials', client_id: 'someone', client_secret: SECRET }, 'Unknown client: someone'],
      [{ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: 'fake-wrong' }, 'Client authentication failed'],
    ];
    for (const [fields, description] of cases) {
      const r = await post(auth.url, form(fields));
      expect({ status: r.status, body: r.body }).toEqual({ status: 401, body: { error: 'invalid_client', error_description: description } });
      // client_secret_post is not challenged: only a Basic login gets WWW-Authenticate.
      expect(r.headers.get('www-authenticate')).toBeNull();
    }
    expect(auth.calls.map((c) => c.clientAuthentication)).toEqual(['client_assertion', 'none', 'client_secret_post', 'client_secret_post', 'client_secret_post']);
  });

  it('grant type, audience, organization and scope refusals', async () => {
    const auth = endpoint({ audiences: ['https://api'], organizations: ['org_1'], scopes: ['read', 'write'] });
    const expectRefusal = async (fields: Record<string, string>, status: number, error: string, description: string) => {
      const r = await post(auth.url, form({ client_id: CLIENT_ID, client_secret: SECRET, ...fields }));
      expect({ status: r.status, body: r.body }).toEqual({ status, body: { error, error_description: description } });
    };
    await expectRefusal({ audience: 'https://api' }, 400, 'invalid_request', 'Missing required parameter: grant_type');
    await expectRefusal({ grant_type: 'password', audience: 'https://api' }, 400, 'unsupported_grant_type', 'Unsupported grant type: password');
    await expectRefusal({ grant_type: 'client_credentials' }, 403, 'access_denied', 'No audience parameter was provided, and no default audience has been configured');
    await expectRefusal({ grant_type: 'client_credentials', audience: 'https://nope' }, 403, 'access_denied', 'Service not found: https://nope');
    await expectRefusal({ grant_type: 'client_credentials', audience: 'https://api', organization: 'org_2' }, 403, 'access_denied', 'Client is not authorized to access organization "org_2"');
    await expectRefusal({ grant_type: 'client_credentials', audience: 'https://api', scope: 'read delete admin' }, 403, 'access_denied', 'Client has not been granted scopes: delete, admin');
    // A Basic client refused for another reason than its credentials is not challenged either.
    const r = await post(auth.url, form({ grant_type: 'client_credentials', audience: 'https://nope' }), { authorization: basic(CLIENT_ID, SECRET) });
    expect(r.status).toBe(403);
    expect(r.headers.get('www-authenticate')).toBeNull();
  });

  it('without organizations, scopes or audiences configured, anything asked is granted; nothing asked, nothing granted', async () => {
    const auth = endpoint();
    const asked = await post(auth.url, form({ ...good, organization: 'org_any', scope: 'anything at  all' }));
    expect(asked.status).toBe(200);
    expect(asked.body.scope).toBe('anything at all');
    expect(decodeJwt(asked.body.access_token as string)).toMatchObject({ org_id: 'org_any', scope: 'anything at all', aud: 'https://api' });
    const bare = await post(auth.url, form(good));
    expect(bare.body).not.toHaveProperty('scope');
    const claims = decodeJwt(bare.body.access_token as string);
    expect(claims).not.toHaveProperty('scope');
    expect(claims).not.toHaveProperty('org_id');
    expect(bare.headers.get('cache-control')).toBe('no-store');
    expect(bare.headers.get('pragma')).toBe('no-cache');
    expect(auth.calls.at(-1)).toMatchObject({ resource: [], extraParams: {}, organization: undefined, scope: undefined });
  });

  it('with organizations configured, a request without one gets a token without org_id', async () => {
    const auth = endpoint({ organizations: [{ id: 'org_1', name: 'acme' }, 'org_2'] });
    const r = await post(auth.url, form(good));
    expect(decodeJwt(r.body.access_token as string)).not.toHaveProperty('org_id');
    const named = await post(auth.url, form({ ...good, organization: 'acme' }));
    expect(decodeJwt(named.body.access_token as string)).toMatchObject({ org_id: 'org_1' });
    const byId = await post(auth.url, form({ ...good, organization: 'org_2' }));
    expect(decodeJwt(byId.body.access_token as string)).toMatchObject({ org_id: 'org_2' });
  });
});

describe('scripted replies', () => {
  it('an OAuth error without a description has none; a scripted 401 is not a Basic challenge', async () => {
    const auth = endpoint();
    auth.replyNext({ kind: 'oauth-error', error: 'invalid_client' });
    const r = await post(auth.url, form(good), {});
    expect({ status: r.status, body: r.body }).toEqual({ status: 401, body: { error: 'invalid_client' } });
    auth.replyNext({ kind: 'oauth-error', error: 'invalid_client' });
    const viaBasic = await post(auth.url, form({ grant_type: 'client_credentials', audience: 'https://api' }), { authorization: basic(CLIENT_ID, SECRET) });
    expect(viaBasic.status).toBe(401);
    expect(viaBasic.headers.get('www-authenticate')).toBeNull();
  });

  it('a server error says HTTP <status> unless given a body, and sends Retry-After only when given one', async () => {
    const auth = endpoint();
    auth.replyNext({ kind: 'server-error', status: 502 }, { kind: 'server-error', retryAfter: 7, body: 'busy' });
    const first = await fetch(auth.url, { method: 'POST', body: form(good) });
    expect(first.status).toBe(502);
    expect(first.headers.get('retry-after')).toBeNull();
    expect(await first.text()).toBe('HTTP 502');
    const second = await fetch(auth.url, { method: 'POST', body: form(good) });
    expect(second.status).toBe(503);
    expect(second.headers.get('retry-after')).toBe('7');
    expect(await second.text()).toBe('busy');
  });

  it('a network-error reply fails the request', async () => {
    const auth = endpoint();
    auth.replyNext({ kind: 'network-error' });
    await expect(fetch(auth.url, { method: 'POST', body: form(good) })).rejects.toThrow(TypeError);
    expect(auth.calls[0]!.status).toBe(0);
    // Failed by the endpoint itself, not for want of a handler.
    expect(network.unhandledRequests).toEqual([]);
  });

  it('refuses a reply of no known kind, naming the kinds; a negative delay; a lifetime that is not > 0', () => {
    const auth = endpoint();
    expect(() => auth.replyNext({ kind: 'nope' } as never)).toThrow('Unknown token endpoint reply kind "nope"; use one of token, oauth-error, server-error, rate-limited, network-error.');
    expect(() => auth.replyNext(null as never)).toThrow('Unknown token endpoint reply kind undefined;');
    expect(() => auth.replyNext({ kind: 'token', delay: -1 })).toThrow(new RangeError('Reply delay must be ms ≥ 0, got -1.'));
    expect(() => auth.replyNext({ kind: 'token', delay: 0 })).not.toThrow();
    expect(() => auth.replyNext({ kind: 'token', expiresIn: 0 })).toThrow(new RangeError('Reply expiresIn must be seconds > 0, got 0.'));
    // expiresIn is a token reply's: on another kind it is not checked.
    expect(() => auth.replyNext({ kind: 'server-error', expiresIn: 0 } as never)).not.toThrow();
    auth.reset();
  });
});

describe('what the endpoint serves and where', () => {
  it('from a domain (https:// and trailing slashes ignored): /oauth/token, the issuer, the JWKS, both discovery documents', async () => {
    const auth = endpoint({ domain: 'https://tenant.example.com//' });
    expect([auth.url, auth.issuer, auth.jwksUri]).toEqual(['https://tenant.example.com/oauth/token', 'https://tenant.example.com/', 'https://tenant.example.com/.well-known/jwks.json']);
    const metadata = {
      issuer: 'https://tenant.example.com/',
      token_endpoint: 'https://tenant.example.com/oauth/token',
      jwks_uri: 'https://tenant.example.com/.well-known/jwks.json',
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
      id_token_signing_alg_values_supported: ['RS256'],
    };
    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
      expect(await (await fetch(`https://tenant.example.com${path}`)).json()).toEqual(metadata);
    }
    const jwks = (await (await fetch(auth.jwksUri)).json()) as { keys: { kid: string; alg: string; use: string }[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ alg: 'RS256', use: 'sig', kty: 'RSA' });
  });

  it('from a token endpoint URL: that URL without its query, the origin as issuer and for the JWKS', () => {
    const auth = endpoint({ domain: undefined, tokenEndpoint: 'https://idp.example.com/oauth2/v1/token?tenant=a' });
    expect([auth.url, auth.issuer, auth.jwksUri]).toEqual(['https://idp.example.com/oauth2/v1/token', 'https://idp.example.com/', 'https://idp.example.com/.well-known/jwks.json']);
  });

  it('an issuer with a path: discovery appended to it (OIDC) and inserted before it (RFC 8414)', async () => {
    const auth = endpoint({ issuer: 'https://tenant.example.com/a/b//' });
    expect(auth.issuer).toBe('https://tenant.example.com/a/b//');
    for (const url of ['https://tenant.example.com/a/b/.well-known/openid-configuration', 'https://tenant.example.com/.well-known/oauth-authorization-server/a/b']) {
      const response = await fetch(url);
      expect((await response.json()) as object, url).toMatchObject({ issuer: 'https://tenant.example.com/a/b//' });
    }
  });

  it('a domain that is not a host name is refused, naming it', () => {
    for (const domain of ['tenant.example.com/path', 'a.https://b.example.com', '']) {
      expect(() => mockTokenEndpoint({ domain, clientId: CLIENT_ID, clientSecret: SECRET })).toThrow(`mockTokenEndpoint: domain must be a host name like tenant.eu.auth0.com, got ${JSON.stringify(domain)}.`);
    }
  });

  it('refuses an empty or missing client id or secret, and a delay that is not ms ≥ 0', () => {
    const make = (options: object) => () => mockTokenEndpoint({ domain: 'tenant.example.com', clientId: CLIENT_ID, clientSecret: SECRET, ...options } as Options);
    for (const clientId of ['', 5, undefined]) expect(make({ clientId })).toThrow(new TypeError('mockTokenEndpoint: clientId must be a non-empty string.'));
    for (const clientSecret of ['', 5, undefined]) expect(make({ clientSecret })).toThrow(new TypeError('mockTokenEndpoint: clientSecret must be a non-empty string.'));
    expect(make({ delay: -1 })).toThrow(new RangeError('mockTokenEndpoint: delay must be ms ≥ 0, got -1.'));
    expect(make({ delay: Number.NaN })).toThrow(new RangeError('mockTokenEndpoint: delay must be ms ≥ 0, got NaN.'));
    expect(make({ delay: Number.POSITIVE_INFINITY })).toThrow(RangeError);
    expect(make({ delay: 0 })).not.toThrow();
  });

  it('without a clock, stamps requests and tokens with the real time', async () => {
    const auth = endpoint();
    const before = Date.now();
    const r = await post(auth.url, form(good));
    const after = Date.now();
    expect(auth.calls[0]!.receivedAt).toBeGreaterThanOrEqual(before);
    expect(auth.calls[0]!.receivedAt).toBeLessThanOrEqual(after);
    const { iat } = decodeJwt(r.body.access_token as string);
    expect(iat).toBeGreaterThanOrEqual(Math.floor(before / 1000));
    expect(iat).toBeLessThanOrEqual(Math.ceil(after / 1000));
  });

  it('signToken: a scope string split on any whitespace; no scope or organization, no claim', async () => {
    const auth = endpoint();
    expect(decodeJwt(await auth.signToken({ audience: 'https://api', scope: ' read  write ' }))).toMatchObject({ scope: 'read write' });
    const bare = decodeJwt(await auth.signToken({ audience: 'https://api' }));
    expect(bare).not.toHaveProperty('scope');
    expect(bare).not.toHaveProperty('org_id');
    expect(decodeJwt(await auth.signToken({ audience: 'https://api', scope: [] }))).not.toHaveProperty('scope');
  });

  it('reset() also forgets the quota counts', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 10, 0));
    const auth = endpoint({ clock, quotas: { client: { perHour: 1, enforce: true } } } as Partial<Options>);
    expect((await post(auth.url, form(good))).status).toBe(200);
    expect((await post(auth.url, form(good))).status).toBe(429);
    auth.reset();
    expect((await post(auth.url, form(good))).status).toBe(200);
  });

  it('a used-up quota answers 429 naming the header of the bucket that refused it; the organization quota counts per organization id', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 10, 0));
    const auth = endpoint({ clock, organizations: [{ id: 'org_1', name: 'acme' }], quotas: { client: { perHour: 3 }, organization: { perDay: 1 } } } as Partial<Options>);
    expect((await post(auth.url, form({ ...good, organization: 'org_1' }))).status).toBe(200);
    const byName = await post(auth.url, form({ ...good, organization: 'acme' }));
    expect({ status: byName.status, body: byName.body }).toEqual({ status: 429, body: { error: 'too_many_requests', error_description: 'Token quota exceeded; see the Auth0-Organization-Quota-Limit header' } });
    expect(byName.headers.get('auth0-organization-quota-limit')).toBe('b=per_day;q=1;r=0;t=50400');
    expect(auth.calls.at(-1)).toMatchObject({ status: 429, error: 'too_many_requests' });
    expect((await post(auth.url, form(good))).status).toBe(200);
    expect((await post(auth.url, form(good))).status).toBe(200);
    const client = await post(auth.url, form(good));
    expect(client.body).toEqual({ error: 'too_many_requests', error_description: 'Token quota exceeded; see the Auth0-Client-Quota-Limit header' });
    expect(client.headers.get('auth0-client-quota-limit')).toBe('b=per_hour;q=3;r=0;t=3600');
    expect(client.headers.get('auth0-organization-quota-limit')).toBeNull();
  });

  it('a quota in monitoring mode (enforce: false) issues tokens and shows 0 remaining', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 10, 0));
    const auth = endpoint({ clock, quotas: { client: { perDay: 1, enforce: false } } } as Partial<Options>);
    await post(auth.url, form(good));
    const over = await post(auth.url, form(good));
    expect(over.status).toBe(200);
    expect(over.headers.get('auth0-client-quota-limit')).toBe('b=per_day;q=1;r=0;t=50400');
  });

  it('refuses a quota bucket that is not a whole number ≥ 1, naming it', () => {
    const make = (quotas: object) => () => mockTokenEndpoint({ domain: 'tenant.example.com', clientId: CLIENT_ID, clientSecret: SECRET, quotas } as Options);
    expect(make({ client: { perDay: 0 } })).toThrow(new RangeError('mockTokenEndpoint: quotas.client.perDay must be a whole number ≥ 1, got 0.'));
    expect(make({ organization: { perHour: 1.5 } })).toThrow(new RangeError('mockTokenEndpoint: quotas.organization.perHour must be a whole number ≥ 1, got 1.5.'));
    expect(make({ organization: {} })).toThrow(new TypeError('mockTokenEndpoint: quotas.organization needs perHour, perDay or both.'));
  });

  it('TokenClient gets the same answers through undici', async () => {
    const auth = endpoint({ audiences: ['https://api'] });
    const client = new TokenClient({ domain: 'tenant.example.com', clientId: CLIENT_ID, clientSecret: SECRET, audience: 'https://api' });
    try {
      await expect(client.getToken()).resolves.toMatchObject({ tokenType: 'Bearer', expiresIn: 86_400_000 });
      expect(auth.requestCount).toBe(1);
    } finally {
      await client.close();
    }
  });
});

describe('FakeTokenSource edges', () => {
  it('an aborted call rejects with M2M_ABORTED and the reason as cause, and is still recorded', async () => {
    const source = new FakeTokenSource();
    const reason = new Error('stop');
    const error = await source.getToken({ signal: AbortSignal.abort(reason), audience: 'a' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenRequestError);
    expect(error).toMatchObject({ code: ErrorCode.ABORTED, message: 'getToken() was aborted by its signal.', cause: reason });
    expect(source.calls).toEqual([{ audience: 'a' }]);
  });

  it('refuses a lifetime that is not a positive number of ms', () => {
    for (const expiresIn of [0, -1, Number.NaN]) {
      expect(() => new FakeTokenSource({ expiresIn })).toThrow(new RangeError(`FakeTokenSource expiresIn must be a positive number of ms, got ${expiresIn}.`));
    }
  });

  it('reset() forgets minted tokens: the next call mints a new one', async () => {
    const source = new FakeTokenSource();
    expect((await source.getToken()).accessToken).toBe('fake-token-1');
    expect((await source.getToken()).accessToken).toBe('fake-token-1');
    source.reset();
    expect((await source.getToken()).accessToken).toBe('fake-token-2');
  });

  it('the most specific rule wins, whatever the order; among equals, the last set', async () => {
    const source = new FakeTokenSource();
    source.setToken('org-only', { organization: 'o' });
    source.setToken('both', { audience: 'a', organization: 'o' });
    source.setToken('audience-only', { audience: 'a' });
    source.setToken('any');
    source.setToken('any-later');
    expect((await source.getToken({ audience: 'a', organization: 'o' })).accessToken).toBe('both');
    expect((await source.getToken({ audience: 'a' })).accessToken).toBe('audience-only');
    expect((await source.getToken({ organization: 'o' })).accessToken).toBe('org-only');
    expect((await source.getToken({ audience: 'b' })).accessToken).toBe('any-later');
    expect((await source.getToken()).accessToken).toBe('any-later');
  });

  it('a rule for an audience or organization does not answer calls without it', async () => {
    const source = new FakeTokenSource();
    source.setToken('for-a', { audience: 'a' });
    source.setToken('for-o', { organization: 'o' });
    expect((await source.getToken()).accessToken).toBe('fake-token-1');
    expect((await source.getToken({ audience: 'b', organization: 'p' })).accessToken).toBe('fake-token-2');
  });

  it('mints one token per distinct options, whatever their spelling; a scope string or list, deduplicated and sorted', async () => {
    const source = new FakeTokenSource();
    const a = await source.getToken({ scope: ' b  a a', resource: 'https://r', extraParams: { y: '1', x: ['2'] } });
    expect(a.scope).toEqual(['a', 'b']);
    expect(a.raw).toMatchObject({ scope: 'a b' });
    expect(await source.getToken({ scope: ['a', 'b'], resource: ['https://r'], extraParams: { x: '2', y: ['1'] } })).toBe(a);
    for (const other of [{ scope: 'a' }, { scope: 'a b', resource: 'https://s' }, { scope: 'a b', resource: 'https://r', extraParams: { x: '3', y: '1' } }, { organization: 'o', scope: 'a b', resource: 'https://r', extraParams: { x: '2', y: '1' } }, {}]) {
      expect(await source.getToken(other), JSON.stringify(other)).not.toBe(a);
    }
    // A resource or a scope given is not the same as none; two scopes are not the same either.
    const noResource = await source.getToken({ scope: 'a b', extraParams: { x: '2', y: '1' } });
    expect(noResource).not.toBe(a);
    expect(await source.getToken({ scope: 'x' })).not.toBe(await source.getToken({ scope: 'y' }));
    // Extra parameters in any order.
    const three = await source.getToken({ extraParams: { c: '3', a: '1', b: '2' } });
    expect(await source.getToken({ extraParams: { b: '2', c: '3', a: '1' } })).toBe(three);
    expect(await source.getToken({ extraParams: { a: '1', b: '2', c: '3' } })).toBe(three);
    const plain = await source.getToken({ audience: 'x' });
    expect(plain.scope).toBeUndefined();
    expect(plain.raw).not.toHaveProperty('scope');
    // An organization and no organization, a resource and no resource, are different options.
    expect(await source.getToken({ audience: 'x', organization: 'null' })).not.toBe(plain);
  });

  it('a minted token is kept until the clock reaches its expiry', async () => {
    const clock = new ManualClock(0);
    const source = new FakeTokenSource({ clock, expiresIn: 1_000 });
    const first = await source.getToken();
    clock.advance(999);
    expect(await source.getToken()).toBe(first);
    clock.advance(1);
    expect((await source.getToken()).accessToken).toBe('fake-token-2');
  });
});

describe('ManualClock edges', () => {
  it('advance(0) is allowed; a negative or non-finite step is refused, naming set()', () => {
    const clock = new ManualClock(1_000);
    expect(clock.advance(0)).toBe(1_000);
    expect(clock.monotonic()).toBe(0);
    expect(clock.advance(5)).toBe(1_005);
    expect(clock.monotonic()).toBe(5);
    for (const ms of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => clock.advance(ms)).toThrow(new RangeError(`ManualClock.advance(ms) needs a finite ms ≥ 0, got ${ms}; use set() to go back.`));
    }
  });

  it('refuses a start or a set() time that is not a finite epoch ms or a valid Date, saying which', () => {
    expect(() => new ManualClock(Number.NaN)).toThrow(new RangeError('ManualClock start must be a finite epoch ms or a valid Date, got NaN.'));
    const clock = new ManualClock(new Date(5_000));
    expect(clock.now()).toBe(5_000);
    expect(() => clock.set(new Date('nope'))).toThrow(new RangeError('ManualClock set(time) must be a finite epoch ms or a valid Date, got Invalid Date.'));
    clock.set(10);
    expect(clock.now()).toBe(10);
    expect(clock.monotonic()).toBe(0);
    const { monotonic } = clock;
    clock.advance(3);
    expect(monotonic()).toBe(3);
  });
});

describe('a network made inside a test', () => {
  it('keeps the unmocked requests in a live, enumerable unhandledRequests; prints one line each', async () => {
    const own = mockNetwork();
    const printed: string[] = [];
    for (const method of ['error', 'warn', 'log', 'info'] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void printed.push(args.map((a) => (typeof a === 'string' ? a : inspect(a))).join(' ')));
    }
    await network.disable();
    try {
      await own.enable();
      const before = own.unhandledRequests;
      await fetch('https://unmocked.example.com/a?b=1').catch(() => undefined);
      expect(before).toEqual([]);
      expect(own.unhandledRequests).toEqual([{ method: 'GET', url: 'https://unmocked.example.com/a?b=1' }]);
      expect(Object.keys(own)).toContain('unhandledRequests');
      expect(printed).toEqual(['[m2m-token/testing] Unmocked request: GET https://unmocked.example.com/a?b=1 (failed with a network error; add an msw handler for it)']);
      own.clearUnhandledRequests();
      expect(own.unhandledRequests).toEqual([]);
    } finally {
      await own.disable();
      vi.restoreAllMocks();
      await network.enable();
    }
  });
});
