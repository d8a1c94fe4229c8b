// DPoP (RFC 9449) against a real authorization server: oidc-provider with its DPoP feature and nonces required,
// every token verified with jose against its JWKS, cnf.jkt checked against the client's key thumbprint; and the
// demo protected API in DPoP mode (proof, ath, htm/htu, jti replay, nonce), reached through each adapter.
import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import axios from 'axios';
import { calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader, exportJWK, jwtVerify, type JWK } from 'jose';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAuthorizationServer, type AuthorizationServer } from '../demo/authorization-server.js';
import { startProtectedApi, type ProtectedApi } from '../demo/protected-api.js';
import { attachTokens } from '../src/axios/index.js';
import { fetchWithTokens } from '../src/fetch/index.js';
import { ConfigurationError, createToken, ErrorCode, TokenClient, type DpopKeyPair, type DpopOptions, type TokenClientBaseOptions } from '../src/index.js';
import { staticTokenSource } from '../src/testing/index.js';
import { tokenInterceptor } from '../src/undici/index.js';
import { startPlainServer, type PlainServer } from './helpers/adapter-fixture.js';

const API = 'https://dpop-api.test/';
const SECRET = 'fake-dpop-client-secret';

let as: AuthorizationServer;
let api: ProtectedApi;
let nonceApi: ProtectedApi;
const open: TokenClient[] = [];

function client(dpop: boolean | DpopOptions, extra: Partial<TokenClientBaseOptions> & { issuer?: string } = {}): TokenClient {
  const { issuer, ...rest } = extra;
  const endpoint = issuer === undefined ? { tokenEndpoint: as.tokenEndpoint } : { issuer };
  const c = new TokenClient({ ...endpoint, clientId: 'dpop-client', clientSecret: SECRET, resource: API, retry: false, dpop, ...rest });
  open.push(c);
  return c;
}

async function verify(accessToken: string) {
  const jwks = createLocalJWKSet((await (await fetch(as.jwksUri)).json()) as { keys: JWK[] });
  const { payload } = await jwtVerify(accessToken, jwks, { issuer: as.issuer, audience: API });
  expect(payload.client_id).toBe('dpop-client');
  return payload;
}

