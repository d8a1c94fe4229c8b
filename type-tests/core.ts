// Type tests of the core entry, compiled by `npm run check:types` against the packed tarball (as .ts, .mts and .cts),
// in a consumer with no optional peer and no undici installed, and by the repository's `npm run typecheck` against
// src/. No top-level await and no import.meta: the same file must compile as CommonJS.
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import {
  ConfigurationError,
  createToken,
  ErrorCode,
  isTokenClientError,
  OAuthError,
  TokenClient,
  TokenClientError,
  TokenRequestError,
  TokenResponseError,
  type DispatcherLike,
  type GetTokenOptions,
  type M2MError,
  type RetryOptions,
  type StoredToken,
  type Token,
  type TokenClientOptions,
  type TokenSource,
  type TokenStore,
} from 'm2m-token';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
function expectType<T extends true>(): T | undefined {
  return undefined;
}

// ── Options ────────────────────────────────────────────────────────────────────────────────────────────────────
export function validOptions(env: NodeJS.ProcessEnv): TokenClient[] {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return [
    new TokenClient({ domain: 'tenant.auth0.com', clientId: 'id', clientSecret: 'fake-secret' }),
    new TokenClient({ tokenEndpoint: 'https://as.example.com/token', clientId: 'id', clientSecret: 'fake-secret', clientAuthentication: 'client_secret_basic' }),
    new TokenClient({ tokenEndpoint: new URL('https://as.example.com/token'), clientId: 'id', clientAssertion: { key: privateKey } }),
    new TokenClient({ issuer: 'https://login.example.com/realms/acme', clientId: 'id', clientAssertion: { key: '-----BEGIN PRIVATE KEY-----', alg: 'ES256', kid: 'k1' } }),
    new TokenClient({ issuer: new URL('https://login.example.com'), clientId: 'id', tls: { cert: 'PEM', key: Buffer.from('PEM'), ca: ['PEM'] } }),
    // A private JWK (jose's JWK type, not @types/node's JsonWebKey, which comes and goes between versions).
    new TokenClient({ domain: 'd', clientId: 'id', clientAssertion: { key: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'd', kid: 'k' } } }),
    new TokenClient({ domain: 'd', clientId: 'id', clientAssertion: { key: createPrivateKey('PEM') } }),
    // Several credentials at once are allowed (the method is chosen from them).
    new TokenClient({ domain: 'd', clientId: 'id', clientSecret: 's', clientAssertion: { key: 'PEM' }, tls: { cert: 'c', key: 'k' } }),
    // `undefined` wherever the run time accepts it, also under exactOptionalPropertyTypes.
    new TokenClient({
      domain: env['AUTH0_DOMAIN'] ?? 'tenant.auth0.com',
      tokenEndpoint: undefined,
      issuer: undefined,
      clientId: env['CLIENT_ID'] ?? 'id',
      clientSecret: env['CLIENT_SECRET'] ?? 'fake-secret',
      clientAssertion: undefined,
      tls: undefined,
      clientAuthentication: undefined,
      audience: env['AUDIENCE'],
      organization: env['ORGANIZATION'],
      scope: env['SCOPE'],
      resource: undefined,
      extraParams: undefined,
      allowedTokenTypes: undefined,
      expiryLeeway: undefined,
      refreshAhead: undefined,
      defaultLifetime: undefined,
      cache: undefined,
      storeTimeout: undefined,
      timeout: undefined,
      totalTimeout: undefined,
      retry: { retries: undefined, baseDelay: undefined, maxDelay: undefined, maxRetryAfter: undefined },
      dispatcher: undefined,
      userAgent: undefined,
      allowInsecureHttp: undefined,
      onError: undefined,
      clock: undefined,
    }),
    new TokenClient({ domain: 'd', clientId: 'id', clientSecret: undefined, tls: { cert: 'c', key: 'k', ca: undefined, passphrase: undefined } }),
    new TokenClient({ domain: 'd', clientId: 'id', clientAssertion: { key: 'PEM', kid: undefined, alg: undefined, audience: undefined } }),
    new TokenClient({ domain: 'd', clientId: 'id', clientSecret: 's', retry: false, refreshAhead: false, cache: { max: 10, store: undefined } }),
  ];
}

