import type { Dispatcher } from 'undici';
import {
  checkMethod,
  chooseMethod,
  resolveAssertionKey,
  resolveBasicEncoding,
  type BasicCredentialEncoding,
  type ClientAssertionOptions,
  type ClientAuthentication,
  type Credentials,
} from './client-auth.js';
import { resolveDpop, type DpopOptions, type ResolvedDpop } from './dpop.js';
import { ConfigurationError, type M2MError } from './errors.js';
import { resolveProxy, type ProxyOption, type ProxySettings } from './proxy.js';
import { isTokenStore, type TokenStore } from './stores/token-store.js';
import { normalizeTokenParams, type TokenParams } from './token-params.js';
import type { ResolvedQuota } from './quota.js';
import type { GetTokenOptions } from './token-source.js';
import { systemClock, type Clock, type Milliseconds } from './types.js';

export type { ClientAssertionOptions, ClientAuthentication } from './client-auth.js';
export type {
  AssertionAudience,
  ClientAssertionAudienceOptions,
  ClientAssertionFileOptions,
  ClientAssertionKeyOptions,
  ClientAssertionSignerOptions,
  BasicCredentialEncoding,
  ClientAssertionClaims,
  ClientAssertionSigner,
} from './client-auth.js';
export type { ProxyOption } from './proxy.js';
export type { DpopKeyPair, DpopOptions } from './dpop.js';

/** Retry policy for transient failures (network errors, 408, 429, 5xx). */
export interface RetryOptions {
  /**
   * Retries after the first attempt. `0` means one attempt only.
   * @default 3
   */
  retries?: number | undefined;
  /**
   * Backoff base in ms: before retry n the client waits a random time in `[0, min(maxDelay, baseDelay × 2^(n-1))]`
   * (exponential backoff with full jitter).
   * @default 200
   */
  baseDelay?: Milliseconds | undefined;
  /**
   * Upper bound of one backoff wait in ms.
   * @default 10_000
   */
  maxDelay?: Milliseconds | undefined;
  /**
   * Longest `Retry-After` / `x-ratelimit-reset` wait honoured, in ms. A server asking for longer fails at once
   * with its error instead of holding callers.
   * @default 30_000
   */
  maxRetryAfter?: Milliseconds | undefined;
}

/** Options of the default in-memory cache. */
export interface MemoryCacheOptions {
  /**
   * Most tokens kept (one per distinct audience/organization/scope/… combination); least recently used go first.
   * @default 1000
   */
  max?: number | undefined;
  /** A shared {@link TokenStore} behind the in-memory cache, when you also want to set `max`. */
  store?: TokenStore | undefined;
}

/** What `onError` receives: a problem the client worked around without failing `getToken()`. */
export interface TokenClientErrorEvent {
  /**
   * `store`: a TokenStore call failed or timed out (treated as a miss). `refresh`: a background refresh failed.
   * `stale`: the token endpoint is failing and a cached token that is past its leeway but still valid is being
   * handed out (see `staleIfError`); reported at most once per key every 30 s.
   * `quota`: an Auth0 token quota fell below `quota.warnBelow` (code `M2M_QUOTA_LOW`, once per bucket crossing), or
   * is used up and the key's requests are blocked until it resets (code `M2M_QUOTA_EXCEEDED`, once per block);
   * `error.quota` has the reading.
   */
  type: 'store' | 'refresh' | 'stale' | 'quota';
  /** For `store`: which store call failed (`block`: reading or sharing a quota block). */
  operation?: 'get' | 'set' | 'delete' | 'lease' | 'release' | 'wait' | 'block' | undefined;
  /** What went wrong; `code` is `M2M_STORE_ERROR` for `store`, `M2M_QUOTA_LOW` for `quota`, `M2M_STALE_TOKEN` for `stale`, any code for `refresh`. */
  error: M2MError;
}

/**
 * The part of an undici `Dispatcher` the client uses: `dispatch(options, handler)`. Any undici `Agent`,
 * `ProxyAgent`, `EnvHttpProxyAgent`, `Pool`, `MockAgent` or composed dispatcher fits, from whichever undici version
 * the application has; m2m-token's types do not depend on undici's.
 */
export interface DispatcherLike {
  /** Starts one request and reports its progress to `handler` (undici's `Dispatcher.dispatch`). */
  dispatch(options: { origin?: string | URL | undefined; path: string; method: string }, handler: object): boolean;
}

/** Client certificate for mutual TLS (RFC 8705), as PEM. */
export interface TlsCredentials {
  /** The client certificate chain. */
  cert: string | Buffer;
  /** Its private key. */
  key: string | Buffer;
  /** CA certificates to trust for the server, instead of Node's default ones. */
  ca?: string | Buffer | (string | Buffer)[] | undefined;
  /** Passphrase of an encrypted `key`. */
  passphrase?: string | undefined;
}

/**
 * Every option of {@link TokenClientOptions} except the endpoint (`domain` / `tokenEndpoint` / `issuer`) and the
 * credentials (`clientSecret` / `clientAssertion` / `tls`). Handy for building options in steps:
 * `const common: TokenClientBaseOptions = { clientId, audience }`.
 */
