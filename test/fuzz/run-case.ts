/**
 * Runs one fuzz case through the public API (`new TokenClient`, `getToken()`) and checks every property.
 * Returns violations, each with a `kind` that names the broken property (cases with the same kind are one bug).
 */
import { createHmac } from 'node:crypto';
import { ConfigurationError, ErrorCode, TokenClient, TokenClientError, type Token, type TokenClientOptions } from 'm2m-token';
import { ManualClock } from '../helpers/clock.js';
import { renderAll } from '../helpers/renderings.js';
import { T0 } from './arbitraries.js';
import { basicCredentials, formEncode, renderBody, renderHeaders, renderText, uriEncode, type FuzzCase } from './model.js';
import { AUTH_SCHEME, CLASS_OF, expectedRetryAfter, first, HEADER_SAFE, httpDate, type Code, type SeenResponse } from './oracle.js';
import {
  CLIENT_ID,
  docResponse,
  FakeDispatcher,
  headerObject,
  ISSUER_ORIGIN,
  issuerFor,
  LoopbackServer,
  loopbackHeaderList,
  loopbackSeen,
  roundTrip,
  wellKnownPaths,
  type CaseServer,
  type Delivered,
  type Routes,
} from './servers.js';
import { simulateDiscovery, simulateToken, Unmodelled, type DiscoveryPossible, type Possible } from './simulate.js';
import { isHostile } from './servers.js';

export interface Violation {
  /** The property and the rule: cases with the same kind are taken to be the same bug. */
  kind: string;
  detail: string;
}

/** What the differential leak probe compares. */
interface Observed {
  texts: string;
  fields: Record<string, string>;
}

export interface CaseResult {
  violations: Violation[];
  observed: Observed;
  /** The first caller's outcome: `token`, or the error code. */
  outcome: string;
  /** Whether the README oracle could say exactly what should happen (else only the general properties were checked). */
  modelled?: boolean;
}

export const MAX_RETRY_AFTER = 5;
const DEFAULT_LIFETIME = 300_000;
const CODES = new Set<string>(Object.values(ErrorCode));
const OTHER_ORIGIN = 'https://other.fuzz.test';

type Settled = { ok: true; value: Token; at: number } | { ok: false; error: unknown; at: number };

function timeouts(c: FuzzCase): { timeout: number; totalTimeout: number } {
  const hang = c.exchanges.some((e) => e.kind === 'hang');
  if (c.transport === 'loopback') return hang ? { timeout: 40, totalTimeout: 120 } : { timeout: 3000, totalTimeout: 6000 };
  return hang ? { timeout: 20, totalTimeout: 60 } : { timeout: 2000, totalTimeout: 4000 };
}

