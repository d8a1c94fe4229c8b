import { MockAgent } from 'undici';
import { describe, expect, it } from 'vitest';
import { TokenClient, TokenClientError } from '../src/index.js';
import { SECRET, setup } from './helpers/client.js';
import { expectNoLeak, renderings } from './helpers/leaks.js';
import { json, type Responder } from './helpers/token-server.js';

const TOKEN = 'at-0123456789-abcdef-TOKEN';
const raw = (status: number, contentType: string, body: string): Responder => (_r, res) => {
  res.writeHead(status, { 'content-type': contentType });
  res.end(body);
};

const cases: [string, Responder, Record<string, unknown>][] = [
  ['OAuth error echoing the secret', (_r, res) => json(res, 401, { error: 'invalid_client', error_description: `bad secret ${SECRET}`, error_uri: 'https://docs/x' }), { code: 'M2M_OAUTH_ERROR', status: 401, error: 'invalid_client', errorUri: 'https://docs/x' }],
  ['HTML 502 page', raw(502, 'text/html', '<html>502 Bad Gateway</html>'), { code: 'M2M_HTTP_STATUS', status: 502 }],
  ['200 that is not JSON', raw(200, 'text/plain', `access_token=${TOKEN}&token_type=bearer`), { code: 'M2M_RESPONSE_NOT_JSON', status: 200 }],
  ['malformed JSON around the token', raw(200, 'application/json', `{"access_token":"${TOKEN}", "token_type":`), { code: 'M2M_RESPONSE_MALFORMED_JSON' }],
  ['missing access_token', (_r, res) => json(res, 200, { token_type: 'Bearer', expires_in: 60 }), { code: 'M2M_RESPONSE_INVALID' }],
  ['non-numeric expires_in', (_r, res) => json(res, 200, { access_token: TOKEN, token_type: 'Bearer', expires_in: 'soon' }), { code: 'M2M_RESPONSE_INVALID' }],
  ['zero expires_in', (_r, res) => json(res, 200, { access_token: TOKEN, token_type: 'Bearer', expires_in: 0 }), { code: 'M2M_RESPONSE_INVALID' }],
  ['unsupported token type', (_r, res) => json(res, 200, { access_token: TOKEN, token_type: 'mac', expires_in: 60 }), { code: 'M2M_TOKEN_TYPE_UNSUPPORTED' }],
];

describe('errors say what happened and never carry the secret or the token', () => {
  it.each(cases)('%s', async (_name, responder, expected) => {
    const { server, client } = await setup({ retry: false });
    server.respond(responder);
    const error = await client.getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenClientError);
    expect(error).toMatchObject(expected);
    expect((error as Error).message).toContain(server.origin);
    expectNoLeak(error, [SECRET, TOKEN]);
  });

  it('the description the server echoed is kept, with the secret redacted', async () => {
    const { server, client } = await setup({ retry: false });
    server.respond(cases[0]![1]);
    const error = await client.getToken().catch((e: unknown) => e);
    expect(error).toMatchObject({ errorDescription: 'bad secret [REDACTED]' });
  });

  it('a network error names the host and leaks nothing', async () => {
    const client = new TokenClient({ tokenEndpoint: 'http://127.0.0.1:9/oauth/token', clientId: 'c', clientSecret: SECRET, retry: false });
    const error = await client.getToken().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'M2M_NETWORK_ERROR', endpoint: 'http://127.0.0.1:9' });
    expectNoLeak(error, [SECRET]);
    await client.close();
  });

  it('the client, its JSON and a token never show the secret or the token', async () => {
    const { server, client } = await setup();
    server.respond((_r, res) => json(res, 200, { access_token: TOKEN, token_type: 'Bearer', expires_in: 60 }));
    const token = await client.getToken();
    expect(token.accessToken).toBe(TOKEN);
    expectNoLeak(client, [SECRET, TOKEN]);
    expectNoLeak(token, [TOKEN]);
    expectNoLeak({ nested: { token, client } }, [SECRET, TOKEN]);
    expect(renderings(token).join()).toContain('[REDACTED]');
  });

  it('timeout, abort and closed errors have their own codes and leak nothing', async () => {
    const { server, client } = await setup({ timeout: 50, retry: false });
    server.respond(() => {});
    const timeout = await client.getToken({ audience: 't' }).catch((e: unknown) => e);
    expect(timeout).toMatchObject({ code: 'M2M_TIMEOUT', endpoint: server.origin });
    const aborted = await client.getToken({ audience: 'a', signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(aborted).toMatchObject({ code: 'M2M_ABORTED' });
    const pending = client.getToken({ audience: 'c' }).catch((e: unknown) => e);
    await client.close();
    const closed = await pending;
    expect(closed).toMatchObject({ code: 'M2M_CLIENT_CLOSED' });
    for (const error of [timeout, aborted, closed]) {
      expect(error).toBeInstanceOf(TokenClientError);
      expectNoLeak(error, [SECRET]);
    }
  });

  it.each(['client_secret_post', 'client_secret_basic'] as const)(
    'a dispatcher error that quotes the request (undici MockAgent) leaks no %s credential',
    async (clientAuthentication) => {
      const mock = new MockAgent();
      mock.disableNetConnect();
      const secret = 'mock+secret %: value-123';
      const client = new TokenClient({ tokenEndpoint: 'https://as.example.com/token', clientId: 'c', clientSecret: secret, clientAuthentication, dispatcher: mock, retry: false });
      const error = await client.getToken().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'M2M_NETWORK_ERROR' });
      const basic = Buffer.from(`c:${encodeURIComponent(secret)}`).toString('base64');
      expectNoLeak(error, [secret, encodeURIComponent(secret), new URLSearchParams({ s: secret }).toString().slice(2), basic.slice(0, 12)]);
      await client.close();
      await mock.close();
    },
  );

  it('a configuration error does not echo the secret', () => {
    let error: unknown;
    try {
      new TokenClient({ tokenEndpoint: 'http://as.example.com/token', clientId: 'c', clientSecret: SECRET });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'M2M_INVALID_OPTION', option: 'tokenEndpoint' });
    expectNoLeak(error, [SECRET]);
  });
});
