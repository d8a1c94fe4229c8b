// The adapters' shared options as a user meets them when one is wrong: each refusal names the option and says
// what it takes. And what a valid configuration resolves to.
import { describe, expect, it } from 'vitest';
import { ConfigurationError, createToken } from '../src/index.js';
import { AdapterTokens } from '../src/adapters/tokens.js';
import { fetchWithTokens } from '../src/fetch/index.js';
import { attachTokens } from '../src/axios/index.js';
import axios from 'axios';
import { answeredBy, asAbortSignal, authorizationFor, isReplayableBody, originOf, tokenKey } from '../src/adapters/policy.js';
import { parseChallenges } from '../src/adapters/www-authenticate.js';
import type { Token } from '../src/index.js';
import { DEFAULT_RENEW_INTERVAL, resolveAdapterOptions } from '../src/adapters/options.js';
import { configError } from './helpers/config-error.js';

const refusal = (options: unknown, own: string[] = []): ConfigurationError => configError(() => resolveAdapterOptions(options, own));
const says = (options: unknown, option: string, text: string) => expect(refusal(options)).toMatchObject({ option, message: expect.stringContaining(text) });

describe('adapter option refusals say what the option takes', () => {
  it('the options object, unknown names (listing the known ones, own ones included)', () => {
    for (const options of [null, undefined, 'https://api.example.com', 5]) says(options, 'options', 'must be an object such as { targets: { "https://api.example.com": { audience } } }');
    expect(refusal({ anyOrigin: {}, retries: 1 }, ['fetch'])).toMatchObject({ option: 'retries', message: expect.stringContaining('unknown option; adapters take targets, anyOrigin, renewOn, renewInterval, clock, fetch') });
    expect(resolveAdapterOptions({ anyOrigin: {}, fetch: 1 }, ['fetch']).anyOrigin).toEqual({});
  });

  it('targets: at least one, an object, origins only', () => {
    says({}, 'targets', 'give at least one origin, or opt in to every origin with anyOrigin');
    for (const targets of [null, ['https://a.example.com'], 'https://a.example.com']) says({ targets }, 'targets', 'must be an object of origin → token parameters');
    says({ targets: { 'not a url': {} } }, 'targets', '"not a url" is not an origin; write it as https://host[:port]');
    says({ targets: { 'ftp://a.example.com': {} } }, 'targets', '"ftp://a.example.com" is not an http(s) origin; write it as https://host[:port]');
    says({ targets: { 'https://u:p@a.example.com': {} } }, 'targets', 'an origin must not contain user:password@');
    says({ targets: { 'https://u@a.example.com': {} } }, 'targets', 'an origin must not contain user:password@');
    for (const key of ['https://a.example.com/v1', 'https://a.example.com/?x', 'https://a.example.com?', 'https://a.example.com#', 'https://a.example.com/#top']) {
      says({ targets: { [key]: {} } }, 'targets', `${JSON.stringify(key)} is not an origin: drop the path, query and fragment (tokens are chosen per origin)`);
    }
    says({ targets: { 'https://a.example.com': {}, 'https://A.EXAMPLE.com:443/': {} } }, 'targets', 'origin https://a.example.com is listed twice');
  });

  it('a target: an object of known fields with values of the right type', () => {
    const t = (target: unknown) => ({ targets: { 'https://a.example.com': target } });
    for (const target of [null, [], 'aud']) says(t(target), 'targets["https://a.example.com"]', "must be an object of token parameters such as { audience }; {} means the source's defaults");
    says(t({ audiences: 'x' }), 'targets["https://a.example.com"].audiences', 'unknown field; a target takes audience, organization, scope, resource, extraParams');
    for (const [field, value, expected] of [
      ['audience', '', 'a non-empty string'],
      ['organization', 5, 'a non-empty string'],
      ['scope', 5, 'a string or an array of strings'],
      ['scope', ['a', 5], 'a string or an array of strings'],
      ['resource', {}, 'a string or an array of strings'],
      ['extraParams', 'x', 'an object'],
      ['extraParams', null, 'an object'],
      ['extraParams', ['x'], 'an object'],
    ] as const) {
      says(t({ [field]: value }), `targets["https://a.example.com"].${field}`, `must be ${expected}`);
    }
    says({ anyOrigin: null }, 'anyOrigin', 'must be an object of token parameters');
    const ok = resolveAdapterOptions(t({ audience: undefined, organization: 'o', scope: ['x', 'y'], resource: 'https://r', extraParams: { k: 'v' } }));
    expect(ok.targets.get('https://a.example.com')).toEqual({ audience: undefined, organization: 'o', scope: ['x', 'y'], resource: 'https://r', extraParams: { k: 'v' } });
    expect(resolveAdapterOptions(t({ scope: 'a b', resource: ['https://r'] })).targets.get('https://a.example.com')).toEqual({ scope: 'a b', resource: ['https://r'] });
  });

  it('renewOn, renewInterval, clock', () => {
    says({ anyOrigin: {}, renewOn: 'always' }, 'renewOn', "must be 'any-401' or 'invalid_token'");
    for (const renewInterval of [-1, Number.POSITIVE_INFINITY, '1000']) says({ anyOrigin: {}, renewInterval }, 'renewInterval', 'must be a finite number of milliseconds, 0 or more (default 30000)');
    for (const clock of [null, {}, 5, { now: 5 }]) says({ anyOrigin: {}, clock }, 'clock', 'must be an object with a now() method returning milliseconds');
    const config = resolveAdapterOptions({ anyOrigin: {}, renewOn: 'invalid_token', renewInterval: 0 });
    expect(config).toMatchObject({ renewOn: 'invalid_token', renewInterval: 0 });
    expect(resolveAdapterOptions({ anyOrigin: {}, renewOn: 'any-401' }).renewOn).toBe('any-401');
    expect(resolveAdapterOptions({ anyOrigin: {} }).renewInterval).toBe(DEFAULT_RENEW_INTERVAL);
  });

  it('keeps copies: changing the options afterwards changes nothing', () => {
    const target = { audience: 'a' };
    const anyOrigin = { audience: 'b' };
    const config = resolveAdapterOptions({ targets: { 'https://a.example.com': target }, anyOrigin });
    target.audience = 'changed';
    anyOrigin.audience = 'changed';
    expect(config.targets.get('https://a.example.com')).toEqual({ audience: 'a' });
    expect(config.anyOrigin).toEqual({ audience: 'b' });
    expect(Object.isFrozen(config.anyOrigin)).toBe(true);
    expect(Object.isFrozen(config.targets.get('https://a.example.com'))).toBe(true);
  });
});