export async function runCase(c: FuzzCase, mode: { probe?: boolean } = {}): Promise<CaseResult> {
  const violations: Violation[] = [];
  const flag = (kind: string, detail: string) => violations.push({ kind, detail });
  const { timeout, totalTimeout } = timeouts(c);

  let server: CaseServer;
  let origin: string;
  let other: string;
  const routes = (o: () => string, x: () => string): Routes => ({
    doc(path, v) {
      if (!c.discovery) return undefined;
      const [p0, p1] = wellKnownPaths(c.discovery.path);
      const location: 0 | 1 | undefined = path === p0 ? 0 : path === p1 ? 1 : undefined;
      if (location === undefined) return undefined;
      return { location, ...docResponse(c.discovery.docs[location], issuerFor(o(), c.discovery.path), o(), x(), v) };
    },
  });
  if (c.transport === 'loopback') {
    const s = await LoopbackServer.start(c, (self) => routes(() => self.origin, () => self.origin));
    server = s;
    origin = s.origin;
    other = s.origin;
  } else {
    server = new FakeDispatcher(c, routes(() => ISSUER_ORIGIN, () => OTHER_ORIGIN));
    origin = ISSUER_ORIGIN;
    other = OTHER_ORIGIN;
  }
  const issuer = c.discovery ? issuerFor(origin, c.discovery.path) : undefined;
  const options: TokenClientOptions = {
    ...(issuer ? { issuer } : { tokenEndpoint: `${origin}/oauth/token` }),
    clientId: CLIENT_ID,
    clientSecret: c.secret,
    ...(c.method ? { clientAuthentication: c.method } : {}),
    ...(c.allowedTokenTypes.length ? { allowedTokenTypes: c.allowedTokenTypes } : {}),
    retry: { retries: c.retries, baseDelay: 0, maxDelay: 0, maxRetryAfter: MAX_RETRY_AFTER },
    timeout,
    totalTimeout,
    defaultLifetime: DEFAULT_LIFETIME,
    clock: new ManualClock(T0),
    ...(c.transport === 'dispatcher' ? { dispatcher: server as unknown as TokenClientOptions['dispatcher'] } : {}),
    onError: () => {},
  };

  let client: TokenClient;
  try {
    client = new TokenClient(options);
  } catch (error) {
    await server.close();
    // README: a client id or secret with a lone surrogate (not encodable) is refused at construction, by name.
    const unencodable = /\p{Cs}/u.test(String(options.clientSecret ?? '')) || /\p{Cs}/u.test(String(options.clientId));
    if (unencodable && error instanceof ConfigurationError) return { violations, observed: { texts: '', fields: {} }, outcome: 'none' };
    flag(error instanceof TokenClientError ? 'constructor refused valid options' : 'constructor threw something that is not a TokenClientError', describe(error));
    return { violations, observed: { texts: '', fields: {} }, outcome: 'none' };
  }

  const started = performance.now();
  const calls: Promise<Settled>[] = [];
  for (let i = 0; i < c.callers; i++) {
    let promise: Promise<Token>;
    try {
      promise = client.getToken();
    } catch (error) {
      promise = Promise.reject(Object.assign(new Error('getToken() threw synchronously'), { thrown: error }));
      flag('getToken() threw synchronously', describe(error));
    }
    calls.push(promise.then((value) => ({ ok: true, value, at: performance.now() }), (error: unknown) => ({ ok: false, error, at: performance.now() })));
  }
  const bound = totalTimeout + 2000;
  let timer: NodeJS.Timeout | undefined;
  const results = await Promise.race([
    Promise.all(calls),
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), bound);
    }),
  ]);
  clearTimeout(timer);
  if (results === undefined) {
    flag('getToken() did not settle (hang past totalTimeout)', `not settled ${bound} ms after start; totalTimeout ${totalTimeout}`);
    await client.close();
    await Promise.race([Promise.all(calls), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
    await server.close();
    return { violations, observed: { texts: '', fields: {} }, outcome: 'none' };
  }
  // Let aborts reach the dispatcher before counting open requests.
  await new Promise((resolve) => setImmediate(resolve));
  const dangling = server.dangling();
  await client.close();
  await server.close();

  const observed = observe(results[0]!);
  if (mode.probe) return { violations, observed, outcome: outcomeOf(results[0]!) };

  const delivered = (server as { delivered: Delivered[] }).delivered;
  // -- every outcome is a Token or a documented TokenClientError, whichever caller
  for (const r of results) {
    const late = r.at - started - totalTimeout;
    if (late > 1000) flag('settled long after totalTimeout', `${Math.round(late)} ms late (totalTimeout ${totalTimeout})`);
    if (r.ok) checkToken(r.value, flag);
    else checkError(r.error, c, delivered, flag);
  }
  const summaries = new Set(results.map((r) => summary(r)));
  if (summaries.size > 1) flag('callers of one request got different outcomes', [...summaries].join(' | '));
  if (dangling > 0) flag('a dispatched request was left open (neither finished nor aborted)', `${dangling} open`);

  // -- what was sent
  const posts = delivered.filter((d) => d.kind === 'token');
  const gets = delivered.filter((d) => d.kind === 'doc');
  for (const g of gets) {
    if (g.request.headers.authorization !== undefined || g.request.body !== '') flag('request: a discovery GET carried credentials or a body', g.request.url);
    if (g.location === undefined) flag('request: discovery GET to a path that is not a well-known location', g.request.url);
  }

  // -- the README's answer
  const outcome = results[0]!;
  let modelled = false;
  const tight = c.exchanges.some((e) => e.kind === 'hang');
  oracle: try {
    let tokenUrl: URL | undefined = c.discovery ? undefined : new URL(`${origin}/oauth/token`);
    let methods: string[] = [c.method ?? 'client_secret_post'];
    if (c.discovery) {
      const seenDoc = (location: number): SeenResponse => {
        const got = gets.find((g) => g.location === location)?.seen;
        if (got) return got;
        const v = { secret: c.secret, token: c.token, clientId: CLIENT_ID, requestBody: '', authorization: undefined };
        const { model, body } = docResponse(c.discovery!.docs[location]!, issuer!, origin, other, v);
        const list = renderHeaders(model.headers, v);
        const seen = c.transport === 'loopback' ? loopbackSeen(model.status, loopbackHeaderList(list), body, 'X') : { status: model.status, headers: headerObject(list), body: roundTrip(body) };
        if (!seen) throw new Unmodelled('document not modelled');
        return seen;
      };
      const possibles = simulateDiscovery(c, issuer!, seenDoc);
      checkDiscovery(possibles, gets, outcome, posts, tight, flag);
      modelled = true;
      const oks = possibles.flatMap((p) => (p.result.ok ? [p.result] : []));
      if (oks.length > 0 && posts.length > 0) {
        const match = oks.find((p) => sameUrl(p.tokenUrl, posts[0]!.request.url));
        if (!match) flag('request: token request not sent to the discovered token_endpoint', `${posts[0]!.request.url} not in ${oks.map((p) => p.tokenUrl.href).join(', ')}`);
        tokenUrl = match?.tokenUrl;
        methods = oks.map((p) => p.method);
      }
      if (posts.length === 0) break oracle;
    }
    checkRequests(c, posts, tokenUrl, methods, flag);
    if (c.discovery && !outcome.ok && !isTokenPhaseError(outcome.error)) break oracle;

    const possibles = simulateToken(c, {
      allowed: c.allowedTokenTypes,
      defaultLifetime: DEFAULT_LIFETIME,
      maxRetryAfter: MAX_RETRY_AFTER,
      now: T0,
      seen: (k) => (k < posts.length ? posts[k]!.seen : c.exchanges[Math.min(k, c.exchanges.length - 1)]!.kind === 'response' ? simulatedSeen(c, k, posts) : undefined),
      // On loopback, a response cut short is only what the model says if node:http parses its head as written.
      clean: (k) => c.transport === 'dispatcher' || simulatedSeen(c, k, posts) !== undefined,
      declared: (k) => (k < posts.length ? posts[k]!.declared : posts.at(-1)?.declared ?? 0),
      tight,
    });
    // On loopback with timeouts of tens of ms, an attempt may time out before its request reaches the server.
    compareOutcome(possibles, outcome, posts, tight && c.transport === 'loopback', flag, c.secret);
    modelled = true;
  } catch (error) {
    if (!(error instanceof Unmodelled)) throw error;
  }
  // -- leaks (confirmed against a run with other secret and token values, which must not show the originals)
  const leaks = findLeaks(c, results, delivered);
  if (leaks.length > 0) {
    const probe = await runCase(mutateCase(c), { probe: true });
    for (const leak of leaks) {
      const alsoInProbe = leak.field ? (probe.observed.fields[leak.field] ?? '').includes(leak.needle) : probe.observed.texts.includes(leak.needle);
      if (!alsoInProbe) flag(`${hostilePrefix(c, delivered)}${leak.kind}`, leak.detail);
    }
  }
  return { violations, observed, outcome: outcomeOf(results[0]!), modelled };
}

// ---------------------------------------------------------------- outcome checks

function describe(value: unknown): string {
  try {
    if (value instanceof Error) return `${value.name}: ${value.message}`.slice(0, 300);
    return `${typeof value}: ${String(value)}`.slice(0, 300);
  } catch {
    return typeof value;
  }
}

function outcomeOf(r: Settled): string {
  return r.ok ? 'token' : String((r.error as { code?: unknown } | null)?.code);
}

function summary(r: Settled): string {
  if (r.ok) return `token ${r.value.accessToken.length} chars`;
  const e = r.error as { code?: unknown } | null;
  return `error ${String(e?.code)}`;
}

function isTokenPhaseError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code !== ErrorCode.DISCOVERY_FAILED && code !== ErrorCode.INVALID_OPTION;
}

