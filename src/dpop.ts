// DPoP (RFC 9449): the key that sender-constrains the client's tokens, and the proofs made with it. The key is
// read and checked at construction (its thumbprint goes into the cache key); proofs are signed with jose, loaded
// with the first proof, so that neither the core import nor a client without DPoP loads it.
import type { KeyObject } from 'node:crypto';
import type { CryptoKey, JWK } from 'jose';
import { ConfigurationError, ErrorCode, TokenResponseError } from './errors.js';
import type { Token } from './token-source.js';

const crypto = () => process.getBuiltinModule('node:crypto');

let joseModule: Promise<typeof import('jose')> | undefined;
const loadJose = () => (joseModule ??= import('jose'));

/** A Web Crypto key pair, as `crypto.subtle.generateKey()` makes it. Its private key may be non-extractable. */
export interface DpopKeyPair {
  /** Signs the proofs; may be non-extractable. */
  privateKey: CryptoKey;
  /** Its public half: the proof's `jwk` header and the thumbprint (`cnf.jkt`) come from it. */
  publicKey: CryptoKey;
}

/** Options of DPoP (RFC 9449): the key that binds the client's tokens, and how strict to be. */
export interface DpopOptions {
  /**
   * The private key proofs are signed with: a PEM string (PKCS#8, PKCS#1 or SEC1), a private JWK, a `KeyObject`,
   * a Web Crypto key pair `{ privateKey, publicKey }` (the private key may be non-extractable), or an extractable
   * private `CryptoKey`. EC P-256/384/521, RSA or Ed25519. Default: a key generated in memory on first use
   * (non-extractable), for this client only.
   */
  key?: string | JWK | KeyObject | CryptoKey | DpopKeyPair | undefined;
  /**
   * The proofs' `alg`. Default: the key's (`ES256` for P-256 and a generated key, `PS256` for RSA, `EdDSA` for
   * Ed25519), or with `issuer`, the first one the key can sign that the server lists in
   * `dpop_signing_alg_values_supported`.
   */
  alg?: string | undefined;
  /**
   * Accept a Bearer token when the server answers a DPoP request with one (it ignored the proof). Off by
   * default: such a downgrade fails with `M2M_DPOP_MISMATCH`.
   * @default false
   */
  allowBearer?: boolean | undefined;
}

/** The algorithms a generated key may use, in order of preference. */
const GENERATED_ALGS = ['ES256', 'EdDSA', 'Ed25519', 'ES384', 'ES512', 'PS256', 'RS256'];
const OPTIONS = ['key', 'alg', 'allowBearer'];

/** The `dpop` option as validated at construction. */
export interface ResolvedDpop {
  /** A given key, read now; undefined: generate one on first use. */
  given: { privateKey: KeyObject | CryptoKey; publicJwk: JWK; jkt: string } | undefined;
  /** The algorithms the key can sign, preferred first (the explicit `alg` alone when given). */
  candidates: readonly string[];
  allowBearer: boolean;
}

/** Validates `dpop` (`true`, or `{ key?, alg?, allowBearer? }`); reads a given key and computes its thumbprint. */
export function resolveDpop(value: unknown): ResolvedDpop | undefined {
  if (value === false) return undefined;
  if (value === true) return { given: undefined, candidates: GENERATED_ALGS, allowBearer: false };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigurationError('dpop', 'must be true (a key generated in memory) or { key?, alg?, allowBearer? }');
  }
  for (const name of Object.keys(value)) {
    if (!OPTIONS.includes(name)) throw new ConfigurationError(`dpop.${name}`, `unknown option; dpop takes ${OPTIONS.join(', ')}`);
  }
  const { key, alg, allowBearer } = value as DpopOptions;
  if (allowBearer !== undefined && typeof allowBearer !== 'boolean') throw new ConfigurationError('dpop.allowBearer', 'must be true or false');
  if (alg !== undefined && (typeof alg !== 'string' || alg === '')) throw new ConfigurationError('dpop.alg', 'must be a string such as ES256, PS256, RS256 or EdDSA');
  if (key === undefined) {
    if (alg !== undefined && !GENERATED_ALGS.includes(alg)) {
      throw new ConfigurationError('dpop.alg', `${JSON.stringify(alg)} cannot be used with a generated key; use one of ${GENERATED_ALGS.join(', ')}`);
    }
    return { given: undefined, candidates: alg === undefined ? GENERATED_ALGS : [alg], allowBearer: allowBearer ?? false };
  }
  const { privateKey, publicKey } = readKey(key);
  const fits = algorithmsFor(publicKey);
  if (alg !== undefined && !fitsKey(alg, publicKey)) {
    throw new ConfigurationError('dpop.alg', `${JSON.stringify(alg)} does not fit a ${describeKey(publicKey)} key; it signs ${fits.join(', ')}`);
  }
  const publicJwk = publicKey.export({ format: 'jwk' }) as JWK;
  return {
    given: { privateKey, publicJwk, jkt: jwkThumbprint(publicJwk) },
    candidates: alg === undefined ? fits : [alg],
    allowBearer: allowBearer ?? false,
  };
}

