import fc from 'fast-check';
import type {
  Body,
  Delivery,
  DiscoveryModel,
  DocModel,
  Echo,
  EndpointField,
  ErrorModel,
  Exchange,
  FuzzCase,
  HeaderValue,
  IssuerField,
  Json,
  ResponseModel,
  Segment,
  Text,
} from './model.js';

/** The fixed wall-clock time of every case (ManualClock): Retry-After dates and JWT exp are relative to it. */
export const T0 = Date.parse('2026-01-01T00:00:00.000Z');

const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });

// ---------------------------------------------------------------- strings

const SPECIAL_CHARS = ['"', '\\', '\n', '\r', '\t', '\0', ' ', '%', '+', '&', '=', ':', '$&', "'", '<', '>', '\u2028', '\ufeff', '\ud83d\ude00', '\ud800', 'é', 'İ', '\u212a', '[REDACTED]', '%0D%0A', '\u0085'];

/** Any text: printable ASCII, any code point (lone surrogates included), or pieces that break encoders. */
export const anyString = (maxLength = 40): fc.Arbitrary<string> =>
  fc.oneof(
    w(5, fc.string({ maxLength, unit: 'grapheme-ascii' })),
    w(2, fc.string({ maxLength, unit: 'binary' })),
    w(2, fc.array(fc.oneof(fc.constantFrom(...SPECIAL_CHARS), fc.string({ maxLength: 4 })), { maxLength: 6 }).map((parts) => parts.join(''))),
  );

const ECHOES: Echo[] = ['secret', 'secret', 'secret', 'secret-form', 'secret-uri', 'basic', 'authorization', 'body', 'token', 'token', 'token'];
const echo: fc.Arbitrary<Segment> = fc.constantFrom(...ECHOES).map((e) => ({ echo: e }));

/** Text that may echo the secret, the request or the token, anywhere in it. */
export const text = (maxLength = 30): fc.Arbitrary<Text> =>
  fc.array(fc.oneof(w(3, anyString(maxLength)), w(2, echo)), { maxLength: 4 });

/** Mostly plain text; sometimes an echo. */
const mostlyPlain = (plain: fc.Arbitrary<string>): fc.Arbitrary<Text> =>
  fc.oneof(w(8, plain.map((s) => [s])), w(2, text()));

// ---------------------------------------------------------------- credentials

