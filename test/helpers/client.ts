import { afterEach } from 'vitest';
import { TokenClient, type ClientCredentialFields, type TokenClientBaseOptions } from '../../src/index.js';
import { startTokenServer, type TokenServer } from './token-server.js';

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
