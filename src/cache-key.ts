import type { TokenParams } from './token-params.js';

/**
 * The cache key: every input that changes which token the server issues. Two requests that differ in any of
 * them never share a token (Duende's default key left extra parameters out, and users got the wrong token).
 * JSON of an array is unambiguous, so no separator can collide.
 */
export function cacheKey(tokenEndpoint: string, clientId: string, params: TokenParams, binding?: string): string {
  const parts: unknown[] = [
    tokenEndpoint,
    clientId,
    params.audience ?? null,
    params.organization ?? null,
    params.scope,
    params.resource,
    params.extraParams,
  ];
  // DPoP: the key the token is bound to (its RFC 7638 thumbprint). Tokens bound to different keys never mix, in
  // memory or in a shared store; keys without DPoP stay as they were.
  if (binding !== undefined) parts.push(binding);
  return JSON.stringify(parts);
}
