// Discovery (RFC 8414 / OpenID Connect Discovery) as a user sees it: which URLs are asked, what metadata is
// refused and why, what is kept and for how long, what is forgotten. Real HTTP on 127.0.0.1.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Discovery, METADATA_TTL, metadataUrls, parseMetadata } from '../src/discovery.js';
import type { Transport } from '../src/transport.js';
import { TokenClient, TokenResponseError, type TokenClientBaseOptions, type ClientCredentialFields } from '../src/index.js';
import { json, startTokenServer, type ReceivedRequest, type TokenServer } from './helpers/token-server.js';

const SECRET = 'discovery-fake-secret';
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(open.splice(0).map((c) => c.close()));
});

type Route = (req: ReceivedRequest, res: import('node:http').ServerResponse, index: number) => void | Promise<void>;

/**
 * A server at `issuerPath` that answers the well-known locations with `metadata(origin)` (or `wellKnown`) and the
 * token endpoint `/token` with a token per request.
 */
async function authorizationServer(opts: {
  metadata?: (origin: string) => unknown;
  wellKnown?: Route;
  issuerPath?: string;
  token?: Route;
}): Promise<{ server: TokenServer; issuer: string; gets: () => string[]; posts: () => ReceivedRequest[] }> {
  const server = await startTokenServer('/token');
  const issuer = `${server.origin}${opts.issuerPath ?? ''}`;
  let tokens = 0;
  server.respond((req, res, i) => {
    if (req.method === 'GET') {
      if (opts.wellKnown) return opts.wellKnown(req, res, i);
      return json(res, 200, opts.metadata ? opts.metadata(server.origin) : { issuer, token_endpoint: `${server.origin}/token` });
    }
    tokens += 1;
    if (opts.token) return opts.token(req, res, tokens);
    return json(res, 200, { access_token: `token-${tokens}`, token_type: 'Bearer', expires_in: 3600 });
  });
  open.push(server);
  return {
    server,
    issuer,
    gets: () => server.requests.filter((r) => r.method === 'GET').map((r) => r.url),
    posts: () => server.requests.filter((r) => r.method === 'POST'),
  };
}

function client(issuer: string, options: Partial<TokenClientBaseOptions> & ClientCredentialFields = {}): TokenClient {
  const c = new TokenClient({ issuer, clientId: 'disco-client', clientSecret: SECRET, retry: false, ...options } as never);
  open.push(c);
  return c;
}

async function failure(promise: Promise<unknown>): Promise<TokenResponseError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  );
  return error as TokenResponseError;
}

describe('discovered endpoints are held to the rules of configured ones', () => {
  it('refuses metadata naming an http:// token endpoint on another host, and sends nothing there', async () => {
    const as = await authorizationServer({ metadata: (origin) => ({ issuer: origin, token_endpoint: 'http://auth.example.test/token' }) });
    const error = await failure(client(as.issuer).getToken());
    expect(error).toBeInstanceOf(TokenResponseError);
    expect(error.code).toBe('M2M_DISCOVERY_FAILED');
    expect(error.status).toBe(200);
    expect(error.message).toContain('unusable token_endpoint');
    expect(error.message).toContain('https');
    expect(error.message).toContain('issuer option');
    expect(as.posts()).toHaveLength(0);
  });

  it('refuses a token endpoint with credentials in it, or of another scheme', async () => {
    for (const endpoint of ['https://user:pw@auth.example.test/token', 'ftp://auth.example.test/token']) {
      const as = await authorizationServer({ metadata: (origin) => ({ issuer: origin, token_endpoint: endpoint }) });
      const error = await failure(client(as.issuer).getToken());
      expect(error.code).toBe('M2M_DISCOVERY_FAILED');
      expect(error.message).toContain('unusable token_endpoint');
      expect(as.posts()).toHaveLength(0);
    }
  });

  it('refuses an insecure mTLS alias too, even for a client without a certificate', async () => {
    const as = await authorizationServer({
      metadata: (origin) => ({ issuer: origin, token_endpoint: `${origin}/token`, mtls_endpoint_aliases: { token_endpoint: 'http://mtls.example.test/token' } }),
    });
    const error = await failure(client(as.issuer).getToken());
    expect(error.code).toBe('M2M_DISCOVERY_FAILED');
    expect(error.message).toContain('unusable mtls_endpoint_aliases.token_endpoint');
    expect(as.posts()).toHaveLength(0);
  });

  it('refuses a token_endpoint that is not a URL string, or missing, naming what is wrong', async () => {
    for (const [tokenEndpoint, what] of [
      [42, 'invalid token_endpoint'],
      [['https://as.example.test/token'], 'invalid token_endpoint'],
      ['not a url', 'invalid token_endpoint'],
      [undefined, 'has no token_endpoint'],
    ] as const) {
      const as = await authorizationServer({ metadata: (origin) => ({ issuer: origin, token_endpoint: tokenEndpoint }) });
      const error = await failure(client(as.issuer).getToken());
      expect(error.code).toBe('M2M_DISCOVERY_FAILED');
      expect(error.message).toContain(what);
      expect(error.message).toContain(`${as.server.origin}/.well-known/`);
    }
  });

  it('accepts an mTLS alias object without a token endpoint, and ignores a non-object alias', async () => {
    for (const aliases of [{ revocation_endpoint: 'https://x.example.test/revoke' }, 'nonsense']) {
      const as = await authorizationServer({ metadata: (origin) => ({ issuer: origin, token_endpoint: `${origin}/token`, mtls_endpoint_aliases: aliases }) });
      expect((await client(as.issuer).getToken()).accessToken).toBe('token-1');
    }
  });
});

