import { inspect } from 'node:util';
import { createToken, OAuthError, type Token, type TokenSource } from 'm2m-token';
import { FakeTokenSource, ManualClock, staticTokenSource } from 'm2m-token/testing';
import { describe, expect, it } from 'vitest';

/** Code under test depends on TokenSource only, as adapters do. */
async function authorization(source: TokenSource, audience?: string): Promise<string> {
  const token = await source.getToken(audience === undefined ? undefined : { audience });
  return `${token.tokenType} ${token.accessToken}`;
}

describe('staticTokenSource', () => {
  it('answers every call with a Bearer token made from a string, expiring an hour after each call', async () => {
    const clock = new ManualClock(1_000_000);
    const source = staticTokenSource('fake-static-token', { clock });
    expect(await authorization(source)).toBe('Bearer fake-static-token');
    clock.advance(10 * 3_600_000);
    const token = await source.getToken({ audience: 'https://any.example.com' });
    expect(token).toMatchObject({ accessToken: 'fake-static-token', tokenType: 'Bearer', expiresIn: 3_600_000, expiresAt: clock.now() + 3_600_000 });
    expect(source.callCount).toBe(2);
  });

  it('hands out a Token as is', async () => {
    const token = createToken({ accessToken: 'fake-made-token', tokenType: 'DPoP', expiresIn: 5_000, expiresAt: 42 });
    const source = staticTokenSource(token);
    expect(await source.getToken()).toBe(token);
    source.invalidate();
    expect(await source.getToken()).toBe(token);
  });

  it('keeps the token out of util.inspect and JSON', async () => {
    const token = await staticTokenSource('fake-hidden-token').getToken();
    expect(inspect(token)).not.toContain('fake-hidden-token');
    expect(JSON.stringify(token)).not.toContain('fake-hidden-token');
  });
});

