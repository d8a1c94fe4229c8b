// Client authentication as the token endpoint sees it: the claims and timing of each assertion, which method is
// chosen, what is refused at construction and why, and that every form of the secret is scrubbed from errors.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import {
  assertionAudience,
  authenticate,
  basicAuthorization,
  checkMethod,
  chooseMethod,
  methodsAllowedBy,
  refusalHint,
  resolveAssertionKey,
  resolveBasicEncoding,
  type Credentials,
} from '../src/client-auth.js';
import { ConfigurationError, TokenClient, TokenClientError } from '../src/index.js';
import { setup } from './helpers/client.js';
import { json } from './helpers/token-server.js';
import { configError } from './helpers/config-error.js';

const keys = {
  rsa: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
  pss: generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).privateKey,
  p256: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
  p384: generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey,
  p521: generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey,
  k256: generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey,
  ed: generateKeyPairSync('ed25519').privateKey,
  x: generateKeyPairSync('x25519').privateKey,
};

const dir = mkdtempSync(join(tmpdir(), 'm2m-client-auth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  vi.useRealTimers();
});

const creds = (fields: Partial<Credentials> = {}): Credentials => ({ clientId: 'app', clientSecret: undefined, assertion: undefined, tls: false, ...fields });

const unsignedJwt = (claims: Record<string, unknown>) =>
  `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2lnbmF0dXJl`;

describe('assertion time claims follow the clock', () => {
  it('iat is now in whole seconds (rounded down), exp two minutes later; iss and sub the client id', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const now = Date.parse('2030-06-01T12:00:00.999Z');
    vi.setSystemTime(now);
    const { server, client } = await setup({ clientAuthentication: 'client_secret_jwt' });
    await client.getToken();
    const claims = decodeJwt(server.requests[0]!.form.get('client_assertion')!);
    expect(claims.iat).toBe(Math.floor(now / 1000));
    expect(claims.exp).toBe(Math.floor(now / 1000) + 120);
    expect(claims).toMatchObject({ iss: 'client-1', sub: 'client-1', aud: server.url });
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(decodeProtectedHeader(server.requests[0]!.form.get('client_assertion')!)).toEqual({ alg: 'HS256', typ: 'JWT' });
  });

  it('a signing function gets the same claims, a fresh jti every attempt, and a copy it may change', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.parse('2031-01-01T00:00:10.500Z'));
    const seen: Record<string, unknown>[] = [];
    const sign = (claims: Record<string, unknown>) => {
      seen.push({ ...claims });
      claims.aud = 'tampered';
      return `  ${unsignedJwt(claims)}\n`;
    };
    const { server, client } = await setup({ clientSecret: undefined, clientAssertion: sign as never, retry: { retries: 1, baseDelay: 1, maxDelay: 1 } });
    server.respond((_req, res, i) => (i === 1 ? json(res, 503, {}) : json(res, 200, { access_token: 'a', token_type: 'Bearer', expires_in: 60 })));
    await client.getToken();
    expect(seen).toHaveLength(2);
    const iat = Date.parse('2031-01-01T00:00:10Z') / 1000;
    expect(seen[0]).toMatchObject({ iss: 'client-1', sub: 'client-1', aud: server.url, iat, exp: iat + 120 });
    expect(seen[1]!.jti).not.toBe(seen[0]!.jti);
    // What the function returned, trimmed, is what was sent.
    expect(server.requests[0]!.form.get('client_assertion')).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(server.requests[0]!.form.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    expect(server.requests[0]!.form.get('client_id')).toBe('client-1');
  });

  it('an assertion file whose exp is now or past is refused before any request, naming when it expired', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const now = Date.parse('2030-01-01T00:00:00Z');
    vi.setSystemTime(now);
    const file = join(dir, 'expired.jwt');
    writeFileSync(file, unsignedJwt({ exp: now / 1000 }));
    const { server, client } = await setup({ clientSecret: undefined, clientAssertion: { file } });
    const error = (await client.getToken().catch((e: unknown) => e)) as ConfigurationError;
    expect(error.option).toBe('clientAssertion.file');
    expect(error.message).toContain(`${file} holds a JWT that expired at 2030-01-01T00:00:00.000Z`);
    expect(server.requests).toHaveLength(0);
    writeFileSync(file, `\n${unsignedJwt({ exp: now / 1000 + 1, aud: 'x' })}\n`);
    await client.getToken();
    expect(server.requests[0]!.form.get('client_assertion')).toBe(unsignedJwt({ exp: now / 1000 + 1, aud: 'x' }));
  });
});

