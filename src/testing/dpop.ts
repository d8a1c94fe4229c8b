// DPoP (RFC 9449) at the mock token endpoint: checking a proof as a server does (signature with the embedded
// public key, typ, htm, htu, iat, jti replay, nonce) and the endpoint's nonce. jose comes from the kit's bundle.
import { randomBytes } from 'node:crypto';
import { mswModules } from './msw-loader.js';

/** DPoP at the mock token endpoint: {@link MockTokenEndpointBaseOptions.dpop}. */
export interface MockDpopOptions {
  /**
   * Refuse a token request without a proof (`400 invalid_dpop_proof`). With `false`, a request without one gets a
   * Bearer token, as from a server where DPoP is optional.
   * @default true
   */
  required?: boolean | undefined;
  /**
   * Demand the endpoint's nonce (RFC 9449 §8): a proof without it, or with an old one, gets `400 use_dpop_nonce`
   * with the nonce in a `DPoP-Nonce` header. `rotateDpopNonce()` changes it.
   * @default false
   */
  nonce?: boolean | undefined;
  /**
   * The proof algorithms accepted, also listed as `dpop_signing_alg_values_supported` in the discovery documents.
   * @default ['ES256', 'ES384', 'ES512', 'PS256', 'RS256', 'EdDSA', 'Ed25519']
   */
  algorithms?: readonly string[] | undefined;
}

/** What the mock token endpoint made of a request's DPoP proof. */
export interface RecordedDpopProof {
  /** Whether the proof was accepted (and the nonce right, when one is demanded). */
  readonly valid: boolean;
  /** Why not: `missing`, `invalid: …`, `replayed`, `use_dpop_nonce`. */
  readonly problem: string | undefined;
  /** RFC 7638 thumbprint of the proof's public key: the `cnf.jkt` of the token issued. */
  readonly jkt: string | undefined;
  /** The proof's claims, when its signature verified. */
  readonly jti: string | undefined;
  /** The proof's `htm`: the method it was made for. */
  readonly htm: string | undefined;
  /** The proof's `htu`: the URL it was made for, without query and fragment. */
  readonly htu: string | undefined;
  /** The nonce the proof carried, if any. */
  readonly nonce: string | undefined;
  /** The proof's `alg`. */
  readonly alg: string | undefined;
}

export const DEFAULT_DPOP_ALGORITHMS = ['ES256', 'ES384', 'ES512', 'PS256', 'RS256', 'EdDSA', 'Ed25519'];
/** How far a proof's `iat` may be from the real time, in seconds (proofs are signed with real time). */
const IAT_WINDOW = 300;

export interface ResolvedMockDpop {
  required: boolean;
  nonce: boolean;
  algorithms: readonly string[];
}

export function resolveMockDpop(value: unknown): ResolvedMockDpop | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return { required: true, nonce: false, algorithms: DEFAULT_DPOP_ALGORITHMS };
  if (value === null || typeof value !== 'object') throw new TypeError('mockTokenEndpoint: dpop must be true or { required?, nonce?, algorithms? }.');
  const { required, nonce, algorithms } = value as MockDpopOptions;
  if (algorithms !== undefined && (!Array.isArray(algorithms) || algorithms.length === 0)) throw new TypeError('mockTokenEndpoint: dpop.algorithms must be a non-empty array.');
  return { required: required ?? true, nonce: nonce ?? false, algorithms: algorithms ? [...algorithms] : DEFAULT_DPOP_ALGORITHMS };
}

export function newNonce(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * Checks one token request's proof the way RFC 9449 §4.3 says a server does. `seen` holds the `jti`s accepted so
 * far (replays are refused); `nonce` is the endpoint's current one when it demands nonces.
 */
export async function checkProof(proof: string | null, options: { htu: string; algorithms: readonly string[]; nonce: string | undefined; seen: Set<string> }): Promise<RecordedDpopProof> {
  const empty = { jkt: undefined, jti: undefined, htm: undefined, htu: undefined, nonce: undefined, alg: undefined };
  if (proof === null) return { valid: false, problem: 'missing', ...empty };
  if (proof.includes(',')) return { valid: false, problem: 'invalid: more than one DPoP header', ...empty };
  const { jwtVerify, EmbeddedJWK, calculateJwkThumbprint } = mswModules();
  let verified: Awaited<ReturnType<typeof jwtVerify>>;
  try {
    verified = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: [...options.algorithms] });
  } catch (error) {
    return { valid: false, problem: `invalid: ${(error as { code?: string }).code ?? 'signature'}`, ...empty };
  }
  const { payload, protectedHeader } = verified;
  const jwk = protectedHeader.jwk!;
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const seen: RecordedDpopProof = {
    valid: false,
    problem: undefined,
    jkt: await calculateJwkThumbprint(jwk),
    jti: text(payload.jti),
    htm: text(payload.htm),
    htu: text(payload.htu),
    nonce: text(payload.nonce),
    alg: protectedHeader.alg,
  };
  const problem =
    'd' in jwk ? 'invalid: the jwk header holds a private key'
    : seen.htm !== 'POST' ? 'invalid: htm'
    : seen.htu === undefined || stripped(seen.htu) !== stripped(options.htu) ? 'invalid: htu'
    : typeof payload.iat !== 'number' || Math.abs(payload.iat - Date.now() / 1000) > IAT_WINDOW ? 'invalid: iat'
    : seen.jti === undefined || seen.jti === '' ? 'invalid: jti'
    : options.seen.has(seen.jti) ? 'replayed'
    : options.nonce !== undefined && seen.nonce !== options.nonce ? 'use_dpop_nonce'
    : undefined;
  if (problem === undefined) options.seen.add(seen.jti!);
  return { ...seen, valid: problem === undefined, problem };
}

function stripped(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return undefined;
  }
}
