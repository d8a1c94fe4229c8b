import { OAuthError, TokenClient, TokenResponseError, type TokenClientOptions } from 'm2m-token';
import { mockNetwork, mockTokenEndpoint, useMockNetwork } from 'm2m-token/testing';
import { request as undiciRequest } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const DOMAIN = 'tenant.eu.auth0.com';
const API = 'https://api.example.com';
const CLIENT_ID = 'kit-client';
const SECRET = 'fake-kit-secret-5d1e';
const TOKEN_URL = `https://${DOMAIN}/oauth/token`;

const auth = mockTokenEndpoint({
  domain: DOMAIN,
  clientId: CLIENT_ID,
  clientSecret: SECRET,
  audiences: [API, 'https://other.example.com'],
  organizations: ['org_abc', { id: 'org_named', name: 'acme' }],
  scopes: ['read:invoices', 'write:invoices'],
});
// A second endpoint on another host, whose client has characters that Basic must form-encode.
const ODD_ID = 'app:1+ü';
const ODD_SECRET = 'fake s3cret:+%&=ü';
const generic = mockTokenEndpoint({ tokenEndpoint: 'https://idp.example.com/oauth2/v1/token', clientId: ODD_ID, clientSecret: ODD_SECRET, defaultAudience: API });
const network = useMockNetwork(mockNetwork(auth.handlers, generic.handlers), { beforeAll, afterEach, afterAll }, { reset: [auth, generic] });

const clients: TokenClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
function client(options: Partial<TokenClientOptions> = {}): TokenClient {
  const c = new TokenClient({ domain: DOMAIN, clientId: CLIENT_ID, clientSecret: SECRET, audience: API, retry: { retries: 2, baseDelay: 1, maxDelay: 2 }, ...options } as TokenClientOptions);
  clients.push(c);
  return c;
}

/** POSTs a hand-made token request, for requests TokenClient would never send. */
async function post(body: string, headers: Record<string, string> = {}, url = TOKEN_URL) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

describe('client authentication', () => {
  it('accepts client_secret_post and records the method, not the secret', async () => {
    const token = await client().getToken();
    expect(token.tokenType).toBe('Bearer');
    expect(token.expiresIn).toBe(86_400_000);
    expect(auth.calls).toEqual([
      expect.objectContaining({ grantType: 'client_credentials', clientId: CLIENT_ID, clientAuthentication: 'client_secret_post', clientSecretValid: true, audience: API, status: 200, error: undefined }),
    ]);
    expect(JSON.stringify(auth.calls)).not.toContain(SECRET);
  });

  it('accepts client_secret_basic', async () => {
    await client({ clientAuthentication: 'client_secret_basic' }).getToken();
    expect(auth.calls[0]).toMatchObject({ clientAuthentication: 'client_secret_basic', clientId: CLIENT_ID, clientSecretValid: true, status: 200 });
  });

  it('form-decodes Basic id and secret per RFC 6749 §2.3.1', async () => {
    const c = new TokenClient({ tokenEndpoint: generic.url, clientId: ODD_ID, clientSecret: ODD_SECRET, clientAuthentication: 'client_secret_basic' });
    clients.push(c);
    await expect(c.getToken()).resolves.toMatchObject({ tokenType: 'Bearer' });
    expect(generic.calls[0]).toMatchObject({ clientId: ODD_ID, clientSecretValid: true });
    // The same credentials without the form-encoding step: '+' decodes to a space, so the secret is wrong.
    const raw = await post('grant_type=client_credentials', { authorization: basic(ODD_ID, ODD_SECRET) }, generic.url);
    expect(raw.status).toBe(401);
    expect(generic.calls[1]).toMatchObject({ clientSecretValid: false, error: 'invalid_client' });
  });

  it('answers a wrong secret with invalid_client 401, which TokenClient surfaces as an OAuthError', async () => {
    const error = await client({ clientSecret: 'fake-wrong-secret' }).getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ status: 401, error: 'invalid_client' });
    expect(auth.calls[0]).toMatchObject({ clientSecretValid: false, status: 401, error: 'invalid_client' });
    expect(JSON.stringify(auth.calls)).not.toContain('fake-wrong-secret');
  });

  it('challenges a failed Basic login with WWW-Authenticate', async () => {
    const response = await post('grant_type=client_credentials', { authorization: basic(CLIENT_ID, 'fake-wrong-secret') });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Basic /);
    expect(response.body).toEqual({ error: 'invalid_client', error_description: 'Client authentication failed' });
  });

  it('refuses an unknown client, no credentials, two methods at once and a malformed Basic header', async () => {
    expect(await post(`grant_type=client_credentials&client_id=someone-else&client_secret=${SECRET}`)).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(await post('grant_type=client_credentials')).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(await post(`grant_type=client_credentials&client_secret=${SECRET}`, { authorization: basic(CLIENT_ID, SECRET) })).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(await post('grant_type=client_credentials', { authorization: 'Basic %%%' })).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(await post('grant_type=client_credentials&client_id=someone-else', { authorization: basic(CLIENT_ID, SECRET) })).toMatchObject({ status: 401 });
    expect(auth.calls.map((c) => c.clientAuthentication)).toEqual(['client_secret_post', 'none', 'multiple', 'client_secret_basic', 'client_secret_basic']);
  });

  it('refuses client assertions, which it does not support', async () => {
    const response = await post(`grant_type=client_credentials&client_id=${CLIENT_ID}&client_assertion_type=urn%3Aietf&client_assertion=eyJ.fake.jwt&audience=${API}`);
    expect(response).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(auth.calls[0]!.clientAuthentication).toBe('client_assertion');
  });
});

