// Single flight as callers see it: which flight a caller joins after invalidate(), what a waiter that leaves
// gets, and that every caller owns its copy of a shared failure. Real HTTP on 127.0.0.1 for the client cases.
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ConfigurationError, ErrorCode, TokenClientError, TokenRequestError } from '../src/errors.js';
import { SingleFlight, waitFor } from '../src/single-flight.js';
import { setup } from './helpers/client.js';
import { json, type Responder } from './helpers/token-server.js';

/** Holds each request until its own release; `arrived(n)` resolves when request n (1-based) has come in. */
function gates(): { responder: Responder; release: (n: number) => void; arrived: (n: number) => Promise<void> } {
  const released = new Map<number, () => void>();
  const waits = new Map<number, Promise<void>>();
  const arrivals = new Map<number, () => void>();
  const arrivedP = new Map<number, Promise<void>>();
  const slot = (n: number) => {
    if (!waits.has(n)) waits.set(n, new Promise<void>((r) => released.set(n, r)));
    if (!arrivedP.has(n)) arrivedP.set(n, new Promise<void>((r) => arrivals.set(n, r)));
  };
  return {
    responder: async (_req, res, i) => {
      slot(i);
      arrivals.get(i)!();
      await waits.get(i);
      json(res, 200, { access_token: `token-${i}`, token_type: 'Bearer', expires_in: 3600 });
    },
    release: (n) => {
      slot(n);
      released.get(n)!();
    },
    arrived: (n) => {
      slot(n);
      return arrivedP.get(n)!;
    },
  };
}

describe('a flight overtaken by invalidate()', () => {
  it('settling late does not end the flight that replaced it: later callers join the newer one', async () => {
    const { server, client } = await setup();
    const g = gates();
    server.respond(g.responder);
    const first = client.getToken();
    await g.arrived(1);
    await client.invalidate();
    const second = client.getToken();
    await g.arrived(2);
    // The old flight settles while the new one is still in the air.
    g.release(1);
    expect((await first).accessToken).toBe('token-1');
    const third = client.getToken();
    g.release(2);
    expect((await second).accessToken).toBe('token-2');
    expect((await third).accessToken).toBe('token-2');
    expect(server.requests).toHaveLength(2);
    // And the overtaken token was not cached over the new one.
    expect((await client.getToken()).accessToken).toBe('token-2');
  });

  it('a failed flight is gone: the next call sends a new request', async () => {
    const { server, client } = await setup({ retry: false });
    server.respond((_req, res, i) => (i === 1 ? json(res, 400, { error: 'invalid_scope' }) : json(res, 200, { access_token: `token-${i}`, token_type: 'Bearer', expires_in: 3600 })));
    await expect(client.getToken()).rejects.toMatchObject({ code: 'M2M_OAUTH_ERROR' });
    expect((await client.getToken()).accessToken).toBe('token-2');
    expect(server.requests).toHaveLength(2);
  });
});

describe('SingleFlight', () => {
  it('keeps a flight while it runs and drops it when it settles, either way', async () => {
    const flights = new SingleFlight<string, string>();
    let finish!: (v: string) => void;
    const flight = flights.start('k', 'meta', () => new Promise<string>((r) => (finish = r)));
    expect(flights.get('k')).toBe(flight);
    expect(flight.meta).toBe('meta');
    expect(flights.size).toBe(1);
    finish('v');
    expect(await flight.promise).toBe('v');
    expect(flights.get('k')).toBeUndefined();
    expect(flights.size).toBe(0);
    const failing = flights.start('k', 'm', () => Promise.reject(new Error('no')));
    await expect(failing.promise).rejects.toThrow('no');
    expect(flights.size).toBe(0);
  });

  it('a work function that throws synchronously leaves no flight behind', async () => {
    const flights = new SingleFlight<string, undefined>();
    const flight = flights.start('k', undefined, () => {
      throw new Error('sync');
    });
    await expect(flight.promise).rejects.toThrow('sync');
    expect(flights.get('k')).toBeUndefined();
  });

  it('a replaced flight that settles leaves its replacement in place', async () => {
    const flights = new SingleFlight<string, number>();
    let finishOld!: (v: string) => void;
    const old = flights.start('k', 1, () => new Promise<string>((r) => (finishOld = r)));
    const replacement = flights.start('k', 2, () => new Promise<string>(() => {}));
    finishOld('old');
    expect(await old.promise).toBe('old');
    expect(flights.get('k')).toBe(replacement);
    expect(flights.size).toBe(1);
  });

  it('a failure nobody waits for is not an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const listener = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', listener);
    try {
      const flights = new SingleFlight<string, undefined>();
      flights.start('k', undefined, () => Promise.reject(new Error('nobody listens')));
      await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('unhandledRejection', listener);
    }
    expect(unhandled).toEqual([]);
  });
});

