// The default transport (node:http / node:https) as a server and a proxy see it: connections kept alive and reused,
// over http and over mutual TLS; a body refused by its Content-Length before it arrives; an IPv6 endpoint; plain-HTTP
// proxying without credentials; and proxy passwords cut out of every error, whichever variable gave them.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TokenClient, type TokenClientOptions } from '../src/index.js';
import { MAX_RESPONSE_BYTES } from '../src/transport.js';
import { makeTestPki, type TestPki } from './helpers/certs.js';
import { startForwardProxy, type ForwardProxy } from './helpers/forward-proxy.js';
import { expectNoLeak } from './helpers/leaks.js';

const PROXY_VARIABLES = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy', 'NODE_USE_ENV_PROXY'];
const saved = Object.fromEntries(PROXY_VARIABLES.map((name) => [name, process.env[name]]));
/** Sets the proxy variables for one test (the others unset); restored after each test. */
function environment(values: Record<string, string>): void {
  for (const name of PROXY_VARIABLES) delete process.env[name];
  Object.assign(process.env, values);
}

const open: { close(): Promise<void> | void }[] = [];
afterEach(async () => {
  for (const name of PROXY_VARIABLES) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
  await Promise.all(open.splice(0).map((c) => c.close()));
});

function client(options: Record<string, unknown>): TokenClient {
  const c = new TokenClient({ clientId: 'c', clientSecret: 'fake-client-secret', retry: false, ...options } as unknown as TokenClientOptions);
  open.push(c);
  return c;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const tokenReply: Handler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ access_token: 'at-1', token_type: 'Bearer', expires_in: 3600 }));
};

/** A server on `host`, counting the connections it accepted; closed after the test. */
async function serve(handler: Handler, host = '127.0.0.1', tls?: Parameters<typeof createHttpsServer>[0]) {
  const sockets = new Set<Socket>();
  const ports: number[] = [];
  const server = tls ? createHttpsServer(tls, handler) : createHttpServer(handler);
  server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    ports.push(socket.remotePort!);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  const stop = () => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  open.push({ close: stop });
  return { port, ports, server, open: () => sockets.size };
}

describe('keep-alive', () => {
  it('over http, one connection carries every request of a client, and close() ends it', async () => {
    const { port, ports, open: connections } = await serve(tokenReply);
    const c = client({ tokenEndpoint: `http://127.0.0.1:${port}/oauth/token` });
    for (let i = 0; i < 3; i++) await c.getToken({ forceRefresh: true });
    expect(ports).toHaveLength(1);
    expect(connections()).toBe(1);
    await c.close();
    await expect.poll(connections, { timeout: 5_000 }).toBe(0);
  });

  describe('over mutual TLS', () => {
    let pki: TestPki;
    beforeAll(() => {
      pki = makeTestPki();
    });

    it('presents the client certificate, and one TLS connection carries every request', async () => {
      const subjects: string[] = [];
      const handler: Handler = (req, res) => {
        subjects.push(String((req.socket as TLSSocket).getPeerCertificate().subject?.CN));
        tokenReply(req, res);
      };
      const { port, ports } = await serve(handler, '127.0.0.1', { cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert, requestCert: true, rejectUnauthorized: true });
      const c = client({ tokenEndpoint: `https://127.0.0.1:${port}/oauth/token`, tls: { cert: pki.client.cert, key: pki.client.key, ca: pki.ca.cert } });
      for (let i = 0; i < 3; i++) await c.getToken({ forceRefresh: true });
      expect(subjects).toEqual(['m2m-client', 'm2m-client', 'm2m-client']);
      expect(ports).toHaveLength(1);
    });
  });
});

describe('a body announced over 1 MiB', () => {
  const agent = new Agent();
  afterAll(() => agent.close());

  it.each([
    ['node:http', {}],
    ['an undici dispatcher', { dispatcher: agent }],
  ])('is refused through %s as soon as its Content-Length arrives, without waiting for the body', async (_name, options) => {
    const { port } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(MAX_RESPONSE_BYTES + 1) });
      // The headers go out now; the body never comes.
      res.flushHeaders();
    });
    const c = client({ tokenEndpoint: `http://127.0.0.1:${port}/oauth/token`, timeout: 10_000, ...options });
    const started = performance.now();
    await expect(c.getToken()).rejects.toMatchObject({ code: 'M2M_RESPONSE_TOO_LARGE', status: 200 });
    // Waiting for the body would last until the 10 s timeout; refusing on the header takes milliseconds.
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

