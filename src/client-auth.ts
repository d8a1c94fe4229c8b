import type { JsonWebKeyInput, KeyObject } from 'node:crypto';
import type { JWK } from 'jose';

// node:crypto is loaded only by the methods that sign: it adds to import time for everyone else.
const crypto = () => process.getBuiltinModule('node:crypto');
import { ConfigurationError } from './errors.js';

/** How the client proves its identity to the token endpoint. */
export type ClientAuthentication =
  | 'client_secret_post'
  | 'client_secret_basic'
  | 'client_secret_jwt'
  | 'private_key_jwt'
  | 'tls_client_auth'
  | 'self_signed_tls_client_auth';

export const CLIENT_AUTHENTICATIONS: readonly ClientAuthentication[] = [
  'client_secret_post', 'client_secret_basic', 'client_secret_jwt', 'private_key_jwt', 'tls_client_auth', 'self_signed_tls_client_auth',
];

/** Signing key for `private_key_jwt` (RFC 7523 §2.2). */
export interface ClientAssertionOptions {
  /**
   * Private key: a PEM string (PKCS#8, PKCS#1 or SEC1), a private JWK (typed with jose's `JWK`; node's
   * `keyObject.export({ format: 'jwk' })` fits), or a `KeyObject`.
   */
  key: string | JWK | KeyObject;
  /** `kid` header, when the server registered several keys. Default: the JWK's `kid`, else none. */
  kid?: string | undefined;
  /** `RS256` (default for RSA), `PS256`, `ES256` (default for P-256), `EdDSA` (default for Ed25519), … */
  alg?: string | undefined;
  /**
   * The assertion's `aud`. Default: the server's issuer identifier (from discovery, or `https://{domain}/`
   * for Auth0), else the token endpoint URL.
   */
  audience?: string | undefined;
}

/** Credentials as validated at construction. */
export interface Credentials {
  clientId: string;
  clientSecret: string | undefined;
  assertion: { key: KeyObject; alg: string; kid: string | undefined; audience: string | undefined } | undefined;
  tls: boolean;
}

/** What one method adds to a token request: headers and form fields. */
export interface ClientAuthParts {
  authorization?: string;
  form: [name: string, value: string][];
  /** Every form in which these parts carry a secret, for redaction wherever the request may be echoed. */
  secrets: string[];
}

// Strongest first: when the server's metadata allows several, the first one these credentials allow wins.
const PREFERENCE: readonly ClientAuthentication[] = [
  'private_key_jwt', 'tls_client_auth', 'self_signed_tls_client_auth', 'client_secret_basic', 'client_secret_post', 'client_secret_jwt',
];
const SECRET_METHODS = new Set<ClientAuthentication>(['client_secret_post', 'client_secret_basic', 'client_secret_jwt']);
const TLS_METHODS = new Set<ClientAuthentication>(['tls_client_auth', 'self_signed_tls_client_auth']);

/** The methods these credentials make possible, strongest first. */
export function methodsAllowedBy(credentials: Credentials): ClientAuthentication[] {
  return PREFERENCE.filter((method) => canUse(method, credentials));
}

function canUse(method: ClientAuthentication, credentials: Credentials): boolean {
  if (method === 'private_key_jwt') return credentials.assertion !== undefined;
  if (TLS_METHODS.has(method)) return credentials.tls;
  return credentials.clientSecret !== undefined;
}

export function isTlsMethod(method: ClientAuthentication): boolean {
  return TLS_METHODS.has(method);
}

/** Checks that an explicitly chosen method has what it needs. */
export function checkMethod(method: unknown, credentials: Credentials): ClientAuthentication {
  if (!CLIENT_AUTHENTICATIONS.includes(method as ClientAuthentication)) {
    throw new ConfigurationError('clientAuthentication', `got ${JSON.stringify(method)}; expected one of ${CLIENT_AUTHENTICATIONS.join(', ')}`);
  }
  const m = method as ClientAuthentication;
  if (SECRET_METHODS.has(m) && credentials.clientSecret === undefined) {
    throw new ConfigurationError('clientSecret', `required by clientAuthentication '${m}'`);
  }
  if (m === 'private_key_jwt' && credentials.assertion === undefined) {
    throw new ConfigurationError('clientAssertion', "required by clientAuthentication 'private_key_jwt': give { key } with the private key");
  }
  if (TLS_METHODS.has(m) && !credentials.tls) {
    throw new ConfigurationError('tls', `required by clientAuthentication '${m}': give { cert, key } of the client certificate`);
  }
  return m;
}

