// What a caller gets for each kind of token endpoint answer: a token with the right lifetime, or an error whose
// class, code and message say what happened and what to check. Messages are checked for their informative parts.
import { describe, expect, it } from 'vitest';
import { OAuthError, TokenClientError, TokenResponseError } from '../src/errors.js';
import { header, jwtExpiry, parseTokenResponse, type HttpResponse, type ResponseContext } from '../src/token-response.js';

const SENT_AT = Date.parse('2026-01-01T00:00:00Z');
const SECRET = 'fake-client-secret-77';
const ctx: ResponseContext = { endpoint: 'https://as.example', allowedTokenTypes: ['bearer'], defaultLifetime: 300_000, secrets: [SECRET] };

const res = (status: number, body: string, headers: HttpResponse['headers'] = { 'content-type': 'application/json' }): HttpResponse => ({ status, headers, body, sentAt: SENT_AT });
const ok = (fields: Record<string, unknown>, status = 200) => res(status, JSON.stringify({ access_token: 'at-1', token_type: 'Bearer', expires_in: 60, ...fields }));
const body = (value: unknown, status = 200) => res(status, JSON.stringify(value));

function fails(response: HttpResponse, context: ResponseContext = ctx, requestSecrets?: string[]): TokenClientError {
  try {
    parseTokenResponse(response, context, requestSecrets);
  } catch (error) {
    expect(error).toBeInstanceOf(TokenClientError);
    return error as TokenClientError;
  }
  throw new Error('expected a throw');
}

function jwt(claims: unknown): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${part({ alg: 'none' })}.${part(claims)}.c2ln`;
}

describe('a success status with an OAuth error body', () => {
  it('is an OAuthError with the status, error and description, not a malformed response', () => {
    for (const status of [200, 201, 299]) {
      const e = fails(body({ error: 'invalid_scope', error_description: 'scope x is unknown' }, status));
      expect(e).toBeInstanceOf(OAuthError);
      expect(e).toMatchObject({ code: 'M2M_OAUTH_ERROR', status, error: 'invalid_scope', errorDescription: 'scope x is unknown', endpoint: 'https://as.example' });
    }
  });

  it('an access_token next to an error wins; a non-string error is not an OAuth error', () => {
    expect(parseTokenResponse(ok({ error: 'ignored' }), ctx).accessToken).toBe('at-1');
    expect(fails(body({ error: 42 }))).toMatchObject({ code: 'M2M_RESPONSE_INVALID' });
  });
});

describe('the status decides before the body', () => {
  it('treats 199 and 300 as failures and 200..299 as success', () => {
    expect(fails(ok({}, 199))).toMatchObject({ code: 'M2M_HTTP_STATUS', status: 199 });
    expect(fails(ok({}, 300))).toMatchObject({ code: 'M2M_HTTP_STATUS', status: 300 });
    expect(parseTokenResponse(ok({}, 200), ctx).accessToken).toBe('at-1');
    expect(parseTokenResponse(ok({}, 299), ctx).accessToken).toBe('at-1');
  });

  it('reads an OAuth error body on any failing status, with its status', () => {
    const e = fails(body({ error: 'invalid_client' }, 401));
    expect(e).toBeInstanceOf(OAuthError);
    expect(e).toMatchObject({ status: 401, error: 'invalid_client' });
    expect(fails(body({ error: 7 }, 400))).toMatchObject({ code: 'M2M_HTTP_STATUS' });
    expect(fails(body(null, 400))).toMatchObject({ code: 'M2M_HTTP_STATUS' });
  });

  it('says what each status without an OAuth body most likely means', () => {
    const msg = (status: number, headers: HttpResponse['headers'] = { 'content-type': 'text/html; charset=utf-8' }, context = ctx) => {
      const e = fails(res(status, '<html/>', headers), context);
      expect(e).toMatchObject({ code: 'M2M_HTTP_STATUS', status, endpoint: 'https://as.example' });
      expect(e.message).toContain(`Token endpoint https://as.example answered HTTP ${status} (`);
      expect(e.message).not.toContain('..');
      expect(e.message.endsWith('.')).toBe(true);
      return e.message;
    };
    expect(msg(502)).toContain('(text/html)');
    expect(msg(502, { 'content-type': 'text/html ; charset=utf-8' })).toContain('HTTP 502 (text/html):');
    expect(msg(199)).toContain('the server did not send an OAuth error body');
    expect(msg(100)).not.toContain('redirect');
    expect(msg(300, {})).toContain('a redirect, which is not followed');
    expect(msg(502, {})).toContain('(no content type)');
    expect(msg(302, { location: 'https://elsewhere.example/login?x=1' })).toContain('a redirect to https://elsewhere.example, which is not followed');
    expect(msg(399, { location: '/relative' })).toContain('a redirect to https://as.example,');
    expect(msg(301, { location: 'http://[bad' })).toContain('to an unparsable location');
    const bare = msg(307, {});
    expect(bare).toContain('a redirect, which is not followed');
    expect(bare).toContain('set tokenEndpoint to the final URL');
    for (const s of [404, 405]) expect(msg(s)).toContain('check the token endpoint URL (domain or tokenEndpoint)');
    for (const s of [501, 505]) expect(msg(s)).toContain('not retried: it would answer the same');
    for (const s of [408, 429, 500, 503, 599]) expect(msg(s)).toContain('transient failure');
    for (const s of [401, 403]) {
      const m = msg(s);
      expect(m).toContain('most likely because of the client\'s credentials');
      expect(m).toContain('Check clientId, the client secret, key or certificate, and clientAuthentication');
      expect(msg(s, {}, { ...ctx, refusalHint: () => 'Check the aud claim.' })).toContain('credentials. Check the aud claim. If they are right');
    }
    expect(msg(407)).toContain('a proxy between this client and the endpoint wants credentials');
    for (const s of [400, 402, 406, 410, 418]) expect(msg(s)).toContain('the server did not send an OAuth error body; check the endpoint and any proxy');
  });

  it('reads the first of repeated headers', () => {
    expect(header({ 'content-type': ['text/plain', 'application/json'] }, 'content-type')).toBe('text/plain');
    expect(header({ a: 'b' }, 'a')).toBe('b');
    expect(header({}, 'a')).toBeUndefined();
  });
});