beforeAll(async () => {
  as = await startAuthorizationServer({
    clients: [{ client_id: 'dpop-client', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_post' }],
    resources: [{ resource: API, scope: 'read' }],
    dpop: { requireNonce: true },
  });
  api = await startProtectedApi({ issuer: as.issuer, jwksUri: as.jwksUri, audience: API, dpop: {} });
  nonceApi = await startProtectedApi({ issuer: as.issuer, jwksUri: as.jwksUri, audience: API, dpop: { nonce: true } });
});

afterAll(async () => {
  await Promise.all(open.map((c) => c.close()));
  await Promise.all([as.close(), api.close(), nonceApi.close()]);
});

describe('token endpoint: oidc-provider with DPoP and nonces required', () => {
  it('a generated key: the nonce dance, then a DPoP token bound to that key (cnf.jkt), verified with jose', async () => {
    const c = client(true);
    const before = as.tokenRequests;
    const token = await c.getToken();
    expect(token.tokenType).toBe('DPoP');
    // One 400 use_dpop_nonce, answered at once with the nonce although retry is off.
    expect(as.tokenRequests - before).toBe(2);
    const claims = await verify(token.accessToken);
    const thumbprint = (c.toJSON().dpop as { thumbprint: string }).thumbprint;
    expect((claims.cnf as { jkt: string }).jkt).toBe(thumbprint);
    // The nonce is remembered: a second token request needs no challenge.
    await c.getToken({ forceRefresh: true });
    expect(as.tokenRequests - before).toBe(3);
  });

  it.each([
    ['EC P-256 PEM', () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 'ES256'],
    ['Ed25519 KeyObject', () => generateKeyPairSync('ed25519').privateKey, 'EdDSA'],
    ['EC P-256 JWK', () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }) as JWK, 'ES256'],
  ])('a given key (%s): the token is bound to its RFC 7638 thumbprint', async (_name, makeKey, alg) => {
    const key = makeKey();
    const c = client({ key });
    const token = await c.getToken();
    const claims = await verify(token.accessToken);
    const privateKey = typeof key === 'string' ? createPrivateKey(key) : key instanceof KeyObject ? key : createPrivateKey({ key: key as never, format: 'jwk' });
    const expected = await calculateJwkThumbprint(await exportJWK(createPublicKey(privateKey)));
    expect((claims.cnf as { jkt: string }).jkt).toBe(expected);
    expect((c.toJSON().dpop as { alg: string }).alg).toBe(alg);
  });

  it('a Web Crypto key pair with a non-extractable private key', async () => {
    const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])) as DpopKeyPair;
    const token = await client({ key: pair }).getToken();
    const claims = await verify(token.accessToken);
    expect((claims.cnf as { jkt: string }).jkt).toBe(await calculateJwkThumbprint(await exportJWK(pair.publicKey)));
  });

  it('with discovery, an RSA key the server cannot accept (it lists ES256, Ed25519, EdDSA) is a ConfigurationError before any token request', async () => {
    const before = as.tokenRequests;
    const error = await client({ key: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey }, { issuer: as.issuer }).getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error).toMatchObject({ option: 'dpop.key' });
    expect((error as Error).message).toContain('ES256');
    expect(as.tokenRequests).toBe(before);
  });

  it('with discovery, a generated key uses an algorithm the server lists', async () => {
    const token = await client(true, { issuer: as.issuer }).getToken();
    expect(token.tokenType).toBe('DPoP');
  });

  it('without the dpop option, the same client gets a Bearer token (no proof sent)', async () => {
    const c = new TokenClient({ tokenEndpoint: as.tokenEndpoint, clientId: 'dpop-client', clientSecret: SECRET, resource: API, retry: false });
    open.push(c);
    const token = await c.getToken();
    expect(token.tokenType).toBe('Bearer');
    expect((await verify(token.accessToken)).cnf).toBeUndefined();
  });
});

describe('the protected API: proof, ath, htm/htu, jti replay and nonce', () => {
  it('getRequestHeaders: an accepted call, and the same proof replayed is refused', async () => {
    const c = client(true);
    const url = `${api.url}/invoices?page=2`;
    const headers = await c.getRequestHeaders({ method: 'GET', url });
    expect(headers.authorization).toMatch(/^DPoP /);
    const proof = decodeProtectedHeader(headers.dpop!);
    expect(proof).toMatchObject({ typ: 'dpop+jwt', alg: 'ES256' });
    expect(proof.jwk).not.toHaveProperty('d');
    expect((await fetch(url, { headers: { ...headers } })).status).toBe(200);
    const replayed = await fetch(url, { headers: { ...headers } });
    expect(replayed.status).toBe(401);
    expect(api.requests.at(-1)).toMatchObject({ authorized: false, error: 'invalid_dpop_proof: replayed' });
    // A fresh proof for the next request works again.
    expect((await fetch(url, { headers: { ...(await c.getRequestHeaders({ method: 'GET', url })) } })).status).toBe(200);
  });

  it('a proof for another method or URL, a missing proof, a Bearer-scheme call and another key are refused', async () => {
    const c = client(true);
    const url = `${api.url}/orders`;
    const forGet = await c.getRequestHeaders({ method: 'GET', url });
    expect((await fetch(url, { method: 'POST', headers: { ...forGet } })).status).toBe(401);
    expect(api.requests.at(-1)!.error).toBe('invalid_dpop_proof: htm');
    const forOther = await c.getRequestHeaders({ method: 'GET', url: `${api.url}/other` });
    expect((await fetch(url, { headers: { ...forOther } })).status).toBe(401);
    expect(api.requests.at(-1)!.error).toBe('invalid_dpop_proof: htu');
    const { authorization } = await c.getRequestHeaders({ method: 'GET', url });
    expect((await fetch(url, { headers: { authorization } })).status).toBe(401);
    expect(api.requests.at(-1)!.error).toBe('invalid_dpop_proof: one DPoP header is required');
    expect((await fetch(url, { headers: { authorization: authorization.replace(/^DPoP/, 'Bearer') } })).status).toBe(401);
    // The token of one client with a proof made by another client's key.
    const other = client(true);
    const otherProof = (await other.getRequestHeaders({ method: 'GET', url })).dpop!;
    expect((await fetch(url, { headers: { authorization, dpop: otherProof } })).status).toBe(401);
    expect(api.requests.at(-1)!.error).toMatch(/^invalid_token|^invalid_dpop_proof: ath/);
  });

  it('a bound token sent as a bearer token to an API without DPoP is refused', async () => {
    const bearerApi = await startProtectedApi({ issuer: as.issuer, jwksUri: as.jwksUri, audience: API });
    try {
      const token = await client(true).getToken();
      expect((await fetch(bearerApi.url, { headers: { authorization: `Bearer ${token.accessToken}` } })).status).toBe(401);
    } finally {
      await bearerApi.close();
    }
  });
});

