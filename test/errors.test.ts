import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  ConfigurationError,
  ErrorCode,
  isTokenClientError,
  OAuthError,
  TokenClientError,
  TokenRequestError,
  TokenResponseError,
  type M2MError,
} from '../src/index.js';

const oauth = new OAuthError({ status: 401, error: 'invalid_client', endpoint: 'https://as.example.com' });
const timeout = new TokenRequestError(ErrorCode.TIMEOUT, 'too slow');
const http = new TokenResponseError(ErrorCode.HTTP_STATUS, 502, 'bad gateway');
const config = new ConfigurationError('clientId', 'is required');
const store = new TokenClientError(ErrorCode.STORE_ERROR, 'store down');

// What another copy of the package (the CJS build beside the ESM one) makes: same brand, other classes.
function fromOtherCopy(kinds: string[], code: string): Error {
  const error = new Error('from the other copy');
  Object.defineProperty(error, Symbol.for('m2m-token.error.kinds'), { value: kinds });
  return Object.assign(error, { code });
}

describe('isTokenClientError', () => {
  it('recognizes every m2m-token error, and nothing else', () => {
    for (const error of [oauth, timeout, http, config, store]) expect(isTokenClientError(error)).toBe(true);
    for (const value of [new Error('x'), Object.assign(new Error('x'), { code: ErrorCode.OAUTH_ERROR }), null, undefined, 'M2M_OAUTH_ERROR', {}]) {
      expect(isTokenClientError(value)).toBe(false);
    }
  });

  it('with codes, matches only errors that have one of them', () => {
    expect(isTokenClientError(oauth, ErrorCode.OAUTH_ERROR)).toBe(true);
    expect(isTokenClientError(oauth, ErrorCode.TIMEOUT)).toBe(false);
    expect(isTokenClientError(timeout, ErrorCode.NETWORK_ERROR, ErrorCode.TIMEOUT)).toBe(true);
    expect(isTokenClientError(http, ErrorCode.NETWORK_ERROR, ErrorCode.TIMEOUT)).toBe(false);
    expect(isTokenClientError(store, ErrorCode.STORE_ERROR)).toBe(true);
  });

  it('recognizes the errors of another copy of the package, like instanceof', () => {
    const other = fromOtherCopy(['OAuthError', 'TokenClientError'], ErrorCode.OAUTH_ERROR);
    expect(other instanceof TokenClientError).toBe(true);
    expect(other instanceof OAuthError).toBe(true);
    expect(other instanceof TokenRequestError).toBe(false);
    expect(isTokenClientError(other, ErrorCode.OAUTH_ERROR)).toBe(true);
    expect(isTokenClientError(fromOtherCopy(['SomethingElse'], ErrorCode.OAUTH_ERROR))).toBe(false);
  });
});

describe('error codes narrow the error type (checked by npm run typecheck)', () => {
  it('instanceof TokenClientError, then code, gives the class with that code', () => {
    const caught: unknown = oauth;
    if (!(caught instanceof TokenClientError)) throw new Error('not narrowed');
    expectTypeOf(caught).toEqualTypeOf<M2MError>();
    if (caught.code !== ErrorCode.OAUTH_ERROR) throw new Error('wrong code');
    expectTypeOf(caught).toEqualTypeOf<OAuthError>();
    expect(caught.error).toBe('invalid_client');
  });

  it('each class has its own codes', () => {
    expectTypeOf(oauth.code).toEqualTypeOf<'M2M_OAUTH_ERROR'>();
    expectTypeOf(config.code).toEqualTypeOf<'M2M_INVALID_OPTION'>();
    expectTypeOf(timeout.code).toEqualTypeOf<'M2M_TIMEOUT' | 'M2M_NETWORK_ERROR' | 'M2M_ABORTED' | 'M2M_CLIENT_CLOSED'>();
    expectTypeOf<M2MError['code']>().toEqualTypeOf<ErrorCode>();
    // @ts-expect-error a TokenRequestError cannot have a response code
    expect(() => new TokenRequestError(ErrorCode.HTTP_STATUS, 'x')).not.toThrow();
  });

  it('the code values are stable', () => {
    expect(ErrorCode).toMatchObject({ OAUTH_ERROR: 'M2M_OAUTH_ERROR', INVALID_OPTION: 'M2M_INVALID_OPTION', STORE_ERROR: 'M2M_STORE_ERROR' });
    expect([oauth.code, timeout.code, http.code, config.code, store.code]).toEqual([
      'M2M_OAUTH_ERROR', 'M2M_TIMEOUT', 'M2M_HTTP_STATUS', 'M2M_INVALID_OPTION', 'M2M_STORE_ERROR',
    ]);
  });
});