describe('grant type, audience, organization, scope', () => {
  const creds = `client_id=${CLIENT_ID}&client_secret=${SECRET}&audience=${encodeURIComponent(API)}`;

  it('requires grant_type=client_credentials', async () => {
    expect(await post(creds)).toMatchObject({ status: 400, body: { error: 'invalid_request', error_description: 'Missing required parameter: grant_type' } });
    expect(await post(`grant_type=password&${creds}`)).toMatchObject({ status: 400, body: { error: 'unsupported_grant_type' } });
    expect(auth.calls.map((c) => c.grantType)).toEqual([undefined, 'password']);
  });

  it('answers an unknown audience with access_denied 403', async () => {
    const error = await client({ audience: 'https://unknown.example.com' }).getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ status: 403, error: 'access_denied', errorDescription: 'Service not found: https://unknown.example.com' });
    expect(auth.calls[0]).toMatchObject({ audience: 'https://unknown.example.com', status: 403, error: 'access_denied' });
  });

  it('needs an audience unless a default audience is configured', async () => {
    const error = await client({ audience: undefined }).getToken().catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 403, error: 'access_denied' });
    const c = new TokenClient({ tokenEndpoint: generic.url, clientId: ODD_ID, clientSecret: ODD_SECRET });
    clients.push(c);
    await c.getToken();
    expect(generic.calls[0]).toMatchObject({ audience: undefined, status: 200 });
  });

  it('checks organizations against the allow-list, by id or by name', async () => {
    const c = client();
    await expect(c.getToken({ organization: 'org_abc' })).resolves.toBeDefined();
    await expect(c.getToken({ organization: 'acme' })).resolves.toBeDefined();
    await expect(c.getToken({ organization: 'org_other' })).rejects.toMatchObject({ status: 403, error: 'access_denied' });
    expect(auth.calls.map((r) => [r.organization, r.status])).toEqual([['org_abc', 200], ['acme', 200], ['org_other', 403]]);
  });

  it('grants asked scopes that the client has, refuses others, and grants all when none is asked', async () => {
    const c = client();
    expect((await c.getToken({ scope: 'read:invoices' })).scope).toEqual(['read:invoices']);
    expect((await c.getToken()).scope).toEqual(['read:invoices', 'write:invoices']);
    await expect(c.getToken({ scope: ['read:invoices', 'delete:everything'] })).rejects.toMatchObject({
      status: 403,
      error: 'access_denied',
      errorDescription: 'Client has not been granted scopes: delete:everything',
    });
  });
});

