// m2m-token/undici end to end: oidc-provider issues the tokens, jose-verifying APIs accept or refuse them.
import { Readable } from 'node:stream';
import { Agent, BalancedPool, Client, errors, fetch as undiciFetch, interceptors, Pool, request, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationError, createToken, type TokenSource } from 'm2m-token';
import { tokenInterceptor } from 'm2m-token/undici';
import { BILLING, REPORTS, startAdapterFixture, type AdapterFixture } from './helpers/adapter-fixture.js';
import { adapterContract, renewalHangs, type AdapterHarness, type Caller } from './helpers/adapter-contract.js';

let fx: AdapterFixture;
const agents: Dispatcher[] = [];
beforeAll(async () => {
  fx = await startAdapterFixture();
});
afterAll(async () => {
  await Promise.all(agents.map((a) => a.close()));
  await fx.close();
});

function track<T extends Dispatcher>(dispatcher: T): T {
  agents.push(dispatcher);
  return dispatcher;
}

async function read(response: Dispatcher.ResponseData) {
  const text = await response.body.text();
  return { status: response.statusCode, body: text.startsWith('{') ? JSON.parse(text) : text };
}

function caller(dispatcher: Dispatcher): Caller {
  return async (url, init = {}) =>
    read(
      await request(url, {
        dispatcher,
        method: (init.method ?? 'GET') as Dispatcher.HttpMethod,
        headers: init.headers,
        body: init.stream && init.body !== undefined ? Readable.from([init.body]) : init.body,
        signal: init.signal,
      }),
    );
}

const harness: AdapterHarness = {
  name: 'undici',
  wrap: (source, options) => caller(track(new Agent()).compose(tokenInterceptor(source, options))),
  // The redirect interceptor below the token interceptor: this one sees only the final response of each request.
  wrapFollowingRedirects: (source, options) =>
    caller(track(new Agent()).compose(interceptors.redirect({ maxRedirections: 3 }), tokenInterceptor(source, options))),
  isAbort: (error) => (error as Error | undefined)?.name === 'AbortError',
};

adapterContract(harness, () => fx);

