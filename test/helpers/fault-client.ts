/**
 * The client side of one fault-matrix scenario, run as its own process (test/fault-matrix.test.ts spawns it with
 * `process.execPath --import tsx`): a TokenClient, N concurrent getToken() callers, optional aborts or close(),
 * then one JSON line on stdout. It never calls process.exit: the parent asserts that it ends on its own, which
 * proves that the client left no timer, socket or listener running.
 */
import { TokenClient, TokenClientError, type TokenClientOptions } from 'm2m-token';
import { ManualClock } from './clock.js';
import { renderingsContaining } from './renderings.js';

export const FAULT_SECRET = 'cs-fault-matrix-secret-0123';

export interface FaultConfig {
  tokenEndpoint: string;
  callers: number;
  timeout?: number;
  totalTimeout?: number;
  retry?: TokenClientOptions['retry'];
  /** ManualClock time (epoch ms), for Retry-After dates and x-ratelimit-reset. */
  clockAt?: number;
  /** Abort every caller's signal: already aborted, in the same tick as the call, or after some ms. */
  abort?: 'pre-aborted' | 'same-tick' | number;
  /**
   * Call close() after some ms, or, with 'signal', as soon as a line comes on stdin: the parent sends one once its
   * server has seen the request reach the stage under test (stdin is closed then, so it keeps nothing alive).
   */
  closeAfter?: number | 'signal';
  /** After the callers settle, one more getToken() (it joins the request still in flight, or hits the cache). */
  followUp?: boolean;
  /** For the harness's own test: leave a timer of this many ms running after the report. */
  leaveTimerMs?: number;
}

export interface CallerOutcome {
  ok: boolean;
  /** Error code, or undefined for a token. */
  code?: string;
  isClientError?: boolean;
  attempts?: number;
  retryAfter?: number;
  message?: string;
  /** ms from the start of the callers to this one's settling. */
  ms: number;
}

export interface FaultReport {
  outcomes: CallerOutcome[];
  followUp?: CallerOutcome;
  unhandled: string[];
  /** Renderings of errors that showed the secret. */
  leaks: string[];
  /** process.getActiveResourcesInfo() once everything settled (what would keep the process alive). */
  resources: string[];
  settledMs: number;
  /** ms from the start of the callers to the close() call, when there was one. */
  closedMs?: number;
}

const unhandled: string[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(`unhandledRejection: ${String(reason)}`));
process.on('uncaughtException', (error) => unhandled.push(`uncaughtException: ${String(error)}`));

async function settle(promise: Promise<unknown>, started: number): Promise<CallerOutcome> {
  try {
    await promise;
    return { ok: true, ms: performance.now() - started };
  } catch (error) {
    const e = error as TokenClientError;
    return {
      ok: false,
      code: e?.code,
      isClientError: error instanceof TokenClientError,
      attempts: e?.attempts,
      retryAfter: e?.retryAfter,
      message: e?.message,
      ms: performance.now() - started,
    };
  }
}

async function main(config: FaultConfig): Promise<FaultReport> {
  const client = new TokenClient({
    tokenEndpoint: config.tokenEndpoint,
    clientId: 'fault-client',
    clientSecret: FAULT_SECRET,
    ...(config.timeout === undefined ? {} : { timeout: config.timeout }),
    ...(config.totalTimeout === undefined ? {} : { totalTimeout: config.totalTimeout }),
    ...(config.retry === undefined ? {} : { retry: config.retry }),
    ...(config.clockAt === undefined ? {} : { clock: new ManualClock(config.clockAt) }),
    onError: () => {},
  });
  const controllers = Array.from({ length: config.callers }, () => new AbortController());
  if (config.abort === 'pre-aborted') for (const c of controllers) c.abort();
  const started = performance.now();
  const errors: unknown[] = [];
  const calls = controllers.map((c) => {
    const promise = client.getToken(config.abort === undefined ? undefined : { signal: c.signal });
    promise.catch((error: unknown) => errors.push(error));
    return settle(promise, started);
  });
  if (config.abort === 'same-tick') for (const c of controllers) c.abort();
  else if (typeof config.abort === 'number') setTimeout(() => controllers.forEach((c) => c.abort()), config.abort);
  let closedMs: number | undefined;
  const close = () => {
    closedMs = performance.now() - started;
    void client.close();
  };
  if (config.closeAfter === 'signal') {
    process.stdin.once('data', () => {
      process.stdin.destroy();
      close();
    });
  } else if (config.closeAfter !== undefined) setTimeout(close, config.closeAfter);

  const outcomes = await Promise.all(calls);
  const followUp = config.followUp ? await settle(client.getToken(), started) : undefined;
  const settledMs = performance.now() - started;
  const leaks = errors.flatMap((error) => renderingsContaining(error, [FAULT_SECRET]).map((hit) => `${hit.how}: ${hit.excerpt}`));
  // What is still running once every caller has its answer (pending store writes aside, there should be nothing).
  await new Promise((resolve) => setImmediate(resolve));
  const resources = process.getActiveResourcesInfo();
  return { outcomes, followUp, unhandled, leaks, resources, settledMs, ...(closedMs === undefined ? {} : { closedMs }) };
}

const config = JSON.parse(process.argv[2] ?? '{}') as FaultConfig;
main(config).then(
  (report) => {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    if (config.leaveTimerMs !== undefined) setTimeout(() => {}, config.leaveTimerMs);
  },
  (error: unknown) => {
    process.stdout.write(`${JSON.stringify({ crashed: String((error as Error)?.stack ?? error) })}\n`);
    process.exitCode = 1;
  },
);
