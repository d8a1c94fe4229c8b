/**
 * m2m-token/axios against the demo servers: an axios instance whose requests to the billing API carry tokens.
 *
 *   npx tsx examples/axios.ts
 */
import axios from 'axios';
import { TokenClient } from 'm2m-token';
import { attachTokens } from 'm2m-token/axios';
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
  const billing = axios.create({ baseURL: api.url });
  // Interceptors: the request one adds the token, the response one renews it once on a 401.
  const detach = attachTokens(billing, client, { targets: { [api.url]: { resource: BILLING, scope: 'invoices:read' } } });
  const response = await billing.get('/invoices');
  console.log(`GET /invoices → ${response.status}`, response.data);
  detach();
} finally {
  await client.close();
  await api.close();
  await as.close();
}
