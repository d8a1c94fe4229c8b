// The credential fingerprint, as a TokenStore sees it: the first element of every store key. Processes share a
// stored token only when they hold the same credential (docs/fleets-and-redis.md), whatever form it is given in.
import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TokenClient, type StoredToken, type TokenClientOptions, type TokenStore } from 'm2m-token';
import { describe, expect, it } from 'vitest';
import { makeTestPki } from './helpers/certs.js';

const ENDPOINT = 'https://as.example.com/oauth/token';

/** A store that has a token for every key (so no request is sent) and records the keys it is asked for. */
class RecordingStore implements TokenStore {
  readonly keys: string[] = [];
  async get(key: string): Promise<StoredToken> {
    this.keys.push(key);
    return { accessToken: 'stored-token', tokenType: 'Bearer', expiresIn: 3_600_000, expiresAt: Date.now() + 3_600_000 };
  }
  async set() {}
  async delete() {}
}

type Credential = Partial<Pick<TokenClientOptions, 'clientId' | 'clientSecret' | 'clientAssertion' | 'tls' | 'clientAuthentication'>>;

/** The credential fingerprint part of the store key a client with this credential uses. */
async function fingerprintOf(credential: Credential): Promise<string> {
  const store = new RecordingStore();
  const client = new TokenClient({ tokenEndpoint: ENDPOINT, clientId: 'svc', audience: 'https://api.example.com', cache: store, ...credential } as TokenClientOptions);
  try {
    expect((await client.getToken()).accessToken).toBe('stored-token');
  } finally {
    await client.close();
  }
  const [fingerprint, cacheKey] = JSON.parse(store.keys[0]!) as [string, unknown];
  expect(Array.isArray(cacheKey)).toBe(true);
  return fingerprint;
}

/** A throwaway EC key made for this test (it proves nothing anywhere): the fingerprint of a fixed key is fixed. */
const FIXED_KEY = [
  '-----BEGIN PRIVATE KEY-----',
  'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgWM8IAyIE9bWXDr4q',
  'd5Gu6XxuGkAYgUv76Z1EIszsT32hRANCAAQU9yjKEUXiVAHwXWmhr16FUfg1xfQa',
  'KVnjl31I3+FRnWuml8wc6G8C9OvuoANtG9Y/pQpw7FCzBXDDKQic8hYX',
  '-----END PRIVATE KEY-----',
].join('\n');

const ecKey = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

