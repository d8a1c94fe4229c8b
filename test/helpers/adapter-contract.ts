// The behaviour every adapter shares, as one suite that each adapter's test file runs through a small harness:
// the harness turns "call this URL" into that HTTP client's own API, so each case exercises the real adapter
// against oidc-provider and the jose-verifying APIs.
import { describe, expect, it } from 'vitest';
import { ConfigurationError, createToken, ErrorCode, OAuthError, TokenClientError, TokenRequestError, type Token, type TokenSource } from '../../src/index.js';
import type { TokenAdapterOptions } from '../../src/adapters/options.js';
import { BILLING, REPORTS, type AdapterFixture } from './adapter-fixture.js';
import { ManualClock } from './clock.js';
import { expectNoLeak, expectNoPath } from './leaks.js';

export interface CallInit {
  method?: string;
  /** Sent as a string (replayable) or, with `stream`, as the client's kind of stream (not replayable). */
  body?: string;
  stream?: boolean;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface CallResult {
  status: number;
  body: unknown;
}

export type Caller = (url: string, init?: CallInit) => Promise<CallResult>;

export interface AdapterHarness {
  name: string;
  /** The adapter applied to a fresh client of its kind, as a caller. Throws what the adapter throws. */
  wrap(source: TokenSource, options: TokenAdapterOptions): Caller;
  /**
   * The same, on a client that follows redirects (up to 3) in the way that lets the adapter see the final
   * response of a redirected request: fetch and axios follow by default; for undici, a redirect interceptor
   * composed below the token interceptor.
   */
  wrapFollowingRedirects(source: TokenSource, options: TokenAdapterOptions): Caller;
  /** Whether `error` is how this HTTP client reports a request its caller aborted. */
  isAbort(error: unknown): boolean;
}

const INVALID_TOKEN = { 'www-authenticate': 'Bearer error="invalid_token", error_description="expired"' };

/**
 * A source that hands out a fake token at once but never a renewed one (`forceRefresh`): it records the
 * renewal and leaves it pending, so a test can abort while the adapter waits for it.
 */
export function renewalHangs(renewals: unknown[]): TokenSource {
  return {
    getToken: (options) => {
      if (!options?.forceRefresh) {
        return Promise.resolve(createToken({ accessToken: 'fake-access-token', tokenType: 'Bearer', expiresIn: 60_000, expiresAt: Date.now() + 60_000 }));
      }
      renewals.push(options);
      return new Promise(() => {});
    },
  };
}

/**
 * A source that returns whatever it is given, as a custom TokenSource may: a plain object, no validation. The
 * first call returns `first`, later calls (a renewal) `later`.
 */
export function returning(first: Partial<Token>, later: Partial<Token> = first): TokenSource & { calls: number } {
  const source = {
    calls: 0,
    getToken: () => {
      const fields = source.calls++ === 0 ? first : later;
      return Promise.resolve({ tokenType: 'Bearer', expiresIn: 60_000, expiresAt: Date.now() + 60_000, scope: undefined, raw: {}, ...fields } as Token);
    },
    invalidate: () => {},
  };
  return source;
}

export function adapterContract(harness: AdapterHarness, fixture: () => AdapterFixture): void {
  describe(`${harness.name}: the shared adapter behaviour`, () => {
    const tokenRequests = () => {
      const before = fixture().as.tokenRequests;
      return () => fixture().as.tokenRequests - before;
    };

    it('attaches a token the API accepts, for the configured origin', async () => {
      const fx = fixture();
      const count = tokenRequests();
      const call = harness.wrap(fx.client(), { targets: fx.targets() });
      const result = await call(`${fx.billing.url}/invoices`);
      expect(result.status).toBe(200);
      expect(fx.billing.requests.at(-1)).toMatchObject({ authorized: true, path: '/invoices' });
      expect(count()).toBe(1);
    });

    it('leaves other origins untouched: no Authorization, no token request', async () => {
      const fx = fixture();
      const count = tokenRequests();
      const call = harness.wrap(fx.client(), { targets: { [fx.billing.url]: { resource: BILLING } } });
      const result = await call(`${fx.plain.url}/elsewhere`);
      expect(result.status).toBe(200);
      expect(fx.plain.requests.at(-1)).toMatchObject({ path: '/elsewhere', authorization: undefined });
      expect(count()).toBe(0);
    });

    it('anyOrigin is the explicit opt-in for every origin', async () => {
      const fx = fixture();
      const call = harness.wrap(fx.client(), { anyOrigin: { resource: BILLING } });
      await call(`${fx.plain.url}/any`);
      expect(fx.plain.requests.at(-1)!.authorization).toMatch(/^Bearer ey/);
    });

    it('two APIs get two tokens, each for its own audience, and both are cached', async () => {
      const fx = fixture();
      const count = tokenRequests();
      const call = harness.wrap(fx.client(), { targets: fx.targets() });
      const [billing, reports] = await Promise.all([call(`${fx.billing.url}/a`), call(`${fx.reports.url}/b`)]);
      expect(billing.status).toBe(200);
      expect(reports).toMatchObject({ status: 200, body: { scope: 'reports:read' } });
      expect(count()).toBe(2);
      await Promise.all([call(`${fx.billing.url}/a`), call(`${fx.reports.url}/b`)]);
      expect(count()).toBe(2);
      expect(fx.billing.requests.at(-1)!.jti).not.toBe(fx.reports.requests.at(-1)!.jti);
    });

    it('a 401 for a revoked token renews it once and replays the request; the caller sees the 200', async () => {
      const fx = fixture();
      const count = tokenRequests();
      const call = harness.wrap(fx.client(), { targets: fx.targets() });
      expect((await call(`${fx.billing.url}/first`)).status).toBe(200);
      fx.billing.revokeSeenTokens();
      const before = fx.billing.requests.length;
      expect((await call(`${fx.billing.url}/second`)).status).toBe(200);
      const [rejected, replayed] = fx.billing.requests.slice(before);
      expect(fx.billing.requests.length - before).toBe(2);
      expect(rejected).toMatchObject({ authorized: false, path: '/second' });
      expect(replayed).toMatchObject({ authorized: true, path: '/second' });
      expect(replayed!.jti).not.toBe(rejected!.jti);
      expect(count()).toBe(2);
      // The renewed token is cached: no further token request.
      expect((await call(`${fx.billing.url}/third`)).status).toBe(200);
      expect(count()).toBe(2);
    });

    it('replays a string body intact', async () => {
      const fx = fixture();
      const call = harness.wrap(fx.client(), { targets: { [fx.plain.url]: { resource: BILLING } } });
      const before = fx.plain.requests.length;
      fx.plain.reply({ status: 401, headers: INVALID_TOKEN });
      const result = await call(`${fx.plain.url}/orders`, { method: 'POST', body: '{"item":42}', headers: { 'content-type': 'application/json' } });
      expect(result.status).toBe(200);
      const [first, second] = fx.plain.requests.slice(before);
      expect(fx.plain.requests.length - before).toBe(2);
      expect(first).toMatchObject({ method: 'POST', body: '{"item":42}' });
      expect(second).toMatchObject({ method: 'POST', body: '{"item":42}' });
      expect(second!.authorization).toMatch(/^Bearer /);
      expect(second!.authorization).not.toBe(first!.authorization);
    });

    it('never retries twice: an API that always answers 401 gets 2 calls and causes 2 token requests', async () => {
      const fx = fixture();
      const count = tokenRequests();
      const call = harness.wrap(fx.client(), { targets: fx.targets() });
      const before = fx.nobody.requests.length;
      const result = await call(`${fx.nobody.url}/x`);
      expect(result).toMatchObject({ status: 401, body: { error: 'invalid_token' } });
      expect(fx.nobody.requests.length - before).toBe(2);
      expect(count()).toBe(2);
    });

    describe('renewals are rate-limited per token key (renewInterval)', () => {
      it('20 calls to an API that answers 401 to every token cost one renewal, not 20', async () => {
        const fx = fixture();
        const count = tokenRequests();
        const call = harness.wrap(fx.client(), { targets: fx.targets() });
        const before = fx.nobody.requests.length;
        for (let i = 0; i < 20; i++) expect((await call(`${fx.nobody.url}/always-401/${i}`)).status).toBe(401);
        // The first call: its token, then one renewal and a replay. The other 19: the cached token, the 401.
        expect(count()).toBe(2);
        expect(fx.nobody.requests.length - before).toBe(21);
      });

      it('once renewInterval has passed since the last renewal, a 401 renews again', async () => {
        const fx = fixture();
        const count = tokenRequests();
        const clock = new ManualClock();
        const call = harness.wrap(fx.client(), { targets: fx.targets(), renewInterval: 10_000, clock });
        for (let i = 0; i < 5; i++) await call(`${fx.nobody.url}/a/${i}`);
        expect(count()).toBe(2);
        clock.advance(9_999);
        await call(`${fx.nobody.url}/b`);
        expect(count()).toBe(2);
        clock.advance(1);
        await call(`${fx.nobody.url}/c`);
        expect(count()).toBe(3);
        await call(`${fx.nobody.url}/d`);
        expect(count()).toBe(3);
      });

      it('stream bodies: 20 calls to an API that answers 401 to every token drop the cached token once', async () => {
        const fx = fixture();
        const count = tokenRequests();
        const call = harness.wrap(fx.client(), { targets: fx.targets() });
        for (let i = 0; i < 20; i++) {
          expect((await call(`${fx.nobody.url}/upload/${i}`, { method: 'POST', body: 'chunk', stream: true })).status).toBe(401);
        }
        // The first token, dropped after its 401; the second, kept through the interval.
        expect(count()).toBe(2);
      });

      it("the floor is per token key: another target's 401 still renews its own token", async () => {
        const fx = fixture();
        const count = tokenRequests();
        const targets = { [fx.nobody.url]: { resource: BILLING }, [fx.plain.url]: { resource: REPORTS, scope: ['reports:read'] } };
        const call = harness.wrap(fx.client(), { targets });
        expect((await call(`${fx.nobody.url}/x`)).status).toBe(401);
        expect(count()).toBe(2);
        fx.plain.reply({ status: 401 });
        expect((await call(`${fx.plain.url}/y`)).status).toBe(200);
        expect(count()).toBe(4);
      });

      it('origins that ask for the same token share its floor', async () => {
        const fx = fixture();
        const count = tokenRequests();
        // nobody and billing both ask for the billing token.
        const call = harness.wrap(fx.client(), { targets: fx.targets() });
        expect((await call(`${fx.nobody.url}/x`)).status).toBe(401);
        expect(count()).toBe(2);
        expect((await call(`${fx.billing.url}/ok`)).status).toBe(200);
        fx.billing.revokeSeenTokens();
        expect((await call(`${fx.billing.url}/revoked`)).status).toBe(401);
        expect(count()).toBe(2);
      });

      it('renewInterval: 0 leaves one renewal per rejected token', async () => {
        const fx = fixture();
        const count = tokenRequests();
        const call = harness.wrap(fx.client(), { targets: fx.targets(), renewInterval: 0 });
        for (let i = 0; i < 3; i++) await call(`${fx.nobody.url}/x/${i}`);
        expect(count()).toBe(4);
      });
    });

    describe('a redirect to another origin', () => {
      it('whose end answers 401 renews nothing: 20 calls, one token request', async () => {
        const fx = fixture();
        const count = tokenRequests();
        const call = harness.wrapFollowingRedirects(fx.client(), { targets: { [fx.plain.url]: { resource: BILLING } } });
        const before = fx.nobody.requests.length;
        fx.plain.reply(...Array.from({ length: 20 }, () => ({ status: 302, headers: { location: `${fx.nobody.url}/elsewhere` } })));
        for (let i = 0; i < 20; i++) expect((await call(`${fx.plain.url}/moved/${i}`)).status).toBe(401);
        expect(fx.nobody.requests.length - before).toBe(20);
        expect(count()).toBe(1);
      });

      it('a same-origin redirect whose end answers 401 still renews and replays', async () => {
        const fx = fixture();
        const count = tokenRequests();
        const call = harness.wrapFollowingRedirects(fx.client(), { targets: { [fx.plain.url]: { resource: BILLING } } });
        const before = fx.plain.requests.length;
        const hop = { status: 302, headers: { location: `${fx.plain.url}/b` } };
        fx.plain.reply(hop, { status: 401 }, hop, { status: 200 });
        expect((await call(`${fx.plain.url}/a`)).status).toBe(200);
        const seen = fx.plain.requests.slice(before);
        expect(seen.map((r) => r.path)).toEqual(['/a', '/b', '/a', '/b']);
        expect(seen[1]!.authorization).toMatch(/^Bearer /);
        expect(seen[3]!.authorization).toMatch(/^Bearer /);
        expect(seen[3]!.authorization).not.toBe(seen[1]!.authorization);
        expect(count()).toBe(2);
      });
    });

    it('does not replay a stream body: the 401 is returned, and the next request gets a new token', async () => {
      const fx = fixture();
      const count = tokenRequests();
      const call = harness.wrap(fx.client(), { targets: fx.targets() });
      const before = fx.nobody.requests.length;
      const result = await call(`${fx.nobody.url}/upload`, { method: 'POST', body: 'chunk-1 chunk-2', stream: true });
      expect(result.status).toBe(401);
      expect(fx.nobody.requests.length - before).toBe(1);
      expect(count()).toBe(1);
      // nobody and billing ask for the same token: the rejected one was dropped from the cache.
      expect((await call(`${fx.billing.url}/after`)).status).toBe(200);
      expect(count()).toBe(2);
    });

    it('a token failure rejects with the typed error and the API is never called', async () => {
      const fx = fixture();
      const call = harness.wrap(fx.client({ clientSecret: 'wrong-fake-secret-value' }), { targets: fx.targets() });
      const before = fx.billing.requests.length;
      const error = await call(`${fx.billing.url}/x`).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OAuthError);
      expect(error).toMatchObject({ code: ErrorCode.OAUTH_ERROR, error: 'invalid_client' });
      expect(fx.billing.requests.length).toBe(before);
      expectNoLeak(error, ['wrong-fake-secret-value']);
    });

    it('1 000 concurrent calls on a cold cache cause one token request', async () => {
      const fx = fixture();
      const count = tokenRequests();
      const call = harness.wrap(fx.client(), { targets: fx.targets() });
      const before = fx.billing.requests.length;
      const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => call(`${fx.billing.url}/n/${i}`)));
      expect(results.filter((r) => r.status === 200)).toHaveLength(1000);
      expect(fx.billing.requests.length - before).toBe(1000);
      expect(count()).toBe(1);
    });

