// Configuration from the environment, shared by `TokenClient.fromEnv()` and the `m2m-token` command line.
// Small and dependency-free (node:fs only, loaded when a file is read), so the CLI can use it before it loads
// the rest of the package.
import { ConfigurationError } from './errors.js';
import type { ClientAuthentication } from './client-auth.js';
import type { ClientCredentialFields, TokenClientBaseOptions, TokenClientOptions, TokenEndpointFields } from './options.js';

/** The environment variables `TokenClient.fromEnv()` and the CLI read, and what each holds. */
export const ENV_NAMES = {
  M2M_TOKEN_ENDPOINT: 'Token endpoint URL (`tokenEndpoint`).',
  M2M_ISSUER: 'Issuer URL; the token endpoint comes from its discovery metadata (`issuer`).',
  M2M_DOMAIN: 'Auth0 tenant domain, e.g. `tenant.eu.auth0.com` (`domain`).',
  AUTH0_DOMAIN: 'Same as `M2M_DOMAIN` (the name Auth0 quickstarts use).',
  M2M_CLIENT_ID: 'Client id (`clientId`).',
  M2M_CLIENT_SECRET: 'Client secret (`clientSecret`).',
  M2M_CLIENT_SECRET_FILE: 'Path of a file holding the client secret.',
  M2M_PRIVATE_KEY: 'Private key for `private_key_jwt`: a PEM, or the path of a PEM file.',
  M2M_PRIVATE_KEY_FILE: 'Path of a PEM file holding the private key.',
  M2M_PRIVATE_KEY_ID: 'The `kid` of the private key, when the server has several.',
  M2M_PRIVATE_KEY_ALG: 'Signing algorithm of the client assertion (`RS256`, `PS256`, `ES256`, `EdDSA`, …).',
  M2M_CLIENT_AUTHENTICATION: 'Client authentication method, e.g. `client_secret_basic` (default: chosen).',
  M2M_AUDIENCE: 'Audience (Auth0 API identifier) (`audience`).',
  M2M_ORGANIZATION: 'Auth0 organization id or name (`organization`).',
  M2M_SCOPE: 'Space-separated scopes (`scope`).',
} as const;

/** The environment variables `TokenClient.fromEnv()` reads. */
export type EnvName = keyof typeof ENV_NAMES;

/** An environment: `process.env` or any record of strings. */
export type EnvRecord = Readonly<Record<string, string | undefined>>;

/** Options given in code, over what the environment says. */
export type EnvOverrides = Partial<TokenClientBaseOptions> & TokenEndpointFields & ClientCredentialFields;

const METHODS: readonly string[] = [
  'client_secret_post', 'client_secret_basic', 'client_secret_jwt', 'private_key_jwt', 'tls_client_auth', 'self_signed_tls_client_auth',
];

function value(env: EnvRecord, name: string): string | undefined {
  const v = env[name];
  if (v === undefined) return undefined;
  const trimmed = v.trim();
  return trimmed === '' ? undefined : trimmed;
}

function readFile(path: string, name: string): string {
  try {
    return process.getBuiltinModule('node:fs').readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigurationError(name, `cannot read the file it names (${code})`);
  }
}

/** A PEM given inline, or the path of a file holding one. */
function pemOrPath(v: string, name: string): string {
  return v.includes('-----BEGIN ') ? v.replace(/\\n/g, '\n') : readFile(v, name);
}

/**
 * `TokenClientOptions` from the environment (see `ENV_NAMES`), with `overrides` over them. Throws a
 * `ConfigurationError` (`M2M_INVALID_OPTION`) naming the variable when the environment is inconsistent: two
 * endpoints, two different domains, a secret in two places, an unknown authentication method.
 */
