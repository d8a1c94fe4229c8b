// DPoP (RFC 9449) behaviour, edge by edge, through the public API (TokenClient, the adapters, the testing kit's mock
// token endpoint): every refused `dpop` option with the option it names and the fix it gives, each key type and the
// algorithms it signs, the proofs' claims, which nonces are kept (per origin, bounded), which issued tokens are
// refused as bound to another key, the adapters' nonce challenges, and the mock endpoint's proof checks.
import { createSecretKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, exportJWK, SignJWT } from 'jose';
import { ConfigurationError, createToken, ErrorCode, TokenClient, type DpopKeyPair, type Token, type TokenClientOptions, type TokenSource } from 'm2m-token';
import { fetchWithTokens } from 'm2m-token/fetch';
import { mockNetwork, mockTokenEndpoint, useMockNetwork } from 'm2m-token/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPlainServer, type PlainServer } from './helpers/adapter-fixture.js';
import { configError } from './helpers/config-error.js';

const CLIENT_ID = 'dpop-behaviour-client';
const SECRET = 'fake-dpop-behaviour-secret';
const API = 'https://api.example.com';

const clients: TokenClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
function client(options: Partial<TokenClientOptions> = {}): TokenClient {
  const c = new TokenClient({ domain: 'dpop-b.eu.auth0.com', clientId: CLIENT_ID, clientSecret: SECRET, audience: API, retry: false, dpop: true, ...options } as TokenClientOptions);
  clients.push(c);
  return c;
}

/** The ConfigurationError `dpop` makes at construction. */
const refusal = (dpop: unknown): ConfigurationError => configError(() => client({ dpop } as Partial<TokenClientOptions>));

const dpopJson = (c: TokenClient) => c.toJSON().dpop as { alg: string; thumbprint: string | undefined; key: string };
const KEY_SHAPES = 'give a PEM private key, a private JWK, a KeyObject, or a Web Crypto key pair { privateKey, publicKey }';

describe('the dpop option, refused at construction', () => {
  it('dpop: false is no DPoP at all', async () => {
    const c = client({ dpop: false });
    expect(c.toJSON().dpop).toBeUndefined();
    await expect(c.proof(createToken({ accessToken: 'fake', tokenType: 'DPoP', expiresIn: 60_000, expiresAt: Date.now() + 60_000 }), 'GET', API)).rejects.toMatchObject({ option: 'dpop' });
  });

  it.each<[string, unknown]>([
    ['an array', []],
    ['null', null],
    ['a string', 'yes'],
  ])('dpop as %s names dpop and says what it takes', (_name, dpop) => {
    const error = refusal(dpop);
    expect(error.option).toBe('dpop');
    expect(error.message).toContain('must be true (a key generated in memory) or { key?, alg?, allowBearer? }');
  });

  it('an unknown member names itself and lists the members dpop takes', () => {
    expect(refusal({ keys: 'x' })).toMatchObject({ option: 'dpop.keys', message: expect.stringContaining('unknown option; dpop takes key, alg, allowBearer') as string });
  });

  it.each<[string, unknown]>([
    ['an empty alg', ''],
    ['a number', 256],
  ])('dpop.alg as %s is refused with examples', (_name, alg) => {
    expect(refusal({ alg })).toMatchObject({ option: 'dpop.alg', message: expect.stringContaining('must be a string such as ES256, PS256, RS256 or EdDSA') as string });
  });

  it('dpop.allowBearer must be a boolean; false is accepted', () => {
    expect(refusal({ allowBearer: 1 })).toMatchObject({ option: 'dpop.allowBearer', message: expect.stringContaining('must be true or false') as string });
    expect(client({ dpop: { allowBearer: false } }).toJSON().dpop).toBeDefined();
  });

  it('a generated key takes only the algorithms it can be generated for, and lists them', () => {
    expect(refusal({ alg: 'RS384' }).message).toContain('"RS384" cannot be used with a generated key; use one of ES256, EdDSA, Ed25519, ES384, ES512, PS256, RS256');
    expect(dpopJson(client({ dpop: { alg: 'ES384' } }))).toEqual({ alg: 'ES384', thumbprint: undefined, key: 'generated' });
    expect(dpopJson(client())).toMatchObject({ alg: 'ES256', key: 'generated' });
  });

  it.each<[string, unknown, string]>([
    ['a number', 42, `must be a key; ${KEY_SHAPES}`],
    ['null', null, `must be a key; ${KEY_SHAPES}`],
    ['a JWK that is no key', { kty: 'EC', crv: 'P-256' }, KEY_SHAPES],
    ['a secret KeyObject', createSecretKey(Buffer.alloc(32, 1)), KEY_SHAPES],
  ])('dpop.key as %s is refused with the shapes it may take', (_name, key, message) => {
    const error = refusal({ key });
    expect(error.option).toBe('dpop.key');
    expect(error.message).toContain(message);
  });

  it.each<[string, unknown]>([
    ['a KeyObject without export()', { type: 'private', asymmetricKeyType: 'ec' }],
    ['a KeyObject without a type', { export: () => ({}), asymmetricKeyType: 'ec' }],
    ['a CryptoKey without a type', { extractable: true, algorithm: { name: 'ECDSA' } }],
    ['a CryptoKey without extractable', { type: 'private', algorithm: { name: 'ECDSA' } }],
    ['a CryptoKey without an algorithm', { type: 'private', extractable: true }],
  ])('an object that only looks like a key (%s) is read as a JWK, and refused as one', (_name, key) => {
    const error = refusal({ key });
    expect(error.option).toBe('dpop.key');
    expect(error.message).toMatch(/could not be read as a private key \(ERR_[A-Z0-9_]+\); give a PEM private key/);
  });

  it('a non-extractable private CryptoKey alone: refused, saying why and what to give', async () => {
    const { privateKey } = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])) as DpopKeyPair;
    const error = refusal({ key: privateKey });
    expect(error.option).toBe('dpop.key');
    expect(error.message).toContain('is a non-extractable CryptoKey alone: its public key cannot be read from it; give the key pair { privateKey, publicKey }');
  });

  it('an unreadable PEM: the reason (its code) is given, never the text', () => {
    const text = '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbA==\n-----END PRIVATE KEY-----\n';
    const error = refusal({ key: text });
    expect(error.message).toMatch(/could not be read as a private key \(ERR_[A-Z0-9_]+\); give a PEM private key/);
    expect(error.message).not.toContain('bm90IGEga2V5');
  });

  it('a key pair must hold a private and a public CryptoKey', async () => {
    const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as DpopKeyPair;
    const keyObject = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    for (const bad of [
      { privateKey: pair.publicKey, publicKey: pair.publicKey },
      { privateKey: pair.privateKey, publicKey: pair.privateKey },
      { privateKey: keyObject.privateKey, publicKey: pair.publicKey },
      { privateKey: pair.privateKey, publicKey: keyObject.publicKey },
      { privateKey: pair.privateKey, publicKey: { type: 'public', extractable: true, algorithm: 'ECDSA' } },
    ]) {
      const error = refusal({ key: bad });
      expect(error.option).toBe('dpop.key');
      expect(error.message).toContain(`a key pair must hold a private and a public CryptoKey; ${KEY_SHAPES}`);
    }
    expect(dpopJson(client({ dpop: { key: pair } })).thumbprint).toBe(await calculateJwkThumbprint(await exportJWK(pair.publicKey)));
  });

  it('a CryptoKey alone: a public one is refused, an extractable private one is read', async () => {
    const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as DpopKeyPair;
    expect(refusal({ key: pair.publicKey })).toMatchObject({ option: 'dpop.key', message: expect.stringContaining('is a public CryptoKey; a private key is needed to sign proofs') as string });
    expect(dpopJson(client({ dpop: { key: pair.privateKey } }))).toEqual({
      alg: 'ES256',
      thumbprint: await calculateJwkThumbprint(await exportJWK(pair.publicKey)),
      key: '[REDACTED]',
    });
  });

  it('a public KeyObject is refused as such', () => {
    expect(refusal({ key: generateKeyPairSync('ed25519').publicKey }).message).toContain('is a public key; a private key is needed to sign proofs');
  });
});

