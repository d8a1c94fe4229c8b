import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the token server received it. */
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  /** The raw form body. */
  body: string;
  /** The form body, decoded. */
  form: URLSearchParams;
}

export type Responder = (request: ReceivedRequest, res: ServerResponse, index: number) => void | Promise<void>;

/** A real node:http token endpoint on 127.0.0.1 whose answers each test scripts. */
export interface TokenServer {
  url: string;
  origin: string;
  requests: ReceivedRequest[];
  /** Set how the next requests are answered (default: a valid token). */
  respond(responder: Responder): void;
  close(): Promise<void>;
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}

export const okToken =
  (accessToken = 'at-secret-token-value', expiresIn: unknown = 3600): Responder =>
  (_req, res) =>
    json(res, 200, { access_token: accessToken, token_type: 'Bearer', expires_in: expiresIn });

export async function startTokenServer(path = '/oauth/token'): Promise<TokenServer> {
  let responder: Responder = (_r, res, i) => json(res, 200, { access_token: `token-${i}`, token_type: 'Bearer', expires_in: 3600 });
  const requests: ReceivedRequest[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const received: ReceivedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body,
      form: new URLSearchParams(body),
    };
    requests.push(received);
    try {
      await responder(received, res, requests.length);
    } catch {
      res.destroy();
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}${path}`,
    origin,
    requests,
    respond(next) {
      responder = next;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
