// m2m-token/axios end to end: oidc-provider issues the tokens, jose-verifying APIs accept or refuse them.
import { randomUUID } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { createServer } from 'node:net';
import { Readable } from 'node:stream';
import axios, { AxiosError, type AxiosInstance } from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken, type TokenSource } from 'm2m-token';
import { attachTokens } from 'm2m-token/axios';
import { BILLING, startAdapterFixture, startHangingServer, type AdapterFixture, type HangingServer } from './helpers/adapter-fixture.js';
import { adapterContract, renewalHangs, type AdapterHarness } from './helpers/adapter-contract.js';
import { expectNoLeak, expectNoPath } from './helpers/leaks.js';

let fx: AdapterFixture;
beforeAll(async () => {
  fx = await startAdapterFixture();
});
afterAll(() => fx.close());

/** A 4xx/5xx arrives as an AxiosError (axios's default validateStatus): report its response like a 2xx. */
async function settle(request: Promise<{ status: number; data: unknown }>) {
  try {
    const { status, data } = await request;
    return { status, body: data };
  } catch (error) {
    if (axios.isAxiosError(error) && error.response) return { status: error.response.status, body: error.response.data };
    throw error;
  }
}

const harness: AdapterHarness = {
  name: 'axios',
  wrap(source, options) {
    const instance = axios.create();
    attachTokens(instance, source, options);
    return (url, init = {}) =>
      settle(
        instance.request({
          url,
          method: init.method ?? 'GET',
          headers: init.headers,
          data: init.stream && init.body !== undefined ? Readable.from([init.body]) : init.body,
          signal: init.signal,
        }),
      );
  },
  // axios's http adapter follows redirects by default.
  wrapFollowingRedirects(source, options) {
    return harness.wrap(source, options);
  },
  isAbort: (error) => axios.isCancel(error),
};

adapterContract(harness, () => fx);

describe('axios specifics', () => {
  const make = (): AxiosInstance => axios.create();

  it('uses baseURL to pick the origin', async () => {
    const instance = axios.create({ baseURL: fx.billing.url });
    attachTokens(instance, fx.client(), { targets: fx.targets() });
    expect((await instance.get('/relative')).status).toBe(200);
    expect(fx.billing.requests.at(-1)).toMatchObject({ path: '/relative', authorized: true });
  });

  it('the returned function detaches both interceptors', async () => {
    const instance = make();
    const before = fx.as.tokenRequests;
    const detach = attachTokens(instance, fx.client(), { targets: { [fx.plain.url]: { resource: BILLING } } });
    await instance.get(`${fx.plain.url}/attached`);
    expect(fx.plain.requests.at(-1)!.authorization).toMatch(/^Bearer /);
    detach();
    detach(); // idempotent
    await instance.get(`${fx.plain.url}/detached`);
    expect(fx.plain.requests.at(-1)).toMatchObject({ path: '/detached', authorization: undefined });
    // Without the response interceptor, a 401 is no longer renewed.
    fx.plain.reply({ status: 401 });
    expect((await instance.get(`${fx.plain.url}/detached-401`, { validateStatus: () => true })).status).toBe(401);
    expect(fx.as.tokenRequests - before).toBe(1);
  });

  it('renews also when validateStatus lets the 401 through as a response', async () => {
    const instance = make();
    attachTokens(instance, fx.client(), { targets: fx.targets() });
    await instance.get(`${fx.billing.url}/warm`);
    fx.billing.revokeSeenTokens();
    const response = await instance.get(`${fx.billing.url}/validated`, { validateStatus: () => true });
    expect(response.status).toBe(200);
    const response401 = await instance.get(`${fx.nobody.url}/validated`, { validateStatus: () => true });
    expect(response401.status).toBe(401);
  });

  it('leaves a request alone whose Authorization comes from the instance defaults', async () => {
    const instance = axios.create({ headers: { common: { Authorization: 'Basic ZGVmYXVsdDpmYWtl' } } });
    attachTokens(instance, fx.client(), { targets: { [fx.plain.url]: { resource: BILLING } } });
    await instance.get(`${fx.plain.url}/defaults`);
    expect(fx.plain.requests.at(-1)!.authorization).toBe('Basic ZGVmYXVsdDpmYWtl');
  });

  it('replays JSON and URLSearchParams data as they were sent', async () => {
    const instance = make();
    // Two renewals of one token key in a row: no floor between them.
    attachTokens(instance, fx.client(), { targets: { [fx.plain.url]: { resource: BILLING } }, renewInterval: 0 });
    const before = fx.plain.requests.length;
    fx.plain.reply({ status: 401 });
    await instance.post(`${fx.plain.url}/json`, { item: 42 });
    fx.plain.reply({ status: 401 });
    await instance.post(`${fx.plain.url}/form`, new URLSearchParams({ a: '1', b: 'x y' }));
    expect(fx.plain.requests.slice(before).map((r) => r.body)).toEqual(['{"item":42}', '{"item":42}', 'a=1&b=x+y', 'a=1&b=x+y']);
  });

  it('refuses something that is not an axios instance', () => {
    expect(() => attachTokens({} as AxiosInstance, fx.client(), { targets: fx.targets() })).toThrow(/`instance`/);
  });
});

