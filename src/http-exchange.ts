import type { Agent as HttpAgent, ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import type { Exchange, RawResponse } from './exchange.js';
import type { TlsCredentials } from './options.js';
import type { HttpRequest } from './transport.js';

/**
 * Node's own HTTP client, the default transport: `node:http` is part of every Node process, so the first token in
 * a fresh process does not pay for loading an HTTP library (undici costs about 80 ms there). Keep-alive Agents, one
 * per scheme, created on first use; `node:https` (and with it node:tls) only for an https: endpoint.
 */
export class HttpAgents {
  #http: HttpAgent | undefined;
  #https: HttpsAgent | undefined;
  readonly #tls: TlsCredentials | undefined;

  constructor(tls: TlsCredentials | undefined) {
    this.#tls = tls;
  }

  agentFor(protocol: string): HttpAgent | HttpsAgent {
    if (protocol === 'https:') {
      // The client certificate (RFC 8705 mTLS) goes to the https Agent, so each pooled connection presents it.
      return (this.#https ??= new (process.getBuiltinModule('node:https').Agent)({ keepAlive: true, ...this.#tls }));
    }
    return (this.#http ??= new (process.getBuiltinModule('node:http').Agent)({ keepAlive: true }));
  }

  /** Closes every pooled connection, idle or not. */
  destroy(): void {
    this.#http?.destroy();
    this.#https?.destroy();
  }
}

/**
 * Sends one request with `node:http`/`node:https` and reads the body into memory, refusing more than `maxBytes`
 * (by Content-Length at once, else as the body arrives). No redirect is followed. Abortable at any point.
 */
export function httpExchange(agents: HttpAgents, request: HttpRequest, maxBytes: number, tooLarge: (status: number) => Error): Exchange {
  let req: ClientRequest | undefined;
  let settled = false;
  let fail!: (error: Error) => void;
  const response = new Promise<RawResponse>((resolve, reject) => {
    fail = (error) => {
      if (settled) return;
      settled = true;
      reject(error);
      req?.destroy();
    };
    const { url } = request;
    const secure = url.protocol === 'https:';
    const body = request.body;
    const options: RequestOptions = {
      // URL keeps the brackets of an IPv6 literal; the socket layer wants the bare address.
      hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
      port: url.port || (secure ? 443 : 80),
      path: request.path ?? url.pathname + url.search,
      method: request.method,
      headers: body === undefined ? request.headers : { ...request.headers, 'content-length': String(Buffer.byteLength(body)) },
      agent: agents.agentFor(url.protocol),
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
        if (settled) return;
        settled = true;
        resolve({ status, headers: res.headers, body: Buffer.concat(chunks, size).toString('utf8') });
      });
      res.on('error', fail);
      // The connection closed before the body ended: no 'end', and on some paths no 'error' either.
      res.on('close', () => {
        if (!res.complete) fail(Object.assign(new Error('the connection closed before the response ended'), { code: 'ECONNRESET' }));
      });
    };
    try {
      const client = secure ? process.getBuiltinModule('node:https') : process.getBuiltinModule('node:http');
      req = client.request(options, onResponse);
      req.on('error', fail);
      req.end(body);
    } catch (error) {
      // Invalid header values (a CR/LF in User-Agent) throw synchronously.
      fail(error as Error);
    }
  });
  return {
    response,
    abort(reason) {
      fail(reason);
    },
  };
}
