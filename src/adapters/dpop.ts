// DPoP (RFC 9449) at the resource server, the same for every adapter: which tokens need a proof, and which 401 is
// a nonce challenge (answered by one replay with a fresh proof, not by a new token).
import type { Token } from 'm2m-token';
import { parseChallenges } from './www-authenticate.js';

/** Whether `token` is DPoP-bound: every request that carries it needs a fresh proof. */
export function isDpopToken(token: Token): boolean {
  return typeof token.tokenType === 'string' && token.tokenType.toLowerCase() === 'dpop';
}

/** Whether a `WWW-Authenticate` value is a DPoP challenge with `error="use_dpop_nonce"` (RFC 9449 §9). */
export function saysUseDpopNonce(header: string | null | undefined): boolean {
  if (!header || !header.includes('use_dpop_nonce')) return false;
  return parseChallenges(header).some((c) => c.scheme === 'dpop' && c.params.error === 'use_dpop_nonce');
}

/**
 * Whether a response to a request that carried a DPoP token asks for the request again with the server's nonce:
 * a 401 with a `use_dpop_nonce` challenge and a `DPoP-Nonce` header.
 */
export function isNonceChallenge(token: Token, status: number, wwwAuthenticate: string | null | undefined, nonce: string | null | undefined): boolean {
  return status === 401 && typeof nonce === 'string' && nonce !== '' && isDpopToken(token) && saysUseDpopNonce(wwwAuthenticate);
}