describe('a failed discovery is forgotten, a successful one kept', () => {
  it('asks again on the next call after a discovery failure (not kept for the hour)', async () => {
    let fail = true;
    const as = await authorizationServer({
      wellKnown: (req, res) => (fail ? json(res, 500, { oops: true }) : json(res, 200, { issuer: as.issuer, token_endpoint: `${as.server.origin}/token` })),
    });
    const c = client(as.issuer);
    const error = await failure(c.getToken());
    expect(error.code).toBe('M2M_DISCOVERY_FAILED');
    expect(error.status).toBe(500);
    fail = false;
    expect((await c.getToken()).accessToken).toBe('token-1');
    // Both locations were tried the first time (a 500 is not final), then the RFC 8414 one answered.
    expect(as.gets()).toEqual([
      '/.well-known/oauth-authorization-server',
      '/.well-known/openid-configuration',
      '/.well-known/oauth-authorization-server',
    ]);
  });

  it('fetches the metadata once for many keys, and again after the token endpoint it named moved (404)', async () => {
    let moved = false;
    const as = await authorizationServer({
      token: (req, res, n) => (moved && n === 3 ? json(res, 404, {}) : json(res, 200, { access_token: `token-${n}`, token_type: 'Bearer', expires_in: 3600 })),
    });
    const c = client(as.issuer);
    await c.getToken({ scope: 'a' });
    await c.getToken({ scope: 'b' });
    expect(as.gets()).toHaveLength(1);
    moved = true;
    await expect(c.getToken({ scope: 'c' })).rejects.toMatchObject({ code: 'M2M_HTTP_STATUS', status: 404 });
    await c.getToken({ scope: 'd' });
    expect(as.gets()).toHaveLength(2);
  });

  it('fetches the metadata again after a 405 or a network failure at the token endpoint, not after a 400 or 500', async () => {
    for (const [status, again] of [[405, true], [400, false], [500, false]] as const) {
      const as = await authorizationServer({ token: (req, res, n) => (n === 1 ? json(res, status, {}) : json(res, 200, { access_token: `t${n}`, token_type: 'Bearer', expires_in: 60 })) });
      const c = client(as.issuer);
      await expect(c.getToken({ scope: 'a' })).rejects.toMatchObject({ status });
      await c.getToken({ scope: 'b' });
      expect(as.gets()).toHaveLength(again ? 2 : 1);
    }
    // A token endpoint nobody listens on: a network error.
    const closed = await startTokenServer('/token');
    const deadUrl = closed.url;
    await closed.close();
    const as = await authorizationServer({ metadata: (origin) => ({ issuer: origin, token_endpoint: deadUrl }) });
    const c = client(as.issuer);
    await expect(c.getToken()).rejects.toMatchObject({ code: 'M2M_NETWORK_ERROR' });
    await expect(c.getToken()).rejects.toMatchObject({ code: 'M2M_NETWORK_ERROR' });
    expect(as.gets()).toHaveLength(2);
  });

  it('keeps the metadata for an hour (monotonic time), then fetches it again', async () => {
    let now = 1_000_000;
    // The client's monotonic clock is process.hrtime (see src/monotonic.ts).
    vi.spyOn(process, 'hrtime').mockImplementation(() => [Math.floor(now / 1000), (now % 1000) * 1e6]);
    const as = await authorizationServer({});
    const c = client(as.issuer);
    await c.getToken({ scope: 'a' });
    now += METADATA_TTL - 1;
    await c.getToken({ scope: 'b' });
    expect(as.gets()).toHaveLength(1);
    now += 1;
    await c.getToken({ scope: 'c' });
    expect(as.gets()).toHaveLength(2);
    expect(METADATA_TTL).toBe(60 * 60 * 1000);
  });

  it('concurrent first callers share one discovery', async () => {
    const as = await authorizationServer({});
    const c = client(as.issuer);
    await Promise.all(['a', 'b', 'c'].map((scope) => c.getToken({ scope })));
    expect(as.gets()).toHaveLength(1);
  });
});