describe('assertion files', () => {
  it('a missing file or one without a JWT names the path and the reason, never the content', async () => {
    const missing = join(dir, 'missing.jwt');
    const { client } = await setup({ clientSecret: undefined, clientAssertion: { file: missing } });
    const e1 = (await client.getToken().catch((e: unknown) => e)) as ConfigurationError;
    expect(e1.message).toContain(`${missing} could not be read (ENOENT)`);
    expect(e1.option).toBe('clientAssertion.file');
    const junk = join(dir, 'junk.jwt');
    writeFileSync(junk, ' super-secret-password \n');
    const c2 = (await setup({ clientSecret: undefined, clientAssertion: { file: junk } })).client;
    const e2 = (await c2.getToken().catch((e: unknown) => e)) as ConfigurationError;
    expect(e2.message).toContain(`${junk} does not hold a signed JWT in compact form (21 characters)`);
    expect(e2.message).not.toContain('super-secret');
    expect(e2.option).toBe('clientAssertion.file');
    for (const payload of ['null', '5', '"text"']) {
      const file = join(dir, `payload-${payload.length}.jwt`);
      writeFileSync(file, `a.${Buffer.from(payload).toString('base64url')}.c`);
      const c = (await setup({ clientSecret: undefined, clientAssertion: { file } })).client;
      expect(((await c.getToken().catch((e: unknown) => e)) as Error).message).toContain(`${file} does not hold a signed JWT`);
    }
    const notJson = join(dir, 'notjson.jwt');
    writeFileSync(notJson, 'aaa.bbb.ccc');
    const c3 = (await setup({ clientSecret: undefined, clientAssertion: { file: notJson } })).client;
    expect(((await c3.getToken().catch((e: unknown) => e)) as Error).message).toContain('does not hold a signed JWT');
    const arrayClaims = join(dir, 'array.jwt');
    writeFileSync(arrayClaims, `a.${Buffer.from('[1]').toString('base64url')}.c`);
    const c4 = (await setup({ clientSecret: undefined, clientAssertion: { file: arrayClaims } })).client;
    expect(((await c4.getToken().catch((e: unknown) => e)) as Error).message).toContain('does not hold a signed JWT');
  });

  it('a refused file assertion names its aud (joined when a list, cut at 200 characters)', async () => {
    for (const [aud, shown] of [
      ['https://as.example/', '(its aud: "https://as.example/")'],
      [['a', 'b'], '(its aud: "a, b")'],
      ['x'.repeat(300), `(its aud: "${'x'.repeat(200)}")`],
    ] as const) {
      const file = join(dir, `aud-${shown.length}.jwt`);
      writeFileSync(file, unsignedJwt({ aud, exp: Date.now() / 1000 + 600 }));
      const { server, client } = await setup({ clientSecret: undefined, clientAssertion: { file }, retry: false });
      server.respond((_r, res) => json(res, 401, { error: 'invalid_client' }));
      const error = (await client.getToken().catch((e: unknown) => e)) as Error;
      expect(error.message).toContain(`The client assertion is the JWT in ${file} ${shown}, sent as it is.`);
    }
    const file = join(dir, 'noaud.jwt');
    writeFileSync(file, unsignedJwt({ aud: [1], exp: Date.now() / 1000 + 600 }));
    const { server, client } = await setup({ clientSecret: undefined, clientAssertion: { file }, retry: false });
    server.respond((_r, res) => json(res, 401, { error: 'invalid_client' }));
    expect(((await client.getToken().catch((e: unknown) => e)) as Error).message).toContain(`the JWT in ${file}, sent as it is`);
  });
});

describe('which assertion is sent', () => {
  it('an assertion file without a numeric exp is sent as it is (the server judges it)', async () => {
    for (const exp of [null, 'tomorrow']) {
      const file = join(dir, `exp-${String(exp)}.jwt`);
      const jwt = unsignedJwt({ exp, aud: 'x' });
      writeFileSync(file, jwt);
      const { server, client } = await setup({ clientSecret: undefined, clientAssertion: { file } });
      await client.getToken();
      expect(server.requests[0]!.form.get('client_assertion')).toBe(jwt);
    }
  });

  it('client_secret_jwt chosen explicitly signs HS256 with the secret, even when a private key is configured too', async () => {
    const { server, client } = await setup({ clientAssertion: { key: keys.p256 }, clientAuthentication: 'client_secret_jwt' });
    await client.getToken();
    expect(decodeProtectedHeader(server.requests[0]!.form.get('client_assertion')!)).toEqual({ alg: 'HS256', typ: 'JWT' });
  });

  it('Basic chosen explicitly next to an assertion file: the refusal hint is about the secret, not the file', async () => {
    const file = join(dir, 'unused.jwt');
    writeFileSync(file, unsignedJwt({ aud: 'x' }));
    const { server, client } = await setup({ clientAssertion: { file }, clientAuthentication: 'client_secret_basic', retry: false });
    server.respond((_r, res) => json(res, 401, { error: 'invalid_client' }));
    const message = ((await client.getToken().catch((e: unknown) => e)) as Error).message;
    expect(message).toContain('Check clientId, clientSecret and clientAuthentication.');
    expect(message).not.toContain(file);
  });

  it('a file whose aud list holds a non-string shows no aud', async () => {
    const file = join(dir, 'mixed-aud.jwt');
    writeFileSync(file, unsignedJwt({ aud: ['a', 1], exp: Date.now() / 1000 + 600 }));
    const { server, client } = await setup({ clientSecret: undefined, clientAssertion: { file }, retry: false });
    server.respond((_r, res) => json(res, 401, { error: 'invalid_client' }));
    const message = ((await client.getToken().catch((e: unknown) => e)) as Error).message;
    expect(message).toContain(`the JWT in ${file}, sent as it is`);
  });
});

