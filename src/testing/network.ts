import type { AnyHandler } from 'msw';
import type { InterceptorSource, NetworkApi } from 'msw/experimental';
import { mswModules } from './msw-loader.js';

/** A request no handler answered: method and URL only (never the body, which may hold a client secret). */
export interface UnhandledRequest {
  /** The HTTP method. */
  readonly method: string;
  /** The full URL. */
  readonly url: string;
}

/**
 * What an unmocked request fails with, in the code that sent it: `fetch` rejects with a `TypeError` whose
 * `cause` is this error; undici and `node:http` reject with it directly; `TokenClient` reports
 * `M2M_NETWORK_ERROR` with it as the `cause`. The message names the method and URL, never the body.
 */
export class UnmockedRequestError extends Error {
  /** Stable code, also what `TokenClient`'s network error message shows. */
  readonly code = 'M2M_UNMOCKED_REQUEST';
  /**
   * Present because `@mswjs/interceptors` turns only a Node-style error (with `code` and `errno`) into a
   * network error for the caller; any other error becomes an HTTP 500 response, which a client could retry
   * or even accept.
   */
  readonly errno = -1;
  /** The HTTP method of the unmocked request. */
  readonly method: string;
  /** Its full URL. */
  readonly url: string;

  constructor(request: UnhandledRequest) {
    super(`Unmocked request: ${request.method} ${request.url}. No msw handler matched, so it failed with a network error and never left the process; add a handler for it.`);
    this.name = 'UnmockedRequestError';
    this.method = request.method;
    this.url = request.url;
  }
}

/** The msw network returned by {@link mockNetwork}: msw's `NetworkApi`, plus the record of unhandled requests. */
export interface MockNetwork extends NetworkApi<[InterceptorSource]> {
  /** Requests no handler answered since the last {@link MockNetwork.assertNoUnhandledRequests} or clear. */
  readonly unhandledRequests: readonly UnhandledRequest[];
  /**
   * Throws an {@link UnmockedRequestError} naming every unhandled request since the last call, then forgets
   * them. `useMockNetwork` calls it after each test, so a test fails even if the app swallowed the error.
   */
  assertNoUnhandledRequests(): void;
  /** Forgets the unhandled requests, for a test that makes one on purpose. */
  clearUnhandledRequests(): void;
}

/**
 * An msw network that sees every HTTP request the process makes: global `fetch`, undici (`request`,
 * `Agent`, `TokenClient`'s own transport) and `node:http`/`node:https`.
 *
 * Why not `setupServer` from `msw/node`: its interceptors patch `globalThis.fetch` and `http.ClientRequest`,
 * and undici's `Dispatcher.request` uses neither, so `TokenClient` requests go past it to the real host.
 * `HttpRequestInterceptor` hooks in at the socket instead, below all three clients, so it alone covers
 * them (a `FetchInterceptor` on top would add nothing).
 *
 * An unmocked request fails the caller with a network error ({@link UnmockedRequestError}), is logged to
 * stderr, and is kept in `unhandledRequests`, so nothing reaches a real host and nothing passes silently.
 * The log and the error carry method and URL (credentials stripped) but never the body: msw's own
 * `'error'` strategy prints the body, and a `client_secret_post` body holds the client secret.
 *
 * Enable it before the tests, disable it after (or use {@link useMockNetwork}):
 * ```ts
 * const network = mockNetwork(...auth.handlers, http.get('https://api.example.com/things', () => HttpResponse.json([])));
 * await network.enable();
 * ```
 */
export function mockNetwork(...handlers: (AnyHandler | readonly AnyHandler[])[]): MockNetwork {
  const { defineNetwork, HttpRequestInterceptor, InterceptorSource } = mswModules();
  const unhandled: UnhandledRequest[] = [];
  const network = defineNetwork({
    sources: [new InterceptorSource({ interceptors: [new HttpRequestInterceptor()] })],
    handlers: handlers.flat(),
    context: { quiet: true },
    onUnhandledFrame: ({ frame }) => {
      const request = describeFrame(frame.data);
      unhandled.push(request);
      console.error(`[m2m-token/testing] Unmocked request: ${request.method} ${request.url} (failed with a network error; add an msw handler for it)`);
      // msw hands a thrown error back to the interceptor, which fails the request with it.
      throw new UnmockedRequestError(request);
    },
  });
  // defineProperty, not Object.assign: assign would copy the getter's value once instead of the getter.
  Object.defineProperty(network, 'unhandledRequests', { get: (): readonly UnhandledRequest[] => [...unhandled], enumerable: true });
  return Object.assign(network as typeof network & Pick<MockNetwork, 'unhandledRequests'>, {
    assertNoUnhandledRequests(): void {
      const seen = unhandled.splice(0);
      if (seen.length === 0) return;
      const error = new UnmockedRequestError(seen[0]!);
      if (seen.length > 1) error.message = `${seen.length} unmocked requests: ${seen.map((r) => `${r.method} ${r.url}`).join(', ')}. Add msw handlers for them.`;
      throw error;
    },
    clearUnhandledRequests(): void {
      unhandled.length = 0;
    },
  });
}

