import { afterEach } from 'vitest';
import { TokenClient, type ClientCredentialFields, type TokenClientBaseOptions, type TokenClientErrorEvent } from '../../src/index.js';
import { ManualClock } from './clock.js';
import { okToken, startTokenServer, type TokenServer } from './token-server.js';

export const SECRET = 'cs-9f8e7d6c5b4a-very-secret';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

/** What a test may change in the client options of `setup()` and the adapter fixture: anything but the endpoint kind. */
export type ClientOverrides = Partial<TokenClientBaseOptions> & ClientCredentialFields & { tokenEndpoint?: string | URL };

/** A token server and a client pointed at it, both closed after the test. */
export async function setup(options: ClientOverrides = {}): Promise<{ server: TokenServer; client: TokenClient }> {
  const server = await startTokenServer();
  const client = new TokenClient({
    tokenEndpoint: server.url,
    clientId: 'client-1',
    clientSecret: SECRET,
    retry: { retries: 3, baseDelay: 1, maxDelay: 5 },
    ...options,
  });
  open.push(client, server);
  return { server, client };
}

/**
 * `setup()` on a ManualClock, without refresh-ahead or retries, errors collected: the client already holds `at-1`,
 * a token of `lifetimeS` seconds (the starting point of the outage and stale-if-error tests).
 */
export async function warmClient(lifetimeS: number, options: ClientOverrides = {}) {
  const clock = new ManualClock();
  const events: TokenClientErrorEvent[] = [];
  const harness = await setup({ clock, refreshAhead: false, retry: false, onError: (e) => events.push(e), ...options });
  harness.server.respond(okToken('at-1', lifetimeS));
  await harness.client.getToken();
  return { ...harness, clock, events };
}
