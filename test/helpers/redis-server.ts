import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo } from 'node:net';
import { findRedisServer, REDIS_HINT } from './redis-binary.js';

/** A real redis-server child process on 127.0.0.1, without persistence. No vitest imports: bench/ uses it too. */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Kills the server (SIGKILL: a crash, as far as clients can tell) and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
}

const START_TIMEOUT = 10_000;

/**
 * Starts `redis-server` and resolves once it answers PING: on `port` (e.g. to restart a stopped server where its
 * clients will reconnect), else on a free port. `args` are added to the command line (e.g. cluster settings).
 */
export async function startRedisServer(port?: number, args: readonly string[] = []): Promise<RedisServer> {
  if (port !== undefined) return startOnce(port, args);
  // The free port is only free when probed: another process may take it before redis-server binds it.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(await freePort(), args);
    } catch (error) {
      if (attempt === 3 || !(error instanceof Error) || !error.message.includes('exited during startup')) throw error;
    }
  }
}

async function startOnce(port: number, args: readonly string[]): Promise<RedisServer> {
  const binary = findRedisServer();
  if (binary === undefined) throw new Error(`redis-server is not installed. The Redis tests need a real server: ${REDIS_HINT}.`);
  const child = spawn(binary, ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-4000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = once(child, 'exit').then(() => undefined);
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'ENOENT'
          ? new Error(`${binary} could not be started. The Redis tests need a real server: ${REDIS_HINT}.`)
          : error,
      );
    });
    void exited.then(() => reject(new Error(`redis-server exited during startup (exit code ${child.exitCode}):\n${output}`)));
  });
  failed.catch(() => {}); // observed below; also rejects harmlessly after a normal stop
  const server: RedisServer = { port, url: `redis://127.0.0.1:${port}`, stop: () => stop(child, exited) };
  try {
    await Promise.race([waitForPong(port), failed]);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}

async function stop(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await exited;
}

export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Sends PING on a raw socket until the server answers +PONG (a raw socket: no client retry logic involved). */
async function waitForPong(port: number): Promise<void> {
  const deadline = performance.now() + START_TIMEOUT;
  while (performance.now() < deadline) {
    if (await ping(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`redis-server did not answer PING on port ${port} within ${START_TIMEOUT} ms`);
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => finish(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
    socket.on('error', () => finish(false));
  });
}