describe('each key type and the algorithms it signs', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const rsaPss = generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).privateKey;
  const ed25519 = generateKeyPairSync('ed25519').privateKey;
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
  const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey;

  it.each<[string, KeyObject, string]>([
    ['RSA', rsa, 'PS256'],
    ['Ed25519', ed25519, 'EdDSA'],
    ['EC P-256', p256, 'ES256'],
    ['EC P-384', p384, 'ES384'],
    ['EC P-521', p521, 'ES512'],
  ])('%s signs %s by default', async (_name, key, alg) => {
    const c = client({ dpop: { key } });
    expect(dpopJson(c).alg).toBe(alg);
    const proof = await c.proof(createToken({ accessToken: 'fake', tokenType: 'DPoP', expiresIn: 60_000, expiresAt: Date.now() + 60_000 }), 'GET', API);
    expect(decodeProtectedHeader(proof)).toMatchObject({ alg, typ: 'dpop+jwt' });
  });

  it.each<[string, KeyObject, string]>([
    ['RSA', rsa, 'RS256'],
    ['RSA', rsa, 'RS384'],
    ['RSA', rsa, 'RS512'],
    ['RSA', rsa, 'PS384'],
    ['RSA', rsa, 'PS512'],
    ['Ed25519', ed25519, 'Ed25519'],
    ['Ed25519', ed25519, 'EdDSA'],
    ['EC P-384', p384, 'ES384'],
    ['EC P-521', p521, 'ES512'],
  ])('%s with alg %s is accepted', (_name, key, alg) => {
    expect(dpopJson(client({ dpop: { key, alg } })).alg).toBe(alg);
  });

  it.each<[string, KeyObject, string, string]>([
    ['RSA', rsa, 'ES256', '"ES256" does not fit a rsa key; it signs PS256, RS256'],
    ['RSA', rsa, 'RS1024', '"RS1024" does not fit a rsa key'],
    ['RSA', rsa, 'EdDSA', '"EdDSA" does not fit a rsa key'],
    ['RSA', rsa, 'xRS256', '"xRS256" does not fit a rsa key'],
    ['RSA', rsa, 'RS2560', '"RS2560" does not fit a rsa key'],
    ['RSA', rsa, 'xPS256', '"xPS256" does not fit a rsa key'],
    ['RSA', rsa, 'PS2560', '"PS2560" does not fit a rsa key'],
    ['Ed25519', ed25519, 'ES256', '"ES256" does not fit a ed25519 key; it signs EdDSA, Ed25519'],
    ['Ed25519', ed25519, 'PS256', '"PS256" does not fit a ed25519 key'],
    ['EC P-256', p256, 'ES384', '"ES384" does not fit a ec prime256v1 key; it signs ES256'],
    ['EC P-256', p256, 'Ed25519', '"Ed25519" does not fit a ec prime256v1 key'],
    ['EC P-384', p384, 'PS256', '"PS256" does not fit a ec secp384r1 key; it signs ES384'],
    ['EC P-521', p521, 'ES256', '"ES256" does not fit a ec secp521r1 key; it signs ES512'],
  ])('%s with alg %s is refused naming dpop.alg and the algorithms the key signs', (_name, key, alg, message) => {
    const error = refusal({ key, alg });
    expect(error.option).toBe('dpop.alg');
    expect(error.message).toContain(message);
  });

  it.each<[string, KeyObject, string]>([
    ['EC secp256k1', generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey, '(ec secp256k1)'],
    ['X25519', generateKeyPairSync('x25519').privateKey, '(x25519)'],
    ['Ed448', generateKeyPairSync('ed448').privateKey, '(ed448)'],
    // Node cannot export an RSA-PSS key's public JWK, which the proof's jwk header needs: an RSA key signs PS256.
    ['RSA-PSS', rsaPss, '(rsa-pss)'],
  ])('%s is an unsupported key type, and the message says which ones are', (_name, key, type) => {
    const error = refusal({ key });
    expect(error.option).toBe('dpop.key');
    expect(error.message).toContain(`has an unsupported key type ${type}; use EC P-256 (ES256), RSA (PS256, RS256) or Ed25519 (EdDSA)`);
  });
});

