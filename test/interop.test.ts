// Interop against a real, certified authorization server (oidc-provider), for every client authentication
// method. Every token is verified with jose against the server's JWKS.
import { createPrivateKey, generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, exportJWK, jwtVerify, type JWK } from 'jose';
import { http, HttpResponse } from 'msw';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAuthorizationServer, type AuthorizationServer, type RegisteredClient } from '../demo/authorization-server.js';
import { ConfigurationError, OAuthError, TokenClient, type ClientCredentialOptions, type TokenClientBaseOptions } from '../src/index.js';
import { makeTestPki, type TestPki } from './helpers/certs.js';
import { expectNoLeak } from './helpers/leaks.js';
import { mockNetwork } from './helpers/msw.js';

const API = 'https://api.local/';
const OTHER_API = 'https://other.local/';
// RFC 6749 Appendix A allows only VSCHAR (printable ASCII) in secrets, and oidc-provider enforces it: no é here.
const BASIC_SECRET = 'b4sic s3cr+t%:/=-long-enough-value';
const HS_SECRET = 'hs256-shared-secret-of-at-least-32-bytes!!';

function keyPair(type: 'rsa' | 'ec' | 'ed25519'): { privateKey: KeyObject; publicKey: KeyObject } {
  if (type === 'rsa') return generateKeyPairSync('rsa', { modulusLength: 2048 });
  if (type === 'ec') return generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return generateKeyPairSync('ed25519');
}

const keys = { rsa: keyPair('rsa'), ec: keyPair('ec'), ed: keyPair('ed25519'), unregistered: keyPair('rsa') };
const publicJwk = async (key: KeyObject, kid: string): Promise<JWK> => ({ ...(await exportJWK(key)), kid, use: 'sig' });

let as: AuthorizationServer;
const open: TokenClient[] = [];

// The authorization server's token endpoint, or discovery from `issuer` when one is given.
function client(options: TokenClientBaseOptions & ClientCredentialOptions & { issuer?: string }): TokenClient {
  const { issuer, ...rest } = options;
  const endpoint = issuer === undefined ? { tokenEndpoint: as.tokenEndpoint } : { issuer };
  const c = new TokenClient({ ...endpoint, resource: API, retry: false, ...rest });
  open.push(c);
  return c;
}

async function verify(accessToken: string, server: AuthorizationServer, clientId: string, audience = API, fetchJwks: () => Promise<unknown> = async () => (await fetch(server.jwksUri)).json()) {
  const jwks = createLocalJWKSet((await fetchJwks()) as { keys: JWK[] });
  const { payload } = await jwtVerify(accessToken, jwks, { issuer: server.issuer, audience });
  expect(payload.client_id).toBe(clientId);
  expect(payload.sub).toBe(clientId);
  expect(payload.exp! * 1000).toBeGreaterThan(Date.now());
  return payload;
}

beforeAll(async () => {
  const clients: RegisteredClient[] = [
    { client_id: 'basic', client_secret: BASIC_SECRET, token_endpoint_auth_method: 'client_secret_basic' },
    { client_id: 'post', client_secret: 'post-secret-value', token_endpoint_auth_method: 'client_secret_post' },
    { client_id: 'hs', client_secret: HS_SECRET, token_endpoint_auth_method: 'client_secret_jwt' },
    { client_id: 'rs256', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [await publicJwk(keys.rsa.publicKey, 'rsa-1')] } },
    { client_id: 'ps256', token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'PS256', jwks: { keys: [await publicJwk(keys.rsa.publicKey, 'rsa-1')] } },
    { client_id: 'es256', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [await publicJwk(keys.ec.publicKey, 'ec-1')] } },
    { client_id: 'eddsa', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [await publicJwk(keys.ed.publicKey, 'ed-1')] } },
    { client_id: 'scoped', client_secret: 'scoped-secret-value', token_endpoint_auth_method: 'client_secret_basic', scope: 'read:a' },
  ];
  as = await startAuthorizationServer({
    clients,
    resources: [{ resource: API, scope: 'read:a write:a' }, { resource: OTHER_API, scope: 'read:b' }],
    openidConfigurationOnly: true,
  });
});