function checkToken(token: Token, flag: (k: string, d: string) => void): void {
  if (typeof token.accessToken !== 'string' || !HEADER_SAFE.test(token.accessToken)) flag('token: accessToken cannot go in a header', JSON.stringify(token.accessToken).slice(0, 80));
  if (!AUTH_SCHEME.test(token.tokenType)) flag('token: tokenType is not an RFC 7230 token (cannot go before the credentials in a header)', JSON.stringify(token.tokenType));
  if (!Number.isFinite(token.expiresIn) || token.expiresIn <= 0) flag('token: expiresIn is not a positive finite number', String(token.expiresIn));
  if (!Number.isFinite(token.expiresAt) || token.expiresAt !== T0 + token.expiresIn) flag('token: expiresAt is not sentAt + expiresIn (finite)', `${token.expiresAt} vs ${T0} + ${token.expiresIn}`);
}

function checkError(error: unknown, c: FuzzCase, delivered: Delivered[], flag: (k: string, d: string) => void): void {
  let isClientError: boolean;
  try {
    isClientError = error instanceof TokenClientError;
  } catch {
    isClientError = false;
  }
  const prefix = hostilePrefix(c, delivered);
  if (!isClientError) {
    flag(`${prefix}getToken() rejected with something that is not a TokenClientError`, describe(error));
    return;
  }
  const e = error as TokenClientError;
  if (!CODES.has(e.code)) {
    flag('error code not one of ErrorCode', String(e.code));
    return;
  }
  const classes = CLASS_OF[e.code as Code];
  if (!classes.includes(e.name)) flag('error class does not fit its code', `${e.name} with ${e.code}`);
  // A dispatcher that throws misbehaving objects is a broken dependency: M2M_UNEXPECTED_ERROR is its documented outcome.
  if (e.code === ErrorCode.UNEXPECTED && !prefix) flag('M2M_UNEXPECTED_ERROR (a failure the client did not foresee)', describe(e.cause));
}