export interface TokenClientBaseOptions {
  /** The application's client id. Required. */
  clientId: string;
  /**
   * How the client authenticates: `client_secret_post` (id and secret in the form body, what Auth0 documents),
   * `client_secret_basic` (HTTP Basic, each form-urlencoded first per RFC 6749 §2.3.1), `client_secret_jwt`
   * (HS256 assertion), `private_key_jwt` (signed assertion, RFC 7523), `tls_client_auth` or
   * `self_signed_tls_client_auth` (RFC 8705).
   * @default with `issuer`: the strongest method both the credentials and the server's metadata allow;
   * otherwise `private_key_jwt` with `clientAssertion`, `tls_client_auth` with only `tls`, else `client_secret_post`.
   */
  clientAuthentication?: ClientAuthentication | undefined;
  /**
   * Default `audience` (the API identifier in Auth0) for every `getToken()`.
   * @default undefined (no `audience` parameter is sent)
   */
  audience?: string | undefined;
  /**
   * Default Auth0 `organization` (id or name) for every `getToken()`.
   * @default undefined (no `organization` parameter is sent)
   */
  organization?: string | undefined;
  /**
   * Default scopes: an array or one space-separated string. Sent space-joined, deduplicated and sorted.
   * @default undefined (no `scope` parameter: the server grants its default)
   */
  scope?: string | readonly string[] | undefined;
  /**
   * Default RFC 8707 resource indicator(s); each is sent as its own `resource` parameter.
   * @default undefined (no `resource` parameter is sent)
   */
  resource?: string | readonly string[] | undefined;
  /**
   * More form parameters for every request. They are part of the cache key. They may not set the parameters the
   * client owns (`grant_type`, `client_id`, `client_secret`, `audience`, `organization`, `scope`, `resource`, …).
   * @default {}
   */
  extraParams?: Readonly<Record<string, string | readonly string[]>> | undefined;
  /**
   * Token types accepted besides `Bearer` (compared case-insensitively). Anything else is an error.
   * @default []
   */
  allowedTokenTypes?: readonly string[] | undefined;
  /**
   * A token is handed out until `expiresAt − expiryLeeway`, so that it does not expire in flight. Capped at half
   * the token's lifetime, so a short-lived token is still used.
   * @default 60_000
   */
  expiryLeeway?: Milliseconds | undefined;
  /**
   * Window in ms before a token stops being handed out in which a call returns the cached token at once and
   * starts one background refresh. The point it starts is random in the window's first half, so a fleet does
   * not refresh in lockstep. Capped at half the token's usable lifetime. `0` or `false` turns it off.
   * @default 300_000
   */
  refreshAhead?: Milliseconds | false | undefined;
  /**
   * Outage resilience (stale-if-error). When the token endpoint fails with a transient error (network, timeout,
   * 408, 429, 5xx) and the cached token for the key still has at least `minRemaining` ms before `expiresAt`,
   * `getToken()` hands out that token at once instead of failing or waiting, while a background refresh keeps
   * trying with backoff. Errors that mean the credential is wrong (`invalid_client`, `unauthorized_client`,
   * `invalid_grant`) are never covered up: they fail `getToken()` once the token is past its leeway, and reach
   * `onError` at once. Each stale hand-out is reported through `onError` (type `'stale'`, rate-limited).
   * `false` turns it off.
   * @default { minRemaining: the smaller of 10_000 and a tenth of the token's lifetime }
   */
  staleIfError?:
    | boolean
    | {
        /**
         * Least time a stale token must have left before `expiresAt` to be handed out, in ms.
         * @default the smaller of 10_000 and a tenth of the token's lifetime
         */
        minRemaining?: Milliseconds;
      };
  /**
   * Lifetime assumed when a response has no `expires_in` and the token is not a JWT with `exp`.
   * @default 300_000
   */
  defaultLifetime?: Milliseconds | undefined;
  /**
   * `{ max, store }` for the in-memory cache and an optional shared {@link TokenStore} (e.g. Redis) consulted
   * after it on a miss; a TokenStore alone means `{ max: 1000, store }`. A store that throws or times out is reported through `onError` and treated as
   * a miss.
   * @default { max: 1000 }
   */
  cache?: MemoryCacheOptions | TokenStore | undefined;
  /**
   * Longest wait for one TokenStore call, in ms.
   * @default 1_000
   */
  storeTimeout?: Milliseconds | undefined;
  /**
   * Longest time for one HTTP attempt (connect, headers and body), in ms.
   * @default 10_000
   */
  timeout?: Milliseconds | undefined;
  /**
   * Longest time for all attempts and backoff waits of one token request together, in ms.
   * @default 30_000
   */
  totalTimeout?: Milliseconds | undefined;
  /**
   * Retry policy for network errors, 408, 429 and 5xx; `false` for a single attempt. OAuth errors such as
   * `invalid_client` are never retried.
   * @default { retries: 3, baseDelay: 200, maxDelay: 10_000, maxRetryAfter: 30_000 }
   */
  retry?: RetryOptions | false | undefined;
  /**
   * undici dispatcher for the token requests (a `ProxyAgent`, `EnvHttpProxyAgent`, or an `Agent` with TLS
   * options), of whichever undici version the application uses: see {@link DispatcherLike}. The client does not
   * close a dispatcher it was given. Not together with `proxy` or `tls`.
   * @default undefined (Node's own `node:http`/`node:https`, through keep-alive Agents the client owns and `close()` closes)
   */
  dispatcher?: DispatcherLike | undefined;
  /**
   * Product token put before `m2m-token/{version}` in the `User-Agent` header, e.g. `billing-service/2.1`.
   * @default undefined (`User-Agent: m2m-token/{version} node/{version}`)
   */
  userAgent?: string | undefined;
  /**
   * Allow an `http:` token endpoint on a host that is not loopback. The client secret then crosses the network
   * in clear: only for closed test networks.
   * @default false
   */
  allowInsecureHttp?: boolean | undefined;
  /**
   * Called with problems the client worked around: store failures, failed background refreshes, stale tokens
   * handed out during an outage, Auth0 quota warnings and blocks. An `onError` that throws is ignored.
   * @default a `process.emitWarning` of type `M2MTokenWarning` with the error's code
   */
  onError?: ((event: TokenClientErrorEvent) => void) | undefined;
  /** Time source, for tests. @default Date.now */
  clock?: Clock | undefined;
  /**
   * How `client_secret_basic` puts clientId and clientSecret in the `Authorization` header: `'form-urlencoded'`
   * first, as RFC 6749 §2.3.1 requires, or `'raw'` for servers that do not decode them (they then refuse a secret
   * with `+`, `%`, `:`, spaces or non-ASCII characters).
   * @default 'form-urlencoded'
   */
  basicCredentialEncoding?: BasicCredentialEncoding | undefined;
  /**
   * Forward proxy for the client's own HTTP Agents: `'env'` (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`, read at
   * construction), a proxy URL (`http://user:password@proxy.internal:3128`), or `false` (never). Not together
   * with `dispatcher`, which decides its own route.
   * @default `'env'` when Node is told to use the proxy variables (`NODE_USE_ENV_PROXY=1` or `--use-env-proxy`), else `false`
   */
  proxy?: ProxyOption | undefined;
  /**
   * Auth0 token quotas (the `Auth0-Client-Quota-Limit` / `Auth0-Organization-Quota-Limit` headers, read on every
   * response). `warnBelow`: report through `onError` (type `'quota'`) once when a bucket's remaining tokens fall
   * below this fraction of its limit (`false` or `0`: never). `block`: after a 429 that says a bucket is used up,
   * send no request for the keys it covers until it resets (the application's bucket: every key; an
   * organization's: that organization's keys); their calls fail fast with `M2M_QUOTA_EXCEEDED` unless a still-valid
   * cached token can be served. `false` turns both off.
   * @default { warnBelow: 0.1, block: true }
   */
  quota?: boolean | QuotaOptions | undefined;
  /**
   * Sender-constrained tokens, DPoP (RFC 9449): every token request carries a proof signed with this key, the
   * server binds the token to the key (`token_type: DPoP`), and the adapters (or `getRequestHeaders()`) send a
   * fresh proof with every API call. `true` generates a key in memory for this client; `{ key }` uses yours (the
   * same key in every process lets a shared store share one token per fleet). See `docs/dpop.md`.
   * @default off
   */
  dpop?: boolean | DpopOptions | undefined;
}

