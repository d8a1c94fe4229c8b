/**
 * `m2m-token`: the {@link TokenClient}, which gets OAuth 2.0 client_credentials tokens, caches them per audience,
 * organization and scope, refreshes them ahead of expiry and collapses concurrent callers into one request; the
 * {@link TokenSource} interface the adapters and fakes share; and the typed errors.
 *
 * ```ts
 * import { TokenClient } from 'm2m-token';
 *
 * const client = new TokenClient({ domain: 'tenant.eu.auth0.com', clientId, clientSecret, audience: 'https://api.example.com' });
 * const authorization = await client.getAuthorizationHeader(); // "Bearer eyJ…", cached
 * ```
 *
 * @module m2m-token
 */
export { TokenClient } from './token-client.js';
export type {
  ClientAssertionCredentials,
  ClientAssertionOptions,
  ClientAuthentication,
  ClientCredentialFields,
  ClientCredentialOptions,
  ClientSecretCredentials,
  DispatcherLike,
  DomainEndpointOptions,
  DpopKeyPair,
  DpopOptions,
  IssuerEndpointOptions,
  QuotaOptions,
  MemoryCacheOptions,
  RetryOptions,
  TlsClientCredentials,
  TlsCredentials,
  TokenClientBaseOptions,
  TokenClientErrorEvent,
  TokenClientOptions,
  TokenEndpointFields,
  TokenEndpointOptions,
  UrlEndpointOptions,
} from './options.js';
export type {
  AssertionAudience,
  ClientAssertionAudienceOptions,
  ClientAssertionFileOptions,
  ClientAssertionKeyOptions,
  ClientAssertionSignerOptions,
  BasicCredentialEncoding,
  ClientAssertionClaims,
  ClientAssertionSigner,
  ProxyOption,
} from './options.js';
export type { EnvName, EnvOverrides, EnvRecord } from './env.js';
export { createToken } from './token-source.js';
export type { GetTokenOptions, RequestHeaders, RequestHeadersOptions, Token, TokenFields, TokenSource } from './token-source.js';
export type { StoredToken, TokenStore, TokenStoreBlocks, TokenStoreLease } from './stores/token-store.js';
export type { Clock, EpochMilliseconds, Milliseconds } from './types.js';
export {
  ConfigurationError,
  ErrorCode,
  isTokenClientError,
  OAuthError,
  TokenClientError,
  TokenRequestError,
  TokenResponseError,
} from './errors.js';
export type {
  ErrorDetails,
  InstanceOfTokenClientError,
  M2MError,
  TokenClientErrorWithCode,
  TokenRequestErrorCode,
  TokenResponseErrorCode,
} from './errors.js';
export { QuotaExceededError } from './quota.js';
export type { QuotaBucket, QuotaReading, QuotaScope, RateLimitReading } from './quota.js';
export type { QuotaBlockStats, TokenClientStats, TokenStats } from './stats.js';
export { diagnosticsChannels } from './diagnostics.js';
export type {
  CacheLookupMessage,
  QuotaBlockMessage,
  QuotaMessage,
  RefreshMessage,
  StoreErrorMessage,
  TokenRequestMessage,
} from './diagnostics.js';
