// createToken(): what a Token shows in JSON and inspect (with and without a quota reading), and that it keeps its
// own frozen copies of what it was made from.
import { inspect } from 'node:util';
import { createToken } from 'm2m-token';
import { describe, expect, it } from 'vitest';

const fields = { accessToken: 'fake-access-token', tokenType: 'Bearer', expiresIn: 60_000, expiresAt: 1_800_000_000_000 };

describe('createToken', () => {
  it('shows the token and raw redacted; quota only when there is a reading', () => {
    const bare = createToken(fields);
    expect(JSON.parse(JSON.stringify(bare))).toStrictEqual({ accessToken: '[REDACTED]', tokenType: 'Bearer', expiresIn: 60_000, expiresAt: 1_800_000_000_000, raw: '[REDACTED]' });
    expect(Object.keys((bare as unknown as { toJSON(): object }).toJSON())).toEqual(['accessToken', 'tokenType', 'expiresIn', 'expiresAt', 'scope', 'raw']);
    expect(inspect(bare)).toBe('Token {"accessToken":"[REDACTED]","tokenType":"Bearer","expiresIn":60000,"expiresAt":1800000000000,"raw":"[REDACTED]"}');
    const quota = { at: 1, buckets: [], rateLimit: { limit: 5, remaining: 4, resetAt: undefined } };
    const withQuota = createToken({ ...fields, scope: ['b', 'a'], quota });
    expect(JSON.parse(JSON.stringify(withQuota))).toStrictEqual({
      accessToken: '[REDACTED]', tokenType: 'Bearer', expiresIn: 60_000, expiresAt: 1_800_000_000_000, scope: ['b', 'a'], raw: '[REDACTED]', quota: { at: 1, buckets: [], rateLimit: { limit: 5, remaining: 4 } },
    });
    expect(withQuota.quota).toBe(quota);
    expect(withQuota.accessToken).toBe('fake-access-token');
  });

  it('keeps frozen copies of raw and scope: changing what it was made from changes nothing', () => {
    const raw: Record<string, unknown> = { access_token: 'fake-access-token', extra: 1 };
    const scope = ['read'];
    const token = createToken({ ...fields, raw, scope });
    raw.extra = 2;
    scope.push('write');
    expect(token.raw).toEqual({ access_token: 'fake-access-token', extra: 1 });
    expect(token.scope).toEqual(['read']);
    expect(Object.isFrozen(token.raw)).toBe(true);
    expect(Object.isFrozen(token.scope)).toBe(true);
    expect(Object.isFrozen(token)).toBe(true);
    expect(createToken(fields).raw).toEqual({});
    expect(createToken(fields).scope).toBeUndefined();
  });
});