/** Options of Auth0 token quota handling; see {@link TokenClientOptions.quota}. */
export interface QuotaOptions {
  /** @default 0.1 */
  warnBelow?: number | false | undefined;
  /** @default true */
  block?: boolean | undefined;
}

/** The three ways to say where tokens come from, each documented; exactly one of them is given. */
export interface TokenEndpointFields {
  /**
   * Auth0 tenant domain, e.g. `tenant.auth0.com` or `tenant.eu.auth0.com`: the token endpoint is
   * `https://{domain}/oauth/token`. Give one of `domain`, `tokenEndpoint` and `issuer`.
   */
  domain?: string | undefined;
  /**
   * Full token endpoint URL of any RFC 6749 server, e.g. `https://as.example.com/oauth2/token`. Give one of
   * `domain`, `tokenEndpoint` and `issuer`.
   */
  tokenEndpoint?: string | URL | undefined;
  /**
   * Issuer identifier of any RFC 8414 / OpenID Connect server, e.g. `https://login.example.com/realms/acme`:
   * the token endpoint and the supported authentication methods come from its metadata. Give one of `domain`,
   * `tokenEndpoint` and `issuer`.
   */
  issuer?: string | URL | undefined;
}

/** Tokens from an Auth0 tenant: `domain`, and neither `tokenEndpoint` nor `issuer`. */
export interface DomainEndpointOptions extends TokenEndpointFields {
  /**
   * Auth0 tenant domain, e.g. `tenant.auth0.com` or `tenant.eu.auth0.com`: the token endpoint is
   * `https://{domain}/oauth/token`. Give one of `domain`, `tokenEndpoint` and `issuer`.
   */
  domain: string;
  /** Not with `domain`: give one of `domain`, `tokenEndpoint` and `issuer`. */
  tokenEndpoint?: undefined;
  /** Not with `domain`: give one of `domain`, `tokenEndpoint` and `issuer`. */
  issuer?: undefined;
}