describe('FakeTokenSource', () => {
  it('mints one token per set of options and keeps it, like a cache', async () => {
    const fake = new FakeTokenSource();
    const a = await fake.getToken({ audience: 'https://a.example.com', scope: 'y x' });
    expect(a.accessToken).toMatch(/^fake-token-\d+$/);
    expect(a.scope).toEqual(['x', 'y']);
    expect((await fake.getToken({ audience: 'https://a.example.com', scope: ['x', 'y', 'x'] })).accessToken).toBe(a.accessToken);
    expect((await fake.getToken({ audience: 'https://b.example.com' })).accessToken).not.toBe(a.accessToken);
    expect((await fake.getToken({ audience: 'https://a.example.com', scope: 'y x', extraParams: { t: '1' } })).accessToken).not.toBe(a.accessToken);
  });

  it('mints a new token after invalidate(), forceRefresh or expiry on the clock', async () => {
    const clock = new ManualClock();
    const fake = new FakeTokenSource({ clock, expiresIn: 60_000 });
    const first = await fake.getToken();
    await fake.invalidate({ audience: 'https://other.example.com' }); // another key: no effect
    expect((await fake.getToken()).accessToken).toBe(first.accessToken);
    await fake.invalidate();
    const second = await fake.getToken();
    expect(second.accessToken).not.toBe(first.accessToken);
    const third = await fake.getToken({ forceRefresh: true });
    expect(third.accessToken).not.toBe(second.accessToken);
    clock.advance(59_999);
    expect((await fake.getToken()).accessToken).toBe(third.accessToken);
    clock.advance(1);
    expect((await fake.getToken()).accessToken).not.toBe(third.accessToken);
    expect(fake.invalidateCount).toBe(2);
    expect(fake.invalidations).toEqual([{ audience: 'https://other.example.com' }, {}]);
  });

  it('answers with fixed tokens per audience and organization; the most specific rule wins', async () => {
    const fake = new FakeTokenSource({ token: 'fake-default' })
      .setToken('fake-for-a', { audience: 'https://a.example.com' })
      .setToken('fake-for-org1', { organization: 'org_1' })
      .setToken('fake-for-a-org1', { audience: 'https://a.example.com', organization: 'org_1' });
    const get = async (options: { audience?: string; organization?: string }) => (await fake.getToken(options)).accessToken;
    expect(await get({})).toBe('fake-default');
    expect(await get({ audience: 'https://a.example.com' })).toBe('fake-for-a');
    expect(await get({ audience: 'https://a.example.com', organization: 'org_2' })).toBe('fake-for-a');
    expect(await get({ audience: 'https://b.example.com', organization: 'org_1' })).toBe('fake-for-org1');
    expect(await get({ audience: 'https://a.example.com', organization: 'org_1' })).toBe('fake-for-a-org1');
    fake.setToken('fake-for-a-v2', { audience: 'https://a.example.com' });
    expect(await get({ audience: 'https://a.example.com' })).toBe('fake-for-a-v2');
  });

  it('throws scripted errors: the next ones in order, then succeeds again', async () => {
    const denied = new OAuthError({ status: 403, error: 'access_denied', endpoint: 'https://tenant.auth0.com' });
    const down = new Error('fake outage');
    const fake = new FakeTokenSource().failNext(denied, down);
    await expect(fake.getToken()).rejects.toBe(denied);
    await expect(fake.getToken()).rejects.toBe(down);
    await expect(fake.getToken()).resolves.toBeDefined();
    expect(fake.callCount).toBe(3);
  });

  it('throws an error set with failAlways until it is cleared', async () => {
    const invalid = new OAuthError({ status: 401, error: 'invalid_client', endpoint: 'https://tenant.auth0.com' });
    const fake = new FakeTokenSource().failAlways(invalid);
    await expect(fake.getToken()).rejects.toBeInstanceOf(OAuthError);
    await expect(fake.getToken()).rejects.toMatchObject({ error: 'invalid_client' });
    fake.failAlways(undefined);
    await expect(fake.getToken()).resolves.toBeDefined();
  });

  it('records every call without its signal', async () => {
    const fake = new FakeTokenSource();
    const signal = new AbortController().signal;
    await fake.getToken({ audience: 'https://a.example.com', organization: 'org_1', scope: ['s'], signal });
    await fake.getToken();
    expect(fake.calls).toEqual([{ audience: 'https://a.example.com', organization: 'org_1', scope: ['s'] }, {}]);
  });

  it('rejects an aborted caller with M2M_ABORTED, as TokenClient does', async () => {
    const controller = new AbortController();
    controller.abort(new Error('fake shutdown'));
    await expect(new FakeTokenSource().getToken({ signal: controller.signal })).rejects.toMatchObject({ code: 'M2M_ABORTED', cause: controller.signal.reason });
  });

  it('reset() forgets calls, minted tokens and failures, but keeps the configured tokens', async () => {
    const fake = new FakeTokenSource().setToken('fake-fixed', { audience: 'https://a.example.com' });
    const minted = await fake.getToken();
    fake.invalidate();
    fake.failNext(new Error('fake')).failAlways(new Error('fake'));
    fake.reset();
    expect([fake.callCount, fake.invalidateCount, fake.calls.length, fake.invalidations.length]).toEqual([0, 0, 0, 0]);
    expect((await fake.getToken()).accessToken).not.toBe(minted.accessToken);
    expect((await fake.getToken({ audience: 'https://a.example.com' })).accessToken).toBe('fake-fixed');
  });

  it('is a TokenSource, usable wherever one is expected', async () => {
    const sources: TokenSource[] = [new FakeTokenSource({ token: 'fake-1' }), staticTokenSource('fake-2')];
    expect(await Promise.all(sources.map((s) => authorization(s)))).toEqual(['Bearer fake-1', 'Bearer fake-2']);
    const token: Token = await sources[0]!.getToken();
    expect(token.raw).toMatchObject({ access_token: 'fake-1', token_type: 'Bearer', expires_in: 3600 });
  });

  it('refuses a non-positive lifetime', () => {
    expect(() => new FakeTokenSource({ expiresIn: 0 })).toThrow(RangeError);
  });
});
