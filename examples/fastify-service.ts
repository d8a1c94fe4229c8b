/**
 * A Fastify service that calls a protected API with m2m-token, against the demo servers: the TokenClient is
 * created with the app and closed by Fastify's onClose hook, so `app.close()` shuts both down in order.
 *
 *   npx tsx examples/fastify-service.ts
 */
import Fastify from 'fastify';
import { TokenClient } from 'm2m-token';
import { fetchWithTokens } from 'm2m-token/fetch';
import { BILLING, BILLING_CLIENT, startBillingDemo } from '../demo/billing-demo.js';

const demo = await startBillingDemo(); // in production: your authorization server and your API

const client = new TokenClient({ issuer: demo.issuer, ...BILLING_CLIENT }); // production: TokenClient.fromEnv()
const billingFetch = fetchWithTokens(client, { targets: { [demo.apiUrl]: { resource: BILLING, scope: 'invoices:read' } } });

const app = Fastify();
app.addHook('onClose', async () => client.close());
app.get<{ Params: { id: string } }>('/invoices/:id', async (request, reply) => {
  // A TokenClientError thrown here becomes a 500 through Fastify's error handler; the API was not called.
  const response = await billingFetch(`${demo.apiUrl}/invoices/${encodeURIComponent(request.params.id)}`);
  return reply.code(response.status).send(await response.json());
});

const base = await app.listen({ port: 0, host: '127.0.0.1' });

try {
  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => fetch(`${base}/invoices/inv_${i}`)));
  console.log(`GET /invoices/:id ×10 → ${answers.map((a) => a.status).join(' ')}`);
  console.log(`token requests: ${client.stats().requests}`);
  if (answers.some((a) => a.status !== 200) || client.stats().requests !== 1) process.exitCode = 1;
} finally {
  await app.close(); // closes the client too (onClose)
  await demo.close();
}