describe('each adapter against the DPoP API, with the API asking for its nonce', () => {
  const adapters: [string, (c: TokenClient, url: string) => Promise<number>][] = [
    ['fetch', async (c, url) => (await fetchWithTokens(c, { targets: { [nonceApi.url]: {} } })(url)).status],
    [
      'axios',
      async (c, url) => {
        const instance = axios.create({ validateStatus: () => true });
        attachTokens(instance, c, { targets: { [nonceApi.url]: {} } });
        return (await instance.get(url)).status;
      },
    ],
    [
      'undici',
      async (c, url) => {
        const dispatcher = new Agent().compose(tokenInterceptor(c, { targets: { [nonceApi.url]: {} } }));
        try {
          const { statusCode, body } = await request(url, { dispatcher });
          await body.dump();
          return statusCode;
        } finally {
          await dispatcher.close();
        }
      },
    ],
  ];

  it.each(adapters)('%s: the nonce challenge is answered once with a fresh proof, then remembered; a rotated nonce again', async (_name, call) => {
    const c = client(true);
    const before = nonceApi.requests.length;
    expect(await call(c, `${nonceApi.url}/a?x=1`)).toBe(200);
    expect(nonceApi.requests.slice(before).map((r) => r.error ?? 'ok')).toEqual(['use_dpop_nonce', 'ok']);
    // Two proofs, two jti.
    const [first, second] = nonceApi.requests.slice(before);
    expect(first!.proofJti).not.toBe(second!.proofJti);
    expect(await call(c, `${nonceApi.url}/b`)).toBe(200);
    expect(nonceApi.requests.slice(before + 2).map((r) => r.error ?? 'ok')).toEqual(['ok']);
    nonceApi.rotateNonce();
    expect(await call(c, `${nonceApi.url}/c`)).toBe(200);
    expect(nonceApi.requests.slice(before + 3).map((r) => r.error ?? 'ok')).toEqual(['use_dpop_nonce', 'ok']);
  });

  it.each(adapters)('%s: a revoked token is renewed once and the replay carries a fresh proof for the new token', async (_name, call) => {
    const c = client(true);
    expect(await call(c, `${nonceApi.url}/warm`)).toBe(200);
    nonceApi.revokeSeenTokens();
    const before = nonceApi.requests.length;
    const tokensBefore = as.tokenRequests;
    expect(await call(c, `${nonceApi.url}/after-revocation`)).toBe(200);
    expect(nonceApi.requests.slice(before).map((r) => r.error ?? 'ok')).toEqual(['invalid_token', 'ok']);
    expect(as.tokenRequests - tokensBefore).toBe(1);
  });
});

