import type { JsonWebKeyInput, KeyObject } from 'node:crypto';
import type { JWK } from 'jose';

// node:crypto is loaded only by the methods that sign: it adds to import time for everyone else.
const crypto = () => process.getBuiltinModule('node:crypto');
import { ConfigurationError, ErrorCode, TokenClientError } from './errors.js';

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

/**
 * Where a client assertion's `aud` points: `'issuer'` (the default: the server's issuer identifier from discovery,
 * `https://{domain}/` for Auth0, the token endpoint URL when only `tokenEndpoint` is known), `'token_endpoint'`
 * (the URL the request goes to, what Okta and Microsoft Entra ID require), or any other string, sent as is.
 */
export type AssertionAudience = 'issuer' | 'token_endpoint' | (string & {});

/** The claims the client would sign (RFC 7523 §3), given to a `clientAssertion` function to sign elsewhere. */
export interface ClientAssertionClaims {
  /** The client id. */
  iss: string;
  /** The client id. */
  sub: string;
  /** The audience the `audience` option resolved to for this request. */
  aud: string;
  /** A fresh random id for every HTTP attempt: servers refuse a replayed one. */
  jti: string;
  /** Now, in epoch seconds. */
  iat: number;
  /** Two minutes after `iat`, in epoch seconds. */
  exp: number;
}

/**
 * Signs the claims elsewhere (a KMS, an HSM, a signing service) and returns the compact JWT, or a promise of it.
 * Called for every HTTP attempt, with a fresh `jti`.
 */
export type ClientAssertionSigner = (claims: ClientAssertionClaims) => string | PromiseLike<string>;

/** `private_key_jwt` (RFC 7523 §2.2) with a private key held by this process; jose signs. */
export interface ClientAssertionKeyOptions {
  /**
   * Private key: a PEM string (PKCS#8, PKCS#1 or SEC1), a private JWK (typed with jose's `JWK`; node's
   * `keyObject.export({ format: 'jwk' })` fits), or a `KeyObject`.
   */
  key: string | JWK | KeyObject;
  /** `kid` header, when the server registered several keys. Default: the JWK's `kid`, else none. */
  kid?: string | undefined;
  /** `RS256` (default for RSA), `PS256`, `ES256` (default for P-256), `EdDSA` (default for Ed25519), … */
  alg?: string | undefined;
  /** The assertion's `aud`: `'issuer'` (default), `'token_endpoint'` or a literal string. */
  audience?: AssertionAudience | undefined;
}

/** The `aud` of the HS256 assertion of `client_secret_jwt`, which signs with `clientSecret`: no key. */
export interface ClientAssertionAudienceOptions {
  /** The assertion's `aud`: `'issuer'` (default), `'token_endpoint'` or a literal string. */
  audience: AssertionAudience;
}

/** `private_key_jwt` signed outside the process: `sign` gets the claims and returns the signed JWT. */
export interface ClientAssertionSignerOptions {
  /** Gets the claims and returns the signed compact JWT (or a promise of it). */
  sign: ClientAssertionSigner;
  /** The `aud` given to `sign`: `'issuer'` (default), `'token_endpoint'` or a literal string. */
  audience?: AssertionAudience | undefined;
}

/**
 * `private_key_jwt` with a JWT someone else issues into a file (workload identity: a Kubernetes projected
 * service-account token, a cloud's federated token file). Read on every token request, never cached; its own
 * claims (`aud`, `iss`, `sub`, `exp`) are sent as they are.
 */
export interface ClientAssertionFileOptions {
  /** Path of the file holding the compact JWT (surrounding whitespace is ignored). */
  file: string;
}

/**
 * The client assertion (RFC 7523): a key to sign with (`private_key_jwt`), only the `audience` of the
 * `client_secret_jwt` assertion, a function (or `{ sign, audience }`) that signs elsewhere, or `{ file }`.
 */
export type ClientAssertionOptions =
  | ClientAssertionKeyOptions
  | ClientAssertionAudienceOptions
  | ClientAssertionSignerOptions
  | ClientAssertionFileOptions
  | ClientAssertionSigner;

