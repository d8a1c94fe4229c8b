// Client authentication for servers nobody here wrote: the assertion's aud (issuer or token endpoint) for both
// JWT methods, raw Basic credentials, refusals that name the cause, and assertions made outside the process (a
// signing function, a file). Real HTTP throughout: a scripted node:http server, and oidc-provider.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader, exportJWK, jwtVerify, SignJWT, createLocalJWKSet, type JWK, type JWTPayload } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startAuthorizationServer, type AuthorizationServer } from '../demo/authorization-server.js';
import {
  ConfigurationError,
  OAuthError,
  TokenClient,
  TokenClientError,
  TokenResponseError,
  type ClientAssertionClaims,
  type TokenClientBaseOptions,
  type TokenClientOptions,
} from '../src/index.js';
import { expectNoLeak } from './helpers/leaks.js';
import { json, startTokenServer, type ReceivedRequest, type TokenServer } from './helpers/token-server.js';

/** Any option combination, valid or not: these tests build refused ones on purpose. */
type LooseOptions = { [K in keyof TokenClientBaseOptions | 'domain' | 'tokenEndpoint' | 'issuer' | 'clientSecret' | 'clientAssertion' | 'tls']?: unknown };

const HS_SECRET = 'hs256-shared-secret-of-at-least-32-bytes!!';
const RESERVED_SECRET = 'a+b c:d%e-fake-secret';
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });

let server: TokenServer;
/** The issuer the scripted server's metadata names: on a path, so that issuer ≠ token endpoint ≠ origin. */
let issuer: string;
const open: TokenClient[] = [];

function client(options: LooseOptions): TokenClient {
  const c = new TokenClient({ clientId: 'm2m-app', retry: false, ...options } as unknown as TokenClientOptions);
  open.push(c);
  return c;
}

/** Metadata at the OpenID location, tokens at /oauth/token; `token` answers the token requests. */
function serve(token: (request: ReceivedRequest, res: import('node:http').ServerResponse) => void): void {
  server.respond((request, res) => {
    if (request.method === 'GET') {
      if (!request.url.endsWith('/openid-configuration')) return json(res, 404, {});
      return json(res, 200, {
        issuer,
        token_endpoint: server.url,
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_jwt', 'private_key_jwt'],
      });
    }
    token(request, res);
  });
}
const ok = (_request: ReceivedRequest, res: import('node:http').ServerResponse) =>
  json(res, 200, { access_token: 'at-fake-token-value', token_type: 'Bearer', expires_in: 3600 });
const tokenRequests = () => server.requests.filter((r) => r.method === 'POST');
const lastAssertion = () => tokenRequests().at(-1)!.form.get('client_assertion')!;

beforeAll(async () => {
  server = await startTokenServer();
  issuer = `${server.origin}/tenant`;
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
  server.requests.length = 0;
});
afterAll(() => server.close());

