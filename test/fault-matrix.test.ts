import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ErrorCode } from 'm2m-token';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeTestPki, type TestPki } from './helpers/certs.js';
import type { FaultConfig, FaultReport } from './helpers/fault-client.js';

// Each scenario: a real loopback server here (counting what reaches it), and the client in a child process with
// 100 concurrent callers. The child must end on its own (no process.exit): a timer, socket or listener the client
// left behind would keep it alive. Every caller must settle with a token or a typed error, within its deadline.

const CHILD = fileURLToPath(new URL('./helpers/fault-client.ts', import.meta.url));
const CALLERS = 100;
/** Scheduling slack on a loaded 2-core machine, on top of each deadline. */
const SLACK = 1_000;
/** A child must be gone this long after it reported (it has nothing left to do). */
const EXIT_WITHIN = 3_000;
const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const RETRY = { retries: 2, baseDelay: 1, maxDelay: 5 };

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
});

// ---------------------------------------------------------------- servers

interface CountingServer {
  url: string;
  /** Requests whose head arrived, and their arrival times (performance.now()). */
  requests: number[];
  /** TCP connections accepted. */
  connections: number;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, n: number, later: (fn: () => void, ms: number) => void) => void;

const open: CountingServer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function serve(handler: Handler, tls?: { cert: string; key: string }): Promise<CountingServer> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const later = (fn: () => void, ms: number) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };
  const state = { requests: [] as number[], connections: 0 };
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    state.requests.push(performance.now());
    req.resume();
    req.on('end', () => handler(req, res, state.requests.length, later));
  };
  const server: Server = tls ? createHttpsServer(tls, onRequest) : createServer(onRequest);
  server.on(tls ? 'secureConnection' : 'connection', () => {});
  server.on('connection', (socket: Socket) => {
    state.connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const s: CountingServer = {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}/oauth/token`,
    requests: state.requests,
    get connections() {
      return state.connections;
    },
    close() {
      for (const t of timers) clearTimeout(t);
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  open.push(s);
  return s;
}

const token = (res: ServerResponse, n = 1) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ access_token: `at-${n}`, token_type: 'Bearer', expires_in: 3600 }));
};

// ---------------------------------------------------------------- the child

interface Run {
  report: FaultReport;
  exitCode: number | null;
  /** ms from the report line to the child's exit. */
  exitAfterReport: number;
  stderr: string;
}

/**
 * Runs the client process. `closeWhen` (with `closeAfter: 'signal'`): once it resolves, the child is told on its
 * stdin to call close(), so the close comes at a stage the server has seen, however slow the machine.
 */
function runClient(config: FaultConfig, bound: number, closeWhen?: Promise<void>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] });
    // A child that already ended has closed its stdin: a late write fails, and the checks below say why.
    child.stdin.on('error', () => {});
    if (closeWhen) void closeWhen.then(() => child.stdin.write('close\n'));
    else child.stdin.end();
    let stdout = '';
    let stderr = '';
    let reportedAt: number | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (reportedAt === undefined && stdout.includes('\n')) reportedAt = performance.now();
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const kill = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the client process did not end within ${bound} ms (reported: ${reportedAt !== undefined}); stdout: ${stdout.slice(0, 2000)}; stderr: ${stderr.slice(0, 2000)}`));
    }, bound);
    child.on('exit', (exitCode) => {
      clearTimeout(kill);
      const line = stdout.split('\n')[0] ?? '';
      let report: FaultReport;
      try {
        report = JSON.parse(line) as FaultReport;
      } catch {
        reject(new Error(`no report from the client process (exit ${exitCode}); stdout: ${stdout.slice(0, 2000)}; stderr: ${stderr.slice(0, 2000)}`));
        return;
      }
      resolve({ report, exitCode, exitAfterReport: performance.now() - (reportedAt ?? performance.now()), stderr });
    });
  });
}

