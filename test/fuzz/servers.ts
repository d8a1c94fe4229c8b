/**
 * The two ways a fuzz case reaches the client's real parsing path: a fake undici dispatcher (no sockets, the
 * handler calls src/exchange.ts expects), and a raw loopback TCP server (src/http-exchange.ts through node:http).
 * Both answer from the case's model and record what was asked and what was delivered.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import {
  renderBody,
  renderHeaders,
  renderJson,
  renderText,
  type DocModel,
  type EchoValues,
  type ErrorModel,
  type Exchange,
  type FuzzCase,
  type ResponseModel,
} from './model.js';
import type { SeenResponse } from './oracle.js';

export interface RecordedRequest {
  method: string;
  /** origin + path */
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** One request and what was done with it. */
export interface Delivered {
  request: RecordedRequest;
  exchange: Exchange;
  /** The response as the client can see it, for a response that was (meant to be) delivered whole. */
  seen: SeenResponse | undefined;
  /** What was sent (or begun): status and body text. */
  sentStatus: number;
  sentBody: string;
  /** Content-Length as the client reads it off the headers (the dispatcher's own header; the framing on loopback). */
  declared: number;
  /** Discovery document request (GET), or token request (POST). */
  kind: 'doc' | 'token';
  /** For documents: which well-known location (0: RFC 8414, 1: OpenID). */
  location?: number;
}

export interface CaseServer {
  delivered: Delivered[];
  /** Requests that were started and neither finished nor aborted by the client (dispatcher only). */
  dangling(): number;
  close(): Promise<void>;
}

export const CLIENT_ID = 'fuzz-client';
export const ISSUER_ORIGIN = 'https://as.fuzz.test';

export function echoValues(c: FuzzCase, request: RecordedRequest | undefined): EchoValues {
  return { secret: c.secret, token: c.token, clientId: CLIENT_ID, requestBody: request?.body ?? '', authorization: request?.headers.authorization };
}

/** Header object as undici hands it to a handler: lower-case names, repeated names as arrays. */
export function headerObject(list: [string, string | string[]][]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of list) {
    const prev = out[name];
    if (prev === undefined) out[name] = Array.isArray(value) ? [...value] : value;
    else out[name] = [...(Array.isArray(prev) ? prev : [prev]), ...(Array.isArray(value) ? value : [value])];
  }
  return out;
}

/** What the client will read: bytes decoded as UTF-8 (a lone surrogate becomes U+FFFD). */
export const roundTrip = (text: string) => Buffer.from(text, 'utf8').toString('utf8');

/** Where the RFC 8414 and OpenID documents are for an issuer (RFC 8414 §3.1: inserted, terminating slash removed). */
export function wellKnownPaths(issuerPath: string): [string, string] {
  const path = issuerPath === '/' ? '' : issuerPath.replace(/\/$/, '');
  return [`/.well-known/oauth-authorization-server${path}`, `${path}/.well-known/openid-configuration`];
}

/** The issuer the client is configured with, for a case on a given origin. */
export const issuerFor = (origin: string, path: string) => `${origin}${path}`;

/** The token endpoint URL a document names, as a string (or a JSON value that is not one). */
export function docTokenEndpoint(doc: Extract<DocModel['body'], { kind: 'doc' }>, origin: string, otherOrigin: string, v: EchoValues): string | undefined {
  const e = doc.tokenEndpoint;
  switch (e.kind) {
    case 'good': {
      const base = e.host === 'same' ? origin : e.host === 'other' ? otherOrigin : otherOrigin;
      const path = renderText(e.path, v);
      const query = renderText(e.query, v);
      return `${base}${path.startsWith('/') ? path : `/${path}`}${query ? `?${query}` : ''}`;
    }
    case 'http-remote':
      return `http://${renderText(e.host, v)}/oauth/token`;
    case 'credentials':
      return `${origin.replace('://', '://user:pass@')}/oauth/token`;
    case 'scheme':
      return `${e.scheme}://as.fuzz.test/oauth/token`;
    case 'text':
      return renderText(e.text, v);
    default:
      return undefined;
  }
}

