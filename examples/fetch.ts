/**
 * m2m-token/fetch against the demo servers: a fetch that carries tokens to the billing API only.
 *
 *   npx tsx examples/fetch.ts
 */
import { TokenClient } from 'm2m-token';
import { fetchWithTokens } from 'm2m-token/fetch';
import { startAuthorizationServer } from '../demo/authorization-server.js';
import { startProtectedApi } from '../demo/protected-api.js';

const BILLING = 'https://billing.api.demo/';
const as = await startAuthorizationServer({
  clients: [{ client_id: 'billing-worker', client_secret: 'demo-secret-not-for-production', token_endpoint_auth_method: 'client_secret_basic' }],
  resources: [{ resource: BILLING, scope: 'invoices:read' }],
});
const api = await startProtectedApi({ issuer: as.issuer, jwksUri: as.jwksUri, audience: BILLING });
const client = new TokenClient({ issuer: as.issuer, clientId: 'billing-worker', clientSecret: 'demo-secret-not-for-production' });

try {
  // Only this origin gets a token; a 401 renews it once.
  const billingFetch = fetchWithTokens(client, { targets: { [api.url]: { resource: BILLING, scope: 'invoices:read' } } });
  const response = await billingFetch(`${api.url}/invoices`);
  console.log(`GET /invoices → ${response.status}`, await response.json());
} finally {
  await client.close();
  await api.close();
  await as.close();
}
