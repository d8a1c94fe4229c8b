// What a TokenStore with leases sees from the process that won the lease: the token is written before the lease is
// given up, so the processes waiting on the lease find it in the store.
import { type StoredToken, type TokenStore, type TokenStoreLease } from 'm2m-token';
import { describe, expect, it } from 'vitest';
import { setup } from './helpers/client.js';

class LeaseStore implements TokenStore {
  readonly log: string[] = [];
  async get() {
    this.log.push('get');
    return undefined;
  }
  async set(_key: string, _token: StoredToken, _ttl: number) {
    this.log.push('set');
    await new Promise((resolve) => setTimeout(resolve, 20));
    this.log.push('set done');
  }
  async delete() {}
  async acquireLease(): Promise<TokenStoreLease> {
    this.log.push('lease');
    return { release: async () => void this.log.push('release') };
  }
}

describe('the lease holder', () => {
  it('writes the token, and waits for the write, before it gives the lease up', async () => {
    const store = new LeaseStore();
    const { client } = await setup({ cache: store });
    expect((await client.getToken()).accessToken).toBe('token-1');
    expect(store.log).toEqual(['get', 'lease', 'get', 'set', 'set done', 'release']);
  });
});