describe('signing functions', () => {
  it('a function that throws: M2M_UNEXPECTED_ERROR naming the error type and code, with it as the cause', async () => {
    for (const [thrown, what] of [
      [Object.assign(new TypeError('kms down'), { code: 'ERR_KMS' }), '(TypeError ERR_KMS)'],
      [new RangeError('x'), '(RangeError)'],
      ['a string', '(string)'],
      [null, '(object)'],
      [{ name: '', code: 5 }, '(object)'],
      [{ name: 5 }, '(object)'],
    ] as const) {
      const { client } = await setup({ clientSecret: undefined, clientAssertion: () => Promise.reject(thrown) });
      const error = (await client.getToken().catch((e: unknown) => e)) as TokenClientError;
      expect(error).toBeInstanceOf(TokenClientError);
      expect(error.code).toBe('M2M_UNEXPECTED_ERROR');
      expect(error.message).toContain(`The clientAssertion function failed ${what} while signing`);
      expect(error.cause).toBe(thrown);
    }
  });

  it('a function that returns no compact JWT is a ConfigurationError saying what it returned', async () => {
    for (const [returned, what] of [
      ['abc', 'a string of 3 characters that is not a signed JWT'],
      ['a.b.', 'a string of 4 characters that is not a signed JWT'],
      ['a.b.c.d', 'a string of 7 characters that is not a signed JWT'],
      [null, 'the function returned null;'],
      [42, 'the function returned number;'],
      [undefined, 'the function returned undefined;'],
    ] as const) {
      const { server, client } = await setup({ clientSecret: undefined, clientAssertion: () => returned as never });
      const error = (await client.getToken().catch((e: unknown) => e)) as ConfigurationError;
      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error.option).toBe('clientAssertion');
      expect(error.message).toContain(what);
      expect(error.message).toContain('header.payload.signature');
      expect(server.requests).toHaveLength(0);
    }
  });
});

describe('every form of the secret is scrubbed from what the server echoes', () => {
  const SECRET = 'pa ss+wd/=é!~*()';
  const echo = (pick: (req: { body: string; headers: Record<string, unknown> }) => string) => (req: { body: string; headers: Record<string, unknown> }, res: import('node:http').ServerResponse) =>
    json(res, 400, { error: 'invalid_request', error_description: `you sent ${pick(req)}` });

  it('client_secret_basic: the base64 credential, and the secret raw, form-encoded and URI-encoded', async () => {
    for (const pick of [
      (r: { headers: Record<string, unknown> }) => String(r.headers.authorization).slice('Basic '.length),
      () => SECRET,
      () => new URLSearchParams([['', SECRET]]).toString().slice(1),
      () => encodeURIComponent(SECRET),
    ]) {
      const { server, client } = await setup({ clientSecret: SECRET, clientAuthentication: 'client_secret_basic', retry: false });
      server.respond(echo(pick as never) as never);
      const error = (await client.getToken().catch((e: unknown) => e)) as { errorDescription: string };
      expect(error.errorDescription).toBe('you sent [REDACTED]');
    }
  });

  it('client_secret_post: the request body as the server saw it', async () => {
    const { server, client } = await setup({ clientSecret: SECRET, clientAuthentication: 'client_secret_post', retry: false });
    server.respond(echo((r) => r.body) as never);
    const error = (await client.getToken().catch((e: unknown) => e)) as { errorDescription: string };
    expect(error.errorDescription).toContain('client_secret=[REDACTED]');
    expect(error.errorDescription).not.toContain('pa+ss');
  });

  it('client_secret_jwt: the assertion and the secret', async () => {
    for (const pick of [(r: { body: string }) => new URLSearchParams(r.body).get('client_assertion')!, () => SECRET]) {
      const { server, client } = await setup({ clientSecret: SECRET, clientAuthentication: 'client_secret_jwt', retry: false });
      server.respond(echo(pick as never) as never);
      const error = (await client.getToken().catch((e: unknown) => e)) as { errorDescription: string };
      expect(error.errorDescription).toBe('you sent [REDACTED]');
    }
  });
});