afterAll(async () => {
  await Promise.all(open.map((c) => c.close()));
  await as.close();
});

describe('oidc-provider: every client authentication method', () => {
  const cases: [string, () => TokenClient][] = [
    ['client_secret_basic (id and secret form-encoded first)', () => client({ clientId: 'basic', clientSecret: BASIC_SECRET, clientAuthentication: 'client_secret_basic' })],
    ['client_secret_post', () => client({ clientId: 'post', clientSecret: 'post-secret-value' })],
    ['client_secret_jwt (HS256)', () => client({ clientId: 'hs', clientSecret: HS_SECRET, clientAuthentication: 'client_secret_jwt' })],
    ['private_key_jwt RS256 from a PEM', () => client({ clientId: 'rs256', clientAssertion: { key: keys.rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string } })],
    ['private_key_jwt PS256', () => client({ clientId: 'ps256', clientAssertion: { key: keys.rsa.privateKey, alg: 'PS256' } })],
    ['private_key_jwt ES256 from a JWK', () => client({ clientId: 'es256', clientAssertion: { key: keys.ec.privateKey.export({ format: 'jwk' }) } })],
    ['private_key_jwt EdDSA from a KeyObject', () => client({ clientId: 'eddsa', clientAssertion: { key: keys.ed.privateKey } })],
  ];

  it.each(cases)('%s: a token the server signed, for our client and the requested resource', async (_name, make) => {
    const c = make();
    const token = await c.getToken({ scope: ['read:a'] });
    const claims = await verify(token.accessToken, as, JSON.parse(JSON.stringify(c)).clientId);
    expect(claims.scope).toBe('read:a');
    expect(token.scope).toEqual(['read:a']);
  });

  it('a fresh jti per request: two forced refreshes with private_key_jwt both succeed', async () => {
    const c = client({ clientId: 'rs256', clientAssertion: { key: keys.rsa.privateKey } });
    const first = await c.getToken();
    const second = await c.getToken({ forceRefresh: true });
    expect(second.accessToken).not.toBe(first.accessToken);
  });

  it('tokens for two resources carry two audiences', async () => {
    const c = client({ clientId: 'basic', clientSecret: BASIC_SECRET, clientAuthentication: 'client_secret_basic' });
    const other = await c.getToken({ resource: OTHER_API });
    await verify(other.accessToken, as, 'basic', OTHER_API);
    await verify((await c.getToken()).accessToken, as, 'basic', API);
  });
});

describe("oidc-provider's errors reach callers as OAuthError", () => {
  it('a wrong secret is invalid_client', async () => {
    const error = await client({ clientId: 'basic', clientSecret: 'wrong-secret-value', clientAuthentication: 'client_secret_basic' }).getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ error: 'invalid_client', status: 401 });
    expectNoLeak(error, ['wrong-secret-value']);
  });

  it('a key the server does not know is invalid_client', async () => {
    const error = await client({ clientId: 'rs256', clientAssertion: { key: keys.unregistered.privateKey } }).getToken().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'M2M_OAUTH_ERROR', error: 'invalid_client' });
  });

  it('an unknown resource is invalid_target', async () => {
    const error = await client({ clientId: 'post', clientSecret: 'post-secret-value' }).getToken({ resource: 'https://unknown.local/' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ error: 'invalid_target', status: 400 });
  });

  it('a scope not granted is invalid_scope', async () => {
    const error = await client({ clientId: 'scoped', clientSecret: 'scoped-secret-value', clientAuthentication: 'client_secret_basic' }).getToken({ scope: 'write:a' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ error: 'invalid_scope', status: 400 });
  });
});

