// Token parameters as the server and the cache see them: what extraParams may not override, which values are
// refused (naming the option and the fix), which calls share a token, within a client and across a fleet.
import { describe, expect, it } from 'vitest';
import { TokenClient, type StoredToken, type TokenStore } from '../src/index.js';
import { mergeTokenParams, normalizeTokenParams, RESERVED_PARAMS } from '../src/token-params.js';
import { setup } from './helpers/client.js';
import { configError } from './helpers/config-error.js';

const RESERVED = ['grant_type', 'client_id', 'client_secret', 'client_assertion', 'client_assertion_type', 'audience', 'organization', 'scope', 'resource'];

describe('extraParams may not override what the client sets', () => {
  it('refuses every reserved name, in the constructor and per call, naming the option and the reserved list', async () => {
    expect([...RESERVED_PARAMS].sort()).toEqual([...RESERVED].sort());
    const { server, client } = await setup();
    for (const name of RESERVED) {
      const e = configError(() => new TokenClient({ tokenEndpoint: server.url, clientId: 'c', clientSecret: 'fake-secret', extraParams: { [name]: 'x' } }));
      expect(e.option).toBe(`extraParams.${name}`);
      expect(e.message).toContain(`'${name}' is set by the client and may not be overridden through extraParams`);
      expect(e.message).toContain(`(reserved: ${RESERVED.join(', ')})`);
      const perCall = await client.getToken({ extraParams: { [name]: 'x' } }).catch((err: unknown) => err);
      expect(perCall).toMatchObject({ code: 'M2M_INVALID_OPTION', option: `getToken.extraParams.${name}` });
    }
    expect(server.requests).toHaveLength(0);
  });

  it('says which option to use instead', () => {
    for (const name of ['audience', 'organization', 'scope', 'resource']) {
      expect(configError(() => normalizeTokenParams({ extraParams: { [name]: 'x' } }, '')).message).toContain(`use the ${name} option`);
    }
    for (const name of ['client_assertion', 'client_assertion_type', 'client_secret', 'grant_type', 'client_id']) {
      expect(configError(() => normalizeTokenParams({ extraParams: { [name]: 'x' } }, '')).message).toContain('it comes from the client options');
    }
  });

  it('a private_key_jwt client cannot have its assertion replaced through extraParams', async () => {
    const { server, client } = await setup({ clientAuthentication: 'client_secret_jwt' });
    await expect(client.getToken({ extraParams: { client_assertion: 'forged.jwt.value' } })).rejects.toMatchObject({ option: 'getToken.extraParams.client_assertion' });
    await expect(client.getToken({ extraParams: { client_assertion_type: 'urn:forged' } })).rejects.toMatchObject({ option: 'getToken.extraParams.client_assertion_type' });
    expect(server.requests).toHaveLength(0);
  });
});

describe('extraParams values', () => {
  it('refuses values that are not strings or arrays of strings', () => {
    for (const value of [1, true, null, { a: 'b' }, ['a', 2], [null]]) {
      const e = configError(() => normalizeTokenParams({ extraParams: { foo: value } }, 'getToken.'));
      expect(e.option).toBe('getToken.extraParams.foo');
      expect(e.message).toContain('must be a string or an array of strings');
    }
  });

  it('refuses an extraParams that is not a plain object', () => {
    for (const value of [null, 'a=b', ['a'], 3]) {
      const e = configError(() => normalizeTokenParams({ extraParams: value }, ''));
      expect(e.option).toBe('extraParams');
      expect(e.message).toContain('must be an object of parameter names to string values');
    }
  });

  it('sends each value, in its order, and the defaults merged by name with the call', async () => {
    const { server, client } = await setup({ extraParams: { keep: 'k', over: 'default' } });
    await client.getToken({ extraParams: { over: ['2', '1'], added: 'x' } });
    const form = server.requests[0]!.form;
    expect(form.getAll('over')).toEqual(['2', '1']);
    expect(form.get('keep')).toBe('k');
    expect(form.get('added')).toBe('x');
    await client.getToken();
    expect(server.requests[1]!.form.getAll('over')).toEqual(['default']);
  });

  it('the order names are given in does not make another token', async () => {
    const { server, client } = await setup();
    const a = await client.getToken({ extraParams: { c: '3', a: '1', b: '2' } });
    const b = await client.getToken({ extraParams: { b: '2', c: '3', a: '1' } });
    const c = await client.getToken({ extraParams: { a: '1', c: '3', b: '2' } });
    expect(b.accessToken).toBe(a.accessToken);
    expect(c.accessToken).toBe(a.accessToken);
    expect(server.requests).toHaveLength(1);
    expect([...server.requests[0]!.form.keys()].slice(-3)).toEqual(['a', 'b', 'c']);
    // Values keep their order: a different order is a different request.
    await client.getToken({ extraParams: { a: ['1', '2'] } });
    await client.getToken({ extraParams: { a: ['2', '1'] } });
    expect(server.requests).toHaveLength(3);
  });

  it('the constructor\'s extraParams are keyed in name order: clients configured in another order share the stored token', async () => {
    expect(normalizeTokenParams({ extraParams: { b: '1', c: '3', a: '2' } }, '').extraParams).toEqual([['a', ['2']], ['b', ['1']], ['c', ['3']]]);
    const stored = new Map<string, StoredToken>();
    const store: TokenStore = {
      get: async (key) => stored.get(key),
      set: async (key, token) => void stored.set(key, token),
      delete: async (key) => void stored.delete(key),
    };
    const { server, client } = await setup({ extraParams: { b: '1', a: '2' }, cache: { store } });
    const other = new TokenClient({ tokenEndpoint: server.url, clientId: 'client-1', clientSecret: 'cs-9f8e7d6c5b4a-very-secret', extraParams: { a: '2', b: '1' }, cache: { store } });
    try {
      const first = await client.getToken();
      expect((await other.getToken()).accessToken).toBe(first.accessToken);
      expect(server.requests).toHaveLength(1);
    } finally {
      await other.close();
    }
  });

  it('merged parameters are keyed in name order: two processes sharing a store share the token', async () => {
    const stored = new Map<string, StoredToken>();
    const store: TokenStore = {
      get: async (key) => stored.get(key),
      set: async (key, token) => void stored.set(key, token),
      delete: async (key) => void stored.delete(key),
    };
    const { server, client } = await setup({ extraParams: { m: '1' }, cache: { store } });
    const other = new TokenClient({ tokenEndpoint: server.url, clientId: 'client-1', clientSecret: 'cs-9f8e7d6c5b4a-very-secret', cache: { store } });
    try {
      const first = await client.getToken({ extraParams: { a: 'x', z: 'y' } });
      const second = await other.getToken({ extraParams: { z: 'y', m: '1', a: 'x' } });
      expect(second.accessToken).toBe(first.accessToken);
      expect(server.requests).toHaveLength(1);
    } finally {
      await other.close();
    }
  });
});