describe('the credential fingerprint in the store key', () => {
  it('is the same in every process for the same credential: a fixed digest of the client id and the secret or key', async () => {
    // Fixed values: any process (any build) that computes it differently would not share the fleet's tokens.
    expect(await fingerprintOf({ clientSecret: 'fake-secret' })).toBe('DhPUAGIiTe8R2J_2bBK4ILBvN7OrpYrgMR__rqLit30');
    expect(await fingerprintOf({ clientId: 'svc-b', clientSecret: 'fake-sécret-ü' })).toBe('1ojCMvrd08O9qVOajob8Q6oIuBXcq9hGwMDQONSsI4k');
    expect(await fingerprintOf({ clientAssertion: { key: FIXED_KEY } })).toBe('AQiKDMuQxgBjL7LDgsN1JsbLDzIXbdu3r8nM9fk4uh4');
  });

  it('differs with the secret, the client id, and a credential added', async () => {
    const fp = await fingerprintOf({ clientSecret: 'fake-secret' });
    expect(await fingerprintOf({ clientSecret: 'fake-secret' })).toBe(fp);
    expect(await fingerprintOf({ clientSecret: 'fake-secret2' })).not.toBe(fp);
    expect(await fingerprintOf({ clientId: 'svc2', clientSecret: 'fake-secret' })).not.toBe(fp);
    // The same bytes moved from one part to the next (client id "svc" + secret "x…" vs "svcx" + "…") do not collide.
    expect(await fingerprintOf({ clientId: 'svcx', clientSecret: 'fake' })).not.toBe(await fingerprintOf({ clientId: 'svc', clientSecret: 'xfake' }));
  });

  it('binds the private key of private_key_jwt, whatever form it is given in', async () => {
    const key = ecKey();
    const pem = key.export({ type: 'pkcs8', format: 'pem' }) as string;
    const fp = await fingerprintOf({ clientAssertion: { key: pem } });
    expect(await fingerprintOf({ clientAssertion: { key } })).toBe(fp);
    expect(await fingerprintOf({ clientAssertion: { key: key.export({ format: 'jwk' }) as { kty: string } } })).toBe(fp);
    expect(await fingerprintOf({ clientAssertion: { key: pem, kid: 'k2' } })).toBe(fp);
    expect(await fingerprintOf({ clientAssertion: { key: ecKey() } })).not.toBe(fp);
    // The secret and the key together are another credential than the key alone.
    expect(await fingerprintOf({ clientAssertion: { key }, clientSecret: 'fake-secret' })).not.toBe(fp);
  });

  it('binds how an assertion is made when the key is not in this process: a signing function, or the file it is read from', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'm2m-fp-'));
    writeFileSync(join(dir, 'a.jwt'), 'x.y.z');
    const sign = () => 'x.y.z';
    const bySign = await fingerprintOf({ clientAssertion: sign });
    const byFileA = await fingerprintOf({ clientAssertion: { file: join(dir, 'a.jwt') } });
    const byFileB = await fingerprintOf({ clientAssertion: { file: join(dir, 'b.jwt') } });
    const none = await fingerprintOf({ clientSecret: 'fake-secret' });
    expect(new Set([bySign, byFileA, byFileB, none]).size).toBe(4);
    expect(await fingerprintOf({ clientAssertion: { file: join(dir, 'a.jwt') } })).toBe(byFileA);
    expect(await fingerprintOf({ clientAssertion: { sign: () => 'other' } })).toBe(bySign);
    // With the same secret, signing it yourself and letting the client sign with it are two ways of proving.
    expect(await fingerprintOf({ clientSecret: 'fake-secret', clientAssertion: sign })).not.toBe(await fingerprintOf({ clientSecret: 'fake-secret', clientAssertion: { audience: 'issuer' } }));
    // client_secret_jwt: the secret signs; it is the credential, with the way it is used.
    const hs = await fingerprintOf({ clientSecret: 'fake-secret', clientAssertion: { audience: 'issuer' } });
    expect(hs).not.toBe(none);
    expect(await fingerprintOf({ clientSecret: 'fake-secret2', clientAssertion: { audience: 'issuer' } })).not.toBe(hs);
  });

  it('binds a client certificate and its private key; an encrypted key with its passphrase is the same key', async () => {
    const pki = makeTestPki();
    const tls = { cert: pki.client.cert, key: pki.client.key };
    const fp = await fingerprintOf({ tls });
    expect(await fingerprintOf({ tls: { cert: Buffer.from(tls.cert), key: Buffer.from(tls.key) } })).toBe(fp);
    const encrypted = createPrivateKey(tls.key).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'fake-passphrase' }) as string;
    expect(await fingerprintOf({ tls: { cert: tls.cert, key: encrypted, passphrase: 'fake-passphrase' } })).toBe(fp);
    expect(await fingerprintOf({ tls: { ...tls, ca: pki.ca.cert } })).toBe(fp);
    // Another certificate for the same key.
    const dir = mkdtempSync(join(tmpdir(), 'm2m-fp-tls-'));
    writeFileSync(join(dir, 'client.key'), tls.key);
    execFileSync('openssl', ['req', '-x509', '-new', '-key', join(dir, 'client.key'), '-subj', '/CN=m2m-client-renewed', '-days', '2', '-out', join(dir, 'renewed.crt')], { stdio: 'pipe' });
    expect(await fingerprintOf({ tls: { cert: readFileSync(join(dir, 'renewed.crt'), 'utf8'), key: tls.key } })).not.toBe(fp);
    // Another key and certificate, the same certificate with a secret too.
    expect(await fingerprintOf({ tls: { cert: pki.selfSigned.cert, key: pki.selfSigned.key } })).not.toBe(fp);
    expect(await fingerprintOf({ tls: { cert: pki.stranger.cert, key: pki.stranger.key } })).not.toBe(fp);
    expect(await fingerprintOf({ tls, clientSecret: 'fake-secret' })).not.toBe(fp);
    expect(await fingerprintOf({ tls, clientSecret: 'fake-secret' })).not.toBe(await fingerprintOf({ clientSecret: 'fake-secret' }));
  });

  it('shows nothing of the credential', async () => {
    const fp = await fingerprintOf({ clientSecret: 'fake-secret-value-1234' });
    expect(fp).toMatch(/^[\w-]{43}$/);
    for (const part of ['fake-secret', 'svc', Buffer.from('fake-secret').toString('base64url').slice(0, 8)]) expect(fp).not.toContain(part);
  });
});
