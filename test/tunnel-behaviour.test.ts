// CONNECT tunnels (openTunnel in src/proxy.ts) against a scripted proxy on loopback that answers with raw bytes: the
// request the proxy gets (authority, Host, Proxy-Authorization, IPv6 brackets), which answers open a tunnel (any
// 2xx, and bytes that came with the answer are kept), which are refused (1xx, 3xx, 407) and that a refused or
// abandoned tunnel's connection is closed, the tunnel's own deadline, and the set of pending CONNECT requests.
import { STATUS_CODES, type ClientRequest } from 'node:http';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openTunnel, parseProxyUrl, type ProxyServer } from '../src/proxy.js';
import { trackTimers } from './helpers/timers.js';

interface ScriptedProxy {
  proxy: ProxyServer;
  /** The head of each CONNECT request received, as text. */
  heads: string[];
  /** Whether the proxy's side of each connection has been closed (by the client). */
  closed: boolean[];
  /** The proxy's side of each connection. */
  sockets: Socket[];
}

const open: { close(): void }[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const o of open.splice(0)) o.close();
});

/** A proxy that answers each CONNECT with `reply` (nothing when undefined), written in one piece. */
async function scriptedProxy(reply: string | undefined, url = (port: number) => `http://127.0.0.1:${port}`): Promise<ScriptedProxy> {
  const heads: string[] = [];
  const closed: boolean[] = [];
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    const index = sockets.push(socket) - 1;
    closed[index] = false;
    socket.on('close', () => (closed[index] = true));
    socket.on('error', () => {});
    let text = '';
    socket.on('data', (chunk) => {
      if (text.includes('\r\n\r\n')) {
        // Past the CONNECT head: the tunnel echoes.
        socket.write(chunk);
        return;
      }
      text += chunk.toString('latin1');
      if (!text.includes('\r\n\r\n')) return;
      heads.push(text);
      if (reply !== undefined) socket.write(reply);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  open.push({
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  });
  return { proxy: parseProxyUrl(url(port), 'proxy'), heads, closed, sockets };
}

/** The first bytes read from the socket, or '(nothing)' after a second. */
const firstData = (socket: Duplex) =>
  new Promise<string>((resolve) => {
    socket.once('data', (chunk: Buffer) => resolve(chunk.toString()));
    setTimeout(() => resolve('(nothing)'), 1_000);
  });


async function tunnel(p: ScriptedProxy, host = 'as.example', port = 443, timeout = 2_000, pending = new Set<ClientRequest>()) {
  const socket = await openTunnel(p.proxy, host, port, timeout, pending);
  open.push({ close: () => socket.destroy() });
  return socket;
}

describe('the CONNECT request', () => {
  it('names host:port as the target and the Host, with the credentials of the proxy URL', async () => {
    const p = await scriptedProxy('HTTP/1.1 200 Connection Established\r\n\r\n', (port) => `http://svc:pw-fake@127.0.0.1:${port}`);
    await tunnel(p, 'as.example', 8443);
    const [head] = p.heads;
    expect(head).toMatch(/^CONNECT as\.example:8443 HTTP\/1\.1\r\n/);
    expect(head).toMatch(/\r\nhost: as\.example:8443\r\n/i);
    expect(head).toMatch(new RegExp(`\r\nproxy-authorization: Basic ${Buffer.from('svc:pw-fake').toString('base64')}\r\n`, 'i'));
  });

  it('puts an IPv6 address in brackets; sends no Proxy-Authorization without credentials', async () => {
    const p = await scriptedProxy('HTTP/1.1 200 Connection Established\r\n\r\n');
    await tunnel(p, '::1', 8443);
    const [head] = p.heads;
    expect(head).toMatch(/^CONNECT \[::1\]:8443 HTTP\/1\.1\r\n/);
    expect(head).toMatch(/\r\nhost: \[::1\]:8443\r\n/i);
    expect(head).not.toMatch(/proxy-authorization/i);
  });
});

describe('the answer', () => {
  it('any 2xx opens the tunnel; bytes sent with the answer are read first', async () => {
    const p = await scriptedProxy('HTTP/1.1 200 Connection Established\r\n\r\nearly bytes');
    const socket = await tunnel(p);
    expect(await firstData(socket)).toBe('early bytes');
    const odd = await tunnel(await scriptedProxy('HTTP/1.1 299 Odd\r\n\r\n'));
    odd.write('ping');
    expect(await firstData(odd)).toBe('ping');
  });

  it.each([
    [100, 'ERR_PROXY_TUNNEL', 'HTTP/1.1 100 Continue\r\n\r\n'],
    [300, 'ERR_PROXY_TUNNEL', 'HTTP/1.1 300 Multiple Choices\r\nContent-Length: 0\r\n\r\n'],
    [403, 'ERR_PROXY_TUNNEL', 'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n'],
    [407, 'ERR_PROXY_AUTHENTICATION_REQUIRED', 'HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n'],
    [599, 'ERR_PROXY_TUNNEL', 'HTTP/1.1 599 Unheard Of\r\nContent-Length: 0\r\n\r\n'],
  ])('%i is refused with %s, and its connection closed', async (status, code, reply) => {
    const p = await scriptedProxy(reply);
    const pending = new Set<ClientRequest>();
    const refTimers = trackTimers();
    const error = (await openTunnel(p.proxy, 'as.example', 443, 2_000, pending).catch((e: unknown) => e)) as Error & { code: string; statusCode: number };
    expect(error).toMatchObject({ code, statusCode: status });
    // Node's name for the status, when it has one (599 has none).
    const reason = STATUS_CODES[status] === undefined ? '' : ` ${STATUS_CODES[status]}`;
    expect(error.message).toBe(`proxy ${p.proxy.origin} answered HTTP ${status}${reason} to CONNECT as.example:443`);
    expect(pending.size).toBe(0);
    // The tunnel's deadline timer is gone with it.
    expect(refTimers()).toBe(0);
    await expect.poll(() => p.closed[0], { timeout: 5_000 }).toBe(true);
  });
});

describe('deadlines and the pending set', () => {
  it('no answer within the timeout: ETIMEDOUT naming the proxy, the target and the time; the connection is closed', async () => {
    const p = await scriptedProxy(undefined);
    const pending = new Set<ClientRequest>();
    const started = performance.now();
    const opening = openTunnel(p.proxy, 'as.example', 443, 50, pending);
    expect(pending.size).toBe(1);
    const error = (await opening.catch((e: unknown) => e)) as Error & { code: string };
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    expect(error).toMatchObject({ code: 'ETIMEDOUT' });
    expect(error.message).toBe(`proxy ${p.proxy.origin} did not open a tunnel to as.example:443 within 50 ms`);
    expect(pending.size).toBe(0);
    await expect.poll(() => p.closed[0], { timeout: 5_000 }).toBe(true);
  });

  it('an open tunnel outlives the timeout, and has left the pending set', async () => {
    const p = await scriptedProxy('HTTP/1.1 200 Connection Established\r\n\r\n');
    const pending = new Set<ClientRequest>();
    const refTimers = trackTimers();
    const socket = await tunnel(p, 'as.example', 443, 30, pending);
    expect(pending.size).toBe(0);
    expect(refTimers()).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(socket.destroyed).toBe(false);
    socket.write('still there');
    expect(await firstData(socket)).toBe('still there');
    expect(p.closed[0]).toBe(false);
  });
});
