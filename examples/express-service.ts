/**
 * An Express service that calls a protected API with m2m-token, against the demo servers: one TokenClient for
 * the process, created at start-up and closed on shutdown; every request handler shares its cache.
 *
 *   npx tsx examples/express-service.ts
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { TokenClient } from 'm2m-token';
import { fetchWithTokens } from 'm2m-token/fetch';
import { BILLING, BILLING_CLIENT, startBillingDemo } from '../demo/billing-demo.js';

const demo = await startBillingDemo(); // in production: your authorization server and your API

// One client per application (client id), for the process's lifetime. In production: TokenClient.fromEnv(),
// or new TokenClient({ domain, clientId, clientSecret, audience }).
const client = new TokenClient({ issuer: demo.issuer, ...BILLING_CLIENT });
// Calls to the billing API carry a token for it; calls anywhere else carry none.
const billingFetch = fetchWithTokens(client, { targets: { [demo.apiUrl]: { resource: BILLING, scope: 'invoices:read' } } });

const app = express();
app.get('/invoices/:id', async (req, res, next) => {
  try {
    const response = await billingFetch(`${demo.apiUrl}/invoices/${encodeURIComponent(req.params.id)}`);
    res.status(response.status).json(await response.json());
  } catch (error) {
    next(error); // a TokenClientError (OAuthError, TokenRequestError, …): the API was not called
  }
});

const server = app.listen(0, '127.0.0.1');
await new Promise<void>((resolve) => server.once('listening', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

try {
  // Ten concurrent requests to the service: one token request, ten authorized API calls.
  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => fetch(`${base}/invoices/inv_${i}`)));
  console.log(`GET /invoices/:id ×10 → ${answers.map((a) => a.status).join(' ')}`);
  console.log(`token requests: ${client.stats().requests}`);
  if (answers.some((a) => a.status !== 200) || client.stats().requests !== 1) process.exitCode = 1;
} finally {
  // Shutdown: stop taking requests, then close the client, then what it depended on.
  await new Promise((resolve) => server.close(resolve));
  await client.close();
  await demo.close();
}