export function impossibleOptions(): void {
  // @ts-expect-error no endpoint: give domain, tokenEndpoint or issuer
  new TokenClient({ clientId: 'id', clientSecret: 's' });
  // @ts-expect-error two endpoints
  new TokenClient({ domain: 'd', tokenEndpoint: 'https://as.example.com/token', clientId: 'id', clientSecret: 's' });
  // @ts-expect-error two endpoints
  new TokenClient({ domain: 'd', issuer: 'https://as.example.com', clientId: 'id', clientSecret: 's' });
  // @ts-expect-error two endpoints
  new TokenClient({ tokenEndpoint: 'https://as.example.com/token', issuer: 'https://as.example.com', clientId: 'id', clientSecret: 's' });
  // @ts-expect-error no credential: give clientSecret, clientAssertion or tls
  new TokenClient({ domain: 'd', clientId: 'id' });
  // @ts-expect-error no credential (undefined is none)
  new TokenClient({ domain: 'd', clientId: 'id', clientSecret: undefined });
  // @ts-expect-error clientId is required
  new TokenClient({ domain: 'd', clientSecret: 's' });
  // @ts-expect-error a typo in an option name
  new TokenClient({ domain: 'd', clientId: 'id', clientSecret: 's', audiance: 'https://api' });
  // @ts-expect-error a typo in a retry option
  new TokenClient({ domain: 'd', clientId: 'id', clientSecret: 's', retry: { retry: 3 } });
  // @ts-expect-error durations are numbers of milliseconds
  new TokenClient({ domain: 'd', clientId: 'id', clientSecret: 's', timeout: '10s' });
  // @ts-expect-error not a client authentication method
  new TokenClient({ domain: 'd', clientId: 'id', clientSecret: 's', clientAuthentication: 'client_secret' });
  // @ts-expect-error a dispatcher needs dispatch()
  new TokenClient({ domain: 'd', clientId: 'id', clientSecret: 's', dispatcher: {} });
}

// Options built up in steps, spread and partially applied, as applications do.
export function composedOptions(env: NodeJS.ProcessEnv, overrides: Partial<TokenClientOptions>): TokenClient[] {
  const shared = { clientId: 'id', clientSecret: 'fake-secret', audience: env['AUDIENCE'], timeout: 5_000 };
  const options: TokenClientOptions = { domain: 'tenant.auth0.com', ...shared };
  const retry: RetryOptions = { retries: Number(env['RETRIES'] ?? 3) };
  const dispatcher: DispatcherLike = { dispatch: () => true };
  return [
    new TokenClient(options),
    new TokenClient({ ...options, retry, dispatcher }),
    new TokenClient({ ...options, ...overrides } as TokenClientOptions),
  ];
}

