// The constructor's validation as a user meets it: every refusal names the option and says what it takes, and the
// defaults are the documented ones.
import { describe, expect, it } from 'vitest';
import { checkCallOptions, isLoopback, resolveOptions, type TokenClientOptions } from '../src/options.js';
import { ConfigurationError } from '../src/errors.js';
import { systemClock } from '../src/types.js';
import { makeTestPki } from './helpers/certs.js';

const BASE = { tokenEndpoint: 'https://as.example/oauth/token', clientId: 'app', clientSecret: 'fake-secret' };
const store = { get: async () => undefined, set: async () => {}, delete: async () => {} };

function refused(options: Record<string, unknown>, { base = true } = {}): ConfigurationError {
  try {
    resolveOptions((base ? { ...BASE, ...options } : options) as unknown as TokenClientOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error(`expected ${JSON.stringify(options)} to be refused`);
}

describe('defaults', () => {
  it('are the documented ones', () => {
    const o = resolveOptions(BASE as TokenClientOptions);
    expect(o.expiry).toEqual({ leeway: 60_000, refreshAhead: 300_000, defaultLifetime: 300_000 });
    expect(o.transport).toMatchObject({ timeout: 10_000, totalTimeout: 30_000, retry: { retries: 3, baseDelay: 200, maxDelay: 10_000, maxRetryAfter: 30_000 }, dispatcher: undefined, tls: undefined, userAgent: undefined });
    expect(o.cache).toEqual({ max: 1000, store: undefined, storeTimeout: 1_000 });
    expect(o.staleIfError).toEqual({ minRemaining: undefined });
    expect(o.allowedTokenTypes).toEqual(['bearer']);
    expect(o.allowInsecureHttp).toBe(false);
    expect(o.clock).toBe(systemClock);
    expect(o.onError).toBeUndefined();
    expect(o.clientAuthentication).toBe('client_secret_post');
    expect(o.endpoint).toEqual({ kind: 'static', url: new URL(BASE.tokenEndpoint), assertionAudience: BASE.tokenEndpoint, id: BASE.tokenEndpoint });
  });

  it('take the values given', () => {
    const clock = { now: () => 1 };
    const onError = () => {};
    const o = resolveOptions({
      ...BASE,
      expiryLeeway: 1,
      refreshAhead: false,
      defaultLifetime: 2,
      timeout: 3,
      totalTimeout: 4,
      retry: { retries: 0, baseDelay: 5, maxDelay: 6, maxRetryAfter: 7 },
      cache: { max: 8, store },
      storeTimeout: 9,
      staleIfError: { minRemaining: 0 },
      allowedTokenTypes: ['PoP-Key'],
      clock,
      onError,
      userAgent: 'svc/1',
      allowInsecureHttp: true,
    } as TokenClientOptions);
    expect(o.expiry).toEqual({ leeway: 1, refreshAhead: 0, defaultLifetime: 2 });
    expect(o.transport).toMatchObject({ timeout: 3, totalTimeout: 4, retry: { retries: 0, baseDelay: 5, maxDelay: 6, maxRetryAfter: 7 }, userAgent: 'svc/1' });
    expect(o.cache).toEqual({ max: 8, store, storeTimeout: 9 });
    expect(o.staleIfError).toEqual({ minRemaining: 0 });
    expect(o.allowedTokenTypes).toEqual(['bearer', 'pop-key']);
    expect(o.clock).toBe(clock);
    expect(o.onError).toBe(onError);
    expect(o.allowInsecureHttp).toBe(true);
    expect(resolveOptions({ ...BASE, refreshAhead: 10, retry: false, staleIfError: false, cache: store } as TokenClientOptions)).toMatchObject({
      expiry: { refreshAhead: 10 },
      transport: { retry: { retries: 0, baseDelay: 200 } },
      staleIfError: false,
      cache: { max: 1000, store },
    });
    expect(resolveOptions({ ...BASE, retry: true, staleIfError: true, cache: { max: 5 } } as never)).toMatchObject({ transport: { retry: { retries: 3 } }, staleIfError: { minRemaining: undefined }, cache: { max: 5, store: undefined } });
  });

  it('the edges of each range are accepted', () => {
    const o = resolveOptions({ ...BASE, cache: { max: 1 }, retry: { retries: 20 }, timeout: 2_147_483_647, staleIfError: {} } as TokenClientOptions);
    expect(o.cache.max).toBe(1);
    expect(o.transport.retry.retries).toBe(20);
    expect(o.transport.timeout).toBe(2_147_483_647);
    expect(o.staleIfError).toEqual({ minRemaining: undefined });
  });

  it('the endpoint from domain, tokenEndpoint or issuer', () => {
    expect(resolveOptions({ domain: 'tenant.auth0.com', clientId: 'a', clientSecret: 's' }).endpoint).toEqual({
      kind: 'static',
      url: new URL('https://tenant.auth0.com/oauth/token'),
      assertionAudience: 'https://tenant.auth0.com/',
      id: 'https://tenant.auth0.com/oauth/token',
    });
    expect(resolveOptions({ domain: 'https://tenant.auth0.com/', clientId: 'a', clientSecret: 's' }).endpoint).toMatchObject({ url: new URL('https://tenant.auth0.com/oauth/token') });
    expect(resolveOptions({ domain: 'http://localhost:8080', clientId: 'a', clientSecret: 's' }).endpoint).toMatchObject({ url: new URL('http://localhost:8080/oauth/token') });
    expect(resolveOptions({ tokenEndpoint: new URL('https://as.example/t?x=1'), clientId: 'a', clientSecret: 's' }).endpoint).toMatchObject({ id: 'https://as.example/t?x=1' });
    const issuer = resolveOptions({ issuer: 'https://as.example/tenant', clientId: 'a', clientSecret: 's' });
    expect(issuer.endpoint).toEqual({ kind: 'issuer', issuer: 'https://as.example/tenant', id: 'issuer:https://as.example/tenant' });
    expect(issuer.clientAuthentication).toBeUndefined();
    expect(resolveOptions({ issuer: new URL('https://as.example/'), clientId: 'a', clientSecret: 's', clientAuthentication: 'client_secret_basic' }).clientAuthentication).toBe('client_secret_basic');
  });
});

describe('refusals name the option and what it takes', () => {
  const cases: [Record<string, unknown>, string, string][] = [
    [{ bogus: 1 }, 'bogus', 'unknown option; check its spelling against docs/options.md'],
    [{ allowInsecureHttp: 'yes' }, 'allowInsecureHttp', 'must be true or false'],
    [{ domain: 'a.example' }, 'domain', 'give one of domain, tokenEndpoint and issuer, not domain and tokenEndpoint'],
    [{ issuer: 'https://as.example' }, 'tokenEndpoint', 'not tokenEndpoint and issuer'],
    [{ tokenEndpoint: 'https://as.example/t#frag' }, 'tokenEndpoint', 'must not have a #fragment'],
    [{ tokenEndpoint: 'http://as.example/t' }, 'tokenEndpoint', 'http: on as.example would send the client secret in clear; use https:, or set allowInsecureHttp: true'],
    [{ tokenEndpoint: 'ftp://as.example/t' }, 'tokenEndpoint', 'must be an https: URL, got ftp:'],
    [{ tokenEndpoint: 'https://u:p@as.example/t' }, 'tokenEndpoint', 'must not contain credentials; use clientId and clientSecret'],
    [{ tokenEndpoint: 'https://:p@as.example/t' }, 'tokenEndpoint', 'must not contain credentials'],
    [{ tokenEndpoint: 'not a url' }, 'tokenEndpoint', 'must not contain spaces, tabs, newlines or other control characters'],
    [{ tokenEndpoint: 'https://as.exa\tmple/t' }, 'tokenEndpoint', 'must not contain spaces'],
    [{ tokenEndpoint: 'https://as.example/t\x7f' }, 'tokenEndpoint', 'must not contain spaces'],
    [{ tokenEndpoint: 'nope' }, 'tokenEndpoint', 'is not a valid URL or host name'],
    [{ tokenEndpoint: '' }, 'tokenEndpoint', 'must be a non-empty string'],
    [{ tokenEndpoint: 5 }, 'tokenEndpoint', 'must be a non-empty string'],
    [{ clientId: undefined }, 'clientId', 'is required'],
    [{ clientId: '  ' }, 'clientId', 'must be a non-empty string'],
    [{ clientSecret: ' \n' }, 'clientSecret', 'must be a non-empty string (not only whitespace)'],
    [{ clientSecret: 5 }, 'clientSecret', 'must be a non-empty string'],
    [{ clientSecret: undefined }, 'clientSecret', 'is required: give clientSecret, clientAssertion (private_key_jwt) or tls (mTLS)'],
    [{ tls: 'pem' }, 'tls', 'must be { cert, key, ca?, passphrase? }'],
    [{ tls: null }, 'tls', 'must be { cert, key, ca?, passphrase? }'],
    [{ tls: { cert: 'x' } }, 'tls', 'must be { cert, key, ca?, passphrase? }'],
    [{ tls: { key: 'x' } }, 'tls', 'must be { cert, key, ca?, passphrase? }'],
    [{ tls: { cert: 'x', key: 'y', pfx: 'z' } }, 'tls.pfx', 'unknown option; tls takes cert, key, ca, passphrase'],
    [{ tls: { cert: 'x', key: 'y' } }, 'tls', 'could not be loaded ('],
    [{ dispatcher: {} }, 'dispatcher', 'must be an undici Dispatcher'],
    [{ dispatcher: null }, 'dispatcher', 'must be an undici Dispatcher'],
    [{ dispatcher: 'agent' }, 'dispatcher', 'must be an undici Dispatcher'],
    [{ allowedTokenTypes: 'dpop' }, 'allowedTokenTypes', 'must be an array of token type names'],
    [{ allowedTokenTypes: ['dpop', ''] }, 'allowedTokenTypes', 'must be an array of token type names'],
    [{ allowedTokenTypes: [1] }, 'allowedTokenTypes', 'must be an array of token type names'],
    [{ cache: 5 }, 'cache', 'must be { max } or a TokenStore with get, set and delete methods'],
    [{ cache: null }, 'cache', 'must be { max } or a TokenStore'],
    [{ cache: { size: 1 } }, 'cache.size', 'unknown option; cache takes { max, store } or a TokenStore'],
    [{ cache: { store: {} } }, 'cache.store', 'must be a TokenStore with get, set and delete methods'],
    [{ cache: { max: 0 } }, 'cache.max', 'must be a whole number ≥ 1, got 0'],
    [{ cache: { max: 1.5 } }, 'cache.max', 'got 1.5'],
    [{ staleIfError: 'yes' }, 'staleIfError', 'must be true, false or { minRemaining } (milliseconds)'],
    [{ staleIfError: null }, 'staleIfError', 'must be true, false or { minRemaining }'],
    [{ staleIfError: [] }, 'staleIfError', 'must be true, false or { minRemaining }'],
    [{ staleIfError: { min: 1 } }, 'staleIfError.min', 'unknown option; staleIfError takes { minRemaining }'],
    [{ staleIfError: { minRemaining: -1 } }, 'staleIfError.minRemaining', 'must be a number of milliseconds from 0'],
    [{ retry: 3 }, 'retry', 'must be false or { retries, baseDelay, maxDelay, maxRetryAfter }'],
    [{ retry: null }, 'retry', 'must be false or { retries'],
    [{ retry: { tries: 1 } }, 'retry.tries', 'unknown option; retry takes retries, baseDelay, maxDelay, maxRetryAfter'],
    [{ retry: { retries: -1 } }, 'retry.retries', 'must be a whole number from 0 to 20, got -1'],
    [{ retry: { retries: 21 } }, 'retry.retries', 'got 21'],
    [{ retry: { retries: 1.5 } }, 'retry.retries', 'got 1.5'],
    [{ retry: { baseDelay: -1 } }, 'retry.baseDelay', 'must be a number of milliseconds'],
    [{ retry: { maxDelay: 'x' } }, 'retry.maxDelay', 'must be a number of milliseconds'],
    [{ retry: { maxRetryAfter: Infinity } }, 'retry.maxRetryAfter', 'must be a number of milliseconds'],
    [{ timeout: 0 }, 'timeout', 'must be a number of milliseconds from 1 to 2147483647 (about 24.8 days), got 0'],
    [{ timeout: '10s' }, 'timeout', 'got "10s" (durations are numbers of milliseconds, e.g. 10_000)'],
    [{ timeout: 2_147_483_648 }, 'timeout', 'got 2147483648'],
    [{ timeout: Number.NaN }, 'timeout', 'got NaN'],
    [{ timeout: null }, 'timeout', 'got null'],
    [{ timeout: () => 1 }, 'timeout', 'got () => 1'],
    [{ totalTimeout: 0 }, 'totalTimeout', 'from 1 to'],
    [{ storeTimeout: 0 }, 'storeTimeout', 'from 1 to'],
    [{ defaultLifetime: 0 }, 'defaultLifetime', 'from 1 to'],
    [{ expiryLeeway: -1 }, 'expiryLeeway', 'from 0 to'],
    [{ refreshAhead: true }, 'refreshAhead', 'got true'],
    [{ userAgent: 'svc\r\nx: 1' }, 'userAgent', 'must be printable ASCII without newlines or control characters (it is sent as an HTTP header)'],
    [{ userAgent: 'svc é' }, 'userAgent', 'must be printable ASCII'],
    [{ userAgent: '' }, 'userAgent', 'must be a non-empty string'],
    [{ onError: 'log' }, 'onError', 'must be a function'],
    [{ clock: {} }, 'clock', 'must be an object with a now() method returning epoch milliseconds'],
    [{ clock: null }, 'clock', 'must be an object with a now() method'],
    [{ clientAuthentication: 'client_secret_basic', basicCredentialEncoding: 'raw', clientId: 'a:b' }, 'basicCredentialEncoding', "'raw' cannot send a clientId that contains ':'"],
  ];

  it.each(cases)('%j → %s', (options, option, words) => {
    const e = refused(options);
    expect(e.option).toBe(option);
    expect(e.message).toContain(words);
    expect(e.message.startsWith(`Invalid option \`${option}\`: `)).toBe(true);
  });

  it('without any endpoint option, or without options', () => {
    const none = refused({ clientId: 'a', clientSecret: 's' }, { base: false });
    expect(none.option).toBe('domain');
    expect(none.message).toContain('give domain (an Auth0 tenant such as tenant.auth0.com), tokenEndpoint (a full URL) or issuer (for metadata discovery)');
    for (const options of [null, 'x']) {
      const e = refused(options as never, { base: false });
      expect(e.option).toBe('options');
      expect(e.message).toContain('pass an options object');
    }
  });

  it('domain must be a host, issuer must have no query or fragment', () => {
    for (const domain of ['tenant.auth0.com/path', 'tenant.auth0.com?x=1', 'tenant.auth0.com#f']) {
      const e = refused({ domain, clientId: 'a', clientSecret: 's' }, { base: false });
      expect(e.option).toBe('domain');
      expect(e.message).toContain('must be a host name such as tenant.auth0.com, without a path; use tokenEndpoint for a full URL');
    }
    expect(refused({ domain: 'http://tenant.example', clientId: 'a', clientSecret: 's' }, { base: false }).message).toContain('http: on tenant.example');
    for (const issuer of ['https://as.example/?x=1', 'https://as.example/#f']) {
      const e = refused({ issuer, clientId: 'a', clientSecret: 's' }, { base: false });
      expect(e.option).toBe('issuer');
      expect(e.message).toContain('must not have a query or a #fragment (RFC 8414 §2)');
    }
    expect(refused({ issuer: 'http://as.example', clientId: 'a', clientSecret: 's' }, { base: false }).option).toBe('issuer');
    expect(refused({ issuer: '', clientId: 'a', clientSecret: 's' }, { base: false }).option).toBe('issuer');
    expect(refused({ issuer: 'nope', clientId: 'a', clientSecret: 's' }, { base: false })).toMatchObject({ option: 'issuer', message: expect.stringContaining('is not a valid URL') });
    expect(refused({ domain: 5, clientId: 'a', clientSecret: 's' }, { base: false }).option).toBe('domain');
  });

  it('tls and a dispatcher together; tls alone is the certificate given to the transport', () => {
    const { client } = makeTestPki();
    const tls = { cert: client.cert, key: client.key };
    const e = refused({ tls, dispatcher: { dispatch() {} } });
    expect(e.option).toBe('tls');
    expect(e.message).toContain('give the client certificate either as tls or inside your own dispatcher, not both');
    const o = resolveOptions({ ...BASE, clientSecret: undefined, tls } as TokenClientOptions);
    expect(o.transport.tls).toBe(tls);
    expect(o.credentials.tls).toBe(true);
    expect(o.clientAuthentication).toBe('tls_client_auth');
    expect(resolveOptions(BASE as TokenClientOptions).credentials.tls).toBe(false);
  });

  it('http is allowed on loopback hosts, and on any host with allowInsecureHttp', () => {
    for (const host of ['localhost', '127.0.0.1', '127.255.0.9', '[::1]', '127.0.10.1', '127.0.0.10', '127.100.200.250']) {
      expect(isLoopback(new URL(`http://${host}/`).hostname)).toBe(true);
      expect(() => resolveOptions({ ...BASE, tokenEndpoint: `http://${host}:1/t` } as TokenClientOptions)).not.toThrow();
    }
    for (const host of ['localhost.example', '128.0.0.1', '127.0.0.1.nip.io', '10.0.0.1', 'x127.0.0.1']) expect(isLoopback(host)).toBe(false);
    expect(isLoopback('1127.0.0.1')).toBe(false);
    expect(() => resolveOptions({ ...BASE, tokenEndpoint: 'http://as.example/t', allowInsecureHttp: true } as TokenClientOptions)).not.toThrow();
  });
});

describe('per-call options', () => {
  it('accept the known names, and refuse others, naming them', () => {
    expect(() => checkCallOptions({ audience: 'a', organization: 'o', scope: 's', resource: 'r', extraParams: {}, forceRefresh: true, signal: new AbortController().signal })).not.toThrow();
    const unknown = (() => {
      try {
        checkCallOptions({ audiance: 'a' } as never);
      } catch (e) {
        return e as ConfigurationError;
      }
      throw new Error('expected a throw');
    })();
    expect(unknown.option).toBe('getToken.audiance');
    expect(unknown.message).toContain('unknown option; getToken takes audience, organization, scope, resource, extraParams, forceRefresh, signal');
  });

  it('refuse a non-object, a signal that is not one, and a non-boolean forceRefresh', () => {
    const check = (options: unknown) => {
      try {
        checkCallOptions(options as never);
      } catch (e) {
        return e as ConfigurationError;
      }
      throw new Error('expected a throw');
    };
    expect(check(null)).toMatchObject({ option: 'getToken' });
    expect(check('x').message).toContain('options must be an object such as { audience }');
    for (const signal of [null, {}, { addEventListener() {} }, { aborted: false }, { addEventListener() {}, aborted: 'no' }]) {
      expect(check({ signal })).toMatchObject({ option: 'getToken.signal', message: expect.stringContaining('must be an AbortSignal') });
    }
    expect(() => checkCallOptions({ signal: { addEventListener() {}, aborted: false } as never })).not.toThrow();
    expect(check({ forceRefresh: 'yes' })).toMatchObject({ option: 'getToken.forceRefresh', message: expect.stringContaining('must be true or false') });
  });
});
