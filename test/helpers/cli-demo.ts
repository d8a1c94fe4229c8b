// Demo servers for the CLI tests, Auth0-shaped like scripts/check-docs.mjs: the token endpoint at /oauth/token,
// `audience` read as the resource indicator, a client_secret_post client, and a protected API for https://billing.
import { startAuthorizationServer, type AuthorizationServer } from '../../demo/authorization-server.js';
import { startProtectedApi, type ProtectedApi } from '../../demo/protected-api.js';

export const CLIENT_ID = 'cli-service';
export const CLIENT_SECRET = 'fake-cli-secret-value';
export const AUDIENCE = 'https://billing';

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
    clients: [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, token_endpoint_auth_method: 'client_secret_post', scope: 'invoices:read' }],
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
