// DPoP (RFC 9449) in the client and in the testing kit: the mock token endpoint checks proofs and nonces and binds
// tokens; the client answers nonce challenges once, refuses downgrades and tokens bound to other keys, keeps tokens
// of different keys apart, and never shows its key, proofs or tokens.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, exportJWK, SignJWT, type JWK } from 'jose';
import { ConfigurationError, ErrorCode, OAuthError, TokenClient, type DpopKeyPair, type StoredToken, type TokenClientOptions, type TokenStore } from 'm2m-token';
import { mockNetwork, mockTokenEndpoint, useMockNetwork } from 'm2m-token/testing';
import { http, HttpResponse } from 'msw';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { jwkThumbprint } from '../src/dpop.js';

const CLIENT_ID = 'dpop-kit-client';
const SECRET = 'fake-dpop-kit-secret';
const API = 'https://api.example.com';

const auth = mockTokenEndpoint({ domain: 'dpop.eu.auth0.com', clientId: CLIENT_ID, clientSecret: SECRET, dpop: { nonce: true } });
// Discovery (issuer) with a server that accepts only EdDSA and RS256 proofs; DPoP optional there.
const picky = mockTokenEndpoint({ tokenEndpoint: 'https://picky.example.com/oauth/token', clientId: CLIENT_ID, clientSecret: SECRET, dpop: { required: false, algorithms: ['EdDSA', 'RS256'] } });
// A server that wants a new nonce every time: the challenge must be answered once only.
let challenges = 0;
const restless = http.post('https://restless.example.com/token', () => {
  challenges++;
  return HttpResponse.json({ error: 'use_dpop_nonce' }, { status: 400, headers: { 'dpop-nonce': `nonce-${challenges}` } });
});
// A server that echoes the proof it got in its error: the client must not pass it on.
const echo = http.post('https://echo.example.com/token', ({ request }) =>
  HttpResponse.json({ error: 'invalid_dpop_proof', error_description: `bad proof ${request.headers.get('dpop')}` }, { status: 400 }),
);
// One that echoes the client's Basic credential (base64 of id:secret): a form of the secret only the request knows.
const echoBasic = http.post('https://echo-basic.example.com/token', ({ request }) =>
  HttpResponse.json({ error: 'invalid_client', error_description: `bad credential ${request.headers.get('authorization')?.slice('Basic '.length)}` }, { status: 401 }),
);
useMockNetwork(mockNetwork(auth.handlers, picky.handlers, restless, echo, echoBasic), { beforeAll, afterEach, afterAll }, { reset: [auth, picky] });

const clients: TokenClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
function client(options: Partial<TokenClientOptions> = {}): TokenClient {
  const c = new TokenClient({ domain: 'dpop.eu.auth0.com', clientId: CLIENT_ID, clientSecret: SECRET, audience: API, retry: false, dpop: true, ...options } as TokenClientOptions);
  clients.push(c);
  return c;
}

const ecKey = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

