// Test fixture shared by app.test.ts (vitest) and app.node-test.ts (node:test): the billing API, mocked with
// msw, checking bearer tokens the way the real API does, with jose against the kit's JWKS.
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { Clock } from 'm2m-token';
import type { MockTokenEndpoint } from 'm2m-token/testing';
import { http, HttpResponse, type RequestHandler } from 'msw';

export const API_URL = 'https://billing.example.com';
export const API_AUDIENCE = 'https://billing.example.com/api';

export interface MockBillingApi {
  handler: RequestHandler;
  /** The access tokens the API accepted, in order. */
  accepted: string[];
  /** How many requests it refused with 401. */
  refused: number;
}

export function mockBillingApi(auth: MockTokenEndpoint, clock: Clock): MockBillingApi {
  // Keys fetched over HTTP from the kit's JWKS URL (msw answers), as the real API fetches Auth0's.
  const jwks = createRemoteJWKSet(new URL(auth.jwksUri));
  const api: MockBillingApi = {
    accepted: [],
    refused: 0,
    handler: http.get(`${API_URL}/invoices/:id`, async ({ request, params }) => {
      const [scheme, token] = (request.headers.get('authorization') ?? '').split(' ');
      let scope: unknown;
      try {
        if (scheme !== 'Bearer' || !token) throw new Error('no bearer token');
        // Checks signature, iss, aud and exp; "now" is the test's clock, so advancing it expires tokens here too.
        ({ payload: { scope } } = await jwtVerify(token, jwks, { issuer: auth.issuer, audience: API_AUDIENCE, currentDate: new Date(clock.now()) }));
      } catch {
        api.refused += 1;
        return new HttpResponse(null, { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } });
      }
      if (typeof scope !== 'string' || !scope.split(' ').includes('read:invoices')) return new HttpResponse(null, { status: 403 });
      api.accepted.push(token);
      return HttpResponse.json({ id: params.id, amount: 4200, currency: 'EUR' });
    }),
  };
  return api;
}