describe('AdapterTokens: renewals and discards', () => {
  const target = { audience: 'a' };
  function source(options: { failRefresh?: number; failInvalidate?: number; noInvalidate?: boolean } = {}) {
    const calls: string[] = [];
    let serial = 0;
    let failRefresh = options.failRefresh ?? 0;
    let failInvalidate = options.failInvalidate ?? 0;
    const s = {
      getToken: async (o: Record<string, unknown>) => {
        calls.push(`get ${JSON.stringify(o)}`);
        if (o.forceRefresh && failRefresh-- > 0) throw new Error('endpoint down');
        serial += 1;
        return createToken({ accessToken: `t${serial}`, tokenType: 'Bearer', expiresIn: 60_000, expiresAt: Date.now() + 60_000 });
      },
      ...(options.noInvalidate
        ? {}
        : {
            invalidate: async (o: Record<string, unknown>) => {
              calls.push(`invalidate ${JSON.stringify(o)}`);
              if (failInvalidate-- > 0) throw new Error('store down');
            },
          }),
    };
    return { s, calls };
  }

  it('refuses anything but a TokenSource, naming source; lists only the shared options when the adapter has none', () => {
    for (const bad of [null, undefined, 5, {}, { getToken: 1 }]) {
      expect(() => new AdapterTokens(bad, { anyOrigin: {} })).toThrow(expect.objectContaining({ option: 'source', message: expect.stringContaining('must be a TokenSource, such as a TokenClient (an object with getToken())') }));
    }
    expect(() => new AdapterTokens(source().s, { anyOrigin: {}, x: 1 })).toThrow(expect.objectContaining({ option: 'x', message: expect.stringMatching(/adapters take targets, anyOrigin, renewOn, renewInterval, clock$/) }));
  });

  it('a renewal asks for the same target with forceRefresh; a failed one is forgotten, so the same token is renewed again', async () => {
    const { s, calls } = source({ failRefresh: 1 });
    const tokens = new AdapterTokens(s, { anyOrigin: {}, renewInterval: 0 });
    const rejected = await tokens.get(target);
    await expect(tokens.renew(target, rejected)).rejects.toThrow('endpoint down');
    const renewed = await tokens.renew(target, rejected);
    expect(renewed?.accessToken).toBe('t2');
    expect(calls).toEqual(['get {"audience":"a"}', 'invalidate {"audience":"a"}', 'get {"audience":"a","forceRefresh":true}', 'invalidate {"audience":"a"}', 'get {"audience":"a","forceRefresh":true}']);
    // The same rejected token again: the same renewal, no new request.
    expect(await tokens.renew(target, rejected)).toBe(renewed);
    expect(calls).toHaveLength(5);
  });

  it('a clock that went back does not hold renewals off', async () => {
    let now = 1_000;
    const { s } = source();
    const tokens = new AdapterTokens(s, { anyOrigin: {}, clock: { now: () => now } });
    const first = await tokens.get(target);
    expect(tokens.renew(target, first)).toBeDefined();
    const second = await tokens.get(target);
    now = 500;
    expect(tokens.renew(target, second)).toBeDefined();
    const third = await tokens.get(target);
    now = 600;
    expect(tokens.renew(target, third)).toBeUndefined();
  });

  it('an aborted signal rejects at once with its reason', async () => {
    const { s } = source();
    const tokens = new AdapterTokens(s, { anyOrigin: {} });
    const rejected = await tokens.get(target);
    const reason = new Error('caller gave up');
    await expect(tokens.renew(target, rejected, AbortSignal.abort(reason))).rejects.toBe(reason);
  });

  it('discard drops the token once; not one a renewal already replaced; again after a failed invalidate', async () => {
    const { s, calls } = source({ failInvalidate: 1 });
    const tokens = new AdapterTokens(s, { anyOrigin: {}, renewInterval: 0 });
    const token = await tokens.get(target);
    calls.length = 0;
    await tokens.discard(target, token); // fails: store down
    await tokens.discard(target, token);
    await tokens.discard(target, token);
    expect(calls).toEqual(['invalidate {"audience":"a"}', 'invalidate {"audience":"a"}']);
    const renewedAway = await tokens.get(target);
    await tokens.renew(target, renewedAway);
    calls.length = 0;
    await tokens.discard(target, renewedAway);
    expect(calls).toEqual([]);
    const { s: bare } = source({ noInvalidate: true });
    const plain = new AdapterTokens(bare, { anyOrigin: {} });
    await expect(plain.discard(target, await plain.get(target))).resolves.toBeUndefined();
  });
});

