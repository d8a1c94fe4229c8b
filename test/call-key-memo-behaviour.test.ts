// The per-call key memo: a wrong hit hands out another key's token; a miss or a reset only costs time. Both are
// tested: through the client (which token a caller gets) and on CallKeyMemo itself (what it remembers, and its bound).
import { describe, expect, it } from 'vitest';
import { CallKeyMemo } from '../src/call-key-memo.js';
import { setup } from './helpers/client.js';
import { json } from './helpers/token-server.js';

/** Each request answered with a token that names the scope and resource it was asked for. */
function echoScopes(req: { form: URLSearchParams }, res: import('node:http').ServerResponse, i: number): void {
  const scope = req.form.get('scope')?.replace(/ /g, '+') ?? '-';
  const resource = req.form.getAll('resource').join(',') || '-';
  const audience = req.form.get('audience') ?? '-';
  const organization = req.form.get('organization') ?? '-';
  json(res, 200, { access_token: `t${i}:${audience}:${organization}:${scope}:${resource}`, token_type: 'Bearer', expires_in: 3600 });
}

describe('per-call options never get another key\'s token', () => {
  it('scope arrays of the same length but different items get their own tokens', async () => {
    const { server, client } = await setup();
    server.respond(echoScopes);
    expect((await client.getToken({ scope: ['a'] })).accessToken).toBe('t1:-:-:a:-');
    expect((await client.getToken({ scope: ['b'] })).accessToken).toBe('t2:-:-:b:-');
    expect((await client.getToken({ scope: ['a'] })).accessToken).toBe('t1:-:-:a:-');
    expect((await client.getToken({ scope: ['b'] })).accessToken).toBe('t2:-:-:b:-');
    expect(server.requests).toHaveLength(2);
  });

  it('resource arrays likewise, item by item', async () => {
    const { server, client } = await setup();
    server.respond(echoScopes);
    expect((await client.getToken({ resource: ['https://a', 'https://b'] })).accessToken).toBe('t1:-:-:-:https://a,https://b');
    expect((await client.getToken({ resource: ['https://a', 'https://c'] })).accessToken).toBe('t2:-:-:-:https://a,https://c');
    expect((await client.getToken({ resource: ['https://a', 'https://b'] })).accessToken).toBe('t1:-:-:-:https://a,https://b');
  });

  it('an item moved from scope to resource is another request', async () => {
    const { server, client } = await setup();
    server.respond(echoScopes);
    expect((await client.getToken({ scope: ['a', 'b'], resource: [] })).accessToken).toBe('t1:-:-:a+b:-');
    expect((await client.getToken({ scope: ['a'], resource: ['b'] })).accessToken).toBe('t2:-:-:a:b');
    expect((await client.getToken({ scope: 'a', resource: 'b' })).accessToken).toBe('t2:-:-:a:b');
    expect((await client.getToken({ scope: ['a', 'b'] })).accessToken).toBe('t1:-:-:a+b:-');
  });

  it('audience and organization are told apart, and from their absence', async () => {
    const { server, client } = await setup();
    server.respond(echoScopes);
    expect((await client.getToken({ audience: 'x' })).accessToken).toBe('t1:x:-:-:-');
    expect((await client.getToken({ organization: 'x' })).accessToken).toBe('t2:-:x:-:-');
    expect((await client.getToken({ audience: 'x', organization: 'y' })).accessToken).toBe('t3:x:y:-:-');
    expect((await client.getToken({ audience: 'y', organization: 'x' })).accessToken).toBe('t4:y:x:-:-');
    expect((await client.getToken({ audience: 'x' })).accessToken).toBe('t1:x:-:-:-');
    expect((await client.getToken({ audience: 'x', organization: 'y' })).accessToken).toBe('t3:x:y:-:-');
  });

  it('values of the wrong type are still refused on a second call (never served from the memo)', async () => {
    const { client } = await setup();
    for (let i = 0; i < 2; i++) {
      await expect(client.getToken({ scope: [1] as never })).rejects.toMatchObject({ code: 'M2M_INVALID_OPTION', option: 'getToken.scope' });
      await expect(client.getToken({ audience: 5 as never })).rejects.toMatchObject({ code: 'M2M_INVALID_OPTION', option: 'getToken.audience' });
      await expect(client.getToken({ resource: { a: 1 } as never })).rejects.toMatchObject({ code: 'M2M_INVALID_OPTION', option: 'getToken.resource' });
    }
  });
});

