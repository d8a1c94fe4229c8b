// Interop with glewlwyd, an OAuth 2 / OpenID Connect server written in C that the project did not write and did
// not configure to agree with it (the Debian package, set up through its admin API). Two of its behaviours are
// the ones users meet with Okta and Microsoft Entra ID: a client assertion's aud must be the token endpoint URL
// (not the issuer), and HTTP Basic credentials are not form-decoded. Every method it supports is exercised, and
// every token is verified against its JWKS.
//
// glewlwyd comes from apt: when it is missing, this suite installs it (as root with apt-get), or else is skipped
// loudly; under CI it is never skipped.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, exportJWK, jwtVerify, SignJWT, type JWK } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OAuthError, TokenClient, TokenResponseError, type ClientAssertionClaims, type TokenClientBaseOptions, type TokenClientOptions } from '../src/index.js';
import { ensureGlewlwyd, startGlewlwyd, type Glewlwyd } from './helpers/glewlwyd.js';
import { expectNoLeak } from './helpers/leaks.js';

/** Any option combination, valid or not: these tests build refused ones on purpose. */
type LooseOptions = { [K in keyof TokenClientBaseOptions | 'domain' | 'tokenEndpoint' | 'issuer' | 'clientSecret' | 'clientAssertion' | 'tls']?: unknown };

const found = await ensureGlewlwyd();
const skip = found.binary === undefined && !process.env.CI;
if (skip) process.stderr.write(`\n!!! test/interop-glewlwyd.test.ts is SKIPPED: ${found.reason}\n`);

// RFC 6749 §2.3.1 makes client_secret_basic form-encode these; glewlwyd does not decode them.
const RESERVED_SECRET = 'a+b c:d%e/f=g-fake-secret-value';
const HS_SECRET = 'hs256-shared-secret-of-at-least-32-bytes!!';
const keys = {
  rsa: generateKeyPairSync('rsa', { modulusLength: 2048 }),
  ec: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  ed: generateKeyPairSync('ed25519'),
  kms: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  workload: generateKeyPairSync('rsa', { modulusLength: 2048 }),
};
const jwk = async (key: KeyObject, kid: string): Promise<JWK> => ({ ...(await exportJWK(key)), kid, use: 'sig' });

