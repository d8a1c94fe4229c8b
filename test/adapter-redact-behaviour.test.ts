// What an AxiosError looks like after the axios adapter redacted it, property by property, for the shapes axios
// and the code around it produce: plain or AxiosHeaders headers, transport objects, stream bodies and responses,
// and a redacted config sent again (its agents come back).
import { Agent } from 'node:http';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { AxiosHeaders } from 'axios';
import { describe, expect, it } from 'vitest';
import { redactAxiosError, restoreTransport } from '../src/axios/redact.js';

const SUMMARY = { method: 'GET', url: 'https://api.example.com/x' };
type Loose = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function redacted(error: Loose): Loose {
  redactAxiosError(error, SUMMARY);
  return error;
}

describe('headers', () => {
  it('plain headers: only an Authorization string (any case) keeps its scheme and loses its credential', () => {
    const headers = { Authorization: 'Bearer fake-tok', 'X-Authorization': 'Bearer other', 'authorization-hint': 'x', accept: 'a' };
    const e = redacted({ config: { headers } });
    expect(e.config.headers).toEqual({ Authorization: 'Bearer [REDACTED]', 'X-Authorization': 'Bearer other', 'authorization-hint': 'x', accept: 'a' });
    expect(headers.Authorization).toBe('Bearer fake-tok');
    expect(redacted({ config: { headers: { authorization: 'DPoP t' } } }).config.headers).toEqual({ authorization: 'DPoP [REDACTED]' });
    expect(redacted({ config: { headers: { AUTHORIZATION: ['Bearer t'] } } }).config.headers).toEqual({ AUTHORIZATION: ['Bearer t'] });
  });

  it('AxiosHeaders: a redacted copy, the original untouched; no Authorization, nothing to redact', () => {
    const headers = new AxiosHeaders({ Authorization: 'Bearer fake-tok', Accept: 'a' });
    const e = redacted({ config: { headers } });
    expect(e.config.headers).toBeInstanceOf(AxiosHeaders);
    expect(e.config.headers.get('Authorization')).toBe('Bearer [REDACTED]');
    expect(e.config.headers.get('Accept')).toBe('a');
    expect(headers.get('Authorization')).toBe('Bearer fake-tok');
    const none = redacted({ config: { headers: new AxiosHeaders({ Accept: 'a' }) } });
    expect(none.config.headers.get('Authorization')).toBeUndefined();
  });

  it('headers that are not an object are kept as they are', () => {
    for (const headers of [undefined, null, 'Authorization: Bearer x']) expect(redacted({ config: { headers } }).config.headers).toBe(headers);
  });
});

describe('the config', () => {
  it('a copy with a null prototype, without its transport objects, keeping every other key and axios\'s hasOwnProperty', () => {
    const agent = new Agent();
    const config = Object.create(null) as Loose;
    Object.defineProperty(config, 'hasOwnProperty', { value: () => true, enumerable: false });
    Object.assign(config, { url: '/x', timeout: 5, headers: {}, httpAgent: agent, httpsAgent: undefined, transport: { request() {} }, fetchOptions: { dispatcher: {} } });
    const e = redacted({ config });
    expect(e.config).not.toBe(config);
    expect(Object.getPrototypeOf(e.config)).toBeNull();
    expect(Object.keys(e.config).sort()).toEqual(['headers', 'timeout', 'url']);
    expect(Object.getOwnPropertyDescriptor(e.config, 'hasOwnProperty')).toMatchObject({ enumerable: false });
    expect(Object.getOwnPropertyDescriptor(e, 'config')).toMatchObject({ enumerable: true, writable: true });
    expect(config.httpAgent).toBe(agent);
    agent.destroy();
  });

  it('a stream body, used up, is replaced by one that fails when read again; other bodies stay', async () => {
    for (const data of [Readable.from(['x']), new ReadableStream(), (async function* () {})()]) {
      const body = redacted({ config: { headers: {}, data } }).config.data as Readable;
      expect(body).not.toBe(data);
      await expect(text(body)).rejects.toThrow('m2m-token: the body of this request was a stream, used up by the request that failed; it cannot be sent again');
    }
    for (const data of ['x', Buffer.from('x'), { a: 1 }, null]) expect(redacted({ config: { headers: {}, data } }).config.data).toBe(data);
  });

  it('no config, no request: nothing is added', () => {
    const e = redacted({ message: 'x' });
    expect('config' in e).toBe(false);
    expect('request' in e).toBe(false);
  });
});