/** Violations in a case whose dispatcher threw a misbehaving error object (a getter that throws, a Proxy) are reported apart. */
function hostilePrefix(c: FuzzCase, delivered: Delivered[]): string {
  return c.transport === 'dispatcher' && delivered.some((d) => d.exchange.kind === 'error' && isHostile(d.exchange.error)) ? 'hostile dispatcher error object: ' : '';
}

function sameUrl(url: URL, recorded: string): boolean {
  return `${url.origin}${url.pathname}${url.search}` === recorded;
}

function checkDiscovery(possibles: DiscoveryPossible[], gets: Delivered[], outcome: Settled, posts: Delivered[], tight: boolean, flag: (k: string, d: string) => void): void {
  const count: [number, number] = [gets.filter((g) => g.location === 0).length, gets.filter((g) => g.location === 1).length];
  const code = outcome.ok ? undefined : (outcome.error as { code?: string } | null)?.code;
  // Timeouts of tens of ms (a case that hangs later): on a loaded machine a document request may time out and be retried.
  if (tight && (code === ErrorCode.TIMEOUT || count[0] > 1 || count[1] > 1)) return;
  const fits = possibles.filter((p) => {
    if (p.gets[0] !== count[0] || p.gets[1] !== count[1]) return false;
    if (p.result.ok) return posts.length > 0;
    return posts.length === 0 && code !== undefined && p.result.codes.includes(code);
  });
  if (fits.length === 0) {
    const expected = possibles.map((p) => (p.result.ok ? `metadata (${p.gets.join('+')} GETs)` : `${p.result.codes.join('/')} [${p.result.why}] (${p.gets.join('+')} GETs)`));
    const why = possibles.map((p) => (p.result.ok ? 'usable metadata' : p.result.why)).join(' or ');
    flag(`discovery: README says ${why}; the client did otherwise`, `expected ${expected.join(' or ')}; got ${count.join('+')} GETs, ${posts.length} token requests, ${outcome.ok ? 'a token' : (code ?? describe(outcome.error))}`);
  }
}

