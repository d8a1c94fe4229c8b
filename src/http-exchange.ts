import type { Agent as HttpAgent, ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import type { ConnectionOptions } from 'node:tls';
import type { Exchange, RawResponse } from './exchange.js';
import { openTunnel, proxyFor, type ProxyServer, type ProxySettings } from './proxy.js';
import type { TlsCredentials } from './options.js';
import type { HttpRequest } from './transport.js';

/**
 * The client decides the route itself (see proxy.ts): its Agents must not also follow Node 24's environment proxy,
 * which a falsy `proxyEnv` turns off for an Agent (an Agent without the option may follow `NODE_USE_ENV_PROXY` in
 * later Node versions). Node 22.19 ignores the option.
 */
const OWN_ROUTE = { proxyEnv: null } as unknown as object;

/**
 * Node's own HTTP client, the default transport: `node:http` is part of every Node process, so the first token in
 * a fresh process does not pay for loading an HTTP library (undici costs about 80 ms there). Keep-alive Agents, one
 * per scheme, created on first use; `node:https` (and with it node:tls) only for an https: endpoint. With a proxy
 * (see proxy.ts), https: requests go through a third Agent whose connections are CONNECT tunnels.
 */
export class HttpAgents {
  #http: HttpAgent | undefined;
  #https: HttpsAgent | undefined;
  #tunnel: HttpsAgent | undefined;
  readonly #tls: TlsCredentials | undefined;
  readonly #proxy: ProxySettings | undefined;
  readonly #connectTimeout: number;
  /** CONNECT requests still opening a tunnel: destroy() ends them too. */
  readonly #tunnels = new Set<ClientRequest>();

  constructor(tls: TlsCredentials | undefined, proxy?: ProxySettings, connectTimeout = 10_000) {
    this.#tls = tls;
    this.#proxy = proxy;
    this.#connectTimeout = connectTimeout;
  }

  /** The proxy a request to this URL goes through, or undefined when it goes directly. */
  proxyFor(url: URL): ProxyServer | undefined {
    return this.#proxy && proxyFor(this.#proxy, url);
  }

  /** Proxy passwords and credentials, to scrub from errors. */
  get secrets(): readonly string[] {
    const { http, https } = this.#proxy ?? {};
    return [http, https].filter((server) => server !== undefined).flatMap((server) => server.secrets);
  }

  agentFor(secure: boolean, proxy?: ProxyServer): HttpAgent | HttpsAgent {
    if (secure) {
      if (proxy) return (this.#tunnel ??= this.#tunnelAgent(proxy));
      // The client certificate (RFC 8705 mTLS) goes to the https Agent, so each pooled connection presents it.
      return (this.#https ??= new (process.getBuiltinModule('node:https').Agent)({ ...OWN_ROUTE, keepAlive: true, ...this.#tls }));
    }
    return (this.#http ??= new (process.getBuiltinModule('node:http').Agent)({ ...OWN_ROUTE, keepAlive: true }));
  }

  /** A keep-alive https Agent whose connections are TLS over a CONNECT tunnel through the proxy, end to end. */
  #tunnelAgent(proxy: ProxyServer): HttpsAgent {
    const agent = new (process.getBuiltinModule('node:https').Agent)({ ...OWN_ROUTE, keepAlive: true, ...this.#tls });
    // Asynchronous createConnection: documented for custom Agents (the socket goes to the callback).
    // The Agent always passes the callback, and options with the host (its own default, 'localhost', included).
    agent.createConnection = (options, callback) => {
      const { host, port } = options as { host: string; port?: number | string };
      openTunnel(proxy, host, Number(port ?? 443), this.#connectTimeout, this.#tunnels).then(
        (socket) => callback!(null, process.getBuiltinModule('node:tls').connect({ ...(options as ConnectionOptions), socket })),
        (error: Error) => callback!(error, undefined as never),
      );
      return undefined;
    };
    return agent;
  }

  /** Closes every pooled connection, idle or not, and every tunnel being opened. */
  destroy(): void {
    this.#http?.destroy();
    this.#https?.destroy();
    this.#tunnel?.destroy();
    for (const tunnel of this.#tunnels) tunnel.destroy();
  }
}

/**
 * Sends one request with `node:http`/`node:https` and reads the body into memory, refusing more than `maxBytes`
 * (by Content-Length at once, else as the body arrives). No redirect is followed. Abortable at any point.
 */
export function httpExchange(agents: HttpAgents, request: HttpRequest, maxBytes: number, tooLarge: (status: number) => Error): Exchange {
  let req!: ClientRequest;
  let fail!: (error: Error) => void;
  const response = new Promise<RawResponse>((resolve, reject) => {
    // Failing twice changes nothing (a promise settles once, destroy() is idempotent), and nothing fails an exchange
    // whose response has ended: its deadline is dropped then, and a complete response does not close early.
    fail = (error) => {
      reject(error);
      req.destroy();
    };
    const { url } = request;
    const secure = url.protocol === 'https:';
    const body = request.body;
    const path = request.path ?? url.pathname + url.search;
    // A body comes with its content-length header (token-request.ts sets it once per built request).
    const { headers } = request;
    const proxy = agents.proxyFor(url);
    const options: RequestOptions =
      proxy && !secure
        ? {
            // Plain HTTP through a proxy: the absolute URL goes to the proxy (RFC 9112 §3.2.2), which forwards it.
            hostname: proxy.host,
            port: proxy.port,
            path: `${url.protocol}//${url.host}${path}`,
            method: request.method,
            headers: { ...headers, host: url.host, ...(proxy.authorization === undefined ? {} : { 'proxy-authorization': proxy.authorization }) },
            agent: agents.agentFor(false),
          }
        : {
            // URL keeps the brackets of an IPv6 literal; the socket layer wants the bare address.
            hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
            port: url.port || (secure ? 443 : 80),
            path,
            method: request.method,
            headers,
            agent: agents.agentFor(secure, proxy),
          };
    const onResponse = (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      const chunks: Buffer[] = [];
      let size = 0;
      if (Number(res.headers['content-length']) > maxBytes) return fail(tooLarge(status));
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) fail(tooLarge(status));
        else chunks.push(chunk);
      });
      res.on('end', () => {
        resolve({ status, headers: res.headers, body: Buffer.concat(chunks, size).toString('utf8') });
      });
      res.on('error', fail);
      // The connection closed before the body ended: no 'end', and on some paths no 'error' either.
      res.on('close', () => {
        if (!res.complete) fail(Object.assign(new Error('the connection closed before the response ended'), { code: 'ECONNRESET' }));
      });
    };
    // Should request() throw (it validates the headers), the promise is rejected with that error: this runs inside
    // its executor.
    req = (secure ? process.getBuiltinModule('node:https') : process.getBuiltinModule('node:http')).request(options, onResponse);
    req.on('error', fail);
    req.end(body);
  });
  return {
    response,
    abort(reason) {
      fail(reason);
    },
  };
}