describe('the assertion audience, for client_secret_jwt and private_key_jwt', () => {
  beforeAll(() => serve(ok));

  it.each([
    ['client_secret_jwt', { clientSecret: HS_SECRET, clientAuthentication: 'client_secret_jwt' }],
    ['private_key_jwt', { clientAssertion: { key: rsa.privateKey } }],
  ] as const)('%s with issuer: aud is the issuer by default', async (_method, options) => {
    await client({ issuer, ...options }).getToken();
    expect(decodeJwt(lastAssertion()).aud).toBe(issuer);
  });

  it("client_secret_jwt takes clientAssertion: { audience: 'token_endpoint' }, without a key", async () => {
    const c = client({ issuer, clientSecret: HS_SECRET, clientAuthentication: 'client_secret_jwt', clientAssertion: { audience: 'token_endpoint' } });
    await c.getToken();
    const assertion = lastAssertion();
    expect(decodeProtectedHeader(assertion).alg).toBe('HS256');
    // Still signed with the secret, and now audienced to the discovered token endpoint.
    const { payload } = await jwtVerify(assertion, new TextEncoder().encode(HS_SECRET), { audience: server.url });
    expect(payload).toMatchObject({ iss: 'm2m-app', sub: 'm2m-app' });
  });

  it("{ audience } alone selects client_secret_jwt: explicitly, and from the server's metadata", async () => {
    // No clientAuthentication: the metadata lists client_secret_basic too, which would ignore the audience.
    await client({ issuer, clientSecret: HS_SECRET, clientAssertion: { audience: 'token_endpoint' } }).getToken();
    expect(decodeJwt(lastAssertion()).aud).toBe(server.url);
    expect(tokenRequests().at(-1)!.headers.authorization).toBeUndefined();
    // With a static endpoint too (whose default is client_secret_post).
    await client({ tokenEndpoint: server.url, clientSecret: HS_SECRET, clientAssertion: { audience: 'https://as.example/' } }).getToken();
    expect(decodeJwt(lastAssertion()).aud).toBe('https://as.example/');
  });

  it("private_key_jwt takes 'token_endpoint', 'issuer' and a literal audience", async () => {
    await client({ issuer, clientAssertion: { key: ec.privateKey, audience: 'token_endpoint' } }).getToken();
    expect(decodeJwt(lastAssertion()).aud).toBe(server.url);
    await client({ tokenEndpoint: server.url, clientAssertion: { key: ec.privateKey, audience: 'issuer' } }).getToken();
    // With tokenEndpoint the client knows no issuer: 'issuer' means the token endpoint URL there.
    expect(decodeJwt(lastAssertion()).aud).toBe(server.url);
    await client({ issuer, clientAssertion: { key: ec.privateKey, audience: 'https://login.example.com/' } }).getToken();
    expect(decodeJwt(lastAssertion()).aud).toBe('https://login.example.com/');
  });

  it('refuses audiences that are not what they seem, and audience-only assertions the method cannot use', () => {
    const fails = (options: LooseOptions, option: string, message: RegExp) => {
      let error: unknown;
      try {
        client({ tokenEndpoint: server.url, ...options });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error).toMatchObject({ option });
      expect((error as Error).message).toMatch(message);
      expectNoLeak(error, [HS_SECRET]);
    };
    fails({ clientSecret: HS_SECRET, clientAssertion: { audience: 'token-endpoint' } }, 'clientAssertion.audience', /'token_endpoint'/);
    fails({ clientSecret: HS_SECRET, clientAssertion: { audience: 'Issuer' } }, 'clientAssertion.audience', /keywords/);
    fails({ clientSecret: HS_SECRET, clientAssertion: { audience: '' } }, 'clientAssertion.audience', /non-empty/);
    fails({ clientAssertion: { audience: 'token_endpoint' } }, 'clientAssertion', /clientSecret/);
    fails({ clientSecret: HS_SECRET, clientAssertion: { audience: 'token_endpoint' }, clientAuthentication: 'client_secret_basic' }, 'clientAssertion', /client_secret_jwt/);
    fails({ clientSecret: HS_SECRET, clientAssertion: { audience: 'token_endpoint' }, clientAuthentication: 'private_key_jwt' }, 'clientAssertion', /key/);
  });
});

describe("basicCredentialEncoding: 'raw' for servers that do not decode Basic credentials", () => {
  beforeAll(() => serve(ok));
  const basic = (request: ReceivedRequest) => Buffer.from(request.headers.authorization!.slice('Basic '.length), 'base64').toString('utf8');

  it('form-urlencodes by default (RFC 6749 §2.3.1), and sends id and secret as they are with raw', async () => {
    await client({ tokenEndpoint: server.url, clientId: 'svc é', clientSecret: RESERVED_SECRET, clientAuthentication: 'client_secret_basic' }).getToken();
    expect(basic(tokenRequests().at(-1)!)).toBe('svc+%C3%A9:a%2Bb+c%3Ad%25e-fake-secret');
    await client({ tokenEndpoint: server.url, clientId: 'svc é', clientSecret: RESERVED_SECRET, clientAuthentication: 'client_secret_basic', basicCredentialEncoding: 'raw' }).getToken();
    expect(basic(tokenRequests().at(-1)!)).toBe(`svc é:${RESERVED_SECRET}`);
    expect(tokenRequests().at(-1)!.form.get('client_secret')).toBeNull();
  });

  it('is validated: the two values, a secret, client_secret_basic, and no colon in a raw client id', () => {
    const fails = (options: Record<string, unknown>, message: RegExp) => {
      let error: unknown;
      try {
        client({ tokenEndpoint: server.url, clientSecret: RESERVED_SECRET, ...options } as LooseOptions);
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code: 'M2M_INVALID_OPTION', option: 'basicCredentialEncoding' });
      expect((error as Error).message).toMatch(message);
      expectNoLeak(error, [RESERVED_SECRET]);
    };
    fails({ basicCredentialEncoding: 'plain' }, /'form-urlencoded'.*'raw'/);
    fails({ basicCredentialEncoding: 'raw', clientAuthentication: 'client_secret_post' }, /only to client_secret_basic/);
    fails({ basicCredentialEncoding: 'raw', clientId: 'tenant:svc', clientAuthentication: 'client_secret_basic' }, /colon/);
    fails({ basicCredentialEncoding: 'raw', clientSecret: undefined, clientAssertion: { key: rsa.privateKey } }, /clientSecret/);
  });
});

