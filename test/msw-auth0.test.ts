import { http, HttpResponse } from 'msw';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OAuthError, TokenClient } from '../src/index.js';
import { mockNetwork } from './helpers/msw.js';

const DOMAIN = 'tenant.eu.auth0.com';
const received: URLSearchParams[] = [];

// An Auth0-shaped POST /oauth/token: form body in, access_token/token_type/expires_in out.
const network = mockNetwork(
  http.post(`https://${DOMAIN}/oauth/token`, async ({ request }) => {
    const form = new URLSearchParams(await request.text());
    received.push(form);
    if (form.get('client_secret') !== 'msw-secret') {
      return HttpResponse.json({ error: 'access_denied', error_description: 'Unauthorized' }, { status: 401 });
    }
    if (form.get('audience') === 'https://unknown.example.com') {
      return HttpResponse.json({ error: 'access_denied', error_description: 'Service not found: https://unknown.example.com' }, { status: 403 });
    }
    return HttpResponse.json({
      access_token: `token-for-${form.get('audience')}-${form.get('organization') ?? 'none'}`,
      token_type: 'Bearer',
      expires_in: 86400,
    });
  }),
);

beforeAll(() => network.enable());
afterAll(() => network.disable());

describe('against an Auth0-shaped endpoint mocked with msw', () => {
  it('gets, caches and scopes tokens by audience and organization', async () => {
    const client = new TokenClient({ domain: DOMAIN, clientId: 'msw-client', clientSecret: 'msw-secret', audience: 'https://api.example.com' });
    const before = received.length;
    expect((await client.getToken()).accessToken).toBe('token-for-https://api.example.com-none');
    expect((await client.getToken({ organization: 'org_abc' })).accessToken).toBe('token-for-https://api.example.com-org_abc');
    await client.getToken();
    expect(received.length - before).toBe(2);
    expect(received.at(-1)!.get('organization')).toBe('org_abc');
    expect((await client.getToken()).expiresIn).toBe(86_400_000);
    await client.close();
  });

  it('maps Auth0 errors to OAuthError with the RFC 6749 fields', async () => {
    const client = new TokenClient({ domain: DOMAIN, clientId: 'msw-client', clientSecret: 'msw-secret' });
    const error = await client.getToken({ audience: 'https://unknown.example.com' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ status: 403, error: 'access_denied', errorDescription: 'Service not found: https://unknown.example.com', endpoint: `https://${DOMAIN}` });
    expect((error as Error).message).toMatch(/authorized for the audience/);
    await client.close();
  });
});
