// The billing service tested with Jest's default configuration (CommonJS, no flags) and m2m-token/testing,
// like app.test.ts (vitest) and app.node-test.ts (node:test). `npm run check:consumers` runs it against the
// packed package on Node 22 and 24, with billing.ts compiled to CommonJS beside it (what ts-jest or babel
// would do in a TypeScript app); vitest and tsc do not pick up this file.
//
// What differs from app.test.ts: msw and jose are ES modules that Jest's CommonJS runtime cannot require()
// before Node 24.9, so the test does not import them. The kit needs neither (it carries its own msw). The
// billing API is a real server on 127.0.0.1 that checks tokens with node:crypto against the kit's JWKS,
// fetched over HTTP from the mocked Auth0 as the real API would; localhostPassthrough() lets the app reach it.
const { createPublicKey, verify } = require('node:crypto');
const http = require('node:http');
const { OAuthError, TokenClient } = require('m2m-token');
const { FakeTokenSource, localhostPassthrough, ManualClock, mockNetwork, mockTokenEndpoint, useMockNetwork } = require('m2m-token/testing');
const { BillingApiError, createBilling, createBillingClient } = require('./billing');

const API_AUDIENCE = 'https://billing.example.com/api';
const tenant = { domain: 'billing-tenant.eu.auth0.com', clientId: 'billing-service', clientSecret: 'fake-billing-secret' };

// One clock for the token cache, the token endpoint (iat/exp) and the API's verification (now).
const clock = new ManualClock();
const auth = mockTokenEndpoint({ ...tenant, audiences: [API_AUDIENCE], scopes: ['read:invoices'], clock });
useMockNetwork(mockNetwork(auth.handlers, localhostPassthrough()), { beforeAll, afterEach, afterAll }, { reset: [auth] });

const api = startBillingApi();
let config;
beforeAll(async () => {
  config = { ...tenant, audience: API_AUDIENCE, apiUrl: await api.listen() };
});
afterAll(() => api.close());
afterEach(() => {
  api.accepted.length = 0;
  api.refused = 0;
  api.refuseNext = 0;
});

// The app as wired in production, with the test clock.
const apps = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});
function startApp() {
  const app = createBilling({ ...config, clock });
  apps.push(app);
  return app.billing;
}

describe('billing service with a mocked Auth0 and API (Jest, CommonJS)', () => {
  it('calls the API with a token the API verifies, and asks for a token once for 50 calls', async () => {
    const billing = startApp();
    const invoices = await Promise.all(Array.from({ length: 50 }, (_, i) => billing.getInvoice(`inv_${i}`)));
    expect(invoices[7]).toEqual({ id: 'inv_7', amount: 4200, currency: 'EUR' });
    expect(api.accepted).toHaveLength(50);
    expect(api.refused).toBe(0);
    expect(auth.requestCount).toBe(1);
    expect(auth.calls[0]).toMatchObject({ clientId: 'billing-service', clientSecretValid: true, audience: API_AUDIENCE, scope: 'read:invoices' });
  });

  it('gets a new token when the old one expires, driven by the clock', async () => {
    const billing = startApp();
    await billing.getInvoice('inv_1');
    clock.advance(23 * 60 * 60 * 1000); // Auth0's 24 h token, 23 h later: still cached
    await billing.getInvoice('inv_2');
    expect(auth.requestCount).toBe(1);
    clock.advance(60 * 60 * 1000); // past expiry: the API would refuse the old token now
    await billing.getInvoice('inv_3');
    expect(auth.requestCount).toBe(2);
    expect(api.accepted[2]).not.toBe(api.accepted[0]);
    expect(api.refused).toBe(0); // the app never sent the expired token
  });

  it('surfaces an OAuthError when Auth0 refuses the client', async () => {
    auth.replyNext({ kind: 'oauth-error', error: 'invalid_client', errorDescription: 'Client is disabled' });
    const error = await startApp().getInvoice('inv_1').catch((e) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ status: 401, error: 'invalid_client' });
    expect(api.accepted).toHaveLength(0);
  });

  it('surfaces an OAuthError for a wrong secret, too', async () => {
    const app = createBilling({ ...config, clientSecret: 'fake-rotated-secret', clock });
    apps.push(app);
    await expect(app.billing.getInvoice('inv_1')).rejects.toMatchObject({ error: 'invalid_client' });
    expect(auth.calls[0].clientSecretValid).toBe(false);
  });

  it('on a 401 from the API, drops the token and retries once with a new one', async () => {
    api.refuseNext = 1;
    const tokens = new TokenClient({ ...tenant, audience: API_AUDIENCE, clock });
    apps.push(tokens);
    await expect(createBillingClient({ tokenSource: tokens, apiUrl: config.apiUrl }).getInvoice('inv_1')).resolves.toMatchObject({ id: 'inv_1' });
    expect(auth.requestCount).toBe(2);
  });
});

