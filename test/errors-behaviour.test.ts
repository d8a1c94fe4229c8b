// The error classes as users handle them: instanceof and narrowing (across copies of the package), what JSON and
// messages carry (cause included), which failures count as transient, and where redaction starts.
import { describe, expect, it } from 'vitest';
import {
  cleanCopy,
  ConfigurationError,
  ErrorCode,
  isTokenClientError,
  isTransientFailure,
  OAuthError,
  redact,
  REDACTED,
  scrubError,
  TokenClientError,
  TokenRequestError,
  TokenResponseError,
} from '../src/errors.js';

const oauth = (error: string, status = 400, errorDescription?: string, hint?: string) =>
  new OAuthError({ status, error, errorDescription, endpoint: 'https://as.example', hint });

describe('instanceof and isTokenClientError', () => {
  it('each class is an instance of itself and of TokenClientError only', () => {
    const config = new ConfigurationError('scope', 'bad');
    const response = new TokenResponseError(ErrorCode.HTTP_STATUS, 502, 'bad gateway');
    const request = new TokenRequestError(ErrorCode.TIMEOUT, 'slow');
    const o = oauth('invalid_client');
    const base = new TokenClientError(ErrorCode.UNEXPECTED, 'x');
    for (const e of [config, response, request, o, base]) {
      expect(e).toBeInstanceOf(TokenClientError);
      expect(e).toBeInstanceOf(Error);
    }
    expect(config instanceof ConfigurationError).toBe(true);
    expect(config instanceof TokenResponseError).toBe(false);
    expect(o instanceof OAuthError).toBe(true);
    expect(o instanceof TokenResponseError).toBe(false);
    expect(response instanceof TokenRequestError).toBe(false);
    expect(request instanceof TokenRequestError).toBe(true);
    expect(base instanceof ConfigurationError).toBe(false);
    expect([config.name, response.name, request.name, o.name, base.name]).toEqual(['ConfigurationError', 'TokenResponseError', 'TokenRequestError', 'OAuthError', 'TokenClientError']);
  });

  it('holds for an error of another copy of the package (the Symbol.for brand), and for nothing else', () => {
    const foreign = { [Symbol.for('m2m-token.error.kinds')]: ['OAuthError', 'TokenClientError'], code: 'M2M_OAUTH_ERROR' };
    expect(foreign instanceof TokenClientError).toBe(true);
    expect(foreign instanceof OAuthError).toBe(true);
    expect(foreign instanceof ConfigurationError).toBe(false);
    expect({ [Symbol.for('m2m-token.error.kinds')]: 'TokenClientError' } instanceof TokenClientError).toBe(false);
    expect((null as unknown) instanceof TokenClientError).toBe(false);
    expect(new Error('x') instanceof TokenClientError).toBe(false);
  });

  it('isTokenClientError filters by code when codes are given', () => {
    const e = new TokenRequestError(ErrorCode.TIMEOUT, 'slow');
    expect(isTokenClientError(e)).toBe(true);
    expect(isTokenClientError(e, ErrorCode.TIMEOUT)).toBe(true);
    expect(isTokenClientError(e, ErrorCode.NETWORK_ERROR, ErrorCode.TIMEOUT)).toBe(true);
    expect(isTokenClientError(e, ErrorCode.NETWORK_ERROR)).toBe(false);
    expect(isTokenClientError(new Error('x'))).toBe(false);
    expect(isTokenClientError(undefined)).toBe(false);
  });

  it('name stays writable, as on any Error', () => {
    const e = new ConfigurationError('a', 'b');
    e.name = 'Renamed';
    expect(e.name).toBe('Renamed');
  });
});