/** Tokens from a known token endpoint URL: `tokenEndpoint`, and neither `domain` nor `issuer`. */
export interface UrlEndpointOptions extends TokenEndpointFields {
  /** Not with `tokenEndpoint`: give one of `domain`, `tokenEndpoint` and `issuer`. */
  domain?: undefined;
  /**
   * Full token endpoint URL of any RFC 6749 server, e.g. `https://as.example.com/oauth2/token`. Give one of
   * `domain`, `tokenEndpoint` and `issuer`.
   */
  tokenEndpoint: string | URL;
  /** Not with `tokenEndpoint`: give one of `domain`, `tokenEndpoint` and `issuer`. */
  issuer?: undefined;
}

/** Tokens from the endpoint an issuer's metadata names: `issuer`, and neither `domain` nor `tokenEndpoint`. */
export interface IssuerEndpointOptions extends TokenEndpointFields {
  /** Not with `issuer`: give one of `domain`, `tokenEndpoint` and `issuer`. */
  domain?: undefined;
  /** Not with `issuer`: give one of `domain`, `tokenEndpoint` and `issuer`. */
  tokenEndpoint?: undefined;
  /**
   * Issuer identifier of any RFC 8414 / OpenID Connect server, e.g. `https://login.example.com/realms/acme`:
   * the token endpoint and the supported authentication methods come from its metadata. Give one of `domain`,
   * `tokenEndpoint` and `issuer`.
   */
  issuer: string | URL;
}

/** Where tokens come from: exactly one of `domain`, `tokenEndpoint` and `issuer`. */
export type TokenEndpointOptions = DomainEndpointOptions | UrlEndpointOptions | IssuerEndpointOptions;

/** The three credentials, each documented; at least one of them is given, and several may be. */
export interface ClientCredentialFields {
  /** The client secret, for `client_secret_post`, `client_secret_basic` and `client_secret_jwt`. */
  clientSecret?: string | undefined;
  /** The signing key for `private_key_jwt` (RFC 7523): `{ key, kid?, alg?, audience? }`. */
  clientAssertion?: ClientAssertionOptions | undefined;
  /**
   * Client certificate for mutual TLS (RFC 8705 `tls_client_auth`, `self_signed_tls_client_auth`):
   * `{ cert, key, ca?, passphrase? }` as PEM. The client's own undici Agent presents it.
   */
  tls?: TlsCredentials | undefined;
}

/** Authentication with a client secret (and possibly other credentials too). */
export interface ClientSecretCredentials extends ClientCredentialFields {
  /** The client secret, for `client_secret_post`, `client_secret_basic` and `client_secret_jwt`. */
  clientSecret: string;
}

/** Authentication with a signed JWT assertion, `private_key_jwt` (and possibly other credentials too). */
export interface ClientAssertionCredentials extends ClientCredentialFields {
  /** The signing key for `private_key_jwt` (RFC 7523): `{ key, kid?, alg?, audience? }`. */
  clientAssertion: ClientAssertionOptions;
}

/** Authentication with a client certificate, mutual TLS (and possibly other credentials too). */
export interface TlsClientCredentials extends ClientCredentialFields {
  /**
   * Client certificate for mutual TLS (RFC 8705 `tls_client_auth`, `self_signed_tls_client_auth`):
   * `{ cert, key, ca?, passphrase? }` as PEM. The client's own undici Agent presents it.
   */
  tls: TlsCredentials;
}

/** How the client proves who it is: at least one of `clientSecret`, `clientAssertion` and `tls`. */
export type ClientCredentialOptions = ClientSecretCredentials | ClientAssertionCredentials | TlsClientCredentials;

/**
 * Options of `new TokenClient(options)`: `clientId`, exactly one endpoint (`domain`, `tokenEndpoint` or `issuer`),
 * at least one credential (`clientSecret`, `clientAssertion` or `tls`), and any of {@link TokenClientBaseOptions}.
 * Other combinations are type errors, and are refused at run time too, with a `ConfigurationError` naming the
 * option. Optional options also take `undefined`, which means "not given".
 *
 * ```ts
 * new TokenClient({ domain: 'tenant.auth0.com', clientId, clientSecret, audience: process.env.AUDIENCE });
 * new TokenClient({ issuer: 'https://login.example.com/realms/acme', clientId, clientAssertion: { key: pem } });
 * ```
 */
export type TokenClientOptions = TokenClientBaseOptions & TokenEndpointOptions & ClientCredentialOptions;

export interface ResolvedRetry {
  retries: number;
  baseDelay: Milliseconds;
  maxDelay: Milliseconds;
  maxRetryAfter: Milliseconds;
}

/** Where tokens come from: a known URL, or an issuer whose metadata names it. */
export type ResolvedEndpoint =
  | {
      kind: 'static';
      url: URL;
      /** Default `aud` of client assertions: the issuer for Auth0 (`https://{domain}/`), else the endpoint URL. */
      assertionAudience: string;
      /** Identifies the server in cache keys. */
      id: string;
    }
  | { kind: 'issuer'; issuer: string; id: string };