describe('billing client with a fake token source (dependency injection)', () => {
  it('sends the injected token; no token endpoint involved', async () => {
    const fake = new FakeTokenSource({ token: await auth.signToken({ audience: API_AUDIENCE, scope: 'read:invoices' }) });
    const billing = createBillingClient({ tokenSource: fake, apiUrl: config.apiUrl });
    await billing.getInvoice('inv_1');
    await billing.getInvoice('inv_2');
    expect(fake.callCount).toBe(2);
    expect(api.accepted).toHaveLength(2);
    expect(auth.requestCount).toBe(0);
  });

  it('passes token errors through', async () => {
    const denied = new OAuthError({ status: 403, error: 'access_denied', endpoint: 'https://billing-tenant.eu.auth0.com' });
    const billing = createBillingClient({ tokenSource: new FakeTokenSource().failNext(denied), apiUrl: config.apiUrl });
    await expect(billing.getInvoice('inv_1')).rejects.toBe(denied);
  });

  it('invalidates and retries once when the API refuses the token, then gives up', async () => {
    const fake = new FakeTokenSource(); // minted fake tokens are not JWTs: the API refuses each one
    await expect(createBillingClient({ tokenSource: fake, apiUrl: config.apiUrl }).getInvoice('inv_1')).rejects.toBeInstanceOf(BillingApiError);
    expect(fake.invalidateCount).toBe(1);
    expect(fake.callCount).toBe(2);
    expect(api.refused).toBe(2);
  });
});

/** The billing API on 127.0.0.1: `GET /invoices/:id` with a bearer token it verifies the way the real API does. */
function startBillingApi() {
  const server = http.createServer(async (req, res) => {
    const [scheme, token] = (req.headers.authorization ?? '').split(' ');
    const claims = scheme === 'Bearer' && token && api.refuseNext === 0 ? await verifyToken(token).catch(() => undefined) : undefined;
    if (!claims) {
      api.refuseNext = Math.max(0, api.refuseNext - 1);
      api.refused += 1;
      return res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
    }
    if (typeof claims.scope !== 'string' || !claims.scope.split(' ').includes('read:invoices')) return res.writeHead(403).end();
    api.accepted.push(token);
    const id = decodeURIComponent(req.url.replace(/^\/invoices\//, ''));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id, amount: 4200, currency: 'EUR' }));
  });
  let keys;
  // Checks signature (RS256, key by kid from the JWKS, fetched over HTTP like Auth0's), iss, aud and exp;
  // "now" is the test's clock, so advancing it expires tokens here too.
  async function verifyToken(token) {
    const [header, payload, signature] = token.split('.');
    const { alg, kid } = JSON.parse(Buffer.from(header, 'base64url').toString());
    keys ??= fetch(auth.jwksUri).then((r) => r.json());
    const jwk = (await keys).keys.find((k) => k.kid === kid);
    if (alg !== 'RS256' || !jwk) throw new Error('unknown key');
    const key = createPublicKey({ key: jwk, format: 'jwk' });
    if (!verify('RSA-SHA256', Buffer.from(`${header}.${payload}`), key, Buffer.from(signature, 'base64url'))) throw new Error('bad signature');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    if (claims.iss !== auth.issuer || claims.aud !== API_AUDIENCE || claims.exp * 1000 <= clock.now()) throw new Error('wrong issuer, audience or expired');
    return claims;
  }
  const api = {
    accepted: [],
    refused: 0,
    /** Refuse this many requests with 401 whatever their token, like a key rotation on the API side. */
    refuseNext: 0,
    listen: () => new Promise((done) => server.listen(0, '127.0.0.1', () => done(`http://127.0.0.1:${server.address().port}`))),
    close: () => {
      server.closeAllConnections();
      return new Promise((done) => server.close(done));
    },
  };
  return api;
}