/** How client_secret_basic puts id and secret in the header: form-urlencoded first (RFC 6749 §2.3.1), or as they are. */
export type BasicCredentialEncoding = 'form-urlencoded' | 'raw';

/** Where client assertions come from, as validated at construction. */
export type AssertionSource =
  | { kind: 'key'; key: KeyObject; alg: string; kid: string | undefined; audience: AssertionAudience }
  | { kind: 'sign'; sign: ClientAssertionSigner; audience: AssertionAudience }
  | { kind: 'file'; path: string; lastAudience?: string | undefined }
  /** `{ audience }` only: the `aud` of client_secret_jwt's HS256 assertion. */
  | { kind: 'audience'; audience: AssertionAudience };

/** Credentials as validated at construction. */
export interface Credentials {
  clientId: string;
  clientSecret: string | undefined;
  assertion: AssertionSource | undefined;
  tls: boolean;
  /** client_secret_basic only. @default 'form-urlencoded' */
  basicEncoding?: BasicCredentialEncoding | undefined;
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
  const { assertion } = credentials;
  if (method === 'private_key_jwt') return assertion !== undefined && assertion.kind !== 'audience';
  if (TLS_METHODS.has(method)) return credentials.tls;
  if (credentials.clientSecret === undefined) return false;
  // `clientAssertion: { audience }` configures the client_secret_jwt assertion: the other secret methods send none.
  return assertion?.kind !== 'audience' || method === 'client_secret_jwt';
}

export function isTlsMethod(method: ClientAuthentication): boolean {
  return TLS_METHODS.has(method);
}

/** Checks that an explicitly chosen method has what it needs, and that no option given for another method is lost. */
export function checkMethod(method: unknown, credentials: Credentials): ClientAuthentication {
  if (!CLIENT_AUTHENTICATIONS.includes(method as ClientAuthentication)) {
    throw new ConfigurationError('clientAuthentication', `got ${JSON.stringify(method)}; expected one of ${CLIENT_AUTHENTICATIONS.join(', ')}`);
  }
  const m = method as ClientAuthentication;
  const { assertion } = credentials;
  if (SECRET_METHODS.has(m) && credentials.clientSecret === undefined) {
    throw new ConfigurationError('clientSecret', `required by clientAuthentication '${m}'`);
  }
  if (m === 'private_key_jwt' && (assertion === undefined || assertion.kind === 'audience')) {
    throw new ConfigurationError(
      'clientAssertion',
      "required by clientAuthentication 'private_key_jwt': give { key } with the private key, a function that signs (or { sign }), or { file }",
    );
  }
  if (m === 'client_secret_jwt' && (assertion?.kind === 'sign' || assertion?.kind === 'file')) {
    throw new ConfigurationError(
      'clientAssertion',
      `a ${assertion.kind === 'sign' ? 'signing function' : 'file'} is sent as private_key_jwt, but clientAuthentication is 'client_secret_jwt', which signs with clientSecret; to set the aud of that assertion give clientAssertion: { audience }`,
    );
  }
  if ((m === 'client_secret_basic' || m === 'client_secret_post') && assertion?.kind === 'audience') {
    throw new ConfigurationError(
      'clientAssertion',
      `{ audience } sets the aud of a client assertion, and clientAuthentication '${m}' sends none; use 'client_secret_jwt', or leave clientAssertion out`,
    );
  }
  if (credentials.basicEncoding === 'raw' && m !== 'client_secret_basic') {
    throw new ConfigurationError('basicCredentialEncoding', `applies only to client_secret_basic, and clientAuthentication is '${m}'`);
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
      `the server supports ${listed(supported) || 'no method'} but the credentials given allow only ${allowed.join(', ')}; give credentials for one the server supports`,
    );
  }
  return match;
}

const KEY_OPTIONS = ['key', 'kid', 'alg', 'audience'];
const ASSERTION_SHAPES =
  'must be { key, kid?, alg?, audience? } (private_key_jwt), { audience } (client_secret_jwt), a function that signs (or { sign, audience? }), or { file }';