describe('undici specifics', () => {
  it("undici's fetch with the composed dispatcher gets tokens and renews on 401", async () => {
    const dispatcher = track(new Agent()).compose(tokenInterceptor(fx.client(), { targets: fx.targets() }));
    expect((await undiciFetch(`${fx.billing.url}/f1`, { dispatcher })).status).toBe(200);
    fx.billing.revokeSeenTokens();
    const before = fx.billing.requests.length;
    const response = await undiciFetch(`${fx.billing.url}/f2`, { dispatcher });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ ok: true, path: '/f2' });
    expect(fx.billing.requests.slice(before).map((r) => r.authorized)).toEqual([false, true]);
  });

  it("undici's fetch sends a body as a stream, so a POST's 401 is returned, not replayed", async () => {
    const dispatcher = track(new Agent()).compose(tokenInterceptor(fx.client(), { targets: fx.targets() }));
    const before = fx.nobody.requests.length;
    const response = await undiciFetch(`${fx.nobody.url}/post`, { dispatcher, method: 'POST', body: 'text' });
    expect(response.status).toBe(401);
    expect(fx.nobody.requests.length - before).toBe(1);
  });

  it('works on a Client, whose requests carry no origin of their own', async () => {
    const client = track(new Client(fx.billing.url)).compose(tokenInterceptor(fx.client(), { targets: fx.targets() }));
    const response = await client.request({ path: '/client', method: 'GET' });
    expect(response.statusCode).toBe(200);
    await response.body.dump();
    expect(fx.billing.requests.at(-1)).toMatchObject({ path: '/client', authorized: true });
  });

  it('works with headers given as a flat array, and sees Authorization in one', async () => {
    const dispatcher = track(new Agent()).compose(tokenInterceptor(fx.client(), { targets: { [fx.plain.url]: { resource: BILLING } } }));
    await (await request(`${fx.plain.url}/flat`, { dispatcher, headers: ['x-trace', 't-1'] })).body.dump();
    expect(fx.plain.requests.at(-1)!.authorization).toMatch(/^Bearer /);
    await (await request(`${fx.plain.url}/flat-own`, { dispatcher, headers: ['AUTHORIZATION', 'Basic ZmFrZQ=='] })).body.dump();
    expect(fx.plain.requests.at(-1)!.authorization).toBe('Basic ZmFrZQ==');
  });

  it('composes with the redirect interceptor: each hop gets the token of its own origin, or none', async () => {
    const dispatcher = track(new Agent()).compose(tokenInterceptor(fx.client(), { targets: { [fx.plain.url]: { resource: BILLING } } }), interceptors.redirect({ maxRedirections: 1 }));
    fx.plain.reply({ status: 302, headers: { location: `${fx.billing.url}/landed` } });
    const before = fx.billing.requests.length;
    const response = await request(`${fx.plain.url}/moved`, { dispatcher });
    await response.body.dump();
    // billing is not a target here: the hop to it carries no token (and billing answers 401).
    expect(response.statusCode).toBe(401);
    expect(fx.plain.requests.at(-1)!.authorization).toMatch(/^Bearer /);
    expect(fx.billing.requests.slice(before)).toEqual([expect.objectContaining({ path: '/landed', authorized: false })]);
  });

  it('composed before the redirect interceptor, a hop to another target gets that target\'s token', async () => {
    // compose(tokenInterceptor(…), interceptors.redirect(…)): redirect is the outer one and dispatches each hop
    // through the token interceptor. The other order would send the first hop's token along a same-origin
    // redirect and none across origins (undici's redirect drops Authorization there).
    const targets = { [fx.plain.url]: { resource: REPORTS, scope: ['reports:read'] }, [fx.billing.url]: { resource: BILLING } };
    const dispatcher = track(new Agent()).compose(tokenInterceptor(fx.client(), { targets }), interceptors.redirect({ maxRedirections: 1 }));
    fx.plain.reply({ status: 307, headers: { location: `${fx.billing.url}/landed-with-own-token` } });
    const before = fx.billing.requests.length;
    const response = await request(`${fx.plain.url}/moved-to-billing`, { dispatcher });
    await response.body.dump();
    expect(response.statusCode).toBe(200);
    expect(fx.billing.requests.slice(before)).toEqual([expect.objectContaining({ path: '/landed-with-own-token', authorized: true })]);
  });

  it('a caller that aborts while the renewed token is awaited gets its error at once', async () => {
    const renewals: unknown[] = [];
    const dispatcher = track(new Agent()).compose(tokenInterceptor(renewalHangs(renewals), { targets: { [fx.plain.url]: {} } }));
    fx.plain.reply({ status: 401 });
    let controller: Dispatcher.DispatchController | undefined;
    // A bare handler, as libraries built on undici write them: it aborts through the controller it was given.
    const outcome = new Promise<unknown>((resolve) => {
      dispatcher.dispatch({ origin: fx.plain.url, path: '/abort-renewal', method: 'GET' }, {
        onRequestStart: (c) => void (controller = c),
        onResponseStart: (_c, status) => resolve(`response ${status}`),
        onResponseError: (_c, error) => resolve(error),
      });
    });
    await expect.poll(() => renewals.length).toBe(1);
    controller!.abort(new Error('the caller gave up'));
    expect(await outcome).toMatchObject({ message: 'the caller gave up' });
  });

  describe('a caller that aborts after the replay is dispatched, before it starts, gets its error', () => {
    /** An interceptor below tokenInterceptor that holds the second dispatch (the replay) until `release()`. */
    function holdReplay() {
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const state = { dispatched: 0, release };
      const interceptor: Dispatcher.DispatcherComposeInterceptor = (dispatch) =>
        function holdingDispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
          if (++state.dispatched !== 2) return dispatch(opts, handler);
          void released.then(() => dispatch(opts, handler));
          return true;
        };
      return { state, interceptor };
    }

    it('through the controller (a bare handler, as undici fetch aborts)', async () => {
      const { state, interceptor } = holdReplay();
      const dispatcher = track(new Agent()).compose(interceptor, tokenInterceptor(fx.client(), { targets: { [fx.plain.url]: { resource: BILLING } } }));
      fx.plain.reply({ status: 401 });
      let controller: Dispatcher.DispatchController | undefined;
      const outcome = new Promise<unknown>((resolve) => {
        dispatcher.dispatch({ origin: fx.plain.url, path: '/abort-before-replay', method: 'GET' }, {
          onRequestStart: (c) => void (controller = c),
          onResponseStart: (_c, status) => resolve(`response ${status}`),
          onResponseError: (_c, error) => resolve(error),
        });
      });
      await expect.poll(() => state.dispatched).toBe(2);
      controller!.abort(new Error('the caller gave up'));
      state.release();
      expect(await outcome).toMatchObject({ message: 'the caller gave up' });
    });

    it('the replay is aborted with the caller\'s reason as it starts (dispatch driven by hand)', async () => {
      let issued = 0;
      const source: TokenSource = {
        getToken: () => Promise.resolve(createToken({ accessToken: `fake-token-${++issued}`, tokenType: 'Bearer', expiresIn: 60_000, expiresAt: Date.now() + 60_000 })),
        invalidate: () => {},
      };
      const attempts: { handler: Dispatcher.DispatchHandler; controller: Dispatcher.DispatchController & { reasons: Error[] } }[] = [];
      const dispatch = ((_opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) => {
        const reasons: Error[] = [];
        const controller = { aborted: false, paused: false, reason: null, rawHeaders: null, rawTrailers: null, reasons, abort: (r: Error) => void reasons.push(r), pause() {}, resume() {} };
        attempts.push({ handler, controller });
        return true;
      }) as Dispatcher.Dispatch;
      // As compose() on an Agent calls it: no origin of its own (undefined), so opts.origin decides.
      const intercept = tokenInterceptor(source, { anyOrigin: {} }) as (dispatch: Dispatcher.Dispatch, origin: string | null | undefined) => Dispatcher.Dispatch;
      const intercepted = intercept(dispatch, undefined);
      let caller: Dispatcher.DispatchController | undefined;
      intercepted({ origin: 'https://api.example', path: '/', method: 'GET', headers: {} }, { onRequestStart: (c) => void (caller = c) });
      await expect.poll(() => attempts.length).toBe(1);
      const first = attempts[0]!;
      first.handler.onRequestStart!(first.controller, {});
      first.handler.onResponseStart!(first.controller, 401, {}, 'Unauthorized');
      first.handler.onResponseEnd!(first.controller, {});
      await expect.poll(() => attempts.length).toBe(2);
      const reason = new Error('the caller gave up');
      caller!.abort(reason); // the replay is dispatched, not started (still connecting, say)
      const replay = attempts[1]!;
      replay.handler.onRequestStart!(replay.controller, {});
      expect(replay.controller.reasons).toEqual([reason]);
    });

    it("through undici.request's signal", async () => {
      const { state, interceptor } = holdReplay();
      const dispatcher = track(new Agent()).compose(interceptor, tokenInterceptor(fx.client(), { targets: { [fx.plain.url]: { resource: BILLING } } }));
      fx.plain.reply({ status: 401 });
      const abort = new AbortController();
      const outcome = request(`${fx.plain.url}/abort-before-replay-signal`, { dispatcher, signal: abort.signal }).then(
        async (response) => {
          await response.body.dump();
          return `response ${response.statusCode}`;
        },
        (error: unknown) => error,
      );
      await expect.poll(() => state.dispatched).toBe(2);
      abort.abort(new Error('the caller gave up'));
      state.release();
      expect(await outcome).toMatchObject({ message: 'the caller gave up' });
    });
  });

  it('a token failure reaches undici.request as the typed error, not as an undici error', async () => {
    const dispatcher = track(new Agent()).compose(tokenInterceptor(fx.client({ clientSecret: 'wrong-fake-secret-value' }), { targets: fx.targets() }));
    const error = await request(`${fx.billing.url}/x`, { dispatcher }).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(errors.UndiciError);
    expect(error).toMatchObject({ name: 'OAuthError', error: 'invalid_client' });
  });
});