describe('request and response', () => {
  it('request becomes the summary, hidden from enumeration; so does the response\'s', () => {
    const config = { headers: { Authorization: 'Bearer t' } };
    const e = redacted({ config, request: { _header: 'Authorization: Bearer t' }, response: { status: 401, config, request: {}, data: { error: 'x' } } });
    expect(e.request).toEqual(SUMMARY);
    expect(Object.keys(e)).not.toContain('request');
    expect(e.response.request).toEqual(SUMMARY);
    expect(Object.keys(e.response)).not.toContain('request');
    expect(Object.keys(e.response)).toContain('config');
    // The same config object on both: the same redacted copy.
    expect(e.response.config).toBe(e.config);
    expect(e.response.data).toEqual({ error: 'x' });
    expect(JSON.stringify(e)).not.toContain('Bearer t');
  });

  it('a response with another config gets its own redacted copy; a response without one or without a request gets none', () => {
    const e = redacted({ config: { headers: {} }, response: { config: { headers: { Authorization: 'Bearer u' } } } });
    expect(e.response.config).not.toBe(e.config);
    expect(e.response.config.headers).toEqual({ Authorization: 'Bearer [REDACTED]' });
    expect('request' in e.response).toBe(false);
    const bare = redacted({ response: { status: 500 } });
    expect('config' in bare.response).toBe(false);
    expect(() => redacted({ response: null })).not.toThrow();
  });

  it('a stream response body is handed over through a new stream with the same bytes', async () => {
    const data = Readable.from(['he', 'llo']);
    const e = redacted({ response: { data } });
    expect(e.response.data).not.toBe(data);
    expect(Object.keys(e.response)).toContain('data');
    expect(await text(e.response.data)).toBe('hello');
    // Something with only pipe, or only on, is not a stream.
    const pipeOnly = { pipe() {} };
    expect(redacted({ response: { data: pipeOnly } }).response.data).toBe(pipeOnly);
  });

  it('a frozen error is left as it is', () => {
    const error = Object.freeze({ config: { headers: { Authorization: 'Bearer t' } } });
    expect(() => redactAxiosError(error, SUMMARY)).not.toThrow();
  });
});

describe('restoreTransport: a redacted config sent again gets its agents back', () => {
  it('puts back what it withheld, unless the config now has another agent than the defaults', () => {
    const agent = new Agent();
    const defaults = { httpAgent: 'default-agent' };
    const fresh = () => redacted({ config: { headers: {}, httpAgent: agent } }).config;
    const a = fresh();
    expect(a.httpAgent).toBeUndefined();
    restoreTransport(a, defaults);
    expect(a.httpAgent).toBe(agent);
    const b = fresh();
    b.httpAgent = 'default-agent'; // axios merged the instance default in
    restoreTransport(b, defaults);
    expect(b.httpAgent).toBe(agent);
    const c = fresh();
    c.httpAgent = 'chosen-agent';
    restoreTransport(c, defaults);
    expect(c.httpAgent).toBe('chosen-agent');
    // Only once, and never for a config that withheld nothing.
    a.httpAgent = undefined;
    restoreTransport(a, defaults);
    expect(a.httpAgent).toBeUndefined();
    const plain = redacted({ config: { headers: {} } }).config;
    restoreTransport(plain, defaults);
    expect(plain.httpAgent).toBeUndefined();
    expect(Object.getOwnPropertySymbols(plain)).toEqual([]);
    agent.destroy();
  });
});