/** A source that issues a new fake token on every call, and remembers them all. */
function issuing(prefix = 'fake-leak-token'): TokenSource & { issued: string[] } {
  const issued: string[] = [];
  return {
    issued,
    getToken: () => {
      const accessToken = `${prefix}-${issued.length + 1}`;
      issued.push(accessToken);
      return Promise.resolve(createToken({ accessToken, tokenType: 'Bearer', expiresIn: 60_000, expiresAt: Date.now() + 60_000 }));
    },
    invalidate: () => {},
  };
}

/** An origin where nothing listens: connecting to it is refused. */
async function deadOrigin(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/**
 * Registered after attachTokens, so it runs before the adapter's request interceptor: every config reaches the
 * adapter with string keys only, as a replay does with axios < 1.19 (whose mergeConfig drops symbols).
 */
function dropConfigSymbols(instance: AxiosInstance): void {
  instance.interceptors.request.use((config) => Object.assign(Object.create(Object.getPrototypeOf(config) as object), Object.fromEntries(Object.entries(config))));
}

describe('axios errors do not carry the token', () => {
  const rejection = (request: Promise<unknown>) => request.then(() => expect.fail('resolved'), (e: unknown) => e as AxiosError);

  it.each(['http', 'fetch'] as const)('an API 500: the error keeps its response, its Authorization is redacted, its request carries no token (%s adapter)', async (adapter) => {
    const source = issuing();
    const instance = axios.create({ adapter });
    attachTokens(instance, source, { targets: { [fx.plain.url]: {} } });
    fx.plain.reply({ status: 500 });
    const error = await rejection(instance.get(`${fx.plain.url}/boom`));
    expect(fx.plain.requests.at(-1)).toMatchObject({ path: '/boom', authorization: 'Bearer fake-leak-token-1' });
    expect(axios.isAxiosError(error)).toBe(true);
    expect(error.response).toMatchObject({ status: 500, data: { status: 500 } });
    expect(error.config!.headers.Authorization).toBe('Bearer [REDACTED]');
    // axios's documented "error.response / error.request" checks still work; the raw request is gone.
    expect(error.request).toEqual({ method: 'GET', url: `${fx.plain.url}/boom` });
    expect(error.response!.request).toBe(error.request);
    expect(Object.keys(error)).not.toContain('request');
    expectNoLeak(error, source.issued);
  });

  it('the final 401 after a renewal carries neither token', async () => {
    const source = issuing();
    const instance = axios.create();
    attachTokens(instance, source, { targets: { [fx.plain.url]: {} } });
    fx.plain.reply({ status: 401 }, { status: 401 });
    const before = fx.plain.requests.length;
    const error = await rejection(instance.get(`${fx.plain.url}/refused`));
    expect(fx.plain.requests.slice(before).map((r) => r.authorization)).toEqual(['Bearer fake-leak-token-1', 'Bearer fake-leak-token-2']);
    expect(error.response).toMatchObject({ status: 401, data: { status: 401 } });
    expect(error.config!.headers.Authorization).toBe('Bearer [REDACTED]');
    expectNoLeak(error, source.issued);
  });

  it('also when the replay reaches the adapter without the config symbols (axios < 1.19, a rebuilding interceptor)', async () => {
    const source = issuing();
    const instance = axios.create();
    attachTokens(instance, source, { targets: { [fx.plain.url]: {} } });
    dropConfigSymbols(instance);
    fx.plain.reply({ status: 401 }, { status: 401 });
    const error = await rejection(instance.get(`${fx.plain.url}/rebuilt`));
    expect(error.response?.status).toBe(401);
    expect(source.issued).toHaveLength(2);
    expectNoLeak(error, source.issued);
  });

  it('a network error carries no token', async () => {
    const source = issuing();
    const instance = axios.create();
    const origin = await deadOrigin();
    attachTokens(instance, source, { targets: { [origin]: {} } });
    const error = await rejection(instance.get(`${origin}/unreachable`));
    expect(source.issued).toHaveLength(1);
    expect(error).toMatchObject({ isAxiosError: true, code: 'ECONNREFUSED' });
    expect(error.response).toBeUndefined();
    expect(error.request).toBeTruthy();
    expectNoLeak(error, source.issued);
  });

  it('an abort while the renewed token is awaited carries no token', async () => {
    const renewals: unknown[] = [];
    const instance = axios.create();
    attachTokens(instance, renewalHangs(renewals), { targets: { [fx.plain.url]: {} } });
    dropConfigSymbols(instance);
    fx.plain.reply({ status: 401 });
    const controller = new AbortController();
    const pending = rejection(instance.get(`${fx.plain.url}/abort-renewal`, { signal: controller.signal }));
    await expect.poll(() => renewals.length).toBe(1);
    controller.abort();
    const error = await pending;
    expect(axios.isCancel(error)).toBe(true);
    expectNoLeak(error, ['fake-access-token']);
  });

  it("a redacted error's config can be sent again (as axios-retry does): it gets a real token", async () => {
    const source = issuing();
    const instance = axios.create();
    attachTokens(instance, source, { targets: { [fx.plain.url]: {} } });
    fx.plain.reply({ status: 503 });
    const error = await rejection(instance.get(`${fx.plain.url}/retry-me`));
    const response = await instance.request(error.config!);
    expect(response.status).toBe(200);
    expect(fx.plain.requests.at(-1)).toMatchObject({ path: '/retry-me', authorization: 'Bearer fake-leak-token-2' });
  });

  it("leaves the error of a request whose Authorization is the caller's own as axios made it", async () => {
    const instance = axios.create();
    attachTokens(instance, issuing(), { targets: { [fx.plain.url]: {} } });
    fx.plain.reply({ status: 500 });
    const error = await rejection(instance.get(`${fx.plain.url}/own`, { headers: { Authorization: 'Basic ZmFrZTpmYWtl' } }));
    expect(error.config!.headers.Authorization).toBe('Basic ZmFrZTpmYWtl');
  });
});

describe('a redacted axios error leads to no token: no property, getter, agent, socket or cause', () => {
  let hanging: HangingServer;
  const agents: HttpAgent[] = [];
  beforeAll(async () => {
    hanging = await startHangingServer();
  });
  afterAll(async () => {
    for (const agent of agents) agent.destroy();
    await hanging.close();
  });

  const agentKinds = {
    'the default agent': () => undefined,
    'an http.Agent without keep-alive': () => new HttpAgent({ keepAlive: false }),
    'a keep-alive http.Agent': () => new HttpAgent({ keepAlive: true }),
  } as const;

  type Scenario = (instance: AxiosInstance) => Promise<{ error: AxiosError; code?: string }>;
  const rejection = (request: Promise<unknown>) => request.then(() => expect.fail('resolved'), (e: unknown) => e as AxiosError);

  const scenarios: Record<string, { origin: () => string | Promise<string>; run: Scenario }> = {
    'an API 500': {
      origin: () => fx.plain.url,
      run: async (instance) => {
        fx.plain.reply({ status: 500 });
        return { error: await rejection(instance.get(`${fx.plain.url}/boom`)) };
      },
    },
    'an API 500 read as a stream': {
      origin: () => fx.plain.url,
      run: async (instance) => {
        fx.plain.reply({ status: 500 });
        const error = await rejection(instance.get(`${fx.plain.url}/boom-stream`, { responseType: 'stream' }));
        // The body stays readable.
        const chunks: Buffer[] = [];
        for await (const chunk of error.response!.data as AsyncIterable<Buffer>) chunks.push(chunk);
        expect(JSON.parse(Buffer.concat(chunks).toString())).toEqual({ status: 500 });
        return { error };
      },
    },
    'an API 500 to a POST with a stream body': {
      origin: () => fx.plain.url,
      run: async (instance) => {
        fx.plain.reply({ status: 500 });
        return { error: await rejection(instance.post(`${fx.plain.url}/upload`, Readable.from([Buffer.from('chunk-1 chunk-2')]))) };
      },
    },
    'the final 401 after a renewal': {
      origin: () => fx.plain.url,
      run: async (instance) => {
        fx.plain.reply({ status: 401 }, { status: 401 });
        const error = await rejection(instance.get(`${fx.plain.url}/refused`));
        expect(error.response?.status).toBe(401);
        return { error };
      },
    },
    ECONNREFUSED: {
      origin: deadOrigin,
      run: async (instance) => ({ error: await rejection(instance.get('/unreachable')), code: 'ECONNREFUSED' }),
    },
    'a timeout': {
      origin: () => hanging.url,
      run: async (instance) => ({ error: await rejection(instance.get(`${hanging.url}/slow`, { timeout: 50 })), code: 'ECONNABORTED' }),
    },
    'an abort while the request is out': {
      origin: () => hanging.url,
      run: async (instance) => {
        const before = hanging.received;
        const controller = new AbortController();
        const pending = rejection(instance.get(`${hanging.url}/aborted`, { signal: controller.signal }));
        await expect.poll(() => hanging.received).toBe(before + 1);
        controller.abort();
        const error = await pending;
        expect(axios.isCancel(error)).toBe(true);
        return { error, code: 'ERR_CANCELED' };
      },
    },
    'too many redirects': {
      origin: () => fx.plain.url,
      run: async (instance) => {
        fx.plain.reply({ status: 302, headers: { location: `${fx.plain.url}/again` } }, { status: 302, headers: { location: `${fx.plain.url}/again` } });
        return { error: await rejection(instance.get(`${fx.plain.url}/loop`, { maxRedirects: 1 })), code: 'ERR_FR_TOO_MANY_REDIRECTS' };
      },
    },
  };

  for (const [agentName, makeAgent] of Object.entries(agentKinds)) {
    describe(`with ${agentName}`, () => {
      it.each(Object.keys(scenarios))('%s', async (name) => {
        const scenario = scenarios[name]!;
        const origin = await scenario.origin();
        const agent = makeAgent();
        if (agent) agents.push(agent);
        const source = issuing(`fake-path-token-${randomUUID()}`);
        const instance = axios.create({ baseURL: origin, ...(agent ? { httpAgent: agent } : {}) });
        attachTokens(instance, source, { targets: { [origin]: {} } });
        const { error, code } = await scenario.run(instance);
        expect(source.issued.length).toBeGreaterThanOrEqual(1);
        expect(axios.isAxiosError(error)).toBe(true);
        if (code) expect(error.code).toBe(code);
        expect(error.config!.headers.Authorization).toBe('Bearer [REDACTED]');
        expect(error.config!.httpAgent).toBeUndefined();
        expectNoPath(error, source.issued);
      });
    });
  }

  describe("with axios's fetch adapter", () => {
    const fetchScenarios = Object.keys(scenarios).filter((name) => name !== 'too many redirects');
    it.each(fetchScenarios)('%s', async (name) => {
      const scenario = scenarios[name]!;
      const origin = await scenario.origin();
      const source = issuing(`fake-path-token-${randomUUID()}`);
      const instance = axios.create({ baseURL: origin, adapter: 'fetch' });
      attachTokens(instance, source, { targets: { [origin]: {} } });
      const { error } = await scenario.run(instance);
      expect(axios.isAxiosError(error)).toBe(true);
      expect(error.config!.headers.Authorization).toBe('Bearer [REDACTED]');
      expectNoPath(error, source.issued);
    });
  });

  it("a redacted config sent again goes out through the agent it was sent with, and gets a real token", async () => {
    // Without keep-alive, every request through the agent opens its own connection.
    const agent = new HttpAgent({ keepAlive: false });
    agents.push(agent);
    let used = 0;
    const createConnection = agent.createConnection.bind(agent);
    agent.createConnection = ((...args: Parameters<typeof createConnection>) => {
      used++;
      return createConnection(...args);
    }) as typeof agent.createConnection;
    const source = issuing(`fake-path-token-${randomUUID()}`);
    const instance = axios.create();
    attachTokens(instance, source, { targets: { [fx.plain.url]: {} } });
    fx.plain.reply({ status: 503 });
    const error = await rejection(instance.get(`${fx.plain.url}/per-request-agent`, { httpAgent: agent }));
    expect(used).toBe(1);
    expect(error.config!.httpAgent).toBeUndefined();
    const response = await instance.request(error.config!);
    expect(response.status).toBe(200);
    expect(used).toBe(2);
    expect(fx.plain.requests.at(-1)).toMatchObject({ path: '/per-request-agent', authorization: `Bearer ${source.issued[1]}` });
  });
});