describe('an attempt that times out through a dispatcher', () => {
  const agent = new Agent();
  afterAll(() => agent.close());

  it('is aborted in the dispatcher too: its connection is closed, not left waiting for the answer', async () => {
    const { port, open: connections } = await serve(() => {
      // Never answers.
    });
    const c = client({ tokenEndpoint: `http://127.0.0.1:${port}/oauth/token`, timeout: 50, dispatcher: agent });
    await expect(c.getToken()).rejects.toMatchObject({ code: 'M2M_TIMEOUT' });
    await expect.poll(connections, { timeout: 5_000 }).toBe(0);
  });
});

describe('discovery through a dispatcher', () => {
  const agent = new Agent();
  afterAll(() => agent.close());

  it('fetches the metadata at its well-known path, then the token', async () => {
    const seen: string[] = [];
    const { port } = await serve((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      if (req.url === '/.well-known/oauth-authorization-server/tenant') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ issuer: `http://127.0.0.1:${port}/tenant`, token_endpoint: `http://127.0.0.1:${port}/tenant/oauth/token` }));
      } else tokenReply(req, res);
    });
    const c = client({ issuer: `http://127.0.0.1:${port}/tenant`, dispatcher: agent });
    expect((await c.getToken()).accessToken).toBe('at-1');
    expect(seen).toEqual(['GET /.well-known/oauth-authorization-server/tenant', 'POST /tenant/oauth/token']);
  });
});

describe('an IPv6 endpoint', () => {
  it('is reached at its bare address ([::1] in the URL)', async () => {
    const { port } = await serve(tokenReply, '::1');
    expect((await client({ tokenEndpoint: `http://[::1]:${port}/oauth/token` }).getToken()).accessToken).toBe('at-1');
  });
});

describe('proxies', () => {
  async function proxy(options: Parameters<typeof startForwardProxy>[0] = {}): Promise<ForwardProxy> {
    const p = await startForwardProxy(options);
    open.push(p);
    return p;
  }

  it('a proxy without credentials gets the absolute URL and no Proxy-Authorization', async () => {
    const { port } = await serve(tokenReply);
    const p = await proxy();
    const url = `http://127.0.0.1:${port}/oauth/token`;
    expect((await client({ tokenEndpoint: url, proxy: p.url }).getToken()).accessToken).toBe('at-1');
    expect(p.forwarded).toEqual([`POST ${url}`]);
    expect(p.credentials).toEqual([undefined]);
  });

  it('HTTPS_PROXY alone: its password is cut out of the error, even where the proxy quotes it', async () => {
    // The password is a word of the refusal the proxy causes ("answered HTTP 403 Forbidden").
    const p = await proxy({ refuseConnect: 403 });
    environment({ HTTPS_PROXY: `http://svc:Forbidden@127.0.0.1:${p.port}` });
    const error = (await client({ tokenEndpoint: 'https://as.example/oauth/token', proxy: 'env' }).getToken().catch((e: unknown) => e)) as Error;
    expect(error).toMatchObject({ code: 'M2M_NETWORK_ERROR', cause: { code: 'ERR_PROXY_TUNNEL', statusCode: 403 } });
    expect((error.cause as Error).message).toBe(`proxy ${p.url} answered HTTP 403 [REDACTED] to CONNECT as.example:443`);
    expectNoLeak(error, ['Forbidden']);
  });

  it('HTTP_PROXY alone: a proxy that is not there is a network error naming it', async () => {
    const p = await proxy();
    await p.close();
    environment({ HTTP_PROXY: `http://svc:pw-fake@127.0.0.1:${p.port}` });
    const error = (await client({ tokenEndpoint: 'http://127.0.0.1:9/oauth/token', proxy: 'env' }).getToken().catch((e: unknown) => e)) as Error;
    expect(error).toMatchObject({ code: 'M2M_NETWORK_ERROR', cause: { code: 'ECONNREFUSED' } });
    expect(error.message).toContain(`through proxy ${p.url} (ECONNREFUSED)`);
  });

  it('a client secret quoted by a proxy error is cut out too', async () => {
    const p = await proxy({ refuseConnect: 403 });
    const error = (await client({ tokenEndpoint: 'https://as.example/oauth/token', clientSecret: 'Forbidden', proxy: p.url }).getToken().catch((e: unknown) => e)) as Error;
    expect(error).toMatchObject({ code: 'M2M_NETWORK_ERROR' });
    expectNoLeak(error, ['Forbidden']);
  });
});