describe('refusals name the likely cause', () => {
  it('invalid_client after an assertion names its aud and clientAssertion.audience', async () => {
    serve((_r, res) => json(res, 401, { error: 'invalid_client', error_description: 'audience mismatch' }));
    const error = await client({ issuer, clientAssertion: { key: rsa.privateKey } }).getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthError);
    const { message } = error as OAuthError;
    expect(message).toContain(`aud "${issuer}"`);
    expect(message).toContain("clientAssertion: { audience: 'token_endpoint' }");
    expect(message).toMatch(/Okta.*Entra ID/);
    expectNoLeak(error, [lastAssertion(), rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString().split('\n')[1]!]);
  });

  it('a bodyless 401 after client_secret_jwt blames the credentials first, with the aud and the option', async () => {
    serve((_r, res) => res.writeHead(401).end());
    const error = await client({ issuer, clientSecret: HS_SECRET, clientAuthentication: 'client_secret_jwt' }).getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenResponseError);
    expect(error).toMatchObject({ code: 'M2M_HTTP_STATUS', status: 401 });
    const { message } = error as Error;
    expect(message).toMatch(/most likely because of the client's credentials/);
    expect(message).toContain("clientAssertion: { audience: 'token_endpoint' } (no key needed for client_secret_jwt)");
    expect(message).toMatch(/clientSecret/);
    expectNoLeak(error, [HS_SECRET, lastAssertion()]);
  });

  it('with the token endpoint as aud, the hint points back to the issuer', async () => {
    serve((_r, res) => json(res, 400, { error: 'invalid_client' }));
    const error = await client({ issuer, clientAssertion: { key: rsa.privateKey, audience: 'token_endpoint' } }).getToken().catch((e: unknown) => e);
    expect((error as Error).message).toContain(`aud "${server.url}" (the token endpoint URL, from clientAssertion: { audience: 'token_endpoint' })`);
    expect((error as Error).message).toContain("clientAssertion: { audience: 'issuer' }");
  });

  it("a bodyless 403 after Basic credentials with reserved characters suggests basicCredentialEncoding: 'raw'", async () => {
    serve((_r, res) => res.writeHead(403).end());
    const error = await client({ issuer, clientSecret: RESERVED_SECRET, clientAuthentication: 'client_secret_basic' }).getToken().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'M2M_HTTP_STATUS', status: 403 });
    expect((error as Error).message).toMatch(/client's credentials.*basicCredentialEncoding: 'raw'.*endpoint URL and any proxy/);
    expectNoLeak(error, [RESERVED_SECRET, 'a%2Bb', Buffer.from(`m2m-app:${encodeURIComponent(RESERVED_SECRET)}`).toString('base64').slice(0, 20)]);
  });

  it('without an assertion or reserved characters, invalid_client keeps the generic advice', async () => {
    serve((_r, res) => json(res, 401, { error: 'invalid_client' }));
    const error = await client({ issuer, clientSecret: 'plain-fake-secret', clientAuthentication: 'client_secret_basic' }).getToken().catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/Check clientId, clientSecret and clientAuthentication\.$/);
    expect((error as Error).message).not.toMatch(/aud|basicCredentialEncoding/);
  });
});

