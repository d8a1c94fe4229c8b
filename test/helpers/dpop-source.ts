import { createToken, type TokenSource } from 'm2m-token';

/**
 * A scripted DPoP TokenSource for the adapters' behaviour tests: dpop-1, then on a renewal (forceRefresh) dpop-2 of
 * `renewedType`; proof-1, proof-2, … each naming the nonce it knows. `log` records every proof and nonce.
 */
export function dpopSource(renewedType = 'DPoP'): { source: TokenSource; log: string[] } {
  const log: string[] = [];
  let proofs = 0;
  let nonce: string | undefined;
  const source: TokenSource = {
    getToken: async (options) =>
      createToken({ accessToken: options?.forceRefresh ? 'dpop-2' : 'dpop-1', tokenType: options?.forceRefresh ? renewedType : 'DPoP', expiresIn: 60_000, expiresAt: Date.now() + 60_000 }),
    invalidate: () => undefined,
    proof: async (token, method, url) => {
      proofs += 1;
      log.push(`proof-${proofs} ${token.accessToken} ${method} ${String(url)} nonce=${nonce ?? '-'}`);
      return `proof-${proofs}`;
    },
    rememberNonce: (url, value) => {
      nonce = value;
      log.push(`nonce ${String(url)} ${value}`);
    },
  };
  return { source, log };
}
