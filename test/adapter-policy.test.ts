// The pure decisions the adapters share: option validation, origin matching, the 401 rule, replayable bodies,
// and reading WWW-Authenticate.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ConfigurationError, createToken } from '../src/index.js';
import { resolveAdapterOptions } from '../src/adapters/options.js';
import { answeredBy, authorizationFor, isReplayableBody, originOf, shouldRenew, targetFor, tokenKey } from '../src/adapters/policy.js';
import { DEFAULT_RENEW_INTERVAL } from '../src/adapters/options.js';
import type { Token } from '../src/index.js';
import { headerText, parseChallenges, saysInvalidToken } from '../src/adapters/www-authenticate.js';

const token = (tokenType = 'Bearer') => createToken({ accessToken: 'fake-token', tokenType, expiresIn: 60_000, expiresAt: Date.now() + 60_000 });

function optionError(options: unknown): unknown {
  try {
    resolveAdapterOptions(options);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('adapter options', () => {
  it('normalizes target keys to origins', () => {
    const config = resolveAdapterOptions({ targets: { 'HTTPS://Billing.Example.com:443/': { audience: 'https://billing' }, 'http://127.0.0.1:8080': {} } });
    expect([...config.targets.keys()]).toEqual(['https://billing.example.com', 'http://127.0.0.1:8080']);
    expect(config.renewOn).toBe('any-401');
  });

  it.each([
    ['a path', 'https://api.example.com/v1'],
    ['a query', 'https://api.example.com/?x=1'],
    ['a fragment', 'https://api.example.com#top'],
    ['no scheme', 'api.example.com'],
    ['another scheme', 'ftp://api.example.com'],
  ])('refuses a target key with %s', (_name, key) => {
    const error = optionError({ targets: { [key]: {} } });
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error).toMatchObject({ option: 'targets', code: 'M2M_INVALID_OPTION' });
  });

  it('refuses a key with credentials without repeating them', () => {
    const error = optionError({ targets: { 'https://user:fake-password@api.example.com': {} } }) as Error;
    expect(error).toMatchObject({ option: 'targets' });
    expect(error.message).not.toContain('fake-password');
  });

  it('refuses the same origin twice', () => {
    expect(optionError({ targets: { 'https://a.example.com': {}, 'https://A.example.com:443': {} } })).toMatchObject({ option: 'targets' });
  });

  it('needs a target or anyOrigin: an adapter that attaches nothing is a mistake', () => {
    expect(optionError({})).toMatchObject({ option: 'targets' });
    expect(optionError({ targets: {} })).toMatchObject({ option: 'targets' });
    expect(resolveAdapterOptions({ anyOrigin: {} }).anyOrigin).toEqual({});
  });

  it.each([
    [{ targets: { 'https://a.example.com': { audience: '' } } }, 'targets["https://a.example.com"].audience'],
    [{ targets: { 'https://a.example.com': { scope: 42 } } }, 'targets["https://a.example.com"].scope'],
    [{ targets: { 'https://a.example.com': { signal: new AbortController().signal } } }, 'targets["https://a.example.com"].signal'],
    [{ targets: { 'https://a.example.com': null } }, 'targets["https://a.example.com"]'],
    [{ anyOrigin: { extraParams: 'x' } }, 'anyOrigin.extraParams'],
    [{ anyOrigin: {}, renewOn: 'sometimes' }, 'renewOn'],
    [{ anyOrigin: {}, retry: true }, 'retry'],
    [{ anyOrigin: {}, renewInterval: -1 }, 'renewInterval'],
    [{ anyOrigin: {}, renewInterval: Number.NaN }, 'renewInterval'],
    [{ anyOrigin: {}, renewInterval: '30000' }, 'renewInterval'],
    [{ anyOrigin: {}, clock: {} }, 'clock'],
    [{ anyOrigin: {}, clock: null }, 'clock'],
    [{ targets: ['https://a.example.com'] }, 'targets'],
    [null, 'options'],
  ])('%j is refused, naming %s', (options, option) => {
    expect(optionError(options)).toMatchObject({ option });
  });
});

describe('renewInterval and clock', () => {
  it('default to 30 s on a monotonic clock', () => {
    const config = resolveAdapterOptions({ anyOrigin: {} });
    expect(config.renewInterval).toBe(DEFAULT_RENEW_INTERVAL);
    expect(DEFAULT_RENEW_INTERVAL).toBe(30_000);
    expect(config.clock.now()).toBeLessThan(Date.now() / 2); // performance.now(), not the epoch
  });

  it('take 0 and an injected clock', () => {
    const clock = { now: () => 42 };
    const config = resolveAdapterOptions({ anyOrigin: {}, renewInterval: 0, clock });
    expect(config).toMatchObject({ renewInterval: 0, clock });
  });
});

describe('tokenKey', () => {
  it('is one key per token: scope as a set, resources and extra values sorted', () => {
    expect(tokenKey({ audience: 'a', scope: 'read write' })).toBe(tokenKey({ scope: ['write', 'read', 'read'], audience: 'a' }));
    expect(tokenKey({ resource: ['https://b', 'https://a'] })).toBe(tokenKey({ resource: ['https://a', 'https://b'] }));
    expect(tokenKey({ extraParams: { b: '2', a: ['1'] } })).toBe(tokenKey({ extraParams: { a: '1', b: ['2'] } }));
  });

  it('tells different tokens apart', () => {
    const keys = [{}, { audience: 'a' }, { audience: 'b' }, { organization: 'a' }, { scope: 'a' }, { resource: 'a' }, { extraParams: { a: 'a' } }, { audience: 'a', scope: 'x' }];
    expect(new Set(keys.map(tokenKey)).size).toBe(keys.length);
  });
});

describe('answeredBy and originOf', () => {
  it('a response answered by the origin the token went to, and no other on the way', () => {
    expect(answeredBy('https://api.test', [])).toBe(true);
    expect(answeredBy('https://api.test', ['https://api.test/a', new URL('https://API.test:443/b')])).toBe(true);
    expect(answeredBy('https://api.test', ['https://api.test/a', 'https://evil.test/b', 'https://api.test/c'])).toBe(false);
    expect(answeredBy('https://api.test', ['http://api.test/'])).toBe(false);
    expect(answeredBy('https://api.test', [''])).toBe(false);
  });

  it('originOf gives none for what has no origin', () => {
    expect(originOf('https://API.test:443/x?y')).toBe('https://api.test');
    expect(originOf('file:///etc/passwd')).toBeUndefined();
    expect(originOf('not a url')).toBeUndefined();
  });
});

describe('authorizationFor', () => {
  const fake = (accessToken: unknown, tokenType: unknown = 'Bearer') => ({ accessToken, tokenType, expiresIn: 1, expiresAt: 1, scope: undefined, raw: {} }) as unknown as Token;

  it('puts the type and the token together', () => {
    expect(authorizationFor(fake('eyJ.abc-_~+/=='))).toBe('Bearer eyJ.abc-_~+/==');
    expect(authorizationFor(fake('x', 'DPoP'))).toBe('DPoP x');
  });

  it.each([['fake\r\ntoken'], ['fake token'], ['fake\u0000'], ['fakë'], [''], [undefined], [7]])('refuses the access token %j without quoting it', (accessToken) => {
    let error: unknown;
    try {
      authorizationFor(fake(accessToken));
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ name: 'TokenClientError', code: 'M2M_RESPONSE_INVALID' });
    if (typeof accessToken === 'string' && accessToken) expect((error as Error).message).not.toContain(accessToken);
  });

  it.each([['Bearer\r\nX: y'], ['Bear er'], [''], [null]])('refuses the token type %j', (tokenType) => {
    expect(() => authorizationFor(fake('fake-token', tokenType))).toThrow(/tokenType/);
  });
});