    it('many requests rejected with one revoked token share one renewal', async () => {
      const fx = fixture();
      const count = tokenRequests();
      const call = harness.wrap(fx.client(), { targets: fx.targets() });
      await call(`${fx.billing.url}/warm`);
      fx.billing.revokeSeenTokens();
      const results = await Promise.all(Array.from({ length: 50 }, () => call(`${fx.billing.url}/after-revocation`)));
      expect(results.every((r) => r.status === 200)).toBe(true);
      expect(count()).toBe(2);
    });

    it('leaves a request that already carries Authorization alone, and does not renew on its 401', async () => {
      const fx = fixture();
      const count = tokenRequests();
      const call = harness.wrap(fx.client(), { targets: { [fx.plain.url]: { resource: BILLING } } });
      const before = fx.plain.requests.length;
      fx.plain.reply({ status: 401, headers: INVALID_TOKEN });
      const result = await call(`${fx.plain.url}/own`, { headers: { Authorization: 'Basic ZmFrZTpmYWtl' } });
      expect(result.status).toBe(401);
      expect(fx.plain.requests.slice(before)).toEqual([expect.objectContaining({ authorization: 'Basic ZmFrZTpmYWtl' })]);
      expect(count()).toBe(0);
    });

    describe("renewOn: 'invalid_token'", () => {
      it('does not renew on a 401 without error="invalid_token"', async () => {
        const fx = fixture();
        const count = tokenRequests();
        const call = harness.wrap(fx.client(), { targets: { [fx.plain.url]: { resource: BILLING } }, renewOn: 'invalid_token' });
        const before = fx.plain.requests.length;
        fx.plain.reply({ status: 401, headers: { 'www-authenticate': 'Bearer realm="plain"' } });
        expect((await call(`${fx.plain.url}/x`)).status).toBe(401);
        expect(fx.plain.requests.length - before).toBe(1);
        expect(count()).toBe(1);
      });

      it('renews on Bearer error="invalid_token", also after another challenge', async () => {
        const fx = fixture();
        const count = tokenRequests();
        const call = harness.wrap(fx.client(), { targets: { [fx.plain.url]: { resource: BILLING } }, renewOn: 'invalid_token' });
        const before = fx.plain.requests.length;
        fx.plain.reply({ status: 401, headers: { 'www-authenticate': 'Basic realm="a, b", Bearer realm="plain", error="invalid_token"' } });
        expect((await call(`${fx.plain.url}/x`)).status).toBe(200);
        expect(fx.plain.requests.length - before).toBe(2);
        expect(count()).toBe(2);
      });

      it('by default, any 401 renews', async () => {
        const fx = fixture();
        const count = tokenRequests();
        const call = harness.wrap(fx.client(), { targets: { [fx.plain.url]: { resource: BILLING } } });
        const before = fx.plain.requests.length;
        fx.plain.reply({ status: 401 });
        expect((await call(`${fx.plain.url}/x`)).status).toBe(200);
        expect(fx.plain.requests.length - before).toBe(2);
        expect(count()).toBe(2);
      });
    });