describe('where the metadata is looked for', () => {
  it('inserts the well-known path before an issuer path, and appends the OpenID one, ignoring a trailing slash', () => {
    const expected = ['https://as.example/.well-known/oauth-authorization-server/t/a', 'https://as.example/t/a/.well-known/openid-configuration'];
    expect(metadataUrls(new URL('https://as.example/t/a')).map(String)).toEqual(expected);
    expect(metadataUrls(new URL('https://as.example/t/a/')).map(String)).toEqual(expected);
    expect(metadataUrls(new URL('https://as.example/')).map(String)).toEqual([
      'https://as.example/.well-known/oauth-authorization-server',
      'https://as.example/.well-known/openid-configuration',
    ]);
  });

  it('asks with GET, accepting JSON, with the client User-Agent', async () => {
    const as = await authorizationServer({ issuerPath: '/tenant/' });
    await client(as.issuer, { userAgent: 'billing/2.0' }).getToken();
    const get = as.server.requests[0]!;
    expect(get.method).toBe('GET');
    expect(get.url).toBe('/.well-known/oauth-authorization-server/tenant');
    expect(get.headers.accept).toBe('application/json');
    expect(get.headers['user-agent']).toMatch(/^billing\/2\.0 m2m-token\//);
  });

  it('tries the OpenID location after a 404, an HTML page or a non-object at the RFC 8414 one', async () => {
    for (const first of [
      (res: import('node:http').ServerResponse) => json(res, 404, {}),
      (res: import('node:http').ServerResponse) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html>app</html>');
      },
      (res: import('node:http').ServerResponse) => json(res, 200, null),
      (res: import('node:http').ServerResponse) => json(res, 200, 'metadata'),
    ]) {
      const as = await authorizationServer({
        wellKnown: (req, res) => (req.url.includes('oauth-authorization-server') ? first(res) : json(res, 200, { issuer: as.issuer, token_endpoint: `${as.server.origin}/token` })),
      });
      expect((await client(as.issuer).getToken()).accessToken).toBe('token-1');
      expect(as.gets()).toEqual(['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']);
    }
  });

  it('stops at a network failure or an oversized answer at the RFC 8414 location', async () => {
    const reset = await authorizationServer({
      wellKnown: (req, res) => {
        if (req.url.includes('oauth-authorization-server')) throw new Error('drop the connection');
        json(res, 200, { issuer: reset.issuer, token_endpoint: `${reset.server.origin}/token` });
      },
    });
    expect(await failure(client(reset.issuer).getToken())).toMatchObject({ code: 'M2M_NETWORK_ERROR' });
    expect(reset.gets()).toEqual(['/.well-known/oauth-authorization-server']);
    const huge = await authorizationServer({
      wellKnown: (req, res) => {
        if (req.url.includes('oauth-authorization-server')) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('x'.repeat(1024 * 1024 + 10));
          return;
        }
        json(res, 200, { issuer: huge.issuer, token_endpoint: `${huge.server.origin}/token` });
      },
    });
    expect(await failure(client(huge.issuer).getToken())).toMatchObject({ code: 'M2M_RESPONSE_TOO_LARGE' });
    expect(huge.gets()).toEqual(['/.well-known/oauth-authorization-server']);
  });

  it('stops at metadata naming another issuer: no second location, no token request', async () => {
    const as = await authorizationServer({ metadata: () => ({ issuer: 'https://evil.example.test', token_endpoint: 'https://evil.example.test/token' }) });
    const error = await failure(client(as.issuer).getToken());
    expect(error.code).toBe('M2M_DISCOVERY_FAILED');
    expect(error.message).toContain('"https://evil.example.test"');
    expect(error.message).toContain(`not the configured "${as.issuer}"`);
    expect(as.gets()).toEqual(['/.well-known/oauth-authorization-server']);
    expect(as.posts()).toHaveLength(0);
  });

  it('reports the last location when both fail', async () => {
    const as = await authorizationServer({ wellKnown: (req, res) => json(res, 404, {}) });
    const error = await failure(client(as.issuer).getToken());
    expect(error.code).toBe('M2M_DISCOVERY_FAILED');
    expect(error.status).toBe(404);
    expect(error.message).toContain('/.well-known/openid-configuration');
  });
});

