// The world the adapter tests run in: oidc-provider issuing JWT access tokens for two APIs, those two
// protected APIs (jose verifies each token: signature, issuer, audience, expiry), an API that no token fits,
// and a plain node:http server that records what it was sent, Authorization included.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startAuthorizationServer, type AuthorizationServer } from '../../demo/authorization-server.js';
import { startProtectedApi, type ProtectedApi } from '../../demo/protected-api.js';
import { TokenClient } from '../../src/index.js';
import type { ClientOverrides } from './client.js';

export const BILLING = 'https://billing.api.test/';
export const REPORTS = 'https://reports.api.test/';
export const CLIENT_ID = 'adapter-tests';
export const SECRET = 'fake-adapter-secret-value';

export interface RecordedRequest {
  method: string;
  path: string;
  /** The Authorization header as received, or undefined. Tests send only fake values to this server. */
  authorization: string | undefined;
  body: string;
}

export interface ScriptedReply {
  status: number;
  headers?: Record<string, string>;
}

export interface PlainServer {
  url: string;
  requests: RecordedRequest[];
  /** The next requests get these replies, in order; after them, 200 with a JSON body. */
  reply(...replies: ScriptedReply[]): void;
  close(): Promise<void>;
}

export async function startPlainServer(): Promise<PlainServer> {
  const requests: RecordedRequest[] = [];
  const queue: ScriptedReply[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization, body: Buffer.concat(chunks).toString() });
      const next = queue.shift() ?? { status: 200 };
      res.writeHead(next.status, { 'content-type': 'application/json', ...next.headers });
      res.end(JSON.stringify({ status: next.status }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    reply: (...replies) => void queue.push(...replies),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A server that takes requests and never answers them: for timeouts and aborts while the request is out. */
export interface HangingServer {
  url: string;
  /** How many requests arrived (their headers, at least). */
  readonly received: number;
  close(): Promise<void>;
}

export async function startHangingServer(): Promise<HangingServer> {
  let received = 0;
  const server: Server = createServer((req) => {
    received++;
    req.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get received() {
      return received;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface AdapterFixture {
  as: AuthorizationServer;
  /** Accepts tokens for {@link BILLING}. */
  billing: ProtectedApi;
  /** Accepts tokens for {@link REPORTS}, which carry the `reports:read` scope here. */
  reports: ProtectedApi;
  /** Accepts no token the server issues (its audience is unknown): every call is 401 invalid_token. */
  nobody: ProtectedApi;
  plain: PlainServer;
  /** A new TokenClient with a cold cache, closed with the fixture. */
  client(options?: ClientOverrides): TokenClient;
  /** Targets for billing, reports and nobody (which asks for a billing token). */
  targets(): Record<string, { resource: string; scope?: string[] }>;
  close(): Promise<void>;
}

export async function startAdapterFixture(): Promise<AdapterFixture> {
  const as = await startAuthorizationServer({
    clients: [{ client_id: CLIENT_ID, client_secret: SECRET, token_endpoint_auth_method: 'client_secret_basic' }],
    resources: [{ resource: BILLING, scope: 'billing:read' }, { resource: REPORTS, scope: 'reports:read' }],
  });
  const api = (audience: string) => startProtectedApi({ issuer: as.issuer, jwksUri: as.jwksUri, audience });
  const [billing, reports, nobody, plain] = await Promise.all([api(BILLING), api(REPORTS), api('https://nobody.api.test/'), startPlainServer()]);
  const clients: TokenClient[] = [];
  return {
    as,
    billing,
    reports,
    nobody,
    plain,
    client(options = {}) {
      const client = new TokenClient({ tokenEndpoint: as.tokenEndpoint, clientId: CLIENT_ID, clientSecret: SECRET, retry: false, ...options });
      clients.push(client);
      return client;
    },
    targets: () => ({
      [billing.url]: { resource: BILLING },
      [reports.url]: { resource: REPORTS, scope: ['reports:read'] },
      [nobody.url]: { resource: BILLING },
    }),
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await Promise.all([billing.close(), reports.close(), nobody.close(), plain.close()]);
      await as.close();
    },
  };
}
