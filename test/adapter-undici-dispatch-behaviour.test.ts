// m2m-token/undici's interceptor around a scripted dispatcher (no network): the interceptor factory is called by
// hand, as compose() calls it (documented on tokenInterceptor), and each attempt's callbacks are driven by the
// test. What the caller's handler hears: one request however many attempts, every callback it has (and none it
// lacks), and nothing after its last one; what an abort does while a token is on its way or an attempt in flight.
import type { Dispatcher } from 'undici';
import { describe, expect, it } from 'vitest';
import { createToken, type Token, type TokenSource } from 'm2m-token';
import { tokenInterceptor } from 'm2m-token/undici';
import { dpopSource } from './helpers/dpop-source.js';

const ORIGIN = 'https://api.example.com';
const flush = () => new Promise((resolve) => setImmediate(resolve));
const bearer = (accessToken: string): Token => createToken({ accessToken, tokenType: 'Bearer', expiresIn: 60_000, expiresAt: Date.now() + 60_000 });

/** A source whose first token is tok-1 and whose renewals wait for the test (renew.resolve / renew.reject). */
function source() {
  const renew = {} as { resolve: (t: Token) => void; reject: (e: Error) => void };
  const s: TokenSource = {
    getToken: (options) =>
      options?.forceRefresh
        ? new Promise<Token>((resolve, reject) => Object.assign(renew, { resolve, reject }))
        : Promise.resolve(bearer('tok-1')),
    invalidate: () => undefined,
  };
  return { s, renew };
}

/** One attempt the interceptor dispatched, with its own controller; the test plays undici's part. */
class Attempt {
  readonly aborts: string[] = [];
  readonly controller = {
    aborted: false,
    paused: false,
    reason: null as Error | null,
    rawHeaders: null,
    rawTrailers: null,
    abort: (reason: Error) => void this.aborts.push(reason.message),
    pause: () => undefined,
    resume: () => undefined,
  } as unknown as Dispatcher.DispatchController;

  constructor(
    readonly opts: Dispatcher.DispatchOptions,
    readonly handler: Dispatcher.DispatchHandler,
  ) {}

  get authorization(): unknown {
    return (this.opts.headers as Record<string, unknown>).authorization;
  }
  start(context: object = {}): void {
    this.handler.onRequestStart!(this.controller, context);
  }
  respond(status: number, body = '', headers: Record<string, string> = {}): void {
    this.handler.onResponseStart!(this.controller, status, { 'content-type': 'text/plain', ...headers }, String(status));
    if (body !== '') this.handler.onResponseData!(this.controller, Buffer.from(body));
    this.handler.onResponseEnd!(this.controller, {});
  }
  fail(error: Error): void {
    this.handler.onResponseError!(this.controller, error);
  }
}

function interceptor(s: TokenSource, dispatcherOrigin?: unknown, body?: unknown) {
  const attempts: Attempt[] = [];
  const dispatch: Dispatcher.Dispatch = (opts, handler) => {
    attempts.push(new Attempt(opts, handler));
    return true;
  };
  // compose() passes the dispatcher's origin; undefined: an Agent, where opts.origin decides.
  const factory = tokenInterceptor(s, { anyOrigin: {}, renewOn: 'any-401', renewInterval: 0 }) as unknown as (d: Dispatcher.Dispatch, origin: unknown) => Dispatcher.Dispatch;
  const intercept = factory(dispatch, dispatcherOrigin);
  const send = (handler: Dispatcher.DispatchHandler) => intercept({ origin: ORIGIN, path: '/x', method: 'GET', headers: {}, ...(body === undefined ? {} : { body: body as string }) }, handler);
  return { attempts, send };
}

