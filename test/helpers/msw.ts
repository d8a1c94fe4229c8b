import { HttpRequestInterceptor } from '@mswjs/interceptors/http';
import type { RequestHandler } from 'msw';
import { defineNetwork, InterceptorSource } from 'msw/experimental';

/**
 * msw 3 network that sees undici requests too (`setupServer` from msw/node does not: undici bypasses the
 * node:http module it patches). Unhandled requests fail loudly, so nothing reaches a real host.
 */
export function mockNetwork(...handlers: RequestHandler[]) {
  return defineNetwork({
    sources: [new InterceptorSource({ interceptors: [new HttpRequestInterceptor()] })],
    handlers,
    context: { quiet: true },
    onUnhandledFrame: 'error',
  });
}