describe('fields and messages', () => {
  it('ConfigurationError names the option first', () => {
    const e = new ConfigurationError('retry.retries', 'must be a whole number');
    expect(e.message).toBe('Invalid option `retry.retries`: must be a whole number');
    expect(e).toMatchObject({ code: 'M2M_INVALID_OPTION', option: 'retry.retries' });
  });

  it('OAuthError says who refused, the status, the error and description, then a hint for the error', () => {
    expect(oauth('invalid_client', 401, 'no such client').message).toBe(
      'Token endpoint https://as.example refused the request with HTTP 401 invalid_client: no such client. Check clientId, clientSecret and clientAuthentication.',
    );
    expect(oauth('access_denied', 403).message).toBe(
      "Token endpoint https://as.example refused the request with HTTP 403 access_denied. Check that this application is authorized for the audience (in Auth0: the API's machine-to-machine access).",
    );
    expect(oauth('odd_error').message).toContain("odd_error. See the error description and the authorization server's logs.");
    expect(oauth('invalid_client', 401, undefined, 'Check the aud.').message).toMatch(/invalid_client\. Check the aud\.$/);
    for (const [error, words] of [
      ['unauthorized_client', 'client_credentials grant'],
      ['invalid_scope', 'requested scope'],
      ['invalid_target', 'requested resource or audience'],
      ['invalid_request', 'request parameters'],
      ['invalid_grant', 'grant type'],
      ['unsupported_grant_type', 'supports the client_credentials grant'],
    ]) {
      expect(oauth(error!).message).toContain(words);
    }
    const e = oauth('invalid_scope', 400, 'desc');
    expect(e).toMatchObject({ status: 400, error: 'invalid_scope', errorDescription: 'desc', endpoint: 'https://as.example' });
    expect(oauth('invalid_scope').toJSON()).not.toHaveProperty('errorDescription');
    expect(oauth('invalid_scope').toJSON()).not.toHaveProperty('errorUri');
    expect(new OAuthError({ status: 400, error: 'e', errorUri: 'https://docs', endpoint: 'https://as.example' }).errorUri).toBe('https://docs');
  });

  it('cause and endpoint are set only when given', () => {
    const bare = new TokenClientError(ErrorCode.UNEXPECTED, 'x');
    expect('cause' in bare).toBe(false);
    expect(bare.endpoint).toBeUndefined();
    expect(bare.toJSON()).toEqual({ name: 'TokenClientError', code: 'M2M_UNEXPECTED_ERROR', message: 'x' });
    const full = new TokenClientError(ErrorCode.UNEXPECTED, 'x', { cause: 0, endpoint: 'https://as.example' });
    expect(full.cause).toBe(0);
    expect(full.endpoint).toBe('https://as.example');
  });
});

describe('toJSON', () => {
  it('has name, code, message, every field set, and the cause chain described', () => {
    const root = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const inner = new TokenRequestError(ErrorCode.NETWORK_ERROR, 'network down', { cause: root, endpoint: 'https://as.example' });
    inner.attempts = 4;
    const outer = new TokenClientError(ErrorCode.STALE_TOKEN, 'serving stale', { cause: inner });
    expect(JSON.parse(JSON.stringify(outer))).toEqual({
      name: 'TokenClientError',
      code: 'M2M_STALE_TOKEN',
      message: 'serving stale',
      cause: {
        name: 'TokenRequestError',
        code: 'M2M_NETWORK_ERROR',
        message: 'network down',
        endpoint: 'https://as.example',
        attempts: 4,
        cause: { name: 'Error', message: 'socket hang up', code: 'ECONNRESET' },
      },
    });
  });

  it('describes a cause without a code, or one that is not an Error, and leaves out undefined fields', () => {
    expect(new TokenClientError(ErrorCode.UNEXPECTED, 'x', { cause: new TypeError('t') }).toJSON().cause).toStrictEqual({ name: 'TypeError', message: 't' });
    expect(Object.keys(new TokenClientError(ErrorCode.UNEXPECTED, 'x', { cause: new TypeError('t') }).toJSON().cause as object)).toEqual(['name', 'message']);
    expect(new TokenClientError(ErrorCode.UNEXPECTED, 'x', { cause: 'just text' }).toJSON().cause).toBe('just text');
    expect(new TokenClientError(ErrorCode.UNEXPECTED, 'x', { cause: 42 }).toJSON().cause).toBe('42');
    const e = new TokenResponseError(ErrorCode.HTTP_STATUS, 500, 'm');
    e.retryAfter = undefined;
    expect(e.toJSON()).toEqual({ name: 'TokenResponseError', code: 'M2M_HTTP_STATUS', message: 'm', status: 500 });
    expect(new ConfigurationError('o', 'm').toJSON()).toEqual({ name: 'ConfigurationError', code: 'M2M_INVALID_OPTION', message: 'Invalid option `o`: m', option: 'o' });
  });
});