describe('CallKeyMemo', () => {
  const A = ['aud', 'org', ['s1', 's2'], 'res'] as const;

  it('gives back what was set for the same raw values, and nothing for any other', () => {
    const memo = new CallKeyMemo<string>(10);
    expect(memo.get(...A)).toBeUndefined();
    memo.set(...A, 'v');
    expect(memo.get(...A)).toBe('v');
    expect(memo.get('aud', 'org', ['s1', 's2'], 'res')).toBe('v');
    expect(memo.get(undefined, 'org', ['s1', 's2'], 'res')).toBeUndefined();
    expect(memo.get('aud', undefined, ['s1', 's2'], 'res')).toBeUndefined();
    expect(memo.get('aud', 'org', ['s1'], 'res')).toBeUndefined();
    expect(memo.get('aud', 'org', ['s1', 's3'], 'res')).toBeUndefined();
    expect(memo.get('aud', 'org', ['s1', 's2', 's3'], 'res')).toBeUndefined();
    expect(memo.get('aud', 'org', ['s1', 's2'], undefined)).toBeUndefined();
    expect(memo.get('aud', 'org', ['s1', 's2'], ['res'])).toBeUndefined();
    expect(memo.get('aud', 'org', 's1', 'res')).toBeUndefined();
  });

  it('keeps a string and a one-item array apart, and absent values apart from empty ones', () => {
    const memo = new CallKeyMemo<string>(10);
    memo.set(undefined, undefined, 'x', undefined, 'string');
    memo.set(undefined, undefined, ['x'], undefined, 'array');
    memo.set(undefined, undefined, [], undefined, 'empty');
    memo.set(undefined, undefined, undefined, undefined, 'absent');
    expect(memo.get(undefined, undefined, 'x', undefined)).toBe('string');
    expect(memo.get(undefined, undefined, ['x'], undefined)).toBe('array');
    expect(memo.get(undefined, undefined, [], undefined)).toBe('empty');
    expect(memo.get(undefined, undefined, undefined, undefined)).toBe('absent');
    expect(memo.get('', undefined, undefined, undefined)).toBeUndefined();
  });

  it('remembers nothing for values of other types', () => {
    const memo = new CallKeyMemo<string>(10);
    const cases: [unknown, unknown, unknown, unknown][] = [
      [1, undefined, undefined, undefined],
      [undefined, null, undefined, undefined],
      [undefined, undefined, 7, undefined],
      [undefined, undefined, ['a', 1], undefined],
      [undefined, undefined, undefined, { length: 0 }],
      [undefined, undefined, [2], undefined],
    ];
    for (const args of cases) {
      memo.set(...args, 'v');
      expect(memo.get(...args)).toBeUndefined();
    }
    // And they took no place in it: ten real entries still fit.
    for (let i = 0; i < 10; i++) memo.set(`a${i}`, undefined, undefined, undefined, `v${i}`);
    expect(memo.get('a0', undefined, undefined, undefined)).toBe('v0');
  });

  it('is bounded: the entry past the limit starts it over; setting a known entry again takes no room', () => {
    const memo = new CallKeyMemo<string>(2);
    memo.set('a', undefined, undefined, undefined, 'A');
    memo.set('a', undefined, undefined, undefined, 'A2');
    memo.set('b', undefined, undefined, undefined, 'B');
    expect(memo.get('a', undefined, undefined, undefined)).toBe('A2');
    expect(memo.get('b', undefined, undefined, undefined)).toBe('B');
    memo.set('c', undefined, undefined, undefined, 'C');
    expect(memo.get('a', undefined, undefined, undefined)).toBeUndefined();
    expect(memo.get('b', undefined, undefined, undefined)).toBeUndefined();
    expect(memo.get('c', undefined, undefined, undefined)).toBe('C');
    memo.set('d', undefined, undefined, undefined, 'D');
    expect(memo.get('c', undefined, undefined, undefined)).toBe('C');
    expect(memo.get('d', undefined, undefined, undefined)).toBe('D');
  });

  it('a get creates nothing: a miss leaves the memo as it was', () => {
    const memo = new CallKeyMemo<string>(1);
    memo.set('a', undefined, undefined, undefined, 'A');
    for (let i = 0; i < 5; i++) expect(memo.get(`x${i}`, 'o', ['s'], ['r'])).toBeUndefined();
    expect(memo.get('a', undefined, undefined, undefined)).toBe('A');
    expect(memo.get('a', 'o', ['s'], ['r'])).toBeUndefined();
  });
});