/**
 * The method to use without an explicit choice: the strongest these credentials allow that the server lists
 * (RFC 8414 `token_endpoint_auth_methods_supported`, whose default is `client_secret_basic`). Without server
 * metadata, `client_secret_post` (what Auth0 documents) when there is a secret.
 */
export function chooseMethod(credentials: Credentials, supported: readonly string[] | undefined): ClientAuthentication {
  const allowed = methodsAllowedBy(credentials);
  if (supported === undefined) {
    return credentials.clientSecret !== undefined && credentials.assertion === undefined && !credentials.tls
      ? 'client_secret_post'
      : allowed[0]!;
  }
  const match = allowed.find((method) => supported.includes(method));
  if (match === undefined) {
    throw new ConfigurationError(
      'clientAuthentication',
      `the server supports ${supported.join(', ') || 'no method'} but the credentials given allow only ${allowed.join(', ')}; give credentials for one the server supports`,
    );
  }
  return match;
}

/** Reads and checks the private key once, at construction, so a bad key fails before any request. */
export function resolveAssertionKey(options: unknown): Credentials['assertion'] {
  if (options === undefined) return undefined;
  if (options === null || typeof options !== 'object' || !('key' in options)) {
    throw new ConfigurationError('clientAssertion', 'must be { key, kid?, alg?, audience? }');
  }
  const { key, kid, alg, audience } = options as ClientAssertionOptions;
  for (const name of Object.keys(options)) {
    if (!['key', 'kid', 'alg', 'audience'].includes(name)) {
      throw new ConfigurationError(`clientAssertion.${name}`, 'unknown option; clientAssertion takes key, kid, alg, audience');
    }
  }
  const keyObject = readPrivateKey(key);
  const chosen = alg ?? defaultAlg(keyObject);
  checkAlg(keyObject, chosen);
  const jwkKid = typeof key === 'object' && !isKeyObject(key) ? (key as { kid?: unknown }).kid : undefined;
  if (kid !== undefined && (typeof kid !== 'string' || kid === '')) throw new ConfigurationError('clientAssertion.kid', 'must be a non-empty string');
  if (audience !== undefined && (typeof audience !== 'string' || audience === '')) {
    throw new ConfigurationError('clientAssertion.audience', 'must be a non-empty string');
  }
  return { key: keyObject, alg: chosen, kid: kid ?? (typeof jwkKid === 'string' ? jwkKid : undefined), audience };
}

function isKeyObject(value: unknown): value is KeyObject {
  return typeof value === 'object' && value !== null && (value as KeyObject).type !== undefined && typeof (value as KeyObject).export === 'function';
}

function readPrivateKey(key: unknown): KeyObject {
  if (isKeyObject(key)) {
    if (key.type !== 'private') throw new ConfigurationError('clientAssertion.key', `is a ${key.type} key; a private key is needed to sign`);
    return key;
  }
  try {
    if (typeof key === 'string') return crypto().createPrivateKey(key);
    if (key !== null && typeof key === 'object') return crypto().createPrivateKey({ key: key as JsonWebKeyInput['key'], format: 'jwk' });
  } catch (error) {
    // The reason only, never the input: it is key material.
    const code = (error as { code?: unknown }).code;
    throw new ConfigurationError(
      'clientAssertion.key',
      `could not be read as a private key (${typeof code === 'string' ? code : 'unreadable'}); give a PEM private key (PKCS#8, PKCS#1 or SEC1), a private JWK or a KeyObject`,
    );
  }
  throw new ConfigurationError('clientAssertion.key', 'must be a PEM string, a private JWK or a KeyObject');
}