describe('the token endpoint', () => {
  it('the nonce dance: one 400 use_dpop_nonce, answered at once (retry is off), then a DPoP token bound to the key', async () => {
    const key = ecKey();
    const c = client({ dpop: { key } });
    const token = await c.getToken();
    expect(token.tokenType).toBe('DPoP');
    expect(auth.calls.map((call) => [call.status, call.error, call.dpop?.problem])).toEqual([
      [400, 'use_dpop_nonce', 'use_dpop_nonce'],
      [200, undefined, undefined],
    ]);
    const jkt = await calculateJwkThumbprint(await exportJWK(key));
    expect(auth.calls[1]!.dpop).toMatchObject({ valid: true, jkt, htm: 'POST', htu: auth.url, nonce: auth.dpopNonce, alg: 'ES256' });
    expect(decodeJwt(token.accessToken).cnf).toEqual({ jkt });
    // Cached: no request for the next call; the nonce is remembered for the next token request.
    expect(await c.getToken()).toBe(token);
    await c.getToken({ forceRefresh: true });
    expect(auth.calls.map((call) => call.status)).toEqual([400, 200, 200]);
    // A rotated nonce: one more challenge.
    auth.rotateDpopNonce();
    await c.getToken({ forceRefresh: true });
    expect(auth.calls.map((call) => call.status)).toEqual([400, 200, 200, 400, 200]);
  });

  it('a server that challenges every time gets one answer, not a loop, and retries do not count it', async () => {
    challenges = 0;
    const c = client({ domain: undefined, tokenEndpoint: 'https://restless.example.com/token', retry: { retries: 2, baseDelay: 1, maxDelay: 1 } } as Partial<TokenClientOptions>);
    const error = await c.getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ error: 'use_dpop_nonce', status: 400 });
    expect(challenges).toBe(2);
  });

  it('a request without a proof is refused with invalid_dpop_proof', async () => {
    const c = new TokenClient({ domain: 'dpop.eu.auth0.com', clientId: CLIENT_ID, clientSecret: SECRET, audience: API, retry: false });
    clients.push(c);
    await expect(c.getToken()).rejects.toMatchObject({ code: ErrorCode.OAUTH_ERROR, error: 'invalid_dpop_proof' });
    expect(auth.calls[0]!.dpop).toMatchObject({ valid: false, problem: 'missing' });
  });

  it('a proof replayed is refused', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const proof = await new SignJWT({ jti: 'once', htm: 'POST', htu: auth.url, iat: Math.floor(Date.now() / 1000), nonce: auth.dpopNonce })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(publicKey) })
      .sign(privateKey);
    const post = () =>
      fetch(auth.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: proof },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: SECRET, audience: API }),
      });
    expect((await post()).status).toBe(200);
    const again = await post();
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ error: 'invalid_dpop_proof' });
    expect(auth.calls.map((call) => call.dpop?.problem)).toEqual([undefined, 'replayed']);
  });

  it('a token bound to another key is M2M_DPOP_MISMATCH', async () => {
    // replyAlways: a scripted reply is used up by the nonce challenge too.
    auth.replyAlways({ kind: 'token', claims: { cnf: { jkt: 'someone-elses-key-thumbprint' } } });
    const error = await client().getToken().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.DPOP_MISMATCH, status: 200 });
    expect((error as Error).message).toContain('bound to another key');
  });

  it('a Bearer answer to a DPoP request (a downgrade) is M2M_DPOP_MISMATCH, unless dpop.allowBearer', async () => {
    auth.replyAlways({ kind: 'token', tokenType: 'Bearer' });
    const downgrade = (await client().getToken().catch((e: unknown) => e)) as Error;
    expect(downgrade).toMatchObject({ code: ErrorCode.DPOP_MISMATCH, status: 200, endpoint: new URL(auth.url).origin });
    // What happened, and the two ways out.
    expect(downgrade.message).toContain('answered a DPoP request with a Bearer token (a downgrade');
    expect(downgrade.message).toContain('dpop: { allowBearer: true }');
    auth.replyAlways({ kind: 'token', tokenType: 'MAC' });
    const other = (await client().getToken().catch((e: unknown) => e)) as Error;
    expect(other).toMatchObject({ code: ErrorCode.DPOP_MISMATCH });
    expect(other.message).toContain('with a non-DPoP token');
    auth.replyAlways({ kind: 'token', tokenType: 'Bearer' });
    const lenient = await client({ dpop: { allowBearer: true } }).getToken();
    expect(lenient.tokenType).toBe('Bearer');
  });

  it('a DPoP token for a client that sent no proof is M2M_DPOP_MISMATCH', async () => {
    picky.replyNext({ kind: 'token', tokenType: 'DPoP' });
    const d = new TokenClient({ tokenEndpoint: picky.url, clientId: CLIENT_ID, clientSecret: SECRET, audience: API, retry: false });
    clients.push(d);
    const error = (await d.getToken().catch((e: unknown) => e)) as Error;
    expect(error).toMatchObject({ code: ErrorCode.DPOP_MISMATCH, status: 200, endpoint: new URL(picky.url).origin });
    expect(error.message).toContain('issued a DPoP-bound token, but this client sent no DPoP proof; give the dpop option');
  });

  it('a proof the server echoes is not in the error', async () => {
    const c = client({ domain: undefined, tokenEndpoint: 'https://echo.example.com/token' } as Partial<TokenClientOptions>);
    const error = (await c.getToken().catch((e: unknown) => e)) as OAuthError;
    expect(error).toBeInstanceOf(OAuthError);
    expect(error.errorDescription).toMatch(/^bad proof \[REDACTED\]$/);
    expect(error.message).not.toMatch(/eyJ/);
  });

  it("the request's own secrets stay scrubbed next to the proof: a Basic credential the server echoes is not in the error", async () => {
    const c = client({ domain: undefined, tokenEndpoint: 'https://echo-basic.example.com/token', clientAuthentication: 'client_secret_basic' } as Partial<TokenClientOptions>);
    const error = (await c.getToken().catch((e: unknown) => e)) as OAuthError;
    expect(error).toBeInstanceOf(OAuthError);
    expect(error.errorDescription).toBe('bad credential [REDACTED]');
  });
});