/** The caller's handler: records every callback as a line; `controller` is the one it was given. */
function caller() {
  const events: string[] = [];
  const state = { controller: undefined as Dispatcher.DispatchController | undefined };
  const handler: Dispatcher.DispatchHandler = {
    onRequestStart: (controller) => {
      state.controller = controller;
      events.push('start');
    },
    onRequestUpgrade: (_c, status, headers, socket) => void events.push(`upgrade ${status} ${JSON.stringify(headers)} ${String(socket)}`),
    onResponseStart: (_c, status) => void events.push(`response ${status}`),
    onResponseData: (_c, chunk) => void events.push(`data ${String(chunk)}`),
    onResponseEnd: () => void events.push('end'),
    onResponseError: (_c, error) => void events.push(`error ${error.message}`),
  };
  // Older callbacks undici still calls on some paths: passed on as they come.
  Object.assign(handler, {
    onResponseStarted: () => void events.push('response started'),
    onBodySent: (chunk: Buffer) => void events.push(`body sent ${String(chunk)}`),
    onRequestSent: () => void events.push('request sent'),
  });
  return { events, handler, state };
}

describe('tokenInterceptor: what the caller\'s handler hears', () => {
  it('one request across a renewal: one start, and only the replay\'s response', async () => {
    const { s, renew } = source();
    const { attempts, send } = interceptor(s);
    const { events, handler } = caller();
    expect(send(handler)).toBe(true);
    await flush();
    attempts[0]!.start();
    attempts[0]!.respond(401, 'denied');
    await flush();
    renew.resolve(bearer('tok-2'));
    await flush();
    expect(attempts.map((a) => a.authorization)).toEqual(['Bearer tok-1', 'Bearer tok-2']);
    attempts[1]!.start();
    attempts[1]!.respond(200, 'ok');
    expect(events).toEqual(['start', 'response 200', 'data ok', 'end']);
  });

  it('the upgrade, response-started, body-sent and request-sent callbacks are passed on', async () => {
    const { s } = source();
    const { attempts, send } = interceptor(s);
    const { events, handler } = caller();
    send(handler);
    await flush();
    const [attempt] = attempts;
    attempt!.start();
    attempt!.handler.onRequestSent?.();
    attempt!.handler.onBodySent?.(Buffer.from('chunk'));
    attempt!.handler.onResponseStarted?.();
    attempt!.handler.onRequestUpgrade!(attempt!.controller, 101, { upgrade: 'websocket' }, 'the-socket' as never);
    expect(events).toEqual(['start', 'request sent', 'body sent chunk', 'response started', 'upgrade 101 {"upgrade":"websocket"} the-socket']);
  });

  it('a handler without any callback: a renewal, a response, an upgrade and a failure all pass without one', async () => {
    const { s, renew } = source();
    const { attempts, send } = interceptor(s);
    send({});
    await flush();
    const [first] = attempts;
    first!.start();
    first!.handler.onRequestSent?.();
    first!.handler.onBodySent?.(Buffer.from('chunk'));
    first!.handler.onResponseStarted?.();
    first!.handler.onRequestUpgrade!(first!.controller, 101, {}, 'the-socket' as never);
    first!.respond(401, 'denied');
    await flush();
    renew.resolve(bearer('tok-2'));
    await flush();
    attempts[1]!.start();
    attempts[1]!.respond(200, 'ok');
    // And a request whose token cannot be had: the failure has nowhere to go, and nothing throws.
    const failing: TokenSource = { getToken: () => Promise.reject(new Error('token endpoint down')) };
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => void rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    try {
      interceptor(failing).send({});
      await flush();
      await flush();
    } finally {
      process.off('unhandledRejection', onRejection);
    }
    expect(rejections).toEqual([]);
  });

  it('nothing after the last callback: an error after the end, or a second error, is dropped', async () => {
    const { s } = source();
    const { attempts, send } = interceptor(s);
    const { events, handler } = caller();
    send(handler);
    await flush();
    attempts[0]!.start();
    attempts[0]!.respond(200, 'ok');
    attempts[0]!.fail(new Error('late'));
    attempts[0]!.handler.onResponseEnd!(attempts[0]!.controller, {});
    expect(events).toEqual(['start', 'response 200', 'data ok', 'end']);

    const second = caller();
    send(second.handler);
    await flush();
    attempts[1]!.start();
    attempts[1]!.fail(new Error('reset'));
    attempts[1]!.fail(new Error('again'));
    attempts[1]!.handler.onResponseEnd!(attempts[1]!.controller, {});
    expect(second.events).toEqual(['start', 'error reset']);
  });
});

