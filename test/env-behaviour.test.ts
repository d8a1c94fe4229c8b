// TokenClient.fromEnv() and the CLI read the same environment (optionsFromEnv): which variable wins, what an
// override in code replaces, and the message naming the variable when the environment is inconsistent.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { optionsFromEnv } from '../src/env.js';
import { ErrorCode, TokenClient } from '../src/index.js';
import { configError } from './helpers/config-error.js';

const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
const dir = mkdtempSync(join(tmpdir(), 'm2m-env-b-'));
writeFileSync(join(dir, 'key.pem'), pem);
writeFileSync(join(dir, 'secret'), '  fake-file-secret \n');
const credential = { M2M_CLIENT_ID: 'c', M2M_CLIENT_SECRET: 'fake-secret' };
const at = { ...credential, M2M_DOMAIN: 't.auth0.com' };

/** The refusal's option and full message. */
function refusal(fn: () => unknown): [string, string] {
  const error = configError(fn);
  expect(error.code).toBe(ErrorCode.INVALID_OPTION);
  return [error.option, error.message];
}

describe('the token endpoint', () => {
  it('names every endpoint variable set when more than one is, the first as the option', () => {
    expect(refusal(() => optionsFromEnv({ ...credential, AUTH0_DOMAIN: 'a.auth0.com', M2M_TOKEN_ENDPOINT: 'https://x/token' }))).toStrictEqual([
      'M2M_TOKEN_ENDPOINT',
      'Invalid option `M2M_TOKEN_ENDPOINT`: set only one of M2M_TOKEN_ENDPOINT, AUTH0_DOMAIN',
    ]);
    expect(refusal(() => optionsFromEnv({ ...credential, M2M_DOMAIN: 'a.auth0.com', M2M_ISSUER: 'https://i/', M2M_TOKEN_ENDPOINT: 'https://x/token' }))[1]).toBe(
      'Invalid option `M2M_TOKEN_ENDPOINT`: set only one of M2M_TOKEN_ENDPOINT, M2M_ISSUER, M2M_DOMAIN',
    );
    expect(refusal(() => optionsFromEnv({ ...credential, M2M_DOMAIN: 'a.auth0.com', AUTH0_DOMAIN: 'b.auth0.com' }))).toStrictEqual([
      'M2M_DOMAIN',
      'Invalid option `M2M_DOMAIN`: M2M_DOMAIN and AUTH0_DOMAIN are both set, to different domains: unset one',
    ]);
    expect(refusal(() => optionsFromEnv({ ...credential }))).toStrictEqual([
      'M2M_DOMAIN',
      'Invalid option `M2M_DOMAIN`: no token endpoint: set M2M_DOMAIN (or AUTH0_DOMAIN), M2M_ISSUER or M2M_TOKEN_ENDPOINT',
    ]);
  });

  it('an endpoint given in code replaces the environment, even an inconsistent one', () => {
    const conflicting = { ...credential, M2M_DOMAIN: 'a.auth0.com', AUTH0_DOMAIN: 'b.auth0.com', M2M_ISSUER: 'https://i/' };
    expect(optionsFromEnv(conflicting, { domain: 'code.auth0.com' })).toStrictEqual({ domain: 'code.auth0.com', clientId: 'c', clientSecret: 'fake-secret' });
    expect(optionsFromEnv(conflicting, { issuer: 'https://code/' })).toStrictEqual({ issuer: 'https://code/', clientId: 'c', clientSecret: 'fake-secret' });
    expect(optionsFromEnv(conflicting, { tokenEndpoint: 'https://code/token' })).toStrictEqual({ tokenEndpoint: 'https://code/token', clientId: 'c', clientSecret: 'fake-secret' });
    expect(optionsFromEnv(credential, { domain: 'code.auth0.com' })).toMatchObject({ domain: 'code.auth0.com' });
  });

  it('values are trimmed', () => {
    expect(optionsFromEnv({ M2M_DOMAIN: ' t.auth0.com\n', M2M_CLIENT_ID: ' c ', M2M_CLIENT_SECRET: ' fake-secret ', M2M_AUDIENCE: ' https://api ' })).toStrictEqual({
      domain: 't.auth0.com',
      clientId: 'c',
      clientSecret: 'fake-secret',
      audience: 'https://api',
    });
  });
});

