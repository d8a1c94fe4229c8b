import type { Agent, Dispatcher } from 'undici';
import { ErrorCode, TokenClientError, TokenRequestError, TokenResponseError } from './errors.js';
import type { ResolvedRetry } from './options.js';
import { header, type HttpResponse } from './token-response.js';
import type { Clock, Milliseconds } from './types.js';

// Loaded with the first request, like undici: import time matters in serverless functions.
let retryModule: Promise<typeof import('p-retry').default> | undefined;
const loadRetry = () => (retryModule ??= import('p-retry').then((m) => m.default));

export function unexpectedError(cause: unknown): TokenClientError {
  const code = (cause as { code?: unknown } | null)?.code;
  const what = cause instanceof Error ? `${cause.name}${typeof code === 'string' ? ` ${code}` : ''}` : typeof cause;
  return new TokenClientError(
    ErrorCode.UNEXPECTED,
    `Getting a token failed unexpectedly (${what}); see the cause, and report it if it looks like a bug in m2m-token.`,
    { cause },
  );
}

// Connection failures that another try will not fix: a name that does not resolve, a certificate that does
// not verify. Retrying them only delays the error.
const PERMANENT_NETWORK_CODES = new Set([
  'ENOTFOUND', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_SIGNATURE_FAILURE', 'CERT_REVOKED', 'CERT_UNTRUSTED', 'CERT_REJECTED',
]);

function isPermanentNetworkError(error: TokenClientError): boolean {
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && PERMANENT_NETWORK_CODES.has(code);
}

/** Bodies larger than this are refused: a token response is a few KiB at most. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

export interface TransportConfig {
  timeout: Milliseconds;
  totalTimeout: Milliseconds;
  retry: ResolvedRetry;
  dispatcher: Dispatcher | undefined;
  /** Client certificate and key for mutual TLS (RFC 8705), given to the Agent the transport owns. */
  tls: TlsCredentials | undefined;
  clock: Clock;
}

export interface TlsCredentials {
  cert: string | Buffer;
  key: string | Buffer;
  ca?: string | Buffer | (string | Buffer)[];
  passphrase?: string;
}

/** One HTTP request: a token request (POST with a form body) or a metadata request (GET). */
export interface HttpRequest {
  url: URL;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** What messages call the other end. @default 'token endpoint' */
  label?: string;
  /** Values of this request to scrub from anything the server echoes back (a signed client assertion). */
  secrets?: readonly string[];
}

/**
 * The one place that does I/O with the token endpoint: undici, per-attempt timeout, overall deadline, retry
 * with backoff and Retry-After. `handle` turns a response into a result or throws; whether a failure is
 * retried depends only on the HTTP status (408, 429, 5xx) or on the request having failed (network, timeout).
 */
export class Transport {
  readonly #config: TransportConfig;
  #ownAgent: Agent | undefined;
  #dispatcher: Dispatcher | Promise<Dispatcher> | undefined;
  readonly #closing = new AbortController();
  /** Attempts in flight: close() aborts them (cheaper than combining two signals on every attempt). */
  readonly #inFlight = new Set<AbortController>();
  #closed: Promise<void> = Promise.resolve();

  constructor(config: TransportConfig) {
    this.#config = config;
    this.#dispatcher = config.dispatcher;
  }