describe('the token goes where the connection goes, not where opts.origin says', () => {
  const tokenRequests = () => {
    const before = fx.as.tokenRequests;
    return () => fx.as.tokenRequests - before;
  };
  const billingOnly = () => ({ targets: { [fx.billing.url]: { resource: BILLING } } });

  it.each([
    ['Pool', () => new Pool(fx.plain.url)],
    ['Client', () => new Client(fx.plain.url)],
  ] as const)("a %s connects to its own origin: a request naming a target's origin sends it no token", async (_name, make) => {
    const count = tokenRequests();
    const dispatcher = track(make()).compose(tokenInterceptor(fx.client(), billingOnly()));
    const response = await dispatcher.request({ origin: fx.billing.url, path: '/named-billing', method: 'GET' });
    await response.body.dump();
    expect(fx.plain.requests.at(-1)).toMatchObject({ path: '/named-billing', authorization: undefined });
    expect(count()).toBe(0);
  });

  it("a Pool for a target gets that target's token, whatever origin a request names", async () => {
    const dispatcher = track(new Pool(fx.billing.url)).compose(tokenInterceptor(fx.client(), billingOnly()));
    const response = await dispatcher.request({ origin: fx.plain.url, path: '/named-plain', method: 'GET' });
    await response.body.dump();
    expect(response.statusCode).toBe(200);
    expect(fx.billing.requests.at(-1)).toMatchObject({ path: '/named-plain', authorized: true });
  });

  it('an Agent connects where opts.origin says, and so does the token', async () => {
    const dispatcher = track(new Agent()).compose(tokenInterceptor(fx.client(), billingOnly()));
    await (await dispatcher.request({ origin: fx.billing.url, path: '/agent-billing', method: 'GET' })).body.dump();
    await (await dispatcher.request({ origin: fx.plain.url, path: '/agent-plain', method: 'GET' })).body.dump();
    expect(fx.billing.requests.at(-1)).toMatchObject({ path: '/agent-billing', authorized: true });
    expect(fx.plain.requests.at(-1)).toMatchObject({ path: '/agent-plain', authorization: undefined });
  });

  it('a compose() chain over a Pool: the origin reaches the token interceptor through the other interceptors', async () => {
    const count = tokenRequests();
    const passThrough: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts, handler) => dispatch(opts, handler);
    const chained = track(new Pool(fx.plain.url)).compose(passThrough).compose(tokenInterceptor(fx.client(), billingOnly()), interceptors.redirect({ maxRedirections: 1 }));
    const response = await chained.request({ origin: fx.billing.url, path: '/chained', method: 'GET' });
    await response.body.dump();
    expect(fx.plain.requests.at(-1)).toMatchObject({ path: '/chained', authorization: undefined });
    expect(count()).toBe(0);
  });

  it('a BalancedPool, whose upstream is not known in advance: targets send no token through it, anyOrigin does', async () => {
    const count = tokenRequests();
    const targeted = track(new BalancedPool([fx.plain.url])).compose(tokenInterceptor(fx.client(), { targets: { [fx.plain.url]: { resource: BILLING } } }));
    await (await targeted.request({ origin: fx.plain.url, path: '/balanced', method: 'GET' })).body.dump();
    expect(fx.plain.requests.at(-1)).toMatchObject({ path: '/balanced', authorization: undefined });
    expect(count()).toBe(0);
    const any = track(new BalancedPool([fx.plain.url])).compose(tokenInterceptor(fx.client(), { anyOrigin: { resource: BILLING } }));
    await (await any.request({ origin: fx.plain.url, path: '/balanced-any', method: 'GET' })).body.dump();
    expect(fx.plain.requests.at(-1)!.authorization).toMatch(/^Bearer /);
  });

  it('an undici whose compose() does not pass the origin (before 8.10.1) is refused when composing', () => {
    const interceptor = tokenInterceptor(fx.client(), billingOnly());
    const dispatch = (() => true) as Dispatcher.Dispatch;
    const error = (() => {
      try {
        interceptor(dispatch);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error).toMatchObject({ option: 'undici' });
    expect((error as Error).message).toMatch(/8\.10\.1/);
  });
});