describe('the client id and the credential', () => {
  it('a client id or a credential given in code needs none in the environment', () => {
    expect(optionsFromEnv({ M2M_DOMAIN: 't.auth0.com', M2M_CLIENT_SECRET: 'fake-secret' }, { clientId: 'code' })).toStrictEqual({ domain: 't.auth0.com', clientId: 'code', clientSecret: 'fake-secret' });
    expect(refusal(() => optionsFromEnv({ M2M_DOMAIN: 't.auth0.com', M2M_CLIENT_SECRET: 'fake-secret' }))).toStrictEqual(['M2M_CLIENT_ID', 'Invalid option `M2M_CLIENT_ID`: is not set']);
    // An environment with a secret in two places is not read when the code gives the credential.
    const twoSecrets = { M2M_DOMAIN: 't.auth0.com', M2M_CLIENT_ID: 'c', M2M_CLIENT_SECRET: 'fake-a', M2M_CLIENT_SECRET_FILE: join(dir, 'secret') };
    expect(optionsFromEnv(twoSecrets, { clientSecret: 'fake-code' })).toStrictEqual({ domain: 't.auth0.com', clientId: 'c', clientSecret: 'fake-code' });
    expect(optionsFromEnv(twoSecrets, { clientAssertion: { key: pem } })).toStrictEqual({ domain: 't.auth0.com', clientId: 'c', clientAssertion: { key: pem } });
    const tls = { cert: 'fake-cert', key: 'fake-key' };
    expect(optionsFromEnv(twoSecrets, { tls })).toStrictEqual({ domain: 't.auth0.com', clientId: 'c', tls });
    expect(refusal(() => optionsFromEnv(twoSecrets))).toStrictEqual([
      'M2M_CLIENT_SECRET',
      'Invalid option `M2M_CLIENT_SECRET`: M2M_CLIENT_SECRET and M2M_CLIENT_SECRET_FILE are both set: unset one',
    ]);
    expect(refusal(() => optionsFromEnv({ M2M_DOMAIN: 't.auth0.com', M2M_CLIENT_ID: 'c' }))[1]).toBe(
      'Invalid option `M2M_CLIENT_SECRET`: no credential: set M2M_CLIENT_SECRET, M2M_CLIENT_SECRET_FILE, M2M_PRIVATE_KEY or M2M_PRIVATE_KEY_FILE',
    );
  });

  it('a secret (inline or from a file, trimmed) and a private key together are both kept', () => {
    expect(optionsFromEnv({ ...at, M2M_PRIVATE_KEY: join(dir, 'key.pem'), M2M_PRIVATE_KEY_ID: 'k1', M2M_PRIVATE_KEY_ALG: 'ES256' })).toStrictEqual({
      domain: 't.auth0.com',
      clientId: 'c',
      clientSecret: 'fake-secret',
      clientAssertion: { key: pem, kid: 'k1', alg: 'ES256' },
    });
    expect(optionsFromEnv({ M2M_DOMAIN: 't.auth0.com', M2M_CLIENT_ID: 'c', M2M_CLIENT_SECRET_FILE: join(dir, 'secret'), M2M_PRIVATE_KEY_FILE: join(dir, 'key.pem') })).toStrictEqual({
      domain: 't.auth0.com',
      clientId: 'c',
      clientSecret: 'fake-file-secret',
      clientAssertion: { key: pem },
    });
  });

  it('a private key in two places, or a file that cannot be read, is refused naming the variable', () => {
    expect(refusal(() => optionsFromEnv({ ...at, M2M_PRIVATE_KEY: pem, M2M_PRIVATE_KEY_FILE: join(dir, 'key.pem') }))).toStrictEqual([
      'M2M_PRIVATE_KEY',
      'Invalid option `M2M_PRIVATE_KEY`: M2M_PRIVATE_KEY and M2M_PRIVATE_KEY_FILE are both set: unset one',
    ]);
    expect(refusal(() => optionsFromEnv({ ...at, M2M_PRIVATE_KEY: join(dir, 'missing.pem') }))).toStrictEqual([
      'M2M_PRIVATE_KEY',
      'Invalid option `M2M_PRIVATE_KEY`: cannot read the file it names (ENOENT)',
    ]);
    expect(refusal(() => optionsFromEnv({ ...at, M2M_PRIVATE_KEY_FILE: dir }))).toStrictEqual([
      'M2M_PRIVATE_KEY_FILE',
      'Invalid option `M2M_PRIVATE_KEY_FILE`: cannot read the file it names (EISDIR)',
    ]);
  });

  it('an unknown authentication method is refused with the list of known ones', () => {
    expect(refusal(() => optionsFromEnv({ ...at, M2M_CLIENT_AUTHENTICATION: 'basic' }))).toStrictEqual([
      'M2M_CLIENT_AUTHENTICATION',
      'Invalid option `M2M_CLIENT_AUTHENTICATION`: unknown method "basic"; one of client_secret_post, client_secret_basic, client_secret_jwt, private_key_jwt, tls_client_auth, self_signed_tls_client_auth',
    ]);
    for (const method of ['client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'tls_client_auth', 'self_signed_tls_client_auth']) {
      expect(optionsFromEnv({ ...at, M2M_CLIENT_AUTHENTICATION: method }).clientAuthentication).toBe(method);
    }
  });

  it('audience, organization and scope from the environment, each replaced by the one given in code', () => {
    const env = { ...at, M2M_AUDIENCE: 'https://env', M2M_ORGANIZATION: 'org_env', M2M_SCOPE: 'read write' };
    expect(optionsFromEnv(env)).toMatchObject({ audience: 'https://env', organization: 'org_env', scope: 'read write' });
    expect(optionsFromEnv(env, { audience: 'https://code', organization: 'org_code', scope: ['a'] })).toMatchObject({ audience: 'https://code', organization: 'org_code', scope: ['a'] });
  });
});

describe('DPoP', () => {
  it('M2M_DPOP takes true, false, 1 and 0 in any case', () => {
    expect(optionsFromEnv({ ...at, M2M_DPOP: 'TRUE' }).dpop).toBe(true);
    expect(optionsFromEnv({ ...at, M2M_DPOP: '1' }).dpop).toBe(true);
    expect(optionsFromEnv({ ...at, M2M_DPOP: 'False' })).not.toHaveProperty('dpop');
    expect(optionsFromEnv({ ...at, M2M_DPOP: '0' })).not.toHaveProperty('dpop');
    expect(refusal(() => optionsFromEnv({ ...at, M2M_DPOP: '2' }))).toStrictEqual(['M2M_DPOP', 'Invalid option `M2M_DPOP`: must be true or false, got "2"']);
  });

  it('a key with M2M_DPOP on is used; M2M_DPOP off with a key file, or an alg without DPoP, is refused', () => {
    expect(optionsFromEnv({ ...at, M2M_DPOP: 'true', M2M_DPOP_KEY: pem }).dpop).toStrictEqual({ key: pem.trim() });
    expect(optionsFromEnv({ ...at, M2M_DPOP: 'true', M2M_DPOP_ALG: 'EdDSA' }).dpop).toStrictEqual({ alg: 'EdDSA' });
    expect(optionsFromEnv({ ...at, M2M_DPOP: '1', M2M_DPOP_KEY_FILE: join(dir, 'key.pem'), M2M_DPOP_ALG: 'ES256' }).dpop).toStrictEqual({ key: pem, alg: 'ES256' });
    expect(refusal(() => optionsFromEnv({ ...at, M2M_DPOP: '0', M2M_DPOP_KEY_FILE: join(dir, 'key.pem') }))).toStrictEqual([
      'M2M_DPOP',
      'Invalid option `M2M_DPOP`: is false but M2M_DPOP_KEY or M2M_DPOP_KEY_FILE is set: unset one',
    ]);
    expect(refusal(() => optionsFromEnv({ ...at, M2M_DPOP: 'false', M2M_DPOP_ALG: 'ES256' }))).toStrictEqual([
      'M2M_DPOP_ALG',
      'Invalid option `M2M_DPOP_ALG`: is set without DPoP: set M2M_DPOP_KEY (or M2M_DPOP=true) too',
    ]);
  });

  it('fromEnv passes the environment and the overrides to the client', () => {
    const client = TokenClient.fromEnv({ ...at, M2M_AUDIENCE: 'https://env' }, { organization: 'org_code' });
    expect(client.toJSON()).toMatchObject({ tokenEndpoint: 'https://t.auth0.com/oauth/token', clientId: 'c', audience: 'https://env', organization: 'org_code' });
    void client.close();
  });
});