export interface ResolvedOptions {
  endpoint: ResolvedEndpoint;
  credentials: Credentials;
  /** The chosen method; undefined with an issuer and no explicit choice (it comes from the metadata). */
  clientAuthentication: ClientAuthentication | undefined;
  allowInsecureHttp: boolean;
  defaults: TokenParams;
  allowedTokenTypes: readonly string[];
  expiry: { leeway: Milliseconds; refreshAhead: Milliseconds; defaultLifetime: Milliseconds };
  /** Stale-if-error: off, or on with a fixed `minRemaining` (ms) or the default (undefined: per token). */
  staleIfError: false | { minRemaining: Milliseconds | undefined };
  cache: { max: number; store: TokenStore | undefined; storeTimeout: Milliseconds };
  transport: {
    timeout: Milliseconds;
    totalTimeout: Milliseconds;
    retry: ResolvedRetry;
    dispatcher: Dispatcher | undefined;
    tls: TlsCredentials | undefined;
    userAgent: string | undefined;
    /** Forward proxies for the client's own Agents (none with a dispatcher). */
    proxy: ProxySettings | undefined;
  };
  onError: ((event: TokenClientErrorEvent) => void) | undefined;
  clock: Clock;
  quota: ResolvedQuota;
  /** DPoP: the key (read, with its thumbprint) and the algorithms it may use; undefined without DPoP. */
  dpop: ResolvedDpop | undefined;
}

const KNOWN_OPTIONS = new Set<string>([
  'domain', 'tokenEndpoint', 'issuer', 'clientId', 'clientSecret', 'clientAssertion', 'tls', 'clientAuthentication',
  'audience', 'organization',
  'scope', 'resource', 'extraParams', 'allowedTokenTypes', 'expiryLeeway', 'refreshAhead', 'defaultLifetime', 'staleIfError',
  'cache', 'storeTimeout', 'timeout', 'totalTimeout', 'retry', 'dispatcher', 'userAgent', 'allowInsecureHttp',
  'onError', 'clock', 'quota',
  'basicCredentialEncoding', 'proxy', 'dpop',
]);
const DEFAULT_RETRY: ResolvedRetry = { retries: 3, baseDelay: 200, maxDelay: 10_000, maxRetryAfter: 30_000 };

/** Validates every option once, at construction, and fills the defaults. Errors name the option. */
export function resolveOptions(options: TokenClientOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw new ConfigurationError('options', 'pass an options object: new TokenClient({ domain, clientId, clientSecret })');
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw new ConfigurationError(key, 'unknown option; check its spelling against docs/options.md');
  }
  const allowInsecureHttp = optionalBoolean(options.allowInsecureHttp, 'allowInsecureHttp') ?? false;
  const credentials = resolveCredentials(options);
  const endpoint = resolveEndpoint(options, allowInsecureHttp);
  const dispatcher = resolveDispatcher(options.dispatcher);
  if (credentials.tls && dispatcher) {
    throw new ConfigurationError('tls', 'give the client certificate either as tls or inside your own dispatcher, not both');
  }
  let clientAuthentication: ClientAuthentication | undefined;
  if (options.clientAuthentication !== undefined) clientAuthentication = checkMethod(options.clientAuthentication, credentials);
  else if (endpoint.kind === 'static') clientAuthentication = chooseMethod(credentials, undefined);

  // An option left out takes its default here, without calling its resolver: a cold start compiles every function it
  // calls, and most clients give few options (2.5 M instructions of a first token, bench:instructions).
  const refreshAhead = options.refreshAhead === false ? 0 : duration(options.refreshAhead, 'refreshAhead', 300_000);
  const cache = resolveCache(options.cache, duration(options.storeTimeout, 'storeTimeout', 1_000, { min: 1 }));
  const dpop = options.dpop === undefined ? undefined : resolveDpop(options.dpop);
  if (dpop?.given === undefined && dpop !== undefined && cache.store !== undefined) {
    throw new ConfigurationError(
      'dpop.key',
      'is required with a shared store (cache.store): a generated key lives in one process, so no other process could use its tokens; give every process the same key to share one token per fleet',
    );
  }
  const allowedTokenTypes = resolveTokenTypes(options.allowedTokenTypes);
  if (allowedTokenTypes.includes('dpop')) {
    throw new ConfigurationError('allowedTokenTypes', 'lists DPoP: DPoP tokens need a proof with every request; give the dpop option instead');
  }

  return {
    endpoint,
    credentials,
    clientAuthentication,
    allowInsecureHttp,
    defaults: normalizeTokenParams(options, ''),
    allowedTokenTypes,
    expiry: {
      leeway: duration(options.expiryLeeway, 'expiryLeeway', 60_000),
      refreshAhead,
      defaultLifetime: duration(options.defaultLifetime, 'defaultLifetime', 300_000, { min: 1 }),
    },
    staleIfError: options.staleIfError === undefined ? DEFAULT_STALE_IF_ERROR : resolveStaleIfError(options.staleIfError),
    cache,
    transport: {
      proxy: resolveProxy(options.proxy, dispatcher !== undefined),
      timeout: duration(options.timeout, 'timeout', 10_000, { min: 1 }),
      totalTimeout: duration(options.totalTimeout, 'totalTimeout', 30_000, { min: 1 }),
      retry: options.retry === undefined ? DEFAULT_RETRY : resolveRetry(options.retry),
      dispatcher,
      tls: credentials.tls ? options.tls : undefined,
      userAgent: options.userAgent === undefined ? undefined : headerValue(options.userAgent, 'userAgent'),
    },
    onError: optionalFunction(options.onError, 'onError'),
    clock: resolveClock(options.clock),
    quota: options.quota === undefined ? DEFAULT_QUOTA : resolveQuota(options.quota),
    dpop,
  };
}

