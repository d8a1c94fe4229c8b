// Proxies from the environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) for the default node:http transport, through
// a real forward proxy on loopback: CONNECT tunnels to an https oidc-provider (mTLS end to end), and plain-HTTP
// forwarding to an http endpoint. Credentials in the proxy URL never show in errors.
import { createLocalJWKSet, jwtVerify, type JWK } from 'jose';
import { Agent, request as undiciRequest } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startAuthorizationServer, type AuthorizationServer } from '../demo/authorization-server.js';
import { parseNoProxy, bypassesProxy, resolveProxy } from '../src/proxy.js';
import { ConfigurationError, TokenClient, type TokenClientBaseOptions, type TokenClientOptions } from '../src/index.js';
import { makeTestPki, type TestPki } from './helpers/certs.js';
import { startForwardProxy, type ForwardProxy } from './helpers/forward-proxy.js';
import { expectNoLeak } from './helpers/leaks.js';
import { startTokenServer, type TokenServer } from './helpers/token-server.js';

/** Any option combination, valid or not: these tests build refused ones on purpose. */
type LooseOptions = { [K in keyof TokenClientBaseOptions | 'domain' | 'tokenEndpoint' | 'issuer' | 'clientSecret' | 'clientAssertion' | 'tls']?: unknown };

const PROXY_VARIABLES = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy', 'NODE_USE_ENV_PROXY'];
const saved = Object.fromEntries(PROXY_VARIABLES.map((name) => [name, process.env[name]]));
/** Sets the proxy variables for one test (the others unset); restored after each test. */
function environment(values: Record<string, string>): void {
  for (const name of PROXY_VARIABLES) delete process.env[name];
  Object.assign(process.env, values);
}
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const name of PROXY_VARIABLES) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
  await Promise.all(open.splice(0).map((c) => c.close()));
});
function client(options: LooseOptions): TokenClient {
  const c = new TokenClient({ clientId: 'm2m-app', retry: false, ...options } as unknown as TokenClientOptions);
  open.push(c);
  return c;
}
async function proxy(options: Parameters<typeof startForwardProxy>[0] = {}): Promise<ForwardProxy> {
  const p = await startForwardProxy(options);
  open.push(p);
  return p;
}

describe('NO_PROXY matching', () => {
  const bypass = (noProxy: string, url: string) => bypassesProxy(parseNoProxy(noProxy), new URL(url));

  it.each([
    ['', 'https://as.example.com/', false],
    ['*', 'https://as.example.com/', true],
    ['example.com', 'https://example.com/', true],
    ['example.com', 'https://as.example.com/', true],
    ['example.com', 'https://notexample.com/', false],
    ['.example.com', 'https://example.com/', true],
    ['.example.com', 'https://deep.as.example.com/', true],
    ['*.example.com', 'https://as.example.com/', true],
    ['EXAMPLE.com.', 'https://As.Example.COM/', true],
    ['example.com:8443', 'https://as.example.com:8443/', true],
    ['example.com:8443', 'https://as.example.com/', false],
    ['example.com:443', 'https://as.example.com/', true],
    ['localhost, 127.0.0.1', 'http://127.0.0.1:3000/', true],
    ['127.0.0.1', 'http://127.0.0.2/', false],
    ['10.0.0.0/8', 'https://10.20.30.40/', true],
    ['10.0.0.0/8', 'https://11.0.0.1/', false],
    ['10.0.0.0/8', 'https://ten.example.com/', false],
    ['::1', 'https://[::1]:8443/', true],
    ['[::1]:8443', 'https://[::1]:8443/', true],
    ['[::1]:8443', 'https://[::1]/', false],
    ['fd00::/8', 'https://[fd12::1]/', true],
    ['internal.corp other.corp\texample.com', 'https://api.example.com/', true],
    ['1.2.3.4/99, bad*name, /8', 'https://1.2.3.4/', false],
  ])('NO_PROXY=%j, %s → bypass %s', (noProxy, url, expected) => {
    expect(bypass(noProxy, url)).toBe(expected);
  });
});

