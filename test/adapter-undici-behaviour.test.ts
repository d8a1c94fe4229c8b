// The undici adapter's two small parts as its callers rely on them: headers read and added in each shape undici
// accepts (never mutating the caller's), and the controller a caller holds across a renewal (pause, resume and
// abort reach whichever attempt is current, and an abort is never lost between attempts).
import type { Dispatcher } from 'undici';
import { describe, expect, it } from 'vitest';
import { hasHeader, withHeader } from '../src/undici/headers.js';
import { StableController } from '../src/undici/stable-controller.js';

describe('headers in every shape', () => {
  it('hasHeader: a record, a flat list, a list of pairs, an iterable; names in any case; undefined values unset', () => {
    const has = (headers: unknown) => hasHeader(headers as never, 'authorization');
    expect(has({ Authorization: 'x' })).toBe(true);
    expect(has({ authorization: undefined })).toBe(false);
    expect(has({ accept: 'x' })).toBe(false);
    expect(has(['Accept', 'a', 'AUTHORIZATION', 'x'])).toBe(true);
    expect(has(['Accept', 'a', 'authorization'])).toBe(false); // a name without its value
    expect(has(['authorization', undefined])).toBe(false);
    expect(has([['accept', 'a'], ['Authorization', 'x']])).toBe(true);
    expect(has(new Map([['authorization', 'x']]))).toBe(true);
    expect(has(new Map([['accept', 'x']]))).toBe(false);
    expect(has([])).toBe(false);
    expect(has(null)).toBe(false);
    expect(has(undefined)).toBe(false);
  });

  it('withHeader: the same shape where it can, a record for none, a flat list for lists and iterables; the input untouched', () => {
    expect(withHeader(undefined, 'authorization', 'v')).toEqual({ authorization: 'v' });
    expect(withHeader(null as never, 'authorization', 'v')).toEqual({ authorization: 'v' });
    const record = { accept: 'a' };
    expect(withHeader(record, 'authorization', 'v')).toEqual({ accept: 'a', authorization: 'v' });
    expect(record).toEqual({ accept: 'a' });
    const flat = ['accept', 'a', 'x-gone', undefined, 'x-multi', ['1', '2']];
    expect(withHeader(flat as never, 'authorization', 'v')).toEqual(['accept', 'a', 'x-multi', ['1', '2'], 'authorization', 'v']);
    expect(flat).toHaveLength(6);
    expect(withHeader([['accept', 'a']] as never, 'authorization', 'v')).toEqual(['accept', 'a', 'authorization', 'v']);
    expect(withHeader(new Map([['accept', 'a']]) as never, 'authorization', 'v')).toEqual(['accept', 'a', 'authorization', 'v']);
    expect(withHeader([] as never, 'authorization', 'v')).toEqual(['authorization', 'v']);
  });
});

function fakeController() {
  const calls: string[] = [];
  const c = {
    aborted: false,
    paused: false,
    reason: null as Error | null,
    rawHeaders: ['a', 'b'] as unknown as Buffer[],
    rawTrailers: ['t'] as unknown as Buffer[],
    abort(reason: Error) {
      calls.push(`abort ${reason.message}`);
      c.aborted = true;
      c.reason = reason;
    },
    pause() {
      calls.push('pause');
      c.paused = true;
    },
    resume() {
      calls.push('resume');
      c.paused = false;
    },
  };
  return { c: c as unknown as Dispatcher.DispatchController & typeof c, calls };
}

describe('StableController', () => {
  it('before any attempt: nothing aborted or paused, no headers', () => {
    const s = new StableController(() => {});
    expect([s.aborted, s.paused, s.reason, s.rawHeaders, s.rawTrailers]).toEqual([false, false, null, null, null]);
  });

  it('forwards to the current attempt and reads its state', () => {
    const s = new StableController(() => {});
    const first = fakeController();
    s.target = first.c;
    expect(s.rawHeaders).toEqual(['a', 'b']);
    expect(s.rawTrailers).toEqual(['t']);
    s.pause();
    expect(first.calls).toEqual(['pause']);
    expect(s.paused).toBe(true);
    s.resume();
    expect(s.paused).toBe(false);
    // The attempt's own state shows through.
    first.c.paused = true;
    expect(s.paused).toBe(true);
    first.c.paused = false;
    first.c.aborted = true;
    expect(s.aborted).toBe(true);
    first.c.reason = new Error('attempt said');
    expect(s.reason?.message).toBe('attempt said');
  });

  it('a pause carries over to the next attempt; a resume before it does not', () => {
    const s = new StableController(() => {});
    s.pause();
    const next = fakeController();
    s.target = next.c;
    expect(next.calls).toEqual(['pause']);
    s.resume();
    const third = fakeController();
    s.target = third.c;
    expect(third.calls).toEqual([]);
  });

  it('an abort reaches the current attempt and the listener, and every later attempt at once; the first reason stays', () => {
    const heard: string[] = [];
    const s = new StableController((reason) => heard.push(reason.message));
    const first = fakeController();
    s.target = first.c;
    s.abort(new Error('stop'));
    expect(first.calls).toEqual(['abort stop']);
    expect(heard).toEqual(['stop']);
    expect(s.aborted).toBe(true);
    s.abort(new Error('again'));
    expect(s.reason?.message).toBe('stop');
    expect(heard).toEqual(['stop', 'again']);
    const next = fakeController();
    s.target = next.c;
    expect(next.calls).toEqual(['abort stop']);
  });

  it('an abort between attempts is heard, and kept for the next one', () => {
    const heard: string[] = [];
    const s = new StableController((reason) => heard.push(reason.message));
    s.abort(new Error('early'));
    expect(heard).toEqual(['early']);
    expect([s.aborted, s.reason?.message]).toEqual([true, 'early']);
    s.pause();
    const next = fakeController();
    s.target = next.c;
    expect(next.calls).toEqual(['abort early']);
  });
});
