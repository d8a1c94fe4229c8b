import { inspect } from 'node:util';
import { ConfigurationError, ErrorCode, OAuthError, TokenClient, TokenResponseError, type TokenClientOptions } from 'm2m-token';
import { describe, expect, it } from 'vitest';
import { SECRET, setup } from './helpers/client.js';
import { ManualClock } from './helpers/clock.js';
import { expectNoLeak } from './helpers/leaks.js';
import { json, okToken } from './helpers/token-server.js';

// Regression tests for what an adversarial review found in the core (issue "Hardening"); each failed before its fix.

/** Every string reachable from a value: own properties (enumerable or not, symbols too), getters, causes. */
function reachableStrings(value: unknown, seen = new Set<unknown>()): string[] {
  if (typeof value === 'string') return [value];
  if (value === null || (typeof value !== 'object' && typeof value !== 'function') || seen.has(value)) return [];
  seen.add(value);
  const out: string[] = [];
  for (const key of Reflect.ownKeys(value)) {
    let child: unknown;
    try {
      child = (value as Record<PropertyKey, unknown>)[key];
    } catch {
      continue;
    }
    out.push(...reachableStrings(child, seen));
  }
  return out;
}

/** expectNoLeak, plus structuredClone and a walk of every reachable property. */
function expectNoPath(error: unknown, secrets: readonly string[]): void {
  expectNoLeak(error, secrets);
  const renderings = [inspect(error, { depth: Infinity, showHidden: true }), ...reachableStrings(error)];
  try {
    renderings.push(inspect(structuredClone(error), { depth: Infinity, showHidden: true }));
  } catch {
    // not cloneable: nothing to render
  }
  for (const text of renderings) for (const secret of secrets) expect(text).not.toContain(secret);
}

describe('secrets echoed by the server', () => {
  it('a secret echoed in token_type is not in the error', async () => {
    const { server, client } = await setup({ retry: false });
    server.respond((_req, res) => json(res, 200, { access_token: 'at-1', token_type: SECRET, expires_in: 60 }));
    const error = await client.getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenResponseError);
    expect(error).toMatchObject({ code: ErrorCode.TOKEN_TYPE_UNSUPPORTED });
    expect((error as Error).message).toContain('[REDACTED]');
    expectNoPath(error, [SECRET]);
  });

  it('a secret echoed in expires_in is not in the error', async () => {
    const { server, client } = await setup({ retry: false });
    server.respond((_req, res) => json(res, 200, { access_token: 'at-1', token_type: 'Bearer', expires_in: SECRET }));
    const error = await client.getToken().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.RESPONSE_INVALID });
    expect((error as Error).message).toContain('expires_in');
    expectNoPath(error, [SECRET]);
  });

  it('a secret shorter than 4 characters is still never shown', async () => {
    const short = 'Q7z';
    const { server, client } = await setup({ clientSecret: short, retry: false });
    server.respond((_req, res) => json(res, 401, { error: 'invalid_client', error_description: `bad secret Q7z for client-1` }));
    const error = await client.getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect((error as OAuthError).error).toBe('invalid_client');
    expect((error as OAuthError).errorDescription).toBe('[REDACTED]');
    expectNoPath(error, [short]);
  });

  it('a dispatcher error carrying the request in a property or a nested cause is scrubbed everywhere', async () => {
    const body = `grant_type=client_credentials&client_id=client-1&client_secret=${SECRET}`;
    const inner = Object.assign(new Error(`socket said: ${body}`), { request: { body, headers: { authorization: SECRET } } });
    const outer = Object.assign(new Error('dispatch failed'), { code: 'UND_ERR_SOCKET', requestBody: body, cause: inner });
    const dispatcher = {
      dispatch(_opts: unknown, handler: { onResponseError?(controller: unknown, error: Error): void }) {
        queueMicrotask(() => handler.onResponseError?.({}, outer));
        return true;
      },
      request() {
        throw new Error('not used');
      },
    };
    const { client } = await setup({ dispatcher: dispatcher as unknown as TokenClientOptions['dispatcher'], retry: false });
    const error = await client.getToken().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.NETWORK_ERROR });
    expect((error as Error).cause).toMatchObject({ code: 'UND_ERR_SOCKET', message: 'dispatch failed' });
    expect(((error as Error).cause as Error).cause).toMatchObject({ message: 'socket said: grant_type=client_credentials&client_id=client-1&client_secret=[REDACTED]' });
    expectNoPath(error, [SECRET]);
  });
});