describe('private_key_jwt keys are checked before any request', () => {
  it('an unreadable PEM is a ConfigurationError that shows no key material', () => {
    const pem = (keys.rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string).replace(/[A-Za-z]{20}/, 'garbage');
    let error: unknown;
    try {
      new TokenClient({ tokenEndpoint: 'https://as.example.com/token', clientId: 'x', clientAssertion: { key: pem } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error).toMatchObject({ option: 'clientAssertion.key' });
    expectNoLeak(error, [pem.split('\n')[2]!]);
  });

  it.each([
    ['ES256 with an RSA key', keys.rsa.privateKey, 'ES256'],
    ['RS256 with an EC key', keys.ec.privateKey, 'RS256'],
    ['a public key', keys.rsa.publicKey, undefined],
  ] as const)('%s is refused', (_name, key, alg) => {
    expect(() => new TokenClient({ tokenEndpoint: 'https://as.example.com/token', clientId: 'x', clientAssertion: { key, ...(alg ? { alg } : {}) } })).toThrow(ConfigurationError);
  });

  it('a method without its credentials is refused', () => {
    expect(() => new TokenClient({ tokenEndpoint: 'https://as.example.com/token', clientId: 'x', clientSecret: 's', clientAuthentication: 'private_key_jwt' })).toThrow(/clientAssertion/);
    expect(() => new TokenClient({ tokenEndpoint: 'https://as.example.com/token', clientId: 'x', clientSecret: 's', clientAuthentication: 'tls_client_auth' })).toThrow(/tls/);
  });
});

describe('the client assertion (RFC 7523 §3)', () => {
  const assertions: string[] = [];
  const network = mockNetwork(
    http.post('https://tenant.auth0.com/oauth/token', async ({ request }) => {
      assertions.push(new URLSearchParams(await request.text()).get('client_assertion') ?? '');
      return HttpResponse.json({ access_token: 'a', token_type: 'Bearer', expires_in: 60 });
    }),
  );
  beforeAll(() => network.enable());
  afterAll(() => network.disable());

  it("for Auth0 is audienced to https://{domain}/, with iss = sub = client id, a fresh jti and a short exp", async () => {
    const c = new TokenClient({ domain: 'tenant.auth0.com', clientId: 'm2m-app', clientAssertion: { key: keys.rsa.privateKey, kid: 'k1' } });
    open.push(c);
    await c.getToken();
    await c.getToken({ forceRefresh: true });
    const [a, b] = assertions.map((jwt) => decodeJwt(jwt));
    expect(a).toMatchObject({ iss: 'm2m-app', sub: 'm2m-app', aud: 'https://tenant.auth0.com/' });
    expect(a!.exp! - a!.iat!).toBeLessThanOrEqual(300);
    expect(a!.jti).toBeTruthy();
    expect(a!.jti).not.toBe(b!.jti);
    expect(JSON.parse(Buffer.from(assertions[0]!.split('.')[0]!, 'base64url').toString())).toMatchObject({ alg: 'RS256', kid: 'k1' });
  });

  it('is redacted from an error description that echoes it', async () => {
    network.use(
      http.post('https://echo.example.com/token', async ({ request }) => {
        const assertion = new URLSearchParams(await request.text()).get('client_assertion');
        return HttpResponse.json({ error: 'invalid_client', error_description: `bad assertion ${assertion}` }, { status: 401 });
      }),
    );
    const c = new TokenClient({ tokenEndpoint: 'https://echo.example.com/token', clientId: 'm2m-app', clientAssertion: { key: keys.ec.privateKey }, retry: false });
    open.push(c);
    const error = await c.getToken().catch((e: unknown) => e);
    expect(error).toMatchObject({ error: 'invalid_client', errorDescription: 'bad assertion [REDACTED]' });
  });

  it('takes an audience override', async () => {
    assertions.length = 0;
    const c = new TokenClient({ domain: 'tenant.auth0.com', clientId: 'm2m-app', clientAssertion: { key: keys.ec.privateKey, audience: 'https://custom/' } });
    open.push(c);
    await c.getToken();
    expect(decodeJwt(assertions[0]!).aud).toBe('https://custom/');
  });
});

describe('discovery (RFC 8414, OpenID Connect Discovery)', () => {
  it('finds the token endpoint from the issuer, falling back to openid-configuration, once for concurrent callers', async () => {
    const c = client({ issuer: as.issuer, clientId: 'basic', clientSecret: BASIC_SECRET });
    const before = as.requests.length;
    const tokens = await Promise.all([
      ...Array.from({ length: 20 }, () => c.getToken()),
      ...Array.from({ length: 20 }, () => c.getToken({ resource: OTHER_API })),
    ]);
    const seen = as.requests.slice(before);
    expect(seen.filter((r) => r.includes('/.well-known/oauth-authorization-server'))).toHaveLength(1);
    expect(seen.filter((r) => r.includes('/.well-known/openid-configuration'))).toHaveLength(1);
    expect(seen.filter((r) => r.endsWith('/token'))).toHaveLength(2);
    await verify(tokens[0]!.accessToken, as, 'basic');
  });

  it('inserts the well-known path before the issuer path (RFC 8414 §3.1)', async () => {
    const tenant = await startAuthorizationServer({
      clients: [{ client_id: 'post', client_secret: 'post-secret-value', token_endpoint_auth_method: 'client_secret_post' }],
      resources: [{ resource: API, scope: 'read:a' }],
      issuerPath: '/tenant-a',
      rfc8414: true,
    });
    try {
      const c = client({ issuer: tenant.issuer, clientId: 'post', clientSecret: 'post-secret-value' });
      await verify((await c.getToken()).accessToken, tenant, 'post');
      expect(tenant.requests[0]).toBe('GET /.well-known/oauth-authorization-server/tenant-a');
      expect(tenant.requests.some((r) => r.includes('openid-configuration'))).toBe(false);
    } finally {
      await tenant.close();
    }
  });

  it('picks the strongest method the metadata and the credentials allow', async () => {
    // The server lists private_key_jwt: given a key as well as a secret, the client signs an assertion.
    const c = client({ issuer: as.issuer, clientId: 'rs256', clientSecret: 'unused-secret', clientAssertion: { key: keys.rsa.privateKey } });
    await verify((await c.getToken()).accessToken, as, 'rs256');
    // Given only a secret, it uses client_secret_basic, which the server lists.
    const basic = client({ issuer: as.issuer, clientId: 'basic', clientSecret: BASIC_SECRET });
    await verify((await basic.getToken()).accessToken, as, 'basic');
  });

  it('falls back to openid-configuration when the RFC 8414 location answers a web page with 200', async () => {
    const network = mockNetwork(
      http.get('https://spa.example.com/.well-known/oauth-authorization-server', () => new HttpResponse('<html>app</html>', { headers: { 'content-type': 'text/html' } })),
      http.get('https://spa.example.com/.well-known/openid-configuration', () =>
        HttpResponse.json({ issuer: 'https://spa.example.com', token_endpoint: 'https://spa.example.com/token' }),
      ),
      http.post('https://spa.example.com/token', () => HttpResponse.json({ access_token: 'via-openid', token_type: 'Bearer', expires_in: 60 })),
    );
    await network.enable();
    try {
      const c = new TokenClient({ issuer: 'https://spa.example.com', clientId: 'x', clientSecret: 'y', retry: false });
      open.push(c);
      expect((await c.getToken()).accessToken).toBe('via-openid');
    } finally {
      network.disable();
    }
  });

  it('discovery and the token request share one totalTimeout', async () => {
    const network = mockNetwork(
      http.get('https://slow.example.com/.well-known/*', () => new Promise<never>(() => {})),
    );
    await network.enable();
    try {
      // The attempts (11 × 700 ms) would outlast totalTimeout many times over: it is what ends the wait.
      const c = new TokenClient({ issuer: 'https://slow.example.com', clientId: 'x', clientSecret: 'y', timeout: 700, totalTimeout: 2_000, retry: { retries: 10, baseDelay: 1 } });
      open.push(c);
      const started = performance.now();
      await expect(c.getToken()).rejects.toMatchObject({ code: 'M2M_TIMEOUT' });
      // Each well-known location used to get a totalTimeout of its own (and the token request another): two
      // hanging locations took at least 4 s, and without any deadline the attempts take 7.7 s. One shared
      // totalTimeout ends at 2 s; the rest is slack for a busy machine.
      expect(performance.now() - started).toBeLessThan(3_500);
    } finally {
      network.disable();
    }
  });

  it('refuses metadata whose issuer differs from the configured one', async () => {
    const network = mockNetwork(
      http.get('https://as.example.com/.well-known/oauth-authorization-server', () =>
        HttpResponse.json({ issuer: 'https://evil.example.com', token_endpoint: 'https://evil.example.com/token' }),
      ),
    );
    await network.enable();
    try {
      const c = new TokenClient({ issuer: 'https://as.example.com', clientId: 'x', clientSecret: 'y', retry: false });
      open.push(c);
      const error = await c.getToken().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'M2M_DISCOVERY_FAILED' });
      expect((error as Error).message).toMatch(/evil\.example\.com.*not the configured/);
    } finally {
      network.disable();
    }
  });
});

