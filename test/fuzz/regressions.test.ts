import {
  ConfigurationError,
  ErrorCode,
  TokenClient,
  TokenClientError,
  type Token,
  type TokenClientOptions,
} from 'm2m-token';
import { describe, expect, it } from 'vitest';
import { SECRET, setup } from '../helpers/client.js';
import { ManualClock } from '../helpers/clock.js';
import { renderingsContaining } from '../helpers/renderings.js';
import { json, startTokenServer } from '../helpers/token-server.js';

// Bugs the fuzzer (npm run fuzz) found, each reduced to a small case through the public API. Each test states
// what the README promises; it fails until the bug is fixed.

const TOKEN = 'tok-Fz8wQ2xLr7'; // visible ASCII, a scheme-name shape: what an opaque token usually is

/** Fails with every rendering (message, stack, inspect, JSON, structuredClone, property walk, causes) that shows a needle. */
function expectNowhere(value: unknown, needles: readonly string[]): void {
  expect(renderingsContaining(value, needles).map((hit) => `${hit.how}: …${hit.excerpt}…`)).toEqual([]);
}

const fail = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);

/** A fake undici dispatcher whose every dispatch fails with `error` (thrown by dispatch()). */
const failingDispatcher = (error: () => unknown) =>
  ({
    dispatch() {
      throw error();
    },
  }) as unknown as TokenClientOptions['dispatcher'];