describe('downgrades and mismatches', () => {
  it('a Bearer token for a DPoP request is M2M_DPOP_MISMATCH, unless allowBearer', async () => {
    const plain = await startAuthorizationServer({
      clients: [{ client_id: 'dpop-client', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_post' }],
      resources: [{ resource: API, scope: 'read' }],
    });
    try {
      const strict = new TokenClient({ tokenEndpoint: plain.tokenEndpoint, clientId: 'dpop-client', clientSecret: SECRET, resource: API, retry: false, dpop: true });
      const lenient = new TokenClient({ tokenEndpoint: plain.tokenEndpoint, clientId: 'dpop-client', clientSecret: SECRET, resource: API, retry: false, dpop: { allowBearer: true } });
      open.push(strict, lenient);
      const error = await strict.getToken().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: ErrorCode.DPOP_MISMATCH, status: 200 });
      expect((error as Error).message).toContain('allowBearer');
      expect((await lenient.getToken()).tokenType).toBe('Bearer');
      const headers = await lenient.getRequestHeaders({ method: 'GET', url: 'https://example.test/' });
      expect(headers.authorization).toMatch(/^Bearer /);
      expect(headers.dpop).toBeUndefined();
    } finally {
      await plain.close();
    }
  });
});

describe('adapters: what they send, and what they keep secret', () => {
  let plain: PlainServer;
  beforeAll(async () => {
    plain = await startPlainServer();
  });
  afterAll(async () => {
    await plain.close();
  });

  it('a source that hands out a DPoP token without proof() fails the request before anything is sent', async () => {
    const source = staticTokenSource(createToken({ accessToken: 'fake-dpop-token', tokenType: 'DPoP', expiresIn: 60_000, expiresAt: Date.now() + 60_000 }));
    const before = plain.requests.length;
    const error = await fetchWithTokens(source, { targets: { [plain.url]: {} } })(`${plain.url}/x`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error).toMatchObject({ option: 'source' });
    expect(plain.requests.length).toBe(before);
  });

  it('axios: an error for a DPoP request shows neither the token nor the proof', async () => {
    const c = client(true);
    const instance = axios.create();
    attachTokens(instance, c, { targets: { [plain.url]: {} } });
    plain.reply({ status: 500 });
    const error = (await instance.get(`${plain.url}/fails`).catch((e: unknown) => e)) as { config: { headers: Record<string, unknown> } };
    const sent = plain.requests.at(-1)!;
    expect(sent.authorization).toMatch(/^DPoP /);
    const token = sent.authorization!.slice('DPoP '.length);
    expect(error.config.headers.Authorization).toBe('DPoP [REDACTED]');
    expect(error.config.headers.DPoP).toBe('[REDACTED]');
    const rendered = `${JSON.stringify(error)} ${inspect(error, { depth: 6 })}`;
    expect(rendered).not.toContain(token);
    expect(rendered).not.toMatch(/"typ":"dpop\+jwt"|eyJ[\w-]*\.eyJ/);
  });

  it('fetch: a nonce challenge to a stream body is returned as is; the nonce is remembered for the next request', async () => {
    const c = client(true);
    nonceApi.rotateNonce();
    const apiFetch = fetchWithTokens(c, { targets: { [nonceApi.url]: {} } });
    const before = nonceApi.requests.length;
    const body = new ReadableStream({ start: (controller) => controller.close() });
    expect((await apiFetch(`${nonceApi.url}/stream`, { method: 'POST', body, duplex: 'half' } as RequestInit)).status).toBe(401);
    expect((await apiFetch(`${nonceApi.url}/next`)).status).toBe(200);
    expect(nonceApi.requests.slice(before).map((r) => r.error ?? 'ok')).toEqual(['use_dpop_nonce', 'ok']);
  });
});
