/**
 * m2m-token/undici against the demo servers: a dispatcher whose requests to the billing API carry tokens,
 * for undici.request, undici's fetch and anything else that takes a dispatcher.
 *
 *   npx tsx examples/undici.ts
 */
import { Agent, fetch, request } from 'undici';
import { TokenClient } from 'm2m-token';
import { tokenInterceptor } from 'm2m-token/undici';
import { BILLING, BILLING_CLIENT, startBillingDemo } from '../demo/billing-demo.js';

const demo = await startBillingDemo();
const client = new TokenClient({ issuer: demo.issuer, ...BILLING_CLIENT });
const agent = new Agent();

try {
  const dispatcher = agent.compose(tokenInterceptor(client, { targets: { [demo.apiUrl]: { resource: BILLING, scope: 'invoices:read' } } }));
  const { statusCode, body } = await request(`${demo.apiUrl}/invoices`, { dispatcher });
  console.log(`undici.request GET /invoices → ${statusCode}`, await body.json());
  const response = await fetch(`${demo.apiUrl}/invoices`, { dispatcher });
  console.log(`undici fetch   GET /invoices → ${response.status}`, await response.json());
  if (statusCode !== 200 || response.status !== 200) process.exitCode = 1;
} finally {
  await agent.close();
  await client.close();
  await demo.close();
}