describe('recorded calls', () => {
  it('records organization, scope, resource and extra parameters as sent', async () => {
    await client({ organization: 'org_abc', scope: ['write:invoices', 'read:invoices'], resource: ['https://r1.example.com', 'https://r2.example.com'], extraParams: { tenant_hint: 'eu', tag: ['a', 'b'] } }).getToken();
    expect(auth.calls[0]).toMatchObject({
      organization: 'org_abc',
      scope: 'read:invoices write:invoices',
      resource: ['https://r1.example.com', 'https://r2.example.com'],
      extraParams: { tenant_hint: 'eu', tag: ['a', 'b'] },
      contentType: 'application/x-www-form-urlencoded',
    });
  });

  it('reads JSON bodies too, as Auth0 does', async () => {
    const response = await fetch(TOKEN_URL, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: SECRET, audience: API }),
    });
    expect(response.status).toBe(200);
    expect(auth.calls[0]).toMatchObject({ contentType: 'application/json', clientAuthentication: 'client_secret_post', audience: API });
    expect(await post('{not json', { 'content-type': 'application/json' })).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
  });

  it('counts token requests: one for 50 concurrent callers', async () => {
    const c = client();
    const tokens = await Promise.all(Array.from({ length: 50 }, () => c.getToken()));
    expect(new Set(tokens.map((t) => t.accessToken)).size).toBe(1);
    expect(auth.requestCount).toBe(1);
  });

  it('reset() forgets calls and scripted replies', async () => {
    auth.replyNext({ kind: 'oauth-error', error: 'invalid_client' });
    auth.replyAlways({ kind: 'server-error' });
    await post('grant_type=client_credentials');
    auth.reset();
    expect(auth.calls).toEqual([]);
    expect(auth.requestCount).toBe(0);
    await expect(client().getToken()).resolves.toBeDefined();
    expect(auth.requestCount).toBe(1);
  });
});

describe('scripted replies', () => {
  it('answers a chosen OAuth error once, then normally', async () => {
    auth.replyNext({ kind: 'oauth-error', error: 'invalid_client', errorDescription: 'Client is disabled' });
    const c = client();
    await expect(c.getToken()).rejects.toMatchObject({ status: 401, error: 'invalid_client', errorDescription: 'Client is disabled' });
    await expect(c.getToken()).resolves.toBeDefined();
    expect(auth.calls.map((r) => r.status)).toEqual([401, 200]);
  });

  it('uses the usual status for each OAuth error unless told', async () => {
    auth.replyNext({ kind: 'oauth-error', error: 'access_denied' }, { kind: 'oauth-error', error: 'invalid_scope' }, { kind: 'oauth-error', error: 'invalid_request', status: 422 });
    expect((await post('')).status).toBe(403);
    expect((await post('')).status).toBe(400);
    expect((await post('')).status).toBe(422);
  });

  it('answers 5xx, which TokenClient retries', async () => {
    auth.replyNext({ kind: 'server-error', status: 502 });
    await expect(client().getToken()).resolves.toBeDefined();
    expect(auth.calls.map((r) => r.status)).toEqual([502, 200]);
  });

  it('keeps answering a reply set with replyAlways', async () => {
    auth.replyAlways({ kind: 'server-error' });
    const error = await client().getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenResponseError);
    expect(error).toMatchObject({ status: 503 });
    expect(auth.requestCount).toBe(3); // first attempt + 2 retries
    auth.replyAlways(undefined);
    await expect(client().getToken()).resolves.toBeDefined();
  });

  it('answers 429 with Retry-After and Auth0 body', async () => {
    auth.replyNext({ kind: 'rate-limited', retryAfter: 7 });
    const response = await undiciRequest(TOKEN_URL, { method: 'POST', body: '' });
    expect(response.statusCode).toBe(429);
    expect(response.headers['retry-after']).toBe('7');
    expect(await response.body.json()).toEqual({ error: 'too_many_requests', error_description: 'Global limit has been reached' });
  });

  it('429 with Retry-After: 0 is retried by TokenClient after its own backoff', async () => {
    auth.replyNext({ kind: 'rate-limited', retryAfter: 0 });
    await expect(client({ retry: { retries: 1, baseDelay: 5, maxDelay: 5 } }).getToken()).resolves.toBeDefined();
    expect(auth.calls.map((r) => r.status)).toEqual([429, 200]);
  });

  it('fails the connection for a network-error reply', async () => {
    auth.replyNext({ kind: 'network-error' });
    await expect(client({ retry: false }).getToken()).rejects.toMatchObject({ code: 'M2M_NETWORK_ERROR' });
    expect(auth.calls[0]!.status).toBe(0);
  });

  it('delays the answer', async () => {
    auth.replyNext({ kind: 'token', delay: 400 });
    await expect(client({ retry: false, timeout: 40 }).getToken()).rejects.toMatchObject({ code: 'M2M_TIMEOUT' });
    auth.replyNext({ kind: 'token', delay: 60 });
    const started = performance.now();
    await client().getToken();
    expect(performance.now() - started).toBeGreaterThanOrEqual(50);
  });

  it('applies an endpoint-wide delay', async () => {
    const slow = mockTokenEndpoint({ domain: 'slow.example.com', clientId: CLIENT_ID, clientSecret: SECRET, delay: 400 });
    network.use(...slow.handlers); // removed again after the test by useMockNetwork
    await slow.jwks(); // the key is ready, so only the delay can make the request time out
    const c = client({ domain: 'slow.example.com', retry: false, timeout: 40 });
    await expect(c.getToken()).rejects.toMatchObject({ code: 'M2M_TIMEOUT' });
    expect(slow.requestCount).toBe(1);
  });

  it('still checks the request for a token reply', async () => {
    auth.replyNext({ kind: 'token', expiresIn: 60 });
    await expect(client({ clientSecret: 'fake-wrong-secret' }).getToken()).rejects.toMatchObject({ error: 'invalid_client' });
    auth.replyNext({ kind: 'token', expiresIn: 60, tokenType: 'bearer', body: { extra: 'field' } });
    const token = await client().getToken();
    expect(token.expiresIn).toBe(60_000);
    expect(token.raw).toMatchObject({ extra: 'field', token_type: 'bearer' });
  });

  it('refuses a malformed reply when it is scripted', () => {
    expect(() => auth.replyNext({ kind: 'teapot' } as never)).toThrow(/Unknown token endpoint reply kind "teapot"/);
    expect(() => auth.replyNext({ kind: 'token', delay: -1 })).toThrow(RangeError);
    expect(() => auth.replyAlways({ kind: 'token', expiresIn: 0 })).toThrow(RangeError);
  });
});

