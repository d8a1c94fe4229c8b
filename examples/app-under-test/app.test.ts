// The billing service tested with vitest and m2m-token/testing: no Auth0, no network, real JWTs.
import { OAuthError, TokenClient } from 'm2m-token';
import { FakeTokenSource, ManualClock, mockNetwork, mockTokenEndpoint, useMockNetwork } from 'm2m-token/testing';
import { http, HttpResponse } from 'msw';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BillingApiError, createBilling, createBillingClient } from './billing.js';
import { API_AUDIENCE, API_URL, mockBillingApi } from './mock-billing-api.js';

const config = { domain: 'billing-tenant.eu.auth0.com', clientId: 'billing-service', clientSecret: 'fake-billing-secret', audience: API_AUDIENCE, apiUrl: API_URL };

// One clock for the token cache, the token endpoint (iat/exp) and the API's verification (now).
const clock = new ManualClock();
const auth = mockTokenEndpoint({ domain: config.domain, clientId: config.clientId, clientSecret: config.clientSecret, audiences: [API_AUDIENCE], scopes: ['read:invoices'], clock });
const api = mockBillingApi(auth, clock);
const network = useMockNetwork(mockNetwork(auth.handlers, api.handler), { beforeAll, afterEach, afterAll }, { reset: [auth] });

afterEach(() => {
  api.accepted.length = 0;
  api.refused = 0;
});

// The app as wired in production, with the test clock.
const apps: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});
function startApp() {
  const app = createBilling({ ...config, clock });
  apps.push(app);
  return app.billing;
}

describe('billing service with a mocked Auth0 and API', () => {
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
    const error = await startApp().getInvoice('inv_1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ status: 401, error: 'invalid_client' });
    expect(api.accepted).toHaveLength(0);
  });

  it('surfaces an OAuthError for a wrong secret, too', async () => {
    const app = createBilling({ ...config, clientSecret: 'fake-rotated-secret', clock });
    apps.push(app);
    await expect(app.billing.getInvoice('inv_1')).rejects.toMatchObject({ error: 'invalid_client' });
    expect(auth.calls[0]!.clientSecretValid).toBe(false);
  });

  it('on a 401 from the API, drops the token and retries once with a new one', async () => {
    network.use(http.get(`${API_URL}/invoices/:id`, () => new HttpResponse(null, { status: 401 }), { once: true }));
    const tokens = new TokenClient({ domain: config.domain, clientId: config.clientId, clientSecret: config.clientSecret, audience: API_AUDIENCE, clock });
    apps.push(tokens);
    await expect(createBillingClient({ tokenSource: tokens, apiUrl: API_URL }).getInvoice('inv_1')).resolves.toMatchObject({ id: 'inv_1' });
    expect(auth.requestCount).toBe(2);
  });
});

describe('billing client with a fake token source (dependency injection)', () => {
  it('sends the injected token; no token endpoint involved', async () => {
    const fake = new FakeTokenSource({ token: await auth.signToken({ audience: API_AUDIENCE, scope: 'read:invoices' }) });
    const billing = createBillingClient({ tokenSource: fake, apiUrl: API_URL });
    await billing.getInvoice('inv_1');
    await billing.getInvoice('inv_2');
    expect(fake.callCount).toBe(2);
    expect(api.accepted).toHaveLength(2);
    expect(auth.requestCount).toBe(0);
  });

  it('passes token errors through', async () => {
    const denied = new OAuthError({ status: 403, error: 'access_denied', endpoint: 'https://billing-tenant.eu.auth0.com' });
    const billing = createBillingClient({ tokenSource: new FakeTokenSource().failNext(denied), apiUrl: API_URL });
    await expect(billing.getInvoice('inv_1')).rejects.toBe(denied);
  });

  it('invalidates and retries once when the API refuses the token, then gives up', async () => {
    const fake = new FakeTokenSource(); // minted fake tokens are not JWTs: the API refuses each one
    await expect(createBillingClient({ tokenSource: fake, apiUrl: API_URL }).getInvoice('inv_1')).rejects.toBeInstanceOf(BillingApiError);
    expect(fake.invalidateCount).toBe(1);
    expect(fake.callCount).toBe(2);
    expect(api.refused).toBe(2);
  });
});
