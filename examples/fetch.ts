/**
 * m2m-token/fetch against the demo servers: a fetch that carries tokens to the billing API only.
 *
 *   npx tsx examples/fetch.ts
 */
import { TokenClient } from 'm2m-token';
import { fetchWithTokens } from 'm2m-token/fetch';
import { BILLING, BILLING_CLIENT, startBillingDemo } from '../demo/billing-demo.js';

const demo = await startBillingDemo();
const client = new TokenClient({ issuer: demo.issuer, ...BILLING_CLIENT });

try {
  // Only this origin gets a token; a 401 renews it once.
  const billingFetch = fetchWithTokens(client, { targets: { [demo.apiUrl]: { resource: BILLING, scope: 'invoices:read' } } });
  const response = await billingFetch(`${demo.apiUrl}/invoices`);
  console.log(`GET /invoices → ${response.status}`, await response.json());
  if (response.status !== 200) process.exitCode = 1;
} finally {
  await client.close();
  await demo.close();
}