describe('targetFor', () => {
  const config = resolveAdapterOptions({ targets: { 'https://billing.example.com': { audience: 'billing' } } });

  it('matches on the whole origin: scheme, host and port', () => {
    expect(targetFor(config, 'https://billing.example.com/invoices?x=1')).toEqual({ audience: 'billing' });
    expect(targetFor(config, new URL('https://BILLING.example.com:443/'))).toEqual({ audience: 'billing' });
    expect(targetFor(config, 'http://billing.example.com/')).toBeUndefined();
    expect(targetFor(config, 'https://billing.example.com:8443/')).toBeUndefined();
    expect(targetFor(config, 'https://billing.example.com.evil.test/')).toBeUndefined();
    expect(targetFor(config, 'https://evil.test/?https://billing.example.com')).toBeUndefined();
  });

  it('gives nothing for unparsable or origin-less URLs, even with anyOrigin', () => {
    const any = resolveAdapterOptions({ anyOrigin: { audience: 'all' } });
    expect(targetFor(any, '/relative')).toBeUndefined();
    expect(targetFor(any, 'data:text/plain,hi')).toBeUndefined();
    expect(targetFor(any, 'https://anything.test/')).toEqual({ audience: 'all' });
  });
});

describe('shouldRenew', () => {
  const any = resolveAdapterOptions({ anyOrigin: {} });
  const strict = resolveAdapterOptions({ anyOrigin: {}, renewOn: 'invalid_token' });

  it('by default renews on any 401 and nothing else', () => {
    expect(shouldRenew(any, 401, undefined, token())).toBe(true);
    expect(shouldRenew(any, 403, 'Bearer error="invalid_token"', token())).toBe(false);
    expect(shouldRenew(any, 200, undefined, token())).toBe(false);
  });

  it("with 'invalid_token', only when the token's scheme says so", () => {
    expect(shouldRenew(strict, 401, 'Bearer error="invalid_token"', token())).toBe(true);
    expect(shouldRenew(strict, 401, 'Bearer error="insufficient_scope"', token())).toBe(false);
    expect(shouldRenew(strict, 401, 'Bearer', token())).toBe(false);
    expect(shouldRenew(strict, 401, undefined, token())).toBe(false);
    expect(shouldRenew(strict, 401, 'DPoP error="invalid_token"', token())).toBe(false);
    expect(shouldRenew(strict, 401, 'DPoP error="invalid_token"', token('DPoP'))).toBe(true);
  });
});

