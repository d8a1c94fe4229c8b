import { monotonicNow } from './monotonic.js';
import type { Dispatcher } from 'undici';
import { cleanCopy, ErrorCode, TokenClientError, TokenRequestError, TokenResponseError } from './errors.js';
import type { ResolvedRetry, TlsCredentials } from './options.js';
import { header, type HttpResponse } from './token-response.js';
import { AttemptTimer, TIMED_OUT } from './attempt-timer.js';
import { exchange } from './exchange.js';
import { HttpAgents, httpExchange } from './http-exchange.js';
import type { ProxySettings } from './proxy.js';
import type { Clock, Milliseconds } from './types.js';
import { requestChannel, traceAttempt, type RequestTrace } from './diagnostics.js';

// Loaded with the first request, like undici: import time matters in serverless functions.
let retryModule: Promise<typeof import('p-retry').default> | undefined;
const loadRetry = () => (retryModule ??= import('p-retry').then((m) => m.default));

export function unexpectedError(cause: unknown): TokenClientError {
  const { name, code } = (typeof cause === 'object' && cause !== null ? cause : {}) as { name?: unknown; code?: unknown };
  // Duck-typed: an Error from another realm (a test runner's vm context) is not instanceof this realm's Error.
  const type = typeof name === 'string' && name !== '' ? name : cause === null ? 'null' : typeof cause;
  const what = `${type}${typeof code === 'string' ? ` ${code}` : ''}`;
  return new TokenClientError(
    ErrorCode.UNEXPECTED,
    `Getting a token failed unexpectedly (${what}); see the cause, and report it if it looks like a bug in m2m-token.`,
    { cause },
  );
}

// Connection failures that another try will not fix: a name that does not resolve, a certificate that does
// not verify. Retrying them only delays the error.
const PERMANENT_NETWORK_CODES = new Set([
  // undici (a dispatcher the user gave) refusing the request itself: destroyed, closed, or too old for its handler API.
  'UND_ERR_INVALID_ARG', 'UND_ERR_DESTROYED', 'UND_ERR_CLOSED', 'UND_ERR_NOT_SUPPORTED',
  // A proxy that wants other credentials will want them next time too.
  'ERR_PROXY_AUTHENTICATION_REQUIRED',
  'ENOTFOUND', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_SIGNATURE_FAILURE', 'CERT_REVOKED', 'CERT_UNTRUSTED', 'CERT_REJECTED',
]);

function isPermanentNetworkError(error: TokenClientError): boolean {
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && PERMANENT_NETWORK_CODES.has(code);
}

/** How much longer than an attempt a CONNECT tunnel being opened may take before it is abandoned. */
const TUNNEL_MARGIN = 250;

/** Bodies larger than this are refused: a token response is a few KiB at most. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

export interface TransportConfig {
  timeout: Milliseconds;
  totalTimeout: Milliseconds;
  retry: ResolvedRetry;
  /** The user's undici dispatcher (proxy, interceptors, MockAgent); without one, Node's own http/https. */
  dispatcher: Dispatcher | undefined;
  /** Client certificate and key for mutual TLS (RFC 8705), given to the https Agent the transport owns. */
  tls: TlsCredentials | undefined;
  /** Forward proxies for the transport's own Agents (`proxy` option, or the environment); not for a dispatcher. */
  proxy?: ProxySettings | undefined;
  clock: Clock;
}

/** One HTTP request: a token request (POST with a form body) or a metadata request (GET). */
export interface HttpRequest {
  url: URL;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** What messages call the other end. @default 'token endpoint' */
  label?: string;
  /** Values of this request to scrub from anything that may echo it (a server's error, a dispatcher's error). */
  secrets?: readonly string[];
  /** `url.origin` and `url.pathname + url.search`, when the builder already has them (saves URL getters). */
  origin?: string;
  path?: string;
}

/**
 * The one place that does I/O with the token endpoint: node:http(s) with keep-alive Agents (or the user's undici
 * dispatcher), per-attempt timeout, overall deadline, retry with backoff and Retry-After. `handle` turns a response into a result or throws; whether a failure is
 * retried depends only on the HTTP status (408, 429, 5xx) or on the request having failed (network, timeout).
 */
export class Transport {
  readonly #config: TransportConfig;
  /** Node's http/https Agents, when the user gave no dispatcher. */
  readonly #agents: HttpAgents | undefined;
  #closed = false;
  /** Created for the first backoff wait only: the AbortController global costs a cold start about half a millisecond. */
  #closing: AbortController | undefined;
  /** Times out attempts, and close() aborts them through it (cheaper than combining two signals per attempt). */
  readonly #timer = new AttemptTimer();

  constructor(config: TransportConfig) {
    this.#config = config;
    // A tunnel being opened outlives its attempt by a margin only: the attempt's own timeout must fire first (and
    // report M2M_TIMEOUT), and the tunnel still ends soon after, instead of holding a socket to the proxy.
    if (config.dispatcher === undefined) this.#agents = new HttpAgents(config.tls, config.proxy, config.timeout + TUNNEL_MARGIN);
  }

