// The local token server of `npm run bench:peers`, forked by run.ts so that its CPU is not the client's.
// It answers every POST whose path ends in /token with a small JSON token, serves OpenID / RFC 8414 metadata for
// the peers that discover, and counts requests and TCP connections; the parent reads and resets the counts
// through IPC. Loopback only.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const send = (message: unknown) => process.send!(message);

let tokens = 0;
let requests = 0;
let connections = 0;

const server = createServer((req, res) => {
  requests += 1;
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const path = (req.url ?? '/').split('?')[0]!;
    let status = 200;
    let body: string;
    if (req.method === 'POST' && path.endsWith('/token')) {
      tokens += 1;
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const scope = form.get('scope');
      body = JSON.stringify({
        access_token: `bench-token-${tokens}`,
        token_type: 'Bearer',
        expires_in: 86_400,
        ...(scope ? { scope } : {}),
      });
    } else if (req.method === 'GET' && path.endsWith('/.well-known/openid-configuration')) {
      // The issuer is the URL the metadata was asked under, minus the well-known suffix.
      const issuer = `http://${req.headers.host}${path.slice(0, -'/.well-known/openid-configuration'.length)}`;
      body = JSON.stringify({
        issuer,
        token_endpoint: `${issuer}/oauth/token`,
        authorization_endpoint: `${issuer}/authorize`,
        jwks_uri: `${issuer}/.well-known/jwks.json`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        grant_types_supported: ['client_credentials'],
        token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
      });
    } else {
      status = 404;
      body = JSON.stringify({ error: 'not_found' });
    }
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.on('connection', () => {
  connections += 1;
});
// Idle keep-alive connections survive the pauses between interleaved rounds.
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;

process.on('message', (message: { type: string }) => {
  if (message.type === 'counts') send({ type: 'counts', tokens, requests, connections });
  else if (message.type === 'close') process.exit(0);
});
// The parent died: do not linger.
process.on('disconnect', () => process.exit(0));

server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
  send({ type: 'listening', port: (server.address() as AddressInfo).port });
});
