import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JWTPayload } from 'jose';
import type { Clock } from 'm2m-token';
import type { RequestHandler } from 'msw';
import { decide, type Decision, type EndpointPolicy, type MockOrganization } from './auth0-rules.js';
import { jwksHandler, TestSigningKey, type JsonWebKeySet } from './jwks.js';
import { mswModules } from './msw-loader.js';
import { parseTokenRequest, type ObservedClientAuthentication, type ParsedTokenRequest } from './parse-token-request.js';
import { checkReply, oauthErrorStatus, type TokenEndpointReply } from './replies.js';
import { QuotaCounter, type MockQuotas } from './quotas.js';

/**
 * Options of {@link mockTokenEndpoint}: `clientId`, `clientSecret`, exactly one of `domain` and `tokenEndpoint`
 * (anything else is a type error, and a `TypeError` at run time), and any of {@link MockTokenEndpointBaseOptions}.
 */
export type MockTokenEndpointOptions = MockTokenEndpointBaseOptions &
  (
    | {
        /** Auth0 tenant or custom domain, e.g. `tenant.eu.auth0.com`: the endpoint is `https://{domain}/oauth/token`. */
        domain: string;
        /** Not with `domain`: give one of `domain` and `tokenEndpoint`. */
        tokenEndpoint?: undefined;
      }
    | {
        /** Not with `tokenEndpoint`: give one of `domain` and `tokenEndpoint`. */
        domain?: undefined;
        /** Full token endpoint URL, for other RFC 6749 servers. */
        tokenEndpoint: string | URL;
      }
  );

/** Every option of {@link MockTokenEndpointOptions} but the endpoint (`domain` or `tokenEndpoint`). */
export interface MockTokenEndpointBaseOptions {
  /** `iss` of the tokens. Default: `https://{domain}/`, or the token endpoint's origin followed by `/`. */
  issuer?: string | undefined;
  /** Where the JWKS is served. Default: `https://{domain}/.well-known/jwks.json` (the origin's, for `tokenEndpoint`). */
  jwksUri?: string | URL | undefined;
  /** The one client the endpoint knows. */
  clientId: string;
  /** Its secret. A fake value: it is compared, never recorded. */
  clientSecret: string;
  /** APIs that exist (Auth0 API identifiers). Others get 403 access_denied "Service not found". Default: any. */
  audiences?: readonly string[] | undefined;
  /** Audience for requests without one, like a tenant's default audience. Without it they get 403 access_denied, as on Auth0. */
  defaultAudience?: string | undefined;
  /** Organizations the client may ask for, by id or `{ id, name }` to accept the name too. Others get 403 access_denied. Default: any. */
  organizations?: readonly (string | MockOrganization)[] | undefined;
  /** Scopes granted to the client: asking for others gets 403 access_denied; asking for none grants all of these. Default: anything asked. */
  scopes?: readonly string[] | undefined;
  /** `expires_in` in seconds. Default 86400, Auth0's default. */
  expiresIn?: number | undefined;
  /** Time source for `iat`/`exp` and `receivedAt`. Give it the `ManualClock` your `TokenClient` uses. Default: `Date.now`. */
  clock?: Clock | undefined;
  /** Ms to wait before every answer (a reply's own `delay` wins). Default 0. */
  delay?: number | undefined;
  /**
   * Auth0 fine-grained token quotas: per-application and per-organization `perHour` / `perDay` buckets, counted on
   * the endpoint's `clock` and reset at each UTC hour / day. Token responses carry `Auth0-Client-Quota-Limit` and
   * `Auth0-Organization-Quota-Limit`; once an enforced bucket is used up, requests get a 429 `too_many_requests`
   * with the same headers. `reset()` clears the counts. Only the normal answer (`{ kind: 'token' }`) counts.
   */
  quotas?: MockQuotas | undefined;
}

/** What the mock token endpoint received in one request, and what it answered. Secrets are never recorded. */
export interface RecordedTokenRequest {
  /** `grant_type` as sent. */
  readonly grantType: string | undefined;
  /** From the Basic header or the body. */
  readonly clientId: string | undefined;
  /** Which client authentication method the request used. */
  readonly clientAuthentication: ObservedClientAuthentication;
  /** Whether the secret sent (in either place) is the configured one. The secret itself is not kept. */
  readonly clientSecretValid: boolean;
  /** `audience` as sent (not defaulted). */
  readonly audience: string | undefined;
  /** `organization` as sent (an id or a name). */
  readonly organization: string | undefined;
  /** `scope` as sent: one space-separated string. */
  readonly scope: string | undefined;
  /** Every `resource` parameter, in order. */
  readonly resource: readonly string[];
  /** All other body parameters; a repeated one as an array. */
  readonly extraParams: Readonly<Record<string, string | readonly string[]>>;
  /** The request's `Content-Type`. */
  readonly contentType: string | undefined;
  /** HTTP status answered; 0 for a `network-error` reply. */
  readonly status: number;
  /** OAuth `error` answered, if any. */
  readonly error: string | undefined;
  /** When it arrived, on the endpoint's clock (epoch ms). */
  readonly receivedAt: number;
}