function formOf(body: string): URLSearchParams {
  return new URLSearchParams(body);
}

function checkRequests(c: FuzzCase, posts: Delivered[], url: URL | undefined, methods: string[], flag: (k: string, d: string) => void): void {
  for (const p of posts) {
    const { request } = p;
    if (url && !sameUrl(url, request.url)) flag('request: token request sent elsewhere than the token endpoint', `${request.url} vs ${url.href}`);
    if (request.method !== 'POST') flag('request: token request is not a POST', request.method);
    const form = formOf(request.body);
    if (form.get('grant_type') !== 'client_credentials') flag('request: grant_type is not client_credentials', String(form.get('grant_type')));
    const secret = roundTrip(c.secret);
    const fits = methods.some((method) => {
      if (method === 'client_secret_post') return form.get('client_id') === CLIENT_ID && form.get('client_secret') === secret && request.headers.authorization === undefined;
      if (method === 'client_secret_basic') return request.headers.authorization === `Basic ${basicCredentials(CLIENT_ID, c.secret)}` && !form.has('client_secret');
      const assertion = form.get('client_assertion') ?? '';
      const [h = '', b = '', s = ''] = assertion.split('.');
      const signed = createHmac('sha256', Buffer.from(c.secret, 'utf8')).update(`${h}.${b}`).digest('base64url');
      return form.get('client_assertion_type') === 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' && s === signed && !form.has('client_secret') && request.headers.authorization === undefined;
    });
    if (!fits) flag(`request: client authentication is not ${methods.join(' or ')} with the given secret`, `secret ${JSON.stringify(c.secret)}; body ${request.body.slice(0, 200)}; authorization ${request.headers.authorization}`);
  }
}

/**
 * The response the k-th attempt would get, rendered as the server would (with the request's echoes, or the last
 * request's for an attempt not made), whatever the exchange's kind; undefined when node:http would not hand it over
 * as written (loopback).
 */
function simulatedSeen(c: FuzzCase, k: number, posts: Delivered[]): SeenResponse | undefined {
  const ex = c.exchanges[Math.min(k, c.exchanges.length - 1)]!;
  const request = (posts[k] ?? posts.at(-1))?.request;
  const v = { secret: c.secret, token: c.token, clientId: CLIENT_ID, requestBody: request?.body ?? '', authorization: request?.headers.authorization };
  const list = renderHeaders(ex.response.headers, v);
  const body = renderBody(ex.response.body, v);
  return c.transport === 'loopback'
    ? loopbackSeen(ex.response.status, loopbackHeaderList(list), body, renderText(ex.response.statusText, v))
    : { status: ex.response.status, headers: headerObject(list), body: roundTrip(body) };
}

function describePossible(p: Possible): string {
  const e = p.expected;
  const what = e.kind === 'token' ? `a token (${e.tokenType}, ${e.expiresIn} ms)` : `${e.code} [${e.why}]`;
  return `${what} after ${p.attempts[0] === p.attempts[1] ? p.attempts[0] : `${p.attempts[0]}–${p.attempts[1]}`} requests`;
}

