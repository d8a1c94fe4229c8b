/**
 * `m2m-token/testing`: mock tokens in your app's own tests. `mockTokenEndpoint`, `mockNetwork` and
 * `localhostPassthrough` load msw 3, its HTTP interceptor and jose on their first call, from a CommonJS
 * bundle in the package (see msw-loader.ts). The fakes and `ManualClock` never load them, and the core
 * entry `m2m-token` never does. Install msw (an optional peer) for its types and your own handlers.
 */
export { ManualClock } from './clock.js';
export { FakeTokenSource, staticTokenSource } from './fakes.js';
export type { FakeTokenCall, FakeTokenMatch, FakeTokenSourceOptions } from './fakes.js';
export { localhostPassthrough, mockNetwork, UnmockedRequestError, useMockNetwork } from './network.js';
export type { MockNetwork, Resettable, TestHook, TestHooks, UnhandledRequest, UseMockNetworkOptions } from './network.js';
export { mockTokenEndpoint } from './token-endpoint.js';
export type { MockTokenEndpoint, MockTokenEndpointBaseOptions, MockTokenEndpointOptions, RecordedTokenRequest, SignTokenOptions } from './token-endpoint.js';
export type { MockOrganization } from './auth0-rules.js';
export type { JsonWebKeySet } from './jwks.js';
export type { ObservedClientAuthentication } from './parse-token-request.js';
export type { TokenEndpointReply } from './replies.js';
export type { MockQuota, MockQuotas } from './quotas.js';
