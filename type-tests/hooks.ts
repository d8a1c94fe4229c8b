// useMockNetwork takes the hooks of vitest (checked by the repository's own typecheck, examples/app-under-test),
// node:test and @jest/globals. Compiled by `npm run check:types` with the real @jest/globals types.
import { afterAll, afterEach, beforeAll, beforeEach } from '@jest/globals';
import * as nodeTest from 'node:test';
import { mockNetwork, mockTokenEndpoint, useMockNetwork, type TestHooks } from 'm2m-token/testing';

const auth = mockTokenEndpoint({ domain: 'tenant.auth0.com', clientId: 'id', clientSecret: 'fake-secret' });

export const jest = useMockNetwork(mockNetwork(auth.handlers), { beforeAll, afterEach, afterAll }, { reset: [auth] });
export const nodeTestNames = useMockNetwork(mockNetwork(auth.handlers), { before: nodeTest.before, afterEach: nodeTest.afterEach, after: nodeTest.after });
export const nodeTestAliases = useMockNetwork(mockNetwork(auth.handlers), { beforeAll: nodeTest.before, afterEach: nodeTest.afterEach, afterAll: nodeTest.after }, { reset: undefined });

// @ts-expect-error afterEach is required
export const missing: TestHooks = { beforeAll, afterAll };
// @ts-expect-error beforeEach is not beforeAll
export const wrong: TestHooks = { beforeEach, afterEach, afterAll };