/**
 * One test-framework hook such as `beforeAll`. The callback `useMockNetwork` passes takes no arguments and returns
 * nothing or a promise, so every framework's hook fits: vitest's, `node:test`'s, `@jest/globals`' (whose hook
 * callbacks must return `void` or a promise, not `unknown`), mocha's.
 */
export type TestHook = (fn: () => Promise<void> | void) => unknown;

/**
 * Test-framework hooks: vitest/jest names (`beforeAll`, `afterAll`) or node:test names (`before`, `after`), and
 * `afterEach`. Pass the framework's own functions: `{ beforeAll, afterEach, afterAll }` from `vitest` or
 * `@jest/globals`, `{ before, afterEach, after }` from `node:test`.
 */
export type TestHooks = {
  /** Runs after each test. */
  afterEach: TestHook;
} & (
  | {
      /** Runs once before all tests (vitest, Jest). */
      beforeAll: TestHook;
      /** Runs once after all tests (vitest, Jest). */
      afterAll: TestHook;
    }
  | {
      /** Runs once before all tests (node:test). */
      before: TestHook;
      /** Runs once after all tests (node:test). */
      after: TestHook;
    }
);

/** Options of {@link useMockNetwork}. */
export interface UseMockNetworkOptions {
  /** Objects reset after each test, e.g. the mock token endpoint and `FakeTokenSource`s. */
  reset?: readonly Resettable[] | undefined;
}

/** Anything with a `reset()`: a mock token endpoint, a `FakeTokenSource`. */
export interface Resettable {
  /** Forgets what the object recorded and scripted. */
  reset(): void;
}

/**
 * Wires a {@link MockNetwork} into a test file's lifecycle: enable before all tests; after each test reset
 * runtime handlers (`network.use(...)`) and the given `reset` objects, then fail the test if it made an
 * unmocked request; disable after all. The framework is yours, so the hooks are passed in:
 *
 * ```ts
 * import { afterAll, afterEach, beforeAll } from 'vitest';
 * useMockNetwork(network, { beforeAll, afterEach, afterAll }, { reset: [auth] });
 *
 * import { after, afterEach, before } from 'node:test';
 * useMockNetwork(network, { before, afterEach, after }, { reset: [auth] });
 * ```
 */
export function useMockNetwork(network: MockNetwork, hooks: TestHooks, options: UseMockNetworkOptions = {}): MockNetwork {
  const [beforeAll, afterAll] = 'beforeAll' in hooks ? [hooks.beforeAll, hooks.afterAll] : [hooks.before, hooks.after];
  beforeAll(() => network.enable());
  hooks.afterEach(() => {
    network.resetHandlers();
    for (const item of options.reset ?? []) item.reset();
    network.assertNoUnhandledRequests();
  });
  afterAll(() => network.disable());
  return network;
}

/**
 * A handler that lets requests to loopback hosts (`localhost`, `127.x.x.x`, `[::1]`) through to the real
 * local server: for tests that start the app's own HTTP server and call it (supertest, fetch). Everything
 * else stays mocked. Add it last, so your own handlers for local URLs still win.
 */
export function localhostPassthrough(): AnyHandler {
  const { http, passthrough } = mswModules();
  return http.all(/^https?:\/\/(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d+)?\//, () => passthrough());
}

function describeFrame(data: unknown): UnhandledRequest {
  const { request, connection } = data as { request?: Request; connection?: { client?: { url?: URL | string } } };
  if (request) return { method: request.method, url: publicUrl(request.url) };
  return { method: 'WEBSOCKET', url: publicUrl(String(connection?.client?.url ?? 'unknown')) };
}

// user:password@ is a credential; the rest of the URL is what a developer needs to write the handler.
function publicUrl(raw: string): string {
  try {
    const url = new URL(raw);
    url.username = '';
    url.password = '';
    return url.href;
  } catch {
    return raw;
  }
}