const dpopToken = (accessToken = 'fake-dpop-access-token'): Token => createToken({ accessToken, tokenType: 'DPoP', expiresIn: 60_000, expiresAt: Date.now() + 60_000 });

describe('proofs and nonces', () => {
  it('a proof: upper-case htm, htu of a URL object without query and fragment, iat now, a random jti, ath of the token', async () => {
    const c = client();
    const token = dpopToken();
    const proof = await c.proof(token, 'delete', new URL('https://api.example.com:8443/v1/items?id=3#frag'));
    const claims = decodeJwt(proof);
    expect(claims).toMatchObject({ htm: 'DELETE', htu: 'https://api.example.com:8443/v1/items' });
    expect(Math.abs(claims.iat! - Date.now() / 1000)).toBeLessThan(5);
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(claims.nonce).toBeUndefined();
    const { createHash } = await import('node:crypto');
    expect(claims.ath).toBe(createHash('sha256').update(token.accessToken).digest('base64url'));
    // Another token, another ath; the same token, the same ath.
    expect(decodeJwt(await c.proof(dpopToken('another-fake-token'), 'GET', API)).ath).toBe(createHash('sha256').update('another-fake-token').digest('base64url'));
    expect(decodeJwt(await c.proof(token, 'GET', API)).ath).toBe(claims.ath);
    // The generated key: its public JWK only, and its thumbprint now known.
    const jwk = decodeProtectedHeader(proof).jwk!;
    expect(Object.keys(jwk).sort()).toEqual(['crv', 'kty', 'x', 'y']);
    expect(dpopJson(c)).toEqual({ alg: 'ES256', thumbprint: await calculateJwkThumbprint(jwk), key: 'generated' });
  });

  it('a generated key with another alg is generated for that alg', async () => {
    const c = client({ dpop: { alg: 'EdDSA' } });
    const proof = await c.proof(dpopToken(), 'GET', API);
    expect(decodeProtectedHeader(proof)).toMatchObject({ alg: 'EdDSA', jwk: { kty: 'OKP', crv: 'Ed25519' } });
  });

  const nonceOf = async (c: TokenClient, url: string) => decodeJwt(await c.proof(dpopToken(), 'GET', url)).nonce;

  it('a nonce is kept per origin: any path of that origin, not another origin; a newer one replaces it', async () => {
    const c = client();
    c.rememberNonce(`${API}/a`, 'nonce-1');
    expect(await nonceOf(c, `${API}/b?x=1`)).toBe('nonce-1');
    expect(await nonceOf(c, 'https://other.example.com/a')).toBeUndefined();
    expect(await nonceOf(c, 'http://api.example.com/a')).toBeUndefined();
    c.rememberNonce(new URL(`${API}/c`), 'nonce-2');
    expect(await nonceOf(c, API)).toBe('nonce-2');
  });

  it.each<[string, string, boolean]>([
    ['visible ASCII edges', '!#[]~', true],
    ['2048 characters', 'n'.repeat(2048), true],
    ['empty', '', false],
    ['2049 characters', 'n'.repeat(2049), false],
    ['a double quote', 'a"b', false],
    ['a backslash', 'a\\b', false],
    ['a space', 'a b', false],
    ['a control character', 'a\x7fb', false],
    ['a non-ASCII character', 'nonceé', false],
  ])('a nonce with %s is kept: %s (a bad one leaves the previous one)', async (_name, nonce, kept) => {
    const c = client();
    c.rememberNonce(API, 'previous');
    c.rememberNonce(API, nonce);
    expect(await nonceOf(c, API)).toBe(kept ? nonce : 'previous');
  });

  it('a nonce that is not a string is ignored', async () => {
    const c = client();
    c.rememberNonce(API, 42 as unknown as string);
    expect(await nonceOf(c, API)).toBeUndefined();
  });

  it('at most 256 origins\' nonces: the oldest goes first', async () => {
    const c = client();
    const origin = (i: number) => `https://n${i}.example.com`;
    for (let i = 0; i < 256; i++) c.rememberNonce(origin(i), `nonce-${i}`);
    expect(await nonceOf(c, origin(0))).toBe('nonce-0');
    // A new nonce for an origin already known takes no room.
    c.rememberNonce(origin(0), 'nonce-0b');
    expect(await nonceOf(c, origin(1))).toBe('nonce-1');
    c.rememberNonce(origin(256), 'nonce-256');
    expect(await nonceOf(c, origin(1))).toBeUndefined();
    expect(await nonceOf(c, origin(2))).toBe('nonce-2');
    expect(await nonceOf(c, origin(0))).toBe('nonce-0b');
    expect(await nonceOf(c, origin(256))).toBe('nonce-256');
  });

  it('the same nonce heard again makes its origin the newest: it outlives origins heard from since', async () => {
    const c = client();
    const origin = (i: number) => `https://m${i}.example.com`;
    for (let i = 0; i < 255; i++) c.rememberNonce(origin(i), `nonce-${i}`);
    c.rememberNonce(origin(0), 'nonce-0');
    c.rememberNonce(origin(255), 'nonce-255');
    c.rememberNonce(origin(256), 'nonce-256');
    expect(await nonceOf(c, origin(0))).toBe('nonce-0');
    expect(await nonceOf(c, origin(1))).toBeUndefined();
  });
});

