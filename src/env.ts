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
  M2M_DPOP: '`true` for DPoP tokens bound to a key generated in memory (`dpop: true`): one process only; a fleet sets M2M_DPOP_KEY.',
  M2M_DPOP_KEY: 'DPoP private key: a PEM, or the path of a PEM file (`dpop.key`).',
  M2M_DPOP_KEY_FILE: 'Path of a PEM file holding the DPoP private key.',
  M2M_DPOP_ALG: 'DPoP proof algorithm, e.g. `ES256` (`dpop.alg`; default: the key\'s).',
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

/**
 * The PEM in `name` (inline, or the path of a file holding one) or in the file `${name}_FILE` names; undefined
 * when neither is set, refused when both are.
 */
function pemFromEnv(env: EnvRecord, name: string): string | undefined {
  const inline = value(env, name);
  const file = value(env, `${name}_FILE`);
  if (inline !== undefined && file !== undefined) throw new ConfigurationError(name, `${name} and ${name}_FILE are both set: unset one`);
  if (file !== undefined) return readFile(file, `${name}_FILE`);
  if (inline === undefined) return undefined;
  return inline.includes('-----BEGIN ') ? inline.replace(/\\n/g, '\n') : readFile(inline, name);
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
    const pem = pemFromEnv(env, 'M2M_PRIVATE_KEY');
    if (secret !== undefined) credentials.clientSecret = secret;
    else if (secretFile !== undefined) credentials.clientSecret = readFile(secretFile, 'M2M_CLIENT_SECRET_FILE').trim();
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
  const dpop = defined.dpop === undefined ? dpopFromEnv(env) : undefined;
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
    ...(dpop === undefined ? {} : { dpop }),
    ...defined,
  } as TokenClientOptions;
}

/** The `dpop` option from M2M_DPOP, M2M_DPOP_KEY(_FILE) and M2M_DPOP_ALG; undefined when none is set. */
function dpopFromEnv(env: EnvRecord): true | { key?: string; alg?: string } | undefined {
  const flag = value(env, 'M2M_DPOP');
  const alg = value(env, 'M2M_DPOP_ALG');
  if (flag !== undefined && !['true', 'false', '1', '0'].includes(flag.toLowerCase())) {
    throw new ConfigurationError('M2M_DPOP', `must be true or false, got ${JSON.stringify(flag)}`);
  }
  const on = flag !== undefined && (flag.toLowerCase() === 'true' || flag === '1');
  if (flag !== undefined && !on && (value(env, 'M2M_DPOP_KEY') !== undefined || value(env, 'M2M_DPOP_KEY_FILE') !== undefined)) {
    throw new ConfigurationError('M2M_DPOP', 'is false but M2M_DPOP_KEY or M2M_DPOP_KEY_FILE is set: unset one');
  }
  const pem = pemFromEnv(env, 'M2M_DPOP_KEY');
  if (pem === undefined && !on) {
    if (alg !== undefined) throw new ConfigurationError('M2M_DPOP_ALG', 'is set without DPoP: set M2M_DPOP_KEY (or M2M_DPOP=true) too');
    return undefined;
  }
  if (pem === undefined && alg === undefined) return true;
  return { ...(pem === undefined ? {} : { key: pem }), ...(alg === undefined ? {} : { alg }) };
}