/** Common checks: the process ended by itself, promptly; nothing unhandled; no leak; every caller within its deadline. */
function expectClean(run: Run, deadline: number): FaultReport {
  const { report } = run;
  expect((report as { crashed?: string }).crashed).toBeUndefined();
  expect(run.exitCode, run.stderr).toBe(0);
  expect(run.exitAfterReport, `still running after the report; active resources: ${report.resources.join(', ')}`).toBeLessThan(EXIT_WITHIN);
  expect(report.unhandled).toEqual([]);
  expect(report.leaks).toEqual([]);
  expect(report.outcomes).toHaveLength(CALLERS);
  for (const o of report.outcomes) {
    expect(o.ok || o.isClientError, JSON.stringify(o)).toBe(true);
    expect(o.ms, JSON.stringify(o)).toBeLessThan(deadline + SLACK);
  }
  return report;
}

const codes = (report: FaultReport) => [...new Set(report.outcomes.map((o) => o.code ?? 'token'))];
const attempts = (report: FaultReport) => [...new Set(report.outcomes.map((o) => o.attempts))];

// ---------------------------------------------------------------- the matrix

let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki();
});

describe(`fault matrix (${CALLERS} concurrent callers each, client in a child process)`, () => {
  it('reset before the response headers: one request per attempt, M2M_NETWORK_ERROR after 3', async () => {
    const server = await serve((req) => req.socket.destroy());
    const report = expectClean(await runClient({ tokenEndpoint: server.url, callers: CALLERS, retry: RETRY, totalTimeout: 5_000 }, 15_000), 5_000);
    expect(codes(report)).toEqual([ErrorCode.NETWORK_ERROR]);
    expect(attempts(report)).toEqual([3]);
    expect(server.requests).toHaveLength(3);
  });

  it('reset in the middle of the body: one request per attempt, M2M_NETWORK_ERROR after 3', async () => {
    const server = await serve((_req, res, _n, later) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '200' });
      res.write('{"access_token":"at-');
      later(() => res.socket?.destroy(), 10);
    });
    const report = expectClean(await runClient({ tokenEndpoint: server.url, callers: CALLERS, retry: RETRY, totalTimeout: 5_000 }, 15_000), 5_000);
    expect(codes(report)).toEqual([ErrorCode.NETWORK_ERROR]);
    expect(attempts(report)).toEqual([3]);
    expect(server.requests).toHaveLength(3);
  });

  it('a server that never answers: each attempt ends at timeout, M2M_TIMEOUT after 3', async () => {
    const server = await serve(() => {});
    const report = expectClean(await runClient({ tokenEndpoint: server.url, callers: CALLERS, retry: RETRY, timeout: 80, totalTimeout: 5_000 }, 15_000), 5_000);
    expect(codes(report)).toEqual([ErrorCode.TIMEOUT]);
    expect(attempts(report)).toEqual([3]);
    expect(server.requests).toHaveLength(3);
  });

  it('a server that never answers, under totalTimeout: one attempt cut at 200 ms, not retried', async () => {
    const server = await serve(() => {});
    const report = expectClean(await runClient({ tokenEndpoint: server.url, callers: CALLERS, retry: RETRY, timeout: 10_000, totalTimeout: 200 }, 15_000), 200);
    expect(codes(report)).toEqual([ErrorCode.TIMEOUT]);
    expect(attempts(report)).toEqual([1]);
    expect(server.requests).toHaveLength(1);
  });

  it('a slow body (a byte every 20 ms, slowloris): timeout covers the body; M2M_TIMEOUT after 2', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '5000' });
      const drip = setInterval(() => res.write(' '), 20);
      res.on('close', () => clearInterval(drip));
    });
    const report = expectClean(await runClient({ tokenEndpoint: server.url, callers: CALLERS, retry: { ...RETRY, retries: 1 }, timeout: 150, totalTimeout: 5_000 }, 15_000), 5_000);
    expect(codes(report)).toEqual([ErrorCode.TIMEOUT]);
    expect(attempts(report)).toEqual([2]);
    expect(server.requests).toHaveLength(2);
  });

  it('a slow body under totalTimeout: cut at 250 ms, not retried', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '5000' });
      const drip = setInterval(() => res.write(' '), 20);
      res.on('close', () => clearInterval(drip));
    });
    const report = expectClean(await runClient({ tokenEndpoint: server.url, callers: CALLERS, retry: RETRY, timeout: 10_000, totalTimeout: 250 }, 15_000), 250);
    expect(codes(report)).toEqual([ErrorCode.TIMEOUT]);
    expect(attempts(report)).toEqual([1]);
    expect(server.requests).toHaveLength(1);
  });

  it('a 5xx storm: every attempt 503, M2M_HTTP_STATUS after retries + 1 requests', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(503, { 'content-type': 'text/html' });
      res.end('<h1>503</h1>');
    });
    const report = expectClean(await runClient({ tokenEndpoint: server.url, callers: CALLERS, retry: { ...RETRY, retries: 3 }, totalTimeout: 5_000 }, 15_000), 5_000);
    expect(codes(report)).toEqual([ErrorCode.HTTP_STATUS]);
    expect(attempts(report)).toEqual([4]);
    expect(server.requests).toHaveLength(4);
  });

  it('503, 503, then a token: every caller gets it, from 3 requests', async () => {
    const server = await serve((_req, res, n) => {
      if (n < 3) {
        res.writeHead(503);
        res.end();
      } else token(res, n);
    });
    const report = expectClean(await runClient({ tokenEndpoint: server.url, callers: CALLERS, retry: RETRY, totalTimeout: 5_000 }, 15_000), 5_000);
    expect(codes(report)).toEqual(['token']);
    expect(server.requests).toHaveLength(3);
  });

  it('429 with Retry-After in seconds (0): retried, then a token from 2 requests', async () => {
    const server = await serve((_req, res, n) => {
      if (n === 1) {
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '0' });
        res.end(JSON.stringify({ error: 'too_many_requests' }));
      } else token(res, n);
    });
    const report = expectClean(await runClient({ tokenEndpoint: server.url, callers: CALLERS, retry: RETRY, totalTimeout: 5_000 }, 15_000), 5_000);
    expect(codes(report)).toEqual(['token']);
    expect(server.requests).toHaveLength(2);
  });

  it('429 with Retry-After longer than maxRetryAfter (120 s): fails at once with retryAfter, one request', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '120' });
      res.end(JSON.stringify({ error: 'too_many_requests' }));
    });
    const report = expectClean(await runClient({ tokenEndpoint: server.url, callers: CALLERS, retry: RETRY, totalTimeout: 5_000 }, 15_000), 5_000);
    expect(codes(report)).toEqual([ErrorCode.OAUTH_ERROR]);
    expect(attempts(report)).toEqual([1]);
    expect([...new Set(report.outcomes.map((o) => o.retryAfter))]).toEqual([120_000]);
    expect(server.requests).toHaveLength(1);
  });

  it('429 with Retry-After as an HTTP-date 300 ms ahead: the retry waits for it', async () => {
    const server = await serve((_req, res, n) => {
      if (n === 1) {
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': new Date(T0).toUTCString() });
        res.end(JSON.stringify({ error: 'too_many_requests' }));
      } else token(res, n);
    });
    const report = expectClean(await runClient({ tokenEndpoint: server.url, callers: CALLERS, retry: RETRY, totalTimeout: 5_000, clockAt: T0 - 300 }, 15_000), 5_000);
    expect(codes(report)).toEqual(['token']);
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]! - server.requests[0]!).toBeGreaterThanOrEqual(290);
  });

  it('429 with x-ratelimit-reset (epoch seconds) 300 ms ahead: the retry waits for it', async () => {
    const server = await serve((_req, res, n) => {
      if (n === 1) {
        res.writeHead(429, { 'content-type': 'application/json', 'x-ratelimit-reset': String(T0 / 1000) });
        res.end(JSON.stringify({ error: 'too_many_requests' }));
      } else token(res, n);
    });
    const report = expectClean(await runClient({ tokenEndpoint: server.url, callers: CALLERS, retry: RETRY, totalTimeout: 5_000, clockAt: T0 - 300 }, 15_000), 5_000);
    expect(codes(report)).toEqual(['token']);
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]! - server.requests[0]!).toBeGreaterThanOrEqual(290);
  });

  it('a host name that never resolves (.invalid): M2M_NETWORK_ERROR, ENOTFOUND not retried', async () => {
    const report = expectClean(await runClient({ tokenEndpoint: 'https://auth.invalid/oauth/token', callers: CALLERS, retry: RETRY, totalTimeout: 5_000 }, 15_000), 5_000);
    expect(codes(report)).toEqual([ErrorCode.NETWORK_ERROR]);
    const first = report.outcomes[0]!;
    // ENOTFOUND is final; a resolver that cannot be reached (EAI_AGAIN) is transient and retried.
    if (first.message?.includes('ENOTFOUND')) expect(attempts(report)).toEqual([1]);
    else expect(first.message).toContain('EAI_AGAIN');
  });

  it('a self-signed server certificate: M2M_NETWORK_ERROR, one TLS connection, not retried, no request', async () => {
    const server = await serve((_req, res) => token(res), pki.selfSigned);
    const report = expectClean(await runClient({ tokenEndpoint: server.url, callers: CALLERS, retry: RETRY, totalTimeout: 5_000 }, 15_000), 5_000);
    expect(codes(report)).toEqual([ErrorCode.NETWORK_ERROR]);
    expect(attempts(report)).toEqual([1]);
    expect(report.outcomes[0]!.message).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
    expect(server.connections).toBe(1);
    expect(server.requests).toHaveLength(0);
  });

  it('a certificate from a CA the client does not trust: M2M_NETWORK_ERROR, not retried', async () => {
    const server = await serve((_req, res) => token(res), pki.server);
    const report = expectClean(await runClient({ tokenEndpoint: server.url, callers: CALLERS, retry: RETRY, totalTimeout: 5_000 }, 15_000), 5_000);
    expect(codes(report)).toEqual([ErrorCode.NETWORK_ERROR]);
    expect(attempts(report)).toEqual([1]);
    expect(server.connections).toBe(1);
  });

  describe('abort (each caller its own signal; the shared request goes on)', () => {
    it('already aborted: every caller M2M_ABORTED at once, no request', async () => {
      const server = await serve((_req, res) => token(res));
      const report = expectClean(await runClient({ tokenEndpoint: server.url, callers: CALLERS, abort: 'pre-aborted' }, 15_000), 100);
      expect(codes(report)).toEqual([ErrorCode.ABORTED]);
      expect(server.requests).toHaveLength(0);
    });

    it('before the connection (same tick as the call): M2M_ABORTED; the one request still completes and is cached', async () => {
      const server = await serve((_req, res, n, later) => later(() => token(res, n), 100));
      const report = expectClean(await runClient({ tokenEndpoint: server.url, callers: CALLERS, abort: 'same-tick', followUp: true }, 15_000), 100);
      expect(codes(report)).toEqual([ErrorCode.ABORTED]);
      expect(report.followUp).toMatchObject({ ok: true });
      expect(server.requests).toHaveLength(1);
    });

    // Aborts come 250 ms in (400 ms in the backoff): time enough to reach that stage even on a loaded machine.
    it('while waiting for the response headers: M2M_ABORTED at 250 ms; one request', async () => {
      const server = await serve((_req, res, n, later) => later(() => token(res, n), 700));
      const report = expectClean(await runClient({ tokenEndpoint: server.url, callers: CALLERS, abort: 250, followUp: true }, 15_000), 250);
      expect(codes(report)).toEqual([ErrorCode.ABORTED]);
      expect(report.followUp).toMatchObject({ ok: true });
      expect(server.requests).toHaveLength(1);
    });

    it('in the middle of the body: M2M_ABORTED at 250 ms; one request', async () => {
      const server = await serve((_req, res, _n, later) => {
        const body = JSON.stringify({ access_token: 'at-body', token_type: 'Bearer', expires_in: 3600 });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
        res.write(body.slice(0, 10));
        later(() => res.end(body.slice(10)), 700);
      });
      const report = expectClean(await runClient({ tokenEndpoint: server.url, callers: CALLERS, abort: 250, followUp: true }, 15_000), 250);
      expect(codes(report)).toEqual([ErrorCode.ABORTED]);
      expect(report.followUp).toMatchObject({ ok: true });
      expect(server.requests).toHaveLength(1);
    });

    it('during the backoff wait (Retry-After 1 s): M2M_ABORTED at 400 ms; the retry still happens once', async () => {
      const server = await serve((_req, res, n) => {
        if (n === 1) {
          res.writeHead(503, { 'retry-after': new Date(T0).toUTCString() });
          res.end();
        } else token(res, n);
      });
      const report = expectClean(await runClient({ tokenEndpoint: server.url, callers: CALLERS, retry: RETRY, clockAt: T0 - 1_000, abort: 400, followUp: true }, 15_000), 400);
      expect(codes(report)).toEqual([ErrorCode.ABORTED]);
      expect(report.followUp).toMatchObject({ ok: true });
      expect(server.requests).toHaveLength(2);
    });
  });

  describe('close() in the middle of a request', () => {
    // close() comes once the server has seen the request reach that stage (a fixed time could come before a cold
    // client on a loaded machine had even sent it); every caller must then settle within SLACK of the close.
    const closedAt = (run: Run) => run.report.closedMs ?? Number.NaN;

    it('while waiting for the response headers: M2M_CLIENT_CLOSED, no retry, nothing left running', async () => {
      const { promise: requested, resolve } = Promise.withResolvers<void>();
      const server = await serve((_req, res, n, later) => {
        later(() => token(res, n), 3_000);
        resolve();
      });
      const run = await runClient({ tokenEndpoint: server.url, callers: CALLERS, retry: RETRY, closeAfter: 'signal' }, 15_000, requested);
      const report = expectClean(run, closedAt(run));
      expect(codes(report)).toEqual([ErrorCode.CLIENT_CLOSED]);
      expect(server.requests).toHaveLength(1);
    });

    it('in the middle of the body: M2M_CLIENT_CLOSED', async () => {
      const { promise: halfSent, resolve } = Promise.withResolvers<void>();
      const server = await serve((_req, res, _n, later) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
        res.write('{"access_token":');
        later(() => res.end(), 3_000);
        later(resolve, 100); // time for the client to read the head and the first bytes
      });
      const run = await runClient({ tokenEndpoint: server.url, callers: CALLERS, retry: RETRY, closeAfter: 'signal' }, 15_000, halfSent);
      const report = expectClean(run, closedAt(run));
      expect(codes(report)).toEqual([ErrorCode.CLIENT_CLOSED]);
      expect(server.requests).toHaveLength(1);
    });

    it('during the backoff wait (Retry-After 2 s): M2M_CLIENT_CLOSED, and the retry never goes out', async () => {
      const { promise: answered, resolve } = Promise.withResolvers<void>();
      const server = await serve((_req, res, n, later) => {
        if (n === 1) {
          res.writeHead(503, { 'retry-after': new Date(T0).toUTCString() });
          res.end();
          later(resolve, 100); // time for the client to read the 503 and start its 2 s wait
        } else token(res, n);
      });
      const run = await runClient({ tokenEndpoint: server.url, callers: CALLERS, retry: RETRY, clockAt: T0 - 2_000, closeAfter: 'signal' }, 15_000, answered);
      const report = expectClean(run, closedAt(run));
      expect(codes(report)).toEqual([ErrorCode.CLIENT_CLOSED]);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(server.requests).toHaveLength(1);
    });
  });

  it('the harness itself notices a client process that does not end (a timer left running)', async () => {
    const server = await serve((_req, res) => token(res));
    // Well past EXIT_WITHIN: the parent may see the report line late on a busy machine, which shortens what it measures.
    const run = await runClient({ tokenEndpoint: server.url, callers: 1, leaveTimerMs: EXIT_WITHIN + 1_000 }, 15_000);
    expect(run.exitAfterReport).toBeGreaterThanOrEqual(EXIT_WITHIN);
  });

  it('no unhandled rejection in the test process either', () => {
    expect(unhandled).toEqual([]);
  });
});