function compareOutcome(possibles: Possible[], outcome: Settled, posts: Delivered[], uncounted: boolean, flag: (k: string, d: string) => void, secret: string): void {
  const n = posts.length;
  const inRange = (p: Possible) => uncounted || (n >= p.attempts[0] && n <= p.attempts[1]);
  const fitsOutcome = (p: Possible) => {
    const e = p.expected;
    if (outcome.ok) {
      if (e.kind !== 'token') return false;
      const t = outcome.value;
      return (
        t.accessToken === e.accessToken &&
        t.tokenType === e.tokenType &&
        (t.expiresIn === e.expiresIn || Math.abs(t.expiresIn - e.expiresIn) <= Math.abs(e.expiresIn) * 1e-12) &&
        (e.scope === 'any' || JSON.stringify(t.scope) === JSON.stringify(e.scope?.map((entry) => scrubbed(entry, [secret, formEncode(secret), uriEncode(secret), basicCredentials(CLIENT_ID, secret), e.accessToken]))))
      );
    }
    const error = outcome.error as { code?: unknown; status?: unknown };
    return e.kind === 'error' && error.code === e.code && (e.status === undefined || error.status === e.status);
  };
  const matching = possibles.filter(fitsOutcome);
  const actual = outcome.ok ? `a token (${outcome.value.tokenType}, ${outcome.value.expiresIn} ms)` : String((outcome.error as { code?: unknown }).code);
  if (matching.length === 0) {
    const whys = [...new Set(possibles.map((p) => (p.expected.kind === 'token' ? 'a token' : `${p.expected.code} (${p.expected.why})`)))].sort();
    const got = outcome.ok ? 'a token' : actual;
    flag(`outcome: README says ${whys.join(' or ')}, got ${got}`, `expected ${possibles.map(describePossible).join(' or ')}; got ${actual} after ${n} requests`);
    return;
  }
  const counted = matching.filter(inRange);
  if (counted.length === 0) {
    flag('attempts: number of token requests differs from the README retry rules', `expected ${matching.map(describePossible).join(' or ')}; got ${actual} after ${n} requests`);
    return;
  }
  if (outcome.ok) return;
  const error = outcome.error as { attempts?: unknown; retryAfter?: unknown };
  if (uncounted ? typeof error.attempts !== 'number' || error.attempts < n : error.attempts !== n) flag('error.attempts is not the number of requests sent', `attempts ${String(error.attempts)}, requests ${n}`);
  // Only an error made from a response read whole says what that response asked for.
  const fromResponse = new Set<string>([ErrorCode.OAUTH_ERROR, ErrorCode.HTTP_STATUS, ErrorCode.RESPONSE_NOT_JSON, ErrorCode.RESPONSE_MALFORMED_JSON, ErrorCode.RESPONSE_INVALID, ErrorCode.TOKEN_TYPE_UNSUPPORTED]);
  const decided = counted.find((p) => p.expected.kind === 'error' && fromResponse.has(p.expected.code) && p.decidedBy !== undefined && posts[p.decidedBy]?.seen !== undefined);
  if (decided && n === decided.decidedBy! + 1) {
    const seen = posts[decided.decidedBy!]!.seen!;
    const want = expectedRetryAfter(seen, T0);
    if (error.retryAfter !== want.value) {
      flag(`retryAfter: wrong for a ${retryAfterForm(seen)}`, `expected ${String(want.value)}, got ${String(error.retryAfter)} for retry-after ${JSON.stringify(seen.headers['retry-after'])}, x-ratelimit-reset ${JSON.stringify(seen.headers['x-ratelimit-reset'])}, status ${seen.status}`);
    }
  }
}