/**
 * Reads and checks `clientAssertion` once, at construction, so a bad key fails before any request: a private key
 * (read and matched with its alg), only an audience (then `clientSecret` must be given), a signing function, or a
 * file path (read on each request, not now: it may be written later, and it changes).
 */
export function resolveAssertionKey(options: unknown, clientSecret?: string): AssertionSource {
  if (typeof options === 'function') return { kind: 'sign', sign: options as ClientAssertionSigner, audience: 'issuer' };
  if (options === null || typeof options !== 'object') throw new ConfigurationError('clientAssertion', ASSERTION_SHAPES);
  const given = ['key', 'sign', 'file'].filter((name) => name in options);
  if (given.length > 1) throw new ConfigurationError('clientAssertion', `give one of key, sign and file, not ${given.join(' and ')}`);
  const allowed = given[0] === 'sign' ? ['sign', 'audience'] : given[0] === 'file' ? ['file'] : given[0] === 'key' ? KEY_OPTIONS : ['audience'];
  for (const name of Object.keys(options)) {
    if (!allowed.includes(name)) {
      const why = given[0] === 'file' && name === 'audience'
        ? "a JWT from a file is sent as it is: its aud is set where it is issued"
        : `clientAssertion ${given[0] ? `with ${given[0]} ` : ''}takes ${allowed.join(', ')}`;
      throw new ConfigurationError(`clientAssertion.${name}`, `unknown option here; ${why}`);
    }
  }
  const fields = options as Record<string, unknown>;
  if (given[0] === 'file') {
    if (typeof fields.file !== 'string' || fields.file.trim() === '') throw new ConfigurationError('clientAssertion.file', 'must be the path of the file that holds the JWT');
    return { kind: 'file', path: fields.file };
  }
  const audience = resolveAudience(fields.audience);
  if (given[0] === 'sign') {
    if (typeof fields.sign !== 'function') throw new ConfigurationError('clientAssertion.sign', 'must be a function that returns the signed JWT (or a promise of it)');
    return { kind: 'sign', sign: fields.sign as ClientAssertionSigner, audience };
  }
  if (given[0] === undefined) {
    if (fields.audience === undefined) throw new ConfigurationError('clientAssertion', ASSERTION_SHAPES);
    if (clientSecret === undefined) {
      throw new ConfigurationError(
        'clientAssertion',
        '{ audience } alone is for client_secret_jwt, which signs with clientSecret: give clientSecret too, or key, sign or file for private_key_jwt',
      );
    }
    return { kind: 'audience', audience };
  }
  const { key, kid, alg } = fields;
  const keyObject = readPrivateKey(key);
  if (alg !== undefined && typeof alg !== 'string') throw new ConfigurationError('clientAssertion.alg', 'must be a string such as RS256, PS256, ES256 or EdDSA');
  const chosen = alg ?? defaultAlg(keyObject);
  checkAlg(keyObject, chosen);
  const jwkKid = typeof key === 'object' && !isKeyObject(key) ? (key as { kid?: unknown }).kid : undefined;
  if (kid !== undefined && (typeof kid !== 'string' || kid === '')) throw new ConfigurationError('clientAssertion.kid', 'must be a non-empty string');
  return { kind: 'key', key: keyObject, alg: chosen, kid: kid ?? (typeof jwkKid === 'string' ? jwkKid : undefined), audience };
}

/** `'issuer'`, `'token_endpoint'`, or a literal audience; near-misses of the keywords are refused, not sent literally. */
function resolveAudience(value: unknown): AssertionAudience {
  if (value === undefined) return 'issuer';
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigurationError('clientAssertion.audience', "must be 'issuer', 'token_endpoint' or the literal audience (a non-empty string)");
  }
  if (value !== 'issuer' && value !== 'token_endpoint' && /^\s*(issuer|token[\s_-]*endpoint(_url)?)\s*$/i.test(value)) {
    throw new ConfigurationError('clientAssertion.audience', `got ${JSON.stringify(value)}; the keywords are 'issuer' and 'token_endpoint' (any other string is sent literally)`);
  }
  return value;
}

