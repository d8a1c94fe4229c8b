// One exchange, through Node's http (the default) and through a user's undici dispatcher: what is sent, the 1 MiB
// cap at its exact boundary (by content-length and by counting a chunked body), a body cut short, timeouts and close().
import { Agent } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { TokenClient, type TokenClientOptions } from '../src/index.js';
import { MAX_RESPONSE_BYTES } from '../src/transport.js';
import { setup } from './helpers/client.js';
import { json } from './helpers/token-server.js';

const agent = new Agent();
afterAll(() => agent.close());

const transports: [string, Partial<TokenClientOptions>][] = [
  ['node:http', {}],
  ['an undici dispatcher', { dispatcher: agent as unknown as TokenClientOptions['dispatcher'] }],
];

describe.each(transports)('through %s', (_name, options) => {
  it('sends the form to the path and query of the endpoint, and reads the answer', async () => {
    const { server } = await setup({ ...options, retry: false });
    const client = new TokenClient({ ...options, tokenEndpoint: `${server.url}?tenant=a&x=1`, clientId: 'c', clientSecret: 'fake-secret-value', retry: false } as TokenClientOptions);
    try {
      expect((await client.getToken()).accessToken).toBe('token-1');
    } finally {
      await client.close();
    }
    const req = server.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/oauth/token?tenant=a&x=1');
    expect(req.form.get('grant_type')).toBe('client_credentials');
    expect(req.form.get('client_secret')).toBe('fake-secret-value');
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
  });

  it('a body of exactly 1 MiB is read; one byte more is refused, by content-length or by counting', async () => {
    const { server, client } = await setup({ ...options, retry: false });
    const body = (n: number) => 'x'.repeat(n);
    server.respond((_r, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(MAX_RESPONSE_BYTES) });
      res.end(body(MAX_RESPONSE_BYTES));
    });
    // Read whole: it is simply not JSON.
    await expect(client.getToken()).rejects.toMatchObject({ code: 'M2M_RESPONSE_NOT_JSON' });
    server.respond((_r, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(MAX_RESPONSE_BYTES + 1) });
      res.end(body(MAX_RESPONSE_BYTES + 1));
    });
    const byLength = (await client.getToken().catch((e: unknown) => e)) as Error;
    expect(byLength).toMatchObject({ code: 'M2M_RESPONSE_TOO_LARGE', status: 200, endpoint: server.origin });
    expect(byLength.message).toBe(`Token endpoint ${server.origin} sent a body over 1048576 bytes (HTTP 200); a token or metadata response is a few KiB: check the URL.`);
    server.respond((_r, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write(body(MAX_RESPONSE_BYTES));
      res.end('y');
    });
    await expect(client.getToken()).rejects.toMatchObject({ code: 'M2M_RESPONSE_TOO_LARGE', status: 200 });
    server.respond((_r, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write(body(MAX_RESPONSE_BYTES - 1));
      res.end('y');
    });
    await expect(client.getToken()).rejects.toMatchObject({ code: 'M2M_RESPONSE_NOT_JSON' });
  });

  it('a JSON body in many chunks arrives whole', async () => {
    const { server, client } = await setup({ ...options, retry: false });
    server.respond((_r, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const text = JSON.stringify({ access_token: 'chunked-token', token_type: 'Bearer', expires_in: 60, pad: 'p'.repeat(70_000) });
      for (let i = 0; i < text.length; i += 1000) res.write(text.slice(i, i + 1000));
      res.end();
    });
    expect((await client.getToken()).accessToken).toBe('chunked-token');
  });

  it('a response cut short is a network error, retried', async () => {
    const { server, client } = await setup({ ...options, retry: { retries: 1, baseDelay: 1, maxDelay: 1 } });
    server.respond((_r, res, i) => {
      if (i === 2) return json(res, 200, { access_token: 'second', token_type: 'Bearer', expires_in: 60 });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"access_token":');
      setTimeout(() => res.destroy(), 5);
    });
    expect((await client.getToken()).accessToken).toBe('second');
    expect(server.requests).toHaveLength(2);
  });

  it('an attempt that gets no answer times out, naming the timeout; close() ends one in flight', async () => {
    const { server, client } = await setup({ ...options, timeout: 50, retry: false });
    server.respond(() => new Promise(() => {}));
    const error = (await client.getToken().catch((e: unknown) => e)) as Error;
    expect(error).toMatchObject({ code: 'M2M_TIMEOUT', endpoint: server.origin });
    expect(error.message).toBe(`Token endpoint ${server.origin} did not answer within timeout (50 ms); check that the host is reachable and healthy, or raise the option.`);
    const c = await setup({ ...options, retry: false });
    c.server.respond(() => new Promise(() => {}));
    const pending = c.client.getToken();
    await new Promise((r) => setTimeout(r, 20));
    await c.client.close();
    const closed = (await pending.catch((e: unknown) => e)) as Error;
    expect(closed).toMatchObject({ code: 'M2M_CLIENT_CLOSED' });
    expect(closed.message).toBe('The TokenClient was closed; create a new one to get tokens.');
  });

  it('totalTimeout ends the attempts, naming how many were made', async () => {
    const { server, client } = await setup({ ...options, timeout: 1_000, totalTimeout: 60, retry: { retries: 5, baseDelay: 1, maxDelay: 1 } });
    server.respond(() => new Promise(() => {}));
    const error = (await client.getToken().catch((e: unknown) => e)) as Error;
    expect(error).toMatchObject({ code: 'M2M_TIMEOUT', attempts: 1 });
    expect(error.message).toContain('did not answer within totalTimeout (60 ms over 1 attempt);');
    // The first attempt fails at once (a 503, retried), the second never gets an answer: only totalTimeout can end
    // it, whatever the machine's load, so the message counts both attempts.
    const c = await setup({ ...options, timeout: 5_000, totalTimeout: 300, retry: { retries: 5, baseDelay: 1, maxDelay: 1 } });
    let requests = 0;
    c.server.respond((_r, res) => (requests++ === 0 ? json(res, 503, { error: 'temporarily_unavailable' }) : new Promise(() => {})));
    const twice = (await c.client.getToken().catch((e: unknown) => e)) as Error & { code: string; attempts: number };
    expect(twice).toMatchObject({ code: 'M2M_TIMEOUT', attempts: 2 });
    expect(twice.message).toContain('did not answer within totalTimeout (300 ms over 2 attempts);');
  });
});