describe('waitFor', () => {
  const failure = () => Object.assign(new TokenRequestError(ErrorCode.NETWORK_ERROR, 'down', { cause: new Error('econnreset'), endpoint: 'https://as.example' }), { attempts: 3 });

  it('gives each waiter its own copy of a shared failure, same class and fields', async () => {
    const shared = Promise.reject(failure());
    shared.catch(() => {});
    for (const signal of [undefined, new AbortController().signal]) {
      const a = (await waitFor(shared, signal).catch((e: unknown) => e)) as TokenRequestError;
      const b = (await waitFor(shared, signal).catch((e: unknown) => e)) as TokenRequestError;
      expect(a).not.toBe(b);
      expect(a).toBeInstanceOf(TokenRequestError);
      expect(Object.getPrototypeOf(a)).toBe(TokenRequestError.prototype);
      expect(a).toMatchObject({ code: 'M2M_NETWORK_ERROR', message: 'down', endpoint: 'https://as.example', attempts: 3, name: 'TokenRequestError' });
      expect((a.cause as Error).message).toBe('econnreset');
      a.attempts = 99;
      expect(b.attempts).toBe(3);
    }
  });

  it('passes values that are not objects on as they are', async () => {
    for (const value of ['text', 42, null, undefined]) {
      expect(await waitFor(Promise.reject(value), undefined).catch((e: unknown) => e)).toBe(value);
      expect(await waitFor(Promise.reject(value), new AbortController().signal).catch((e: unknown) => e)).toBe(value);
    }
  });

  it('resolves with the value, and leaves no listener on the signal', async () => {
    const controller = new AbortController();
    expect(await waitFor(Promise.resolve('v'), controller.signal)).toBe('v');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    await waitFor(Promise.reject(new Error('x')), controller.signal).catch(() => {});
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('rejects with M2M_ABORTED, the reason as cause, when the signal aborts first; at once when already aborted', async () => {
    const controller = new AbortController();
    const reason = new Error('caller left');
    const waiting = waitFor(new Promise<never>(() => {}), controller.signal);
    controller.abort(reason);
    const error = (await waiting.catch((e: unknown) => e)) as TokenRequestError;
    expect(error).toBeInstanceOf(TokenRequestError);
    expect(error.code).toBe('M2M_ABORTED');
    expect(error.cause).toBe(reason);
    expect(error.message).toContain('aborted by its signal');
    const already = (await waitFor(Promise.resolve('v'), AbortSignal.abort(reason)).catch((e: unknown) => e)) as TokenRequestError;
    expect(already).toMatchObject({ code: 'M2M_ABORTED', cause: reason });
  });

  it('a signal that cannot be listened to is a ConfigurationError naming getToken.signal and what was thrown', async () => {
    const broken = (thrown: unknown) =>
      ({
        aborted: false,
        addEventListener() {
          throw thrown;
        },
        removeEventListener() {},
      }) as unknown as AbortSignal;
    const e1 = (await waitFor(Promise.resolve('v'), broken(new TypeError('nope'))).catch((e: unknown) => e)) as ConfigurationError;
    expect(e1).toBeInstanceOf(ConfigurationError);
    expect(e1.option).toBe('getToken.signal');
    expect(e1.message).toContain('(TypeError)');
    expect(e1.message).toContain('pass a standard AbortSignal');
    const e2 = (await waitFor(Promise.resolve('v'), broken(null)).catch((e: unknown) => e)) as ConfigurationError;
    expect(e2.message).toContain('(object)');
    const e3 = (await waitFor(Promise.resolve('v'), broken('str')).catch((e: unknown) => e)) as ConfigurationError;
    expect(e3.message).toContain('(string)');
  });

  it('a signal whose removeEventListener throws does not turn a result into a failure', async () => {
    const signal = {
      aborted: false,
      addEventListener() {},
      removeEventListener() {
        throw new Error('broken');
      },
    } as unknown as AbortSignal;
    expect(await waitFor(Promise.resolve('v'), signal)).toBe('v');
    const error = await waitFor(Promise.reject(new TokenClientError(ErrorCode.UNEXPECTED, 'x')), signal).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'M2M_UNEXPECTED_ERROR' });
  });
});