/** Validates `basicCredentialEncoding` against the credentials it applies to. */
export function resolveBasicEncoding(value: unknown, clientId: string, clientSecret: string | undefined): BasicCredentialEncoding {
  if (value !== 'form-urlencoded' && value !== 'raw') {
    throw new ConfigurationError('basicCredentialEncoding', `got ${JSON.stringify(value)}; expected 'form-urlencoded' (RFC 6749 §2.3.1, the default) or 'raw'`);
  }
  if (clientSecret === undefined) throw new ConfigurationError('basicCredentialEncoding', 'applies only to client_secret_basic, which needs clientSecret');
  if (value === 'raw' && clientId.includes(':')) {
    throw new ConfigurationError('basicCredentialEncoding', "'raw' cannot send a clientId that contains ':' (Basic credentials split at the first colon); use 'form-urlencoded'");
  }
  return value;
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

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** A signed JWT in compact serialization: three base64url parts, the signature not empty. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Headers and form fields that authenticate one request. JWT assertions are made here, per attempt, with a fresh
 * `jti` (servers reject a replayed one): signed with jose (loaded on first use, so the core import stays light),
 * by the user's function, or read from the user's file. `audience` is the `aud` to sign, from {@link assertionAudience}.
 */
export async function authenticate(method: ClientAuthentication, credentials: Credentials, audience: string): Promise<ClientAuthParts> {
  const fixed = fixedAuthParts(method, credentials);
  if (fixed) return fixed;
  if (method !== 'client_secret_jwt' && method !== 'private_key_jwt') throw new Error(`unreachable: ${method}`);
  const { clientId, clientSecret = '' } = credentials;
  const source = method === 'private_key_jwt' ? credentials.assertion : undefined;
  let assertion: string;
  if (source?.kind === 'file') {
    assertion = await readAssertionFile(source);
  } else {
    // Real time, not the injected clock: the server checks iat and exp against its own.
    const iat = Math.floor(Date.now() / 1000);
    const claims: ClientAssertionClaims = {
      iss: clientId, sub: clientId, aud: audience, jti: crypto().randomUUID(), iat, exp: iat + ASSERTION_LIFETIME_SECONDS,
    };
    if (source?.kind === 'sign') {
      assertion = await signElsewhere(source.sign, claims);
    } else {
      const key = source?.kind === 'key' ? source : undefined;
      const { SignJWT } = await import('jose');
      assertion = await new SignJWT({ ...claims })
        .setProtectedHeader({ alg: key?.alg ?? 'HS256', typ: 'JWT', ...(key?.kid ? { kid: key.kid } : {}) })
        .sign(key ? key.key : new TextEncoder().encode(clientSecret));
    }
  }
  return {
    form: [['client_id', clientId], ['client_assertion_type', JWT_BEARER], ['client_assertion', assertion]],
    secrets: [assertion, ...secretForms(clientSecret)],
  };
}

/** The user's signer, called with a copy of the claims; what it returns must be a compact JWS. */
async function signElsewhere(sign: ClientAssertionSigner, claims: ClientAssertionClaims): Promise<string> {
  let signed: unknown;
  try {
    signed = await sign({ ...claims });
  } catch (error) {
    // The user's own error, passed on as the cause (like a TokenStore's); only its type is named here.
    const { name, code } = (typeof error === 'object' && error !== null ? error : {}) as { name?: unknown; code?: unknown };
    const what = `${typeof name === 'string' && name ? name : typeof error}${typeof code === 'string' ? ` ${code}` : ''}`;
    throw new TokenClientError(
      ErrorCode.UNEXPECTED,
      `The clientAssertion function failed (${what}) while signing the client assertion; the cause is the error it threw.`,
      { cause: error },
    );
  }
  const jwt = typeof signed === 'string' ? signed.trim() : undefined;
  if (jwt === undefined || !COMPACT_JWS.test(jwt)) {
    const got = typeof signed === 'string' ? `a string of ${signed.length} characters that is not a signed JWT` : signed === null ? 'null' : typeof signed;
    throw new ConfigurationError('clientAssertion', `the function returned ${got}; it must return the signed JWT in compact form (header.payload.signature), or a promise of it`);
  }
  return jwt;
}

/**
 * The JWT in the assertion file, read now (never cached: whoever writes it rotates it). One that is not a
 * signed JWT, or whose `exp` has passed, is refused here rather than sent.
 */
async function readAssertionFile(source: Extract<AssertionSource, { kind: 'file' }>): Promise<string> {
  let text: string;
  try {
    text = await process.getBuiltinModule('node:fs/promises').readFile(source.path, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    throw new ConfigurationError(
      'clientAssertion.file',
      `${source.path} could not be read (${typeof code === 'string' ? code : 'unreadable'}); check the path, its permissions, and that whatever writes the token (kubelet, a sidecar) has written it`,
    );
  }
  const jwt = text.trim();
  const claims = COMPACT_JWS.test(jwt) ? decodeClaims(jwt) : undefined;
  if (claims === undefined) {
    // Never quoted: the file may hold some other credential.
    throw new ConfigurationError('clientAssertion.file', `${source.path} does not hold a signed JWT in compact form (${jwt.length} characters)`);
  }
  source.lastAudience = describeAudience(claims.aud);
  if (typeof claims.exp === 'number' && claims.exp * 1000 <= Date.now()) {
    throw new ConfigurationError(
      'clientAssertion.file',
      `${source.path} holds a JWT that expired at ${new Date(claims.exp * 1000).toISOString()}; whatever writes the file (kubelet for a projected service-account token, a sidecar) has not renewed it`,
    );
  }
  return jwt;
}

function decodeClaims(jwt: string): Record<string, unknown> | undefined {
  try {
    const claims: unknown = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8'));
    return claims !== null && typeof claims === 'object' && !Array.isArray(claims) ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function describeAudience(aud: unknown): string | undefined {
  const text = typeof aud === 'string' ? aud : Array.isArray(aud) && aud.every((a) => typeof a === 'string') ? aud.join(', ') : undefined;
  return text === undefined ? undefined : text.slice(0, 200);
}

/**
 * The `aud` to sign for this server: `'issuer'` is the server's issuer identifier (`https://{domain}/` for
 * Auth0, the token endpoint URL when only `tokenEndpoint` was given), `'token_endpoint'` the URL the request
 * goes to, anything else is sent as given. (Unused for an assertion read from a file: its aud is its own.)
 */
export function assertionAudience(credentials: Credentials, issuer: string, tokenEndpoint: URL): string {
  const { assertion } = credentials;
  const spec = assertion !== undefined && assertion.kind !== 'file' ? assertion.audience : 'issuer';
  if (spec === 'issuer') return issuer;
  if (spec === 'token_endpoint') return tokenEndpoint.href;
  return spec;
}

/**
 * What to say when the server refuses these credentials (`invalid_client`, or a 401/403 without an OAuth body):
 * for a client assertion, the `aud` it carried and the option that changes it; for Basic credentials with
 * characters that form-encoding changes, `basicCredentialEncoding`. Never a secret, a key or an assertion. Called
 * only on a refusal: a cold start does not compile it.
 */
export function refusalHint(method: ClientAuthentication, credentials: Credentials, issuer: string, tokenEndpoint: URL): string {
  const { assertion, clientId, clientSecret = '' } = credentials;
  if (method === 'private_key_jwt' && assertion?.kind === 'file') {
    const aud = assertion.lastAudience === undefined ? '' : ` (its aud: ${JSON.stringify(assertion.lastAudience)})`;
    return `The client assertion is the JWT in ${assertion.path}${aud}, sent as it is. Check where it is issued that its aud is what this server expects (for a Kubernetes projected service-account token: the audience in the pod spec), and that the server trusts its issuer and subject for clientId.`;
  }
  if (method === 'private_key_jwt' || method === 'client_secret_jwt') {
    const aud = assertionAudience(credentials, issuer, tokenEndpoint);
    const spec = assertion !== undefined && assertion.kind !== 'file' ? assertion.audience : 'issuer';
    const endpointUrl = tokenEndpoint.href;
    const source =
      spec === 'token_endpoint' ? "the token endpoint URL, from clientAssertion: { audience: 'token_endpoint' }"
      : spec !== 'issuer' ? 'from clientAssertion.audience'
      : issuer === endpointUrl ? 'the token endpoint URL: with tokenEndpoint the client knows no issuer'
      : "the server's issuer identifier, the default";
    let fix: string;
    if (aud !== endpointUrl) {
      fix = `A server that wants its token endpoint URL there (Okta, Microsoft Entra ID, …) refuses it: set clientAssertion: { audience: 'token_endpoint' }${method === 'client_secret_jwt' ? ' (no key needed for client_secret_jwt)' : ''}.`;
    } else if (aud !== issuer) {
      fix = `A server that wants its issuer identifier there (Auth0, and RFC 7523bis) refuses it: set clientAssertion: { audience: 'issuer' }, or leave audience out.`;
    } else {
      fix = 'A server that wants its issuer identifier there (Auth0: https://{domain}/) refuses it: give issuer (or domain) instead of tokenEndpoint, or set clientAssertion.audience to the issuer.';
    }
    const credential =
      method === 'client_secret_jwt' ? 'clientSecret (the HS256 key)'
      : assertion?.kind === 'sign' ? 'the key your clientAssertion function signs with (its public key registered with the server)'
      : 'that the server has the public key of clientAssertion.key (and its kid)';
    return `The client assertion carried aud ${JSON.stringify(aud.slice(0, 200))} (${source}). ${fix} Otherwise check clientId and ${credential}.`;
  }
  if (method === 'client_secret_basic') {
    const changed = formEncode(clientId) !== clientId || formEncode(clientSecret) !== clientSecret;
    if (credentials.basicEncoding === 'raw') {
      return `Check clientId and clientSecret, and basicCredentialEncoding: 'raw' sends them without the form-encoding RFC 6749 §2.3.1 requires${changed ? ', which this server may expect' : ''}.`;
    }
    if (changed) {
      return "Check clientId and clientSecret. They contain characters that client_secret_basic form-encodes first (RFC 6749 §2.3.1) and some servers do not decode: if the credentials are right, set basicCredentialEncoding: 'raw'.";
    }
    return 'Check clientId, clientSecret and clientAuthentication.';
  }
  if (method === 'tls_client_auth' || method === 'self_signed_tls_client_auth') {
    return 'Check clientId and the client certificate (tls), and that the server trusts it for this client.';
  }
  return 'Check clientId, clientSecret and clientAuthentication.';
}

/** The parts of a method that are the same on every request (all but the JWT ones), or undefined. */
export function fixedAuthParts(method: ClientAuthentication, credentials: Credentials): ClientAuthParts | undefined {
  const { clientId, clientSecret = '' } = credentials;
  switch (method) {
    case 'client_secret_basic': {
      const authorization = basicAuthorization(clientId, clientSecret, credentials.basicEncoding);
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
 * HTTP Basic credentials. By default per RFC 6749 §2.3.1: id and secret are each form-urlencoded before base64, so
 * that `:`, `+`, `%`, spaces and non-ASCII characters survive; many clients skip that step, and so do some servers,
 * which then refuse an encoded secret: `'raw'` sends both as they are (UTF-8), as RFC 7617 alone would.
 */
export function basicAuthorization(clientId: string, clientSecret: string, encoding: BasicCredentialEncoding = 'form-urlencoded'): string {
  const encode = encoding === 'raw' ? (value: string) => value : formEncode;
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`, 'utf8').toString('base64')}`;
}

/** The secret as given and as it appears in a form body or a URL. */
/** A secret as a request may carry it, and so as a server or a dispatcher may echo it: raw, form- and URI-encoded. */
export function secretForms(secret: string): string[] {
  return secret === '' ? [] : [...new Set([secret, formEncode(secret), encodeURIComponent(secret)])];
}

function formEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}

/** A server's list of method names for a message: plain names only, at most 10 (metadata can hold anything). */
function listed(names: readonly unknown[]): string {
  const plain = names.filter((n): n is string => typeof n === 'string' && /^[a-z0-9_:.-]{1,60}$/i.test(n));
  const more = names.length - Math.min(plain.length, 10);
  return [...plain.slice(0, 10), ...(more > 0 ? [`${more} other${more > 1 ? 's' : ''}`] : [])].join(', ');
}
