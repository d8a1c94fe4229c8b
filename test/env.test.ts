// Configuration from the environment: optionsFromEnv() and TokenClient.fromEnv().
import { mkdtempSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ENV_NAMES, optionsFromEnv } from '../src/env.js';
import { ConfigurationError, ErrorCode, TokenClient } from '../src/index.js';
import { startTokenServer, type TokenServer } from './helpers/token-server.js';
import { configError } from './helpers/config-error.js';

const base = { M2M_CLIENT_ID: 'c', M2M_CLIENT_SECRET: 'fake-secret' };
const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
const dir = mkdtempSync(join(tmpdir(), 'm2m-env-'));

function refusal(fn: () => unknown): ConfigurationError {
  const error = configError(fn);
  expect(error.code).toBe(ErrorCode.INVALID_OPTION);
  return error;
}

describe('optionsFromEnv', () => {
  it('reads every documented name', () => {
    expect(optionsFromEnv({
      ...base, M2M_DOMAIN: 'tenant.auth0.com', M2M_AUDIENCE: 'https://api', M2M_ORGANIZATION: 'org_1', M2M_SCOPE: 'a b',
      M2M_CLIENT_AUTHENTICATION: 'client_secret_basic',
    })).toEqual({
      domain: 'tenant.auth0.com', clientId: 'c', clientSecret: 'fake-secret', audience: 'https://api', organization: 'org_1', scope: 'a b',
      clientAuthentication: 'client_secret_basic',
    });
    expect(optionsFromEnv({ ...base, AUTH0_DOMAIN: 'tenant.auth0.com' })).toMatchObject({ domain: 'tenant.auth0.com' });
    expect(optionsFromEnv({ ...base, M2M_ISSUER: 'https://idp.example/' })).toMatchObject({ issuer: 'https://idp.example/' });
    expect(optionsFromEnv({ ...base, M2M_TOKEN_ENDPOINT: 'https://idp.example/token' })).toMatchObject({ tokenEndpoint: 'https://idp.example/token' });
    for (const name of ['M2M_TOKEN_ENDPOINT', 'M2M_ISSUER', 'M2M_DOMAIN', 'AUTH0_DOMAIN', 'M2M_CLIENT_ID', 'M2M_CLIENT_SECRET', 'M2M_PRIVATE_KEY', 'M2M_AUDIENCE', 'M2M_ORGANIZATION', 'M2M_SCOPE']) {
      expect(ENV_NAMES).toHaveProperty(name);
    }
  });

  it('reads secrets and keys from files, and a private key as a PEM or a path', () => {
    writeFileSync(join(dir, 'secret'), 'fake-file-secret\n');
    writeFileSync(join(dir, 'key.pem'), pem);
    expect(optionsFromEnv({ M2M_DOMAIN: 't.auth0.com', M2M_CLIENT_ID: 'c', M2M_CLIENT_SECRET_FILE: join(dir, 'secret') }).clientSecret).toBe('fake-file-secret');
    expect(optionsFromEnv({ M2M_DOMAIN: 't.auth0.com', M2M_CLIENT_ID: 'c', M2M_PRIVATE_KEY: pem, M2M_PRIVATE_KEY_ID: 'k1' }).clientAssertion).toEqual({ key: pem.trim(), kid: 'k1' });
    expect(optionsFromEnv({ M2M_DOMAIN: 't.auth0.com', M2M_CLIENT_ID: 'c', M2M_PRIVATE_KEY: join(dir, 'key.pem') }).clientAssertion).toEqual({ key: pem });
    expect(optionsFromEnv({ M2M_DOMAIN: 't.auth0.com', M2M_CLIENT_ID: 'c', M2M_PRIVATE_KEY_FILE: join(dir, 'key.pem'), M2M_PRIVATE_KEY_ALG: 'ES256' }).clientAssertion).toEqual({ key: pem, alg: 'ES256' });
    // A PEM in one line with literal \n, as some secret managers store it.
    expect(optionsFromEnv({ M2M_DOMAIN: 't.auth0.com', M2M_CLIENT_ID: 'c', M2M_PRIVATE_KEY: pem.replace(/\n/g, '\\n') }).clientAssertion).toEqual({ key: pem });
    expect(refusal(() => optionsFromEnv({ M2M_DOMAIN: 't.auth0.com', M2M_CLIENT_ID: 'c', M2M_CLIENT_SECRET_FILE: join(dir, 'missing') })).message).toMatch(/M2M_CLIENT_SECRET_FILE.*ENOENT/);
  });

  it('refuses an inconsistent environment, naming the variable', () => {
    expect(refusal(() => optionsFromEnv({ ...base })).message).toMatch(/no token endpoint: set M2M_DOMAIN/);
    expect(refusal(() => optionsFromEnv({ ...base, M2M_DOMAIN: 'a.auth0.com', M2M_ISSUER: 'https://b/' })).message).toMatch(/set only one of M2M_ISSUER, M2M_DOMAIN/);
    expect(refusal(() => optionsFromEnv({ ...base, M2M_DOMAIN: 'a.auth0.com', AUTH0_DOMAIN: 'b.auth0.com' })).option).toBe('M2M_DOMAIN');
    expect(optionsFromEnv({ ...base, M2M_DOMAIN: 'a.auth0.com', AUTH0_DOMAIN: 'a.auth0.com' }).domain).toBe('a.auth0.com');
    expect(refusal(() => optionsFromEnv({ M2M_DOMAIN: 'a.auth0.com', M2M_CLIENT_SECRET: 's' })).option).toBe('M2M_CLIENT_ID');
    expect(refusal(() => optionsFromEnv({ M2M_DOMAIN: 'a.auth0.com', M2M_CLIENT_ID: 'c' })).message).toMatch(/no credential/);
    expect(refusal(() => optionsFromEnv({ ...base, M2M_DOMAIN: 'a', M2M_CLIENT_SECRET_FILE: '/x' })).option).toBe('M2M_CLIENT_SECRET');
    expect(refusal(() => optionsFromEnv({ ...base, M2M_DOMAIN: 'a', M2M_CLIENT_AUTHENTICATION: 'basic' })).option).toBe('M2M_CLIENT_AUTHENTICATION');
  });

  it('reads DPoP: a key as a PEM, a path or a file, its alg, or M2M_DPOP=true for a generated key', () => {
    writeFileSync(join(dir, 'dpop.pem'), pem);
    const at = { ...base, M2M_DOMAIN: 't.auth0.com' };
    expect(optionsFromEnv({ ...at, M2M_DPOP_KEY: pem }).dpop).toEqual({ key: pem.trim() });
    expect(optionsFromEnv({ ...at, M2M_DPOP_KEY: join(dir, 'dpop.pem'), M2M_DPOP_ALG: 'ES256' }).dpop).toEqual({ key: pem, alg: 'ES256' });
    expect(optionsFromEnv({ ...at, M2M_DPOP_KEY_FILE: join(dir, 'dpop.pem') }).dpop).toEqual({ key: pem });
    expect(optionsFromEnv({ ...at, M2M_DPOP: 'true' }).dpop).toBe(true);
    expect(optionsFromEnv({ ...at, M2M_DPOP: '1', M2M_DPOP_ALG: 'EdDSA' }).dpop).toEqual({ alg: 'EdDSA' });
    expect(optionsFromEnv({ ...at, M2M_DPOP: 'false' })).not.toHaveProperty('dpop');
    expect(optionsFromEnv({ ...at })).not.toHaveProperty('dpop');
    // An override in code wins, whatever the environment says.
    expect(optionsFromEnv({ ...at, M2M_DPOP: 'yes please' }, { dpop: false }).dpop).toBe(false);
    expect(refusal(() => optionsFromEnv({ ...at, M2M_DPOP: 'yes' }))).toMatchObject({ option: 'M2M_DPOP', message: expect.stringMatching(/must be true or false, got "yes"/) });
    expect(refusal(() => optionsFromEnv({ ...at, M2M_DPOP: 'false', M2M_DPOP_KEY: pem })).option).toBe('M2M_DPOP');
    expect(refusal(() => optionsFromEnv({ ...at, M2M_DPOP_KEY: pem, M2M_DPOP_KEY_FILE: join(dir, 'dpop.pem') })).option).toBe('M2M_DPOP_KEY');
    expect(refusal(() => optionsFromEnv({ ...at, M2M_DPOP_ALG: 'ES256' }))).toMatchObject({ option: 'M2M_DPOP_ALG', message: expect.stringMatching(/without DPoP: set M2M_DPOP_KEY/) });
    expect(refusal(() => optionsFromEnv({ ...at, M2M_DPOP_KEY_FILE: join(dir, 'missing') })).message).toMatch(/M2M_DPOP_KEY_FILE.*ENOENT/);
    // What the environment gives, TokenClient accepts: the key is read and checked at construction.
    const client = TokenClient.fromEnv({ ...at, M2M_DPOP_KEY: pem });
    expect(JSON.stringify(client)).not.toContain('PRIVATE KEY');
    void client.close();
  });

  it('empty values count as unset, and overrides win over the environment', () => {
    expect(optionsFromEnv({ ...base, M2M_DOMAIN: 'a.auth0.com', M2M_ISSUER: '  ', M2M_AUDIENCE: '' })).toEqual({ domain: 'a.auth0.com', clientId: 'c', clientSecret: 'fake-secret' });
    expect(optionsFromEnv({ ...base, M2M_DOMAIN: 'a.auth0.com', M2M_AUDIENCE: 'https://env' }, { tokenEndpoint: 'https://x/token', audience: 'https://code', clientSecret: undefined }))
      .toEqual({ tokenEndpoint: 'https://x/token', clientId: 'c', clientSecret: 'fake-secret', audience: 'https://code' });
  });
});