const DEFAULT_QUOTA: ResolvedQuota = { warnBelow: 0.1, block: true };

function resolveQuota(value: unknown): ResolvedQuota {
  if (value === true) return DEFAULT_QUOTA;
  if (value === false) return { warnBelow: 0, block: false };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigurationError('quota', 'must be false or { warnBelow, block }');
  }
  for (const key of Object.keys(value)) {
    if (key !== 'warnBelow' && key !== 'block') throw new ConfigurationError(`quota.${key}`, 'unknown option; quota takes { warnBelow, block }');
  }
  const { warnBelow, block } = value as QuotaOptions;
  if (warnBelow !== undefined && warnBelow !== false && !(typeof warnBelow === 'number' && warnBelow >= 0 && warnBelow <= 1)) {
    throw new ConfigurationError('quota.warnBelow', `must be a fraction from 0 to 1 (0.1 warns below 10% left) or false, got ${String(warnBelow)}`);
  }
  return { warnBelow: warnBelow === undefined ? 0.1 : warnBelow === false ? 0 : warnBelow, block: optionalBoolean(block, 'quota.block') ?? true };
}

function resolveEndpoint(options: TokenClientOptions, allowInsecureHttp: boolean): ResolvedEndpoint {
  const { domain, tokenEndpoint, issuer } = options;
  const given = [domain !== undefined && 'domain', tokenEndpoint !== undefined && 'tokenEndpoint', issuer !== undefined && 'issuer'].filter(Boolean);
  if (given.length > 1) throw new ConfigurationError(given[0] as string, `give one of domain, tokenEndpoint and issuer, not ${given.join(' and ')}`);
  if (domain !== undefined) {
    const text = requiredString(domain, 'domain');
    const parsed = parseUrl(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`, 'domain');
    if ((parsed.pathname !== '/' && parsed.pathname !== '') || parsed.search || parsed.hash) {
      throw new ConfigurationError('domain', 'must be a host name such as tenant.auth0.com, without a path; use tokenEndpoint for a full URL');
    }
    const url = new URL('/oauth/token', parsed);
    checkEndpointUrl(url, 'domain', allowInsecureHttp);
    return { kind: 'static', url, assertionAudience: `${parsed.origin}/`, id: url.href };
  }
  if (tokenEndpoint !== undefined) {
    const text = tokenEndpoint instanceof URL ? tokenEndpoint.href : requiredString(tokenEndpoint, 'tokenEndpoint');
    const url = parseUrl(text, 'tokenEndpoint');
    if (url.hash) throw new ConfigurationError('tokenEndpoint', 'must not have a #fragment');
    checkEndpointUrl(url, 'tokenEndpoint', allowInsecureHttp);
    return { kind: 'static', url, assertionAudience: url.href, id: url.href };
  }
  if (issuer !== undefined) {
    const text = issuer instanceof URL ? issuer.href : requiredString(issuer, 'issuer');
    const url = parseUrl(text, 'issuer');
    if (url.search || url.hash) throw new ConfigurationError('issuer', 'must not have a query or a #fragment (RFC 8414 §2)');
    checkEndpointUrl(url, 'issuer', allowInsecureHttp);
    return { kind: 'issuer', issuer: text, id: `issuer:${text}` };
  }
  throw new ConfigurationError(
    'domain',
    'give domain (an Auth0 tenant such as tenant.auth0.com), tokenEndpoint (a full URL) or issuer (for metadata discovery)',
  );
}

function resolveCredentials(options: TokenClientOptions): Credentials {
  const clientId = requiredString(options.clientId, 'clientId');
  if (!clientId.isWellFormed()) throw new ConfigurationError('clientId', 'is not well-formed Unicode (it has a lone surrogate)');
  const { clientSecret } = options;
  if (clientSecret !== undefined && (typeof clientSecret !== 'string' || clientSecret.trim() === '')) {
    // Whitespace only is an unset environment variable with a stray space or newline, not a secret.
    throw new ConfigurationError('clientSecret', 'must be a non-empty string (not only whitespace)');
  }
  // A lone surrogate cannot be encoded (form body, Basic header, HMAC key): refuse it here, not as a URIError later.
  if (clientSecret !== undefined && !clientSecret.isWellFormed()) {
    throw new ConfigurationError('clientSecret', 'is not well-formed Unicode (it has a lone surrogate); check how it was read');
  }
  const credentials: Credentials = {
    clientId,
    clientSecret,
    assertion: options.clientAssertion === undefined ? undefined : resolveAssertionKey(options.clientAssertion, clientSecret),
    tls: options.tls !== undefined && resolveTls(options.tls),
    basicEncoding: options.basicCredentialEncoding === undefined ? 'form-urlencoded' : resolveBasicEncoding(options.basicCredentialEncoding, clientId, clientSecret),
  };
  if (credentials.clientSecret === undefined && credentials.assertion === undefined && !credentials.tls) {
    throw new ConfigurationError('clientSecret', 'is required: give clientSecret, clientAssertion (private_key_jwt) or tls (mTLS)');
  }
  return credentials;
}

function resolveTls(value: unknown): true {
  const tls = value as Partial<TlsCredentials> | null;
  if (tls === null || typeof tls !== 'object' || tls.cert === undefined || tls.key === undefined) {
    throw new ConfigurationError('tls', 'must be { cert, key, ca?, passphrase? } with the client certificate and its private key as PEM');
  }
  for (const name of Object.keys(tls)) {
    if (!['cert', 'key', 'ca', 'passphrase'].includes(name)) throw new ConfigurationError(`tls.${name}`, 'unknown option; tls takes cert, key, ca, passphrase');
  }
  try {
    // node:tls is loaded only here: it is a large part of import time for everyone else.
    process.getBuiltinModule('node:tls').createSecureContext(tls as TlsCredentials);
  } catch (error) {
    // The reason only, never the input: it is key material.
    const code = (error as { code?: unknown }).code;
    throw new ConfigurationError('tls', `could not be loaded (${typeof code === 'string' ? code : 'unreadable'}); check that cert and key are PEM and belong together, and the passphrase`);
  }
  return true;
}

function parseUrl(text: string, option: string): URL {
  // The URL parser silently drops tabs and newlines: 'ten\nant.example.com' would become another host name.
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
  if (/[\x00-\x20\x7f]/.test(text)) {
    throw new ConfigurationError(option, 'must not contain spaces, tabs, newlines or other control characters');
  }
  try {
    return new URL(text);
  } catch {
    throw new ConfigurationError(option, 'is not a valid URL or host name');
  }
}

export function checkEndpointUrl(url: URL, option: string, allowInsecureHttp: boolean): void {
  if (url.username || url.password) {
    throw new ConfigurationError(option, 'must not contain credentials; use clientId and clientSecret');
  }
  if (url.protocol === 'https:') return;
  if (url.protocol !== 'http:') throw new ConfigurationError(option, `must be an https: URL, got ${url.protocol}`);
  if (!allowInsecureHttp && !isLoopback(url.hostname)) {
    throw new ConfigurationError(
      option,
      `http: on ${url.hostname} would send the client secret in clear; use https:, or set allowInsecureHttp: true on a closed test network`,
    );
  }
}

export function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

function resolveTokenTypes(value: unknown): readonly string[] {
  if (value === undefined) return ['bearer'];
  if (!Array.isArray(value) || !value.every((t) => typeof t === 'string' && t !== '')) {
    throw new ConfigurationError('allowedTokenTypes', 'must be an array of token type names');
  }
  return ['bearer', ...value.map((t: string) => t.toLowerCase())];
}

function resolveCache(value: unknown, storeTimeout: Milliseconds): ResolvedOptions['cache'] {
  if (value === undefined) return { max: 1000, store: undefined, storeTimeout };
  if (isTokenStore(value)) return { max: 1000, store: value, storeTimeout };
  if (value === null || typeof value !== 'object') {
    throw new ConfigurationError('cache', 'must be { max } or a TokenStore with get, set and delete methods');
  }
  const { max, store } = value as MemoryCacheOptions;
  for (const key of Object.keys(value)) {
    if (key !== 'max' && key !== 'store') throw new ConfigurationError(`cache.${key}`, 'unknown option; cache takes { max, store } or a TokenStore');
  }
  if (store !== undefined && !isTokenStore(store)) {
    throw new ConfigurationError('cache.store', 'must be a TokenStore with get, set and delete methods');
  }
  if (max !== undefined && (!Number.isInteger(max) || max < 1)) {
    throw new ConfigurationError('cache.max', `must be a whole number ≥ 1, got ${String(max)}`);
  }
  return { max: max ?? 1000, store, storeTimeout };
}

const DEFAULT_STALE_IF_ERROR: ResolvedOptions['staleIfError'] = { minRemaining: undefined };

function resolveStaleIfError(value: unknown): ResolvedOptions['staleIfError'] {
  if (value === true) return DEFAULT_STALE_IF_ERROR;
  if (value === false) return false;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigurationError('staleIfError', 'must be true, false or { minRemaining } (milliseconds)');
  }
  for (const key of Object.keys(value)) {
    if (key !== 'minRemaining') throw new ConfigurationError(`staleIfError.${key}`, 'unknown option; staleIfError takes { minRemaining }');
  }
  const { minRemaining } = value as { minRemaining?: unknown };
  return { minRemaining: minRemaining === undefined ? undefined : duration(minRemaining, 'staleIfError.minRemaining', 0) };
}

function resolveRetry(value: unknown): ResolvedRetry {
  if (value === true) return DEFAULT_RETRY;
  if (value === false) return { ...DEFAULT_RETRY, retries: 0 };
  if (value === null || typeof value !== 'object') throw new ConfigurationError('retry', 'must be false or { retries, baseDelay, maxDelay, maxRetryAfter }');
  const r = value as RetryOptions;
  for (const key of Object.keys(r)) {
    if (!(key in DEFAULT_RETRY)) throw new ConfigurationError(`retry.${key}`, 'unknown option; retry takes retries, baseDelay, maxDelay, maxRetryAfter');
  }
  if (r.retries !== undefined && (!Number.isInteger(r.retries) || r.retries < 0 || r.retries > 20)) {
    throw new ConfigurationError('retry.retries', `must be a whole number from 0 to 20, got ${String(r.retries)}`);
  }
  return {
    retries: r.retries ?? DEFAULT_RETRY.retries,
    baseDelay: duration(r.baseDelay, 'retry.baseDelay', DEFAULT_RETRY.baseDelay),
    maxDelay: duration(r.maxDelay, 'retry.maxDelay', DEFAULT_RETRY.maxDelay),
    maxRetryAfter: duration(r.maxRetryAfter, 'retry.maxRetryAfter', DEFAULT_RETRY.maxRetryAfter),
  };
}

// The public type is structural (DispatcherLike), so that the core's declarations need no undici types; inside,
// the transport is typed with undici's own.
function resolveDispatcher(value: unknown): Dispatcher | undefined {
  if (value === undefined) return undefined;
  // dispatch() is what the client calls: an object without it would only fail at the first request.
  if (value === null || typeof value !== 'object' || typeof (value as Partial<DispatcherLike>).dispatch !== 'function') {
    throw new ConfigurationError('dispatcher', 'must be an undici Dispatcher (Agent, ProxyAgent, EnvHttpProxyAgent, …) with a dispatch() method');
  }
  return value as Dispatcher;
}

function resolveClock(value: unknown): Clock {
  if (value === undefined) return systemClock;
  if (value === null || typeof (value as Clock).now !== 'function') {
    throw new ConfigurationError('clock', 'must be an object with a now() method returning epoch milliseconds');
  }
  return value as Clock;
}

// The longest delay setTimeout can hold (about 24.8 days); past it, Node fires at once.
const MAX_DURATION = 2_147_483_647;

/** A duration in ms: a finite number ≥ min (0 unless said), at most MAX_DURATION. */
function duration(value: unknown, option: string, fallback: Milliseconds, { min = 0 } = {}): Milliseconds {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > MAX_DURATION) {
    const hint = typeof value === 'string' ? ' (durations are numbers of milliseconds, e.g. 10_000)' : '';
    throw new ConfigurationError(option, `must be a number of milliseconds from ${min} to ${MAX_DURATION} (about 24.8 days), got ${typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value))}${hint}`);
  }
  return value;
}

/** A string that can go in an HTTP header value as is: printable ASCII, no CR/LF (which would split the request). */
function headerValue(value: unknown, option: string): string {
  const text = requiredString(value, option);
  if (!/^[\x20-\x7e]+$/.test(text)) throw new ConfigurationError(option, 'must be printable ASCII without newlines or control characters (it is sent as an HTTP header)');
  return text;
}

export function requiredString(value: unknown, option: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigurationError(option, value === undefined ? 'is required' : 'must be a non-empty string');
  }
  return value;
}

function optionalBoolean(value: unknown, option: string): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  throw new ConfigurationError(option, 'must be true or false');
}

function optionalFunction<T>(value: T | undefined, option: string): T | undefined {
  if (value === undefined || typeof value === 'function') return value;
  throw new ConfigurationError(option, 'must be a function');
}

const CALL_OPTIONS = ['audience', 'organization', 'scope', 'resource', 'extraParams', 'forceRefresh', 'signal'];

/** Checks the shape of per-call options (names and types); the values are checked where they are normalized. */
export function checkCallOptions(options: GetTokenOptions): void {
  if (options === null || typeof options !== 'object') {
    throw new ConfigurationError('getToken', 'options must be an object such as { audience }');
  }
  for (const name in options) {
    switch (name) {
      case 'audience': case 'organization': case 'scope': case 'resource': case 'extraParams': case 'forceRefresh': case 'signal':
        continue;
      default:
        throw new ConfigurationError(`getToken.${name}`, `unknown option; getToken takes ${CALL_OPTIONS.join(', ')}`);
    }
  }
  const { signal } = options;
  // Duck-typed so a signal from another realm or a polyfill works.
  if (signal !== undefined && (signal === null || typeof signal.addEventListener !== 'function' || typeof signal.aborted !== 'boolean')) {
    throw new ConfigurationError('getToken.signal', 'must be an AbortSignal');
  }
  if (options.forceRefresh !== undefined && typeof options.forceRefresh !== 'boolean') {
    throw new ConfigurationError('getToken.forceRefresh', 'must be true or false');
  }
}