describe('the token endpoint: bound tokens and the server\'s algorithms', () => {
  const auth = mockTokenEndpoint({ domain: 'dpop-b.eu.auth0.com', clientId: CLIENT_ID, clientSecret: SECRET, dpop: true });
  const listing = (algorithms: string[]) =>
    mockTokenEndpoint({ tokenEndpoint: `https://list-${algorithms.length}.example.com/oauth/token`, clientId: CLIENT_ID, clientSecret: SECRET, dpop: { required: false, algorithms } });
  const many = listing(['PS384', 'PS512', 'RS384', 'RS512', 'ES384', 'ES512', 'HS256', 'HS384', 'HS512', 'none!', 'x'.repeat(21), 'A1', 'A2']);
  const weird = listing(['bad alg', '<script>']);
  const okp = listing(['Ed25519']);
  const plain = mockTokenEndpoint({ tokenEndpoint: 'https://plain-b.example.com/oauth/token', clientId: CLIENT_ID, clientSecret: SECRET });
  useMockNetwork(mockNetwork(auth.handlers, many.handlers, weird.handlers, okp.handlers, plain.handlers), { beforeAll, afterEach, afterAll }, { reset: [auth, many, weird, okp, plain] });

  it.each<[string, string | undefined]>([
    ['an opaque token', 'fake-opaque-dpop-token'],
    ['a JWT without cnf', undefined],
    ['a token with an empty middle part', 'aaa..ccc'],
    ['a token whose middle part is not JSON', 'aaa.bm90IGpzb24.ccc'],
    ['a token whose middle part is JSON null', `aaa.${Buffer.from('null').toString('base64url')}.ccc`],
    ['a token with four parts', `aaa.${Buffer.from(JSON.stringify({ cnf: { jkt: 'other' } })).toString('base64url')}.ccc.ddd`],
    ['a JWT whose cnf.jkt is not a string', `aaa.${Buffer.from(JSON.stringify({ cnf: { jkt: 7 } })).toString('base64url')}.ccc`],
  ])('a DPoP token the client cannot check (%s) is accepted: the resource server checks it', async (_name, accessToken) => {
    auth.replyNext({ kind: 'token', ...(accessToken === undefined ? {} : { body: { access_token: accessToken } }) });
    const token = await client().getToken();
    expect(token.tokenType).toBe('DPoP');
    if (accessToken !== undefined) expect(token.accessToken).toBe(accessToken);
  });

  it('a JWT bound to another key: M2M_DPOP_MISMATCH naming the endpoint, with the status', async () => {
    const other = `aaa.${Buffer.from(JSON.stringify({ cnf: { jkt: 'someone-else' } })).toString('base64url')}.ccc`;
    auth.replyNext({ kind: 'token', body: { access_token: other } });
    const error = await client().getToken().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.DPOP_MISMATCH, status: 200, endpoint: 'https://dpop-b.eu.auth0.com' });
    expect((error as Error).message).toContain('Token endpoint https://dpop-b.eu.auth0.com issued a DPoP token bound to another key');
    expect((error as Error).message).not.toContain('someone-else');
  });

  it('a Bearer token is not checked for a binding (with allowBearer)', async () => {
    const other = `aaa.${Buffer.from(JSON.stringify({ cnf: { jkt: 'someone-else' } })).toString('base64url')}.ccc`;
    auth.replyNext({ kind: 'token', tokenType: 'Bearer', body: { access_token: other } });
    expect((await client({ dpop: { allowBearer: true } }).getToken()).accessToken).toBe(other);
  });

  it('the server lists algorithms the key cannot sign: at most ten names, only well-formed ones, naming dpop.key for a key with a choice', async () => {
    const c = client({ domain: undefined, issuer: 'https://list-13.example.com/', dpop: { key: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey } } as Partial<TokenClientOptions>);
    const error = await c.getToken().catch((e: unknown) => e);
    expect(error).toMatchObject({ option: 'dpop.key' });
    expect((error as Error).message).toContain(
      'the server accepts DPoP proofs signed with PS384, PS512, RS384, RS512, ES384, ES512, HS256, HS384, HS512, A1, and this key signs PS256, RS256; give a key (or an alg) the server accepts',
    );
  });

  it('no well-formed name: "none"; a key with one algorithm names dpop.alg', async () => {
    const c = client({ domain: undefined, issuer: 'https://list-2.example.com/', dpop: { key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey } } as Partial<TokenClientOptions>);
    const error = await c.getToken().catch((e: unknown) => e);
    expect(error).toMatchObject({ option: 'dpop.alg' });
    expect((error as Error).message).toContain('the server accepts DPoP proofs signed with none, and this key signs ES256;');
  });

  it('a generated key with no alg names dpop.key; with an alg, dpop.alg', async () => {
    const generated = await client({ domain: undefined, issuer: 'https://list-2.example.com/' } as Partial<TokenClientOptions>).getToken().catch((e: unknown) => e);
    expect(generated).toMatchObject({ option: 'dpop.key', message: expect.stringContaining('this key signs ES256, EdDSA, Ed25519, ES384, ES512, PS256, RS256;') as string });
    const withAlg = await client({ domain: undefined, issuer: 'https://list-2.example.com/', dpop: { alg: 'ES384' } } as Partial<TokenClientOptions>).getToken().catch((e: unknown) => e);
    expect(withAlg).toMatchObject({ option: 'dpop.alg' });
  });

  it('options without a key: a Bearer answer is refused unless allowBearer', async () => {
    auth.replyAlways({ kind: 'token', tokenType: 'Bearer' });
    await expect(client({ dpop: { alg: 'ES256' } }).getToken()).rejects.toMatchObject({ code: ErrorCode.DPOP_MISMATCH });
    expect((await client({ dpop: { alg: 'ES256', allowBearer: true } }).getToken()).tokenType).toBe('Bearer');
  });

  it('a given key: a Bearer answer is refused unless allowBearer', async () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    auth.replyAlways({ kind: 'token', tokenType: 'Bearer' });
    await expect(client({ dpop: { key } }).getToken()).rejects.toMatchObject({ code: ErrorCode.DPOP_MISMATCH });
    expect((await client({ dpop: { key, allowBearer: true } }).getToken()).tokenType).toBe('Bearer');
  });

  it('a server whose metadata lists no DPoP algorithms: the key\'s default, no check', async () => {
    const c = client({ domain: undefined, issuer: 'https://plain-b.example.com/', dpop: { allowBearer: true } } as Partial<TokenClientOptions>);
    expect((await c.getToken()).tokenType).toBe('Bearer');
    expect(plain.calls).toHaveLength(1);
  });

  it('a generated key keeps the algorithm it was made for on the next token requests', async () => {
    const c = client({ domain: undefined, issuer: 'https://list-1.example.com/' } as Partial<TokenClientOptions>);
    await c.getToken();
    await c.getToken({ forceRefresh: true });
    expect(okp.calls.map((call) => [call.status, call.dpop?.alg])).toEqual([
      [200, 'Ed25519'],
      [200, 'Ed25519'],
    ]);
  });

  it('an Ed25519 key and a server that lists Ed25519 only: proofs signed as Ed25519', async () => {
    const c = client({ domain: undefined, issuer: 'https://list-1.example.com/', dpop: { key: generateKeyPairSync('ed25519').privateKey } } as Partial<TokenClientOptions>);
    expect((await c.getToken()).tokenType).toBe('DPoP');
    expect(okp.calls[0]!.dpop).toMatchObject({ valid: true, alg: 'Ed25519' });
  });
});