describe('the issuer must match (RFC 8414 §3.3), but for one trailing slash', () => {
  it('accepts the issuer with or without a trailing slash on either side', async () => {
    for (const [configured, served] of [['', '/'], ['/', ''], ['/t', '/t/'], ['/t/', '/t']]) {
      const as = await authorizationServer({ metadata: (origin) => ({ issuer: `${origin}${served}`, token_endpoint: `${origin}/token` }) });
      expect((await client(`${as.server.origin}${configured}`).getToken()).accessToken).toBe('token-1');
    }
  });

  it('refuses a missing issuer, or one that differs by more than a slash', async () => {
    for (const served of [undefined, '//', 'x', '/other']) {
      const as = await authorizationServer({ metadata: (origin) => ({ issuer: served === undefined ? undefined : `${origin}${served}`, token_endpoint: `${origin}/token` }) });
      const error = await failure(client(as.issuer).getToken());
      expect(error.code).toBe('M2M_DISCOVERY_FAILED');
      expect(error.message).toContain('not the configured');
      expect(as.gets()).toHaveLength(1);
    }
  });
});

describe('token_endpoint_auth_methods_supported', () => {
  it('picks from the listed methods, ignoring entries that are not strings', async () => {
    const as = await authorizationServer({
      metadata: (origin) => ({ issuer: origin, token_endpoint: `${origin}/token`, token_endpoint_auth_methods_supported: [42, null, 'client_secret_post'] }),
    });
    await client(as.issuer).getToken();
    const post = as.posts()[0]!;
    expect(post.form.get('client_secret')).toBe(SECRET);
    expect(post.headers.authorization).toBeUndefined();
  });

  it('names only the string entries when none fits the credentials', async () => {
    const as = await authorizationServer({
      metadata: (origin) => ({ issuer: origin, token_endpoint: `${origin}/token`, token_endpoint_auth_methods_supported: [42, 'private_key_jwt', {}] }),
    });
    const error = await failure(client(as.issuer).getToken());
    expect(error.code).toBe('M2M_INVALID_OPTION');
    expect(error.message).toContain('the server supports private_key_jwt but the credentials given allow only');
  });

  it('reads a list that is not an array as unsaid: client_secret_basic (RFC 8414 §2)', async () => {
    const as = await authorizationServer({
      metadata: (origin) => ({ issuer: origin, token_endpoint: `${origin}/token`, token_endpoint_auth_methods_supported: 'client_secret_post' }),
    });
    await client(as.issuer).getToken();
    const post = as.posts()[0]!;
    expect(post.headers.authorization).toMatch(/^Basic /);
    expect(post.form.get('client_secret')).toBeNull();
  });
});