describe('Basic credentials', () => {
  it('form-encode id and secret by default, or send them as they are', () => {
    const decoded = (h: string) => Buffer.from(h.slice('Basic '.length), 'base64').toString('utf8');
    expect(decoded(basicAuthorization('a b', 's:é+'))).toBe('a+b:s%3A%C3%A9%2B');
    expect(decoded(basicAuthorization('a b', 's:é+', 'form-urlencoded'))).toBe('a+b:s%3A%C3%A9%2B');
    expect(decoded(basicAuthorization('a b', 's:é+', 'raw'))).toBe('a b:s:é+');
  });

  it('basicCredentialEncoding is checked against the credentials', () => {
    expect(resolveBasicEncoding('raw', 'id', 's')).toBe('raw');
    expect(resolveBasicEncoding('form-urlencoded', 'a:b', 's')).toBe('form-urlencoded');
    const bad = configError(() => resolveBasicEncoding('utf8', 'id', 's'));
    expect(bad.option).toBe('basicCredentialEncoding');
    expect(bad.message).toContain(`got "utf8"; expected 'form-urlencoded'`);
    expect(configError(() => resolveBasicEncoding('raw', 'id', undefined)).message).toContain('which needs clientSecret');
    expect(configError(() => resolveBasicEncoding('raw', 'a:b', 's')).message).toContain("'raw' cannot send a clientId that contains ':'");
  });
});

describe('choosing a method', () => {
  const secret = creds({ clientSecret: 's' });
  const key = creds({ assertion: { kind: 'key', key: keys.p256, alg: 'ES256', kid: undefined, audience: 'issuer' } });
  const both = creds({ clientSecret: 's', assertion: key.assertion });
  const tls = creds({ tls: true });
  const audienceOnly = creds({ clientSecret: 's', assertion: { kind: 'audience', audience: 'token_endpoint' } });

  it('lists what the credentials allow, strongest first', () => {
    expect(methodsAllowedBy(secret)).toEqual(['client_secret_basic', 'client_secret_post', 'client_secret_jwt']);
    expect(methodsAllowedBy(both)).toEqual(['private_key_jwt', 'client_secret_basic', 'client_secret_post', 'client_secret_jwt']);
    expect(methodsAllowedBy(tls)).toEqual(['tls_client_auth', 'self_signed_tls_client_auth']);
    expect(methodsAllowedBy(audienceOnly)).toEqual(['client_secret_jwt']);
    expect(methodsAllowedBy(creds({ assertion: { kind: 'file', path: '/x' } }))).toEqual(['private_key_jwt']);
  });

  it('without metadata: client_secret_post for a plain secret, else the strongest', () => {
    expect(chooseMethod(secret, undefined)).toBe('client_secret_post');
    expect(chooseMethod(both, undefined)).toBe('private_key_jwt');
    expect(chooseMethod(tls, undefined)).toBe('tls_client_auth');
    expect(chooseMethod(creds({ clientSecret: 's', tls: true }), undefined)).toBe('tls_client_auth');
    expect(chooseMethod(audienceOnly, undefined)).toBe('client_secret_jwt');
  });

  it('with metadata: the strongest the server lists, or a refusal naming both sides', () => {
    expect(chooseMethod(both, ['client_secret_post', 'private_key_jwt'])).toBe('private_key_jwt');
    expect(chooseMethod(both, ['client_secret_post'])).toBe('client_secret_post');
    const e = configError(() => chooseMethod(secret, ['private_key_jwt']));
    expect(e.option).toBe('clientAuthentication');
    expect(e.message).toContain('the server supports private_key_jwt but the credentials given allow only client_secret_basic, client_secret_post, client_secret_jwt');
    expect(configError(() => chooseMethod(secret, [])).message).toContain('the server supports no method but');
    expect(configError(() => chooseMethod(secret, ['private_key_jwt', 'tls_client_auth'])).message).toContain('the server supports private_key_jwt, tls_client_auth but');
  });

  it("the server's list in a refusal: plain names only, ten at most, the rest counted", () => {
    const said = (supported: unknown[]) => {
      const m = configError(() => chooseMethod(tls, supported as string[])).message;
      return m.slice(m.indexOf('the server supports ') + 'the server supports '.length, m.indexOf(' but the credentials'));
    };
    const names = Array.from({ length: 12 }, (_, i) => `m${i}`);
    expect(said(names.slice(0, 10))).toBe(names.slice(0, 10).join(', '));
    expect(said(names.slice(0, 11))).toBe(`${names.slice(0, 10).join(', ')}, 1 other`);
    expect(said(names)).toBe(`${names.slice(0, 10).join(', ')}, 2 others`);
    // Anything but a plain name (not a string, spaces or markup, over 60 characters) is only counted.
    expect(said(['private_key_jwt', 5, 'a b', '<script>', 'x'.repeat(61), 'y'.repeat(60), 'urn:x.y-z_1'])).toBe(`private_key_jwt, ${'y'.repeat(60)}, urn:x.y-z_1, 4 others`);
    expect(said([' private_key_jwt', 'private_key_jwt '])).toBe('2 others');
  });
});

