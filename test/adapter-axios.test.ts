// m2m-token/axios end to end: oidc-provider issues the tokens, jose-verifying APIs accept or refuse them.
import { Readable } from 'node:stream';
import axios, { type AxiosInstance } from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachTokens } from 'm2m-token/axios';
import { BILLING, startAdapterFixture, type AdapterFixture } from './helpers/adapter-fixture.js';
import { adapterContract, type AdapterHarness } from './helpers/adapter-contract.js';

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
    attachTokens(instance, fx.client(), { targets: { [fx.plain.url]: { resource: BILLING } } });
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