describe('the client secret echoed in a response header or in metadata', () => {
  it('a Content-Type that echoes the secret is not in an M2M_HTTP_STATUS error', async () => {
    const { server, client } = await setup({ retry: false });
    server.respond((_req, res) => {
      res.writeHead(502, { 'content-type': SECRET });
      res.end('bad gateway');
    });
    const error = await fail(client.getToken());
    expect(error).toMatchObject({ code: ErrorCode.HTTP_STATUS });
    expectNowhere(error, [SECRET]);
  });

  it('a Content-Type that echoes the secret is not in an M2M_RESPONSE_NOT_JSON error', async () => {
    const { server, client } = await setup({ retry: false });
    server.respond((_req, res) => {
      res.writeHead(200, { 'content-type': SECRET });
      res.end('hello');
    });
    const error = await fail(client.getToken());
    expect(error).toMatchObject({ code: ErrorCode.RESPONSE_NOT_JSON });
    expectNowhere(error, [SECRET]);
  });

  it('metadata whose issuer echoes the secret: M2M_DISCOVERY_FAILED does not quote it', async () => {
    const server = await startTokenServer();
    server.respond((_req, res) => json(res, 200, { issuer: SECRET, token_endpoint: `${server.origin}/oauth/token` }));
    const client = new TokenClient({ issuer: server.origin, clientId: 'client-1', clientSecret: SECRET, retry: false });
    try {
      const error = await fail(client.getToken());
      expect(error).toMatchObject({ code: ErrorCode.DISCOVERY_FAILED });
      expectNowhere(error, [SECRET]);
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('token_endpoint_auth_methods_supported that echoes the secret is not quoted by the error', async () => {
    const server = await startTokenServer();
    server.respond((_req, res) =>
      json(res, 200, { issuer: server.origin, token_endpoint: `${server.origin}/oauth/token`, token_endpoint_auth_methods_supported: [SECRET] }),
    );
    const client = new TokenClient({ issuer: server.origin, clientId: 'client-1', clientSecret: SECRET, retry: false });
    try {
      const error = await fail(client.getToken());
      expect(error).toBeInstanceOf(TokenClientError);
      expectNowhere(error, [SECRET]);
    } finally {
      await client.close();
      await server.close();
    }
  });
});

describe('the access token echoed in another field of the token response', () => {
  it('a token_type that echoes the access token is not quoted by M2M_TOKEN_TYPE_UNSUPPORTED', async () => {
    const { server, client } = await setup({ retry: false });
    server.respond((_req, res) => json(res, 200, { access_token: TOKEN, token_type: TOKEN, expires_in: 60 }));
    const error = await fail(client.getToken());
    expect(error).toMatchObject({ code: ErrorCode.TOKEN_TYPE_UNSUPPORTED });
    expectNowhere(error, [TOKEN]);
  });

  it('an expires_in that echoes the access token is not quoted by M2M_RESPONSE_INVALID', async () => {
    const { server, client } = await setup({ retry: false });
    server.respond((_req, res) => json(res, 200, { access_token: TOKEN, token_type: 'Bearer', expires_in: TOKEN }));
    const error = await fail(client.getToken());
    expect(error).toMatchObject({ code: ErrorCode.RESPONSE_INVALID });
    expectNowhere(error, [TOKEN]);
  });
});

describe('a long secret cut before it is redacted', () => {
  const long = `${'s3cr3t-'.repeat(7)}end`; // 52 characters of RFC 7230 token characters

  it('a token_type that echoes a 52-character secret shows none of it', async () => {
    const { server, client } = await setup({ clientSecret: long, retry: false });
    server.respond((_req, res) => json(res, 200, { access_token: 'at-1', token_type: long, expires_in: 60 }));
    const error = await fail(client.getToken());
    expect(error).toMatchObject({ code: ErrorCode.TOKEN_TYPE_UNSUPPORTED });
    expectNowhere(error, [long.slice(0, 20)]);
  });

  it('an expires_in that echoes a 52-character secret shows none of it', async () => {
    const { server, client } = await setup({ clientSecret: long, retry: false });
    server.respond((_req, res) => json(res, 200, { access_token: 'at-1', token_type: 'Bearer', expires_in: long }));
    const error = await fail(client.getToken());
    expect(error).toMatchObject({ code: ErrorCode.RESPONSE_INVALID });
    expectNowhere(error, [long.slice(0, 20)]);
  });
});

describe('Token renderings (README: a Token never shows the secret or the access token)', () => {
  it('a scope that echoes the secret and the token is not in JSON.stringify or util.inspect of the Token', async () => {
    const { server, client } = await setup();
    server.respond((_req, res) => json(res, 200, { access_token: TOKEN, token_type: 'Bearer', expires_in: 60, scope: `read ${SECRET} ${TOKEN}` }));
    const token = await client.getToken();
    expectNowhere(token, [SECRET, TOKEN]);
  });
});

describe('token types compared case-insensitively (README), but only in ASCII', () => {
  it('a token_type with a KELVIN SIGN that lowercases to an allowed type does not become a tokenType a header cannot carry', async () => {
    const { server, client } = await setup({ allowedTokenTypes: ['pop-key'], retry: false });
    server.respond((_req, res) => json(res, 200, { access_token: 'at-1', token_type: 'POP-\u212aEY', expires_in: 60 }));
    const outcome = await client.getToken().then((t) => t, (e: unknown) => e);
    // Refused as unsupported, or accepted with a tokenType that is an RFC 7230 token (it precedes the credentials).
    if (outcome instanceof Error) expect(outcome).toMatchObject({ code: ErrorCode.TOKEN_TYPE_UNSUPPORTED });
    else expect((outcome as Token).tokenType).toMatch(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/);
  });
});

describe('lifetimes that overflow', () => {
  it.each([
    ['expires_in: 1e308', { access_token: 'at-1', token_type: 'Bearer', expires_in: 1e308 }],
    ['a JWT exp of 1.8e305', { access_token: `h.${Buffer.from(JSON.stringify({ exp: 1.8e305 })).toString('base64url')}.s`, token_type: 'Bearer' }],
  ])('%s: the Token has a finite expiresIn and expiresAt', async (_what, body) => {
    const { server, client } = await setup();
    server.respond((_req, res) => json(res, 200, body));
    const token: Token = await client.getToken();
    expect(Number.isFinite(token.expiresIn)).toBe(true);
    expect(Number.isFinite(token.expiresAt)).toBe(true);
  });
});

describe('token_type null (README: read as Bearer, like a missing token_type, as Go\'s x/oauth2 does)', () => {
  it('is read as Bearer', async () => {
    const { server, client } = await setup({ retry: false });
    server.respond((_req, res) => json(res, 200, { access_token: 'at-1', token_type: null, expires_in: 60 }));
    expect((await client.getToken()).tokenType).toBe('Bearer');
  });
});

describe('Retry-After values that are neither delay-seconds nor an HTTP-date (RFC 9110 §10.2.3)', () => {
  it('"in 2030" is ignored: the 503 is retried at once, not refused as a 4-year wait', async () => {
    const { server, client } = await setup({ clock: new ManualClock(), retry: { retries: 1, baseDelay: 1, maxDelay: 1 } });
    server.respond((_req, res, i) => (i === 1 ? json(res, 503, {}, { 'retry-after': 'in 2030' }) : json(res, 200, { access_token: 'at-2', token_type: 'Bearer', expires_in: 60 })));
    expect((await client.getToken()).accessToken).toBe('at-2');
    expect(server.requests).toHaveLength(2);
  });

  it('"-1" on a 429 does not hide x-ratelimit-reset: retryAfter is the reset, 20 s away', async () => {
    const clock = new ManualClock();
    const { server, client } = await setup({ clock, retry: false });
    const reset = String(clock.now() / 1000 + 20);
    server.respond((_req, res) => json(res, 429, { error: 'too_many_requests' }, { 'retry-after': '-1', 'x-ratelimit-reset': reset }));
    expect(await fail(client.getToken())).toMatchObject({ code: ErrorCode.OAUTH_ERROR, retryAfter: 20_000 });
  });

  it('"1.5" reports no retryAfter (the server did not say how long)', async () => {
    const { server, client } = await setup({ clock: new ManualClock(), retry: false });
    server.respond((_req, res) => json(res, 503, {}, { 'retry-after': '1.5' }));
    const error = await fail(client.getToken());
    expect(error).toMatchObject({ code: ErrorCode.HTTP_STATUS });
    expect((error as TokenClientError).retryAfter).toBeUndefined();
  });
});

describe('an asctime Retry-After (RFC 9110 §5.6.7: UTC, like every HTTP-date)', () => {
  it('is read as UTC on a machine in another time zone', async () => {
    const zone = process.env.TZ;
    process.env.TZ = 'America/Los_Angeles';
    try {
      const clock = new ManualClock();
      const { server, client } = await setup({ clock, retry: false });
      // Thu Jan  1 00:00:30 2026 (UTC) is 30 s after the clock's now.
      server.respond((_req, res) => json(res, 503, {}, { 'retry-after': 'Thu Jan  1 00:00:30 2026' }));
      expect(await fail(client.getToken())).toMatchObject({ code: ErrorCode.HTTP_STATUS, retryAfter: 30_000 });
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });
});

describe('a client secret that is not well-formed Unicode (a lone surrogate)', () => {
  const secret = 'cs-\ud800-lone';
  it('the constructor refuses it with a ConfigurationError, not a URIError', () => {
    expect(() => new TokenClient({ tokenEndpoint: 'https://as.example.com/token', clientId: 'client-1', clientSecret: secret })).toThrow(ConfigurationError);
  });

  it.each([
    ['issuer', { issuer: 'https://as.example.com' }],
    ['client_secret_jwt', { tokenEndpoint: 'https://as.example.com/token', clientAuthentication: 'client_secret_jwt' as const }],
    ['client_secret_basic', { tokenEndpoint: 'https://as.example.com/token', clientAuthentication: 'client_secret_basic' as const }],
  ])('with %s too, it is refused at construction by name, so no request can fail with a URIError later', (_name, endpoint) => {
    expect(() => new TokenClient({ ...endpoint, clientId: 'client-1', clientSecret: secret } as TokenClientOptions)).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_OPTION, option: 'clientSecret' }),
    );
  });
});

describe('a dispatcher error object whose getters throw (a broken dependency)', () => {
  it('M2M_UNEXPECTED_ERROR does not keep the raw value the getter threw (it carried the request)', async () => {
    const body = `grant_type=client_credentials&client_id=client-1&client_secret=${SECRET}`;
    const inner = new Error('inner');
    Object.defineProperty(inner, 'message', {
      get() {
        throw new Error(`could not read the message of ${body}`);
      },
    });
    const outer = Object.assign(new Error('dispatch failed'), { code: 'UND_ERR_SOCKET', cause: inner });
    const { client } = await setup({ dispatcher: failingDispatcher(() => outer), retry: false });
    const error = await fail(client.getToken());
    expect(error).toBeInstanceOf(TokenClientError);
    expectNowhere(error, [SECRET]);
  });
});

describe('a 1–3 character secret redacting the error code', () => {
  it('ERR_TLS_CERT_ALTNAME_INVALID stays final (not retried) when the secret is "L"', async () => {
    let dispatches = 0;
    const dispatcher = failingDispatcher(() => {
      dispatches += 1;
      return Object.assign(new Error('Hostname/IP does not match certificate\'s altnames'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    });
    const { client } = await setup({ clientSecret: 'L', dispatcher, retry: { retries: 2, baseDelay: 1, maxDelay: 1 } });
    expect(await fail(client.getToken())).toMatchObject({ code: ErrorCode.NETWORK_ERROR, attempts: 1 });
    expect(dispatches).toBe(1);
  });

  it('ENOTFOUND stays ENOTFOUND (not retried) when the secret is "N"', async () => {
    let dispatches = 0;
    const dispatcher = failingDispatcher(() => {
      dispatches += 1;
      return Object.assign(new Error('getaddrinfo ENOTFOUND auth.invalid'), { code: 'ENOTFOUND' });
    });
    const { client } = await setup({ clientSecret: 'N', dispatcher, retry: { retries: 2, baseDelay: 1, maxDelay: 1 } });
    const error = await fail(client.getToken());
    expect(error).toMatchObject({ code: ErrorCode.NETWORK_ERROR, attempts: 1 });
    expect((error as Error).message).toContain('ENOTFOUND');
    expect(dispatches).toBe(1);
  });
});
