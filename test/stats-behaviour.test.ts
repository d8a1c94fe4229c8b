// client.stats() beyond diagnostics.test.ts: requests counted for signed client assertions too, problems reported
// through onError as lastError, and an onError that throws changes nothing for the caller.
import { generateKeyPairSync } from 'node:crypto';
import { ErrorCode, type TokenStore } from 'm2m-token';
import { describe, expect, it } from 'vitest';
import { setup } from './helpers/client.js';
import { ManualClock } from './helpers/clock.js';
import { json } from './helpers/token-server.js';

describe('stats()', () => {
  it('counts the requests of a client that signs an assertion per request (private_key_jwt), retries included', async () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const { server, client } = await setup({ clientSecret: undefined, clientAssertion: { key }, retry: { retries: 2, baseDelay: 1, maxDelay: 1 } });
    let n = 0;
    server.respond((_req, res, i) => (++n === 1 ? json(res, 503, {}) : json(res, 200, { access_token: `at-${i}`, token_type: 'Bearer', expires_in: 3600 })));
    await client.getToken();
    await client.getToken({ audience: 'https://other' });
    expect(server.requests).toHaveLength(3);
    expect(server.requests[0]!.form.get('client_assertion_type')).toMatch(/jwt-bearer/);
    expect(client.stats()).toMatchObject({ requests: 3, misses: 2, hits: 0, failures: 0 });
  });

  it('a problem reported through onError is the last error, with its code and time', async () => {
    const clock = new ManualClock();
    const store: TokenStore = { get: () => Promise.reject(new Error('fake store down')), set: async () => {}, delete: async () => {} };
    const { client } = await setup({ clock, cache: store, onError: () => {} });
    clock.advance(5_000);
    await client.getToken();
    expect(client.stats()).toMatchObject({ failures: 0, requests: 1, lastError: { code: ErrorCode.STORE_ERROR, at: clock.now() } });
  });

  it('an onError that throws does not fail the call that reported', async () => {
    const store: TokenStore = { get: () => Promise.reject(new Error('fake store down')), set: async () => {}, delete: async () => {} };
    let reported = 0;
    const { client } = await setup({
      cache: store,
      onError: () => {
        reported++;
        throw new Error('a broken onError');
      },
    });
    expect((await client.getToken()).accessToken).toBe('token-1');
    expect(reported).toBeGreaterThan(0);
  });
});