describe('WWW-Authenticate', () => {
  it('separates challenges from parameters, with commas inside quoted strings', () => {
    expect(parseChallenges('Basic realm="a, b", Bearer realm="api", error="invalid_token", error_description="x \\"y\\""')).toEqual([
      { scheme: 'basic', params: { realm: 'a, b' } },
      { scheme: 'bearer', params: { realm: 'api', error: 'invalid_token', error_description: 'x "y"' } },
    ]);
  });

  it('reads token values, token68 and spaces around "="', () => {
    expect(parseChallenges('Negotiate abc+/==, Bearer error = invalid_token')).toEqual([
      { scheme: 'negotiate', params: {} },
      { scheme: 'bearer', params: { error: 'invalid_token' } },
    ]);
  });

  it('finds error="invalid_token" only in the challenge of the given scheme', () => {
    expect(saysInvalidToken('Basic error="invalid_token", Bearer realm="x"', 'Bearer')).toBe(false);
    expect(saysInvalidToken('Basic realm="x", bearer ERROR="invalid_token"', 'Bearer')).toBe(true);
    expect(saysInvalidToken('Bearer error="invalid_token_x"', 'Bearer')).toBe(false);
    expect(saysInvalidToken('"garbage', 'Bearer')).toBe(false);
    expect(saysInvalidToken('', 'Bearer')).toBe(false);
  });

  it('headerText reads the header as every adapter gets it: one line, several lines, or none', () => {
    expect(headerText('Bearer realm="x"')).toBe('Bearer realm="x"');
    // undici and axios give a header sent on several lines as an array.
    expect(headerText(['Basic realm="a"', 'Bearer error="invalid_token"'])).toBe('Basic realm="a", Bearer error="invalid_token"');
    expect(saysInvalidToken(headerText(['Basic realm="a"', 'Bearer error="invalid_token"']), 'Bearer')).toBe(true);
    expect(headerText(undefined)).toBeUndefined();
    expect(headerText(null)).toBeUndefined();
    expect(headerText(42)).toBeUndefined();
  });
});

describe('isReplayableBody', () => {
  it.each([
    ['no body', undefined],
    ['null', null],
    ['a string', 'x'],
    ['a Buffer', Buffer.from('x')],
    ['a Uint8Array', new Uint8Array([1])],
    ['an ArrayBuffer', new ArrayBuffer(1)],
    ['URLSearchParams', new URLSearchParams('a=1')],
    ['FormData', new FormData()],
    ['a Blob', new Blob(['x'])],
  ])('%s can be sent again', (_name, body) => {
    expect(isReplayableBody(body)).toBe(true);
  });

  it.each([
    ['a ReadableStream', new ReadableStream()],
    ['a Node stream', Readable.from(['x'])],
    ['an async iterable', (async function* () {})()],
    ['a generator', (function* () {})()],
    ['an unknown object', { pipe() {} }],
  ])('%s cannot', (_name, body) => {
    expect(isReplayableBody(body)).toBe(false);
  });
});