describe('tokenInterceptor: aborts', () => {
  it('during an attempt: the abort goes to that attempt, and the caller hears of it from the attempt', async () => {
    const { s } = source();
    const { attempts, send } = interceptor(s);
    const { events, handler, state } = caller();
    send(handler);
    await flush();
    attempts[0]!.start();
    state.controller!.abort(new Error('stop'));
    expect(attempts[0]!.aborts).toEqual(['stop']);
    expect(events).toEqual(['start']);
    attempts[0]!.fail(new Error('stop'));
    expect(events).toEqual(['start', 'error stop']);
  });

  it('while the renewed token is on its way: the request ends at once, and no replay is sent when it comes', async () => {
    const { s, renew } = source();
    const { attempts, send } = interceptor(s);
    const { events, handler, state } = caller();
    send(handler);
    await flush();
    attempts[0]!.start();
    attempts[0]!.respond(401, 'denied');
    await flush();
    state.controller!.abort(new Error('stop'));
    expect(events).toEqual(['start', 'error stop']);
    renew.resolve(bearer('tok-2'));
    await flush();
    expect(attempts).toHaveLength(1);
    expect(events).toEqual(['start', 'error stop']);
  });

  it('while the renewed token is on its way, and the renewal then fails: one error, the abort\'s', async () => {
    const { s, renew } = source();
    const { attempts, send } = interceptor(s);
    const { events, handler, state } = caller();
    send(handler);
    await flush();
    attempts[0]!.start();
    attempts[0]!.respond(401, 'denied');
    await flush();
    state.controller!.abort(new Error('stop'));
    renew.reject(new Error('token endpoint down'));
    await flush();
    expect(attempts).toHaveLength(1);
    expect(events).toEqual(['start', 'error stop']);
  });
});

describe('tokenInterceptor: where the dispatcher connects', () => {
  it('a Client\'s origin as compose() passes it (any case, default port, a URL) is normalized: a 401 after same-origin redirects is renewed', async () => {
    for (const origin of ['https://API.Example.com:443/', new URL('https://api.example.com')]) {
      const { s, renew } = source();
      const { attempts, send } = interceptor(s, origin);
      const { events, handler } = caller();
      send(handler);
      await flush();
      // undici's redirect interceptor hands each hop's context the URLs so far.
      attempts[0]!.start({ history: [new URL(`${ORIGIN}/old`), new URL(`${ORIGIN}/x`)] });
      attempts[0]!.respond(401, 'denied');
      await flush();
      renew.resolve(bearer('tok-2'));
      await flush();
      expect(attempts).toHaveLength(2);
      attempts[1]!.start();
      attempts[1]!.respond(200, 'ok');
      expect(events).toEqual(['start', 'response 200', 'data ok', 'end']);
    }
  });

  it('a dispatcher that picks its upstream (BalancedPool: null) with anyOrigin: the DPoP proof names the request\'s own origin', async () => {
    const proofs: string[] = [];
    const s: TokenSource = {
      getToken: async () => createToken({ accessToken: 'dpop-tok', tokenType: 'DPoP', expiresIn: 60_000, expiresAt: Date.now() + 60_000 }),
      proof: async (_token, method, url) => {
        proofs.push(`${method} ${String(url)}`);
        return 'proof.jwt.value';
      },
    };
    const { attempts, send } = interceptor(s, null);
    const { events, handler } = caller();
    send(handler);
    await flush();
    await flush();
    expect(proofs).toEqual([`GET ${ORIGIN}/x`]);
    expect(attempts[0]!.opts.headers).toMatchObject({ authorization: 'DPoP dpop-tok', dpop: 'proof.jwt.value' });
    attempts[0]!.start();
    attempts[0]!.respond(200, 'ok');
    expect(events).toEqual(['start', 'response 200', 'data ok', 'end']);
  });
});