    it('an abort while the token is awaited rejects as the HTTP client reports aborts, and sends nothing', async () => {
      const fx = fixture();
      const waits: AbortSignal[] = [];
      // A source whose token never comes, except as an abort: the core's behaviour for an aborted wait.
      const hanging: TokenSource = {
        getToken: (options) =>
          new Promise((_resolve, reject) => {
            const signal = options?.signal;
            if (signal) waits.push(signal);
            signal?.addEventListener('abort', () => reject(new TokenRequestError(ErrorCode.ABORTED, 'The wait was aborted.')));
          }),
      };
      const call = harness.wrap(hanging, { targets: { [fx.plain.url]: {} } });
      const before = fx.plain.requests.length;
      const controller = new AbortController();
      const pending = call(`${fx.plain.url}/never`, { signal: controller.signal }).catch((e: unknown) => e);
      await expect.poll(() => waits.length).toBe(1);
      controller.abort();
      expect(harness.isAbort(await pending)).toBe(true);
      expect(fx.plain.requests.length).toBe(before);
    });

    it('an abort while the renewed token is awaited rejects as the HTTP client reports aborts', async () => {
      const fx = fixture();
      const renewals: AbortSignal[] = [];
      const call = harness.wrap(renewalHangs(renewals), { targets: { [fx.plain.url]: {} } });
      const before = fx.plain.requests.length;
      fx.plain.reply({ status: 401 });
      const controller = new AbortController();
      const pending = call(`${fx.plain.url}/renewal-aborted`, { signal: controller.signal }).catch((e: unknown) => e);
      await expect.poll(() => renewals.length).toBe(1);
      controller.abort();
      expect(harness.isAbort(await pending)).toBe(true);
      expect(fx.plain.requests.length - before).toBe(1);
    });