/** Options of {@link MockTokenEndpoint.signToken}. */
export interface SignTokenOptions {
  /** `aud` claim. */
  audience: string;
  /** `org_id` claim. */
  organization?: string | undefined;
  /** `scope` claim: an array, or one space-separated string. */
  scope?: string | readonly string[] | undefined;
  /** Lifetime in seconds. Default: the endpoint's `expiresIn`. */
  expiresIn?: number | undefined;
  /** Claims merged over the standard ones; a claim set to `undefined` is left out. */
  claims?: Record<string, unknown> | undefined;
}

const RESERVED = new Set(['grant_type', 'client_id', 'client_secret', 'client_assertion', 'client_assertion_type', 'audience', 'organization', 'scope', 'resource']);

/**
 * An Auth0-like token endpoint for msw, made by {@link mockTokenEndpoint}. Put its {@link handlers} into
 * your network; script answers with {@link replyNext} / {@link replyAlways}; read {@link calls}.
 */
export class MockTokenEndpoint {
  /** The token endpoint URL the handler answers (POST). */
  readonly url: string;
  /** `iss` of the tokens it signs. */
  readonly issuer: string;
  /** The JWKS URL it serves (GET). */
  readonly jwksUri: string;
  /** msw handlers: the token endpoint, the JWKS, and OpenID / RFC 8414 discovery documents. */
  readonly handlers: readonly RequestHandler[];

  readonly #policy: EndpointPolicy;
  readonly #expiresIn: number;
  readonly #clock: Clock;
  readonly #delay: number;
  readonly #key = new TestSigningKey();
  readonly #calls: RecordedTokenRequest[] = [];
  readonly #quotas: QuotaCounter;
  #queue: TokenEndpointReply[] = [];
  #always: TokenEndpointReply | undefined;

