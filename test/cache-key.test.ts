import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cacheKey } from '../src/cache-key.js';
import { TokenClient, type GetTokenOptions } from '../src/index.js';
import { mergeTokenParams, normalizeTokenParams } from '../src/token-params.js';
import { startTokenServer, type TokenServer } from './helpers/token-server.js';

const ENDPOINT = 'https://tenant.auth0.com/oauth/token';
const baseInput = {
  audience: 'https://api.example.com',
  organization: 'org_1',
  scope: 'read write',
  resource: ['https://r1.example.com'],
  extraParams: { tenant_hint: 'eu' },
};
const keyOf = (input: Parameters<typeof normalizeTokenParams>[0], endpoint = ENDPOINT, clientId = 'cid') =>
  cacheKey(endpoint, clientId, normalizeTokenParams(input, ''));

const variants: [field: string, input: Parameters<typeof normalizeTokenParams>[0]][] = [
  ['audience', { ...baseInput, audience: 'https://other-api.example.com' }],
  ['audience (absent)', { ...baseInput, audience: undefined }],
  ['organization', { ...baseInput, organization: 'org_2' }],
  ['organization (absent)', { ...baseInput, organization: undefined }],
  ['scope', { ...baseInput, scope: 'read' }],
  ['resource', { ...baseInput, resource: ['https://r2.example.com'] }],
  ['extraParams value', { ...baseInput, extraParams: { tenant_hint: 'us' } }],
  ['extraParams name', { ...baseInput, extraParams: { region_hint: 'eu' } }],
  ['extraParams (absent)', { ...baseInput, extraParams: undefined }],
];

describe('cacheKey', () => {
  it.each(variants)('changes when only %s differs', (_field, input) => {
    expect(keyOf(input)).not.toBe(keyOf(baseInput));
  });

  it('gives every variant its own key', () => {
    const keys = new Set([baseInput, ...variants.map(([, input]) => input)].map((input) => keyOf(input)));
    expect(keys.size).toBe(variants.length + 1);
  });

  it('changes with the token endpoint and the client id', () => {
    expect(keyOf(baseInput, 'https://other.auth0.com/oauth/token')).not.toBe(keyOf(baseInput));
    expect(keyOf(baseInput, ENDPOINT, 'cid2')).not.toBe(keyOf(baseInput));
  });

  it('gives scope "b a a" and ["a", "b"] the same key', () => {
    expect(keyOf({ scope: 'b a a' })).toBe(keyOf({ scope: ['a', 'b'] }));
    expect(keyOf({ scope: 'b a a' })).not.toBe(keyOf({ scope: ['a'] }));
  });

  it('ignores the order of resources and of extraParams names', () => {
    expect(keyOf({ resource: ['https://b', 'https://a'] })).toBe(keyOf({ resource: ['https://a', 'https://b', 'https://a'] }));
    expect(keyOf({ extraParams: { a: '1', b: '2' } })).toBe(keyOf({ extraParams: { b: '2', a: '1' } }));
    expect(keyOf({ extraParams: { a: '1' } })).toBe(keyOf({ extraParams: { a: ['1'] } }));
  });

  it('keeps values that could collide under a separator apart', () => {
    expect(keyOf({ audience: 'null' })).not.toBe(keyOf({}));
    expect(keyOf({ audience: 'a', organization: 'b' })).not.toBe(keyOf({ audience: 'a","b' }));
    expect(keyOf({ extraParams: { a: ['1', '2'] } })).not.toBe(keyOf({ extraParams: { a: '1,2' } }));
  });
});

describe('mergeTokenParams', () => {
  const defaults = normalizeTokenParams(baseInput, '');
  const merged = (call: Parameters<typeof mergeTokenParams>[1]) => cacheKey(ENDPOINT, 'cid', mergeTokenParams(defaults, call));

  it('gives the default key for per-call values equal to the defaults', () => {
    expect(merged({ audience: baseInput.audience, scope: ['write', 'read'] })).toBe(keyOf(baseInput));
  });

  it.each([
    ['audience', { audience: 'https://other-api.example.com' }],
    ['organization', { organization: 'org_2' }],
    ['scope', { scope: 'read' }],
    ['resource', { resource: 'https://r2.example.com' }],
    ['extraParams', { extraParams: { tenant_hint: 'us' } }],
  ])('gives a different key when the call overrides %s', (_field, call) => {
    expect(merged(call)).not.toBe(keyOf(baseInput));
  });

  it('merges extraParams by name over the defaults', () => {
    expect(merged({ extraParams: { region: 'x' } })).toBe(keyOf({ ...baseInput, extraParams: { tenant_hint: 'eu', region: 'x' } }));
  });
});

describe('cache key through TokenClient', () => {
  let server: TokenServer;
  let client: TokenClient;

  beforeEach(async () => {
    server = await startTokenServer();
    client = new TokenClient({ tokenEndpoint: server.url, clientId: 'cid', clientSecret: 'csecret', ...baseInput });
  });

  afterEach(async () => {
    await client.close();
    await server.close();
  });

  it('shares one token between scope "b a a" and ["a", "b"]', async () => {
    const first = await client.getToken({ scope: 'b a a' });
    const second = await client.getToken({ scope: ['a', 'b'] });
    expect(second.accessToken).toBe(first.accessToken);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.form.get('scope')).toBe('a b');
  });

  it('requests a new token for each parameter set that differs in one field', async () => {
    const calls: GetTokenOptions[] = [
      {},
      { audience: 'https://other-api.example.com' },
      { organization: 'org_2' },
      { scope: 'read' },
      { resource: 'https://r2.example.com' },
      { extraParams: { tenant_hint: 'us' } },
    ];
    const tokens = [];
    for (const call of calls) tokens.push((await client.getToken(call)).accessToken);
    expect(new Set(tokens).size).toBe(calls.length);
    expect(server.requests).toHaveLength(calls.length);

    for (const call of calls) await client.getToken(call);
    expect(server.requests).toHaveLength(calls.length);
  });
});