// ── getToken ───────────────────────────────────────────────────────────────────────────────────────────────────
export async function calls(client: TokenClient, env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<string> {
  const call: GetTokenOptions = { audience: env['AUDIENCE'], organization: undefined, scope: ['read'], signal, forceRefresh: undefined };
  const token: Token = await client.getToken(call);
  await client.getToken({ audience: env['AUDIENCE'], resource: undefined, extraParams: undefined, signal: undefined });
  await client.invalidate({ audience: 'https://api' });
  const expiresAt: number = token.expiresAt;
  const scope: readonly string[] | undefined = token.scope;
  // @ts-expect-error accessToken is read-only
  token.accessToken = 'x';
  // @ts-expect-error a typo in a call option
  await client.getToken({ audiance: 'https://api' });
  void expiresAt;
  void scope;
  await client.close();
  return client.getAuthorizationHeader();
}

export class MyTokenSource implements TokenSource {
  async getToken(options?: GetTokenOptions): Promise<Token> {
    return createToken({ accessToken: `token-for-${options?.audience ?? 'default'}`, tokenType: 'Bearer', expiresIn: 1000, expiresAt: Date.now() + 1000 });
  }
}

export const memoryStore: TokenStore = {
  async get(): Promise<StoredToken | undefined> {
    return { accessToken: 'a', tokenType: 'Bearer', expiresIn: 1, expiresAt: 1, scope: undefined };
  },
  async set() {},
  async delete() {},
};

// ── Errors narrow by code ──────────────────────────────────────────────────────────────────────────────────────
export function describe(err: unknown): string {
  if (err instanceof TokenClientError && err.code === ErrorCode.OAUTH_ERROR) {
    expectType<Equal<typeof err, OAuthError>>();
    return `${err.status} ${err.error} ${err.errorDescription ?? ''}`;
  }
  if (err instanceof TokenClientError && err.code === 'M2M_INVALID_OPTION') return err.option;
  if (err instanceof TokenClientError && err.code === ErrorCode.HTTP_STATUS) return String(err.status);
  if (err instanceof TokenClientError) {
    // @ts-expect-error without a code check, `error` belongs to OAuthError only
    void err.error;
    switch (err.code) {
      case ErrorCode.INVALID_OPTION:
        return err.option;
      case ErrorCode.OAUTH_ERROR:
        return err.error;
      case ErrorCode.HTTP_STATUS:
      case ErrorCode.RESPONSE_NOT_JSON:
      case ErrorCode.RESPONSE_MALFORMED_JSON:
      case ErrorCode.RESPONSE_INVALID:
      case ErrorCode.RESPONSE_TOO_LARGE:
      case ErrorCode.TOKEN_TYPE_UNSUPPORTED:
      case ErrorCode.DISCOVERY_FAILED:
        expectType<Equal<typeof err, TokenResponseError>>();
        return String(err.status);
      case ErrorCode.TIMEOUT:
      case ErrorCode.NETWORK_ERROR:
      case ErrorCode.ABORTED:
      case ErrorCode.CLIENT_CLOSED:
        expectType<Equal<typeof err, TokenRequestError>>();
        return String(err.attempts);
      case ErrorCode.UNEXPECTED:
      case ErrorCode.STORE_ERROR:
      case ErrorCode.STALE_TOKEN:
      case ErrorCode.UNSUPPORTED_RUNTIME:
      case ErrorCode.QUOTA_LOW:
        expectType<Equal<typeof err, TokenClientError<'M2M_UNEXPECTED_ERROR' | 'M2M_STORE_ERROR' | 'M2M_STALE_TOKEN' | 'M2M_UNSUPPORTED_RUNTIME' | 'M2M_QUOTA_LOW'>>>();
        return err.message;
      case ErrorCode.QUOTA_EXCEEDED:
        return new Date(err.resetAt).toISOString();
      default: {
        const exhaustive: never = err;
        return exhaustive;
      }
    }
  }
  if (isTokenClientError(err, ErrorCode.OAUTH_ERROR)) {
    expectType<Equal<typeof err, OAuthError>>();
    return err.error;
  }
  if (isTokenClientError(err, ErrorCode.TIMEOUT, ErrorCode.HTTP_STATUS)) {
    expectType<Equal<typeof err, TokenRequestError | TokenResponseError>>();
    return err.code;
  }
  if (isTokenClientError(err)) {
    expectType<Equal<typeof err, M2MError>>();
    return err.code;
  }
  if (err instanceof OAuthError) {
    expectType<Equal<typeof err.code, 'M2M_OAUTH_ERROR'>>();
    return err.error;
  }
  if (err instanceof ConfigurationError) {
    expectType<Equal<typeof err.code, 'M2M_INVALID_OPTION'>>();
    return err.option;
  }
  // The codes are stable string literals.
  expectType<Equal<typeof ErrorCode.OAUTH_ERROR, 'M2M_OAUTH_ERROR'>>();
  expectType<Equal<ErrorCode, M2MError['code']>>();
  return String(err);
}

export function onError(): TokenClient {
  return new TokenClient({
    domain: 'd',
    clientId: 'id',
    clientSecret: 's',
    onError(event) {
      if (event.error.code === ErrorCode.STORE_ERROR) console.warn(event.operation, event.error.message);
      if (event.error.code === ErrorCode.OAUTH_ERROR) console.warn(event.error.error);
    },
  });
}
