import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { StoredToken, TokenStore } from 'm2m-token';
import { RedisTokenStore } from 'm2m-token/redis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { credentialFingerprint } from '../src/credential-fingerprint.js';
import type { Credentials } from '../src/client-auth.js';
import { SECRET, setup } from './helpers/client.js';
import { CLIENT_KINDS, connectClient, type ClientKind } from './helpers/redis-clients.js';
import { describeRedis, redisMissing } from './helpers/redis-suite.js';
import { startRedisServer, type RedisServer } from './helpers/redis-server.js';
import { json } from './helpers/token-server.js';

// Review finding: entries were bound to the store key, not to the credential. A process with the store key and the
// wrong client secret, using service A's public client id and audience, read A's token from Redis without asking
// the token endpoint, and could write a token of its choosing that a fresh A process then used.

const KEY = randomBytes(32).toString('base64');
const CLIENT_ID = 'service-a';
const AUDIENCE = 'https://api.example.com/a';
const WRONG_SECRET = 'fake-wrong-secret-of-someone-else';

let server: RedisServer | undefined;
const cleanup: (() => unknown)[] = [];
beforeAll(async () => {
  if (!redisMissing) server = await startRedisServer();
});
afterAll(() => server?.stop());
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

async function newStore(kind: ClientKind): Promise<RedisTokenStore> {
  const connection = await connectClient(kind, { port: server!.port });
  const store = new RedisTokenStore({ redis: connection.redis, encryptionKeys: [KEY] });
  cleanup.push(() => connection.close(), () => store.close());
  return store;
}

/** The store, recording every key the client hands it. */
function recording(store: TokenStore, keys: string[]): TokenStore {
  return {
    get: (key) => (keys.push(key), store.get(key)),
    set: (key, token, ttl) => (keys.push(key), store.set(key, token, ttl)),
    delete: (key) => store.delete(key),
    acquireLease: (key, ttl) => store.acquireLease!(key, ttl),
    waitForToken: (key, timeout) => store.waitForToken!(key, timeout),
  };
}

const a = { clientId: CLIENT_ID, audience: AUDIENCE };

describeRedis.each(CLIENT_KINDS)('shared entries are bound to the credential (%s)', (kind) => {
  beforeEach(async () => {
    const admin = await connectClient('ioredis', { port: server!.port });
    await (admin.redis as unknown as { flushall(): Promise<unknown> }).flushall();
    await admin.close();
  });

  it('a process with the store key, client id and audience but another secret sees a miss, and asks the endpoint', async () => {
    const holder = await setup({ ...a, clientSecret: SECRET, cache: await newStore(kind) });
    expect((await holder.client.getToken()).accessToken).toBe('token-1');

    const other = await setup({ ...a, clientSecret: WRONG_SECRET, cache: await newStore(kind), tokenEndpoint: holder.server.url });
    // The endpoint would refuse this secret; this one answers anyone, to show the request was made at all.
    expect((await other.client.getToken()).accessToken).toBe('token-2');
    expect(holder.server.requests).toHaveLength(2);
    expect(holder.server.requests[1]!.form.get('client_secret')).toBe(WRONG_SECRET);

    // The process with the right secret still reads its own entry.
    const again = await setup({ ...a, clientSecret: SECRET, cache: await newStore(kind), tokenEndpoint: holder.server.url });
    expect((await again.client.getToken()).accessToken).toBe('token-1');
    expect(holder.server.requests).toHaveLength(2);
  });

  it('a process without the secret cannot plant a token that a process with it then uses', async () => {
    const attackerStore = await newStore(kind);
    const keys: string[] = [];
    const attacker = await setup({ ...a, clientSecret: WRONG_SECRET, cache: recording(attackerStore, keys) });
    attacker.server.respond((_req, res, i) => json(res, 200, { access_token: i === 1 ? 'planted-token' : `token-${i}`, token_type: 'Bearer', expires_in: 3600 }));
    expect((await attacker.client.getToken()).accessToken).toBe('planted-token'); // written to Redis under its key
    // Also under every key it can make from public inputs: its own key without its fingerprint, the bare cache key.
    const planted: StoredToken = { accessToken: 'planted-token', tokenType: 'Bearer', expiresIn: 3_600_000, expiresAt: Date.now() + 3_600_000 };
    for (const key of new Set(keys.flatMap(publicVariants))) await attackerStore.set(key, planted, 60_000);

    const victim = await setup({ ...a, clientSecret: SECRET, cache: await newStore(kind), tokenEndpoint: attacker.server.url });
    expect((await victim.client.getToken()).accessToken).toBe('token-2');
    expect(attacker.server.requests).toHaveLength(2);
  });

  it('private_key_jwt: another private key sees a miss; the same key given as PEM or as a JWK shares', async () => {
    const [mine, theirs] = [generateKeyPairSync('ec', { namedCurve: 'P-256' }), generateKeyPairSync('ec', { namedCurve: 'P-256' })];
    const pem = mine.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const jwk = mine.privateKey.export({ format: 'jwk' });
    const options = { ...a, clientSecret: undefined };
    const first = await setup({ ...options, clientAssertion: { key: pem }, cache: await newStore(kind) });
    expect((await first.client.getToken()).accessToken).toBe('token-1');
    expect(first.server.requests[0]!.form.get('client_assertion_type')).toMatch(/jwt-bearer/);

    const sameKey = await setup({ ...options, clientAssertion: { key: jwk }, cache: await newStore(kind), tokenEndpoint: first.server.url });
    expect((await sameKey.client.getToken()).accessToken).toBe('token-1');
    const otherKey = await setup({ ...options, clientAssertion: { key: theirs.privateKey }, cache: await newStore(kind), tokenEndpoint: first.server.url });
    expect((await otherKey.client.getToken()).accessToken).toBe('token-2');
    expect(first.server.requests).toHaveLength(2);
  });
});

