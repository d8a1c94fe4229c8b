import type { GenerateKeyPairResult, JWK, JWTPayload } from 'jose';
import type { RequestHandler } from 'msw';
import { mswModules } from './msw-loader.js';

const ALG = 'RS256';

/** A JSON Web Key Set document, as served at `/.well-known/jwks.json`. */
export interface JsonWebKeySet {
  /** The public keys. */
  keys: JWK[];
}

interface KeyPair {
  privateKey: GenerateKeyPairResult['privateKey'];
  publicJwk: Readonly<JWK>;
}

/**
 * The RS256 key pair of one kit instance; a fresh key per instance means tokens of one test file never
 * verify against another's key by accident. The private key never leaves this object.
 */
export class TestSigningKey {
  #pair: Promise<KeyPair> | undefined;

  /**
   * Starts making the key in the background. Key generation takes tens of ms; started when the kit is set
   * up, it is done before the first token request, so that request is not slower than the ones after it
   * (a test with a short `timeout` would otherwise see the first request time out).
   */
  prepare(): void {
    // A failure is not lost: sign() and jwks() await the same promise and throw it there.
    this.#load().catch(() => undefined);
  }

  /** Signs `payload` as a compact JWT with header `{ alg: 'RS256', typ: 'JWT', kid }`, as Auth0 does. */
  async sign(payload: JWTPayload): Promise<string> {
    const { privateKey, publicJwk } = await this.#load();
    const { SignJWT } = mswModules();
    return new SignJWT(payload).setProtectedHeader({ alg: ALG, typ: 'JWT', kid: publicJwk.kid! }).sign(privateKey);
  }

  /** The public key as a JWKS, with `kid` (the RFC 7638 thumbprint), `alg` and `use`. A fresh copy each time. */
  async jwks(): Promise<JsonWebKeySet> {
    const { publicJwk } = await this.#load();
    return { keys: [{ ...publicJwk }] };
  }

  #load(): Promise<KeyPair> {
    this.#pair ??= generate();
    return this.#pair;
  }
}

async function generate(): Promise<KeyPair> {
  const { calculateJwkThumbprint, exportJWK, generateKeyPair } = mswModules();
  const { privateKey, publicKey } = await generateKeyPair(ALG);
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { privateKey, publicJwk: Object.freeze({ ...jwk, kid, alg: ALG, use: 'sig' }) };
}

/** msw handler serving the key's JWKS at `url`, so `createRemoteJWKSet(url)` + `jwtVerify` run for real. */
export function jwksHandler(url: string, key: TestSigningKey): RequestHandler {
  const { http, HttpResponse } = mswModules();
  return http.get(url, async () => HttpResponse.json(await key.jwks()));
}