export function optionsFromEnv(env: EnvRecord = process.env, overrides: EnvOverrides = {}): TokenClientOptions {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) as EnvOverrides;

  let endpoint: TokenEndpointFields = {};
  if (defined.domain === undefined && defined.tokenEndpoint === undefined && defined.issuer === undefined) {
    const m2mDomain = value(env, 'M2M_DOMAIN');
    const auth0Domain = value(env, 'AUTH0_DOMAIN');
    if (m2mDomain !== undefined && auth0Domain !== undefined && m2mDomain !== auth0Domain) {
      throw new ConfigurationError('M2M_DOMAIN', 'M2M_DOMAIN and AUTH0_DOMAIN are both set, to different domains: unset one');
    }
    const found: [string, TokenEndpointFields][] = [];
    const tokenEndpoint = value(env, 'M2M_TOKEN_ENDPOINT');
    const issuer = value(env, 'M2M_ISSUER');
    const domain = m2mDomain ?? auth0Domain;
    if (tokenEndpoint !== undefined) found.push(['M2M_TOKEN_ENDPOINT', { tokenEndpoint }]);
    if (issuer !== undefined) found.push(['M2M_ISSUER', { issuer }]);
    if (domain !== undefined) found.push([m2mDomain !== undefined ? 'M2M_DOMAIN' : 'AUTH0_DOMAIN', { domain }]);
    if (found.length > 1) {
      throw new ConfigurationError(found[0]![0], `set only one of ${found.map(([n]) => n).join(', ')}`);
    }
    if (found.length === 0) {
      throw new ConfigurationError('M2M_DOMAIN', 'no token endpoint: set M2M_DOMAIN (or AUTH0_DOMAIN), M2M_ISSUER or M2M_TOKEN_ENDPOINT');
    }
    endpoint = found[0]![1];
  }

  const clientId = value(env, 'M2M_CLIENT_ID');
  if (defined.clientId === undefined && clientId === undefined) throw new ConfigurationError('M2M_CLIENT_ID', 'is not set');

  const credentials: ClientCredentialFields = {};
  if (defined.clientSecret === undefined && defined.clientAssertion === undefined && defined.tls === undefined) {
    const secret = value(env, 'M2M_CLIENT_SECRET');
    const secretFile = value(env, 'M2M_CLIENT_SECRET_FILE');
    if (secret !== undefined && secretFile !== undefined) {
      throw new ConfigurationError('M2M_CLIENT_SECRET', 'M2M_CLIENT_SECRET and M2M_CLIENT_SECRET_FILE are both set: unset one');
    }
    const key = value(env, 'M2M_PRIVATE_KEY');
    const keyFile = value(env, 'M2M_PRIVATE_KEY_FILE');
    if (key !== undefined && keyFile !== undefined) {
      throw new ConfigurationError('M2M_PRIVATE_KEY', 'M2M_PRIVATE_KEY and M2M_PRIVATE_KEY_FILE are both set: unset one');
    }
    if (secret !== undefined) credentials.clientSecret = secret;
    else if (secretFile !== undefined) credentials.clientSecret = readFile(secretFile, 'M2M_CLIENT_SECRET_FILE').trim();
    const pem = key !== undefined ? pemOrPath(key, 'M2M_PRIVATE_KEY') : keyFile !== undefined ? readFile(keyFile, 'M2M_PRIVATE_KEY_FILE') : undefined;
    if (pem !== undefined) {
      const kid = value(env, 'M2M_PRIVATE_KEY_ID');
      const alg = value(env, 'M2M_PRIVATE_KEY_ALG');
      credentials.clientAssertion = { key: pem, ...(kid === undefined ? {} : { kid }), ...(alg === undefined ? {} : { alg }) };
    }
    if (credentials.clientSecret === undefined && credentials.clientAssertion === undefined) {
      throw new ConfigurationError('M2M_CLIENT_SECRET', 'no credential: set M2M_CLIENT_SECRET, M2M_CLIENT_SECRET_FILE, M2M_PRIVATE_KEY or M2M_PRIVATE_KEY_FILE');
    }
  }

  const method = value(env, 'M2M_CLIENT_AUTHENTICATION');
  if (method !== undefined && !METHODS.includes(method)) {
    throw new ConfigurationError('M2M_CLIENT_AUTHENTICATION', `unknown method ${JSON.stringify(method)}; one of ${METHODS.join(', ')}`);
  }
  const audience = value(env, 'M2M_AUDIENCE');
  const organization = value(env, 'M2M_ORGANIZATION');
  const scope = value(env, 'M2M_SCOPE');
  return {
    ...endpoint,
    ...(clientId === undefined ? {} : { clientId }),
    ...credentials,
    ...(method === undefined ? {} : { clientAuthentication: method as ClientAuthentication }),
    ...(audience === undefined ? {} : { audience }),
    ...(organization === undefined ? {} : { organization }),
    ...(scope === undefined ? {} : { scope }),
    ...defined,
  } as TokenClientOptions;
}