describe('tokens that cannot go in a header', () => {
  it.each([
    ['CR/LF', 'at-1\r\nX-Injected: yes'],
    ['a space', 'at 1'],
    ['a non-ASCII character', 'at-1é'],
    ['a NUL', 'at-1\u0000'],
  ])('an access_token with %s is refused without being quoted', async (_what, accessToken) => {
    const { server, client } = await setup({ retry: false });
    server.respond(okToken(accessToken));
    const error = await client.getToken().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.RESPONSE_INVALID });
    expect((error as Error).message).toMatch(/cannot go in an HTTP header/);
    expectNoPath(error, [accessToken, 'at-1']);
  });

  it('a token of visible ASCII (JWT, opaque with + / = ~) is accepted', async () => {
    const { server, client } = await setup();
    server.respond(okToken('eyJ.aB-_~+/c=='));
    expect((await client.getToken()).accessToken).toBe('eyJ.aB-_~+/c==');
  });
});

describe('absurd lifetimes', () => {
  it.each([
    ['expires_in: 1e20', { access_token: 'at-forever', token_type: 'Bearer', expires_in: 1e20 }],
    ['a JWT exp of 1e300', { access_token: `h.${Buffer.from(JSON.stringify({ exp: 1e300 })).toString('base64url')}.s`, token_type: 'Bearer' }],
  ])('%s: the token is used, and its cache entry ends at the 24 h cap', async (_what, body) => {
    const clock = new ManualClock();
    const { server, client } = await setup({ clock, refreshAhead: false });
    server.respond((_req, res) => json(res, 200, body));
    const first = await client.getToken();
    expect(first.accessToken).toBe(body.access_token);
    clock.advance(23 * 60 * 60 * 1000);
    await client.getToken();
    expect(server.requests).toHaveLength(1);
    clock.advance(60 * 60 * 1000);
    await client.getToken();
    expect(server.requests).toHaveLength(2);
  });
});

describe('options that used to pass the constructor and fail later', () => {
  const base = { tokenEndpoint: 'https://as.example.com/token', clientId: 'client-1', clientSecret: SECRET };
  it.each<[string, Partial<TokenClientOptions>, string]>([
    ['a userAgent with CR/LF', { userAgent: 'svc/1\r\nX-Evil: 1' }, 'userAgent'],
    ['a userAgent with a control character', { userAgent: 'svc/1\u0007' }, 'userAgent'],
    ['a whitespace-only clientSecret', { clientSecret: ' \n\t ' }, 'clientSecret'],
    ['a dispatcher without dispatch()', { dispatcher: { request() {} } as unknown as TokenClientOptions['dispatcher'] }, 'dispatcher'],
    ['a tokenEndpoint with a newline inside', { tokenEndpoint: 'https://as.exa\nmple.com/token' }, 'tokenEndpoint'],
  ])('%s is refused at construction, naming the option', (_what, overrides, option) => {
    let thrown: unknown;
    try {
      new TokenClient({ ...base, ...overrides } as TokenClientOptions);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigurationError);
    expect(thrown).toMatchObject({ option });
    expectNoPath(thrown, [SECRET]);
  });

  it.each(['ten\nant.auth0.com', 'tenant.auth0.com\r\n', 'ten\tant.auth0.com', 'tenant .auth0.com'])('a domain with whitespace or control characters (%j) is refused, not joined into another host name', (domain) => {
    expect(() => new TokenClient({ domain, clientId: 'client-1', clientSecret: SECRET })).toThrow(
      expect.objectContaining({ option: 'domain', message: expect.stringContaining('control characters') }),
    );
  });
});