describe('the adapters: which tokens get a proof, which 401 is a nonce challenge', () => {
  let server: PlainServer;
  beforeAll(async () => {
    server = await startPlainServer();
  });
  afterAll(async () => {
    await server.close();
  });

  /** A source of one token that records the proofs asked for and the nonces handed to it. */
  function source(tokenType: string) {
    const proofs: string[] = [];
    const nonces: string[] = [];
    let renewals = 0;
    const token = createToken({ accessToken: 'fake-adapter-dpop-token', tokenType, expiresIn: 60_000, expiresAt: Date.now() + 60_000 });
    const s: TokenSource = {
      getToken: async () => token,
      invalidate: () => void renewals++,
      proof: async (_t, method, url) => {
        proofs.push(`${method} ${String(url)}`);
        return `fake-proof-${proofs.length}`;
      },
      rememberNonce: (_url, nonce) => void nonces.push(nonce),
    };
    return { s, proofs, nonces, renewals: () => renewals };
  }
  const call = (s: TokenSource, path: string) => fetchWithTokens(s, { targets: { [server.url]: {} } })(`${server.url}${path}`);

  it('a token type "dpop" in any case carries DPoP and a proof', async () => {
    const { s, proofs } = source('dpop');
    expect((await call(s, '/x')).status).toBe(200);
    expect(server.requests.at(-1)!.authorization).toBe('dpop fake-adapter-dpop-token');
    expect(proofs).toEqual([`GET ${server.url}/x`]);
  });

  it('a Bearer token gets no proof, and a DPoP-Nonce sent with its answer is not kept', async () => {
    const { s, proofs, nonces } = source('Bearer');
    server.reply({ status: 200, headers: { 'dpop-nonce': 'n-bearer' } });
    expect((await call(s, '/y')).status).toBe(200);
    expect(server.requests.at(-1)!.authorization).toBe('Bearer fake-adapter-dpop-token');
    expect(proofs).toEqual([]);
    expect(nonces).toEqual([]);
  });

  it('the proof is asked for with the method in upper case; a DPoP-Nonce on any answer is kept', async () => {
    const { s, proofs, nonces } = source('DPoP');
    server.reply({ status: 201, headers: { 'dpop-nonce': 'n-any' } });
    expect((await fetchWithTokens(s, { targets: { [server.url]: {} } })(`${server.url}/p`, { method: 'post', body: 'x' })).status).toBe(201);
    expect(proofs).toEqual([`POST ${server.url}/p`]);
    expect(nonces).toEqual(['n-any']);
  });

  it('a source without rememberNonce: a DPoP-Nonce is ignored', async () => {
    const { s } = source('DPoP');
    const { rememberNonce: _r, ...without } = s;
    server.reply({ status: 200, headers: { 'dpop-nonce': 'n-ignored' } });
    expect((await call(without, '/q')).status).toBe(200);
  });

  it('a source without proof(): refused before sending, saying what is missing and what to use', async () => {
    const { s } = source('DPoP');
    const { proof: _p, ...without } = s;
    const before = server.requests.length;
    const error = await call(without, '/r').catch((e: unknown) => e);
    expect(error).toMatchObject({ option: 'source', message: expect.stringContaining('returned a DPoP token but has no proof() method to make the DPoP proof each request needs; use a TokenClient with the dpop option') as string });
    expect(server.requests.length).toBe(before);
  });

  it.each<[string, unknown]>([
    ['a number', 42],
    ['text with a space', 'fake proof'],
    ['text with a line break', 'fake\nproof'],
    ['an empty string', ''],
  ])('a proof() that returns %s is refused before sending', async (_name, returned) => {
    const { s } = source('DPoP');
    const before = server.requests.length;
    const error = await call({ ...s, proof: async () => returned as string }, '/s').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error).toMatchObject({ option: 'source', message: expect.stringContaining('proof() returned something that is not a compact JWT') as string });
    expect(server.requests.length).toBe(before);
  });

  it('a nonce challenge among other challenges is one', async () => {
    const { s, proofs, nonces, renewals } = source('DPoP');
    server.reply({ status: 401, headers: { 'www-authenticate': 'Bearer realm="api", DPoP error="use_dpop_nonce"', 'dpop-nonce': 'n-multi' } });
    expect((await call(s, '/m')).status).toBe(200);
    expect(proofs).toHaveLength(2);
    expect(nonces).toEqual(['n-multi']);
    expect(renewals()).toBe(0);
  });

  it('a 401 with a DPoP use_dpop_nonce challenge and a DPoP-Nonce: one replay with a fresh proof, no new token', async () => {
    const { s, proofs, nonces, renewals } = source('DPoP');
    server.reply({ status: 401, headers: { 'www-authenticate': 'DPoP error="use_dpop_nonce", algs="ES256"', 'dpop-nonce': 'api-nonce' } });
    const before = server.requests.length;
    expect((await call(s, '/z')).status).toBe(200);
    expect(server.requests.length - before).toBe(2);
    expect(proofs).toHaveLength(2);
    expect(nonces).toEqual(['api-nonce']);
    expect(renewals()).toBe(0);
  });

  // A 401 that is not a nonce challenge renews the token once (a new token, a replay), unless it says use_dpop_nonce.
  it.each<[string, number, Record<string, string>, number, number, string[]]>([
    ['a Bearer challenge saying use_dpop_nonce', 401, { 'www-authenticate': 'Bearer error="use_dpop_nonce"', 'dpop-nonce': 'n1' }, 2, 1, ['n1', 'n1']],
    ['a DPoP challenge with another error', 401, { 'www-authenticate': 'DPoP error="invalid_dpop_proof"', 'dpop-nonce': 'n1' }, 2, 1, ['n1', 'n1']],
    ['a DPoP challenge that names use_dpop_nonce elsewhere', 401, { 'www-authenticate': 'DPoP error="invalid_token", error_description="not use_dpop_nonce"', 'dpop-nonce': 'n1' }, 2, 1, ['n1', 'n1']],
    ['a use_dpop_nonce challenge without a DPoP-Nonce', 401, { 'www-authenticate': 'DPoP error="use_dpop_nonce"' }, 1, 0, []],
    ['a use_dpop_nonce challenge with an empty DPoP-Nonce', 401, { 'www-authenticate': 'DPoP error="use_dpop_nonce"', 'dpop-nonce': '' }, 1, 0, []],
    ['a 403 use_dpop_nonce challenge', 403, { 'www-authenticate': 'DPoP error="use_dpop_nonce"', 'dpop-nonce': 'n1' }, 1, 0, ['n1']],
  ])('%s is no nonce challenge', async (_name, status, headers, sent, renewed, kept) => {
    const { s, proofs, renewals, nonces } = source('DPoP');
    server.reply(...Array.from({ length: sent }, () => ({ status, headers })));
    const before = server.requests.length;
    expect((await call(s, '/w')).status).toBe(status);
    expect(server.requests.length - before).toBe(sent);
    expect(proofs).toHaveLength(sent);
    expect(renewals()).toBe(renewed);
    expect(nonces).toEqual(kept);
  });
});