    describe('a token that cannot go into a header value fails with a typed error that does not quote it, and nothing is sent', () => {
      const BAD_TOKENS: [string, string][] = [
        ['CR LF', 'fake-bad-token\r\nX-Injected: fake-bad-token'],
        ['LF', 'fake-bad-token\nfake-bad-tail'],
        ['NUL', 'fake-bad-token\u0000tail'],
        ['a space', 'fake-bad-token with-space'],
        ['a tab', 'fake-bad-token\twith-tab'],
        ['a non-ASCII character', 'fake-bäd-token'],
        ['a character outside latin1', 'fake-bad-token-\u2028-tail'],
      ];

      it.each(BAD_TOKENS)('an access token with %s', async (_name, accessToken) => {
        const fx = fixture();
        const call = harness.wrap(returning({ accessToken }), { targets: { [fx.plain.url]: {} } });
        const before = fx.plain.requests.length;
        const error = await call(`${fx.plain.url}/bad-token`).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(TokenClientError);
        expect(error).toMatchObject({ code: ErrorCode.RESPONSE_INVALID });
        expect(fx.plain.requests.length).toBe(before);
        expectNoPath(error, [accessToken, 'fake-bad-token', 'fake-bad-tail']);
      });

      it.each([
        ['not a string', 42],
        ['empty', ''],
      ] as const)('an access token that is %s', async (_name, accessToken) => {
        const fx = fixture();
        const call = harness.wrap(returning({ accessToken: accessToken as string }), { targets: { [fx.plain.url]: {} } });
        const before = fx.plain.requests.length;
        const error = await call(`${fx.plain.url}/bad-token`).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: ErrorCode.RESPONSE_INVALID });
        expect(fx.plain.requests.length).toBe(before);
      });