describe('server metadata: dpop_signing_alg_values_supported', () => {
  const issuer = 'https://picky.example.com/';
  const withIssuer = (dpop: TokenClientOptions['dpop']) => client({ domain: undefined, issuer, dpop } as Partial<TokenClientOptions>);

  it('an EC P-256 key the server cannot accept is a ConfigurationError before any token request', async () => {
    const error = await withIssuer({ key: ecKey() }).getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/accepts DPoP proofs signed with EdDSA, RS256, and this key signs ES256/);
    expect(picky.requestCount).toBe(0);
  });

  it('an explicit alg the server does not list is refused the same way', async () => {
    const error = await withIssuer({ key: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, alg: 'PS256' }).getToken().catch((e: unknown) => e);
    expect(error).toMatchObject({ option: 'dpop.alg' });
  });

  it('an RSA key: the algorithm the server lists (RS256) is chosen over the default PS256', async () => {
    const c = withIssuer({ key: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey });
    expect(c.toJSON().dpop).toMatchObject({ alg: 'PS256' });
    const token = await c.getToken();
    expect(token.tokenType).toBe('DPoP');
    expect(picky.calls[0]!.dpop).toMatchObject({ valid: true, alg: 'RS256' });
  });

  it('a generated key: the first algorithm it can use that the server lists (EdDSA)', async () => {
    await withIssuer(true).getToken();
    expect(picky.calls[0]!.dpop).toMatchObject({ valid: true, alg: 'EdDSA' });
  });
});

describe('cache keys and shared stores', () => {
  class MapStore implements TokenStore {
    readonly entries = new Map<string, StoredToken>();
    async get(key: string) {
      return this.entries.get(key);
    }
    async set(key: string, token: StoredToken) {
      this.entries.set(key, token);
    }
    async delete(key: string) {
      this.entries.delete(key);
    }
  }

  it('processes share a DPoP token only when they hold the same key', async () => {
    const store = new MapStore();
    const key = ecKey();
    const first = await client({ dpop: { key }, cache: store }).getToken();
    const requests = auth.requestCount;
    // Same key (as a JWK this time): the stored token is used.
    const same = await client({ dpop: { key: key.export({ format: 'jwk' }) as JWK }, cache: store }).getToken();
    expect(same.accessToken).toBe(first.accessToken);
    expect(auth.requestCount).toBe(requests);
    // Another key: its own token, bound to its own key.
    const other = await client({ dpop: { key: ecKey() }, cache: store }).getToken();
    expect(other.accessToken).not.toBe(first.accessToken);
    expect(store.entries.size).toBe(2);
    expect([...store.entries.keys()].every((k) => k.includes('dpop:'))).toBe(true);
  });

  it('a stored Bearer token (from a client with allowBearer) is used only with allowBearer; another type never', async () => {
    const store = new MapStore();
    const key = ecKey();
    await client({ dpop: { key }, cache: store }).getToken();
    const retype = (tokenType: string) => {
      for (const [k, token] of store.entries) store.entries.set(k, { ...token, accessToken: `${tokenType}-stored`, tokenType });
    };
    retype('Bearer');
    let requests = auth.requestCount;
    expect((await client({ dpop: { key, allowBearer: true }, cache: store }).getToken()).accessToken).toBe('Bearer-stored');
    expect(auth.requestCount).toBe(requests);
    retype('Bearer');
    const strict = await client({ dpop: { key }, cache: store }).getToken();
    expect(strict.tokenType).toBe('DPoP');
    expect(auth.requestCount).toBeGreaterThan(requests);
    retype('MAC');
    requests = auth.requestCount;
    expect((await client({ dpop: { key, allowBearer: true }, cache: store }).getToken()).tokenType).toBe('DPoP');
    expect(auth.requestCount).toBeGreaterThan(requests);
  });

  it('a generated key with a shared store is a ConfigurationError naming dpop.key', () => {
    expect(() => client({ cache: new MapStore() })).toThrow(expect.objectContaining({ option: 'dpop.key' }) as Error);
  });

  it('a DPoP client and a Bearer client of the same application do not share tokens', async () => {
    const store = new MapStore();
    await client({ dpop: { key: ecKey() }, cache: store }).getToken();
    const bearer = new TokenClient({ domain: 'dpop.eu.auth0.com', clientId: CLIENT_ID, clientSecret: SECRET, audience: API, retry: false, cache: store });
    clients.push(bearer);
    // The endpoint requires DPoP: the Bearer client finds nothing usable in the store and is refused.
    await expect(bearer.getToken()).rejects.toMatchObject({ error: 'invalid_dpop_proof' });
  });
});