/**
 * RFC 7638: SHA-256 over the key's required members in lexicographic order, base64url. Computed synchronously at
 * construction because the cache key holds it (jose's calculateJwkThumbprint is asynchronous; the tests check that
 * both agree).
 */
export function jwkThumbprint(jwk: JWK): string {
  const members =
    jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
    : jwk.kty === 'RSA' ? { e: jwk.e, kty: jwk.kty, n: jwk.n }
    : { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
  return crypto().createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

function isKeyObject(value: object): value is KeyObject {
  return typeof (value as KeyObject).export === 'function' && typeof (value as KeyObject).type === 'string' && 'asymmetricKeyType' in value;
}

function isCryptoKey(value: unknown): value is CryptoKey {
  return value !== null && typeof value === 'object' && typeof (value as CryptoKey).type === 'string' &&
    typeof (value as CryptoKey).extractable === 'boolean' && typeof (value as CryptoKey).algorithm === 'object';
}

const KEY_SHAPES = 'give a PEM private key, a private JWK, a KeyObject, or a Web Crypto key pair { privateKey, publicKey }';

/** The key to sign with and its public half (a KeyObject, to export the JWK synchronously). Never quotes the key. */
function readKey(key: unknown): { privateKey: KeyObject | CryptoKey; publicKey: KeyObject } {
  const c = crypto();
  if (key !== null && typeof key === 'object' && 'privateKey' in key && 'publicKey' in key) {
    const { privateKey, publicKey } = key as DpopKeyPair;
    if (!isCryptoKey(privateKey) || privateKey.type !== 'private' || !isCryptoKey(publicKey) || publicKey.type !== 'public') {
      throw new ConfigurationError('dpop.key', `a key pair must hold a private and a public CryptoKey; ${KEY_SHAPES}`);
    }
    // A public CryptoKey is always extractable, so Node converts it without complaint.
    return { privateKey, publicKey: c.KeyObject.from(publicKey) };
  }
  if (isCryptoKey(key)) {
    if (key.type !== 'private') throw new ConfigurationError('dpop.key', `is a ${key.type} CryptoKey; a private key is needed to sign proofs`);
    if (!key.extractable) {
      throw new ConfigurationError('dpop.key', 'is a non-extractable CryptoKey alone: its public key cannot be read from it; give the key pair { privateKey, publicKey }');
    }
    return { privateKey: key, publicKey: c.createPublicKey(c.KeyObject.from(key)) };
  }
  if (key !== null && typeof key === 'object' && isKeyObject(key)) {
    if (key.type !== 'private') throw new ConfigurationError('dpop.key', `is a ${key.type} key; a private key is needed to sign proofs`);
    return { privateKey: key, publicKey: c.createPublicKey(key) };
  }
  let privateKey: KeyObject;
  try {
    if (typeof key === 'string') privateKey = c.createPrivateKey(key);
    else if (key !== null && typeof key === 'object') privateKey = c.createPrivateKey({ key: key as never, format: 'jwk' });
    else throw new ConfigurationError('dpop.key', `must be a key; ${KEY_SHAPES}`);
  } catch (error) {
    if (error instanceof ConfigurationError) throw error;
    // The reason only, never the input: it is key material.
    const code = (error as { code?: unknown }).code;
    throw new ConfigurationError('dpop.key', `could not be read as a private key (${typeof code === 'string' ? code : 'unreadable'}); ${KEY_SHAPES}`);
  }
  return { privateKey, publicKey: c.createPublicKey(privateKey) };
}

/**
 * The proof algorithms a key can sign, preferred first. Not RSA-PSS keys (`rsa-pss`): Node cannot export their public
 * JWK, which the proof's `jwk` header needs; an RSA key signs PS256 too.
 */
function algorithmsFor(key: KeyObject): string[] {
  const type = key.asymmetricKeyType;
  if (type === 'rsa') return ['PS256', 'RS256'];
  if (type === 'ed25519') return ['EdDSA', 'Ed25519'];
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return ['ES256'];
    if (curve === 'secp384r1') return ['ES384'];
    if (curve === 'secp521r1') return ['ES512'];
  }
  throw new ConfigurationError('dpop.key', `has an unsupported key type (${describeKey(key)}); use EC P-256 (ES256), RSA (PS256, RS256) or Ed25519 (EdDSA)`);
}

/** Whether the key can sign proofs with `alg` (any size of RSA and PS for an RSA key). */
function fitsKey(alg: string, key: KeyObject): boolean {
  const type = key.asymmetricKeyType;
  return (/^RS(256|384|512)$/.test(alg) && type === 'rsa') ||
    (/^PS(256|384|512)$/.test(alg) && type === 'rsa') ||
    (/^ES(256|384|512)$/.test(alg) && algorithmsFor(key)[0] === alg) ||
    ((alg === 'EdDSA' || alg === 'Ed25519') && type === 'ed25519');
}

function describeKey(key: KeyObject): string {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return `${key.asymmetricKeyType ?? 'unknown'}${curve ? ` ${curve}` : ''}`;
}

/** The proof's `htu`: the request URL without query and fragment (RFC 9449 §4.2). */
export function htuOf(url: string | URL): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

/** At most this many origins' nonces are remembered; past it the oldest go (a server's nonce is asked for again). */
const MAX_NONCES = 256;

/**
 * One client's DPoP state: its key (given, or generated on first use), the chosen algorithm, the latest nonce of
 * each server, and the proofs. Holds the private key in a private field: nothing prints it.
 */
export class DpopKey {
  readonly #config: ResolvedDpop;
  /** What goes into the cache key: the key's RFC 7638 thumbprint, or `generated` (one key per client, for its life). */
  readonly binding: string;
  readonly allowBearer: boolean;
  #alg: string;
  #key: Promise<{ privateKey: KeyObject | CryptoKey; publicJwk: JWK; jkt: string }> | undefined;
  #jkt: string | undefined;
  readonly #nonces = new Map<string, string>();
  readonly #ath = new WeakMap<Token, string>();

  constructor(config: ResolvedDpop) {
    this.#config = config;
    this.binding = config.given === undefined ? 'dpop:generated' : `dpop:${config.given.jkt}`;
    this.allowBearer = config.allowBearer;
    this.#alg = config.candidates[0]!;
    if (config.given !== undefined) {
      this.#key = Promise.resolve(config.given);
      this.#jkt = config.given.jkt;
    }
  }

  /**
   * Picks the proof algorithm from the server's `dpop_signing_alg_values_supported` (none listed: the default).
   * A key that can sign none of them is a ConfigurationError: no request would be accepted.
   */
  chooseAlg(supported: readonly string[] | undefined): void {
    if (supported === undefined) return;
    const { candidates, given } = this.#config;
    // A generated key already made keeps its algorithm.
    const usable = this.#key !== undefined && given === undefined ? [this.#alg] : candidates;
    const match = usable.find((alg) => supported.includes(alg));
    if (match === undefined) {
      const listed = supported.filter((a) => typeof a === 'string' && /^[A-Za-z0-9+-]{1,20}$/.test(a)).slice(0, 10).join(', ') || 'none';
      throw new ConfigurationError(
        usable.length === 1 && candidates.length === 1 ? 'dpop.alg' : 'dpop.key',
        `the server accepts DPoP proofs signed with ${listed}, and this key signs ${usable.join(', ')}; give a key (or an alg) the server accepts`,
      );
    }
    this.#alg = match;
  }

  /** The latest `DPoP-Nonce` of `url`'s server, if it sent one. */
  nonceFor(url: string | URL): string | undefined {
    return this.#nonces.get(originOf(url));
  }

  /** Remembers a server's `DPoP-Nonce` (from any response): later proofs to that origin carry it. */
  rememberNonce(url: string | URL, nonce: string): void {
    // A nonce goes into a signed JSON string: visible ASCII only (RFC 9449 §8.1 allows NQCHAR), and short.
    if (typeof nonce !== 'string' || nonce === '' || nonce.length > 2048 || !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(nonce)) return;
    const origin = originOf(url);
    // Deleted first, so that the origin heard from last is the newest, and the oldest goes when the map is full.
    this.#nonces.delete(origin);
    if (this.#nonces.size >= MAX_NONCES) this.#nonces.delete(this.#nonces.keys().next().value!);
    this.#nonces.set(origin, nonce);
  }

  /**
   * A fresh proof for one request: `htm`, `htu` (no query or fragment), `iat` (real time: the server checks it
   * against its own clock), a random `jti`, the server's latest nonce, and with a token its `ath`.
   */
  async proof(method: string, url: string | URL, token?: Token): Promise<string> {
    const [{ SignJWT }, key] = await Promise.all([loadJose(), this.#keyPair()]);
    const nonce = this.nonceFor(url);
    const claims: Record<string, unknown> = {
      jti: crypto().randomUUID(),
      htm: method.toUpperCase(),
      htu: htuOf(url),
      iat: Math.floor(Date.now() / 1000),
    };
    if (nonce !== undefined) claims.nonce = nonce;
    if (token !== undefined) claims.ath = this.#athOf(token);
    return new SignJWT(claims).setProtectedHeader({ alg: this.#alg, typ: 'dpop+jwt', jwk: key.publicJwk }).sign(key.privateKey);
  }

  /**
   * A DPoP token bound to another key is refused: its `cnf.jkt` (when the token is a JWT that has one) must be this
   * key's thumbprint. An opaque token cannot be checked here; the resource server does.
   */
  checkBinding(token: Token, endpoint: string, status: number): void {
    if (token.tokenType !== 'DPoP') return;
    const jkt = boundThumbprint(token.accessToken);
    if (jkt === undefined || jkt === this.#jkt) return;
    throw new TokenResponseError(
      ErrorCode.DPOP_MISMATCH,
      status,
      `Token endpoint ${endpoint} issued a DPoP token bound to another key (its cnf.jkt is not this client's key thumbprint); the server or a proxy is broken.`,
      { endpoint },
    );
  }

  #athOf(token: Token): string {
    let ath = this.#ath.get(token);
    if (ath === undefined) {
      ath = crypto().createHash('sha256').update(token.accessToken).digest('base64url');
      this.#ath.set(token, ath);
    }
    return ath;
  }

  #keyPair(): Promise<{ privateKey: KeyObject | CryptoKey; publicJwk: JWK; jkt: string }> {
    return (this.#key ??= this.#generate());
  }

  /** A key made in memory for this client: its private half non-extractable, so nothing can export it. */
  async #generate(): Promise<{ privateKey: CryptoKey; publicJwk: JWK; jkt: string }> {
    const { generateKeyPair, exportJWK, calculateJwkThumbprint } = await loadJose();
    const alg = this.#alg;
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: false });
    const { kty, crv, x, y, n, e } = await exportJWK(publicKey);
    const publicJwk = Object.fromEntries(Object.entries({ kty, crv, x, y, n, e }).filter(([, v]) => v !== undefined)) as JWK;
    const jkt = await calculateJwkThumbprint(publicJwk);
    this.#jkt = jkt;
    return { privateKey, publicJwk, jkt };
  }

  toJSON(): Record<string, unknown> {
    return { alg: this.#alg, thumbprint: this.#jkt, key: this.#config.given === undefined ? 'generated' : '[REDACTED]' };
  }
}

function originOf(url: string | URL): string {
  return new URL(url).origin;
}

/** `cnf.jkt` of a JWT access token, decoded without verification; undefined for an opaque token or none. */
function boundThumbprint(accessToken: string): string | undefined {
  const parts = accessToken.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as { cnf?: { jkt?: unknown } } | null;
    const jkt = payload?.cnf?.jkt;
    return typeof jkt === 'string' ? jkt : undefined;
  } catch {
    return undefined;
  }
}
