import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigurationError, ErrorCode, TokenClient, TokenClientError, type TokenClientOptions } from '../src/index.js';

const SECRET = 'super-secret-client-value';
const base = { domain: 'tenant.auth0.com', clientId: 'cid', clientSecret: SECRET };
/** Refuses connections at once, so a call that wrongly reaches the network fails fast instead of hanging. */
const CLOSED_PORT_ENDPOINT = 'http://127.0.0.1:9/oauth/token';

const clients: TokenClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

function create(options: Record<string, unknown>): TokenClient {
  const client = new TokenClient(options as unknown as TokenClientOptions);
  clients.push(client);
  return client;
}

/** The ConfigurationError the constructor throws for these options; fails the test if it does not throw. */
function configError(options: Record<string, unknown>): ConfigurationError {
  let error: unknown;
  try {
    create(options);
  } catch (e) {
    error = e;
  }
  expect(error, 'the constructor should throw').toBeInstanceOf(ConfigurationError);
  return error as ConfigurationError;
}

/** Checks code, class, `.option` and message, and that the secret shows nowhere. */
function expectInvalidOption(options: Record<string, unknown>, option: string): ConfigurationError {
  const error = configError(options);
  expect(error).toBeInstanceOf(TokenClientError);
  expect(error.name).toBe('ConfigurationError');
  expect(error.code).toBe(ErrorCode.INVALID_OPTION);
  expect(error.option).toBe(option);
  expect(error.message).toContain(`\`${option}\``);
  for (const text of [error.message, error.stack, inspect(error), JSON.stringify(error)]) expect(text).not.toContain(SECRET);
  return error;
}

describe('TokenClient options: endpoint', () => {
  it('requires clientId', () => {
    const { clientId: _omitted, ...options } = base;
    expect(expectInvalidOption(options, 'clientId').message).toContain('required');
  });

  it('requires domain or tokenEndpoint', () => {
    const { domain: _omitted, ...options } = base;
    expect(expectInvalidOption(options, 'domain').message).toContain('tokenEndpoint');
  });

  it('refuses both domain and tokenEndpoint', () => {
    expectInvalidOption({ ...base, tokenEndpoint: 'https://as.example.com/token' }, 'domain');
  });

  it('turns domain tenant.auth0.com into https://tenant.auth0.com/oauth/token', () => {
    const client = create(base);
    expect(JSON.parse(JSON.stringify(client)).tokenEndpoint).toBe('https://tenant.auth0.com/oauth/token');
    expect(JSON.stringify(client)).not.toContain(SECRET);
    expect(inspect(client)).not.toContain(SECRET);
  });

  it('accepts domain given as an https URL without a path', () => {
    const client = create({ ...base, domain: 'https://tenant.eu.auth0.com/' });
    expect(JSON.parse(JSON.stringify(client)).tokenEndpoint).toBe('https://tenant.eu.auth0.com/oauth/token');
  });

  it.each(['tenant.auth0.com/oauth/token', 'https://tenant.auth0.com/api', 'tenant.auth0.com?x=1'])('refuses domain %s with a path or query', (domain) => {
    expectInvalidOption({ ...base, domain }, 'domain');
  });

  it('refuses a tokenEndpoint with credentials in the URL, without echoing them', () => {
    const { domain: _omitted, ...options } = base;
    const error = expectInvalidOption({ ...options, tokenEndpoint: `https://cid:${SECRET}@as.example.com/token` }, 'tokenEndpoint');
    expect(error.message).toContain('credentials');
  });

  it('refuses a domain with credentials', () => {
    expectInvalidOption({ ...base, domain: `cid:${SECRET}@tenant.auth0.com` }, 'domain');
  });

  it('refuses http: on a non-loopback host', () => {
    const { domain: _omitted, ...options } = base;
    const error = expectInvalidOption({ ...options, tokenEndpoint: 'http://as.example.com/token' }, 'tokenEndpoint');
    expect(error.message).toContain('allowInsecureHttp');
    expectInvalidOption({ ...base, domain: 'http://tenant.example.com' }, 'domain');
  });

  it('allows http: on a non-loopback host with allowInsecureHttp: true', () => {
    const { domain: _omitted, ...options } = base;
    const client = create({ ...options, tokenEndpoint: 'http://as.example.com/token', allowInsecureHttp: true });
    expect(JSON.parse(JSON.stringify(client)).tokenEndpoint).toBe('http://as.example.com/token');
  });

  it.each(['http://127.0.0.1:8080/token', 'http://localhost:8080/token', 'http://[::1]:8080/token'])('allows http: on loopback %s', (tokenEndpoint) => {
    const { domain: _omitted, ...options } = base;
    expect(JSON.parse(JSON.stringify(create({ ...options, tokenEndpoint }))).tokenEndpoint).toBe(tokenEndpoint);
  });

  it('refuses a scheme other than https: and http:', () => {
    const { domain: _omitted, ...options } = base;
    expectInvalidOption({ ...options, tokenEndpoint: 'ftp://as.example.com/token' }, 'tokenEndpoint');
  });
});

