// The options main added after the mutation-testing issue: quota (checked at construction, and what each form
// does to warnings and blocks) and the DPoP checks that involve other options (a shared store, allowedTokenTypes).
import { generateKeyPairSync } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { ConfigurationError, ErrorCode, OAuthError, QuotaExceededError, TokenClient, type TokenClientErrorEvent, type TokenClientOptions, type TokenStore } from 'm2m-token';
import { describe, expect, it } from 'vitest';
import { setup } from './helpers/client.js';
import { configError } from './helpers/config-error.js';
import { json } from './helpers/token-server.js';

const base = { tokenEndpoint: 'https://as.example.com/oauth/token', clientId: 'c', clientSecret: 'fake-secret' };
const make = (options: Record<string, unknown>) => () => {
  const client = new TokenClient({ ...base, ...options } as TokenClientOptions);
  void client.close();
};
const store: TokenStore = { get: async () => undefined, set: async () => {}, delete: async () => {} };

describe('quota', () => {
  it('takes true, false, or { warnBelow: a fraction from 0 to 1 or false, block: a boolean }', () => {
    for (const quota of [true, false, undefined, {}, { warnBelow: 0 }, { warnBelow: 1 }, { warnBelow: false }, { block: false }]) expect(make({ quota })).not.toThrow();
    expect([null, 'off', [], 1].map((quota) => [configError(make({ quota })).option, configError(make({ quota })).message])).toEqual(
      Array(4).fill(['quota', 'Invalid option `quota`: must be false or { warnBelow, block }']),
    );
    expect(configError(make({ quota: { warnBelow: -0.1 } })).message).toBe('Invalid option `quota.warnBelow`: must be a fraction from 0 to 1 (0.1 warns below 10% left) or false, got -0.1');
    expect(configError(make({ quota: { warnBelow: 1.01 } })).option).toBe('quota.warnBelow');
    expect(configError(make({ quota: { warnBelow: '0.5' } })).option).toBe('quota.warnBelow');
    expect(configError(make({ quota: { warnBelow: true } })).option).toBe('quota.warnBelow');
    expect(configError(make({ quota: { block: 1 } })).option).toBe('quota.block');
    expect(configError(make({ quota: { warn: 0.1 } })).message).toBe('Invalid option `quota.warn`: unknown option; quota takes { warnBelow, block }');
  });

  async function quotaRun(quota: unknown) {
    const events: TokenClientErrorEvent[] = [];
    const { server, client } = await setup({ quota: quota as TokenClientOptions['quota'], retry: false, onError: (e) => events.push(e) });
    const answer = (status: number, remaining: number) => (_req: unknown, res: ServerResponse) =>
      json(res, status, status === 200 ? { access_token: 'at', token_type: 'Bearer', expires_in: 3600 } : { error: 'too_many_requests' }, { 'auth0-client-quota-limit': `b=per_hour;q=100;r=${remaining};t=600` });
    server.respond(answer(200, 50)); // half left
    await client.getToken();
    server.respond(answer(200, 5)); // 5% left
    await client.getToken({ forceRefresh: true });
    server.respond(answer(429, 0));
    const error = await client.getToken({ forceRefresh: true }).catch((e: unknown) => e);
    return { warnings: events.filter((e) => e.error.code === ErrorCode.QUOTA_LOW).map((e) => /(\d+) of 100/.exec(e.error.message)![1]), error };
  }

  it('each form, as the client behaves: when it warns, whether a used-up bucket blocks', async () => {
    for (const quota of [undefined, true, {}]) {
      const { warnings, error } = await quotaRun(quota);
      expect(warnings).toEqual(['5']);
      expect(error).toBeInstanceOf(QuotaExceededError);
    }
    expect((await quotaRun({ warnBelow: 1 })).warnings).toEqual(['50']);
    expect((await quotaRun({ warnBelow: 0 })).warnings).toEqual([]);
    expect((await quotaRun({ warnBelow: false })).warnings).toEqual([]);
    const unblocked = await quotaRun({ block: false });
    expect(unblocked.warnings).toEqual(['5']);
    expect(unblocked.error).toBeInstanceOf(OAuthError);
    const off = await quotaRun(false);
    expect(off.warnings).toEqual([]);
    expect(off.error).toBeInstanceOf(OAuthError);
  });
});

describe('DPoP with other options', () => {
  it('a generated DPoP key cannot go with a shared store; a key of your own can', () => {
    const message = 'Invalid option `dpop.key`: is required with a shared store (cache.store): a generated key lives in one process, so no other process could use its tokens; give every process the same key to share one token per fleet';
    expect(configError(make({ dpop: true, cache: store })).message).toBe(message);
    expect(configError(make({ dpop: { alg: 'ES256' }, cache: { store } })).message).toBe(message);
    expect(make({ dpop: true })).not.toThrow();
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expect(make({ dpop: { key }, cache: store })).not.toThrow();
    expect(make({ dpop: false, cache: store })).not.toThrow();
  });

  it('allowedTokenTypes may not list DPoP, in any case', () => {
    for (const type of ['DPoP', 'dpop']) {
      const error = configError(make({ allowedTokenTypes: ['mac', type] }));
      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error.message).toBe('Invalid option `allowedTokenTypes`: lists DPoP: DPoP tokens need a proof with every request; give the dpop option instead');
    }
    expect(make({ allowedTokenTypes: ['mac'] })).not.toThrow();
  });
});

describe('credentials that cannot be encoded', () => {
  it('a client id or secret with a lone surrogate is refused at construction, naming it', () => {
    expect(configError(make({ clientId: 'svc\uD800' })).message).toBe('Invalid option `clientId`: is not well-formed Unicode (it has a lone surrogate)');
    expect(configError(make({ clientSecret: 'fake-\uDC00-secret' })).message).toBe(
      'Invalid option `clientSecret`: is not well-formed Unicode (it has a lone surrogate); check how it was read',
    );
    // Well-formed text outside the BMP (a surrogate pair) is fine, and so is a client without a secret.
    expect(make({ clientId: 'svc-\u{1F600}', clientSecret: 'fake-\u{1F600}' })).not.toThrow();
    expect(make({ clientSecret: undefined, clientAssertion: () => 'a.b.c' })).not.toThrow();
  });
});
