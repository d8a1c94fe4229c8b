import { afterEach } from 'vitest';
import { TokenClient, type TokenClientOptions } from '../../src/index.js';
import { startTokenServer, type TokenServer } from './token-server.js';

export const SECRET = 'cs-9f8e7d6c5b4a-very-secret';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

/** A token server and a client pointed at it, both closed after the test. */
export async function setup(options: Partial<TokenClientOptions> = {}): Promise<{ server: TokenServer; client: TokenClient }> {
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
