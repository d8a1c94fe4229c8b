export { TokenClient } from './token-client.js';
export type {
  ClientAssertionOptions,
  ClientAuthentication,
  TlsCredentials,
  MemoryCacheOptions,
  RetryOptions,
  TokenClientErrorEvent,
  TokenClientOptions,
} from './options.js';
export type {
  AssertionAudience,
  BasicCredentialEncoding,
  ClientAssertionClaims,
  ClientAssertionSigner,
  ProxyOption,
} from './options.js';
export { createToken } from './token-source.js';
export type { GetTokenOptions, Token, TokenFields, TokenSource } from './token-source.js';
export type { StoredToken, TokenStore, TokenStoreLease } from './stores/token-store.js';
export type { Clock, EpochMilliseconds, Milliseconds } from './types.js';
export {
  ConfigurationError,
  ErrorCode,
  OAuthError,
  TokenClientError,
  TokenRequestError,
  TokenResponseError,
} from './errors.js';
