import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

/** A real forward proxy on 127.0.0.1: CONNECT tunnels for https endpoints, absolute-form forwarding for http ones. */
export interface ForwardProxy {
  /** `http://127.0.0.1:{port}`, without credentials. */
  url: string;
  port: number;
  /** `host:port` of every CONNECT, accepted or not. */
  tunnels: string[];
  /** `METHOD absolute-URL` of every forwarded plain-HTTP request. */
  forwarded: string[];
  /** The decoded `user:password` of each Proxy-Authorization received (undefined when there was none). */
  credentials: (string | undefined)[];
  /** Connections the proxy accepted from clients that are still open. */
  readonly openConnections: number;
  close(): Promise<void>;
}

export interface ForwardProxyOptions {
  /** Ask for these credentials (407 otherwise). */
  auth?: { user: string; password: string };
  /** Answer every CONNECT with this status instead of opening the tunnel. */
  refuseConnect?: number;
  /** Never answer a CONNECT. */
  hangConnect?: boolean;
}

export async function startForwardProxy(options: ForwardProxyOptions = {}): Promise<ForwardProxy> {
  const tunnels: string[] = [];
  const forwarded: string[] = [];
  const credentials: (string | undefined)[] = [];
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  };
  const authorized = (req: IncomingMessage) => {
    const header = req.headers['proxy-authorization'];
    const decoded = header?.startsWith('Basic ') ? Buffer.from(header.slice(6), 'base64').toString('utf8') : undefined;
    credentials.push(decoded);
    return options.auth === undefined || decoded === `${options.auth.user}:${options.auth.password}`;
  };

  const server: Server = createServer((req, res) => {
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('absolute-form request target expected');
      return;
    }
    forwarded.push(`${req.method} ${target.href}`);
    if (!authorized(req)) {
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="test proxy"', 'content-type': 'text/plain' }).end('proxy authentication required');
      return;
    }
    const { 'proxy-authorization': _auth, 'proxy-connection': _pc, ...headers } = req.headers;
    const upstream = httpRequest(
      { host: target.hostname.replace(/^\[|\]$/g, ''), port: target.port || 80, method: req.method, path: target.pathname + target.search, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  server.on('connection', track);
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    const authority = req.url ?? '';
    tunnels.push(authority);
    client.on('error', () => client.destroy());
    if (options.hangConnect) {
      // Read (and drop) what comes, and close when the client does (http.Server sockets allow half-open).
      client.resume();
      client.on('end', () => client.end());
      return;
    }
    if (!authorized(req)) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test proxy"\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (options.refuseConnect !== undefined) {
      client.end(`HTTP/1.1 ${options.refuseConnect} Refused\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(authority);
    if (!match) {
      client.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const upstream = connect(Number(match[2]), match[1]!, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    track(upstream);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    tunnels,
    forwarded,
    credentials,
    get openConnections() {
      return [...sockets].filter((s) => s.localPort === port && !s.destroyed).length;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