function retryAfterForm(seen: SeenResponse): string {
  const raw = first(seen.headers, 'retry-after')?.trim();
  if (raw) {
    if (/^\d+$/.test(raw)) return 'Retry-After in seconds';
    if (httpDate(raw) !== undefined) {
      if (/GMT$/.test(raw)) return /-/.test(raw) ? 'Retry-After RFC 850 date' : 'Retry-After IMF-fixdate';
      return 'Retry-After asctime date';
    }
    return 'Retry-After that is neither seconds nor an HTTP-date';
  }
  return seen.status === 429 && first(seen.headers, 'x-ratelimit-reset') !== undefined ? 'x-ratelimit-reset' : 'response without a wait';
}

// ---------------------------------------------------------------- leaks

interface Leak {
  kind: string;
  detail: string;
  needle: string;
  /** For short values: the echoed field it was found in (the probe compares that field only). */
  field?: string;
}

/** The fields of an error that carry text the server sent (the only place a 1–3 character value is looked for). */
function echoedFields(error: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (error === null || typeof error !== 'object') return out;
  const e = error as Record<string, unknown>;
  for (const name of ['error', 'errorDescription', 'errorUri']) if (typeof e[name] === 'string') out[name] = e[name] as string;
  const message = typeof e.message === 'string' ? e.message : '';
  const type = /issued a token of type (".*?(?<!\\)")/.exec(message);
  if (type) out.tokenType = type[1]!;
  const expires = /has expires_in "(.*)"; it must be/.exec(message);
  if (expires) out.expiresIn = expires[1]!;
  return out;
}

function observe(r: Settled): Observed {
  const value = r.ok ? r.value : r.error;
  return { texts: renderAll(value).map((x) => x.text).join('\n\u0000\n'), fields: r.ok ? {} : echoedFields(r.error) };
}

const jsonEscaped = (s: string) => JSON.stringify(s).slice(1, -1);

function findLeaks(c: FuzzCase, results: Settled[], delivered: Delivered[]): Leak[] {
  const leaks: Leak[] = [];
  const basic = delivered.some((d) => d.request.headers.authorization?.startsWith('Basic '));
  const secretForms = [c.secret, formEncode(c.secret), uriEncode(c.secret), ...(basic ? [basicCredentials(CLIENT_ID, c.secret)] : []), jsonEscaped(c.secret)];
  // Signed client assertions (client_secret_jwt) are secrets too.
  const assertions = delivered.flatMap((d) => formOf(d.request.body).getAll('client_assertion'));
  const tokenKnown = delivered.some((d) => {
    // A response the client read whole, as it read it (not one cut short by an error or a hang).
    if (d.kind !== 'token' || d.exchange.kind !== 'response' || d.seen === undefined || d.seen.status < 200 || d.seen.status > 299) return false;
    try {
      return (JSON.parse(d.seen.body) as { access_token?: unknown } | null)?.access_token === c.token;
    } catch {
      return false;
    }
  });
  const long = (values: string[]) => [...new Set(values)].filter((v) => v.length >= 4);
  const checks: { what: string; needles: string[]; short: string | undefined }[] = [
    { what: 'client secret', needles: c.secret.length >= 4 ? long(secretForms) : [], short: c.secret.length < 4 ? c.secret : undefined },
    { what: 'client assertion', needles: long(assertions), short: undefined },
  ];
  if (tokenKnown) checks.push({ what: 'access token', needles: c.token.length >= 4 ? long([c.token, jsonEscaped(c.token)]) : [], short: c.token.length < 4 ? c.token : undefined });

  const r = results[0]!;
  const value = r.ok ? r.value : r.error;
  const where = r.ok ? 'Token' : `${(r.error as { code?: unknown } | null)?.code ?? 'error'}`;
  const renderings = renderAll(value);
  // A value that is part of the redaction marker itself (a secret "REDACTED") is looked for outside the markers.
  const unmarked = renderings.map((x) => ({ how: x.how, text: x.text.split('[REDACTED]').join('\u0000') }));
  const search = (needle: string) => ('[REDACTED]'.includes(needle) ? unmarked : renderings);
  for (const { what, needles, short } of checks) {
    let found = false;
    for (const needle of needles) {
      const hit = search(needle).find((x) => x.text.includes(needle));
      if (hit) {
        found = true;
        const at = hit.text.indexOf(needle);
        leaks.push({ kind: `leak: the ${what} in ${where} (${hit.how.replace(/#\d+|\[\d+\]/g, '')})`, detail: `…${hit.text.slice(Math.max(0, at - 80), at + needle.length + 40)}…`, needle });
        break;
      }
    }
    // Fragments of a long secret (a prefix cut off before redaction is still most of the secret).
    if (!found && what === 'client secret' && c.secret.length >= 16) {
      for (let i = 0; i + 16 <= c.secret.length && !found; i += 4) {
        const fragment = c.secret.slice(i, i + 16);
        const hit = search(fragment).find((x) => x.text.includes(fragment));
        if (hit) {
          found = true;
          leaks.push({ kind: `leak: 16+ characters of the client secret in ${where} (${hit.how.replace(/#\d+|\[\d+\]/g, '')})`, detail: `fragment ${JSON.stringify(fragment)} of a ${c.secret.length}-character secret in ${JSON.stringify(hit.text.slice(0, 300))}`, needle: fragment });
        }
      }
    }
    if (short !== undefined && !r.ok) {
      for (const [field, text] of Object.entries(echoedFields(r.error))) {
        if (text.includes(short)) leaks.push({ kind: `leak: a short (1–3 character) ${what} in the echoed field ${field}`, detail: `${JSON.stringify(short)} in ${JSON.stringify(text.slice(0, 200))}`, needle: short, field });
      }
    }
  }
  return leaks;
}

