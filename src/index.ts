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
  BasicCredentialEncoding,
  ClientAssertionClaims,
  ClientAssertionSigner,
  ProxyOption,
} from './options.js';
export type { EnvName, EnvOverrides, EnvRecord } from './env.js';
export { createToken } from './token-source.js';
export type { GetTokenOptions, Token, TokenFields, TokenSource } from './token-source.js';
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