describe('OAuth error fields', () => {
  it('redacts secrets, the request\'s own included, and caps each field at 1000 characters', () => {
    const e = fails(body({ error: 'invalid_client', error_description: `bad ${SECRET} and own-assertion-value ${'x'.repeat(2000)}`, error_uri: `https://docs/${SECRET}` }, 401), ctx, ['own-assertion-value']) as OAuthError;
    expect(e.errorDescription).toContain('bad [REDACTED] and [REDACTED] x');
    expect(e.errorDescription).toHaveLength(1000);
    expect(e.errorUri).toBe('https://docs/[REDACTED]');
    expect(e.message).not.toContain(SECRET);
  });

  it('an empty error is unknown_error, empty fields are left out', () => {
    const e = fails(body({ error: '', error_description: '', error_uri: 5 }, 400)) as OAuthError;
    expect(e.error).toBe('unknown_error');
    expect(e.errorDescription).toBeUndefined();
    expect(e.errorUri).toBeUndefined();
  });

  it('uses the refusal hint for invalid_client only', () => {
    const hinted = { ...ctx, refusalHint: () => 'Check the assertion aud.' };
    expect(fails(body({ error: 'invalid_client' }, 401), hinted).message).toContain('Check the assertion aud.');
    const other = fails(body({ error: 'invalid_scope' }, 400), hinted).message;
    expect(other).not.toContain('Check the assertion aud.');
    expect(other).toContain('Check the requested scope');
  });
});