// ---------------------------------------------------------------- the probe

const TCHAR_PUNCT = "!#$%&'*+-.^_`|~";
const OTHER_PUNCT = '"(),/:;<=>?@[\\]{}';

function mutateChar(ch: string): string {
  const code = ch.codePointAt(0)!;
  if (/[a-z]/.test(ch)) return String.fromCharCode(((code - 97 + 13) % 26) + 97);
  if (/[A-Z]/.test(ch)) return String.fromCharCode(((code - 65 + 13) % 26) + 65);
  if (/[0-9]/.test(ch)) return String.fromCharCode(((code - 48 + 5) % 10) + 48);
  let i = TCHAR_PUNCT.indexOf(ch);
  if (i >= 0) return TCHAR_PUNCT[(i + 1) % TCHAR_PUNCT.length]!;
  i = OTHER_PUNCT.indexOf(ch);
  if (i >= 0) return OTHER_PUNCT[(i + 1) % OTHER_PUNCT.length]!;
  if (code < 32) return code === 9 || code === 10 || code === 13 ? ch : String.fromCharCode(code ^ 1);
  if (code >= 0xd800 && code <= 0xdfff) return ch;
  if (code > 127) return String.fromCodePoint(code + 1 > 0x10ffff ? code - 1 : code + 1 === 0xd800 ? code + 0x801 : code + 1);
  return ch;
}

const mutate = (s: string) => Array.from(s, mutateChar).join('');

/** The same case with other secret and token values of the same shape (a JWT keeps its claims). */
export function mutateCase(c: FuzzCase): FuzzCase {
  const dot = c.token.lastIndexOf('.');
  const token = dot > 0 && dot < c.token.length - 1 ? c.token.slice(0, dot + 1) + mutate(c.token.slice(dot + 1)) : mutate(c.token);
  return { ...c, secret: mutate(c.secret), token };
}

/** README: a scope entry that echoes the secret or the token has it replaced (a short one withholds the entry). */
function scrubbed(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of new Set(secrets)) {
    if (secret.length >= 4) out = out.split(secret).join('[REDACTED]');
    else if (secret && out.includes(secret)) return '[REDACTED]';
  }
  return out;
}
