// npm run demo: m2m-token doing its job with nothing to configure. It starts a certified OAuth 2.0 server
// (oidc-provider) and a protected API on loopback ports, then gets, caches and shares tokens and calls the API.
// It prints what happened (never a token) and exits.
import { inspect } from 'node:util';
import { decodeJwt } from 'jose';
import { TokenClient } from 'm2m-token';
import { startAuthorizationServer } from './authorization-server.js';
import { startProtectedApi } from './protected-api.js';

const RESOURCE = 'https://reports.api.demo/';
const CLIENT = { clientId: 'demo-service', clientSecret: 'demo-secret-not-for-production' };

const as = await startAuthorizationServer({
  clients: [{ client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret, token_endpoint_auth_method: 'client_secret_basic' }],
  resources: [{ resource: RESOURCE, scope: 'reports:read reports:write', accessTokenTTL: 3600 }],
});
const api = await startProtectedApi({ issuer: as.issuer, jwksUri: as.jwksUri, audience: RESOURCE });
const client = new TokenClient({ issuer: as.issuer, ...CLIENT, resource: RESOURCE, scope: 'reports:read' });

const steps: [string, string, string][] = [];
async function step<T>(name: string, work: () => Promise<T>, describe: (result: T) => string): Promise<T> {
  const before = as.tokenRequests;
  const start = performance.now();
  const result = await work();
  const ms = (performance.now() - start).toFixed(1);
  steps.push([name, `${ms} ms`, `${describe(result)}; token requests: +${as.tokenRequests - before}`]);
  return result;
}

try {
  const first = await step('1. getToken() on a cold cache', () => client.getToken(), () => 'discovered the token endpoint, fetched a token');
  await step('2. getToken() again', () => client.getToken(), (t) => (t.accessToken === first.accessToken ? 'same token, from the cache' : 'a NEW token?!'));
  await client.invalidate();
  await step(
    '3. 1 000 concurrent getToken() on a cold cache',
    () => Promise.all(Array.from({ length: 1000 }, () => client.getToken())),
    (tokens) => `${new Set(tokens.map((t) => t.accessToken)).size} distinct token for 1 000 callers`,
  );
  const authorization = await client.getAuthorizationHeader();
  const answer = await step(
    '4. call the API with the token',
    async () => fetch(`${api.url}/reports/today`, { headers: { authorization } }),
    (r) => `API answered ${r.status} (it verified signature, issuer, audience, expiry)`,
  );
  await answer.body?.cancel();
  const refused = await step('5. call the API without a token', () => fetch(`${api.url}/reports/today`), (r) => `API answered ${r.status}`);
  await refused.body?.cancel();

  const claims = decodeJwt((await client.getToken()).accessToken);
  const width = Math.max(...steps.map(([name]) => name.length));
  console.log('\nm2m-token demo: an OAuth 2.0 server and a protected API on 127.0.0.1\n');
  for (const [name, time, what] of steps) console.log(`  ${name.padEnd(width)}  ${time.padStart(9)}  ${what}`);
  console.log(`\n  token requests the server saw in all: ${as.tokenRequests}`);
  console.log('  the token\'s claims (decoded; the token itself is never printed):');
  for (const [name, value] of Object.entries(claims)) {
    const shown = name === 'iat' || name === 'exp' ? `${value} (${new Date(Number(value) * 1000).toISOString()})` : JSON.stringify(value);
    console.log(`    ${name.padEnd(10)} ${shown}`);
  }
  console.log(`  util.inspect of the token: ${inspect(first)}\n`);
  const ok = as.tokenRequests === 2 && answer.status === 200 && refused.status === 401;
  if (!ok) {
    console.error('demo: something did not behave as expected');
    process.exitCode = 1;
  }
} finally {
  await client.close();
  await api.close();
  await as.close();
}