/** A discovery document as a response model (raw JSON text, so anything a server can send). */
export function docResponse(doc: DocModel, issuer: string, origin: string, otherOrigin: string, v: EchoValues): { model: ResponseModel; body: string } {
  const headers: ResponseModel['headers'] = doc.contentType === undefined ? [] : [['content-type', doc.contentType]];
  let body: string;
  if (doc.body.kind === 'other') body = renderBody(doc.body.body, v);
  else {
    const d = doc.body;
    const fields: string[] = [];
    const put = (name: string, json: string) => fields.push(`${JSON.stringify(name)}:${json}`);
    const i = d.issuer;
    if (i.kind === 'same') put('issuer', JSON.stringify(issuer));
    else if (i.kind === 'toggle-slash') put('issuer', JSON.stringify(issuer.endsWith('/') ? issuer.slice(0, -1) : `${issuer}/`));
    else if (i.kind === 'other') put('issuer', JSON.stringify(renderText(i.text, v)));
    else if (i.kind === 'json') put('issuer', renderJson(i.value, v));
    const e = d.tokenEndpoint;
    if (e.kind === 'json') put('token_endpoint', renderJson(e.value, v));
    else {
      const url = docTokenEndpoint(d, origin, otherOrigin, v);
      if (url !== undefined) put('token_endpoint', JSON.stringify(url));
    }
    if (d.methods !== undefined) put('token_endpoint_auth_methods_supported', renderJson(d.methods, v));
    if (d.mtls !== undefined) put('mtls_endpoint_aliases', renderJson(d.mtls, v));
    for (const [name, value] of d.extra) put(name, renderJson(value, v));
    body = `{${fields.join(',')}}`;
  }
  return { model: { status: doc.status, statusText: ['X'], headers, body: { kind: 'text', text: [body] } }, body };
}

// ---------------------------------------------------------------- dispatcher errors

export function makeError(model: ErrorModel, v: EchoValues): unknown {
  switch (model.shape) {
    case 'error': {
      const error = new Error(renderText(model.message, v)) as Error & Record<string | symbol, unknown>;
      if (model.name) error.name = renderText(model.name, v);
      if (model.code) error.code = renderText(model.code, v);
      for (const [name, text] of model.props) error[name] = renderText(text, v);
      for (const [name, text] of model.hidden) Object.defineProperty(error, name, { value: renderText(text, v), enumerable: false, configurable: true, writable: true });
      for (const text of model.symbols) error[Symbol(renderText(text, v))] = renderText(text, v);
      if (model.stack) error.stack = renderText(model.stack, v);
      const cause = model.cause ? makeError(model.cause, v) : undefined;
      if (cause !== undefined) Object.defineProperty(error, 'cause', { value: cause, enumerable: false, configurable: true, writable: true });
      if (model.circular) {
        if (cause !== null && typeof cause === 'object') Object.defineProperty(cause, 'cause', { value: error, enumerable: false, configurable: true });
        else Object.defineProperty(error, 'cause', { value: error, enumerable: false, configurable: true });
      }
      return error;
    }
    case 'string':
      return renderText(model.text, v);
    case 'plain':
      return Object.fromEntries(model.props.map(([name, text]) => [name, renderText(text, v)]));
    case 'null':
      return null;
    case 'undefined':
      return undefined;
    case 'number':
      return 42;
    case 'symbol':
      return Symbol('dispatcher failure');
    case 'throwing-getter': {
      const error = new Error('boom');
      const thrower = () => {
        throw new Error(renderText(model.text, v));
      };
      for (const name of ['message', 'name', 'code', 'stack', 'cause']) Object.defineProperty(error, name, { get: thrower, enumerable: true, configurable: true });
      return error;
    }
    case 'proxy':
      return new Proxy(new Error('proxied'), {
        get() {
          throw new Error(renderText(model.text, v));
        },
        has() {
          throw new Error(renderText(model.text, v));
        },
      });
  }
}

/** A misbehaving value anywhere in the error's cause chain. */
export const isHostile = (e: ErrorModel | undefined): boolean =>
  e !== undefined && (e.shape === 'throwing-getter' || e.shape === 'proxy' || (e.shape === 'error' && isHostile(e.cause)));

// ---------------------------------------------------------------- fake dispatcher