/** A store key as given, and, when it carries a credential fingerprint (`["<fp>",<cache key>]`), the cache key alone. */
function publicVariants(key: string): string[] {
  const parsed = JSON.parse(key) as unknown[];
  return parsed.length === 2 && typeof parsed[0] === 'string' && Array.isArray(parsed[1]) ? [key, JSON.stringify(parsed[1])] : [key];
}

describe('credentialFingerprint', () => {
  const secret: Credentials = { clientId: CLIENT_ID, clientSecret: SECRET, assertion: undefined, tls: false };
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const encrypted = privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'fake-passphrase' }) as string;
  const otherKeyPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const cert = '-----BEGIN CERTIFICATE-----\nfake-certificate\n-----END CERTIFICATE-----\n';
  const tlsOnly: Credentials = { clientId: CLIENT_ID, clientSecret: undefined, assertion: undefined, tls: true };

  it('is the same for the same credential, and differs with the secret, the client id, or a credential added', () => {
    const fp = credentialFingerprint(secret, undefined);
    expect(fp).toMatch(/^[\w-]{43}$/);
    expect(credentialFingerprint({ ...secret }, undefined)).toBe(fp);
    expect(credentialFingerprint({ ...secret, clientSecret: `${SECRET}x` }, undefined)).not.toBe(fp);
    expect(credentialFingerprint({ ...secret, clientId: 'service-b' }, undefined)).not.toBe(fp);
    expect(credentialFingerprint({ ...secret, tls: true }, { cert, key: keyPem })).not.toBe(fp);
  });

  it('binds a client certificate and its private key, whether the key is encrypted or not', () => {
    const fp = credentialFingerprint(tlsOnly, { cert, key: keyPem });
    expect(credentialFingerprint(tlsOnly, { cert, key: Buffer.from(keyPem) })).toBe(fp);
    expect(credentialFingerprint(tlsOnly, { cert, key: encrypted, passphrase: 'fake-passphrase' })).toBe(fp);
    expect(credentialFingerprint(tlsOnly, { cert, key: otherKeyPem })).not.toBe(fp);
    expect(credentialFingerprint(tlsOnly, { cert: cert.replace('fake', 'other'), key: keyPem })).not.toBe(fp);
  });

  it('shows nothing of what it digests', () => {
    const fp = credentialFingerprint({ ...secret, tls: true }, { cert, key: keyPem });
    for (const part of [SECRET, SECRET.slice(0, 8), Buffer.from(SECRET).toString('base64url').slice(0, 8), CLIENT_ID]) expect(fp).not.toContain(part);
  });
});