describe('an explicit clientAuthentication must have what it needs', () => {
  it('refuses unknown methods, listing the known ones', () => {
    const e = configError(() => checkMethod('client_secret', creds({ clientSecret: 's' })));
    expect(e.option).toBe('clientAuthentication');
    expect(e.message).toContain('got "client_secret"; expected one of client_secret_post, client_secret_basic, client_secret_jwt, private_key_jwt, tls_client_auth, self_signed_tls_client_auth');
  });

  it('a client_secret_* method without a secret names clientSecret', () => {
    for (const method of ['client_secret_post', 'client_secret_basic', 'client_secret_jwt']) {
      const e = configError(() => checkMethod(method, creds({ tls: true })));
      expect(e.option).toBe('clientSecret');
      expect(e.message).toContain(`required by clientAuthentication '${method}'`);
      expect(() => new TokenClient({ tokenEndpoint: 'https://as.example/token', clientId: 'a', clientAssertion: { key: keys.p256 }, clientAuthentication: method as never })).toThrow(
        `Invalid option \`clientSecret\`: required by clientAuthentication '${method}'`,
      );
    }
  });

  it('private_key_jwt without a key, signer or file', () => {
    for (const c of [creds({ clientSecret: 's' }), creds({ clientSecret: 's', assertion: { kind: 'audience', audience: 'issuer' } })]) {
      const e = configError(() => checkMethod('private_key_jwt', c));
      expect(e.option).toBe('clientAssertion');
      expect(e.message).toContain("required by clientAuthentication 'private_key_jwt'");
    }
  });

  it('client_secret_jwt with a signer or a file, and Basic/post with an audience-only assertion', () => {
    const signer = configError(() => checkMethod('client_secret_jwt', creds({ clientSecret: 's', assertion: { kind: 'sign', sign: () => 'x', audience: 'issuer' } })));
    expect(signer.option).toBe('clientAssertion');
    expect(signer.message).toContain('a signing function is sent as private_key_jwt');
    // private_key_jwt takes each of the three sources.
    for (const assertion of [
      { kind: 'sign' as const, sign: () => 'x', audience: 'issuer' },
      { kind: 'file' as const, path: '/x' },
      { kind: 'key' as const, key: keys.p256, alg: 'ES256', kid: undefined, audience: 'issuer' },
    ]) {
      expect(checkMethod('private_key_jwt', creds({ clientSecret: 's', assertion }))).toBe('private_key_jwt');
    }
    const file = configError(() => checkMethod('client_secret_jwt', creds({ clientSecret: 's', assertion: { kind: 'file', path: '/x' } })));
    expect(file.message).toContain('a file is sent as private_key_jwt');
    for (const method of ['client_secret_basic', 'client_secret_post']) {
      const e = configError(() => checkMethod(method, creds({ clientSecret: 's', assertion: { kind: 'audience', audience: 'issuer' } })));
      expect(e.message).toContain(`clientAuthentication '${method}' sends none`);
    }
    expect(checkMethod('client_secret_jwt', creds({ clientSecret: 's', assertion: { kind: 'audience', audience: 'issuer' } }))).toBe('client_secret_jwt');
  });

  it("'raw' Basic encoding with another method, and a TLS method without a certificate", () => {
    const raw = configError(() => checkMethod('client_secret_post', creds({ clientSecret: 's', basicEncoding: 'raw' })));
    expect(raw.option).toBe('basicCredentialEncoding');
    expect(raw.message).toContain("applies only to client_secret_basic, and clientAuthentication is 'client_secret_post'");
    expect(checkMethod('client_secret_basic', creds({ clientSecret: 's', basicEncoding: 'raw' }))).toBe('client_secret_basic');
    for (const method of ['tls_client_auth', 'self_signed_tls_client_auth']) {
      const e = configError(() => checkMethod(method, creds({ clientSecret: 's' })));
      expect(e.option).toBe('tls');
      expect(e.message).toContain(`required by clientAuthentication '${method}'`);
      expect(checkMethod(method, creds({ tls: true }))).toBe(method);
    }
  });
});