interface Handler {
  onRequestStart?(controller: unknown, context: unknown): void;
  onResponseStart?(controller: unknown, status: number, headers: Record<string, string | string[]>, statusMessage?: string): void;
  onResponseData?(controller: unknown, chunk: Buffer): void;
  onResponseEnd?(controller: unknown, trailers: Record<string, string>): void;
  onResponseError?(controller: unknown, error: Error): void;
}

interface DispatchOptions {
  origin?: string | URL;
  path: string;
  method: string;
  headers?: Record<string, string> | null;
  body?: string | null;
}

/** Splits a body's bytes at the given fractions (which may fall inside a UTF-8 sequence). */
function chunksOf(body: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((f) => Math.floor(f * body.length)))].filter((p) => p > 0 && p < body.length).sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    out.push(body.subarray(from, p));
    from = p;
  }
  out.push(body.subarray(from));
  return out.filter((chunk, i) => chunk.length > 0 || i === 0);
}

export interface Routes {
  /** For a GET: the document location index and its response, or undefined (404). */
  doc(path: string, v: EchoValues): { location: number; model: ResponseModel; body: string } | undefined;
}

export class FakeDispatcher implements CaseServer {
  readonly delivered: Delivered[] = [];
  readonly #open = new Set<{ done: boolean }>();
  readonly #case: FuzzCase;
  readonly #routes: Routes;
  #posts = 0;

  constructor(c: FuzzCase, routes: Routes) {
    this.#case = c;
    this.#routes = routes;
  }