describe('redact', () => {
  it('cuts out every occurrence of secrets of 4 characters or more', () => {
    expect(redact('abcd xabcdx abcd', ['abcd'])).toBe(`${REDACTED} x${REDACTED}x ${REDACTED}`);
    expect(redact('one two', ['one', undefined, ''].slice(1))).toBe('one two');
    expect(redact('secret-1 and secret-2', ['secret-1', 'secret-2'])).toBe('[REDACTED] and [REDACTED]');
  });

  it('withholds the whole text when a secret shorter than 4 characters is in it, and leaves it alone otherwise', () => {
    expect(redact('the key is abc.', ['abc'])).toBe(REDACTED);
    expect(redact('nothing here', ['abc'])).toBe('nothing here');
    expect(redact('x', ['x'])).toBe(REDACTED);
    expect(redact('a longer-secret and abc', ['longer-secret', 'abc'])).toBe(REDACTED);
  });

  it('skips empty and missing secrets', () => {
    expect(redact('text', [undefined, ''])).toBe('text');
    expect(REDACTED).toBe('[REDACTED]');
  });
});

describe('isTransientFailure: what stale-if-error covers', () => {
  it('network failures and timeouts', () => {
    expect(isTransientFailure(new TokenRequestError(ErrorCode.NETWORK_ERROR, 'x'))).toBe(true);
    expect(isTransientFailure(new TokenRequestError(ErrorCode.TIMEOUT, 'x'))).toBe(true);
    expect(isTransientFailure(new TokenRequestError(ErrorCode.ABORTED, 'x'))).toBe(false);
    expect(isTransientFailure(new TokenRequestError(ErrorCode.CLIENT_CLOSED, 'x'))).toBe(false);
  });

  it('408, 429 and 5xx but 501 and 505', () => {
    const status = (s: number) => isTransientFailure(new TokenResponseError(ErrorCode.HTTP_STATUS, s, 'x'));
    for (const s of [408, 429, 500, 502, 503, 504, 599]) expect(status(s)).toBe(true);
    for (const s of [400, 401, 404, 407, 499, 501, 505]) expect(status(s)).toBe(false);
  });

  it('never a credential error, whatever the status; the server\'s own trouble even with a 400', () => {
    for (const error of ['invalid_client', 'unauthorized_client', 'invalid_grant']) expect(isTransientFailure(oauth(error, 503))).toBe(false);
    for (const error of ['temporarily_unavailable', 'server_error']) expect(isTransientFailure(oauth(error, 400))).toBe(true);
    expect(isTransientFailure(oauth('invalid_scope', 503))).toBe(true);
    expect(isTransientFailure(oauth('invalid_scope', 400))).toBe(false);
  });

  it('nothing that is not a TokenClientError, nor one without a status', () => {
    expect(isTransientFailure(Object.assign(new Error('x'), { status: 503 }))).toBe(false);
    expect(isTransientFailure(new TokenClientError(ErrorCode.UNEXPECTED, 'x'))).toBe(false);
    expect(isTransientFailure(undefined)).toBe(false);
  });
});

