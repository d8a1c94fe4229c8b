// Demo servers for the CLI tests, Auth0-shaped like scripts/check-docs.mjs: the token endpoint at /oauth/token,
// `audience` read as the resource indicator, a client_secret_post client, and a protected API for https://billing.
import { generateKeyPairSync } from 'node:crypto';
import { exportJWK } from 'jose';
import { startAuthorizationServer, type AuthorizationServer } from '../../demo/authorization-server.js';
import { startProtectedApi, type ProtectedApi } from '../../demo/protected-api.js';

export const CLIENT_ID = 'cli-service';
export const CLIENT_SECRET = 'fake-cli-secret-value';
export const AUDIENCE = 'https://billing';
/** A private_key_jwt client, and its key as PKCS#8 PEM. */
export const KEY_CLIENT_ID = 'cli-key-service';
const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
export const KEY_CLIENT_PEM = keys.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;

export interface CliDemo {
  as: AuthorizationServer;
  api: ProtectedApi;
  /** The origin, usable as M2M_DOMAIN. */
  origin: string;
  close(): Promise<void>;
}

export async function startCliDemo(): Promise<CliDemo> {
  const as = await startAuthorizationServer({
    issuerPath: '/oauth',
    audienceParameter: true,
    clients: [
      { client_id: CLIENT_ID, client_secret: CLIENT_SECRET, token_endpoint_auth_method: 'client_secret_post', scope: 'invoices:read' },
      { client_id: KEY_CLIENT_ID, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ ...(await exportJWK(keys.publicKey)), kid: 'cli-1', use: 'sig' }] } },
    ],
    resources: [{ resource: AUDIENCE, scope: 'invoices:read' }],
  });
  const api = await startProtectedApi({ issuer: as.issuer, jwksUri: as.jwksUri, audience: AUDIENCE });
  return {
    as,
    api,
    origin: new URL(as.issuer).origin,
    close: async () => {
      await api.close();
      await as.close();
    },
  };
}