describe('clientAssertion shapes and keys', () => {
  it('picks the default alg from the key: RSA, RSA-PSS, P-256/384/521, Ed25519', () => {
    const alg = (key: KeyObject) => (resolveAssertionKey({ key }) as { alg: string }).alg;
    expect(alg(keys.rsa)).toBe('RS256');
    expect(alg(keys.pss)).toBe('PS256');
    expect(alg(keys.p256)).toBe('ES256');
    expect(alg(keys.p384)).toBe('ES384');
    expect(alg(keys.p521)).toBe('ES512');
    expect(alg(keys.ed)).toBe('EdDSA');
  });

  it('refuses keys it cannot sign with, naming the type', () => {
    const x = configError(() => resolveAssertionKey({ key: keys.x }));
    expect(x.option).toBe('clientAssertion.key');
    expect(x.message).toContain('has an unsupported key type (x25519); use RSA, EC P-256/384/521 or Ed25519');
    expect(configError(() => resolveAssertionKey({ key: keys.k256 })).message).toContain('unsupported key type (ec)');
  });

  it('checks an explicit alg against the key', () => {
    const fits = (key: KeyObject, alg: string) => (resolveAssertionKey({ key, alg }) as { alg: string }).alg;
    for (const a of ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']) expect(fits(keys.rsa, a)).toBe(a);
    for (const a of ['PS256', 'PS384', 'PS512']) expect(fits(keys.pss, a)).toBe(a);
    expect(fits(keys.p384, 'ES384')).toBe('ES384');
    expect(fits(keys.p521, 'ES512')).toBe('ES512');
    expect(fits(keys.ed, 'EdDSA')).toBe('EdDSA');
    expect(fits(keys.ed, 'Ed25519')).toBe('Ed25519');
    for (const [key, a, type] of [
      [keys.pss, 'RS256', 'rsa-pss'],
      [keys.p256, 'ES384', 'ec'],
      [keys.p384, 'ES256', 'ec'],
      [keys.p521, 'ES384', 'ec'],
      [keys.rsa, 'ES256', 'rsa'],
      [keys.rsa, 'RS1024', 'rsa'],
      [keys.rsa, 'xRS256', 'rsa'],
      [keys.rsa, 'RS256x', 'rsa'],
      [keys.rsa, 'PS1', 'rsa'],
      [keys.p256, 'ES256x', 'ec'],
      [keys.ed, 'ES256', 'ed25519'],
      [keys.rsa, 'EdDSA', 'rsa'],
    ] as const) {
      const e = configError(() => resolveAssertionKey({ key, alg: a }));
      expect(e.option).toBe('clientAssertion.alg');
      expect(e.message).toContain(`"${a}" does not fit a ${type} key`);
    }
    expect(configError(() => resolveAssertionKey({ key: keys.rsa, alg: 256 })).message).toContain('must be a string such as RS256');
    expect(configError(() => resolveAssertionKey({ key: keys.rsa, alg: 256 })).option).toBe('clientAssertion.alg');
    for (const a of ['xPS256', 'PS256x']) expect(configError(() => resolveAssertionKey({ key: keys.rsa, alg: a })).message).toContain(`"${a}" does not fit a rsa key`);
    for (const a of ['PS256', 'RS256']) expect(configError(() => resolveAssertionKey({ key: keys.p256, alg: a })).message).toContain(`"${a}" does not fit a ec key`);
  });

  it('reads PEM and JWK private keys, takes the JWK kid unless kid is given, refuses public keys and junk', () => {
    const pem = keys.p256.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(resolveAssertionKey({ key: pem })).toMatchObject({ kind: 'key', alg: 'ES256', kid: undefined, audience: 'issuer' });
    const jwk = { ...keys.p256.export({ format: 'jwk' }), kid: 'jwk-kid' };
    expect(resolveAssertionKey({ key: jwk })).toMatchObject({ kid: 'jwk-kid' });
    expect(resolveAssertionKey({ key: jwk, kid: 'given' })).toMatchObject({ kid: 'given' });
    expect(resolveAssertionKey({ key: { ...jwk, kid: 7 } })).toMatchObject({ kid: undefined });
    expect(configError(() => resolveAssertionKey({ key: keys.p256, kid: '' })).option).toBe('clientAssertion.kid');
    expect(configError(() => resolveAssertionKey({ key: keys.p256, kid: 5 })).message).toContain('must be a non-empty string');
    const pub = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    expect(configError(() => resolveAssertionKey({ key: pub })).message).toContain('is a public key; a private key is needed to sign');
    expect(configError(() => resolveAssertionKey({ key: pub })).option).toBe('clientAssertion.key');
    const junk = configError(() => resolveAssertionKey({ key: '-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----' }));
    expect(junk.option).toBe('clientAssertion.key');
    expect(junk.message).toMatch(/could not be read as a private key \(ERR_[A-Z_]+\)/);
    expect(junk.message).not.toContain('nope');
    expect(configError(() => resolveAssertionKey({ key: { kty: 'nope' } })).message).toContain('could not be read as a private key');
    expect(configError(() => resolveAssertionKey({ key: 42 })).message).toContain('must be a PEM string, a private JWK or a KeyObject');
    expect(configError(() => resolveAssertionKey({ key: 42 })).option).toBe('clientAssertion.key');
    expect(configError(() => resolveAssertionKey({ key: null })).message).toContain('must be a PEM string, a private JWK or a KeyObject');
  });

  it('takes a signer, a file or an audience alone; refuses mixtures and unknown fields, saying what each shape takes', () => {
    const sign = () => 'a.b.c';
    expect(resolveAssertionKey(sign)).toEqual({ kind: 'sign', sign, audience: 'issuer' });
    expect(resolveAssertionKey({ sign, audience: 'token_endpoint' })).toEqual({ kind: 'sign', sign, audience: 'token_endpoint' });
    expect(resolveAssertionKey({ file: '/run/token' })).toEqual({ kind: 'file', path: '/run/token' });
    expect(resolveAssertionKey({ audience: 'https://aud' }, 's')).toEqual({ kind: 'audience', audience: 'https://aud' });
    const shapes = 'must be { key, kid?, alg?, audience? } (private_key_jwt), { audience } (client_secret_jwt), a function that signs (or { sign, audience? }), or { file }';
    expect(configError(() => resolveAssertionKey('key')).message).toContain(shapes);
    expect(configError(() => resolveAssertionKey('key')).option).toBe('clientAssertion');
    expect(configError(() => resolveAssertionKey({}, 's')).option).toBe('clientAssertion');
    expect(configError(() => resolveAssertionKey({ key: keys.p256, sign })).option).toBe('clientAssertion');
    expect(configError(() => resolveAssertionKey(null)).message).toContain(shapes);
    expect(configError(() => resolveAssertionKey({}, 's')).message).toContain(shapes);
    expect(configError(() => resolveAssertionKey({ key: keys.p256, sign })).message).toContain('give one of key, sign and file, not key and sign');
    expect(configError(() => resolveAssertionKey({ key: keys.p256, sign, file: 'f' })).message).toContain('not key and sign and file');
    const fileAud = configError(() => resolveAssertionKey({ file: 'f', audience: 'x' }));
    expect(fileAud.option).toBe('clientAssertion.audience');
    expect(fileAud.message).toContain('a JWT from a file is sent as it is');
    expect(configError(() => resolveAssertionKey({ file: 'f', kid: 'x' })).message).toContain('unknown option here; clientAssertion with file takes file');
    expect(configError(() => resolveAssertionKey({ sign, kid: 'x' })).message).toContain('clientAssertion with sign takes sign, audience');
    expect(configError(() => resolveAssertionKey({ key: keys.p256, sign: undefined, x: 1 })).message).toContain('not key and sign');
    expect(configError(() => resolveAssertionKey({ key: keys.p256, extra: 1 })).message).toContain('clientAssertion with key takes key, kid, alg, audience');
    expect(configError(() => resolveAssertionKey({ audience: 'a', alg: 'x' }, 's')).message).toContain('unknown option here; clientAssertion takes audience');
    expect(configError(() => resolveAssertionKey({ file: ' ' })).message).toContain('must be the path of the file that holds the JWT');
    expect(configError(() => resolveAssertionKey({ file: 5 })).option).toBe('clientAssertion.file');
    expect(configError(() => resolveAssertionKey({ sign: 'x' })).message).toContain('must be a function that returns the signed JWT');
    const alone = configError(() => resolveAssertionKey({ audience: 'issuer' }));
    expect(alone.message).toContain('{ audience } alone is for client_secret_jwt, which signs with clientSecret');
  });

  it('refuses near-miss audience keywords and empty audiences; sends other strings literally', () => {
    for (const value of ['Issuer', ' issuer', 'issuer ', 'token-endpoint', 'TOKEN_ENDPOINT', 'token endpoint', 'tokenendpoint', 'token_endpoint_url']) {
      const e = configError(() => resolveAssertionKey({ sign: () => 'a.b.c', audience: value }));
      expect(e.option).toBe('clientAssertion.audience');
      expect(e.message).toContain(`got ${JSON.stringify(value)}; the keywords are 'issuer' and 'token_endpoint'`);
    }
    for (const value of ['', '  ', 5]) {
      expect(configError(() => resolveAssertionKey({ sign: () => 'a.b.c', audience: value })).message).toContain("must be 'issuer', 'token_endpoint' or the literal audience");
    }
    for (const value of ['https://issuer.example', 'my-issuer', 'endpoint', 'issuer.example.com', 'token_endpoint-v2', 'issuer x']) {
      expect(resolveAssertionKey({ sign: () => 'a.b.c', audience: value })).toMatchObject({ audience: value });
    }
  });
});

describe('the aud of an assertion, and the hint when the server refuses it', () => {
  const issuer = 'https://as.example/';
  const endpoint = new URL('https://as.example/oauth/token');
  const sign = creds({ assertion: { kind: 'sign', sign: () => 'a.b.c', audience: 'issuer' } });
  const withAud = (audience: string) => creds({ assertion: { kind: 'sign', sign: () => 'a.b.c', audience } });

  it("resolves 'issuer', 'token_endpoint' and literals", () => {
    expect(assertionAudience(sign, issuer, endpoint)).toBe(issuer);
    expect(assertionAudience(withAud('token_endpoint'), issuer, endpoint)).toBe(endpoint.href);
    expect(assertionAudience(withAud('https://lit'), issuer, endpoint)).toBe('https://lit');
    expect(assertionAudience(creds({ clientSecret: 's' }), issuer, endpoint)).toBe(issuer);
    expect(assertionAudience(creds({ assertion: { kind: 'file', path: '/x' } }), issuer, endpoint)).toBe(issuer);
  });

  it('names the aud sent, where it came from, and the option that changes it', () => {
    const hint = (method: 'private_key_jwt' | 'client_secret_jwt', c: Credentials, iss = issuer) => refusalHint(method, c, iss, endpoint);
    const def = hint('private_key_jwt', sign);
    expect(def).toContain(`The client assertion carried aud "${issuer}" (the server's issuer identifier, the default).`);
    expect(def).toContain("set clientAssertion: { audience: 'token_endpoint' }.");
    expect(def).toContain('the key your clientAssertion function signs with');
    const te = hint('private_key_jwt', withAud('token_endpoint'));
    expect(te).toContain(`aud "${endpoint.href}" (the token endpoint URL, from clientAssertion: { audience: 'token_endpoint' })`);
    expect(te).toContain("set clientAssertion: { audience: 'issuer' }, or leave audience out.");
    const lit = hint('private_key_jwt', creds({ assertion: { kind: 'key', key: keys.p256, alg: 'ES256', kid: undefined, audience: 'https://lit' } }));
    expect(lit).toContain('aud "https://lit" (from clientAssertion.audience)');
    expect(lit).toContain('that the server has the public key of clientAssertion.key (and its kid)');
    const onlyEndpoint = hint('private_key_jwt', sign, endpoint.href);
    expect(onlyEndpoint).toContain('(the token endpoint URL: with tokenEndpoint the client knows no issuer)');
    expect(onlyEndpoint).toContain('give issuer (or domain) instead of tokenEndpoint');
    const hs = hint('client_secret_jwt', creds({ clientSecret: 's' }));
    expect(hs).toContain(`aud "${issuer}" (the server's issuer identifier, the default)`);
    expect(hs).toContain("set clientAssertion: { audience: 'token_endpoint' } (no key needed for client_secret_jwt).");
    expect(hs).toContain('Otherwise check clientId and clientSecret (the HS256 key).');
    expect(hint('private_key_jwt', withAud('y'.repeat(300)))).toContain(`"${'y'.repeat(200)}"`);
  });

  it('for Basic: suggests raw encoding only when form-encoding changed the credentials', () => {
    const basic = (id: string, secret: string, enc?: 'raw') => refusalHint('client_secret_basic', creds({ clientId: id, clientSecret: secret, basicEncoding: enc }), issuer, endpoint);
    expect(basic('app', 'plain')).toBe('Check clientId, clientSecret and clientAuthentication.');
    expect(basic('app', 'pl+in')).toContain("set basicCredentialEncoding: 'raw'");
    expect(basic('a p', 'plain')).toContain("set basicCredentialEncoding: 'raw'");
    expect(basic('app', 'pl+in', 'raw')).toContain("basicCredentialEncoding: 'raw' sends them without the form-encoding RFC 6749 §2.3.1 requires, which this server may expect.");
    expect(basic('app', 'plain', 'raw')).toContain('requires.');
    expect(refusalHint('tls_client_auth', creds({ tls: true }), issuer, endpoint)).toContain('the client certificate (tls)');
    expect(refusalHint('self_signed_tls_client_auth', creds({ tls: true }), issuer, endpoint)).toContain('the client certificate (tls)');
    expect(refusalHint('client_secret_post', creds({ clientSecret: 's' }), issuer, endpoint)).toBe('Check clientId, clientSecret and clientAuthentication.');
  });
});

describe('authenticate', () => {
  it('puts the secret where each method sends it', async () => {
    const c = creds({ clientSecret: 'sec' });
    expect(await authenticate('client_secret_post', c, 'aud')).toEqual({ form: [['client_id', 'app'], ['client_secret', 'sec']], secrets: ['sec'] });
    const basic = await authenticate('client_secret_basic', c, 'aud');
    expect(basic.form).toEqual([]);
    expect(basic.authorization).toBe(`Basic ${Buffer.from('app:sec').toString('base64')}`);
    expect(await authenticate('tls_client_auth', creds({ tls: true }), 'aud')).toEqual({ form: [['client_id', 'app']], secrets: [] });
    const jwt = await authenticate('private_key_jwt', creds({ assertion: { kind: 'key', key: keys.ed, alg: 'EdDSA', kid: 'k1', audience: 'issuer' } }), 'https://aud');
    const assertion = jwt.form.find(([n]) => n === 'client_assertion')![1];
    expect(decodeProtectedHeader(assertion)).toEqual({ alg: 'EdDSA', typ: 'JWT', kid: 'k1' });
    expect(decodeJwt(assertion).aud).toBe('https://aud');
    expect(jwt.secrets).toEqual([assertion]);
  });
});