describe('options', () => {
  it('derives URLs from domain or tokenEndpoint', () => {
    expect(auth).toMatchObject({ url: TOKEN_URL, issuer: `https://${DOMAIN}/`, jwksUri: `https://${DOMAIN}/.well-known/jwks.json` });
    expect(mockTokenEndpoint({ domain: `https://${DOMAIN}/`, clientId: 'a', clientSecret: 'b' }).url).toBe(TOKEN_URL);
    expect(generic).toMatchObject({ url: 'https://idp.example.com/oauth2/v1/token', issuer: 'https://idp.example.com/', jwksUri: 'https://idp.example.com/.well-known/jwks.json' });
    const custom = mockTokenEndpoint({ tokenEndpoint: new URL('https://kc.example.com/realms/x/protocol/openid-connect/token'), issuer: 'https://kc.example.com/realms/x', jwksUri: 'https://kc.example.com/realms/x/certs', clientId: 'a', clientSecret: 'b' });
    expect(custom).toMatchObject({ issuer: 'https://kc.example.com/realms/x', jwksUri: 'https://kc.example.com/realms/x/certs' });
  });

  it('refuses unusable options', () => {
    // The types refuse these too; the run-time check is for JavaScript callers and casts.
    // @ts-expect-error no endpoint
    expect(() => mockTokenEndpoint({ clientId: 'a', clientSecret: 'b' })).toThrow(/exactly one of domain and tokenEndpoint/);
    // @ts-expect-error two endpoints
    expect(() => mockTokenEndpoint({ domain: DOMAIN, tokenEndpoint: TOKEN_URL, clientId: 'a', clientSecret: 'b' })).toThrow(/exactly one/);
    expect(() => mockTokenEndpoint({ domain: `${DOMAIN}/path`, clientId: 'a', clientSecret: 'b' })).toThrow(/host name/);
    expect(() => mockTokenEndpoint({ domain: DOMAIN, clientId: '', clientSecret: 'b' })).toThrow(/clientId/);
    expect(() => mockTokenEndpoint({ domain: DOMAIN, clientId: 'a', clientSecret: 'b', expiresIn: 0 })).toThrow(/expiresIn/);
  });
});
