// What the m2m-token:request tracing channel says about the endpoint (OTel server.address / server.port), how long an
// attempt took, and the key fingerprint: the same key gives the same fingerprint in every client and process.
import diagnosticsChannel from 'node:diagnostics_channel';
import { diagnosticsChannels, ErrorCode, TokenClient, type CacheLookupMessage, type StoreErrorMessage, type TokenClientErrorEvent, type TokenRequestMessage } from 'm2m-token';
import { localhostPassthrough, mockNetwork, mockTokenEndpoint, useMockNetwork } from 'm2m-token/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setup } from './helpers/client.js';
import { json } from './helpers/token-server.js';

const named = mockTokenEndpoint({ domain: 'tenant.example.com', clientId: 'app', clientSecret: 'fake-secret' });
const ipv6 = mockTokenEndpoint({ tokenEndpoint: 'https://[::1]:8443/as/token', clientId: 'app', clientSecret: 'fake-secret' });
const plain = mockTokenEndpoint({ tokenEndpoint: 'http://localhost/as/token', clientId: 'app', clientSecret: 'fake-secret' });
// The loopback token server of the store:error test is let through.
useMockNetwork(mockNetwork(named.handlers, ipv6.handlers, plain.handlers, localhostPassthrough()), { beforeAll, afterEach, afterAll }, { reset: [named, ipv6, plain] });

const clients: TokenClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
const make = (endpoint: { domain: string } | { tokenEndpoint: string }, audience = 'https://api.example.com') => {
  const c = new TokenClient({ ...endpoint, clientId: 'app', clientSecret: 'fake-secret', audience });
  clients.push(c);
  return c;
};

/** The asyncEnd messages of the request channel, and the cache channel's messages, while `run` runs. */
async function observe(run: () => Promise<unknown>): Promise<{ requests: TokenRequestMessage[]; lookups: CacheLookupMessage[] }> {
  const requests: TokenRequestMessage[] = [];
  const lookups: CacheLookupMessage[] = [];
  const tracing = diagnosticsChannel.tracingChannel(diagnosticsChannels.request);
  const none = () => {};
  const handlers = { start: none, end: none, asyncStart: none, error: none, asyncEnd: (m: unknown) => void requests.push({ ...(m as TokenRequestMessage) }) };
  const onLookup = (m: unknown) => void lookups.push(m as CacheLookupMessage);
  tracing.subscribe(handlers);
  diagnosticsChannel.subscribe(diagnosticsChannels.cache, onLookup);
  try {
    await run();
  } finally {
    tracing.unsubscribe(handlers);
    diagnosticsChannel.unsubscribe(diagnosticsChannels.cache, onLookup);
  }
  return { requests, lookups };
}

describe('m2m-token:request', () => {
  it('names the server by host and port: 443 or 80 when the URL has none, an IPv6 address without brackets', async () => {
    const { requests } = await observe(async () => {
      await make({ domain: 'tenant.example.com' }).getToken();
      await make({ tokenEndpoint: 'https://[::1]:8443/as/token' }).getToken();
      await make({ tokenEndpoint: 'http://localhost/as/token' }).getToken();
    });
    expect(requests).toMatchObject([
      { endpoint: 'https://tenant.example.com', path: '/oauth/token', serverAddress: 'tenant.example.com', serverPort: 443, method: 'POST', authMethod: 'client_secret_post', attempt: 1, status: 200 },
      { endpoint: 'https://[::1]:8443', path: '/as/token', serverAddress: '::1', serverPort: 8443, attempt: 1, status: 200 },
      { endpoint: 'http://localhost', path: '/as/token', serverAddress: 'localhost', serverPort: 80, attempt: 1, status: 200 },
    ]);
    // How long the attempt took: a few milliseconds here, never a clock reading.
    for (const m of requests) {
      expect(m.duration).toBeGreaterThanOrEqual(0);
      expect(m.duration).toBeLessThan(5_000);
    }
  });
});

describe('key fingerprints', () => {
  it('the same key has the same fingerprint in every client; another key has another', async () => {
    const { requests, lookups } = await observe(async () => {
      await make({ domain: 'tenant.example.com' }).getToken();
      const second = make({ domain: 'tenant.example.com' });
      await second.getToken();
      await second.getToken();
      await second.getToken({ audience: 'https://other.example.com' });
      await second.getToken({ audience: 'https://other.example.com' });
    });
    expect(lookups.map((m) => m.result)).toEqual(['miss', 'miss', 'hit', 'miss', 'hit']);
    const [a, b, hit, other, otherHit] = lookups.map((m) => m.key);
    expect(a).toMatch(/^[0-9a-f]{12}$/);
    expect([b, hit]).toEqual([a, a]);
    expect(other).not.toBe(a);
    expect(otherHit).toBe(other);
    expect(requests.map((m) => m.key)).toEqual([a, a, other]);
    expect(Object.isFrozen(lookups[2])).toBe(true);
  });
});

describe('m2m-token:store:error', () => {
  it('carries store failures only: not the other problems reported through onError', async () => {
    const messages: StoreErrorMessage[] = [];
    const onMessage = (m: unknown) => void messages.push(m as StoreErrorMessage);
    diagnosticsChannel.subscribe(diagnosticsChannels.storeError, onMessage);
    try {
      const events: TokenClientErrorEvent[] = [];
      const { server, client } = await setup({ retry: false, onError: (e) => events.push(e) });
      server.respond((_req, res) => json(res, 429, { error: 'too_many_requests' }, { 'auth0-client-quota-limit': 'b=per_hour;q=5;r=0;t=600' }));
      await expect(client.getToken()).rejects.toMatchObject({ code: ErrorCode.QUOTA_EXCEEDED });
      expect(events.map((e) => [e.type, e.error.code])).toEqual([['quota', ErrorCode.QUOTA_LOW], ['quota', ErrorCode.QUOTA_EXCEEDED]]);
      expect(messages).toEqual([]);
      const failing = await setup({ cache: { get: () => Promise.reject(new Error('fake store down')), set: async () => {}, delete: async () => {} }, onError: () => {} });
      await failing.client.getToken();
      expect(messages.map((m) => [m.operation, m.error.code])).toEqual([['get', ErrorCode.STORE_ERROR]]);
    } finally {
      diagnosticsChannel.unsubscribe(diagnosticsChannels.storeError, onMessage);
    }
  });
});
