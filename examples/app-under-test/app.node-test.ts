// The same kit under node:test. Run: node --import tsx --test examples/app-under-test/app.node-test.ts
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { OAuthError } from 'm2m-token';
import { FakeTokenSource, ManualClock, mockNetwork, mockTokenEndpoint, useMockNetwork } from 'm2m-token/testing';
import { createBilling, createBillingClient } from './billing.js';
import { API_AUDIENCE, API_URL, mockBillingApi } from './mock-billing-api.js';

const config = { domain: 'billing-tenant.eu.auth0.com', clientId: 'billing-service', clientSecret: 'fake-billing-secret', audience: API_AUDIENCE, apiUrl: API_URL };

const clock = new ManualClock();
const auth = mockTokenEndpoint({ domain: config.domain, clientId: config.clientId, clientSecret: config.clientSecret, audiences: [API_AUDIENCE], scopes: ['read:invoices'], clock });
const api = mockBillingApi(auth, clock);
// node:test names its hooks before/after; useMockNetwork takes either spelling.
useMockNetwork(mockNetwork(auth.handlers, api.handler), { before, afterEach, after }, { reset: [auth] });

const apps: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
  api.accepted.length = 0;
  api.refused = 0;
});
function startApp() {
  const app = createBilling({ ...config, clock });
  apps.push(app);
  return app.billing;
}

describe('billing service with a mocked Auth0 and API (node:test)', () => {
  it('calls the API with a verified token, one token request for 50 calls', async () => {
    const billing = startApp();
    const invoices = await Promise.all(Array.from({ length: 50 }, (_, i) => billing.getInvoice(`inv_${i}`)));
    assert.deepEqual(invoices[3], { id: 'inv_3', amount: 4200, currency: 'EUR' });
    assert.equal(api.accepted.length, 50);
    assert.equal(auth.requestCount, 1);
  });

  it('gets a new token when the old one expires, driven by the clock', async () => {
    const billing = startApp();
    await billing.getInvoice('inv_1');
    clock.advance(24 * 60 * 60 * 1000);
    await billing.getInvoice('inv_2');
    assert.equal(auth.requestCount, 2);
    assert.notEqual(api.accepted[1], api.accepted[0]);
    assert.equal(api.refused, 0);
  });

  it('surfaces an OAuthError when Auth0 refuses the client', async () => {
    auth.replyNext({ kind: 'oauth-error', error: 'invalid_client' });
    await assert.rejects(startApp().getInvoice('inv_1'), (error) => error instanceof OAuthError && error.error === 'invalid_client' && error.status === 401);
    assert.equal(api.accepted.length, 0);
  });

  it('works with a fake token source instead of a TokenClient', async () => {
    const fake = new FakeTokenSource({ token: await auth.signToken({ audience: API_AUDIENCE, scope: 'read:invoices' }) });
    await createBillingClient({ tokenSource: fake, apiUrl: API_URL }).getInvoice('inv_1');
    assert.equal(fake.callCount, 1);
    assert.equal(api.accepted.length, 1);
    assert.equal(auth.requestCount, 0);
  });
});