describe('policy edges', () => {
  it('tokenKey: empty scope or resource entries and repeated ones are dropped; a resource string is one resource; extra values kept', () => {
    expect(tokenKey({ scope: ' a  b ' })).toBe(tokenKey({ scope: ['b', 'a', ''] }));
    expect(tokenKey({ resource: 'https://r' })).toBe(tokenKey({ resource: ['https://r', ''] }));
    expect(tokenKey({ resource: 'https://r' })).not.toBe(tokenKey({ resource: [] }));
    expect(tokenKey({ extraParams: { a: 'x' } })).not.toBe(tokenKey({ extraParams: { a: 'y' } }));
    expect(tokenKey({ extraParams: { a: ['x', 'y'] } })).not.toBe(tokenKey({ extraParams: { a: ['x'] } }));
    expect(tokenKey({ extraParams: { a: undefined } as never })).toBe(tokenKey({ extraParams: { a: [] } }));
    expect(tokenKey({ extraParams: { a: 'x' } })).not.toBe(tokenKey({ extraParams: { b: 'x' } }));
    expect(JSON.parse(tokenKey({ audience: 'a', scope: 'y x', resource: 'https://r', extraParams: { k: 'v' } }))).toEqual(['a', null, ['x', 'y'], ['https://r'], [['k', ['v']]]]);
  });

  it('answeredBy and originOf take URL objects and strings alike; an unparsable hop is another origin', () => {
    expect(answeredBy('https://api.test', [new URL('https://api.test/a')])).toBe(true);
    expect(answeredBy('https://api.test', [new URL('https://evil.test/')])).toBe(false);
    expect(answeredBy('https://api.test', ['::'])).toBe(false);
    expect(originOf(new URL('https://API.test/x'))).toBe('https://api.test');
    expect(originOf(new URL('file:///x'))).toBeUndefined();
  });

  it('an access token that cannot go into a header: the message says so, and that nothing was sent', () => {
    const bad = { accessToken: 'a b', tokenType: 'Bearer', expiresIn: 1, expiresAt: 1, raw: {} } as unknown as Token;
    expect(() => authorizationFor(bad)).toThrow('The token source returned an access token that cannot be sent in an HTTP header: it is empty, not a string, or contains whitespace, control or non-ASCII characters. The request was not sent.');
  });

  it('replayable bodies: shared memory too; a File; look-alikes without the methods are not', () => {
    expect(isReplayableBody(new SharedArrayBuffer(1))).toBe(true);
    expect(isReplayableBody(new File(['x'], 'x.txt'))).toBe(true);
    expect(isReplayableBody({ [Symbol.toStringTag]: 'FormData' })).toBe(false);
    expect(isReplayableBody({ [Symbol.toStringTag]: 'Blob' })).toBe(false);
    expect(isReplayableBody({ [Symbol.toStringTag]: 'Other', getAll() {}, arrayBuffer() {} })).toBe(false);
    expect(isReplayableBody({ [Symbol.toStringTag]: 'File', arrayBuffer() {} })).toBe(true);
  });

  it('asAbortSignal: a signal, or anything with aborted and addEventListener; nothing else', () => {
    const signal = new AbortController().signal;
    expect(asAbortSignal(signal)).toBe(signal);
    const like = { aborted: false, addEventListener() {} };
    expect(asAbortSignal(like)).toBe(like);
    for (const value of [null, undefined, 'x', { aborted: false }, { addEventListener() {} }, { aborted: 'no', addEventListener() {} }]) expect(asAbortSignal(value)).toBeUndefined();
  });

  it('WWW-Authenticate: tabs and commas between challenges; an escape at the very end; an unterminated quote', () => {
    expect(parseChallenges('\tBearer\terror="invalid_token",,\tBasic realm="r"')).toEqual([
      { scheme: 'bearer', params: { error: 'invalid_token' } },
      { scheme: 'basic', params: { realm: 'r' } },
    ]);
    expect(parseChallenges('Bearer error="a\\')).toEqual([{ scheme: 'bearer', params: { error: 'a\\' } }]);
    expect(parseChallenges('Bearer error="abc')).toEqual([{ scheme: 'bearer', params: { error: 'abc' } }]);
    // "error=" alone is a token68, not a parameter.
    expect(parseChallenges('Bearer error=')).toEqual([{ scheme: 'bearer', params: {} }]);
    expect(parseChallenges('Bearer realm="x", error=')).toEqual([{ scheme: 'bearer', params: { realm: 'x', error: '' } }]);
    expect(parseChallenges('Bearer a=1, b')).toEqual([{ scheme: 'bearer', params: { a: '1' } }, { scheme: 'b', params: {} }]);
  });
});

