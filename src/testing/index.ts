/**
 * `m2m-token/testing`: mock tokens in your app's own tests. This entry loads msw (≥ 3, an optional peer
 * dependency: install it as a devDependency); the core entry `m2m-token` never does.
 */
export { ManualClock } from './clock.js';
export { FakeTokenSource, staticTokenSource } from './fakes.js';
export type { FakeTokenCall, FakeTokenMatch, FakeTokenSourceOptions } from './fakes.js';
export { localhostPassthrough, mockNetwork, UnmockedRequestError, useMockNetwork } from './network.js';
export type { MockNetwork, Resettable, TestHooks, UnhandledRequest } from './network.js';
export { mockTokenEndpoint } from './token-endpoint.js';
export type { MockTokenEndpoint, MockTokenEndpointOptions, RecordedTokenRequest, SignTokenOptions } from './token-endpoint.js';
export type { MockOrganization } from './auth0-rules.js';
export type { JsonWebKeySet } from './jwks.js';
export type { ObservedClientAuthentication } from './parse-token-request.js';
export type { TokenEndpointReply } from './replies.js';
export type { MockQuota, MockQuotas } from './quotas.js';