describe('bodies that are not a JSON object', () => {
  it('not JSON: names the status, content type and what to check', () => {
    const e = fails(res(200, '<html>login</html>', { 'content-type': 'text/html' }));
    expect(e).toMatchObject({ code: 'M2M_RESPONSE_NOT_JSON', status: 200, endpoint: 'https://as.example' });
    expect(e.message).toContain('answered HTTP 200 with text/html, not JSON');
    expect(e.message).toContain('check that the URL is the token endpoint');
    expect(fails(res(200, 'plain', {})).message).toContain('with no content type, not JSON');
  });

  it('shows a content type only when it looks like one, without its parameters and scrubbed', () => {
    const shown = (contentType: string) => {
      const m = fails(res(200, 'plain', { 'content-type': contentType })).message;
      return m.slice(m.indexOf(' with ') + ' with '.length, m.indexOf(', not JSON'));
    };
    expect(shown('text/html; charset=utf-8')).toBe('text/html');
    expect(shown('application/vnd.ms-excel.x; q=1')).toBe('application/vnd.ms-excel.x');
    for (const odd of ['text/html junk', 'junk text/html', 'text', `x/${SECRET}`.replace('/', ' /'), '<b>/x', 'a/b/c']) expect(shown(odd), odd).toBe('an unusual content type');
    expect(shown(`text/${SECRET}`)).toBe('text/[REDACTED]');
    expect(shown('; charset=utf-8')).toBe('no content type');
  });

  it('looks like JSON by content type (any +json) or by its first character', () => {
    expect(fails(res(200, 'oops', { 'content-type': 'application/problem+json' }))).toMatchObject({ code: 'M2M_RESPONSE_MALFORMED_JSON' });
    expect(fails(res(200, '  {"a":', {}))).toMatchObject({ code: 'M2M_RESPONSE_MALFORMED_JSON' });
    expect(fails(res(200, '[1,', {}))).toMatchObject({ code: 'M2M_RESPONSE_MALFORMED_JSON' });
    expect(parseTokenResponse(res(200, ' {"access_token":"t"}', {}), ctx).accessToken).toBe('t');
    expect(fails(res(200, 'x{', {}))).toMatchObject({ code: 'M2M_RESPONSE_NOT_JSON' });
    expect(fails(res(200, '{}', { 'content-type': 'text/jsonish' }))).toMatchObject({ code: 'M2M_RESPONSE_INVALID' });
  });

  it('malformed JSON: its length, never its text', () => {
    const e = fails(res(200, '{"access_token":"at-secret-part'));
    expect(e.message).toContain('malformed JSON (31 characters)');
    expect(e).toMatchObject({ code: 'M2M_RESPONSE_MALFORMED_JSON', status: 200, endpoint: 'https://as.example' });
    expect(e.message).toContain('truncate');
    expect(e.message).not.toContain('at-secret-part');
    expect(e.cause).toBeUndefined();
  });

  it('JSON that is not an object', () => {
    for (const text of ['[]', 'null', '"token"', '5']) {
      const e = fails(res(200, text));
      expect(e).toMatchObject({ code: 'M2M_RESPONSE_INVALID', status: 200, endpoint: 'https://as.example' });
      expect(e.message).toContain('The token response from https://as.example (HTTP 200) is JSON but not an object.');
    }
  });
});

describe('access_token and token_type', () => {
  it('refuses a missing, empty or non-string access_token', () => {
    for (const value of [undefined, '', 5, null]) {
      expect(fails(ok({ access_token: value })).message).toContain('has no access_token');
    }
  });

  it('refuses an access_token that cannot go in a header, without quoting it', () => {
    for (const value of ['a b', 'tab\there', 'é', 'line\r\nbreak', '\x7f']) {
      const e = fails(ok({ access_token: value }));
      expect(e).toMatchObject({ code: 'M2M_RESPONSE_INVALID' });
      expect(e.message).toContain(`an access_token of ${value.length} characters`);
    }
    expect(parseTokenResponse(ok({ access_token: '!~' }), ctx).accessToken).toBe('!~');
  });

  it('reads a missing or null token_type as Bearer and normalizes bearer spelling', () => {
    expect(parseTokenResponse(ok({ token_type: undefined }), ctx).tokenType).toBe('Bearer');
    expect(parseTokenResponse(ok({ token_type: null }), ctx).tokenType).toBe('Bearer');
    expect(parseTokenResponse(ok({ token_type: 'BEARER' }), ctx).tokenType).toBe('Bearer');
    expect(parseTokenResponse(ok({ token_type: 'PoP-Key' }), { ...ctx, allowedTokenTypes: ['bearer', 'pop-key'] }).tokenType).toBe('PoP-Key');
  });

  it('refuses an empty or non-string token_type, and a type not allowed, naming the option', () => {
    for (const value of ['', 5, true]) expect(fails(ok({ token_type: value })).message).toContain('has a token_type that is not a non-empty string');
    const e = fails(ok({ token_type: 'PoP-Key' }));
    expect(e).toMatchObject({ code: 'M2M_TOKEN_TYPE_UNSUPPORTED', status: 200, endpoint: 'https://as.example' });
    expect(e.message).toContain('issued a token of type "PoP-Key", not Bearer');
    expect(e.message).toContain('allowedTokenTypes');
    expect(fails(ok({ token_type: 'a b\n' })).message).toContain('of type (4 characters, not a scheme name)');
    expect(fails(ok({ token_type: `x${SECRET}` })).message).toContain('"x[REDACTED]"');
    expect(fails(ok({ token_type: 'y'.repeat(60) })).message).toContain(`"${'y'.repeat(40)}"`);
  });
});

