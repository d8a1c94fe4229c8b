import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { TokenClient } from 'm2m-token';
import { ManualClock, mockNetwork, mockTokenEndpoint, useMockNetwork } from 'm2m-token/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const DOMAIN = 'jwt-tenant.us.auth0.com';
const API = 'https://api.example.com';
const CLIENT_ID = 'jwt-client';
const SECRET = 'fake-jwt-secret-77aa';

const clock = new ManualClock(Date.parse('2026-03-01T12:00:00Z'));
const auth = mockTokenEndpoint({ domain: DOMAIN, clientId: CLIENT_ID, clientSecret: SECRET, audiences: [API], scopes: ['read:a', 'write:a'], expiresIn: 3600, clock });
const other = mockTokenEndpoint({ domain: 'other-tenant.auth0.com', clientId: CLIENT_ID, clientSecret: SECRET });
useMockNetwork(mockNetwork(auth.handlers, other.handlers), { beforeAll, afterEach, afterAll }, { reset: [auth] });

// Verification as an API would do it: keys fetched over HTTP from the JWKS URL, which msw serves.
const jwks = createRemoteJWKSet(new URL(auth.jwksUri));
const verify = (token: string, audience = API) => jwtVerify(token, jwks, { issuer: auth.issuer, audience, currentDate: new Date(clock.now()) });

const clients: TokenClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
function client(): TokenClient {
  const c = new TokenClient({ domain: DOMAIN, clientId: CLIENT_ID, clientSecret: SECRET, audience: API, clock });
  clients.push(c);
  return c;
}

describe('issued tokens', () => {
  it('are RS256 JWTs with the claims of an Auth0 client_credentials token, verified against the served JWKS', async () => {
    const token = await client().getToken({ organization: 'org_42', scope: 'read:a' });
    const { payload, protectedHeader } = await verify(token.accessToken);
    const iat = Math.floor(clock.now() / 1000);
    expect(payload).toEqual({
      iss: `https://${DOMAIN}/`,
      sub: `${CLIENT_ID}@clients`,
      aud: API,
      azp: CLIENT_ID,
      client_id: CLIENT_ID,
      scope: 'read:a',
      org_id: 'org_42',
      gty: 'client-credentials',
      iat,
      exp: iat + 3600,
      jti: expect.any(String),
    });
    expect(protectedHeader).toMatchObject({ alg: 'RS256', typ: 'JWT' });
    const served = (await (await fetch(auth.jwksUri)).json()) as { keys: { kid: string; kty: string; alg: string; use: string; d?: string }[] };
    expect(served.keys).toHaveLength(1);
    expect(served.keys[0]).toMatchObject({ kid: protectedHeader.kid, kty: 'RSA', alg: 'RS256', use: 'sig' });
    expect(served.keys[0]!.d).toBeUndefined(); // the public half only
  });

  it('leave out org_id without an organization, and carry all granted scopes when none was asked', async () => {
    const { payload } = await verify((await client().getToken()).accessToken);
    expect(payload.org_id).toBeUndefined();
    expect(payload.scope).toBe('read:a write:a');
  });

  it('follow the clock: iat at the request, exp = iat + expires_in, and expired once the clock passes exp', async () => {
    auth.replyNext({ kind: 'token', expiresIn: 120 });
    const token = await client().getToken();
    const { payload } = await verify(token.accessToken);
    expect(payload.exp! - payload.iat!).toBe(120);
    expect(token.expiresIn).toBe(120_000);
    clock.advance(121_000);
    await expect(verify(token.accessToken)).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED' });
  });

  it('are unique, so a refreshed token is observably new', async () => {
    const c = client();
    const first = await c.getToken();
    const second = await c.getToken({ forceRefresh: true });
    expect(second.accessToken).not.toBe(first.accessToken);
    expect(auth.requestCount).toBe(2);
  });

  it('take claim overrides, and TokenClient falls back to exp when expires_in is left out', async () => {
    auth.replyNext({ kind: 'token', claims: { permissions: ['read:a'], gty: undefined }, body: { expires_in: undefined } });
    const token = await client().getToken();
    const { payload } = await verify(token.accessToken);
    expect(payload.permissions).toEqual(['read:a']);
    expect(payload.gty).toBeUndefined();
    expect(token.raw.expires_in).toBeUndefined();
    expect(token.expiresAt).toBe(payload.exp! * 1000);
  });

  it('do not verify against another kit instance: each has its own key', async () => {
    const token = await client().getToken();
    const otherKeys = createRemoteJWKSet(new URL(other.jwksUri));
    await expect(jwtVerify(token.accessToken, otherKeys)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    expect(decodeProtectedHeader(token.accessToken).kid).not.toBe((await other.jwks()).keys[0]!.kid);
  });
});

describe('signToken and jwks()', () => {
  it('signs a token without a request, verifiable with the local JWKS', async () => {
    const token = await auth.signToken({ audience: 'https://elsewhere.example.com', organization: 'org_1', scope: ['x', 'y'], expiresIn: 60, claims: { custom: 1 } });
    const { payload } = await jwtVerify(token, createLocalJWKSet(await auth.jwks()), { issuer: auth.issuer, audience: 'https://elsewhere.example.com', currentDate: new Date(clock.now()) });
    expect(payload).toMatchObject({ org_id: 'org_1', scope: 'x y', custom: 1, sub: `${CLIENT_ID}@clients` });
    expect(payload.exp! - payload.iat!).toBe(60);
    expect(auth.requestCount).toBe(0);
  });
});

describe('discovery', () => {
  it('serves OpenID and RFC 8414 metadata pointing at the token endpoint and JWKS', async () => {
    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
      const response = await fetch(`https://${DOMAIN}${path}`);
      expect(await response.json()).toMatchObject({ issuer: auth.issuer, token_endpoint: auth.url, jwks_uri: auth.jwksUri, grant_types_supported: ['client_credentials'] });
    }
  });
});