describe('expiry follows a monotonic clock as well as the wall clock', () => {
  it('a system clock stepped back 2 hours does not keep an expired token alive', async () => {
    const clock = new ManualClock();
    const { server, client } = await setup({ clock, refreshAhead: false, expiryLeeway: 60_000 });
    server.respond(okToken('at-1', 3600));
    await client.getToken();
    clock.advance(30 * 60 * 1000);
    clock.step(-2 * 60 * 60 * 1000);
    clock.advance(30 * 60 * 1000); // 60 min have really passed: past expiresAt − leeway
    await client.getToken();
    expect(server.requests).toHaveLength(2);
  });

  it('the same when cached calls came between the token and the step', async () => {
    const clock = new ManualClock();
    const { server, client } = await setup({ clock, refreshAhead: false, expiryLeeway: 60_000 });
    server.respond(okToken('at-1', 3600));
    await client.getToken();
    for (let i = 0; i < 3; i++) {
      clock.advance(10 * 60 * 1000);
      await client.getToken();
    }
    expect(server.requests).toHaveLength(1);
    clock.step(-2 * 60 * 60 * 1000);
    clock.advance(30 * 60 * 1000); // 60 min have really passed
    await client.getToken();
    expect(server.requests).toHaveLength(2);
  });

  it('a wall clock stepped forward past expiry ends the token too (whichever comes first)', async () => {
    const clock = new ManualClock();
    const { server, client } = await setup({ clock, refreshAhead: false });
    server.respond(okToken('at-1', 3600));
    await client.getToken();
    clock.step(2 * 60 * 60 * 1000);
    await client.getToken();
    expect(server.requests).toHaveLength(2);
  });

  it('the token stays cached while both clocks say it is valid', async () => {
    const clock = new ManualClock();
    const { server, client } = await setup({ clock, refreshAhead: false });
    server.respond(okToken('at-1', 3600));
    await client.getToken();
    clock.step(-2 * 60 * 60 * 1000);
    clock.advance(50 * 60 * 1000);
    await client.getToken();
    expect(server.requests).toHaveLength(1);
  });
});

describe('smaller findings', () => {
  it('a 501 is not retried, and its message does not claim it was', async () => {
    const { server, client } = await setup();
    server.respond((_req, res) => {
      res.writeHead(501, { 'content-type': 'text/plain' });
      res.end('no');
    });
    const error = await client.getToken().catch((e: unknown) => e);
    expect(server.requests).toHaveLength(1);
    expect(error).toMatchObject({ code: ErrorCode.HTTP_STATUS, status: 501, attempts: 1 });
    expect((error as Error).message).toContain('not retried');
    expect((error as Error).message).not.toMatch(/it was retried/);
  });

  it('a 503 message says it is transient and retried as the retry option allows', async () => {
    const { server, client } = await setup({ retry: { retries: 1, baseDelay: 1, maxDelay: 1 } });
    server.respond((_req, res) => json(res, 503, { message: 'down' }));
    const error = await client.getToken().catch((e: unknown) => e);
    expect(server.requests).toHaveLength(2);
    expect((error as Error).message).toContain('transient');
  });

  it('a signal whose addEventListener throws rejects with a ConfigurationError naming getToken.signal', async () => {
    const { client } = await setup();
    const signal = {
      aborted: false,
      addEventListener() {
        throw new Error('broken polyfill');
      },
      removeEventListener() {},
    } as unknown as AbortSignal;
    const error = await client.getToken({ signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error).toMatchObject({ option: 'getToken.signal' });
  });

  it('callers of one shared request each get their own error object', async () => {
    const { server, client } = await setup({ retry: false });
    server.respond((_req, res) => json(res, 401, { error: 'invalid_client' }));
    const signal = new AbortController().signal;
    const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (e: unknown) => e as OAuthError);
    const [a, b, c] = await Promise.all([failure(client.getToken()), failure(client.getToken()), failure(client.getToken({ signal }))]);
    expect(server.requests).toHaveLength(1);
    expect(a).not.toBe(b);
    expect(b).not.toBe(c);
    for (const e of [a, b, c]) {
      expect(e).toBeInstanceOf(OAuthError);
      expect(e).toMatchObject({ code: ErrorCode.OAUTH_ERROR, error: 'invalid_client', status: 401 });
    }
    (a as { attempts?: number }).attempts = 99;
    a!.message = 'changed by one caller';
    expect(b!.attempts).toBe(1);
    expect(c!.message).not.toBe('changed by one caller');
  });
});
