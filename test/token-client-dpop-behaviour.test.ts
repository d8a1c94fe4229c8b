// How the client tells a DPoP nonce challenge from other refusals at the token endpoint (RFC 9449 §8): a 400 or
// 401 whose JSON error is use_dpop_nonce, with a DPoP-Nonce it can use, is answered once at once; anything else is
// the error it is. A DPoP-Nonce on a success is kept for the next request.
import { decodeJwt } from 'jose';
import { OAuthError, TokenClient, type TokenClientOptions } from 'm2m-token';
import { mockNetwork, useMockNetwork } from 'm2m-token/testing';
import { http, HttpResponse } from 'msw';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const URL_ = 'https://nonce.example.com/token';
type Reply = () => Response;
let replies: Reply[] = [];
let proofs: (string | undefined)[] = [];
const server = http.post(URL_, ({ request }) => {
  const proof = request.headers.get('dpop');
  proofs.push(proof === null ? 'none' : (decodeJwt(proof).nonce as string | undefined));
  const next = replies.shift();
  return next ? next() : HttpResponse.json({ error: 'server_error' }, { status: 500 });
});
useMockNetwork(mockNetwork(server), { beforeAll, afterEach, afterAll });

const clients: TokenClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  replies = [];
  proofs = [];
});
function client(options: Partial<TokenClientOptions> = {}) {
  const c = new TokenClient({ tokenEndpoint: URL_, clientId: 'dpop-client', clientSecret: 'fake-secret', retry: false, dpop: true, ...options } as TokenClientOptions);
  clients.push(c);
  return c;
}
const token = (headers: Record<string, string> = {}): Reply => () => HttpResponse.json({ access_token: 'fake-dpop-token', token_type: 'DPoP', expires_in: 600 }, { headers });
const refusal = (status: number, body: string | Record<string, string>, nonce?: string): Reply => () =>
  (typeof body === 'string' ? new HttpResponse(body, { status, headers: { 'content-type': 'text/plain', ...(nonce ? { 'dpop-nonce': nonce } : {}) } }) : HttpResponse.json(body, { status, headers: nonce ? { 'dpop-nonce': nonce } : {} }));

describe('nonce challenges', () => {
  it('a 400 or a 401 use_dpop_nonce with a DPoP-Nonce is answered at once with that nonce', async () => {
    for (const status of [400, 401]) {
      replies = [refusal(status, { error: 'use_dpop_nonce' }, `nonce-${status}`), token()];
      proofs = [];
      const c = client();
      expect((await c.getToken()).tokenType).toBe('DPoP');
      expect(proofs).toEqual([undefined, `nonce-${status}`]);
    }
  });

  it('is not: another status, another error, a body that is not JSON, a nonce the client cannot use', async () => {
    const cases: [Reply, string][] = [
      [refusal(403, { error: 'use_dpop_nonce' }, 'nonce-a'), 'use_dpop_nonce'],
      [refusal(400, { error: 'invalid_dpop_proof', error_description: 'send use_dpop_nonce next time' }, 'nonce-b'), 'invalid_dpop_proof'],
      [refusal(400, 'use_dpop_nonce', 'nonce-c'), 'text'],
      [refusal(400, { error: 'use_dpop_nonce' }, 'a "quoted" nonce'), 'use_dpop_nonce'],
      [refusal(400, { error: 'use_dpop_nonce' }), 'use_dpop_nonce'],
    ];
    for (const [reply, what] of cases) {
      replies = [reply, token()];
      proofs = [];
      const error = await client().getToken().catch((e: unknown) => e);
      expect(error, what).toBeInstanceOf(what === 'text' ? Error : OAuthError);
      if (what !== 'text') expect(error).toMatchObject({ error: what });
      expect(proofs, what).toHaveLength(1);
    }
  });
});

describe('a DPoP-Nonce on a success', () => {
  it('is carried by the next token request, which needs no challenge', async () => {
    replies = [token({ 'dpop-nonce': 'nonce-from-200' }), token()];
    const c = client();
    await c.getToken();
    await c.getToken({ forceRefresh: true });
    expect(proofs).toEqual([undefined, 'nonce-from-200']);
  });
});