describe('scrubError: the secret cut out of what reaches the caller', () => {
  const SECRET = 'long-client-secret';
  const chain = (n: number) => {
    let error: TokenClientError | undefined;
    for (let i = n - 1; i >= 0; i--) error = new TokenClientError(ErrorCode.UNEXPECTED, `level ${i} saw ${SECRET}`, error === undefined ? {} : { cause: error });
    return error!;
  };

  it('from the message and stack of the error and of its TokenClientError causes, five deep', () => {
    const original = chain(7);
    // A stack already read (formatted with the secret in it) is scrubbed too.
    expect(original.stack).toContain(SECRET);
    const error = scrubError(original, [SECRET]);
    const levels: TokenClientError[] = [];
    for (let e: unknown = error; e instanceof TokenClientError; e = e.cause) levels.push(e);
    expect(levels.map((e) => e.message)).toEqual([0, 1, 2, 3, 4].map((i) => `level ${i} saw ${REDACTED}`).concat([`level 5 saw ${SECRET}`, `level 6 saw ${SECRET}`]));
    expect(levels[0]!.stack).toContain(`level 0 saw ${REDACTED}`);
    expect(levels[0]!.stack).not.toContain(SECRET);
  });

  it('a secret of four characters is cut out; shorter ones and undefined are left to the messages that withheld them', () => {
    const error = new TokenClientError(ErrorCode.UNEXPECTED, 'abcd and xyz');
    expect(scrubError(error, ['abcd', 'xyz', undefined]).message).toBe(`${REDACTED} and xyz`);
    const untouched = new TokenClientError(ErrorCode.UNEXPECTED, 'xyz');
    expect(scrubError(untouched, ['xyz', undefined])).toBe(untouched);
    expect(untouched.message).toBe('xyz');
  });

  it('a cause from outside is replaced by a clean copy without the secret; no cause stays no cause', () => {
    const outside = Object.assign(new Error(`socket said ${SECRET}`), { code: 'ECONNRESET', request: { body: SECRET } });
    const error = scrubError(new TokenClientError(ErrorCode.NETWORK_ERROR, 'failed', { cause: outside }), [SECRET]);
    expect(error.cause).not.toBe(outside);
    expect(error.cause).toMatchObject({ message: `socket said ${REDACTED}`, code: 'ECONNRESET' });
    expect(JSON.stringify(error.cause)).not.toContain(SECRET);
    expect((error.cause as { request?: unknown }).request).toBeUndefined();
    const bare = scrubError(new TokenClientError(ErrorCode.UNEXPECTED, `x ${SECRET}`), [SECRET]);
    expect(Object.hasOwn(bare, 'cause')).toBe(false);
    const stackless = new TokenClientError(ErrorCode.UNEXPECTED, `x ${SECRET}`);
    stackless.stack = undefined;
    expect(scrubError(stackless, [SECRET]).stack).toBeUndefined();
  });
});

describe('cleanCopy: an outside error, copied field by field', () => {
  it('primitives: a string redacted, a number or undefined as is, anything else by its type', () => {
    expect(cleanCopy('has sekrit', ['sekrit'])).toBe(`has ${REDACTED}`);
    expect(cleanCopy(42)).toBe(42);
    expect(cleanCopy(undefined)).toBeUndefined();
    expect(cleanCopy(null)).toBe('object');
    expect(cleanCopy(true)).toBe('boolean');
    expect(cleanCopy(10n)).toBe('bigint');
  });

  it('a system error code is kept as written; other string fields are redacted, numbers kept, objects dropped', () => {
    const copy = cleanCopy(
      Object.assign(new Error('m'), { code: 'ERR_SEKRIT_CODE', reason: 'TOKEN_SEKRIT', syscall: 'connect sekrit', port: 443, address: { host: 'sekrit' }, hostname: 5 }),
      ['SEKRIT', 'sekrit'],
    ) as Record<string, unknown>;
    expect(copy).toMatchObject({ code: 'ERR_SEKRIT_CODE', reason: `TOKEN_${REDACTED}`, syscall: `connect ${REDACTED}`, port: 443, hostname: 5 });
    expect(copy.address).toBeUndefined();
    const lower = cleanCopy(Object.assign(new Error('m'), { code: 'custom sekrit code' }), ['sekrit']) as Record<string, unknown>;
    expect(lower.code).toBe(`custom ${REDACTED} code`);
  });
});