describe('parseMetadata messages name the URL, the status and what to check', () => {
  const url = new URL('https://as.example/.well-known/oauth-authorization-server');
  const parse = (status: number, body: string, headers: Record<string, string> = {}) => {
    try {
      parseMetadata({ status, headers, body, sentAt: 0 }, url, 'https://as.example', false);
    } catch (error) {
      return error as TokenResponseError;
    }
    throw new Error('expected a throw');
  };

  it('a wrong issuer is quoted only when it is a plain http(s) URL of at most 200 characters; otherwise described', () => {
    const named = (issuer: unknown) => {
      const message = parse(200, JSON.stringify({ issuer, token_endpoint: 'https://as.example/token' })).message;
      expect(message).toContain(', not the configured "https://as.example" (a mismatch could mean a spoofed or misconfigured server)');
      return message.slice(message.indexOf('names issuer ') + 'names issuer '.length, message.indexOf(', not the configured'));
    };
    expect(named('https://other.example/')).toBe('"https://other.example/"');
    expect(named('http://other.example/a?b=c')).toBe('"http://other.example/a?b=c"');
    const long = `https://other.example/${'a'.repeat(200 - 'https://other.example/'.length)}`;
    expect(long).toHaveLength(200);
    expect(named(long)).toBe(JSON.stringify(long));
    expect(named(`${long}a`)).toBe('(201 characters, not an http(s) URL)');
    // Not an http(s) URL: a space before it, a character after it that is not printable ASCII, another scheme,
    // something URL cannot read.
    expect(named(' https://other.example/')).toBe('(23 characters, not an http(s) URL)');
    expect(named('https://other.example/\u00e9')).toBe('(23 characters, not an http(s) URL)');
    expect(named('ftp://other.example/')).toBe('(20 characters, not an http(s) URL)');
    expect(named('https://[bad')).toBe('(12 characters, not an http(s) URL)');
    expect(named('attacker\u0007 text')).toBe('(14 characters, not an http(s) URL)');
    expect(named(null)).toBe('of type null');
    expect(named(42)).toBe('of type number');
    expect(named({ a: 1 })).toBe('of type object');
    expect(parse(200, JSON.stringify({ token_endpoint: 'https://as.example/token' })).message).toContain('names issuer of type undefined, not the configured');
  });

  it('a status other than 200, with its content type or the lack of one', () => {
    const html = parse(503, '<html/>', { 'content-type': 'text/html' });
    expect(html).toMatchObject({ code: 'M2M_DISCOVERY_FAILED', status: 503, endpoint: 'https://as.example' });
    expect(html.message).toContain(`Discovery at ${url.href} answered HTTP 503 (text/html)`);
    expect(html.message).toContain('check the issuer option');
    expect(parse(201, '{}').message).toContain('answered HTTP 201 (no content type)');
  });

  it('not JSON, JSON that is not an object', () => {
    expect(parse(200, '<html/>').message).toContain('did not answer with JSON;');
    expect(parse(200, 'null').message).toContain('did not answer with a JSON object');
    expect(parse(200, '7').message).toContain('did not answer with a JSON object');
  });

  it('accepts a minimal document and reads its fields', () => {
    const m = parseMetadata(
      { status: 200, headers: {}, body: JSON.stringify({ issuer: 'https://as.example/', token_endpoint: 'https://as.example/t', mtls_endpoint_aliases: { token_endpoint: 'https://mtls.as.example/t' } }), sentAt: 0 },
      url,
      'https://as.example',
      false,
    );
    expect(m).toEqual({
      issuer: 'https://as.example/',
      tokenEndpoint: new URL('https://as.example/t'),
      authMethods: undefined,
      mtlsTokenEndpoint: new URL('https://mtls.as.example/t'),
    });
  });

  it('allows an http endpoint on another host only with allowInsecureHttp', () => {
    const body = JSON.stringify({ issuer: 'https://as.example', token_endpoint: 'http://as.example/t' });
    expect(parseMetadata({ status: 200, headers: {}, body, sentAt: 0 }, url, 'https://as.example', true).tokenEndpoint.href).toBe('http://as.example/t');
    expect(() => parseMetadata({ status: 200, headers: {}, body, sentAt: 0 }, url, 'https://as.example', false)).toThrow(/unusable token_endpoint: Invalid option `token_endpoint`/);
  });
});

describe('Discovery, with a transport that answers when told', () => {
  function pendingTransport() {
    const calls: { resolve: (body: unknown) => void; reject: (e: Error) => void }[] = [];
    const transport = {
      send: (_build: unknown, handle: (r: unknown) => unknown) =>
        new Promise((resolve, reject) => {
          calls.push({
            resolve: (body) => {
              try {
                resolve(handle({ status: 200, headers: {}, body: JSON.stringify(body), sentAt: 0 }));
              } catch (e) {
                reject(e);
              }
            },
            reject,
          });
        }),
    } as unknown as Transport;
    return { transport, calls };
  }
  const doc = { issuer: 'https://as.example', token_endpoint: 'https://as.example/token' };

  it('a fetch that was replaced (invalidate) and fails late does not drop its replacement', async () => {
    const { transport, calls } = pendingTransport();
    const discovery = new Discovery('https://as.example', transport, false, 'ua');
    const first = discovery.metadata(Infinity);
    first.catch(() => {});
    discovery.invalidate();
    const second = discovery.metadata(Infinity);
    expect(calls).toHaveLength(2);
    calls[0]!.reject(new Error('network'));
    await expect(first).rejects.toThrow('network');
    calls[1]!.resolve(doc);
    expect((await second).tokenEndpoint.href).toBe('https://as.example/token');
    // The replacement is still the shared one: no third fetch.
    expect((await discovery.metadata(Infinity)).issuer).toBe('https://as.example');
    expect(calls).toHaveLength(2);
  });

  it('concurrent callers share the fetch in flight; a failure is forgotten, a success kept', async () => {
    const { transport, calls } = pendingTransport();
    const discovery = new Discovery('https://as.example', transport, false, 'ua');
    const a = discovery.metadata(Infinity);
    const b = discovery.metadata(Infinity);
    expect(calls).toHaveLength(1);
    calls[0]!.reject(new Error('down'));
    await expect(a).rejects.toThrow('down');
    await expect(b).rejects.toThrow('down');
    const c = discovery.metadata(Infinity);
    expect(calls).toHaveLength(2);
    calls[1]!.resolve(doc);
    await c;
    await discovery.metadata(Infinity);
    expect(calls).toHaveLength(2);
  });
});