describe('TokenClient.fromEnv', () => {
  let server: TokenServer | undefined;
  afterEach(async () => {
    await server?.close();
  });

  it('makes a working client from the environment, with overrides', async () => {
    server = await startTokenServer();
    const client = TokenClient.fromEnv({ M2M_TOKEN_ENDPOINT: server.url, ...base, M2M_AUDIENCE: 'https://env' }, { scope: 'read' });
    try {
      const token = await client.getToken();
      expect(token.accessToken).toBe('token-1');
      expect(Object.fromEntries(server.requests[0]!.form)).toMatchObject({ grant_type: 'client_credentials', client_id: 'c', audience: 'https://env', scope: 'read' });
    } finally {
      await client.close();
    }
  });

  it('reads process.env by default', () => {
    const saved = { ...process.env };
    Object.assign(process.env, { M2M_DOMAIN: 'tenant.auth0.com', M2M_CLIENT_ID: 'c', M2M_CLIENT_SECRET: 'fake-secret' });
    try {
      expect(JSON.stringify(TokenClient.fromEnv())).toContain('https://tenant.auth0.com/oauth/token');
    } finally {
      for (const k of ['M2M_DOMAIN', 'M2M_CLIENT_ID', 'M2M_CLIENT_SECRET']) if (saved[k] === undefined) delete process.env[k];
    }
  });
});