  /** undici is loaded with the first request, not at import: it is most of the package's import cost. */
  #getDispatcher(): Dispatcher | Promise<Dispatcher> {
    // Never create an Agent after close(): nothing would close it.
    if (this.#closing.signal.aborted) throw closedError();
    this.#dispatcher ??= import('undici').then(({ Agent }) => {
      this.#ownAgent = new Agent({ connect: { timeout: this.#config.timeout, ...this.#config.tls } });
      this.#dispatcher = this.#ownAgent;
      return this.#ownAgent;
    });
    return this.#dispatcher;
  }

  /**
   * Sends the request `build` makes (called again for each attempt, so a signed client assertion is fresh
   * every time) and returns what `handle` makes of the response.
   */
  async send<T>(
    build: () => HttpRequest | Promise<HttpRequest>,
    handle: (response: HttpResponse, request: HttpRequest) => T,
    deadline = performance.now() + this.#config.totalTimeout,
  ): Promise<T> {
    const { retry } = this.#config;
    const closing = this.#closing.signal;
    if (closing.aborted) throw closedError();
    let attempts = 0;
    let lastResponse: HttpResponse | undefined;
    const attempt = async () => {
      attempts += 1;
      lastResponse = undefined;
      const request = await build();
      lastResponse = await this.#attempt(request, deadline, attempts);
      return handle(lastResponse, request);
    };
    try {
      // The first attempt runs bare: the retry machinery costs a few µs a call and is needed only on failure.
      try {
        return await attempt();
      } catch (error) {
        if (retry.retries === 0 || closing.aborted) throw error;
        const delay = this.#retryDelay(error as Error, lastResponse, 1);
        if (delay === undefined || performance.now() + delay >= deadline) throw error;
        await sleep(delay, closing);
      }
      const pRetry = await loadRetry();
      return await pRetry(attempt, {
        retries: retry.retries - 1,
        // p-retry's own backoff can do neither full jitter nor Retry-After: its delay is 0 and we wait here.
        minTimeout: 0,
        signal: closing,
        shouldRetry: async ({ error }) => {
          const delay = this.#retryDelay(error, lastResponse, attempts);
          if (delay === undefined || performance.now() + delay >= deadline) return false;
          await sleep(delay, closing);
          return true;
        },
      });
    } catch (error) {
      // One error object per request, not the shared abort reason, so each carries its own attempts.
      const failure = closing.aborted ? closedError() : error instanceof TokenClientError ? error : unexpectedError(error);
      failure.attempts = attempts;
      const asked = lastResponse ? retryAfter(lastResponse, this.#config.clock.now()) : undefined;
      if (asked !== undefined) failure.retryAfter = asked;
      throw failure;
    }
  }

  /** Wait before the next attempt, or undefined when this failure is not worth retrying. */
  #retryDelay(error: Error, response: HttpResponse | undefined, attemptNumber: number): Milliseconds | undefined {
    const { retry } = this.#config;
    if (!(error instanceof TokenClientError)) return undefined;
    if (response === undefined) {
      const transient =
        (error.code === ErrorCode.NETWORK_ERROR && !isPermanentNetworkError(error)) ||
        (error.code === ErrorCode.TIMEOUT && !isDeadline(error));
      return transient ? backoff(retry, attemptNumber) : undefined;
    }
    const { status } = response;
    // 501 Not Implemented and 505 HTTP Version Not Supported will answer the same next time.
    if (!(status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505))) return undefined;
    const asked = retryAfter(response, this.#config.clock.now());
    if (asked === undefined) return backoff(retry, attemptNumber);
    return asked <= retry.maxRetryAfter ? asked : undefined;
  }

  async #attempt(request: HttpRequest, deadline: number, attempt: number): Promise<HttpResponse> {
    const endpoint = request.url.origin;
    const label = `${request.label ?? 'token endpoint'} ${endpoint}`;
    // Loading undici (the first request only) does not count against the attempt's timeout.
    const pending = this.#getDispatcher();
    const dispatcher = pending instanceof Promise ? await pending : pending;
    if (this.#closing.signal.aborted) throw closedError();
    const budget = Math.min(this.#config.timeout, deadline - performance.now());
    const byDeadline = budget < this.#config.timeout;
    const controller = new AbortController();
    let timedOut = false;
    const timeoutId = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, Math.max(0, budget));
    this.#inFlight.add(controller);
    const sentAt = this.#config.clock.now();
    try {
      const { url } = request;
      const response = await dispatcher.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: request.method,
        headers: request.headers,
        body: request.body ?? null,
        signal: controller.signal,
      });
      const body = await readCapped(response.body, response.statusCode, header(response.headers, 'content-length'), endpoint, label);
      return { status: response.statusCode, headers: response.headers, body, sentAt };
    } catch (failure) {
      if (this.#closing.signal.aborted) throw closedError();
      if (timedOut) {
        const which = byDeadline
          ? `totalTimeout (${this.#config.totalTimeout} ms over ${attempt} attempt${attempt > 1 ? 's' : ''})`
          : `timeout (${this.#config.timeout} ms)`;
        const error = new TokenRequestError(
          ErrorCode.TIMEOUT,
          `${capitalize(label)} did not answer within ${which}; check that the host is reachable and healthy, or raise the option.`,
          { endpoint },
        );
        if (byDeadline) deadlineErrors.add(error);
        throw error;
      }
      if (failure instanceof TokenClientError) throw failure;
      throw networkError(failure, endpoint, label);
    } finally {
      clearTimeout(timeoutId);
      this.#inFlight.delete(controller);
    }
  }

  /** Aborts requests in flight and releases the Agent the transport owns. */
  close(): Promise<void> {
    if (!this.#closing.signal.aborted) {
      this.#closing.abort(closedError());
      for (const controller of this.#inFlight) controller.abort();
      this.#closed = Promise.resolve(this.#dispatcher).then(
        () => this.#ownAgent?.close(),
        () => undefined,
      );
    }
    return this.#closed;
  }
}

