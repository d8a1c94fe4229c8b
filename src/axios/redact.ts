// Taking the token out of an AxiosError. Errors get logged whole (util.inspect, JSON.stringify, error reporters,
// structured loggers that walk every property), and axios leaves the token in many places: the config's
// headers, the raw request (`_header`, follow-redirects' options, a fetch Request), the user's http(s) Agent
// (its sockets keep the last request and its headers), a stream request body (piped into the request), and a
// stream response body (an IncomingMessage, whose `req` is the request). Redaction replaces each of them with a
// copy that leads nowhere, rather than editing them in place: an agent or a socket cannot be edited.
import { PassThrough, pipeline, Readable } from 'node:stream';
import type { AxiosResponse, InternalAxiosRequestConfig } from 'axios';

/** What stands in for the credential in a redacted `Authorization` (after the scheme, which is kept). */
const REDACTED = '[REDACTED]';
// `[` is not a token68 character, so no real credential matches this.
export const REDACTED_AUTHORIZATION = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+ \[REDACTED\]$/;

/**
 * Config keys whose values hold connections or a transport: an http(s) Agent keeps its sockets, and a socket its
 * last request with that request's headers (non-keep-alive and keep-alive alike). `transport` is a module such as
 * `node:http` (its globalAgent), and `fetchOptions` may carry an undici `dispatcher`. A redacted config leaves
 * them out; sent again through the same instance, it gets them back (see {@link restoreTransport}).
 */
const TRANSPORT_KEYS = new Set(['httpAgent', 'httpsAgent', 'transport', 'fetchOptions']);

// The withheld transport of a redacted config, behind an empty object: nothing reachable from the error leads to
// the agent. A class instance, not a plain object, so that axios's mergeConfig passes it on as it is (it copies
// plain objects); axios 1.19+ keeps enumerable symbol keys when a config is sent again.
const kTransport = Symbol('m2m-token.withheld-transport');
class WithheldTransport {}
const withheld = new WeakMap<WithheldTransport, Record<string, unknown>>();

type Config = InternalAxiosRequestConfig & { [kTransport]?: WithheldTransport };

export interface RequestSummary {
  readonly method: string;
  readonly url?: string;
}

interface AxiosErrorLike {
  config?: Config;
  request?: unknown;
  response?: AxiosResponse;
}

/**
 * Makes `error` (an AxiosError for a request that carried one of the adapter's tokens) lead nowhere near the
 * token: `config` (also `response.config`) becomes a plain copy with `Authorization: <scheme> [REDACTED]` and
 * without the transport objects; `request` (also `response.request`) becomes a non-enumerable `{ method, url }`;
 * a stream `response.data` is handed over through a fresh stream that does not reference the request.
 */
export function redactAxiosError(error: object, summary: RequestSummary): void {
  const e = error as AxiosErrorLike;
  const { config, response } = e;
  const safe = config === undefined ? undefined : redactConfig(config);
  if (safe !== undefined) replace(error, 'config', safe, true);
  if (e.request !== undefined) replace(error, 'request', summary, false);
  if (response === undefined || response === null) return;
  if (response.config !== undefined) replace(response, 'config', response.config === config ? safe : redactConfig(response.config as Config), true);
  if (response.request !== undefined) replace(response, 'request', summary, false);
  if (isNodeReadable(response.data)) replace(response, 'data', detach(response.data), true);
}

/** A plain copy of `config` that leads to no token; see {@link redactAxiosError}. */
function redactConfig(config: Config): Config {
  const copy = Object.create(null) as Record<string, unknown>;
  // axios makes configs with a null prototype and a non-enumerable hasOwnProperty; keep that shape.
  const hasOwn = Object.getOwnPropertyDescriptor(config, 'hasOwnProperty');
  if (hasOwn) Object.defineProperty(copy, 'hasOwnProperty', hasOwn);
  const transport: Record<string, unknown> = {};
  // String keys only: symbol-keyed state (this adapter's own, with the Token, or another interceptor's) stays
  // behind, as axios's own mergeConfig did before 1.19.
  for (const key of Object.keys(config)) {
    const value = (config as unknown as Record<string, unknown>)[key];
    if (TRANSPORT_KEYS.has(key)) {
      if (value !== undefined) transport[key] = value;
    } else {
      copy[key] = value;
    }
  }
  copy.headers = redactHeaders(config.headers);
  // A stream body was piped into the request, and its state points there. It was used up by that attempt.
  if (isStreamBody(config.data)) copy.data = spentBody();
  if (Object.keys(transport).length > 0) {
    const ticket = Object.freeze(new WithheldTransport());
    withheld.set(ticket, transport);
    (copy as { [kTransport]?: WithheldTransport })[kTransport] = ticket;
  }
  return copy as unknown as Config;
}

/**
 * On a redacted config sent again (as axios-retry does): puts back the agents it was sent with, unless the config
 * now has others than the instance's defaults.
 */
export function restoreTransport(config: InternalAxiosRequestConfig, defaults: object): void {
  const c = config as Config;
  const ticket = c[kTransport];
  if (ticket === undefined) return;
  delete c[kTransport];
  const transport = withheld.get(ticket);
  if (transport === undefined) return;
  const target = config as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(transport)) {
    if (target[key] === undefined || target[key] === (defaults as Record<string, unknown>)[key]) target[key] = value;
  }
}

function redactHeaders(headers: unknown): unknown {
  const h = headers as InternalAxiosRequestConfig['headers'] | undefined;
  if (typeof h?.concat === 'function' && typeof h.get === 'function') {
    const copy = h.concat();
    const value = copy.get('Authorization');
    if (typeof value === 'string') copy.set('Authorization', redactValue(value));
    // A DPoP proof: bound to the token and to this one request, but a credential all the same.
    if (typeof copy.get('DPoP') === 'string') copy.set('DPoP', REDACTED);
    return copy;
  }
  if (headers === null || typeof headers !== 'object') return headers;
  const copy: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(headers)) {
    copy[name] = typeof value !== 'string' ? value : /^authorization$/i.test(name) ? redactValue(value) : /^dpop$/i.test(name) ? REDACTED : value;
  }
  return copy;
}

function redactValue(authorization: string): string {
  return `${authorization.split(' ', 1)[0]} ${REDACTED}`;
}

function isStreamBody(data: unknown): boolean {
  if (data === null || typeof data !== 'object') return false;
  const d = data as { pipe?: unknown; getReader?: unknown; [Symbol.asyncIterator]?: unknown };
  return typeof d.pipe === 'function' || typeof d.getReader === 'function' || typeof d[Symbol.asyncIterator] === 'function';
}

/** Stands in for a stream body that the request used up: sending it again fails, rather than send nothing. */
function spentBody(): Readable {
  return new Readable({
    read() {
      this.destroy(new Error('m2m-token: the body of this request was a stream, used up by the request that failed; it cannot be sent again'));
    },
  });
}

function isNodeReadable(value: unknown): value is Readable {
  return value !== null && typeof value === 'object' && typeof (value as Readable).pipe === 'function' && typeof (value as Readable).on === 'function';
}

/**
 * The same bytes through a new stream. The original (an IncomingMessage, or axios's decompression pipeline)
 * references the request; the new one only receives its data. Destroying it destroys the original.
 */
function detach(source: Readable): Readable {
  const out = new PassThrough();
  pipeline(source, out, () => {});
  return out;
}

function replace(owner: object, key: string, value: unknown, enumerable: boolean): void {
  try {
    Object.defineProperty(owner, key, { value, enumerable, writable: true, configurable: true });
  } catch {
    // a frozen error or response: leave it
  }
}
