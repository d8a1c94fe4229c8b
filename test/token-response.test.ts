import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ErrorCode, OAuthError, TokenClientError, TokenRequestError, TokenResponseError } from '../src/errors.js';
import { parseTokenResponse, type HttpResponse, type ResponseContext } from '../src/token-response.js';

const SENT_AT = Date.parse('2026-01-01T00:00:00Z');
const SECRET = 'client-secret-value-42';
const ctx: ResponseContext = {
  endpoint: 'https://tenant.auth0.com',
  allowedTokenTypes: ['bearer'],
  defaultLifetime: 300_000,
  secrets: [SECRET],
};

function response(status: number, body: string, headers: HttpResponse['headers'] = { 'content-type': 'application/json' }): HttpResponse {
  return { status, headers, body, sentAt: SENT_AT };
}

const jsonResponse = (body: unknown, status = 200) => response(status, JSON.stringify(body));
const tokenBody = (fields: Record<string, unknown> = {}) => ({ access_token: 'at-123', token_type: 'Bearer', expires_in: 3600, ...fields });

/** An unsigned JWT (header.payload.signature, base64url) with the given claims. */
function jwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}.${Buffer.from('not-a-real-signature').toString('base64url')}`;
}

/** The error `fn` throws; fails the test if it returns. */
function thrown(fn: () => unknown): TokenClientError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TokenClientError);
    return error as TokenClientError;
  }
  throw new Error('expected a throw');
}

const parse = (res: HttpResponse, context: ResponseContext = ctx) => parseTokenResponse(res, context);
const parseError = (res: HttpResponse, context: ResponseContext = ctx) => thrown(() => parse(res, context));

describe('parseTokenResponse: success', () => {
  it('returns the token with its type, lifetime from sentAt, and raw body', () => {
    const body = tokenBody({ scope: 'read:a write:b', extra: 1 });
    const token = parse(jsonResponse(body));
    expect(token.accessToken).toBe('at-123');
    expect(token.tokenType).toBe('Bearer');
    expect(token.expiresIn).toBe(3_600_000);
    expect(token.expiresAt).toBe(SENT_AT + 3_600_000);
    expect(token.raw).toEqual(body);
  });

  it('splits scope on whitespace into an array', () => {
    expect(parse(jsonResponse(tokenBody({ scope: 'read:a  write:b' }))).scope).toEqual(['read:a', 'write:b']);
  });

  it('leaves scope undefined when the server does not say', () => {
    expect(parse(jsonResponse(tokenBody())).scope).toBeUndefined();
  });

  it('never shows the access token in util.inspect or JSON.stringify', () => {
    const token = parse(jsonResponse(tokenBody({ access_token: 'SECRET-TOKEN-xyz' })));
    expect(token.accessToken).toBe('SECRET-TOKEN-xyz');
    expect(inspect(token, { depth: 10, showHidden: true })).not.toContain('SECRET-TOKEN-xyz');
    expect(JSON.stringify(token)).not.toContain('SECRET-TOKEN-xyz');
    expect(JSON.stringify({ nested: [token] })).not.toContain('SECRET-TOKEN-xyz');
    expect(inspect(token)).toContain('3600000');
  });
});

describe('parseTokenResponse: token_type', () => {
  it.each(['bearer', 'BEARER', 'Bearer', 'bEaReR'])('normalizes %s to Bearer', (type) => {
    expect(parse(jsonResponse(tokenBody({ token_type: type }))).tokenType).toBe('Bearer');
  });

  it('reads a missing token_type as Bearer', () => {
    const { token_type: _omitted, ...body } = tokenBody();
    expect(parse(jsonResponse(body)).tokenType).toBe('Bearer');
  });

  it('refuses another type with M2M_TOKEN_TYPE_UNSUPPORTED', () => {
    const error = parseError(jsonResponse(tokenBody({ token_type: 'N_A' })));
    expect(error.code).toBe(ErrorCode.TOKEN_TYPE_UNSUPPORTED);
    expect(error).toBeInstanceOf(TokenResponseError);
    expect(error.message).toContain('allowedTokenTypes');
  });

  it('accepts a type in allowedTokenTypes, case-insensitively, keeping the server spelling', () => {
    const allowing = { ...ctx, allowedTokenTypes: ['bearer', 'pop-key'] };
    expect(parse(jsonResponse(tokenBody({ token_type: 'PoP-Key' })), allowing).tokenType).toBe('PoP-Key');
    expect(parse(jsonResponse(tokenBody({ token_type: 'bearer' })), allowing).tokenType).toBe('Bearer');
  });

  it.each([[''], [42]])('refuses token_type %j with M2M_RESPONSE_INVALID', (type) => {
    expect(parseError(jsonResponse(tokenBody({ token_type: type }))).code).toBe(ErrorCode.RESPONSE_INVALID);
  });

  it('reads token_type null as missing, like expires_in null: Bearer', () => {
    expect(parse(jsonResponse(tokenBody({ token_type: null }))).tokenType).toBe('Bearer');
  });
});

describe('parseTokenResponse: lifetime', () => {
  it('accepts expires_in as a numeric string', () => {
    const token = parse(jsonResponse(tokenBody({ expires_in: '3600' })));
    expect(token.expiresIn).toBe(3_600_000);
    expect(token.expiresAt).toBe(SENT_AT + 3_600_000);
  });

  it('uses the JWT exp claim when expires_in is missing', () => {
    const exp = SENT_AT / 1000 + 900;
    const token = parse(jsonResponse({ access_token: jwt({ sub: 'client', exp }), token_type: 'Bearer' }));
    expect(token.expiresIn).toBe(exp * 1000 - SENT_AT);
    expect(token.expiresIn).toBe(900_000);
    expect(token.expiresAt).toBe(exp * 1000);
  });

  it('prefers expires_in over the JWT exp claim', () => {
    const token = parse(jsonResponse(tokenBody({ access_token: jwt({ exp: SENT_AT / 1000 + 900 }), expires_in: 60 })));
    expect(token.expiresIn).toBe(60_000);
  });

  it.each([
    ['an opaque token', 'opaque-token-value'],
    ['a dotted token that is not a JWT', 'a.b.c'],
    ['a JWT without exp', jwt({ sub: 'client' })],
  ])('uses defaultLifetime for %s without expires_in', (_name, accessToken) => {
    const token = parse(jsonResponse({ access_token: accessToken, token_type: 'Bearer' }), { ...ctx, defaultLifetime: 123_000 });
    expect(token.expiresIn).toBe(123_000);
    expect(token.expiresAt).toBe(SENT_AT + 123_000);
  });

  it('refuses a JWT whose exp is already past with M2M_RESPONSE_INVALID', () => {
    const error = parseError(jsonResponse({ access_token: jwt({ exp: SENT_AT / 1000 - 1 }), token_type: 'Bearer' }));
    expect(error.code).toBe(ErrorCode.RESPONSE_INVALID);
    expect(error.message).toMatch(/exp/);
  });

  it.each([[0], [-1], ['abc'], [''], ['-5'], [true]])('refuses expires_in %j with M2M_RESPONSE_INVALID', (expiresIn) => {
    const error = parseError(jsonResponse(tokenBody({ expires_in: expiresIn })));
    expect(error.code).toBe(ErrorCode.RESPONSE_INVALID);
    expect(error.message).toContain('expires_in');
  });
});

describe('parseTokenResponse: access_token', () => {
  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['a number', 12345],
    ['an object', { value: 'x' }],
  ])('refuses an access_token that is %s with M2M_RESPONSE_INVALID', (_name, accessToken) => {
    const error = parseError(jsonResponse(tokenBody({ access_token: accessToken })));
    expect(error.code).toBe(ErrorCode.RESPONSE_INVALID);
    expect(error.message).toContain('access_token');
  });

  it('refuses JSON that is not an object with M2M_RESPONSE_INVALID', () => {
    expect(parseError(response(200, '["at-123"]')).code).toBe(ErrorCode.RESPONSE_INVALID);
  });
});

describe('parseTokenResponse: not JSON', () => {
  it('reports an HTML 502 as M2M_HTTP_STATUS with the status and endpoint host', () => {
    const error = parseError(response(502, '<html><body>Bad Gateway</body></html>', { 'content-type': 'text/html' }));
    expect(error.code).toBe(ErrorCode.HTTP_STATUS);
    expect((error as TokenResponseError).status).toBe(502);
    expect(error.message).toContain('tenant.auth0.com');
    expect(error.message).toContain('502');
  });

  it('reports a 200 text/html page as M2M_RESPONSE_NOT_JSON', () => {
    const error = parseError(response(200, '<!doctype html><title>Login</title>', { 'content-type': 'text/html; charset=utf-8' }));
    expect(error.code).toBe(ErrorCode.RESPONSE_NOT_JSON);
    expect((error as TokenResponseError).status).toBe(200);
    expect(error.message).toContain('text/html');
  });

  it('reports malformed JSON as M2M_RESPONSE_MALFORMED_JSON without leaking the token text', () => {
    const body = '{"access_token":"SECRET-TOKEN-abc", "token_type":';
    const error = parseError(response(200, body));
    expect(error.code).toBe(ErrorCode.RESPONSE_MALFORMED_JSON);
    expect(error.message).not.toContain('SECRET-TOKEN-abc');
    expect(String(error.cause ?? '')).not.toContain('SECRET-TOKEN-abc');
    expect(inspect(error.cause, { depth: 10 })).not.toContain('SECRET-TOKEN-abc');
    expect(inspect(error, { depth: 10 })).not.toContain('SECRET-TOKEN-abc');
    expect(JSON.stringify(error)).not.toContain('SECRET-TOKEN-abc');
    expect(JSON.parse(JSON.stringify(error))).toMatchObject({ code: ErrorCode.RESPONSE_MALFORMED_JSON, status: 200 });
  });

  it('reports malformed JSON without a content type as M2M_RESPONSE_MALFORMED_JSON', () => {
    expect(parseError(response(200, '{"access_token": "x"', {})).code).toBe(ErrorCode.RESPONSE_MALFORMED_JSON);
  });
});

describe('parseTokenResponse: OAuth errors (RFC 6749 §5.2)', () => {
  it.each([400, 401])('turns a §5.2 body at %i into an OAuthError', (status) => {
    const error = parseError(
      jsonResponse(
        { error: 'invalid_client', error_description: 'Unknown client', error_uri: 'https://docs.example.com/errors#invalid_client' },
        status,
      ),
    );
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toBeInstanceOf(TokenClientError);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(TokenResponseError);
    expect(error).not.toBeInstanceOf(TokenRequestError);
    expect(error.name).toBe('OAuthError');
    expect(error).toMatchObject({
      code: ErrorCode.OAUTH_ERROR,
      status,
      error: 'invalid_client',
      errorDescription: 'Unknown client',
      errorUri: 'https://docs.example.com/errors#invalid_client',
      endpoint: 'https://tenant.auth0.com',
    });
    expect(error.message).toContain('invalid_client');
  });

  it('redacts the client secret when the server echoes it', () => {
    const error = parseError(
      jsonResponse({ error: 'invalid_client', error_description: `client_secret ${SECRET} is wrong`, error_uri: `https://x/?s=${SECRET}` }, 401),
    ) as OAuthError;
    expect(error.errorDescription).toBe('client_secret [REDACTED] is wrong');
    for (const text of [error.message, error.errorUri, inspect(error), JSON.stringify(error)]) expect(text).not.toContain(SECRET);
  });

  it('reports a 4xx without an OAuth body as M2M_HTTP_STATUS', () => {
    const error = parseError(jsonResponse({ message: 'not found' }, 404));
    expect(error.code).toBe(ErrorCode.HTTP_STATUS);
    expect(error.name).toBe('TokenResponseError');
  });
});

describe('parseTokenResponse: redirects', () => {
  it.each([301, 302, 307, 308])('reports %i as M2M_HTTP_STATUS mentioning the redirect', (status) => {
    const error = parseError(response(status, '', { location: 'https://elsewhere.example.com/login?client_secret=x' }));
    expect(error.code).toBe(ErrorCode.HTTP_STATUS);
    expect((error as TokenResponseError).status).toBe(status);
    expect(error.message).toMatch(/redirect/i);
    expect(error.message).toContain('https://elsewhere.example.com');
    expect(error.message).not.toContain('client_secret=x');
  });
});