describe('the mock token endpoint\'s proof checks', () => {
  const strict = mockTokenEndpoint({ tokenEndpoint: 'https://strict.example.com/oauth/token', clientId: CLIENT_ID, clientSecret: SECRET, dpop: { nonce: true, algorithms: ['ES256'] } });
  const optional = mockTokenEndpoint({ tokenEndpoint: 'https://optional.example.com/oauth/token', clientId: CLIENT_ID, clientSecret: SECRET, dpop: { required: false } });
  const network = useMockNetwork(mockNetwork(strict.handlers, optional.handlers), { beforeAll, afterEach, afterAll }, { reset: [strict, optional] });
  // Made in the test that uses it (its options are read when it is made), and added to the network for that test.
  const endpoint = (host: string, dpop: unknown) => {
    const made = mockTokenEndpoint({ tokenEndpoint: `https://${host}/oauth/token`, clientId: CLIENT_ID, clientSecret: SECRET, ...(dpop === undefined ? {} : { dpop }) } as never);
    network.use(...made.handlers);
    return made;
  };
  const metadata = async (host: string) => (await (await fetch(`https://${host}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
  const DEFAULT_ALGORITHMS = ['ES256', 'ES384', 'ES512', 'PS256', 'RS256', 'EdDSA', 'Ed25519'];

  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  let jti = 0;
  async function proof(claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}, key: KeyObject = privateKey): Promise<string> {
    const jwk = await exportJWK(publicKey);
    return new SignJWT({ jti: `jti-${++jti}`, htm: 'POST', htu: strict.url, iat: Math.floor(Date.now() / 1000), nonce: strict.dpopNonce, ...claims })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk, ...header })
      .sign(key);
  }
  async function post(url: string, dpop: string | undefined) {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(dpop === undefined ? {} : { dpop }) },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: SECRET, audience: API }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown>, nonce: response.headers.get('dpop-nonce') };
  }

  it('a valid proof: recorded with its fields, a DPoP token bound to its key, the nonce sent back', async () => {
    const sent = await proof({ htu: `${strict.url}?q=1` });
    const answer = await post(strict.url, sent);
    expect(answer.status).toBe(200);
    expect(answer.nonce).toBe(strict.dpopNonce);
    const jkt = await calculateJwkThumbprint(await exportJWK(publicKey));
    expect(answer.body.token_type).toBe('DPoP');
    expect(decodeJwt(answer.body.access_token as string).cnf).toEqual({ jkt });
    expect(strict.calls[0]!.dpop).toEqual({ valid: true, problem: undefined, jkt, jti: `jti-${jti}`, htm: 'POST', htu: `${strict.url}?q=1`, nonce: strict.dpopNonce, alg: 'ES256' });
  });

  it.each<[string, () => Promise<string | undefined>, string, string]>([
    ['no proof', async () => undefined, 'missing', 'DPoP proof required'],
    ['two proofs', async () => `${await proof()}, ${await proof()}`, 'invalid: more than one DPoP header', 'DPoP proof invalid: more than one DPoP header'],
    ['a proof that is no JWT', async () => 'not-a-jwt', 'invalid: ERR_JWS_INVALID', 'DPoP proof invalid: ERR_JWS_INVALID'],
    ['another typ', async () => proof({}, { typ: 'JWT' }), 'invalid: ERR_JWT_CLAIM_VALIDATION_FAILED', 'DPoP proof invalid: ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['an algorithm not accepted', async () => proof({}, { alg: 'EdDSA', jwk: await exportJWK(generateKeyPairSync('ed25519').publicKey) }, generateKeyPairSync('ed25519').privateKey), 'invalid: ERR_JOSE_ALG_NOT_ALLOWED', 'DPoP proof invalid: ERR_JOSE_ALG_NOT_ALLOWED'],
    // jose's EmbeddedJWK refuses a private JWK before the endpoint's own check of it.
    ['a private key in the jwk header', async () => proof({}, { jwk: await exportJWK(privateKey) }), 'invalid: ERR_JWS_INVALID', 'DPoP proof invalid: ERR_JWS_INVALID'],
    ['htm GET', async () => proof({ htm: 'GET' }), 'invalid: htm', 'DPoP proof invalid: htm'],
    ['another htu', async () => proof({ htu: 'https://strict.example.com/other' }), 'invalid: htu', 'DPoP proof invalid: htu'],
    ['an htu that is no URL', async () => proof({ htu: 'not a url' }), 'invalid: htu', 'DPoP proof invalid: htu'],
    ['no htu', async () => proof({ htu: undefined }), 'invalid: htu', 'DPoP proof invalid: htu'],
    ['an iat 6 minutes old', async () => proof({ iat: Math.floor(Date.now() / 1000) - 360 }), 'invalid: iat', 'DPoP proof invalid: iat'],
    ['an iat 6 minutes ahead', async () => proof({ iat: Math.floor(Date.now() / 1000) + 360 }), 'invalid: iat', 'DPoP proof invalid: iat'],
    ['no iat', async () => proof({ iat: undefined }), 'invalid: iat', 'DPoP proof invalid: iat'],
    ['no jti', async () => proof({ jti: undefined }), 'invalid: jti', 'DPoP proof invalid: jti'],
    ['an empty jti', async () => proof({ jti: '' }), 'invalid: jti', 'DPoP proof invalid: jti'],
    ['a jti that is a number', async () => proof({ jti: 12 }), 'invalid: jti', 'DPoP proof invalid: jti'],
    ['a nonce that is an object', async () => proof({ nonce: { value: strict.dpopNonce } }), 'use_dpop_nonce', 'Authorization server requires nonce in DPoP proof'],
    ['no nonce', async () => proof({ nonce: undefined }), 'use_dpop_nonce', 'Authorization server requires nonce in DPoP proof'],
    ['an old nonce', async () => proof({ nonce: 'old-nonce' }), 'use_dpop_nonce', 'Authorization server requires nonce in DPoP proof'],
  ])('%s: 400 with the problem recorded and described', async (_name, make, problem, description) => {
    const answer = await post(strict.url, await make());
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: problem === 'use_dpop_nonce' ? 'use_dpop_nonce' : 'invalid_dpop_proof', error_description: description });
    expect(answer.nonce).toBe(strict.dpopNonce);
    expect(strict.calls[0]!.dpop).toMatchObject({ valid: false, problem });
  });

  it('no proof: recorded with every field, undefined', async () => {
    await post(strict.url, undefined);
    expect(strict.calls[0]!.dpop).toStrictEqual({ valid: false, problem: 'missing', jkt: undefined, jti: undefined, htm: undefined, htu: undefined, nonce: undefined, alg: undefined });
  });

  it('an iat just inside the window (4 minutes) is accepted', async () => {
    expect((await post(strict.url, await proof({ iat: Math.floor(Date.now() / 1000) - 240 }))).status).toBe(200);
    expect((await post(strict.url, await proof({ iat: Math.floor(Date.now() / 1000) + 240 }))).status).toBe(200);
  });

  it('a refused proof does not use up its jti; an accepted one does', async () => {
    const claims = { jti: 'reused-jti' };
    expect((await post(strict.url, await proof({ ...claims, nonce: 'old' }))).status).toBe(400);
    expect((await post(strict.url, await proof(claims))).status).toBe(200);
    expect((await post(strict.url, await proof(claims))).body).toMatchObject({ error: 'invalid_dpop_proof', error_description: 'DPoP proof replayed' });
  });

  it('rotateDpopNonce: a new nonce; proofs with the old one are refused and given the new one', async () => {
    const old = strict.dpopNonce;
    const rotated = strict.rotateDpopNonce();
    expect(rotated).not.toBe(old);
    expect(rotated).toMatch(/^[\w-]{22}$/);
    expect(strict.dpopNonce).toBe(rotated);
    const answer = await post(strict.url, await proof({ nonce: old }));
    expect(answer).toMatchObject({ status: 400, nonce: rotated });
  });

  it('DPoP optional: no proof gets a Bearer token (no nonce header); a bad proof is still refused', async () => {
    const bare = await post(optional.url, undefined);
    expect(bare).toMatchObject({ status: 200, nonce: null, body: { token_type: 'Bearer' } });
    expect(decodeJwt(bare.body.access_token as string).cnf).toBeUndefined();
    expect(optional.calls[0]!.dpop).toMatchObject({ valid: false, problem: 'missing' });
    expect((await post(optional.url, 'not-a-jwt')).status).toBe(400);
  });

  it.each<[string, unknown]>([
    ['dpop: false', false],
    ['no dpop option', undefined],
  ])('%s: no proof checked, nothing recorded, no algorithms in the metadata', async (_name, dpop) => {
    const none = endpoint('none.example.com', dpop);
    expect((await post(none.url, 'not-a-jwt')).status).toBe(200);
    expect(none.calls[0]!.dpop).toBeUndefined();
    expect(await metadata('none.example.com')).not.toHaveProperty('dpop_signing_alg_values_supported');
  });

  it('the metadata lists the accepted algorithms (a copy of the option)', async () => {
    const algorithms = ['ES256', 'PS256'];
    endpoint('meta.example.com', { algorithms });
    algorithms.push('RS256');
    expect((await metadata('meta.example.com')).dpop_signing_alg_values_supported).toEqual(['ES256', 'PS256']);
  });

  it('options given in part: the defaults for the others', async () => {
    const nonceOnly = endpoint('nonce-only.example.com', { nonce: true });
    expect((await metadata('nonce-only.example.com')).dpop_signing_alg_values_supported).toEqual(DEFAULT_ALGORITHMS);
    expect(await post(nonceOnly.url, undefined)).toMatchObject({ status: 400, nonce: nonceOnly.dpopNonce, body: { error_description: 'DPoP proof required' } });
    const optionalOnly = endpoint('optional-only.example.com', { required: false });
    expect((await metadata('optional-only.example.com')).dpop_signing_alg_values_supported).toEqual(DEFAULT_ALGORITHMS);
    expect(await post(optionalOnly.url, undefined)).toMatchObject({ status: 200, nonce: null });
  });

  it.each<[unknown, string]>([
    ['yes', 'mockTokenEndpoint: dpop must be true or { required?, nonce?, algorithms? }.'],
    [null, 'mockTokenEndpoint: dpop must be true or { required?, nonce?, algorithms? }.'],
    [{ algorithms: [] }, 'mockTokenEndpoint: dpop.algorithms must be a non-empty array.'],
    [{ algorithms: 'ES256' }, 'mockTokenEndpoint: dpop.algorithms must be a non-empty array.'],
    [{ algorithms: {} }, 'mockTokenEndpoint: dpop.algorithms must be a non-empty array.'],
  ])('mockTokenEndpoint dpop: %j is refused', (dpop, message) => {
    expect(() => mockTokenEndpoint({ tokenEndpoint: 'https://bad.example.com/token', clientId: CLIENT_ID, clientSecret: SECRET, dpop } as never)).toThrow(new TypeError(message));
  });

  it('dpop: true requires a proof and no nonce; the default algorithms', async () => {
    const defaults = endpoint('defaults.example.com', true);
    expect(await post(defaults.url, undefined)).toMatchObject({ status: 400, nonce: null });
    // A proof with a nonce the endpoint never asked for is accepted.
    expect((await post(defaults.url, await proof({ htu: defaults.url, nonce: 'unasked' }))).status).toBe(200);
    expect((await metadata('defaults.example.com')).dpop_signing_alg_values_supported).toEqual(DEFAULT_ALGORITHMS);
    const c = client({ domain: undefined, tokenEndpoint: defaults.url, dpop: { key: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, alg: 'RS256' } } as Partial<TokenClientOptions>);
    expect((await c.getToken()).tokenType).toBe('DPoP');
    expect(defaults.calls.map((call) => call.status)).toEqual([400, 200, 200]);
    expect(defaults.calls.at(-1)!.dpop).toMatchObject({ valid: true, alg: 'RS256', nonce: undefined });
  });
});