describe('tokenInterceptor: DPoP tokens', () => {
  const challenge = { 'www-authenticate': 'DPoP error="use_dpop_nonce", error_description="nonce required"', 'dpop-nonce': 'n-1' };

  it('each attempt carries the token and a fresh proof; a nonce challenge is hidden, and the request goes once more with a proof that carries the nonce', async () => {
    const { source: s, log } = dpopSource();
    const { attempts, send } = interceptor(s);
    const { events, handler } = caller();
    send(handler);
    await flush();
    await flush();
    expect(attempts[0]!.opts.headers).toEqual({ authorization: 'DPoP dpop-1', dpop: 'proof-1' });
    attempts[0]!.start();
    attempts[0]!.respond(401, 'use the nonce', challenge);
    await flush();
    await flush();
    expect(attempts).toHaveLength(2);
    expect(attempts[1]!.opts.headers).toEqual({ authorization: 'DPoP dpop-1', dpop: 'proof-2' });
    attempts[1]!.start();
    attempts[1]!.respond(200, 'ok');
    expect(events).toEqual(['start', 'response 200', 'data ok', 'end']);
    expect(log).toEqual([`proof-1 dpop-1 GET ${ORIGIN}/x nonce=-`, `nonce ${ORIGIN}/x n-1`, `proof-2 dpop-1 GET ${ORIGIN}/x nonce=n-1`]);
  });

  it('a nonce on any answer is remembered; not one from another origin at the end of a redirect', async () => {
    const { source: s, log } = dpopSource();
    const { attempts, send } = interceptor(s);
    send(caller().handler);
    await flush();
    await flush();
    // Redirected within the origin: still this origin's nonce.
    attempts[0]!.start({ history: [new URL(`${ORIGIN}/old`), `${ORIGIN}/x`] });
    attempts[0]!.respond(200, 'ok', { 'dpop-nonce': 'n-ok' });
    send(caller().handler);
    await flush();
    await flush();
    attempts[1]!.start({ history: [`${ORIGIN}/x`, 'https://elsewhere.example.com/y'] });
    attempts[1]!.respond(200, 'ok', { 'dpop-nonce': 'n-elsewhere' });
    // An unparsable hop is another origin too.
    send(caller().handler);
    await flush();
    await flush();
    attempts[2]!.start({ history: [null] });
    attempts[2]!.respond(200, 'ok', { 'dpop-nonce': 'n-odd' });
    expect(log.filter((l) => l.startsWith('nonce'))).toEqual([`nonce ${ORIGIN}/x n-ok`]);
  });

  it('a nonce challenge from another origin, to a stream body, or to the replay is passed on as it is', async () => {
    for (const variant of ['redirected', 'stream', 'replay'] as const) {
      const { source: s } = dpopSource();
      const body = variant === 'stream' ? (async function* () {})() : undefined;
      const { attempts, send } = interceptor(s, undefined, body);
      const { events, handler } = caller();
      send(handler);
      await flush();
      await flush();
      if (variant === 'replay') {
        // A renewal first (invalid_token), then the nonce challenge on the replay.
        attempts[0]!.start();
        attempts[0]!.respond(401, 'expired', { 'www-authenticate': 'DPoP error="invalid_token"' });
        await flush();
        await flush();
        await flush();
      }
      const last = attempts.at(-1)!;
      last.start(variant === 'redirected' ? { history: ['https://elsewhere.example.com/x'] } : {});
      last.respond(401, 'use the nonce', challenge);
      await flush();
      await flush();
      expect({ variant, attempts: attempts.length, events }).toEqual({ variant, attempts: variant === 'replay' ? 2 : 1, events: ['start', 'response 401', 'data use the nonce', 'end'] });
    }
  });

  it('a renewal that brings a Bearer token: the replay has no proof', async () => {
    const { source: s } = dpopSource('Bearer');
    const { attempts, send } = interceptor(s);
    send(caller().handler);
    await flush();
    await flush();
    attempts[0]!.start();
    attempts[0]!.respond(401, 'expired', { 'www-authenticate': 'DPoP error="invalid_token"' });
    await flush();
    await flush();
    await flush();
    expect(attempts[1]!.opts.headers).toEqual({ authorization: 'Bearer dpop-2' });
  });
});
