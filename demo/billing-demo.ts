// The servers the adapter examples run against: the embedded authorization server and a billing API that
// accepts its tokens for the billing resource.
import { startAuthorizationServer } from './authorization-server.js';
import { startProtectedApi } from './protected-api.js';

export const BILLING = 'https://billing.api.demo/';
export const BILLING_CLIENT = { clientId: 'billing-worker', clientSecret: 'demo-secret-not-for-production' };

export async function startBillingDemo(): Promise<{ issuer: string; apiUrl: string; close(): Promise<void> }> {
  const as = await startAuthorizationServer({
    clients: [{ client_id: BILLING_CLIENT.clientId, client_secret: BILLING_CLIENT.clientSecret, token_endpoint_auth_method: 'client_secret_basic' }],
    resources: [{ resource: BILLING, scope: 'invoices:read' }],
  });
  const api = await startProtectedApi({ issuer: as.issuer, jwksUri: as.jwksUri, audience: BILLING });
  return {
    issuer: as.issuer,
    apiUrl: api.url,
    async close() {
      await api.close();
      await as.close();
    },
  };
}