function defaultAlg(key: KeyObject): string {
  const type = key.asymmetricKeyType;
  if (type === 'rsa') return 'RS256';
  if (type === 'rsa-pss') return 'PS256';
  if (type === 'ed25519') return 'EdDSA';
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return 'ES256';
    if (curve === 'secp384r1') return 'ES384';
    if (curve === 'secp521r1') return 'ES512';
  }
  throw new ConfigurationError('clientAssertion.key', `has an unsupported key type (${type ?? 'unknown'}); use RSA, EC P-256/384/521 or Ed25519`);
}

function checkAlg(key: KeyObject, alg: string): void {
  const type = key.asymmetricKeyType;
  const fits =
    (/^RS(256|384|512)$/.test(alg) && type === 'rsa') ||
    (/^PS(256|384|512)$/.test(alg) && (type === 'rsa' || type === 'rsa-pss')) ||
    (/^ES(256|384|512)$/.test(alg) && type === 'ec' && defaultAlg(key) === alg) ||
    ((alg === 'EdDSA' || alg === 'Ed25519') && type === 'ed25519');
  if (!fits) {
    throw new ConfigurationError('clientAssertion.alg', `${JSON.stringify(alg)} does not fit a ${type ?? 'unknown'} key`);
  }
}

/** Lifetime of a client assertion: short, as RFC 7523 advises, and well under the 5-minute ceiling. */
const ASSERTION_LIFETIME_SECONDS = 120;

/**
 * Headers and form fields that authenticate one request. JWT assertions are signed here, per attempt, with a
 * fresh `jti` (servers reject a replayed one). jose is loaded on first use, so the core import stays light.
 */
export async function authenticate(method: ClientAuthentication, credentials: Credentials, audience: string): Promise<ClientAuthParts> {
  const fixed = fixedAuthParts(method, credentials);
  if (fixed) return fixed;
  const { clientId, clientSecret = '' } = credentials;
  switch (method) {
    case 'client_secret_jwt':
    case 'private_key_jwt': {
      const { SignJWT } = await import('jose');
      const asymmetric = method === 'private_key_jwt' ? credentials.assertion! : undefined;
      // Real time, not the injected clock: the server checks iat and exp against its own.
      const now = Math.floor(Date.now() / 1000);
      const jwt = new SignJWT({ jti: crypto().randomUUID() })
        .setProtectedHeader({ alg: asymmetric?.alg ?? 'HS256', typ: 'JWT', ...(asymmetric?.kid ? { kid: asymmetric.kid } : {}) })
        .setIssuer(clientId)
        .setSubject(clientId)
        .setAudience(asymmetric?.audience ?? audience)
        .setIssuedAt(now)
        .setExpirationTime(now + ASSERTION_LIFETIME_SECONDS);
      const assertion = await jwt.sign(asymmetric ? asymmetric.key : new TextEncoder().encode(clientSecret));
      return {
        form: [
          ['client_id', clientId],
          ['client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'],
          ['client_assertion', assertion],
        ],
        secrets: [assertion, ...secretForms(clientSecret)],
      };
    }
    default:
      throw new Error(`unreachable: ${method}`);
  }
}

/** The parts of a method that are the same on every request (all but the JWT ones), or undefined. */
export function fixedAuthParts(method: ClientAuthentication, credentials: Credentials): ClientAuthParts | undefined {
  const { clientId, clientSecret = '' } = credentials;
  switch (method) {
    case 'client_secret_basic': {
      const authorization = basicAuthorization(clientId, clientSecret);
      return { authorization, form: [], secrets: [authorization.slice('Basic '.length), ...secretForms(clientSecret)] };
    }
    case 'client_secret_post':
      return { form: [['client_id', clientId], ['client_secret', clientSecret]], secrets: secretForms(clientSecret) };
    case 'tls_client_auth':
    case 'self_signed_tls_client_auth':
      return { form: [['client_id', clientId]], secrets: [] };
    default:
      return undefined;
  }
}

/**
 * HTTP Basic credentials per RFC 6749 §2.3.1: id and secret are each form-urlencoded before base64, so that
 * `:`, `+`, `%`, spaces and non-ASCII characters survive. Many clients skip that step.
 */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString('base64')}`;
}

/** The secret as given and as it appears in a form body or a URL. */
function secretForms(secret: string): string[] {
  return secret === '' ? [] : [...new Set([secret, formEncode(secret), encodeURIComponent(secret)])];
}

function formEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}