describe('keys, options and redaction', () => {
  it.each<[string, () => KeyObject]>([
    ['EC P-256', ecKey],
    ['EC P-384', () => generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey],
    ['RSA', () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey],
    ['Ed25519', () => generateKeyPairSync('ed25519').privateKey],
  ])('the RFC 7638 thumbprint of a %s key is what jose computes', async (_name, make) => {
    const jwk = await exportJWK(make());
    const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = jwk;
    expect(jwkThumbprint(publicJwk)).toBe(await calculateJwkThumbprint(publicJwk));
  });

  it.each<[unknown, string, RegExp]>([
    ['yes', 'dpop', /true .* or \{ key\?, alg\?, allowBearer\? \}/],
    [{ kee: 'x' }, 'dpop.kee', /unknown option/],
    [{ key: 'not a pem' }, 'dpop.key', /could not be read as a private key/],
    [{ key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey }, 'dpop.key', /public key/],
    [{ key: ecKey(), alg: 'RS256' }, 'dpop.alg', /does not fit a ec prime256v1 key/],
    [{ alg: 'HS256' }, 'dpop.alg', /generated key/],
    [{ allowBearer: 'yes' }, 'dpop.allowBearer', /true or false/],
  ])('dpop: %j is refused naming %s', (dpop, option, message) => {
    const error = (() => {
      try {
        client({ dpop } as Partial<TokenClientOptions>);
      } catch (e) {
        return e as ConfigurationError;
      }
      throw new Error('accepted');
    })();
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.option).toBe(option);
    expect(error.message).toMatch(message);
  });

  it('a non-extractable private CryptoKey alone is refused: its public key cannot be read', async () => {
    const { privateKey } = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])) as DpopKeyPair;
    expect(() => client({ dpop: { key: privateKey } })).toThrow(/key pair \{ privateKey, publicKey \}/);
  });

  it('allowedTokenTypes may not list DPoP: the dpop option is the way', () => {
    expect(() => client({ dpop: undefined, allowedTokenTypes: ['DPoP'] })).toThrow(expect.objectContaining({ option: 'allowedTokenTypes' }) as Error);
  });

  it('the private key, proofs and bound tokens never show', async () => {
    const key = ecKey();
    const jwk = key.export({ format: 'jwk' }) as JWK;
    const pem = key.export({ type: 'pkcs8', format: 'pem' }) as string;
    const c = client({ dpop: { key: pem } });
    const headers = await c.getRequestHeaders({ method: 'GET', url: `${API}/x` });
    const renderings = [JSON.stringify(c), inspect(c, { depth: 10 }), JSON.stringify(headers), inspect(headers), inspect(await c.getToken())];
    for (const text of renderings) {
      expect(text).not.toContain(jwk.d);
      expect(text).not.toContain(pem.split('\n')[1]);
      expect(text).not.toContain(headers.dpop);
      expect(text).not.toContain(headers.authorization.slice('DPoP '.length));
    }
    expect(JSON.parse(JSON.stringify(headers))).toEqual({ authorization: 'DPoP [REDACTED]', dpop: '[REDACTED]' });
    expect(c.toJSON().dpop).toEqual({ alg: 'ES256', thumbprint: jwkThumbprint(await exportJWK(key)), key: '[REDACTED]' });
    // Spreading gives the real values.
    expect({ ...headers }.dpop).toBe(headers.dpop);
  });

  it('getRequestHeaders: a proof for the method and URL (no query, no fragment), with ath and the API origin\'s nonce', async () => {
    const c = client();
    c.rememberNonce('https://api.example.com/anything', 'api-nonce-1');
    const headers = await c.getRequestHeaders({ method: 'post', url: `${API}/invoices?page=2#top` });
    const token = await c.getToken();
    const claims = decodeJwt(headers.dpop!);
    const { createHash } = await import('node:crypto');
    expect(claims).toMatchObject({ htm: 'POST', htu: `${API}/invoices`, nonce: 'api-nonce-1', ath: createHash('sha256').update(token.accessToken).digest('base64url') });
    expect(decodeProtectedHeader(headers.dpop!).jwk).toEqual(expect.not.objectContaining({ d: expect.anything() as unknown }));
    const second = decodeJwt((await c.getRequestHeaders({ method: 'POST', url: `${API}/invoices` })).dpop!);
    expect(second.jti).not.toBe(claims.jti);
  });

  it('getRequestHeaders validates method and url', async () => {
    await expect(client().getRequestHeaders({ method: 'GET', url: 'not a url' })).rejects.toMatchObject({ option: 'getRequestHeaders.url' });
    await expect(client().getRequestHeaders({ method: 'G T', url: API })).rejects.toMatchObject({ option: 'getRequestHeaders.method' });
    const c = client();
    const token = await c.getToken();
    await expect(c.proof(token, 'GET', 'not a url')).rejects.toMatchObject({ option: 'proof.url', message: 'Invalid option `proof.url`: must be an absolute URL' });
  });
});
