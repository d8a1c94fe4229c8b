import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { normalizeTokenParams } from '../src/token-params.js';
import { authenticate, basicAuthorization, type ClientAuthParts, type Credentials } from '../src/client-auth.js';
import { buildTokenRequest, defaultUserAgent } from '../src/token-request.js';

const url = new URL('https://tenant.auth0.com/oauth/token');
const credentials: Credentials = { clientId: 'cid', clientSecret: 'csecret', assertion: undefined, tls: false };
const post: ClientAuthParts = await authenticate('client_secret_post', credentials, 'unused');
const basic: ClientAuthParts = await authenticate('client_secret_basic', credentials, 'unused');
const packageVersion = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function build(params: Parameters<typeof normalizeTokenParams>[0] = {}, credentials = post) {
  const request = buildTokenRequest(url, credentials, normalizeTokenParams(params, ''), defaultUserAgent(undefined));
  return { ...request, form: new URLSearchParams(request.body) };
}

/** Decodes `Basic base64(id:secret)` the way an RFC 6749 §2.3.1 server does. */
function decodeBasic(header: string): [id: string, secret: string] {
  expect(header).toMatch(/^Basic [A-Za-z0-9+/]+=*$/);
  const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  expect(colon).toBeGreaterThanOrEqual(0);
  const formDecode = (text: string) => new URLSearchParams(`x=${text}`).get('x');
  return [formDecode(decoded.slice(0, colon))!, formDecode(decoded.slice(colon + 1))!];
}

describe('buildTokenRequest: form body', () => {
  it('sends grant_type=client_credentials with id and secret in the body for client_secret_post', () => {
    const { form, headers, url: target } = build();
    expect(target).toBe(url);
    expect([...form]).toEqual([
      ['grant_type', 'client_credentials'],
      ['client_id', 'cid'],
      ['client_secret', 'csecret'],
    ]);
    expect(headers.authorization).toBeUndefined();
  });

  it('sends audience and organization', () => {
    const { form } = build({ audience: 'https://api.example.com', organization: 'org_123' });
    expect(form.getAll('audience')).toEqual(['https://api.example.com']);
    expect(form.getAll('organization')).toEqual(['org_123']);
  });

  it('leaves out audience, organization, scope and resource when not given', () => {
    const { form } = build();
    for (const name of ['audience', 'organization', 'scope', 'resource']) expect(form.has(name)).toBe(false);
  });

  it('sends scope once, space-joined, deduplicated and sorted', () => {
    expect(build({ scope: 'write:b read:a  write:b' }).form.getAll('scope')).toEqual(['read:a write:b']);
    expect(build({ scope: ['z', 'a', 'm', 'a'] }).form.getAll('scope')).toEqual(['a m z']);
  });

  it('repeats the resource parameter once per resource', () => {
    const { form } = build({ resource: ['https://b.example.com', 'https://a.example.com'] });
    expect(form.getAll('resource')).toEqual(['https://a.example.com', 'https://b.example.com']);
  });

  it('appends extraParams, repeating multi-valued ones in order', () => {
    const { form } = build({ extraParams: { tenant_hint: 'eu', claims: ['x', 'y'] } });
    expect(form.getAll('tenant_hint')).toEqual(['eu']);
    expect(form.getAll('claims')).toEqual(['x', 'y']);
  });

  it('form-encodes values with reserved characters', () => {
    const { body, form } = build({ audience: 'https://api/?a=1&b=2 c' });
    expect(body).toContain('audience=https%3A%2F%2Fapi%2F%3Fa%3D1%26b%3D2+c');
    expect(form.get('audience')).toBe('https://api/?a=1&b=2 c');
  });
});

describe('buildTokenRequest: headers', () => {
  it('sends a form content type and accepts JSON', () => {
    const { headers } = build();
    expect(headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(headers.accept).toBe('application/json');
  });

  it('sends a user-agent with m2m-token/<package.json version>', () => {
    expect(build().headers['user-agent']).toContain(`m2m-token/${packageVersion}`);
  });

  it('puts a caller product token before m2m-token in the user-agent', () => {
    const request = buildTokenRequest(url, post, normalizeTokenParams({}, ''), defaultUserAgent('billing/2.1'));
    expect(request.headers['user-agent']).toMatch(new RegExp(`^billing/2\\.1 m2m-token/${packageVersion.replace(/\./g, '\\.')} `));
  });

  it('sends id and secret in an Authorization header, not in the body, for client_secret_basic', () => {
    const { form, headers } = build({}, basic);
    expect(form.has('client_id')).toBe(false);
    expect(form.has('client_secret')).toBe(false);
    expect(form.get('grant_type')).toBe('client_credentials');
    expect(decodeBasic(headers.authorization!)).toEqual(['cid', 'csecret']);
  });
});

describe('basicAuthorization (RFC 6749 §2.3.1)', () => {
  it('form-urlencodes id and secret before base64', () => {
    expect(basicAuthorization('my client:1', 'p+ss%w:rd é')).toBe('Basic bXkrY2xpZW50JTNBMTpwJTJCc3MlMjV3JTNBcmQrJUMzJUE5');
  });

  it.each([
    ['plain', 'client', 'secret'],
    ['plus', 'a+b', 'c+d'],
    ['percent', '100%', '%41%zz'],
    ['colon', 'id:with:colons', 'sec:ret'],
    ['non-ASCII', 'clïent-é', 'sécret-日本'],
    ['spaces', ' lead and trail ', 'two  spaces'],
    ['all together', 'é :+%', '+% :é'],
  ])('round-trips an id and a secret with %s', (_name, id, secret) => {
    expect(decodeBasic(basicAuthorization(id, secret))).toEqual([id, secret]);
  });

  it('leaves no raw colon in the encoded id, so the first colon splits id from secret', () => {
    const decoded = Buffer.from(basicAuthorization('a:b', 'c').slice(6), 'base64').toString('utf8');
    expect(decoded).toBe('a%3Ab:c');
  });
});