describe('mutual TLS (RFC 8705) against oidc-provider over https', () => {
  let pki: TestPki;
  let tlsAs: AuthorizationServer;
  const jwksOverTls = (server: AuthorizationServer) => async () => {
    const agent = new Agent({ connect: { ca: pki.ca.cert } });
    try {
      const { request } = await import('undici');
      return (await request(server.jwksUri, { dispatcher: agent })).body.json();
    } finally {
      await agent.close();
    }
  };

  beforeAll(async () => {
    pki = makeTestPki();
    const selfSignedCert = new X509Certificate(pki.selfSigned.cert);
    const selfSignedJwk = { ...(await exportJWK(selfSignedCert.publicKey)), x5c: [selfSignedCert.raw.toString('base64')] };
    tlsAs = await startAuthorizationServer({
      tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert },
      clients: [
        { client_id: 'mtls', token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: pki.clientSubject },
        { client_id: 'self-signed', token_endpoint_auth_method: 'self_signed_tls_client_auth', jwks: { keys: [selfSignedJwk] } },
        { client_id: 'basic', client_secret: BASIC_SECRET, token_endpoint_auth_method: 'client_secret_basic' },
      ],
      resources: [{ resource: API, scope: 'read:a' }],
    });
  });
  afterAll(() => tlsAs.close());

  it('tls_client_auth with a CA-issued certificate, through the mTLS alias from the metadata', async () => {
    const c = client({ issuer: tlsAs.issuer, clientId: 'mtls', tls: { cert: pki.client.cert, key: pki.client.key, ca: pki.ca.cert } });
    const token = await c.getToken();
    await verify(token.accessToken, tlsAs, 'mtls', API, jwksOverTls(tlsAs));
    expect(tlsAs.requests).toContain('POST /mtls/token');
    expect(tlsAs.requests).not.toContain('POST /token');
  });

  it('self_signed_tls_client_auth with the certificate registered in the client JWKS', async () => {
    const c = client({ issuer: tlsAs.issuer, clientId: 'self-signed', clientAuthentication: 'self_signed_tls_client_auth', tls: { cert: pki.selfSigned.cert, key: pki.selfSigned.key, ca: pki.ca.cert } });
    await verify((await c.getToken()).accessToken, tlsAs, 'self-signed', API, jwksOverTls(tlsAs));
  });

  it('a certificate from a CA the server does not trust is invalid_client', async () => {
    const c = client({ issuer: tlsAs.issuer, clientId: 'mtls', tls: { cert: pki.stranger.cert, key: pki.stranger.key, ca: pki.ca.cert } });
    await expect(c.getToken()).rejects.toMatchObject({ code: 'M2M_OAUTH_ERROR', error: 'invalid_client' });
  });

  it('a certificate and key that do not belong together fail at construction, naming tls', () => {
    let error: unknown;
    try {
      new TokenClient({ issuer: tlsAs.issuer, clientId: 'mtls', tls: { cert: pki.client.cert, key: pki.selfSigned.key } });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'M2M_INVALID_OPTION', option: 'tls' });
    expectNoLeak(error, [pki.selfSigned.key.split('\n')[1]!]);
  });

  it('an untrusted server certificate is a network error naming TLS', async () => {
    const c = client({ issuer: tlsAs.issuer, clientId: 'mtls', tls: { cert: pki.client.cert, key: pki.client.key } });
    await expect(c.getToken()).rejects.toMatchObject({ code: 'M2M_NETWORK_ERROR' });
  });
});

it('reads a PKCS#1 RSA PEM', async () => {
  const pkcs1 = keys.rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
  expect(createPrivateKey(pkcs1).asymmetricKeyType).toBe('rsa');
  const c = client({ clientId: 'rs256', clientAssertion: { key: pkcs1 } });
  await verify((await c.getToken()).accessToken, as, 'rs256');
});