describe('TokenClient options: credentials', () => {
  it('refuses an unknown clientAuthentication', () => {
    const error = expectInvalidOption({ ...base, clientAuthentication: 'client_secret_magic' }, 'clientAuthentication');
    expect(error.message).toContain('client_secret_post');
  });

  it.each([
    ['missing', undefined, 'client_secret_post'],
    ['empty', '', 'client_secret_post'],
    ['missing with basic', undefined, 'client_secret_basic'],
  ])('requires clientSecret (%s)', (_name, clientSecret, clientAuthentication) => {
    expectInvalidOption({ ...base, clientSecret, clientAuthentication }, 'clientSecret');
  });

  it('refuses a misspelled option such as clientSecert', () => {
    const { clientSecret: _omitted, ...options } = base;
    const error = expectInvalidOption({ ...options, clientSecert: SECRET }, 'clientSecert');
    expect(error.message).toContain('unknown option');
  });
});

describe('TokenClient options: durations and limits', () => {
  const durations = ['timeout', 'expiryLeeway', 'refreshAhead', 'totalTimeout', 'storeTimeout'];
  const invalid: [string, unknown][] = [
    ['negative', -1],
    ['NaN', Number.NaN],
    ['a string', '1000'],
    ['Infinity', Number.POSITIVE_INFINITY],
  ];

  for (const option of durations) {
    it.each(invalid)(`refuses ${option} that is %s`, (_name, value) => {
      expectInvalidOption({ ...base, [option]: value }, option);
    });
  }

  it('hints that durations are numbers when given a string', () => {
    expect(expectInvalidOption({ ...base, timeout: '10s' }, 'timeout').message).toContain('milliseconds');
  });

  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
  ])('shows a non-finite duration as %s in the message, not as null', (name, value) => {
    const error = expectInvalidOption({ ...base, timeout: value }, 'timeout');
    expect(error.message).toContain(`got ${name}`);
  });

  it.each([[-1], [1.5], [21]])('refuses retry.retries %j', (retries) => {
    expectInvalidOption({ ...base, retry: { retries } }, 'retry.retries');
  });

  it('accepts retry: false and retry.retries 0', () => {
    expect(() => create({ ...base, retry: false })).not.toThrow();
    expect(() => create({ ...base, retry: { retries: 0 } })).not.toThrow();
  });

  it.each([[0], [-1], [1.5]])('refuses cache.max %j', (max) => {
    expectInvalidOption({ ...base, cache: { max } }, 'cache.max');
  });

  it('refuses a duration setTimeout cannot hold (over 2^31 − 1 ms)', () => {
    expectInvalidOption({ ...base, timeout: 30 * 24 * 3_600_000 }, 'timeout');
  });
});

describe('TokenClient options: extraParams', () => {
  it.each(['grant_type', 'client_id', 'client_secret', 'audience', 'organization', 'scope', 'resource'])(
    'refuses extraParams.%s, which the client owns',
    (name) => {
      expectInvalidOption({ ...base, extraParams: { [name]: 'x' } }, `extraParams.${name}`);
    },
  );

  it('accepts other extra parameters', () => {
    expect(() => create({ ...base, extraParams: { tenant_hint: 'eu', claims: ['a', 'b'] } })).not.toThrow();
  });
});

describe('getToken() options', () => {
  const { domain: _omitted, ...credentials } = base;
  const client = () => create({ ...credentials, tokenEndpoint: CLOSED_PORT_ENDPOINT, retry: false });

  it.each([
    ['audience', { audience: '' }],
    ['audience', { audience: 42 }],
    ['organization', { organization: '' }],
    ['scope', { scope: 42 }],
    ['resource', { resource: [''] }],
    ['extraParams', { extraParams: 'x=1' }],
    ['extraParams.client_secret', { extraParams: { client_secret: 'other' } }],
    ['extraParams.grant_type', { extraParams: { grant_type: 'password' } }],
    ['forceRefresh', { forceRefresh: 'yes' }],
    ['signal', { signal: {} }],
  ])('rejects an invalid getToken.%s with M2M_INVALID_OPTION', async (field, options) => {
    const error: unknown = await client().getToken(options as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error).toMatchObject({ code: ErrorCode.INVALID_OPTION, option: `getToken.${field}` });
    expect((error as Error).message).toContain(`getToken.${field}`);
  });

  it('rejects, not throws, when the options are not an object', async () => {
    const c = client();
    let promise: Promise<unknown> | undefined;
    expect(() => {
      promise = c.getToken(null as never);
    }).not.toThrow();
    await expect(promise).rejects.toMatchObject({ code: ErrorCode.INVALID_OPTION, option: 'getToken' });
  });

  it('rejects a misspelled getToken option such as audiance instead of ignoring it', async () => {
    const error: unknown = await client().getToken({ audiance: 'https://api.example.com' } as never).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.INVALID_OPTION, option: 'getToken.audiance' });
  });
});