  /**
   * Sends the request `build` makes (called again for each attempt, so a signed client assertion is fresh
   * every time) and returns what `handle` makes of the response.
   */
  async send<T>(
    build: () => HttpRequest | Promise<HttpRequest>,
    handle: (response: HttpResponse, request: HttpRequest) => T,
    deadline = monotonicNow() + this.#config.totalTimeout,
    /** Told of each failed attempt that will be retried (before the backoff wait). */
    onRetry?: (error: Error) => void,
    /** A token request: each attempt is published on the `m2m-token:request` tracing channel (when it has subscribers). */
    trace?: RequestTrace,
    /**
     * Whether a response is a challenge to answer at once (a DPoP nonce, RFC 9449 §8): the request is built anew
     * and sent once more in the same attempt, without a backoff wait and not counted against `retry`.
     */
    challenge?: (response: HttpResponse) => boolean,
  ): Promise<T> {
    const { retry } = this.#config;
    if (this.#closed) throw closedError();
    let attempts = 0;
    let lastResponse: HttpResponse | undefined;
    // The secrets of the last request built (an assertion, the encoded secret): a foreign error may quote them.
    let lastSecrets: readonly string[] | undefined;
    const once = async () => {
      const built = build();
      let request = built instanceof Promise ? await built : built;
      lastSecrets = request.secrets;
      lastResponse = await this.#attempt(request, deadline, attempts);
      if (challenge !== undefined && challenge(lastResponse)) {
        request = await build();
        lastSecrets = request.secrets;
        lastResponse = await this.#attempt(request, deadline, attempts);
      }
      return handle(lastResponse, request);
    };
    // Not async itself: once() is, and a second async frame per attempt costs the fetch path for nothing.
    const attempt = () => {
      attempts += 1;
      lastResponse = undefined;
      if (trace !== undefined && requestChannel.hasSubscribers) return traceAttempt(trace, attempts, once, () => lastResponse?.status);
      return once();
    };
    try {
      // The first attempt runs bare: the retry machinery costs a few µs a call and is needed only on failure.
      try {
        return await attempt();
      } catch (error) {
        if (retry.retries === 0 || this.#closed) throw error;
        const delay = this.#retryDelay(error as Error, lastResponse, 1);
        if (delay === undefined || monotonicNow() + delay >= deadline) throw error;
        onRetry?.(error as Error);
        await sleep(delay, this.#closingSignal());
      }
      const pRetry = await loadRetry();
      return await pRetry(attempt, {
        retries: retry.retries - 1,
        // p-retry's own backoff can do neither full jitter nor Retry-After: its delay is 0 and we wait here.
        minTimeout: 0,
        signal: this.#closingSignal(),
        shouldRetry: async ({ error }) => {
          const delay = this.#retryDelay(error, lastResponse, attempts);
          if (delay === undefined || monotonicNow() + delay >= deadline) return false;
          onRetry?.(error);
          await sleep(delay, this.#closingSignal());
          return true;
        },
      });
    } catch (error) {
      // One error object per request, not the shared abort reason, so each carries its own attempts.
      // A foreign error (a signing function's, a dispatcher's) is kept only as a clean copy: it may carry the request.
      const failure = this.#closed ? closedError() : error instanceof TokenClientError ? error : unexpectedError(cleanCopy(error, lastSecrets));
      failure.attempts = attempts;
      const asked = lastResponse ? retryAfter(lastResponse, this.#config.clock.now()) : undefined;
      // The error may already know a longer wait (an exhausted Auth0 quota bucket): keep the longer.
      if (asked !== undefined && !(asked < (failure.retryAfter ?? -1))) failure.retryAfter = asked;
      throw failure;
    }
  }

  /** Aborted by close(): ends backoff waits. */
  #closingSignal(): AbortSignal {
    this.#closing ??= new AbortController();
    if (this.#closed) this.#closing.abort(closedError());
    return this.#closing.signal;
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
    // The response's own Retry-After, or a longer wait the error knows (a 429 for an exhausted Auth0 quota bucket).
    const asked = laterOf(retryAfter(response, this.#config.clock.now()), error.retryAfter);
    if (asked !== undefined && asked > retry.maxRetryAfter) return undefined;
    // A Retry-After of 0, or a reset already past (clock skew), must not remove the backoff.
    return Math.max(asked ?? 0, backoff(retry, attemptNumber));
  }

  async #attempt(request: HttpRequest, deadline: number, attempt: number): Promise<HttpResponse> {
    const endpoint = request.origin ?? request.url.origin;
    // For messages only: built when one is needed.
    const label = () => `${request.label ?? 'token endpoint'} ${endpoint}`;
    // Never open a connection after close(): nothing would close it.
    if (this.#closed) throw closedError();
    const now = monotonicNow();
    const byDeadline = deadline - now < this.#config.timeout;
    const sentAt = this.#config.clock.now();
    const tooLarge = (status: number) => tooLargeError(status, endpoint, label());
    const { dispatcher } = this.#config;
    const inFlight = dispatcher
      ? exchange(dispatcher, request, MAX_RESPONSE_BYTES, tooLarge)
      : httpExchange(this.#agents!, request, MAX_RESPONSE_BYTES, tooLarge);
    this.#timer.add(inFlight, byDeadline ? deadline : now + this.#config.timeout);
    try {
      const response = await inFlight.response;
      return { ...response, sentAt };
    } catch (failure) {
      if (this.#closed) throw closedError();
      if (failure === TIMED_OUT) {
        const which = byDeadline
          ? `totalTimeout (${this.#config.totalTimeout} ms over ${attempt} attempt${attempt > 1 ? 's' : ''})`
          : `timeout (${this.#config.timeout} ms)`;
        const error = new TokenRequestError(
          ErrorCode.TIMEOUT,
          `${capitalize(label())} did not answer within ${which}; check that the host is reachable and healthy, or raise the option.`,
          { endpoint },
        );
        if (byDeadline) deadlineErrors.add(error);
        throw error;
      }
      if (failure instanceof TokenClientError) throw failure;
      const proxy = this.#agents?.proxyFor(request.url);
      const secrets = proxy ? [...(request.secrets ?? []), ...this.#agents!.secrets] : request.secrets;
      throw networkError(cleanCopy(failure, secrets), endpoint, proxy ? `${label()} through proxy ${proxy.origin}` : label());
    } finally {
      this.#timer.delete(inFlight);
    }
  }

  /** Aborts requests in flight and closes the connections of the Agents the transport owns (not a user's dispatcher). */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#closing?.abort(closedError());
      this.#timer.abortAll(closedError());
      this.#agents?.destroy();
    }
    return Promise.resolve();
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
  const { code, statusCode } = (error ?? {}) as { code?: unknown; statusCode?: unknown };
  const detail = typeof code === 'string' ? code : error instanceof Error ? error.message : String(error);
  const advice =
    code === 'ERR_PROXY_AUTHENTICATION_REQUIRED' ? 'the proxy answered 407: check the user and password in the proxy URL (proxy option, HTTPS_PROXY or HTTP_PROXY)'
    : code === 'ERR_PROXY_TUNNEL' ? `the proxy refused the tunnel with HTTP ${String(statusCode)}: check that it allows CONNECT to this host and port, or exempt the host with NO_PROXY`
    : 'check the host name, the network, any proxy (proxy or dispatcher option, HTTPS_PROXY / NO_PROXY) and TLS';
  return new TokenRequestError(ErrorCode.NETWORK_ERROR, `Could not reach ${label} (${detail}); ${advice}.`, { endpoint, cause: error });
}

function tooLargeError(status: number, endpoint: string, label: string): TokenResponseError {
  return new TokenResponseError(
    ErrorCode.RESPONSE_TOO_LARGE,
    status,
    `${capitalize(label)} sent a body over ${MAX_RESPONSE_BYTES} bytes (HTTP ${status}); a token or metadata response is a few KiB: check the URL.`,
    { endpoint },
  );
}

function laterOf(a: Milliseconds | undefined, b: Milliseconds | undefined): Milliseconds | undefined {
  return a === undefined ? b : b === undefined ? a : Math.max(a, b);
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
    const date = parseHttpDate(value);
    if (date !== undefined) return Math.max(0, date - now);
    // Anything else ("in 2030", "-1", "1.5") says nothing: fall through to the rate-limit reset, if any.
  }
  const reset = header(response.headers, 'x-ratelimit-reset')?.trim();
  if (response.status === 429 && reset && /^\d+$/.test(reset)) return Math.max(0, Number(reset) * 1000 - now);
  return undefined;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const MONTH = '(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
// RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms. All are UTC, whatever the local zone.
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
const RFC_850 = new RegExp(`^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
const ASCTIME = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`);

/** An HTTP date in one of the three forms RFC 9110 allows, as epoch ms; anything else is undefined. */
export function parseHttpDate(text: string): number | undefined {
  let m = IMF_FIXDATE.exec(text);
  if (m) return utc(m[3]!, m[2]!, m[1]!, m[4]!, m[5]!, m[6]!);
  m = RFC_850.exec(text);
  if (m) {
    // Two-digit years: RFC 9110 reads one more than 50 years ahead as the past century.
    const yy = Number(m[3]);
    const year = 2000 + yy > new Date().getUTCFullYear() + 50 ? 1900 + yy : 2000 + yy;
    return utc(String(year), m[2]!, m[1]!, m[4]!, m[5]!, m[6]!);
  }
  m = ASCTIME.exec(text);
  if (m) return utc(m[6]!, m[1]!, m[2]!.trim(), m[3]!, m[4]!, m[5]!);
  return undefined;
}

function utc(year: string, month: string, day: string, hours: string, minutes: string, seconds: string): number | undefined {
  const ms = Date.UTC(Number(year), MONTHS.indexOf(month), Number(day), Number(hours), Number(minutes), Number(seconds));
  return Number.isFinite(ms) ? ms : undefined;
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