  dangling(): number {
    return [...this.#open].filter((s) => !s.done).length;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  dispatch(opts: DispatchOptions, handler: Handler): boolean {
    const origin = String(opts.origin ?? '');
    const request: RecordedRequest = { method: opts.method, url: `${origin.replace(/\/$/, '')}${opts.path}`, headers: { ...(opts.headers ?? {}) }, body: opts.body ?? '' };
    const v = echoValues(this.#case, request);
    let exchange: Exchange;
    let seen: SeenResponse | undefined;
    let kind: Delivered['kind'];
    let location: number | undefined;
    if (opts.method === 'GET') {
      const doc = this.#routes.doc(opts.path, v);
      kind = 'doc';
      location = doc?.location;
      const model: ResponseModel = doc?.model ?? { status: 404, statusText: ['Not Found'], headers: [], body: { kind: 'text', text: ['not found'] } };
      exchange = { kind: 'response', response: model, delivery: { mode: 'sync', cuts: [] } };
    } else {
      kind = 'token';
      const all = this.#case.exchanges;
      exchange = all[Math.min(this.#posts, all.length - 1)]!;
      this.#posts += 1;
    }
    const response = exchange.response;
    const headers = headerObject(renderHeaders(response.headers, v));
    const bodyText = renderBody(response.body, v);
    if (exchange.kind === 'response') seen = { status: response.status, headers, body: roundTrip(bodyText) };
    const declared = Number(headers['content-length'] as unknown);
    this.delivered.push({ request, exchange, seen, kind, location, sentStatus: response.status, sentBody: bodyText, declared });

    const state = { done: false };
    this.#open.add(state);
    const { delivery } = exchange;
    const schedule = (step: () => void) => {
      if (delivery.mode === 'sync') step();
      else if (delivery.mode === 'micro') queueMicrotask(step);
      else setImmediate(step);
    };
    const controller = {
      aborted: false,
      paused: false,
      reason: null as Error | null,
      abort(reason: Error) {
        if (controller.aborted || state.done) return;
        controller.aborted = true;
        controller.reason = reason;
        state.done = true;
        // As undici does: an aborted request ends with onResponseError.
        schedule(() => handler.onResponseError?.(controller, reason));
      },
      pause() {
        controller.paused = true;
      },
      resume() {
        controller.paused = false;
      },
    };
    const finish = () => {
      state.done = true;
    };

    if (exchange.kind === 'error' && exchange.stage === 'throw') {
      state.done = true;
      throw makeError(exchange.error, v);
    }
    const chunks = chunksOf(Buffer.from(bodyText, 'utf8'), delivery.cuts);
    const steps: (() => void)[] = [() => handler.onRequestStart?.(controller, {})];
    const start = () => handler.onResponseStart?.(controller, response.status, headers, renderText(response.statusText, v));
    if (exchange.kind === 'response') {
      steps.push(start);
      for (const chunk of chunks) steps.push(() => handler.onResponseData?.(controller, chunk));
      steps.push(() => {
        finish();
        handler.onResponseEnd?.(controller, {});
      });
    } else if (exchange.kind === 'error') {
      if (exchange.stage === 'mid-body') {
        steps.push(start);
        for (const chunk of chunks.slice(0, Math.ceil(chunks.length / 2))) steps.push(() => handler.onResponseData?.(controller, chunk));
      }
      steps.push(() => {
        finish();
        handler.onResponseError?.(controller, makeError(exchange.error, v) as Error);
      });
    } else if (exchange.stage === 'mid-body') {
      steps.push(start);
      for (const chunk of chunks.slice(0, Math.ceil(chunks.length / 2))) steps.push(() => handler.onResponseData?.(controller, chunk));
    }
    // Steps stop as soon as the client aborts (as undici does); a hang simply runs out of steps.
    const run = (i: number) => {
      if (i >= steps.length || controller.aborted) return;
      steps[i]!();
      if (delivery.mode === 'sync') run(i + 1);
      else schedule(() => run(i + 1));
    };
    run(0);
    return true;
  }
}

// ---------------------------------------------------------------- loopback server

/** Header values node:http would refuse or rewrite (CR, LF, NUL) are replaced, so most responses parse. */
const headerSafe = (text: string) => text.replace(/[\r\n\0]/g, ' ');
const HOP_BY_HOP = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive']);

/** A raw TCP server that answers each request with the case's next exchange, written byte by byte. */
export class LoopbackServer implements CaseServer {
  readonly delivered: Delivered[] = [];
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #case: FuzzCase;
  readonly #routes: Routes;
  #posts = 0;
  origin = '';

  private constructor(c: FuzzCase, routes: Routes) {
    this.#case = c;
    this.#routes = routes;
    this.#server = createServer((socket) => this.#serve(socket));
  }

  static async start(c: FuzzCase, routes: (self: LoopbackServer) => Routes): Promise<LoopbackServer> {
    const server: LoopbackServer = new LoopbackServer(c, { doc: (path, v) => routes(server).doc(path, v) });
    await new Promise<void>((resolve) => server.#server.listen(0, '127.0.0.1', resolve));
    server.origin = `http://127.0.0.1:${(server.#server.address() as AddressInfo).port}`;
    return server;
  }

  dangling(): number {
    return 0;
  }

  close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #serve(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => {});
    let buffer = Buffer.alloc(0);
    let busy = false;
    socket.on('data', (data: Buffer) => {
      buffer = Buffer.concat([buffer, data]);
      while (!busy) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.subarray(0, end).toString('latin1').split('\r\n');
        const [method = '', path = ''] = head[0]!.split(' ');
        const headers: Record<string, string> = {};
        for (const line of head.slice(1)) {
          const colon = line.indexOf(':');
          headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        const length = Number(headers['content-length'] ?? 0);
        if (buffer.length < end + 4 + length) return;
        const body = buffer.subarray(end + 4, end + 4 + length).toString('utf8');
        buffer = buffer.subarray(end + 4 + length);
        busy = true;
        this.#answer(socket, { method, url: `${this.origin}${path}`, headers, body }, path).then(
          () => {
            busy = false;
            socket.emit('data', Buffer.alloc(0));
          },
          () => socket.destroy(),
        );
      }
    });
  }

  async #answer(socket: Socket, request: RecordedRequest, path: string): Promise<void> {
    const v = echoValues(this.#case, request);
    let exchange: Exchange;
    let kind: Delivered['kind'];
    let location: number | undefined;
    if (request.method === 'GET') {
      const doc = this.#routes.doc(path, v);
      kind = 'doc';
      location = doc?.location;
      exchange = {
        kind: 'response',
        response: doc?.model ?? { status: 404, statusText: ['Not Found'], headers: [], body: { kind: 'text', text: ['not found'] } },
        delivery: { mode: 'sync', cuts: [] },
      };
    } else {
      kind = 'token';
      const all = this.#case.exchanges;
      exchange = all[Math.min(this.#posts, all.length - 1)]!;
      this.#posts += 1;
    }
    const r = exchange.response;
    const list = loopbackHeaderList(renderHeaders(r.headers, v));
    const bodyText = renderBody(r.body, v);
    const bytes = Buffer.from(bodyText, 'utf8');
    const framing = exchange.delivery.mode === 'sync' ? 'length' : exchange.delivery.mode === 'micro' ? 'chunked' : 'close';
    const seen = exchange.kind === 'response' ? loopbackSeen(r.status, list, bodyText, renderText(r.statusText, v)) : undefined;
    this.delivered.push({ request, exchange, seen, kind, location, sentStatus: r.status, sentBody: bodyText, declared: 0 });

    if (exchange.kind === 'error' && exchange.stage !== 'mid-body') {
      socket.resetAndDestroy();
      return;
    }
    if (exchange.kind === 'hang' && exchange.stage === 'before-start') return new Promise(() => {});
    const lines = [`HTTP/1.1 ${r.status} ${headerSafe(renderText(r.statusText, v))}`];
    for (const [name, value] of list) for (const item of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${item}`);
    const partial = exchange.kind !== 'response';
    if (framing === 'length' || partial) lines.push(`content-length: ${bytes.length + (partial ? 10 : 0)}`);
    else if (framing === 'chunked') lines.push('transfer-encoding: chunked');
    else lines.push('connection: close');
    socket.write(`${lines.join('\r\n')}\r\n\r\n`, 'utf8');
    const pieces = chunksOf(bytes, exchange.delivery.cuts);
    const send = partial ? pieces.slice(0, Math.ceil(pieces.length / 2)) : pieces;
    for (const piece of send) {
      if (socket.destroyed) return;
      if (framing === 'chunked' && !partial) {
        if (piece.length > 0) socket.write(`${piece.length.toString(16)}\r\n`);
        if (piece.length > 0) socket.write(piece);
        if (piece.length > 0) socket.write('\r\n');
      } else socket.write(piece);
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (exchange.kind === 'error') {
      socket.resetAndDestroy();
      return;
    }
    if (exchange.kind === 'hang') return new Promise(() => {});
    if (framing === 'chunked') socket.write('0\r\n\r\n');
    if (framing === 'close') socket.end();
  }
}

/** The header list a loopback response is written with (hop-by-hop fields are the server's; CR/LF/NUL replaced). */
export function loopbackHeaderList(list: [string, string | string[]][]): [string, string | string[]][] {
  return list
    .filter(([name]) => !HOP_BY_HOP.has(name))
    .map(([name, value]) => [name, Array.isArray(value) ? value.map(headerSafe) : headerSafe(value)] as [string, string | string[]]);
}

/** What the client sees of a loopback response, when node:http hands it over as written; else undefined. */
export function loopbackSeen(status: number, list: [string, string | string[]][], body: string, statusText = ''): SeenResponse | undefined {
  return isCleanForNode(status, list, statusText) ? { status, headers: nodeHeaders(list), body: roundTrip(body) } : undefined;
}

/** A response node:http hands over as it was written: a final status with a body, one value per header. */
function isCleanForNode(status: number, list: [string, string | string[]][], statusText: string): boolean {
  if (status < 200 || status > 599 || status === 204 || status === 205 || status === 304) return false;
  // node:http refuses a header section over 16 KiB (HPE_HEADER_OVERFLOW), status line included.
  if (list.reduce((n, [name, value]) => n + name.length + String(value).length + 4, statusText.length) > 12_000) return false;
  const names = new Set<string>();
  for (const [name, value] of list) {
    if (names.has(name) || Array.isArray(value)) return false;
    names.add(name);
    // node:http trims optional whitespace and decodes as latin1: only plain ASCII survives as is.
    if (!/^([\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?)?$/.test(value)) return false;
  }
  return true;
}

function nodeHeaders(list: [string, string | string[]][]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of list) out[name] = name === 'set-cookie' ? [value as string] : (value as string);
  return out;
}

export type { Server };
