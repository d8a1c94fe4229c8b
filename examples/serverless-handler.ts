/**
 * A serverless handler (AWS Lambda's shape; Google Cloud Functions and Azure Functions are alike) that keeps its
 * TokenClient across invocations, against the demo servers: the client lives at module scope, so a warm
 * instance reuses the cached token and the first invocation is the only one that asks for it.
 *
 *   npx tsx examples/serverless-handler.ts
 */
import { TokenClient } from 'm2m-token';
import { fetchWithTokens } from 'm2m-token/fetch';
import { BILLING, BILLING_CLIENT, startBillingDemo } from '../demo/billing-demo.js';

const demo = await startBillingDemo(); // only for this example: the platform's init phase would not start servers

// ---- The handler module: everything at module scope runs once per instance (cold start). ----------------------
// In production: const client = TokenClient.fromEnv(); // M2M_DOMAIN, M2M_CLIENT_ID, M2M_CLIENT_SECRET, M2M_AUDIENCE
const client = new TokenClient({ issuer: demo.issuer, ...BILLING_CLIENT });
const billingFetch = fetchWithTokens(client, { targets: { [demo.apiUrl]: { resource: BILLING, scope: 'invoices:read' } } });

interface InvoiceEvent {
  pathParameters: { id: string };
}

export async function handler(event: InvoiceEvent): Promise<{ statusCode: number; body: string }> {
  // Never close the client here: that would throw the cache away with every invocation.
  const response = await billingFetch(`${demo.apiUrl}/invoices/${encodeURIComponent(event.pathParameters.id)}`);
  return { statusCode: response.status, body: await response.text() };
}
// ---------------------------------------------------------------------------------------------------------------

// The platform, simulated: five invocations of one warm instance, one after the other.
try {
  const results = [];
  for (let i = 0; i < 5; i++) results.push(await handler({ pathParameters: { id: `inv_${i}` } }));
  const { requests, hits, misses } = client.stats();
  console.log(`5 invocations → ${results.map((r) => r.statusCode).join(' ')}; token requests: ${requests} (cache: ${misses} miss, ${hits} hits)`);
  if (results.some((r) => r.statusCode !== 200) || requests !== 1) process.exitCode = 1;
} finally {
  await client.close(); // the instance is shutting down
  await demo.close();
}
