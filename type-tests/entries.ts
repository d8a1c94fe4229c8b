// Type tests of the subpath entries (fetch, axios, undici, testing, redis) with their optional peers installed,
// compiled by `npm run check:types` against the packed tarball (as .ts, .mts and .cts). No top-level await and no
// import.meta: the same file must compile as CommonJS.
import axios from 'axios';
import { Redis } from 'ioredis';
import { http, HttpResponse } from 'msw';
import { ErrorCode, OAuthError, TokenClient, type TokenSource } from 'm2m-token';
import { attachTokens } from 'm2m-token/axios';
import { fetchWithTokens, type FetchWithTokensOptions, type TokenAdapterOptions } from 'm2m-token/fetch';
import { RedisTokenStore, type RedisTokenStoreOptions } from 'm2m-token/redis';
import {
  FakeTokenSource,
  ManualClock,
  localhostPassthrough,
  mockNetwork,
  mockTokenEndpoint,
  staticTokenSource,
  type MockTokenEndpointOptions,
} from 'm2m-token/testing';
import { tokenInterceptor } from 'm2m-token/undici';
import { Agent, EnvHttpProxyAgent, interceptors, MockAgent, ProxyAgent, request } from 'undici';

export async function adapters(client: TokenClient, env: NodeJS.ProcessEnv): Promise<void> {
  const options: TokenAdapterOptions = {
    targets: { 'https://billing.internal': { audience: env['BILLING_AUDIENCE'], scope: ['read'] } },
    anyOrigin: undefined,
    renewOn: undefined,
  };
  const apiFetch = fetchWithTokens(client, options);
  const response = await apiFetch('https://billing.internal/invoices', { method: 'POST', body: '{}' });
  const status: number = response.status;
  const withFetch: FetchWithTokensOptions = { ...options, fetch: undefined };
  fetchWithTokens(client, withFetch);
  // @ts-expect-error renewOn takes 'any-401' or 'invalid_token'
  fetchWithTokens(client, { targets: {}, renewOn: 'always' });

  const instance = axios.create({ baseURL: 'https://billing.internal' });
  const detach: () => void = attachTokens(instance, client, options);
  detach();

  const dispatcher = new Agent().compose(tokenInterceptor(client, options), interceptors.redirect({ maxRedirections: 3 }));
  const { statusCode } = await request('https://billing.internal/invoices', { dispatcher });
  void status;
  void statusCode;
}

// Any undici dispatcher fits the core's structural `dispatcher` option.
export function dispatchers(): TokenClient[] {
  const base = { domain: 'tenant.auth0.com', clientId: 'id', clientSecret: 'fake-secret' } as const;
  return [
    new TokenClient({ ...base, dispatcher: new Agent({ connect: { timeout: 5_000 } }) }),
    new TokenClient({ ...base, dispatcher: new ProxyAgent('http://proxy.internal:3128') }),
    new TokenClient({ ...base, dispatcher: new EnvHttpProxyAgent() }),
    new TokenClient({ ...base, dispatcher: new MockAgent() }),
    new TokenClient({ ...base, dispatcher: new Agent().compose(interceptors.retry()) }),
  ];
}

export function redis(env: NodeJS.ProcessEnv): TokenClient {
  const options: RedisTokenStoreOptions = {
    redis: new Redis(env['REDIS_URL'] ?? 'redis://localhost', { enableOfflineQueue: false, commandTimeout: 500 }),
    encryptionKeys: [env['TOKEN_KEY'] ?? '', Buffer.alloc(32)],
    prefix: env['PREFIX'],
  };
  const store = new RedisTokenStore(options);
  return new TokenClient({ domain: 'd', clientId: 'id', clientSecret: 's', cache: store });
}

export async function testing(env: NodeJS.ProcessEnv): Promise<TokenSource[]> {
  const clock = new ManualClock();
  const endpoint: MockTokenEndpointOptions = {
    domain: 'tenant.auth0.com',
    clientId: 'id',
    clientSecret: 'fake-secret',
    audiences: ['https://api'],
    defaultAudience: env['AUDIENCE'],
    clock,
  };
  const auth = mockTokenEndpoint(endpoint);
  // @ts-expect-error one of domain and tokenEndpoint
  mockTokenEndpoint({ clientId: 'id', clientSecret: 's' });
  // @ts-expect-error one of domain and tokenEndpoint, not both
  mockTokenEndpoint({ domain: 'd', tokenEndpoint: 'https://as.example.com/token', clientId: 'id', clientSecret: 's' });
  const network = mockNetwork(
    auth.handlers,
    http.get('https://api.example.com/things', () => HttpResponse.json([])),
    localhostPassthrough(),
  );
  await network.enable();
  auth.replyNext({ kind: 'oauth-error', error: 'access_denied', status: undefined, delay: undefined });
  const signed: string = await auth.signToken({ audience: 'https://api', scope: ['read'], organization: undefined });
  const fake = new FakeTokenSource({ clock, token: undefined, expiresIn: undefined });
  fake.setToken('fake-token', { audience: 'https://api' });
  fake.failNext(new OAuthError({ status: 403, error: 'access_denied', endpoint: 'https://tenant.auth0.com' }));
  const client = new TokenClient({ domain: 'tenant.auth0.com', clientId: 'id', clientSecret: 'fake-secret', clock });
  try {
    await client.getToken({ audience: 'https://api' });
  } catch (err) {
    if (err instanceof OAuthError && err.code === ErrorCode.OAUTH_ERROR) console.log(err.error);
  }
  const first = auth.calls[0];
  if (first) console.log(first.clientAuthentication, first.audience);
  await network.disable();
  void signed;
  return [fake, staticTokenSource('fake-token'), client];
}