describe('lifetime', () => {
  const lifetime = (fields: Record<string, unknown>, context = ctx) => {
    const t = parseTokenResponse(ok(fields), context);
    expect(t.expiresAt).toBe(SENT_AT + t.expiresIn);
    return t.expiresIn;
  };

  it('expires_in in seconds, as a number or a numeric string', () => {
    expect(lifetime({ expires_in: 60 })).toBe(60_000);
    expect(lifetime({ expires_in: 0.5 })).toBe(500);
    expect(lifetime({ expires_in: ' 90 ' })).toBe(90_000);
    expect(lifetime({ expires_in: '1.5' })).toBe(1_500);
    expect(lifetime({ expires_in: '1.25' })).toBe(1_250);
  });

  it('expires_in null or missing: the JWT exp, else the default lifetime', () => {
    const exp = SENT_AT / 1000 + 120;
    expect(lifetime({ expires_in: null, access_token: jwt({ exp }) })).toBe(120_000);
    expect(lifetime({ expires_in: undefined, access_token: jwt({ exp }) })).toBe(120_000);
    expect(lifetime({ expires_in: null })).toBe(300_000);
    expect(lifetime({ expires_in: null, access_token: jwt({ exp: 'soon' }) })).toBe(300_000);
  });

  it('refuses a JWT whose exp is not after the request was sent', () => {
    for (const exp of [SENT_AT / 1000, SENT_AT / 1000 - 1]) {
      const e = fails(ok({ expires_in: null, access_token: jwt({ exp }) }));
      expect(e).toMatchObject({ code: 'M2M_RESPONSE_INVALID' });
      expect(e.message).toContain('has no expires_in and the token\'s JWT exp is already past');
      expect(e.message).toContain('check the clocks');
    }
    expect(lifetime({ expires_in: undefined, access_token: jwt({ exp: SENT_AT / 1000 + 0.001 }) })).toBe(1);
  });

  it('refuses other expires_in values, showing numbers and short strings (redacted) but only the type of others', () => {
    const message = (value: unknown) => {
      const e = fails(res(200, `{"access_token":"at","expires_in":${typeof value === 'string' && value.startsWith('RAW:') ? value.slice(4) : JSON.stringify(value)}}`));
      expect(e).toMatchObject({ code: 'M2M_RESPONSE_INVALID' });
      expect(e.message).toContain('it must be a positive number of seconds');
      return e.message;
    };
    expect(message(0)).toContain('has expires_in 0;');
    expect(message(-5)).toContain('has expires_in -5;');
    expect(message('RAW:1e400')).toContain('has expires_in Infinity;');
    expect(message('soon')).toContain('has expires_in "soon";');
    expect(message('0')).toContain('has expires_in "0";');
    expect(message('-1')).toContain('has expires_in "-1";');
    expect(message('1e3')).toContain('has expires_in "1e3";');
    expect(message('12 34')).toContain('has expires_in "12 34";');
    expect(message(`${SECRET}`)).toContain('has expires_in "[REDACTED]";');
    expect(message('z'.repeat(50))).toContain(`"${'z'.repeat(40)}"`);
    expect(message([1])).toContain('has expires_in of type array;');
    expect(message({ s: 1 })).toContain('has expires_in of type object;');
    expect(message(true)).toContain('has expires_in of type boolean;');
  });
});