describe('fetchWithTokens around a scripted fetch', () => {
  function scripted(statuses: number[], extra: Record<string, unknown> = {}) {
    const seen: { input: unknown; authorization: string | null }[] = [];
    const base = async (input: unknown, init?: { headers?: Headers }) => {
      seen.push({ input, authorization: init?.headers ? new Headers(init.headers).get('authorization') : null });
      return { status: statuses.shift() ?? 200, headers: new Headers(), redirected: false, ...extra };
    };
    return { base, seen };
  }
  function counting() {
    let n = 0;
    const source = { getToken: async () => createToken({ accessToken: `t${++n}`, tokenType: 'Bearer', expiresIn: 60_000, expiresAt: Date.now() + 60_000 }), invalidate: async () => {} };
    return { source, count: () => n };
  }

  it('refuses a fetch option that is not a function, saying what it takes', () => {
    expect(() => fetchWithTokens(counting().source, { anyOrigin: {}, fetch: 5 as never })).toThrow(expect.objectContaining({ option: 'fetch', message: expect.stringContaining('must be a fetch function (there is no globalThis.fetch here)') }));
  });

  it('an input that is neither a URL, a string nor a Request passes through untouched', async () => {
    const { base, seen } = scripted([200, 200]);
    const { source, count } = counting();
    const f = fetchWithTokens(source, { anyOrigin: {}, fetch: base as never }) as unknown as (input: unknown) => Promise<unknown>;
    const odd = { toString: () => 'https://api.example.com/' };
    await f(odd);
    await f(null);
    expect(seen.map((s) => [s.input, s.authorization])).toEqual([[odd, null], [null, null]]);
    expect(count()).toBe(0);
  });

  it('a 401 not redirected is renewed whatever response.url says; a response without a body is fine', async () => {
    const { base, seen } = scripted([401, 200], { url: '' });
    const { source, count } = counting();
    const f = fetchWithTokens(source, { anyOrigin: {}, renewInterval: 0, fetch: base as never }) as unknown as (input: string) => Promise<unknown>;
    await f('https://api.example.com/x');
    expect(seen.map((s) => s.authorization)).toEqual(['Bearer t1', 'Bearer t2']);
    expect(count()).toBe(2);
  });

  it('a Request-like input without a body (undefined or null) is replayed after a 401', async () => {
    for (const body of [undefined, null]) {
      const { base, seen } = scripted([401, 200]);
      const { source } = counting();
      const f = fetchWithTokens(source, { anyOrigin: {}, renewInterval: 0, fetch: base as never }) as unknown as (input: unknown) => Promise<unknown>;
      await f({ url: 'https://api.example.com/x', headers: new Headers(), body });
      expect(seen.map((s) => s.authorization), String(body)).toEqual(['Bearer t1', 'Bearer t2']);
    }
  });
});

describe('attachTokens: what it takes', () => {
  const source = { getToken: async () => createToken({ accessToken: 't', tokenType: 'Bearer', expiresIn: 60_000, expiresAt: Date.now() + 60_000 }) };
  it('refuses anything but an axios instance, saying what it takes', () => {
    const noUse = { interceptors: { request: {} }, request() {} };
    const noRequest = { interceptors: { request: { use() {} } } };
    for (const instance of [null, undefined, {}, { interceptors: {} }, noUse, noRequest]) {
      expect(() => attachTokens(instance as never, source, { anyOrigin: {} })).toThrow(expect.objectContaining({ option: 'instance', message: expect.stringContaining('must be an axios instance (axios.create() or the default axios)') }));
    }
    const detach = attachTokens(axios.create(), source, { anyOrigin: {} });
    detach();
  });
});