describe.skipIf(skip)(`glewlwyd${skip ? ' (SKIPPED: not installed)' : ''}`, () => {
  let as: Glewlwyd;
  let dir: string;
  const open: TokenClient[] = [];

  beforeAll(async () => {
    if (found.binary === undefined) throw new Error(`CI never skips the glewlwyd interop suite: ${found.reason}`);
    as = await startGlewlwyd(found.binary);
    dir = mkdtempSync(join(tmpdir(), 'm2m-glewlwyd-assertion-'));
    await as.addClient({ client_id: 'basic', client_secret: RESERVED_SECRET, token_endpoint_auth_method: ['client_secret_basic'] });
    await as.addClient({ client_id: 'post', client_secret: RESERVED_SECRET, token_endpoint_auth_method: ['client_secret_post'] });
    await as.addClient({ client_id: 'hs', client_secret: HS_SECRET, token_endpoint_auth_method: ['client_secret_jwt'] });
    await as.addClient({ client_id: 'rs256', token_endpoint_auth_method: ['private_key_jwt'], jwks: { keys: [await jwk(keys.rsa.publicKey, 'rsa-1')] } });
    await as.addClient({ client_id: 'ps256', token_endpoint_auth_method: ['private_key_jwt'], jwks: { keys: [await jwk(keys.rsa.publicKey, 'rsa-1')] } });
    await as.addClient({ client_id: 'eddsa', token_endpoint_auth_method: ['private_key_jwt'], jwks: { keys: [await jwk(keys.ed.publicKey, 'ed-1')] } });
    // A PEM public key instead of a JWKS: glewlwyd then needs no kid.
    await as.addClient({ client_id: 'es256', token_endpoint_auth_method: ['private_key_jwt'], pubkey: keys.ec.publicKey.export({ type: 'spki', format: 'pem' }).toString() });
    await as.addClient({ client_id: 'kms', token_endpoint_auth_method: ['private_key_jwt'], jwks: { keys: [await jwk(keys.kms.publicKey, 'kms-1')] } });
    await as.addClient({ client_id: 'workload', token_endpoint_auth_method: ['private_key_jwt'], jwks: { keys: [await jwk(keys.workload.publicKey, 'cluster-1')] } });
  }, 60_000);
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    await as?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function client(options: LooseOptions): TokenClient {
    const c = new TokenClient({ issuer: as.issuer, clientId: 'unset', scope: as.scope, retry: false, ...options } as unknown as TokenClientOptions);
    open.push(c);
    return c;
  }
  /** A token glewlwyd signed for this client, with the scope asked for. */
  async function verify(accessToken: string, clientId: string): Promise<void> {
    const jwks = createLocalJWKSet((await (await fetch(as.jwksUri)).json()) as { keys: JWK[] });
    const { payload } = await jwtVerify(accessToken, jwks, { issuer: as.issuer });
    expect(payload).toMatchObject({ client_id: clientId, sub: clientId, scope: as.scope });
  }
  /** The error the call fails with; fails the test if it succeeds. */
  async function failure(c: TokenClient): Promise<Error> {
    const outcome: unknown = await c.getToken().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(outcome, 'the token request should fail').toBeInstanceOf(Error);
    return outcome as Error;
  }

  describe('client_secret_post', () => {
    it('client_secret_post: the secret in the form body is decoded as usual', async () => {
      const token = await client({ clientId: 'post', clientSecret: RESERVED_SECRET, clientAuthentication: 'client_secret_post' }).getToken();
      await verify(token.accessToken, 'post');
      expect(token.tokenType).toBe('Bearer');
    });
  });

  describe('client_secret_basic: glewlwyd does not form-decode Basic credentials', () => {
    it("refuses the RFC 6749 encoding of a secret with reserved characters, and the error says to try 'raw'", async () => {
      // The strongest method the metadata lists that a secret allows: client_secret_basic.
      const error = await failure(client({ clientId: 'basic', clientSecret: RESERVED_SECRET }));
      expect(error).toBeInstanceOf(TokenResponseError);
      expect(error).toMatchObject({ code: 'M2M_HTTP_STATUS', status: 403 });
      expect(error.message).toMatch(/most likely because of the client's credentials.*basicCredentialEncoding: 'raw'/);
      expectNoLeak(error, [RESERVED_SECRET, encodeURIComponent(RESERVED_SECRET)]);
    });

    it("works with basicCredentialEncoding: 'raw'", async () => {
      const c = client({ clientId: 'basic', clientSecret: RESERVED_SECRET, basicCredentialEncoding: 'raw' });
      await verify((await c.getToken()).accessToken, 'basic');
    });

    it('a wrong secret is a bodyless 403 too, blamed on the credentials', async () => {
      const error = await failure(client({ clientId: 'basic', clientSecret: 'wrong-fake-secret', basicCredentialEncoding: 'raw' }));
      expect(error).toMatchObject({ code: 'M2M_HTTP_STATUS', status: 403 });
      expect(error.message).toMatch(/most likely because of the client's credentials\. Check clientId and clientSecret, and basicCredentialEncoding/);
      expectNoLeak(error, ['wrong-fake-secret']);
    });
  });

  describe('client assertions: glewlwyd wants aud = its token endpoint URL, not its issuer', () => {
    it("client_secret_jwt via issuer fails by default with a message that names clientAssertion: { audience: 'token_endpoint' }", async () => {
      const error = await failure(client({ clientId: 'hs', clientSecret: HS_SECRET, clientAuthentication: 'client_secret_jwt' }));
      expect(error).toMatchObject({ code: 'M2M_HTTP_STATUS', status: 403 });
      expect(error.message).toContain(`aud "${as.issuer}" (the server's issuer identifier, the default)`);
      expect(error.message).toContain("set clientAssertion: { audience: 'token_endpoint' } (no key needed for client_secret_jwt)");
      expectNoLeak(error, [HS_SECRET]);
    });

    it("client_secret_jwt via issuer works with clientAssertion: { audience: 'token_endpoint' }", async () => {
      const c = client({ clientId: 'hs', clientSecret: HS_SECRET, clientAuthentication: 'client_secret_jwt', clientAssertion: { audience: 'token_endpoint' } });
      await verify((await c.getToken()).accessToken, 'hs');
    });

    it('private_key_jwt via issuer fails by default, naming the option', async () => {
      const error = await failure(client({ clientId: 'rs256', clientAssertion: { key: keys.rsa.privateKey, kid: 'rsa-1' } }));
      expect(error).toMatchObject({ code: 'M2M_HTTP_STATUS', status: 403 });
      expect(error.message).toContain("clientAssertion: { audience: 'token_endpoint' }");
    });

    it.each([
      ['RS256 (JWKS, kid)', 'rs256', { key: keys.rsa.privateKey, kid: 'rsa-1' }],
      ['PS256 (JWKS, kid)', 'ps256', { key: keys.rsa.privateKey, kid: 'rsa-1', alg: 'PS256' }],
      ['EdDSA (JWKS, kid)', 'eddsa', { key: keys.ed.privateKey, kid: 'ed-1' }],
      ['ES256 (PEM public key, no kid)', 'es256', { key: keys.ec.privateKey }],
    ] as const)("private_key_jwt %s via issuer works with audience: 'token_endpoint'", async (_name, clientId, assertion) => {
      const c = client({ clientId, clientAssertion: { ...assertion, audience: 'token_endpoint' } });
      await verify((await c.getToken()).accessToken, clientId);
      // glewlwyd refuses a replayed jti: a forced refresh signs a new assertion.
      await verify((await c.getToken({ forceRefresh: true })).accessToken, clientId);
    });

    it('with tokenEndpoint instead of issuer, the default aud is already the token endpoint URL', async () => {
      const c = client({ issuer: undefined, tokenEndpoint: as.tokenEndpoint, clientId: 'rs256', clientAssertion: { key: keys.rsa.privateKey, kid: 'rsa-1' } });
      await verify((await c.getToken()).accessToken, 'rs256');
    });

    it('an assertion signed by a function that holds the key (a KMS stand-in)', async () => {
      const signed: ClientAssertionClaims[] = [];
      const sign = async (claims: ClientAssertionClaims) => {
        signed.push(claims);
        return new SignJWT({ ...claims }).setProtectedHeader({ alg: 'ES256', kid: 'kms-1' }).sign(keys.kms.privateKey);
      };
      const c = client({ clientId: 'kms', clientAssertion: { sign, audience: 'token_endpoint' } });
      await verify((await c.getToken()).accessToken, 'kms');
      expect(signed[0]).toMatchObject({ iss: 'kms', sub: 'kms', aud: as.tokenEndpoint });
    });

    it('an assertion from a file rewritten between requests (a rotating workload-identity token)', async () => {
      const file = join(dir, 'token');
      const project = async () =>
        writeFileSync(
          file,
          await new SignJWT({ jti: crypto.randomUUID() })
            .setProtectedHeader({ alg: 'RS256', kid: 'cluster-1' })
            .setIssuer('workload')
            .setSubject('workload')
            .setAudience(as.tokenEndpoint)
            .setIssuedAt()
            .setExpirationTime('10m')
            .sign(keys.workload.privateKey),
        );
      await project();
      const c = client({ clientId: 'workload', clientAssertion: { file } });
      await verify((await c.getToken()).accessToken, 'workload');
      // Not rewritten: the same jti again, which glewlwyd refuses as a replay. The error names the file and its aud.
      const replay = (await c.getToken({ forceRefresh: true }).then(() => undefined, (e: unknown) => e)) as Error;
      expect(replay).toMatchObject({ code: 'M2M_HTTP_STATUS', status: 403 });
      expect(replay.message).toContain(`the JWT in ${file} (its aud: "${as.tokenEndpoint}")`);
      await project();
      await verify((await c.getToken({ forceRefresh: true })).accessToken, 'workload');
    });

    it('a key glewlwyd does not know is refused, and the message names both the aud and the key', async () => {
      const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      const error = await failure(client({ clientId: 'rs256', clientAssertion: { key: stranger, kid: 'rsa-1', audience: 'token_endpoint' } }));
      expect(error).not.toBeInstanceOf(OAuthError);
      expect(error.message).toContain(`aud "${as.tokenEndpoint}"`);
      expect(error.message).toContain('the public key of clientAssertion.key (and its kid)');
    });
  });
});