describe('which proxy the settings give', () => {
  const resolve = (value: unknown, env: Record<string, string>, execArgv: string[] = []) => resolveProxy(value, false, env, execArgv);

  it("reads the variables for 'env', lower case first, HTTPS_PROXY for https and HTTP_PROXY for http, without fallback", () => {
    const settings = resolve('env', { HTTPS_PROXY: 'http://upper:3128', https_proxy: 'http://lower:3128', NO_PROXY: 'internal' })!;
    expect(settings.https).toMatchObject({ origin: 'http://lower:3128', host: 'lower', port: 3128, authorization: undefined });
    expect(settings.http).toBeUndefined();
    expect(settings.noProxy).toEqual([{ domain: 'internal' }]);
    expect(resolve('env', { HTTP_PROXY: 'proxy.internal:8080' })).toMatchObject({ http: { origin: 'http://proxy.internal:8080' }, https: undefined });
    expect(resolve('env', {})).toBeUndefined();
  });

  it("follows Node's convention without the option: NODE_USE_ENV_PROXY=1 or --use-env-proxy; proxy: false wins", () => {
    const env = { HTTPS_PROXY: 'http://proxy:3128' };
    expect(resolve(undefined, env)).toBeUndefined();
    expect(resolve(undefined, { ...env, NODE_USE_ENV_PROXY: '1' })?.https?.origin).toBe('http://proxy:3128');
    expect(resolve(undefined, { ...env, NODE_USE_ENV_PROXY: '0' })).toBeUndefined();
    expect(resolve(undefined, env, ['--use-env-proxy'])?.https?.origin).toBe('http://proxy:3128');
    expect(resolve(undefined, { ...env, NODE_OPTIONS: '--max-old-space-size=512 --use-env-proxy' })?.https).toBeDefined();
    expect(resolve(false, { ...env, NODE_USE_ENV_PROXY: '1' })).toBeUndefined();
  });

  it('turns user and password into Proxy-Authorization, and never quotes a bad value', () => {
    const server = resolve('http://svc%40corp:p%40ss%20w@127.0.0.1:3128', {})!.https!;
    expect(server.origin).toBe('http://127.0.0.1:3128');
    expect(Buffer.from(server.authorization!.slice(6), 'base64').toString()).toBe('svc@corp:p@ss w');
    const refusals: [unknown, Record<string, string>, RegExp][] = [
      ['env', { HTTPS_PROXY: 'http://user:hunter2-fake@[bad' }, /value of HTTPS_PROXY is not a valid proxy URL/],
      ['env', { https_proxy: 'socks5://user:hunter2-fake@proxy:1080' }, /value of https_proxy is a socks5 proxy; only http:\/\//],
      ['https://user:hunter2-fake@proxy:3128', {}, /the proxy option is a https proxy/],
      [42, {}, /'env'.*proxy URL.*false/],
    ];
    for (const [value, env, message] of refusals) {
      let error: unknown;
      try {
        resolve(value, env);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error).toMatchObject({ option: 'proxy', message: expect.stringMatching(message) });
      expectNoLeak(error, ['hunter2-fake']);
    }
  });

  it('is refused together with a dispatcher; NODE_USE_ENV_PROXY leaves a dispatcher alone', () => {
    const dispatcher = new Agent();
    open.push(dispatcher);
    expect(() => client({ tokenEndpoint: 'https://as.example.com/token', clientSecret: 'fake-secret', dispatcher, proxy: 'env' })).toThrow(/not both/);
    expect(resolveProxy(undefined, true, { NODE_USE_ENV_PROXY: '1', HTTPS_PROXY: 'http://proxy:3128' })).toBeUndefined();
  });
});

describe('https endpoints through a CONNECT tunnel', () => {
  let pki: TestPki;
  let as: AuthorizationServer;
  const API = 'https://api.local/';
  const mtls = () => ({ cert: pki.client.cert, key: pki.client.key, ca: pki.ca.cert });

  beforeAll(async () => {
    pki = makeTestPki();
    as = await startAuthorizationServer({
      tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert },
      clients: [{ client_id: 'mtls', token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: pki.clientSubject }],
      resources: [{ resource: API, scope: 'read:a' }],
    });
  });
  afterAll(() => as.close());
  const authority = () => new URL(as.issuer).host;
  const verify = async (accessToken: string) => {
    const agent = new Agent({ connect: { ca: pki.ca.cert } });
    try {
      const jwks = (await (await undiciRequest(as.jwksUri, { dispatcher: agent })).body.json()) as { keys: JWK[] };
      const { payload } = await jwtVerify(accessToken, createLocalJWKSet(jwks), { issuer: as.issuer, audience: API });
      expect(payload.client_id).toBe('mtls');
    } finally {
      await agent.close();
    }
  };

  it("proxy: 'env' tunnels discovery and the token request, with the client certificate end to end", async () => {
    const p = await proxy();
    environment({ HTTPS_PROXY: p.url, NO_PROXY: 'example.com' });
    const before = as.requests.length;
    const token = await client({ issuer: as.issuer, clientId: 'mtls', tls: mtls(), resource: API, proxy: 'env' }).getToken();
    // Keep-alive: one tunnel carries the metadata request and the token request.
    expect(p.tunnels).toEqual([authority()]);
    expect(as.requests.slice(before)).toEqual(['GET /.well-known/oauth-authorization-server', 'POST /mtls/token']);
    await verify(token.accessToken);
  });

  it('NODE_USE_ENV_PROXY=1 turns it on without the option, and proxy: false turns it off', async () => {
    const p = await proxy();
    environment({ https_proxy: p.url, NODE_USE_ENV_PROXY: '1' });
    await verify((await client({ issuer: as.issuer, clientId: 'mtls', tls: mtls(), resource: API }).getToken()).accessToken);
    expect(p.tunnels).toEqual([authority()]);
    await client({ issuer: as.issuer, clientId: 'mtls', tls: mtls(), resource: API, proxy: false }).getToken();
    expect(p.tunnels).toHaveLength(1);
  });

  it('NO_PROXY sends matching hosts directly', async () => {
    const p = await proxy();
    environment({ HTTPS_PROXY: p.url, NO_PROXY: 'internal.corp, 127.0.0.0/8' });
    await verify((await client({ issuer: as.issuer, clientId: 'mtls', tls: mtls(), resource: API, proxy: 'env' }).getToken()).accessToken);
    expect(p.tunnels).toEqual([]);
  });

  it('sends the credentials of the proxy URL; wrong ones fail at once with a 407 error that shows none of them', async () => {
    const p = await proxy({ auth: { user: 'svc', password: 'pr0xy p@ss-fake' } });
    const good = `http://svc:${encodeURIComponent('pr0xy p@ss-fake')}@127.0.0.1:${p.port}`;
    await verify((await client({ issuer: as.issuer, clientId: 'mtls', tls: mtls(), resource: API, proxy: good }).getToken()).accessToken);
    expect(p.credentials).toEqual(['svc:pr0xy p@ss-fake']);

    environment({ HTTPS_PROXY: `http://svc:wr0ng-fake-pw@127.0.0.1:${p.port}` });
    const error = await client({ issuer: as.issuer, clientId: 'mtls', tls: mtls(), proxy: 'env', retry: { retries: 3, baseDelay: 1 } })
      .getToken()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'M2M_NETWORK_ERROR', attempts: 1 });
    expect((error as Error).message).toBe(
      `Could not reach discovery document at ${new URL(as.issuer).origin} through proxy ${p.url} (ERR_PROXY_AUTHENTICATION_REQUIRED); the proxy answered 407: check the user and password in the proxy URL (proxy option, HTTPS_PROXY or HTTP_PROXY).`,
    );
    expectNoLeak(error, ['wr0ng-fake-pw', Buffer.from('svc:wr0ng-fake-pw').toString('base64')]);
  });

  it('a proxy that refuses the tunnel, or is not there, is a network error naming it', async () => {
    const p = await proxy({ refuseConnect: 403 });
    environment({ HTTPS_PROXY: p.url });
    const refused = await client({ issuer: as.issuer, clientId: 'mtls', tls: mtls(), proxy: 'env' }).getToken().catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'M2M_NETWORK_ERROR', cause: { code: 'ERR_PROXY_TUNNEL', statusCode: 403 } });
    expect((refused as Error).message).toMatch(/through proxy http:\/\/127\.0\.0\.1:\d+ \(ERR_PROXY_TUNNEL\); the proxy refused the tunnel with HTTP 403/);
    await p.close();
    const gone = await client({ issuer: as.issuer, clientId: 'mtls', tls: mtls(), proxy: 'env' }).getToken().catch((e: unknown) => e);
    expect(gone).toMatchObject({ code: 'M2M_NETWORK_ERROR', cause: { code: 'ECONNREFUSED' } });
    expect((gone as Error).message).toContain(`through proxy ${p.url} (ECONNREFUSED)`);
  });

  it('a proxy that never answers the CONNECT: the attempt times out, and close() ends the pending tunnel', async () => {
    const p = await proxy({ hangConnect: true });
    const c = client({ issuer: as.issuer, clientId: 'mtls', tls: mtls(), proxy: p.url, timeout: 100 });
    await expect(c.getToken()).rejects.toMatchObject({ code: 'M2M_TIMEOUT' });
    // The tunnel being opened has a deadline of its own (the timeout option), so it does not outlive the attempt.
    // (A tunnel left open would stay so: the proxy never answers. The poll's timeout is only slack for a busy machine.)
    await expect.poll(() => p.openConnections, { timeout: 5_000 }).toBe(0);
    const patient = client({ issuer: as.issuer, clientId: 'mtls', tls: mtls(), proxy: p.url, timeout: 60_000 });
    const pending = patient.getToken();
    await expect.poll(() => p.tunnels.length).toBe(2);
    await patient.close();
    await expect(pending).rejects.toMatchObject({ code: 'M2M_CLIENT_CLOSED' });
    await expect.poll(() => p.openConnections, { timeout: 5_000 }).toBe(0);
  });
});