export function closedError(): TokenRequestError {
  return new TokenRequestError(ErrorCode.CLIENT_CLOSED, 'The TokenClient was closed; create a new one to get tokens.');
}

// Timeouts caused by totalTimeout: retrying them cannot help.
const deadlineErrors = new WeakSet<TokenClientError>();
const isDeadline = (error: TokenClientError) => deadlineErrors.has(error);

const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

function networkError(error: unknown, endpoint: string, label: string): TokenRequestError {
  const code = (error as { code?: unknown } | null)?.code;
  const detail = typeof code === 'string' ? code : error instanceof Error ? error.message : String(error);
  return new TokenRequestError(
    ErrorCode.NETWORK_ERROR,
    `Could not reach ${label} (${detail}); check the host name, the network, any proxy (dispatcher option) and TLS.`,
    { endpoint, cause: error },
  );
}

async function readCapped(
  body: AsyncIterable<Buffer> & { destroy(error?: Error): unknown; text(): Promise<string> },
  status: number,
  contentLength: string | undefined,
  endpoint: string,
  label: string,
): Promise<string> {
  const tooLarge = () => {
    const error = new TokenResponseError(
      ErrorCode.RESPONSE_TOO_LARGE,
      status,
      `${capitalize(label)} sent a body over ${MAX_RESPONSE_BYTES} bytes (HTTP ${status}); a token or metadata response is a few KiB: check the URL.`,
      { endpoint },
    );
    body.destroy();
    return error;
  };
  const length = contentLength === undefined ? Number.NaN : Number(contentLength);
  if (length > MAX_RESPONSE_BYTES) throw tooLarge();
  // A declared length within the cap: undici's own reader is the fast path (and it enforces the length).
  if (length >= 0) return body.text();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_RESPONSE_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Exponential backoff with full jitter: random in [0, min(maxDelay, baseDelay × 2^(n−1))]. */
export function backoff(retry: ResolvedRetry, attemptNumber: number): Milliseconds {
  return Math.random() * Math.min(retry.maxDelay, retry.baseDelay * 2 ** (attemptNumber - 1));
}

/** `Retry-After` (seconds or HTTP date), else Auth0's `x-ratelimit-reset` (epoch seconds) on a 429, in ms. */
export function retryAfter(response: HttpResponse, now: number): Milliseconds | undefined {
  const value = header(response.headers, 'retry-after')?.trim();
  if (value) {
    if (/^\d+$/.test(value)) return Number(value) * 1000;
    const date = Date.parse(value);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  const reset = header(response.headers, 'x-ratelimit-reset')?.trim();
  if (response.status === 429 && reset && /^\d+$/.test(reset)) return Math.max(0, Number(reset) * 1000 - now);
  return undefined;
}

function sleep(ms: Milliseconds, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(id);
      reject(signal.reason as Error);
    };
    const id = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