/** A header-safe opaque token, a JWT with an exp of any kind, or a token with characters a header cannot carry. */
export const tokenArb: fc.Arbitrary<string> = fc.oneof(
  w(5, fc.string({ minLength: 4, maxLength: 60, unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=') })),
  w(2, fc.string({ minLength: 1, maxLength: 3, unit: fc.constantFrom(...'abcXYZ019-._~') })),
  w(3, jwtArb()),
  w(2, fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme-ascii' })),
  w(1, anyString(40)),
  w(1, fc.constantFrom('', ' ', 'a b', 'tok\r\nx-injected: 1', 'tök', 'Bearer', 'null', '[REDACTED]')),
  w(1, fc.integer({ min: 1000, max: 20000 }).map((n) => `L${'x'.repeat(n)}`)),
);

function jwtArb(): fc.Arbitrary<string> {
  const exp = fc.oneof(
    fc.integer({ min: -86_400 * 400, max: 86_400 * 400 }).map((d) => T0 / 1000 + d),
    fc.constantFrom<unknown>(T0 / 1000, T0 / 1000 + 0.5, 1e300, 1.8e305, 9e15, -1, 0, 'soon', null, Number.MAX_SAFE_INTEGER),
    fc.double(),
  );
  return fc
    .record({ exp: fc.option(exp, { nil: undefined }), sub: fc.string({ maxLength: 8 }), sig: fc.base64String({ maxLength: 20 }) }, { requiredKeys: ['sub', 'sig'] })
    .map(({ exp: e, sub, sig }) => {
      const payload = e === undefined ? { sub } : { sub, exp: e };
      const b64 = (o: unknown) => Buffer.from(JSON.stringify(o) ?? 'null').toString('base64url');
      return `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(payload)}.${sig.replace(/[+/=]/g, '_')}`;
    });
}

/** The client secret: usually 4+ characters of anything, sometimes 1–3 (which redaction must withhold whole). */
export const secretArb: fc.Arbitrary<string> = fc
  .oneof(
    w(6, anyString(48).filter((s) => s.length >= 4)),
    w(2, fc.string({ minLength: 24, maxLength: 64, unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_') })),
    w(2, anyString(3).filter((s) => s.length >= 1)),
    w(1, fc.constantFrom('REDACTED', 'ACTE', 'a b c d', 'x%2By', '$&$&', 'secret\r\n', 'Bearer', 'unknown_error', 'Q7z', ':', '%')),
  )
  .filter((s) => s.trim() !== '');

// ---------------------------------------------------------------- JSON

const numberLiteral: fc.Arbitrary<string> = fc.oneof(
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc.constantFrom('0', '-0', '1e999', '-1e999', '1e-999', '1e308', '1.7976931348623157e308', '5e-324', '3600', '86400', '0.001', '1E3', '-1', '2147483648', '1e21'),
);

const scalarJson: fc.Arbitrary<Json> = fc.oneof(
  fc.constant<Json>({ t: 'null' }),
  fc.boolean().map<Json>((v) => ({ t: 'bool', v })),
  numberLiteral.map<Json>((lit) => ({ t: 'num', lit })),
  text().map<Json>((t) => ({ t: 'str', text: t })),
);

/** Any JSON value, echoes included. */
export const jsonArb: fc.Arbitrary<Json> = fc.letrec<{ json: Json }>((tie) => ({
  json: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    w(6, scalarJson),
    w(1, fc.array(tie('json'), { maxLength: 4 }).map<Json>((items) => ({ t: 'arr', items }))),
    w(1, fc.array(fc.tuple(fc.string({ maxLength: 8 }), tie('json')), { maxLength: 4 }).map<Json>((entries) => ({ t: 'obj', entries }))),
  ),
})).json;

const str = (s: string): Json => ({ t: 'str', text: [s] });
const strText = (t: Text): Json => ({ t: 'str', text: t });
const num = (lit: string): Json => ({ t: 'num', lit });

/** A field that is usually well-formed, sometimes anything. */
type Field = Json | undefined;

const accessTokenField: fc.Arbitrary<Field> = fc.oneof(
  w(20, fc.constant<Field>(strText([{ echo: 'token' }]))),
  w(1, fc.constant<Field>(undefined)),
  w(1, jsonArb),
);

const tokenTypeField: fc.Arbitrary<Field> = fc.oneof(
  w(10, fc.constantFrom<Field>(str('Bearer'), str('bearer'), str('BEARER'), undefined)),
  w(3, fc.constantFrom<Field>(str('DPoP'), str('dpop'), str('N_A'), str('mac'), str('PoP-Key'), str('pop-key'), str('Bearer '), str(' Bearer'), str('Bеarer'), str('POP-\u212aEY'), str(''), { t: 'null' }, num('1'))),
  w(2, text().map(strText)),
  w(1, fc.constant<Field>(strText([{ echo: 'token' }]))),
  w(1, fc.constant<Field>(strText([{ echo: 'secret' }]))),
  w(1, jsonArb),
);

const expiresInField: fc.Arbitrary<Field> = fc.oneof(
  w(10, fc.constantFrom<Field>(num('3600'), num('86400'), num('60'), num('1'), undefined)),
  w(4, numberLiteral.map(num)),
  w(3, fc.constantFrom<Field>(str('3600'), str(' 3600 '), str('3600.5'), str('1e3'), str('+5'), str('0x10'), str('-5'), str('0'), str(''), str('NaN'), str('Infinity'), str('٣'), { t: 'null' }, { t: 'bool', v: true })),
  w(1, fc.nat().map((n) => str(String(n)))),
  w(2, text().map(strText)),
  w(1, jsonArb),
);

const scopeField: fc.Arbitrary<Field> = fc.oneof(
  w(6, fc.constantFrom<Field>(undefined, str('read write'), str('read'), str(''), str('  a\tb\nc  '), str('a\u00a0b'))),
  w(2, fc.array(fc.string({ maxLength: 6 }), { maxLength: 4 }).map<Field>((items) => ({ t: 'arr', items: items.map(str) }))),
  w(2, text().map(strText)),
  w(1, jsonArb),
);

function object(fields: [string, fc.Arbitrary<Field>][], extra: fc.Arbitrary<[string, Json][]>): fc.Arbitrary<Json> {
  return fc
    .tuple(fc.tuple(...fields.map(([, arbitrary]) => arbitrary)), extra, fc.nat())
    .map(([values, more, order]) => {
      const entries: [string, Json][] = [];
      fields.forEach(([name], i) => {
        const value = values[i];
        if (value !== undefined) entries.push([name, value]);
      });
      entries.push(...more);
      // A deterministic shuffle, so that field order varies too (and duplicates: the last one wins).
      for (let i = entries.length - 1; i > 0; i--) {
        const j = (order + i * 7) % (i + 1);
        [entries[i], entries[j]] = [entries[j]!, entries[i]!];
      }
      return { t: 'obj', entries } as Json;
    });
}

const extraFields: fc.Arbitrary<[string, Json][]> = fc.array(
  fc.tuple(fc.oneof(fc.constantFrom('id_token', 'refresh_token', 'error', 'access_token', '__proto__', 'constructor', 'issued_token_type'), fc.string({ maxLength: 8 })), jsonArb),
  { maxLength: 3 },
);

const tokenBody = object(
  [
    ['access_token', accessTokenField],
    ['token_type', tokenTypeField],
    ['expires_in', expiresInField],
    ['scope', scopeField],
  ],
  extraFields,
);

const OAUTH_ERRORS = ['invalid_client', 'invalid_request', 'invalid_scope', 'access_denied', 'unauthorized_client', 'invalid_grant', 'unsupported_grant_type', 'invalid_target', 'too_many_requests', 'server_error', 'temporarily_unavailable', ''];

const errorBody = object(
  [
    ['error', fc.oneof(w(6, fc.constantFrom(...OAUTH_ERRORS).map(str)), w(3, text(60).map(strText)), w(1, jsonArb))],
    ['error_description', fc.oneof(w(2, fc.constant(undefined)), w(5, text(80).map(strText)), w(1, fc.string({ minLength: 900, maxLength: 1200 }).map(str)), w(1, jsonArb))],
    ['error_uri', fc.oneof(w(3, fc.constant(undefined)), w(3, text(60).map(strText)), w(1, fc.webUrl().map(str)), w(1, jsonArb))],
  ],
  extraFields,
);

const HTML = '<!doctype html><html><body><h1>502 Bad Gateway</h1></body></html>';

export const bodyArb: fc.Arbitrary<Body> = fc.oneof(
  w(12, fc.tuple(tokenBody, fc.constantFrom('', '', '', ' ', '\n\t ', '\ufeff')).map<Body>(([value, pad]) => ({ kind: 'json', value, pad }))),
  w(5, errorBody.map<Body>((value) => ({ kind: 'json', value, pad: '' }))),
  w(2, jsonArb.map<Body>((value) => ({ kind: 'json', value, pad: '' }))),
  w(2, fc.oneof(text(80), fc.constantFrom<Text>([HTML], [''], ['{'], ['[1,2'])).map<Body>((t) => ({ kind: 'text', text: t }))),
  w(2, fc.tuple(fc.oneof(tokenBody, errorBody), fc.double({ min: 0, max: 0.999, noNaN: true })).map<Body>(([value, cut]) => ({ kind: 'truncated', value, cut }))),
);

const hugeBody: fc.Arbitrary<Body> = fc.integer({ min: 1024 * 1024, max: 1024 * 1024 + 64 }).map((bytes) => ({ kind: 'huge', bytes }));

// ---------------------------------------------------------------- headers

const imfDate = (ms: number) => new Date(ms).toUTCString();
const rfc850Date = (ms: number) => {
  const d = new Date(ms);
  const day = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'][d.getUTCDay()];
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${day}, ${p(d.getUTCDate())}-${month}-${p(d.getUTCFullYear() % 100)} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} GMT`;
};
const asctimeDate = (ms: number) => {
  const d = new Date(ms);
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getUTCDay()];
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${day} ${month} ${String(d.getUTCDate()).padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
};

/** Seconds from T0, small or large, past or future. */
const offsetSeconds = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.integer({ min: -100_000, max: 100_000 }), fc.constantFrom(0, 1, 30, 31, 3600, -3600));

export const retryAfterArb: fc.Arbitrary<Text> = fc.oneof(
  w(4, fc.oneof(fc.nat({ max: 5 }), fc.nat({ max: 100_000 })).map((n) => [String(n)])),
  w(1, fc.constantFrom(' 0 ', '007', '0', '99999999999999999999', '1.5', '-1', '+5', '10s', '1e3', '0x10', 'NaN', 'Infinity', 'later', 'in 2030', 'foo 2030', 'Mon 1', '12').map((s): Text => [s])),
  w(3, offsetSeconds.map((s) => [imfDate(T0 + s * 1000)])),
  w(1, offsetSeconds.map((s) => [rfc850Date(T0 + s * 1000)])),
  w(1, offsetSeconds.map((s) => [asctimeDate(T0 + s * 1000)])),
  w(2, text(20)),
);

export const rateLimitResetArb: fc.Arbitrary<Text> = fc.oneof(
  w(4, offsetSeconds.map((s) => [String(Math.floor(T0 / 1000) + s)])),
  w(1, fc.constantFrom('0', '1', '60', '-5', '1.5', '', 'soon', '99999999999999999999').map((s): Text => [s])),
  w(1, text(20)),
);

const contentTypeArb: fc.Arbitrary<Text> = fc.oneof(
  w(6, fc.constantFrom('application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/problem+json', 'text/json', 'application/json;charset=ISO-8859-1').map((s) => [s])),
  w(3, fc.constantFrom('text/html', 'text/plain', '', 'application/jsonx', 'json', 'application/x-www-form-urlencoded', 'application/octet-stream').map((s) => [s])),
  w(2, text(30)),
);

const headerValue = (value: fc.Arbitrary<Text>): fc.Arbitrary<HeaderValue> =>
  fc.oneof(w(9, value), w(1, fc.array(value, { minLength: 0, maxLength: 3 })));

const headerName = fc.oneof(
  fc.constantFrom('x-request-id', 'www-authenticate', 'set-cookie', 'x-debug', 'link', 'server', 'date', 'cache-control'),
  fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/),
);

/** Present `percent`% of the time. */
const maybe = <T>(percent: number, arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.oneof(w(100 - percent, fc.constant(undefined)), w(percent, arbitrary));

const headersArb: fc.Arbitrary<[string, HeaderValue][]> = fc
  .tuple(
    maybe(85, headerValue(contentTypeArb)),
    maybe(35, headerValue(retryAfterArb)),
    maybe(25, headerValue(rateLimitResetArb)),
    maybe(10, headerValue(fc.oneof(fc.webUrl().map((u) => [u]), text(40)))),
    // A declared Content-Length (the dispatcher's own header; loopback frames the body itself).
    maybe(3, fc.constantFrom<Text>(['2000000'], ['1048577'], ['5'], ['abc'], ['-1'])),
    maybe(30, fc.array(fc.tuple(headerName, headerValue(text(40))), { minLength: 1, maxLength: 2 })),
  )
  .map(([contentType, retryAfter, reset, location, length, other]) => {
    const out: [string, HeaderValue][] = [];
    if (contentType) out.push(['content-type', contentType]);
    if (retryAfter) out.push(['retry-after', retryAfter]);
    if (reset) out.push(['x-ratelimit-reset', reset]);
    if (location) out.push(['location', location]);
    if (length) out.push(['content-length', length]);
    for (const [name, value] of other ?? []) out.push([name, value]);
    return out;
  });

/** Mostly the interesting statuses; sometimes any code at all (a dispatcher may pass anything). */
export const statusArb: fc.Arbitrary<number> = fc.oneof(
  w(14, fc.constant(200)),
  w(2, fc.constantFrom(201, 202, 203, 204, 206, 299)),
  w(8, fc.constantFrom(400, 401, 403, 429, 500, 502, 503, 504)),
  w(3, fc.constantFrom(301, 302, 303, 307, 308, 404, 405, 408, 409, 413, 422, 501, 505, 511)),
  w(2, fc.integer({ min: 100, max: 599 })),
);

const contentHeaderFor = (body: Body): Text => (body.kind === 'json' || body.kind === 'truncated' ? ['application/json'] : ['text/plain']);

export const responseArb = (huge = false): fc.Arbitrary<ResponseModel> =>
  fc
    .record({
      status: statusArb,
      statusText: mostlyPlain(fc.constantFrom('OK', 'Bad Request', 'Too Many Requests', '', 'Whatever')),
      headers: headersArb,
      body: huge ? fc.oneof(w(299, bodyArb), w(1, hugeBody)) : bodyArb,
      typical: fc.boolean(),
    })
    .map(({ status, statusText, headers, body, typical }) => ({
      status,
      statusText,
      // Half of the time, a plain content type that matches the body, as most servers send.
      headers: typical ? [['content-type', contentHeaderFor(body)] as [string, HeaderValue], ...headers.filter(([n]) => n !== 'content-type')] : headers,
      body,
    }));

export const deliveryArb: fc.Arbitrary<Delivery> = fc.record({
  mode: fc.constantFrom('sync', 'micro', 'immediate'),
  cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 }),
});

// ---------------------------------------------------------------- dispatcher errors

const NETWORK_CODES = ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_DESTROYED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'ERR_TLS_CERT_ALTNAME_INVALID', 'HPE_INVALID_CONSTANT'];

export const errorArb: fc.Arbitrary<ErrorModel> = fc.letrec<{ error: ErrorModel }>((tie) => ({
  error: fc.oneof(
    { depthSize: 'small' },
    w(
      8,
      fc.record({
        shape: fc.constant('error' as const),
        message: mostlyPlain(fc.constantFrom('socket hang up', 'other side closed', 'read ECONNRESET', 'connect ECONNREFUSED 127.0.0.1:1')),
        name: fc.option(mostlyPlain(fc.constantFrom('Error', 'SocketError', 'TypeError', 'ConnectTimeoutError')), { nil: undefined }),
        code: fc.option(mostlyPlain(fc.constantFrom(...NETWORK_CODES)), { nil: undefined }),
        props: fc.array(fc.tuple(fc.constantFrom('body', 'request', 'headers', 'reason', 'address', 'hostname', 'syscall', 'data', 'url'), text()), { maxLength: 3 }),
        hidden: fc.array(fc.tuple(fc.constantFrom('body', 'rawPacket', 'request', 'config'), text()), { maxLength: 2 }),
        symbols: fc.array(text(), { maxLength: 2 }),
        stack: fc.option(text(), { nil: undefined }),
        cause: fc.option(tie('error'), { nil: undefined, freq: 3 }),
        circular: fc.boolean(),
      }),
    ),
    w(1, text().map<ErrorModel>((t) => ({ shape: 'string', text: t }))),
    w(1, fc.array(fc.tuple(fc.constantFrom('message', 'code', 'body', 'name', 'stack'), text()), { maxLength: 3 }).map<ErrorModel>((props) => ({ shape: 'plain', props }))),
    w(1, fc.constantFrom<ErrorModel>({ shape: 'null' }, { shape: 'undefined' }, { shape: 'number' }, { shape: 'symbol' })),
    w(1, fc.tuple(fc.constantFrom('throwing-getter' as const, 'proxy' as const), text()).map<ErrorModel>(([shape, t]) => ({ shape, text: t }))),
  ),
})).error;

// ---------------------------------------------------------------- exchanges

/** A response, or the dispatcher failing (by throwing, before the response, or in the middle of the body). */
export const exchangeArb: fc.Arbitrary<Exchange> = fc.oneof(
  w(20, fc.record({ kind: fc.constant('response' as const), response: responseArb(true), delivery: deliveryArb })),
  w(3, fc.record({ kind: fc.constant('error' as const), stage: fc.constantFrom('throw' as const, 'before-start' as const, 'mid-body' as const), error: errorArb, response: responseArb(), delivery: deliveryArb })),
);

/** Attempts: non-hanging exchanges, then at most one that hangs (and answers every later attempt). */
const hangArb: fc.Arbitrary<Exchange> = fc.record({ kind: fc.constant('hang' as const), stage: fc.constantFrom('before-start' as const, 'mid-body' as const), response: responseArb(), delivery: deliveryArb });

const exchangesArb: fc.Arbitrary<Exchange[]> = fc
  .tuple(
    fc.oneof(w(3, exchangeArb.map((e) => [e])), w(2, fc.array(exchangeArb, { minLength: 2, maxLength: 3 }))),
    maybe(3, hangArb),
  )
  .map(([exchanges, hang]) => (hang ? [...exchanges.slice(0, exchanges.length - 1), hang] : exchanges));

// ---------------------------------------------------------------- discovery

const issuerField: fc.Arbitrary<IssuerField> = fc.oneof(
  w(12, fc.constant<IssuerField>({ kind: 'same' })),
  w(2, fc.constant<IssuerField>({ kind: 'toggle-slash' })),
  w(2, text(40).map<IssuerField>((t) => ({ kind: 'other', text: t }))),
  w(1, fc.constantFrom<IssuerField>({ kind: 'absent' })),
  w(1, jsonArb.map<IssuerField>((value) => ({ kind: 'json', value }))),
);

const endpointField: fc.Arbitrary<EndpointField> = fc.oneof(
  w(12, fc.record({ kind: fc.constant('good' as const), host: fc.constantFrom('same' as const, 'other' as const, 'loopback' as const), path: fc.oneof(w(5, fc.constant<Text>(['/oauth/token'])), w(1, text(20))), query: fc.oneof(w(5, fc.constant<Text>([])), w(1, text(20))) })),
  w(1, mostlyPlain(fc.constantFrom('as.example.com', '10.0.0.1', 'localhost.evil.example')).map<EndpointField>((host) => ({ kind: 'http-remote', host }))),
  w(1, fc.constant<EndpointField>({ kind: 'credentials' })),
  w(1, fc.constantFrom('ftp', 'file', 'javascript', 'ws', 'data').map<EndpointField>((scheme) => ({ kind: 'scheme', scheme }))),
  w(1, text(40).map<EndpointField>((t) => ({ kind: 'text', text: t }))),
  w(1, jsonArb.map<EndpointField>((value) => ({ kind: 'json', value }))),
  w(1, fc.constant<EndpointField>({ kind: 'absent' })),
);

const METHODS = ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'tls_client_auth', 'self_signed_tls_client_auth', 'none'];

const methodsField: fc.Arbitrary<Json | undefined> = fc.oneof(
  w(4, fc.constant(undefined)),
  w(6, fc.subarray(METHODS).map<Json>((m) => ({ t: 'arr', items: m.map(str) }))),
  w(2, fc.array(fc.oneof(fc.constantFrom(...METHODS).map(str), text(20).map(strText), jsonArb), { maxLength: 4 }).map<Json>((items) => ({ t: 'arr', items }))),
  w(1, jsonArb),
);

const docArb: fc.Arbitrary<DocModel> = fc.record({
  status: fc.oneof(w(10, fc.constant(200)), w(3, fc.constantFrom(404, 500, 503, 302, 403)), w(1, fc.integer({ min: 100, max: 599 }))),
  contentType: fc.option(contentTypeArb, { nil: undefined }),
  body: fc.oneof(
    w(8, fc.record({
      kind: fc.constant('doc' as const),
      issuer: issuerField,
      tokenEndpoint: endpointField,
      methods: methodsField,
      mtls: fc.option(fc.oneof(fc.constant<Json>({ t: 'obj', entries: [['token_endpoint', str('https://mtls.as.fuzz.test/oauth/token')]] }), jsonArb), { nil: undefined, freq: 4 }),
      extra: fc.array(fc.tuple(fc.constantFrom('jwks_uri', 'grant_types_supported', 'authorization_endpoint'), jsonArb), { maxLength: 2 }),
    })),
    w(1, bodyArb.map((body) => ({ kind: 'other' as const, body }))),
  ),
});

export const discoveryArb: fc.Arbitrary<DiscoveryModel> = fc.record({
  path: fc.constantFrom('', '/', '/realms/acme', '/a/b/'),
  docs: fc.tuple(docArb, docArb),
});

// ---------------------------------------------------------------- the case

export const caseArb: fc.Arbitrary<FuzzCase> = fc.record({
  secret: secretArb,
  token: tokenArb,
  method: fc.oneof(w(12, fc.constant(undefined)), w(4, fc.constant('client_secret_basic' as const)), w(3, fc.constant('client_secret_post' as const)), w(1, fc.constant('client_secret_jwt' as const))),
  allowedTokenTypes: fc.oneof(w(6, fc.constant<string[]>([])), w(1, fc.subarray(['DPoP', 'mac', 'N_A', 'pop-key', 'Token']))),
  transport: fc.oneof(w(24, fc.constant('dispatcher' as const)), w(1, fc.constant('loopback' as const))),
  discovery: fc.oneof(w(5, fc.constant(undefined)), w(1, discoveryArb)),
  retries: fc.oneof(w(3, fc.constant(0)), w(2, fc.integer({ min: 1, max: 3 }))),
  callers: fc.integer({ min: 1, max: 3 }),
  exchanges: exchangesArb,
});