describe('http endpoints through plain-HTTP proxying', () => {
  let server: TokenServer;
  beforeAll(async () => {
    server = await startTokenServer();
  });
  afterAll(() => server.close());

  it('HTTP_PROXY gets the absolute URL with Proxy-Authorization; the endpoint gets neither the credentials nor the proxy', async () => {
    const p = await proxy({ auth: { user: 'svc', password: 'pr0xy-fake' } });
    environment({ HTTP_PROXY: `http://svc:pr0xy-fake@127.0.0.1:${p.port}`, HTTPS_PROXY: 'http://unused.invalid:1' });
    const token = await client({ tokenEndpoint: server.url, clientSecret: 'fake-client-secret', proxy: 'env' }).getToken();
    expect(token.accessToken).toMatch(/^token-/);
    expect(p.forwarded).toEqual([`POST ${server.url}`]);
    expect(p.credentials).toEqual(['svc:pr0xy-fake']);
    const received = server.requests.at(-1)!;
    expect(received.headers.host).toBe(new URL(server.url).host);
    expect(received.headers['proxy-authorization']).toBeUndefined();
    expect(received.form.get('client_secret')).toBe('fake-client-secret');
  });

  it("a proxy's 407 is an HTTP status error that names the proxy credentials and shows none", async () => {
    const p = await proxy({ auth: { user: 'svc', password: 'right-fake' } });
    const error = await client({ tokenEndpoint: server.url, clientSecret: 'fake-client-secret', proxy: `http://svc:wr0ng-fake@127.0.0.1:${p.port}` })
      .getToken()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'M2M_HTTP_STATUS', status: 407 });
    expect((error as Error).message).toMatch(/a proxy between this client and the endpoint wants credentials/);
    expectNoLeak(error, ['wr0ng-fake', Buffer.from('svc:wr0ng-fake').toString('base64'), 'fake-client-secret']);
  });

  it('without the option or NODE_USE_ENV_PROXY, HTTP_PROXY is ignored (as before)', async () => {
    const p = await proxy();
    environment({ HTTP_PROXY: p.url });
    await client({ tokenEndpoint: server.url, clientSecret: 'fake-client-secret' }).getToken();
    expect(p.forwarded).toEqual([]);
  });
});
