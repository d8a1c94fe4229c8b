/**
 * Quickstart: get an Auth0 machine-to-machine token, then (optionally) call an API with it.
 *
 *   AUTH0_DOMAIN=tenant.eu.auth0.com AUTH0_CLIENT_ID=… AUTH0_CLIENT_SECRET=… \
 *   API_AUDIENCE=https://api.example.com API_URL=https://api.example.com/health \
 *   npx tsx examples/quickstart.ts
 *
 * Prints the token's type and expiry, never the token itself.
 */
import { TokenClient, TokenClientError } from 'm2m-token';

const { AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET, API_AUDIENCE, API_URL } = process.env;

if (!AUTH0_DOMAIN || !AUTH0_CLIENT_ID || !AUTH0_CLIENT_SECRET || !API_AUDIENCE) {
  const missing = Object.entries({ AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET, API_AUDIENCE })
    .filter(([, value]) => !value)
    .map(([name]) => name);
  console.error(
    `Missing environment variable(s): ${missing.join(', ')}.\n` +
      'Set AUTH0_DOMAIN (e.g. tenant.eu.auth0.com), AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET (a machine-to-machine ' +
      'application) and API_AUDIENCE (the API Identifier); API_URL is optional.',
  );
  process.exit(1);
}

const client = new TokenClient({
  domain: AUTH0_DOMAIN,
  clientId: AUTH0_CLIENT_ID,
  clientSecret: AUTH0_CLIENT_SECRET,
  audience: API_AUDIENCE,
});

try {
  const token = await client.getToken();
  console.log(
    `Got a ${token.tokenType} token; it expires at ${new Date(token.expiresAt).toISOString()} ` +
      `(lifetime ${Math.round(token.expiresIn / 1000)} s).`,
  );

  if (API_URL) {
    // Served from the cache: no second request to Auth0.
    const authorization = await client.getAuthorizationHeader();
    const response = await fetch(API_URL, { headers: { authorization } });
    const { origin, pathname } = new URL(API_URL);
    console.log(`GET ${origin}${pathname}: HTTP ${response.status}`);
    // A 401 means the API rejected this token (revoked, wrong audience…): drop it so the next call gets a new one.
    if (response.status === 401) await client.invalidate();
  }
} catch (error) {
  // Messages never contain the secret or the token, so they are safe to log.
  if (!(error instanceof TokenClientError)) throw error;
  console.error(`${error.code}: ${error.message}`);
  process.exitCode = 1;
} finally {
  await client.close();
}