      it.each([
        ['CR LF', 'Bearer\r\nX-Injected: 1'],
        ['a space', 'Bearer fake-bad-token'],
        ['nothing', ''],
      ])('a tokenType with %s', async (_name, tokenType) => {
        const fx = fixture();
        const call = harness.wrap(returning({ accessToken: 'fake-good-token', tokenType }), { targets: { [fx.plain.url]: {} } });
        const before = fx.plain.requests.length;
        const error = await call(`${fx.plain.url}/bad-type`).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(TokenClientError);
        expect(error).toMatchObject({ code: ErrorCode.RESPONSE_INVALID });
        expect(fx.plain.requests.length).toBe(before);
        expectNoPath(error, ['fake-good-token', 'fake-bad-token', 'X-Injected']);
      });

      it('a renewed token with CR LF: the replay is not sent', async () => {
        const fx = fixture();
        const accessToken = 'fake-bad-renewed-token\r\nX-Injected: 1';
        const source = returning({ accessToken: 'fake-first-token' }, { accessToken });
        const call = harness.wrap(source, { targets: { [fx.plain.url]: {} } });
        const before = fx.plain.requests.length;
        fx.plain.reply({ status: 401 });
        const error = await call(`${fx.plain.url}/bad-renewal`).catch((e: unknown) => e);
        expect(source.calls).toBe(2);
        expect(error).toBeInstanceOf(TokenClientError);
        expect(error).toMatchObject({ code: ErrorCode.RESPONSE_INVALID });
        expect(fx.plain.requests.length - before).toBe(1);
        expectNoPath(error, [accessToken, 'fake-bad-renewed-token', 'fake-first-token']);
      });
    });

    it('validates its options when created, naming the option', () => {
      const fx = fixture();
      const client = fx.client();
      const attempt = (options: unknown) => {
        try {
          harness.wrap(client, options as TokenAdapterOptions);
        } catch (error) {
          return error;
        }
        return undefined;
      };
      expect(attempt({ targets: { [`${fx.billing.url}/path`]: { resource: BILLING } } })).toMatchObject({ option: 'targets' });
      expect(attempt({ targets: { 'billing.api.test': {} } })).toBeInstanceOf(ConfigurationError);
      expect(attempt({})).toMatchObject({ option: 'targets' });
      expect(attempt({ targets: { [fx.billing.url]: { audience: REPORTS, forceRefresh: true } } })).toMatchObject({ option: `targets["${fx.billing.url}"].forceRefresh` });
      expect(attempt({ anyOrigin: { resource: BILLING }, renewOn: 'always' })).toMatchObject({ option: 'renewOn' });
      expect(attempt({ targets: fx.targets(), retries: 3 })).toMatchObject({ option: 'retries' });
      expect(attempt({ targets: fx.targets(), renewInterval: -1 })).toMatchObject({ option: 'renewInterval' });
      expect(attempt({ targets: fx.targets(), renewInterval: '30s' })).toMatchObject({ option: 'renewInterval' });
      expect(attempt({ targets: fx.targets(), renewInterval: Number.POSITIVE_INFINITY })).toMatchObject({ option: 'renewInterval' });
      expect(attempt({ targets: fx.targets(), clock: Date.now })).toMatchObject({ option: 'clock' });
      expect(attempt({ targets: fx.targets(), renewInterval: 0, clock: new ManualClock() })).toBeUndefined();
    });
  });
}