describe('assertions signed elsewhere: clientAssertion as a function', () => {
  beforeAll(() => serve(ok));
  /** A "KMS": the private key stays here; the client only ever sees signed JWTs. */
  const kms = (key: KeyObject, calls: ClientAssertionClaims[]) => async (claims: ClientAssertionClaims) => {
    calls.push(claims);
    return new SignJWT({ ...claims }).setProtectedHeader({ alg: 'ES256', kid: 'kms-key-1' }).sign(key);
  };

  it('gets the claims the client would sign, a fresh jti each attempt, and sends what it returns', async () => {
    const calls: ClientAssertionClaims[] = [];
    serve((request, res) => (tokenRequests().length === 1 ? res.writeHead(503).end() : ok(request, res)));
    const c = client({ issuer, clientAssertion: { sign: kms(ec.privateKey, calls), audience: 'token_endpoint' }, retry: { retries: 1, baseDelay: 1 } });
    await c.getToken();
    expect(calls).toHaveLength(2);
    const now = Math.floor(Date.now() / 1000);
    expect(calls[0]).toEqual({ iss: 'm2m-app', sub: 'm2m-app', aud: server.url, jti: expect.any(String), iat: expect.any(Number), exp: calls[0]!.iat + 120 });
    expect(Math.abs(calls[0]!.iat - now)).toBeLessThan(5);
    expect(calls[1]!.jti).not.toBe(calls[0]!.jti);
    const { payload } = await jwtVerify(lastAssertion(), ec.publicKey, { audience: server.url });
    expect(payload.jti).toBe(calls[1]!.jti);
    serve(ok);
  });

  it('a bare function is private_key_jwt with aud = the issuer', async () => {
    const calls: ClientAssertionClaims[] = [];
    await client({ issuer, clientAssertion: kms(ec.privateKey, calls) }).getToken();
    expect(calls[0]!.aud).toBe(issuer);
    expect(tokenRequests().at(-1)!.form.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
  });

  it("a function that throws fails the call with its error as the cause; one that returns no JWT is a ConfigurationError", async () => {
    const kmsDown = Object.assign(new Error('KMS unavailable'), { code: 'KMS_THROTTLED' });
    const error = await client({ issuer, clientAssertion: () => Promise.reject(kmsDown) }).getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenClientError);
    expect(error).toMatchObject({ code: 'M2M_UNEXPECTED_ERROR', cause: kmsDown });
    expect((error as Error).message).toMatch(/clientAssertion function failed \(Error KMS_THROTTLED\)/);
    const notJwt = await client({ issuer, clientAssertion: () => 'not-a-jwt-but-a-fake-secret' }).getToken().catch((e: unknown) => e);
    expect(notJwt).toMatchObject({ code: 'M2M_INVALID_OPTION', option: 'clientAssertion' });
    expectNoLeak(notJwt, ['not-a-jwt-but-a-fake-secret']);
    expect(tokenRequests()).toHaveLength(0);
  });

  it('refuses mixed shapes and a function with client_secret_jwt', () => {
    const construct = (options: LooseOptions) => () => client({ tokenEndpoint: server.url, ...options });
    expect(construct({ clientAssertion: { key: rsa.privateKey, sign: () => 'x' } as never })).toThrow(/one of key, sign and file/);
    expect(construct({ clientAssertion: { file: '/tmp/x', audience: 'token_endpoint' } as never })).toThrow(/clientAssertion\.audience.*where it is issued/);
    expect(construct({ clientAssertion: { sign: 'no' } as never })).toThrow(/clientAssertion\.sign/);
    expect(construct({ clientSecret: HS_SECRET, clientAuthentication: 'client_secret_jwt', clientAssertion: () => 'x' })).toThrow(/sent as private_key_jwt/);
  });
});

describe('assertions from a file (workload identity)', () => {
  let dir: string;
  let file: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'm2m-assertion-'));
    file = join(dir, 'token');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const issue = (claims: JWTPayload, lifetime = 600) =>
    new SignJWT({ jti: crypto.randomUUID(), ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: 'cluster-key' })
      .setIssuer('https://kubernetes.default.svc')
      .setSubject('system:serviceaccount:billing:api')
      .setAudience('https://as.example/')
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + lifetime)
      .sign(rsa.privateKey);

  it('is read on every token request, so a rotated file is used at once; the token cache is unaffected', async () => {
    serve(ok);
    const first = await issue({});
    writeFileSync(file, `${first}\n`);
    const c = client({ issuer, clientAssertion: { file } });
    await c.getToken();
    expect(lastAssertion()).toBe(first);
    const second = await issue({});
    writeFileSync(file, second);
    await c.getToken({ forceRefresh: true });
    expect(lastAssertion()).toBe(second);
    // A cached token needs no assertion: a file being rewritten (here: garbage) does not matter until the next request.
    writeFileSync(file, 'half-written');
    await c.getToken();
    expect(tokenRequests()).toHaveLength(2);
  });

  it('an expired, missing or non-JWT file fails before any request, without showing the content', async () => {
    serve(ok);
    writeFileSync(file, await issue({}, -30));
    const c = client({ issuer, clientAssertion: { file } });
    await expect(c.getToken()).rejects.toMatchObject({ code: 'M2M_INVALID_OPTION', option: 'clientAssertion.file', message: expect.stringMatching(/expired at .*not renewed it/) });
    writeFileSync(file, 'not-a-jwt-fake-credential');
    const notJwt = await c.getToken().catch((e: unknown) => e);
    expect((notJwt as Error).message).toContain(`${file} does not hold a signed JWT`);
    expectNoLeak(notJwt, ['not-a-jwt-fake-credential']);
    const missing = await client({ issuer, clientAssertion: { file: join(dir, 'nope') } }).getToken().catch((e: unknown) => e);
    expect((missing as Error).message).toMatch(/nope could not be read \(ENOENT\)/);
    expect(tokenRequests()).toHaveLength(0);
  });

  it("a refused file assertion names the file and the token's own aud, never the token", async () => {
    serve((_r, res) => json(res, 401, { error: 'invalid_client' }));
    const jwt = await issue({});
    writeFileSync(file, jwt);
    const error = await client({ issuer, clientAssertion: { file } }).getToken().catch((e: unknown) => e);
    expect((error as Error).message).toContain(`the JWT in ${file} (its aud: "https://as.example/")`);
    expectNoLeak(error, [jwt]);
  });
});