describe('a dispatcher that throws', () => {
  it('synchronously: a network error, not a hang', async () => {
    const dispatcher = {
      dispatch() {
        throw Object.assign(new Error('interceptor broke'), { code: 'UND_ERR_INVALID_ARG' });
      },
    };
    const { client } = await setup({ dispatcher: dispatcher as unknown as TokenClientOptions['dispatcher'], retry: false });
    await expect(client.getToken()).rejects.toMatchObject({ code: 'M2M_NETWORK_ERROR', cause: { code: 'UND_ERR_INVALID_ARG' } });
  });

  it('a controller whose abort throws still lets the attempt time out', async () => {
    const dispatcher = {
      dispatch(_opts: unknown, handler: { onRequestStart?(c: unknown): void }) {
        handler.onRequestStart?.({
          abort() {
            throw new Error('faulty controller');
          },
        });
        return true;
      },
    };
    const { client } = await setup({ dispatcher: dispatcher as unknown as TokenClientOptions['dispatcher'], timeout: 30, retry: false });
    await expect(client.getToken()).rejects.toMatchObject({ code: 'M2M_TIMEOUT' });
  });

  it('an attempt aborted before the dispatcher started is aborted when it starts', async () => {
    const started: string[] = [];
    let handlerRef: { onRequestStart?(c: unknown): void } | undefined;
    const dispatcher = {
      dispatch(_opts: unknown, handler: { onRequestStart?(c: unknown): void }) {
        handlerRef = handler;
        return true;
      },
    };
    const { client } = await setup({ dispatcher: dispatcher as unknown as TokenClientOptions['dispatcher'], timeout: 20, retry: false });
    await expect(client.getToken()).rejects.toMatchObject({ code: 'M2M_TIMEOUT' });
    handlerRef!.onRequestStart?.({ abort: (reason: Error) => started.push(reason.message) });
    expect(started).toEqual(['attempt timed out']);
  });
});
