// A small protected API on 127.0.0.1: it accepts a request only with a bearer JWT that its issuer signed,
// for its own audience, not expired. What a resource server in front of an M2M API does.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';

export interface ProtectedApi {
  url: string;
  /** Requests received, and how each was answered. `jti` identifies the verified token (never the token itself). */
  requests: { authorized: boolean; path: string; method: string; jti?: string }[];
  /**
   * Revokes every token this API has accepted so far: later requests with one of them get 401 invalid_token,
   * as after a revocation or a signing-key rotation while the client still caches the token.
   */
  revokeSeenTokens(): void;
  close(): Promise<void>;
}

export interface ProtectedApiOptions {
  issuer: string;
  jwksUri: string;
  /** The `aud` this API accepts (its resource indicator or Auth0 audience). */
  audience: string;
}

export async function startProtectedApi(options: ProtectedApiOptions): Promise<ProtectedApi> {
  const jwks = createRemoteJWKSet(new URL(options.jwksUri));
  const requests: ProtectedApi['requests'] = [];
  const seen = new Set<string>();
  const revoked = new Set<string>();
  const server: Server = createServer(async (req, res) => {
    const token = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
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
    if (claims && jti !== undefined) seen.add(jti);
    requests.push({ authorized: claims !== undefined, path: req.url ?? '', method: req.method ?? '', ...(jti === undefined ? {} : { jti }) });
    req.resume();
    if (!claims) {
      res.writeHead(401, {
        'www-authenticate': token ? 'Bearer error="invalid_token", error_description="the token is invalid or expired"' : 'Bearer',
        'content-type': 'application/json',
      });
      res.end(JSON.stringify({ error: token ? 'invalid_token' : 'unauthorized' }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true, path: req.url, client: claims.client_id ?? claims.sub, scope: claims.scope }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    revokeSeenTokens: () => {
      for (const jti of seen) revoked.add(jti);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
