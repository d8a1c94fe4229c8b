import { describe, expect, it } from 'vitest';
import { TokenClient } from '../src/index.js';
import { SECRET, setup } from './helpers/client.js';
import { json } from './helpers/token-server.js';

describe('getToken over HTTP', () => {
  it('POSTs a client_credentials form with post authentication and returns the token', async () => {
    const { server, client } = await setup({ audience: 'https://api.example.com', organization: 'org_123', scope: 'write:a read:a read:a' });
    server.respond((_req, res) => json(res, 200, { access_token: 'tok-1', token_type: 'bearer', expires_in: '7200', scope: 'read:a write:a' }));
    const token = await client.getToken();

    const [request] = server.requests;
    expect(request!.method).toBe('POST');
    expect(request!.url).toBe('/oauth/token');
    expect(request!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(request!.headers.accept).toBe('application/json');
    expect(request!.headers['user-agent']).toMatch(/^m2m-token\/\d+\.\d+\.\d+ /);
    expect(request!.headers.authorization).toBeUndefined();
    expect(Object.fromEntries(request!.form)).toEqual({
      grant_type: 'client_credentials',
      client_id: 'client-1',
      client_secret: SECRET,
      audience: 'https://api.example.com',
      organization: 'org_123',
      scope: 'read:a write:a',
    });
    expect(token.accessToken).toBe('tok-1');
    expect(token.tokenType).toBe('Bearer');
    expect(token.expiresIn).toBe(7_200_000);
    expect(token.expiresAt).toBeGreaterThan(Date.now() + 7_000_000);
    expect(token.scope).toEqual(['read:a', 'write:a']);
    expect(token.raw.expires_in).toBe('7200');
    expect(await client.getAuthorizationHeader()).toBe('Bearer tok-1');
  });

  it('sends client_secret_basic credentials form-encoded before base64, and no secret in the body', async () => {
    const id = 'id with+plus%:é';
    const secret = 'sec ret+%:é/=';
    const { server, client } = await setup({ clientId: id, clientSecret: secret, clientAuthentication: 'client_secret_basic' });
    await client.getToken();
    const [request] = server.requests;
    const decoded = Buffer.from(request!.headers.authorization!.replace(/^Basic /, ''), 'base64').toString('utf8');
    const [rawId, rawSecret] = decoded.split(':');
    const formDecode = (v: string) => new URLSearchParams(`v=${v}`).get('v');
    expect(formDecode(rawId!)).toBe(id);
    expect(formDecode(rawSecret!)).toBe(secret);
    expect(request!.form.has('client_secret')).toBe(false);
    expect(request!.form.has('client_id')).toBe(false);
  });

  it('sends each resource and the extra params, and per-call options override the defaults', async () => {
    const { server, client } = await setup({ audience: 'default-aud', extraParams: { tenant_hint: 'eu', x: ['1', '2'] } });
    await client.getToken({ audience: 'call-aud', resource: ['https://r2', 'https://r1'], extraParams: { x: '3' } });
    const { form } = server.requests[0]!;
    expect(form.get('audience')).toBe('call-aud');
    expect(form.getAll('resource')).toEqual(['https://r1', 'https://r2']);
    expect(form.get('tenant_hint')).toBe('eu');
    expect(form.getAll('x')).toEqual(['3']);
  });

  it('caches per key: same options share a token, any differing parameter gets its own', async () => {
    const { server, client } = await setup({ audience: 'a' });
    const first = await client.getToken();
    expect((await client.getToken()).accessToken).toBe(first.accessToken);
    expect((await client.getToken({ audience: 'a' })).accessToken).toBe(first.accessToken);
    expect(server.requests).toHaveLength(1);

    const variants = [
      { audience: 'b' },
      { organization: 'org_1' },
      { scope: ['read'] },
      { resource: 'https://r' },
      { extraParams: { p: '1' } },
      { extraParams: { p: '2' } },
    ];
    const tokens = await Promise.all(variants.map((v) => client.getToken(v)));
    expect(server.requests).toHaveLength(1 + variants.length);
    expect(new Set([first, ...tokens].map((t) => t.accessToken)).size).toBe(1 + variants.length);

    // Normalized scope: order, duplicates and separators do not matter.
    await client.getToken({ scope: 'write read' });
    await client.getToken({ scope: ['read', 'write', 'read'] });
    expect(server.requests).toHaveLength(1 + variants.length + 1);
  });

  it('never caches an error: the next call asks again', async () => {
    const { server, client } = await setup();
    server.respond((_req, res) => json(res, 401, { error: 'invalid_client', error_description: 'Unauthorized' }));
    await expect(client.getToken()).rejects.toMatchObject({ code: 'M2M_OAUTH_ERROR', error: 'invalid_client', status: 401 });
    server.respond((_req, res) => json(res, 200, { access_token: 'ok', token_type: 'Bearer', expires_in: 60 }));
    await expect(client.getToken()).resolves.toMatchObject({ accessToken: 'ok' });
    expect(server.requests).toHaveLength(2);
  });

  it('invalidate() drops only that entry; forceRefresh gets a new token', async () => {
    const { server, client } = await setup();
    const a1 = await client.getToken({ audience: 'a' });
    const b1 = await client.getToken({ audience: 'b' });
    await client.invalidate({ audience: 'a' });
    const a2 = await client.getToken({ audience: 'a' });
    expect(a2.accessToken).not.toBe(a1.accessToken);
    expect((await client.getToken({ audience: 'b' })).accessToken).toBe(b1.accessToken);
    const a3 = await client.getToken({ audience: 'a', forceRefresh: true });
    expect(a3.accessToken).not.toBe(a2.accessToken);
    expect((await client.getToken({ audience: 'a' })).accessToken).toBe(a3.accessToken);
    expect(server.requests).toHaveLength(4);
  });

  it('builds the Auth0 URL from domain', async () => {
    const client = new TokenClient({ domain: 'tenant.eu.auth0.com', clientId: 'c', clientSecret: 's' });
    expect(client.toJSON().tokenEndpoint).toBe('https://tenant.eu.auth0.com/oauth/token');
    await client.close();
  });

  it('rejects every call after close()', async () => {
    const { client } = await setup();
    await client.getToken();
    await client.close();
    await expect(client.getToken()).rejects.toMatchObject({ code: 'M2M_CLIENT_CLOSED' });
  });
});
