/**
 * m2m-token/undici against the demo servers: a dispatcher whose requests to the billing API carry tokens,
 * for undici.request, undici's fetch and anything else that takes a dispatcher.
 *
 *   npx tsx examples/undici.ts
 */
import { Agent, fetch, request } from 'undici';
import { TokenClient } from 'm2m-token';
import { tokenInterceptor } from 'm2m-token/undici';
import { startAuthorizationServer } from '../demo/authorization-server.js';
import { startProtectedApi } from '../demo/protected-api.js';

const BILLING = 'https://billing.api.demo/';
const as = await startAuthorizationServer({
  clients: [{ client_id: 'billing-worker', client_secret: 'demo-secret-not-for-production', token_endpoint_auth_method: 'client_secret_basic' }],
  resources: [{ resource: BILLING, scope: 'invoices:read' }],
});
const api = await startProtectedApi({ issuer: as.issuer, jwksUri: as.jwksUri, audience: BILLING });
const client = new TokenClient({ issuer: as.issuer, clientId: 'billing-worker', clientSecret: 'demo-secret-not-for-production' });
const agent = new Agent();

try {
  const dispatcher = agent.compose(tokenInterceptor(client, { targets: { [api.url]: { resource: BILLING, scope: 'invoices:read' } } }));
  const { statusCode, body } = await request(`${api.url}/invoices`, { dispatcher });
  console.log(`undici.request GET /invoices → ${statusCode}`, await body.json());
  const response = await fetch(`${api.url}/invoices`, { dispatcher });
  console.log(`undici fetch   GET /invoices → ${response.status}`, await response.json());
} finally {
  await agent.close();
  await client.close();
  await api.close();
  await as.close();
}
