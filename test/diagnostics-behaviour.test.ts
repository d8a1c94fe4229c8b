// What the m2m-token:request tracing channel says about the endpoint (OTel server.address / server.port), how long an
// attempt took, and the key fingerprint: the same key gives the same fingerprint in every client and process.
import diagnosticsChannel from 'node:diagnostics_channel';
import { diagnosticsChannels, TokenClient, type CacheLookupMessage, type TokenRequestMessage } from 'm2m-token';
import { mockNetwork, mockTokenEndpoint, useMockNetwork } from 'm2m-token/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const named = mockTokenEndpoint({ domain: 'tenant.example.com', clientId: 'app', clientSecret: 'fake-secret' });
const ipv6 = mockTokenEndpoint({ tokenEndpoint: 'https://[::1]:8443/as/token', clientId: 'app', clientSecret: 'fake-secret' });
useMockNetwork(mockNetwork(named.handlers, ipv6.handlers), { beforeAll, afterEach, afterAll }, { reset: [named, ipv6] });

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
  const handlers = { asyncEnd: (m: unknown) => void requests.push({ ...(m as TokenRequestMessage) }) };
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
  it('names the server by host and port: 443 when the URL has none, an IPv6 address without brackets', async () => {
    const { requests } = await observe(async () => {
      await make({ domain: 'tenant.example.com' }).getToken();
      await make({ tokenEndpoint: 'https://[::1]:8443/as/token' }).getToken();
    });
    expect(requests).toMatchObject([
      { endpoint: 'https://tenant.example.com', path: '/oauth/token', serverAddress: 'tenant.example.com', serverPort: 443, method: 'POST', authMethod: 'client_secret_post', attempt: 1, status: 200 },
      { endpoint: 'https://[::1]:8443', path: '/as/token', serverAddress: '::1', serverPort: 8443, attempt: 1, status: 200 },
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