  /** Use {@link mockTokenEndpoint}. */
  constructor(options: MockTokenEndpointOptions) {
    const urls = endpointUrls(options);
    this.url = urls.token;
    this.issuer = urls.issuer;
    this.jwksUri = urls.jwks;
    if (typeof options.clientId !== 'string' || !options.clientId) throw new TypeError('mockTokenEndpoint: clientId must be a non-empty string.');
    if (typeof options.clientSecret !== 'string' || !options.clientSecret) throw new TypeError('mockTokenEndpoint: clientSecret must be a non-empty string.');
    this.#expiresIn = options.expiresIn ?? 86_400;
    if (!(Number.isFinite(this.#expiresIn) && this.#expiresIn > 0)) throw new RangeError(`mockTokenEndpoint: expiresIn must be seconds > 0, got ${this.#expiresIn}.`);
    this.#delay = options.delay ?? 0;
    if (!(Number.isFinite(this.#delay) && this.#delay >= 0)) throw new RangeError(`mockTokenEndpoint: delay must be ms ≥ 0, got ${this.#delay}.`);
    this.#clock = options.clock ?? { now: () => Date.now() };
    this.#quotas = new QuotaCounter(options.quotas);
    this.#policy = {
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      audiences: options.audiences && [...options.audiences],
      defaultAudience: options.defaultAudience,
      organizations: options.organizations?.map((o) => (typeof o === 'string' ? { id: o } : { ...o })),
      scopes: options.scopes && [...options.scopes],
    };
    const { http, HttpResponse } = mswModules();
    this.#key.prepare();
    const metadata = this.#metadata();
    this.handlers = Object.freeze([
      http.post(this.url, ({ request }) => this.#answer(request)),
      jwksHandler(this.jwksUri, this.#key),
      ...discoveryUrls(this.issuer).map((url) => http.get(url, () => HttpResponse.json(metadata))),
    ]);
  }

  /** Every token request so far, in order, whatever was answered. */
  get calls(): readonly RecordedTokenRequest[] {
    return this.#calls;
  }

  /** Number of token requests so far: assert "one token request for 50 API calls" with it. */
  get requestCount(): number {
    return this.#calls.length;
  }

  /** The next token requests get these replies, one each, in order; then the normal answer (or {@link replyAlways}) again. */
  replyNext(...replies: TokenEndpointReply[]): this {
    this.#queue.push(...replies.map(checkReply));
    return this;
  }

  /** Every token request gets `reply` (after any {@link replyNext} ones) until `replyAlways(undefined)` or {@link reset}. */
  replyAlways(reply: TokenEndpointReply | undefined): this {
    this.#always = reply === undefined ? undefined : checkReply(reply);
    return this;
  }

  /** Forgets recorded calls, scripted replies and quota counts. Keeps the options and the signing key. */
  reset(): void {
    this.#calls.length = 0;
    this.#queue = [];
    this.#always = undefined;
    this.#quotas.reset();
  }

  /**
   * Signs a token as the endpoint would issue it to its client, without a request: for tests of the API
   * side, or a `FakeTokenSource` that hands out real JWTs.
   */
  signToken(options: SignTokenOptions): Promise<string> {
    const scope = typeof options.scope === 'string' ? options.scope.split(/\s+/).filter(Boolean) : [...(options.scope ?? [])];
    return this.#key.sign(
      this.#claims({
        audience: options.audience,
        organization: options.organization === undefined ? undefined : { id: options.organization },
        scope,
        expiresIn: options.expiresIn ?? this.#expiresIn,
        claims: options.claims,
      }),
    );
  }

  /** The public keys, as served at {@link jwksUri}. For `createLocalJWKSet` when a test does not go through HTTP. */
  jwks(): Promise<JsonWebKeySet> {
    return this.#key.jwks();
  }

  async #answer(request: Request): Promise<Response> {
    const parsed = await parseTokenRequest(request);
    const decision = decide(parsed, this.#policy);
    const receivedAt = this.#clock.now();
    const reply = this.#queue.shift() ?? this.#always ?? { kind: 'token' };
    const plan = this.#plan(reply, decision, receivedAt);
    // Recorded before the delay, so a test can see a request that is still waiting for its answer.
    this.#calls.push(record(parsed, this.#policy, plan, receivedAt));
    const wait = reply.delay ?? this.#delay;
    if (wait > 0) await sleep(wait);
    return plan.respond();
  }

  #plan(reply: TokenEndpointReply, decision: Decision, receivedAt: number): { status: number; error?: string; respond: () => Response | Promise<Response> } {
    const { HttpResponse } = mswModules();
    switch (reply.kind) {
      case 'token': {
        if (!decision.ok) return oauthError(decision.status, decision.error, decision.description, decision.basicChallenge);
        const quota = this.#quotas.take(decision.organization?.id, receivedAt);
        if (quota.refused) {
          const header = quota.refusedBy === 'organization' ? 'Auth0-Organization-Quota-Limit' : 'Auth0-Client-Quota-Limit';
          const body = { error: 'too_many_requests', error_description: `Token quota exceeded; see the ${header} header` };
          return { status: 429, error: body.error, respond: () => HttpResponse.json(body, { status: 429, headers: quota.headers }) };
        }
        return { status: 200, respond: () => this.#tokenResponse(decision, reply, receivedAt, quota.headers) };
      }
      case 'oauth-error':
        return oauthError(reply.status ?? oauthErrorStatus(reply.error), reply.error, reply.errorDescription, false);
      case 'server-error': {
        const status = reply.status ?? 503;
        const headers: Record<string, string> = reply.retryAfter === undefined ? {} : { 'retry-after': String(reply.retryAfter) };
        return { status, respond: () => HttpResponse.text(reply.body ?? `HTTP ${status}`, { status, headers }) };
      }
      case 'rate-limited': {
        const body = { error: 'too_many_requests', error_description: 'Global limit has been reached' };
        const headers = { 'retry-after': String(reply.retryAfter ?? 1) };
        return { status: 429, error: body.error, respond: () => HttpResponse.json(body, { status: 429, headers }) };
      }
      case 'network-error':
        return { status: 0, respond: () => HttpResponse.error() };
    }
  }

  async #tokenResponse(decision: Decision & { ok: true }, reply: TokenEndpointReply & { kind: 'token' }, receivedAt: number, headers: Record<string, string>): Promise<Response> {
    const expiresIn = reply.expiresIn ?? this.#expiresIn;
    const { HttpResponse } = mswModules();
    const accessToken = await this.#key.sign(this.#claims({ ...decision, expiresIn, claims: reply.claims, now: receivedAt }));
    const body = {
      access_token: accessToken,
      ...(decision.scope.length > 0 ? { scope: decision.scope.join(' ') } : {}),
      expires_in: expiresIn,
      token_type: reply.tokenType ?? 'Bearer',
      ...reply.body,
    };
    return HttpResponse.json(body, { headers: { 'cache-control': 'no-store', pragma: 'no-cache', ...headers } });
  }

  /** The claims of an Auth0 client_credentials access token. */
  #claims(fields: {
    audience: string;
    organization: MockOrganization | undefined;
    scope: readonly string[];
    expiresIn: number;
    claims: Record<string, unknown> | undefined;
    now?: number;
  }): JWTPayload {
    const { clientId } = this.#policy;
    const iat = Math.floor((fields.now ?? this.#clock.now()) / 1000);
    return {
      iss: this.issuer,
      sub: `${clientId}@clients`,
      aud: fields.audience,
      iat,
      exp: iat + fields.expiresIn,
      // Not in Auth0's tokens; it makes every token unique, so "a new token was issued" is observable.
      jti: randomUUID(),
      ...(fields.scope.length > 0 ? { scope: fields.scope.join(' ') } : {}),
      ...(fields.organization ? { org_id: fields.organization.id } : {}),
      gty: 'client-credentials',
      azp: clientId,
      client_id: clientId,
      ...fields.claims,
    };
  }

  #metadata(): Record<string, unknown> {
    return {
      issuer: this.issuer,
      token_endpoint: this.url,
      jwks_uri: this.jwksUri,
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
      id_token_signing_alg_values_supported: ['RS256'],
    };
  }
}

/**
 * An Auth0-like token endpoint for msw: checks grant_type, client credentials (client_secret_post, and
 * HTTP Basic decoded per RFC 6749 §2.3.1), audience, organization and scope; answers with a real RS256 JWT
 * that verifies against the JWKS it also serves; records every request without its secret.
 *
 * ```ts
 * const auth = mockTokenEndpoint({ domain: 'tenant.eu.auth0.com', clientId: 'app', clientSecret: 'fake-secret', audiences: ['https://api.example.com'] });
 * const network = mockNetwork(...auth.handlers);
 * ```
 */
export function mockTokenEndpoint(options: MockTokenEndpointOptions): MockTokenEndpoint {
  return new MockTokenEndpoint(options);
}

function oauthError(status: number, error: string, description: string | undefined, basicChallenge: boolean) {
  const body = description === undefined ? { error } : { error, error_description: description };
  // RFC 6749 §5.2: a 401 to a client that used Basic carries a WWW-Authenticate challenge.
  const headers: Record<string, string> = basicChallenge && status === 401 ? { 'www-authenticate': 'Basic realm="token"' } : {};
  return { status, error, respond: () => mswModules().HttpResponse.json(body, { status, headers }) };
}

function record(parsed: ParsedTokenRequest, policy: EndpointPolicy, plan: { status: number; error?: string }, receivedAt: number): RecordedTokenRequest {
  const one = (name: string) => parsed.params.get(name)?.[0];
  const extraParams: Record<string, string | readonly string[]> = {};
  for (const [name, values] of parsed.params) {
    if (!RESERVED.has(name)) extraParams[name] = values.length === 1 ? values[0]! : Object.freeze([...values]);
  }
  return Object.freeze({
    grantType: one('grant_type'),
    clientId: parsed.clientId,
    clientAuthentication: parsed.clientAuthentication,
    clientSecretValid: parsed.clientSecret === policy.clientSecret,
    audience: one('audience'),
    organization: one('organization'),
    scope: one('scope'),
    resource: Object.freeze([...(parsed.params.get('resource') ?? [])]),
    extraParams: Object.freeze(extraParams),
    contentType: parsed.contentType,
    status: plan.status,
    error: plan.error,
    receivedAt,
  });
}

function endpointUrls(options: MockTokenEndpointOptions): { token: string; issuer: string; jwks: string } {
  const { domain, tokenEndpoint } = options;
  if ((domain === undefined) === (tokenEndpoint === undefined)) throw new TypeError('mockTokenEndpoint: give exactly one of domain and tokenEndpoint.');
  let origin: string;
  let token: string;
  let issuer: string;
  if (domain !== undefined) {
    const host = String(domain).replace(/^https:\/\//i, '').replace(/\/+$/, '');
    if (!host || /[/?#]/.test(host)) throw new TypeError(`mockTokenEndpoint: domain must be a host name like tenant.eu.auth0.com, got ${JSON.stringify(domain)}.`);
    origin = new URL(`https://${host}`).origin;
    token = `${origin}/oauth/token`;
    issuer = `${origin}/`;
  } else {
    const url = new URL(tokenEndpoint!);
    origin = url.origin;
    token = `${origin}${url.pathname}`;
    issuer = `${origin}/`;
  }
  return { token, issuer: options.issuer ?? issuer, jwks: String(options.jwksUri ?? `${origin}/.well-known/jwks.json`) };
}

// OpenID Connect Discovery appends to the issuer; RFC 8414 inserts the well-known segment before its path.
function discoveryUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/+$/, '');
  return [`${url.origin}${path}/.well-known/openid-configuration`, `${url.origin}/.well-known/oauth-authorization-server${path}`];
}