describe('against oidc-provider: externally signed assertions are accepted', () => {
  let as: AuthorizationServer;
  let dir: string;
  const API = 'https://api.local/';
  beforeAll(async () => {
    const jwk = async (key: KeyObject, kid: string): Promise<JWK> => ({ ...(await exportJWK(key)), kid, use: 'sig' });
    as = await startAuthorizationServer({
      clients: [
        { client_id: 'kms-signed', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [await jwk(ec.publicKey, 'kms-key-1')] } },
        { client_id: 'workload', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [await jwk(rsa.publicKey, 'cluster-key')] } },
        { client_id: 'hs', client_secret: HS_SECRET, token_endpoint_auth_method: 'client_secret_jwt' },
      ],
      resources: [{ resource: API, scope: 'read:a' }],
    });
    dir = mkdtempSync(join(tmpdir(), 'm2m-assertion-'));
  });
  afterAll(async () => {
    await as.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const verify = async (accessToken: string, clientId: string) => {
    const jwks = createLocalJWKSet((await (await fetch(as.jwksUri)).json()) as { keys: JWK[] });
    const { payload } = await jwtVerify(accessToken, jwks, { issuer: as.issuer, audience: API });
    expect(payload.client_id).toBe(clientId);
  };

  it('a function holding the private key (a stand-in for a KMS) signs what the client asks', async () => {
    const sign = (claims: ClientAssertionClaims) => new SignJWT({ ...claims }).setProtectedHeader({ alg: 'ES256', kid: 'kms-key-1' }).sign(ec.privateKey);
    const c = client({ issuer: as.issuer, clientId: 'kms-signed', clientAssertion: sign, resource: API });
    await verify((await c.getToken()).accessToken, 'kms-signed');
    // A second request gets a fresh jti, which the server requires.
    await verify((await c.getToken({ forceRefresh: true })).accessToken, 'kms-signed');
  });

  it('a file rewritten between requests, each time with a new assertion, as a token projector does', async () => {
    const file = join(dir, 'token');
    const write = async () =>
      writeFileSync(file, await new SignJWT({ jti: crypto.randomUUID() }).setProtectedHeader({ alg: 'RS256', kid: 'cluster-key' })
        .setIssuer('workload').setSubject('workload').setAudience(as.issuer).setIssuedAt().setExpirationTime('2m').sign(rsa.privateKey));
    await write();
    const c = client({ issuer: as.issuer, clientId: 'workload', clientAssertion: { file }, resource: API });
    await verify((await c.getToken()).accessToken, 'workload');
    // The same assertion again would be a replay (oidc-provider remembers the jti): the file is read afresh.
    await expect(c.getToken({ forceRefresh: true })).rejects.toMatchObject({ error: 'invalid_client' });
    await write();
    await verify((await c.getToken({ forceRefresh: true })).accessToken, 'workload');
  });

  it("client_secret_jwt with clientAssertion: { audience: 'token_endpoint' } is accepted too", async () => {
    const c = client({ issuer: as.issuer, clientId: 'hs', clientSecret: HS_SECRET, clientAssertion: { audience: 'token_endpoint' }, resource: API });
    await verify((await c.getToken()).accessToken, 'hs');
  });
});
