// A small protected API on 127.0.0.1: it accepts a request only with a JWT access token that its issuer signed,
// for its own audience, not expired. What a resource server in front of an M2M API does. With `dpop`, it wants
// DPoP-bound tokens (RFC 9449 §7): `Authorization: DPoP <token>` and a proof for this very request, signed by the key
// the token is bound to (`cnf.jkt`), with the token's `ath`, this method and URL, a recent `iat`, a `jti` never seen
// before and, with `nonce`, the API's current nonce.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, createRemoteJWKSet, EmbeddedJWK, jwtVerify, type JWK, type JWTPayload } from 'jose';

export interface ProtectedApiRequest {
  authorized: boolean;
  path: string;
  method: string;
  /** `jti` of the verified token (never the token itself). */
  jti?: string;
  /** Why a request was refused: `invalid_token`, `invalid_dpop_proof: …`, `use_dpop_nonce`. */
  error?: string;
  /** DPoP: the proof's `jti`, when it carried a proof. */
  proofJti?: string;
}

export interface ProtectedApi {
  url: string;
  /** Requests received, and how each was answered. */
  requests: ProtectedApiRequest[];
  /**
   * Revokes every token this API has accepted so far: later requests with one of them get 401 invalid_token,
   * as after a revocation or a signing-key rotation while the client still caches the token.
   */
  revokeSeenTokens(): void;
  /** DPoP with nonces: a new nonce; proofs with the old one get `401 use_dpop_nonce`. */
  rotateNonce(): void;
  close(): Promise<void>;
}

export interface ProtectedApiOptions {
  issuer: string;
  jwksUri: string;
  /** The `aud` this API accepts (its resource indicator or Auth0 audience). */
  audience: string;
  /** Want DPoP-bound tokens and a proof with every request; `nonce`: proofs must carry the API's nonce. */
  dpop?: { nonce?: boolean } | undefined;
}

/** How far a proof's `iat` may be from now, in seconds. */
const PROOF_WINDOW = 60;

export async function startProtectedApi(options: ProtectedApiOptions): Promise<ProtectedApi> {
  const jwks = createRemoteJWKSet(new URL(options.jwksUri));
  const requests: ProtectedApi['requests'] = [];
  const seen = new Set<string>();
  const revoked = new Set<string>();
  const proofsSeen = new Set<string>();
  let nonce = randomBytes(16).toString('base64url');
  let origin = '';
  const scheme = options.dpop ? 'DPoP' : 'Bearer';

  /** The DPoP proof's problem, or undefined when it proves possession of the token's key for this request. */
  async function checkProof(req: IncomingMessage, token: string, claims: JWTPayload, record: ProtectedApiRequest): Promise<string | undefined> {
    const proof = req.headers.dpop;
    if (typeof proof !== 'string' || proof.includes(',')) return 'invalid_dpop_proof: one DPoP header is required';
    let payload: JWTPayload;
    let jwk: JWK | undefined;
    try {
      ({ payload, protectedHeader: { jwk } } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256', 'ES384', 'ES512', 'PS256', 'RS256', 'EdDSA', 'Ed25519'] }));
    } catch {
      return 'invalid_dpop_proof: bad signature or header';
    }
    if (typeof payload.jti === 'string') record.proofJti = payload.jti;
    const cnf = claims.cnf as { jkt?: unknown } | undefined;
    if (typeof cnf?.jkt !== 'string' || cnf.jkt !== (await calculateJwkThumbprint(jwk!))) return 'invalid_token: not bound to the proof key';
    if (payload.htm !== req.method) return 'invalid_dpop_proof: htm';
    if (payload.htu !== `${origin}${(req.url ?? '').split('?')[0]}`) return 'invalid_dpop_proof: htu';
    if (payload.ath !== createHash('sha256').update(token).digest('base64url')) return 'invalid_dpop_proof: ath';
    if (typeof payload.iat !== 'number' || Math.abs(payload.iat - Date.now() / 1000) > PROOF_WINDOW) return 'invalid_dpop_proof: iat';
    if (typeof payload.jti !== 'string' || payload.jti === '') return 'invalid_dpop_proof: jti';
    if (proofsSeen.has(payload.jti)) return 'invalid_dpop_proof: replayed';
    proofsSeen.add(payload.jti);
    if (options.dpop?.nonce && payload.nonce !== nonce) return 'use_dpop_nonce';
    return undefined;
  }

  const server: Server = createServer(async (req, res) => {
    const match = /^(\S+) (.+)$/.exec(req.headers.authorization ?? '');
    const token = match && match[1]!.toLowerCase() === scheme.toLowerCase() ? match[2] : undefined;
    const record: ProtectedApiRequest = { authorized: false, path: req.url ?? '', method: req.method ?? '' };
    let claims: JWTPayload | undefined;
    if (token) {
      try {
        ({ payload: claims } = await jwtVerify(token, jwks, { issuer: options.issuer, audience: options.audience }));
      } catch {
        claims = undefined;
      }
    }
    const jti = typeof claims?.jti === 'string' ? claims.jti : undefined;
    if (jti !== undefined && revoked.has(jti)) claims = undefined;
    if (jti !== undefined) record.jti = jti;
    // A bound token is no bearer token: it is refused without its proof (RFC 9449 §7.2).
    if (claims && !options.dpop && claims.cnf !== undefined) claims = undefined;
    let error = claims ? undefined : token ? 'invalid_token' : 'unauthorized';
    if (claims && options.dpop) error = await checkProof(req, token!, claims, record);
    record.authorized = error === undefined;
    if (error !== undefined) record.error = error;
    if (record.authorized && jti !== undefined) seen.add(jti);
    requests.push(record);
    req.resume();
    const nonceHeader: Record<string, string> = options.dpop?.nonce ? { 'dpop-nonce': nonce } : {};
    if (error !== undefined) {
      const code = error.split(':')[0]!;
      const challenge = error === 'unauthorized' ? scheme : `${scheme} error="${code}", error_description="${error}"${options.dpop ? ', algs="ES256 PS256 EdDSA"' : ''}`;
      res.writeHead(401, { 'www-authenticate': challenge, 'content-type': 'application/json', ...(code === 'use_dpop_nonce' ? nonceHeader : {}) });
      res.end(JSON.stringify({ error: code }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true, path: req.url, client: claims!.client_id ?? claims!.sub, scope: claims!.scope }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: origin,
    requests,
    revokeSeenTokens: () => {
      for (const jti of seen) revoked.add(jti);
    },
    rotateNonce: () => {
      nonce = randomBytes(16).toString('base64url');
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
