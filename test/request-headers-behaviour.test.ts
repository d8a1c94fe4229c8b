// getRequestHeaders() for a Bearer client (DPoP ones: dpop-client.test.ts), and what a client without DPoP does
// with the DPoP calls: headers that spread as they are and show redacted, options checked, per-call options passed on.
import { inspect } from 'node:util';
import { ConfigurationError, type RequestHeadersOptions } from 'm2m-token';
import { describe, expect, it } from 'vitest';
import { setup } from './helpers/client.js';

const API = 'https://api.example.com/invoices';

describe('getRequestHeaders without DPoP', () => {
  it('is the Authorization header alone: spread as it is, redacted in JSON and inspect, frozen', async () => {
    const { client } = await setup();
    const headers = await client.getRequestHeaders({ method: 'GET', url: API });
    expect({ ...headers }).toEqual({ authorization: 'Bearer token-1' });
    expect(Object.keys(headers)).toEqual(['authorization']);
    expect('dpop' in headers).toBe(false);
    expect(JSON.stringify(headers)).toBe('{"authorization":"Bearer [REDACTED]"}');
    expect(inspect(headers)).toBe('RequestHeaders {"authorization":"Bearer [REDACTED]"}');
    expect(Object.isFrozen(headers)).toBe(true);
    // A URL object is accepted as well as a string.
    expect((await client.getRequestHeaders({ method: 'M-SEARCH', url: new URL(API) })).authorization).toBe('Bearer token-1');
  });

  it('passes the getToken options on: another audience is another token', async () => {
    const { server, client } = await setup({ audience: 'https://default' });
    await client.getRequestHeaders({ method: 'GET', url: API });
    const other = await client.getRequestHeaders({ method: 'GET', url: API, audience: 'https://other', scope: 'read' });
    expect(other.authorization).toBe('Bearer token-2');
    expect(server.requests.map((r) => [r.form.get('audience'), r.form.get('scope')])).toEqual([['https://default', null], ['https://other', 'read']]);
  });

  it('refuses options that are not an object, a method that is not an HTTP token, a URL that is not absolute', async () => {
    const { server, client } = await setup();
    const refusal = async (options: unknown) => {
      const error = await client.getRequestHeaders(options as RequestHeadersOptions).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigurationError);
      return [(error as ConfigurationError).option, (error as ConfigurationError).message];
    };
    expect(await refusal(null)).toEqual(['getRequestHeaders', 'Invalid option `getRequestHeaders`: options must be { method, url, …getToken options }']);
    expect(await refusal('GET')).toEqual(['getRequestHeaders', 'Invalid option `getRequestHeaders`: options must be { method, url, …getToken options }']);
    for (const method of [undefined, 7, '', ' GET', 'GET ', 'GE T', 'GET\n']) {
      expect(await refusal({ method, url: API })).toEqual(['getRequestHeaders.method', 'Invalid option `getRequestHeaders.method`: must be an HTTP method such as GET']);
    }
    // Only a string or a URL: not an object that merely turns into one.
    for (const url of [undefined, '/invoices', 'not a url', 42, { toString: () => API }]) {
      expect(await refusal({ method: 'GET', url })).toEqual(['getRequestHeaders.url', 'Invalid option `getRequestHeaders.url`: must be an absolute URL']);
    }
    expect(server.requests).toHaveLength(0);
  });
});

describe('the DPoP calls on a client without DPoP', () => {
  it('proof() is refused naming the dpop option; rememberNonce() is ignored, whatever the URL', async () => {
    const { client } = await setup();
    const token = await client.getToken();
    const error = await client.proof(token, 'GET', API).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error).toMatchObject({ option: 'dpop', message: 'Invalid option `dpop`: is not set: this client makes no DPoP proofs' });
    expect(() => client.rememberNonce(API, 'nonce-1')).not.toThrow();
    expect(() => client.rememberNonce('not a url', 'nonce-1')).not.toThrow();
  });
});