describe('audience, organization, scope and resource', () => {
  it('refuse empty or non-string values, naming the option', () => {
    for (const [input, option, what] of [
      [{ audience: '' }, 'getToken.audience', 'must be a non-empty string'],
      [{ audience: 1 }, 'getToken.audience', 'must be a non-empty string'],
      [{ organization: '' }, 'getToken.organization', 'must be a non-empty string'],
      [{ scope: 1 }, 'getToken.scope', 'must be a string or an array of strings'],
      [{ scope: ['a', 1] }, 'getToken.scope', 'must be a string or an array of strings'],
      [{ resource: [''] }, 'getToken.resource', 'must not contain empty strings'],
      [{ resource: ['https://a', ''] }, 'getToken.resource', 'must not contain empty strings'],
      [{ resource: {} }, 'getToken.resource', 'must be a string or an array of strings'],
    ] as const) {
      const e = configError(() => normalizeTokenParams(input, 'getToken.'));
      expect(e.option).toBe(option);
      expect(e.message).toContain(what);
    }
  });

  it('split scope on any whitespace, drop empties and duplicates, and sort; keep resources whole', () => {
    const p = normalizeTokenParams({ scope: [' b\ta  ', 'c\nb', ''], resource: ['https://b x', 'https://a', 'https://a'] }, '');
    expect(p.scope).toEqual(['a', 'b', 'c']);
    expect(p.resource).toEqual(['https://a', 'https://b x']);
    expect(normalizeTokenParams({ scope: 'x y', resource: 'https://r' }, '')).toEqual({
      audience: undefined,
      organization: undefined,
      scope: ['x', 'y'],
      resource: ['https://r'],
      extraParams: [],
    });
  });

  it('per-call values replace the defaults field by field', () => {
    const defaults = normalizeTokenParams({ audience: 'A', organization: 'O', scope: 'd', resource: 'https://d', extraParams: { e: '1' } }, '');
    expect(mergeTokenParams(defaults, {})).toEqual(defaults);
    expect(mergeTokenParams(defaults, { audience: 'B' })).toEqual({ ...defaults, audience: 'B' });
    expect(mergeTokenParams(defaults, { organization: 'P' })).toEqual({ ...defaults, organization: 'P' });
    expect(mergeTokenParams(defaults, { scope: 's' })).toEqual({ ...defaults, scope: ['s'] });
    expect(mergeTokenParams(defaults, { resource: 'https://r' })).toEqual({ ...defaults, resource: ['https://r'] });
    expect(mergeTokenParams(defaults, { extraParams: { a: '2', z: '3' } }).extraParams).toEqual([['a', ['2']], ['e', ['1']], ['z', ['3']]]);
    expect(mergeTokenParams(defaults, { extraParams: {} }).extraParams).toEqual([['e', ['1']]]);
  });
});