describe('scope and raw', () => {
  it('reads scope from a string or an array of strings, else leaves it out', () => {
    expect(parseTokenResponse(ok({ scope: ' a  b ' }), ctx).scope).toEqual(['a', 'b']);
    expect(parseTokenResponse(ok({ scope: ['x', 'y'] }), ctx).scope).toEqual(['x', 'y']);
    expect(parseTokenResponse(ok({ scope: ['x', 1] }), ctx).scope).toBeUndefined();
    expect(parseTokenResponse(ok({ scope: 7 }), ctx).scope).toBeUndefined();
  });

  it('a scope entry that echoes the client secret or the token itself is scrubbed (a Token shows its scope)', () => {
    const scope = parseTokenResponse(ok({ access_token: 'at-echoed-token-1', scope: `read at-echoed-token-1 ${SECRET}` }), ctx).scope;
    expect(scope).toHaveLength(3);
    expect(scope![0]).toBe('read');
    expect(JSON.stringify(scope)).not.toContain('at-echoed-token-1');
    expect(JSON.stringify(scope)).not.toContain(SECRET);
  });
});

describe('token types with DPoP allowing Bearer', () => {
  it('allowBearer lets a Bearer token through, never another type', () => {
    const lenient: ResponseContext = { ...ctx, allowedTokenTypes: ['bearer', 'mac'], dpop: 'allow-bearer' };
    expect(parseTokenResponse(ok({}), lenient).tokenType).toBe('Bearer');
    expect(fails(ok({ token_type: 'MAC' }), lenient)).toMatchObject({ code: 'M2M_DPOP_MISMATCH' });
  });

  it('a token_type that is no scheme name is unsupported for a DPoP client too, not a DPoP mismatch', () => {
    for (const dpop of ['required', 'allow-bearer'] as const) {
      const error = fails(ok({ token_type: 'Bearer token' }), { ...ctx, dpop });
      expect(error).toMatchObject({ code: 'M2M_TOKEN_TYPE_UNSUPPORTED' });
      expect(error.message).toContain('(12 characters, not a scheme name)');
    }
  });
});

describe('jwtExpiry', () => {
  it('reads a finite numeric exp from a three-part token, else nothing', () => {
    expect(jwtExpiry(jwt({ exp: 42 }))).toBe(42);
    expect(jwtExpiry(jwt({ exp: '42' }))).toBeUndefined();
    expect(jwtExpiry(jwt(null))).toBeUndefined();
    expect(jwtExpiry(`${jwt({ exp: 42 })}.extra`)).toBeUndefined();
    expect(jwtExpiry('a..c')).toBeUndefined();
    expect(jwtExpiry(`a.${Buffer.from('{"exp":1e400}').toString('base64url')}.c`)).toBeUndefined();
    expect(jwtExpiry(`a.${Buffer.from('not json').toString('base64url')}.c`)).toBeUndefined();
    expect(jwtExpiry('opaque')).toBeUndefined();
  });
});

describe('errors are TokenResponseErrors with the status', () => {
  it('for every response failure', () => {
    for (const r of [res(500, ''), res(200, 'x', {}), res(200, '{'), body([])]) {
      const e = fails(r);
      expect(e).toBeInstanceOf(TokenResponseError);
      expect((e as TokenResponseError).status).toBe(r.status);
    }
  });
});

describe('quota headers on an error', () => {
  const quotaRes = (status: number, quota: string) =>
    res(status, JSON.stringify({ error: 'too_many_requests', error_description: 'quota' }), { 'content-type': 'application/json', 'auth0-client-quota-limit': quota });

  it('a 429 with a used-up bucket waits until the latest used-up bucket resets', () => {
    const e = fails(quotaRes(429, 'b=per_hour;q=10;r=0;t=60,b=per_day;q=50;r=0;t=3600'));
    expect(e.retryAfter).toBe(3_600_000);
    expect(e.quota?.buckets).toHaveLength(2);
    const one = fails(quotaRes(429, 'b=per_hour;q=10;r=0;t=60,b=per_day;q=50;r=3;t=3600'));
    expect(one.retryAfter).toBe(60_000);
  });

  it('no used-up bucket, or not a 429: the quota is attached, no wait is derived from it', () => {
    expect(fails(quotaRes(429, 'b=per_hour;q=10;r=2;t=60')).retryAfter).toBeUndefined();
    const other = fails(quotaRes(400, 'b=per_hour;q=10;r=0;t=60'));
    expect(other.retryAfter).toBeUndefined();
    expect(other.quota?.buckets[0]).toMatchObject({ remaining: 0, limit: 10 });
  });
});
