/**
 * m2m-token/axios against the demo servers: an axios instance whose requests to the billing API carry tokens.
 *
 *   npx tsx examples/axios.ts
 */
import axios from 'axios';
import { TokenClient } from 'm2m-token';
import { attachTokens } from 'm2m-token/axios';
import { BILLING, BILLING_CLIENT, startBillingDemo } from '../demo/billing-demo.js';

const demo = await startBillingDemo();
const client = new TokenClient({ issuer: demo.issuer, ...BILLING_CLIENT });

try {
  const billing = axios.create({ baseURL: demo.apiUrl });
  // Interceptors: the request one adds the token, the response one renews it once on a 401.
  const detach = attachTokens(billing, client, { targets: { [demo.apiUrl]: { resource: BILLING, scope: 'invoices:read' } } });
  const response = await billing.get('/invoices');
  console.log(`GET /invoices → ${response.status}`, response.data);
  if (response.status !== 200) process.exitCode = 1;
  detach();
} finally {
  await client.close();
  await demo.close();
}
