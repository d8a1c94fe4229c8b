/**
 * `m2m-token/axios`: {@link attachTokens} adds interceptors to an axios instance so that requests to the origins you
 * list carry a token, and a 401 renews it once.
 *
 * @module m2m-token/axios
 */
// m2m-token/axios: interceptors that add Authorization for the origins you configured and renew the token once
// when the API answers 401. axios is an optional peer dependency: only its types are used here, so this entry
// never loads axios itself; it works on the instance you pass.
import { ConfigurationError, type Token, type TokenSource } from 'm2m-token';
import type { AxiosInstance, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import type { TokenAdapterOptions, TokenTarget } from '../adapters/options.js';
import { isDpopToken, isNonceChallenge } from '../adapters/dpop.js';
import { answeredBy, asAbortSignal, isReplayableBody, originOf, shouldRenew } from '../adapters/policy.js';
import { AdapterTokens } from '../adapters/tokens.js';
import { headerText } from '../adapters/www-authenticate.js';
import { REDACTED_AUTHORIZATION, redactAxiosError, restoreTransport, type RequestSummary } from './redact.js';

export type { RenewOn, TokenAdapterOptions, TokenTarget } from '../adapters/options.js';

// What the request interceptor attached, kept on the config for the response interceptor. A symbol, enumerable
// so a later interceptor that copies the config ({ ...config }) keeps it. axios's mergeConfig drops symbols
// before 1.19 and copies them since, so after401 deletes it before a replay either way.
const kSent = Symbol('m2m-token.sent');
// Set on every config that carries a token this adapter put there (first attempts and replays) and kept after
// the 401 decision: an AxiosError for such a config is redacted before it leaves the adapter.
const kRedact = Symbol('m2m-token.redact');

interface Sent {
  target: TokenTarget;
  token: Token;
  /** The origin the token was sent to. */
  origin: string;
  /** The request's URL and method: a DPoP proof for a replay names them. */
  url: string;
  method: string;
}

type TrackedConfig = InternalAxiosRequestConfig & { [kSent]?: Sent; [kRedact]?: true };

interface AxiosErrorLike {
  isAxiosError: true;
  config?: TrackedConfig;
  request?: unknown;
  response?: AxiosResponse;
}

/**
 * Adds two interceptors to an axios instance: the request interceptor sets `Authorization: Bearer …` from
 * `source` on requests to the configured origins; the response interceptor renews the token on a 401 and sends
 * the request once more. Returns a function that removes both.
 *
 * - Requests to other origins, and requests that already carry `Authorization` (also from
 *   `instance.defaults.headers`), pass through untouched.
 * - On a 401 (see `renewOn`) the token is invalidated and the request is sent once more with a new one, if its
 *   `data` can be sent again (not a stream). Otherwise the 401 error is returned and the next request gets a new
 *   token. Never more than one retry. At most one renewal per `renewInterval` for the same token parameters, and
 *   none for a 401 from another origin at the end of a redirect (it got no token).
 * - When no token can be had, the call rejects with the source's `TokenClientError` and nothing is sent. An
 *   aborted `signal` rejects with axios's own `CanceledError`.
 * - An `AxiosError` for a request that carried one of its tokens leads nowhere near it, through any property:
 *   `error.config` (and `error.response.config`) is a plain copy whose `headers.Authorization` reads
 *   `Bearer [REDACTED]`, without the transport objects (`httpAgent`, `httpsAgent`, `transport`, `fetchOptions`:
 *   an agent's sockets keep the last request's headers) and with a used-up stream body replaced by one that fails
 *   if sent. `error.request` (and `error.response.request`) is a non-enumerable `{ method, url }` in place of the
 *   raw request. `error.response` keeps its status, headers and data; a stream `data` is handed over through a
 *   new stream. Sending `error.config` again through this instance (as axios-retry does) gets a fresh token and
 *   the agents it was first sent with (axios 1.19+). Response interceptors added before `attachTokens` run first
 *   and still see the raw error. Successful responses are left as axios made them.
 *
 * Throws `ConfigurationError` for invalid options.
 *
 * @example
 * const api = axios.create({ baseURL: 'https://billing.internal' });
 * const detach = attachTokens(api, client, { targets: { 'https://billing.internal': { audience: 'https://billing' } } });
 */
export function attachTokens(instance: AxiosInstance, source: TokenSource, options: TokenAdapterOptions): () => void {
  const tokens = new AdapterTokens(source, options);
  if (typeof instance?.interceptors?.request?.use !== 'function' || typeof instance.request !== 'function') {
    throw new ConfigurationError('instance', 'must be an axios instance (axios.create() or the default axios)');
  }

  // The Authorization values of the replays this adapter is sending (value → how many): the request interceptor
  // marks those configs for redaction. kRedact alone cannot do it: instance.request() copies the config without
  // its symbols before axios 1.19, as does an interceptor that rebuilds the config.
  const resending = new Map<string, number>();
  const resend = async (config: InternalAxiosRequestConfig): Promise<AxiosResponse> => {
    const authorization = String(config.headers.get('Authorization'));
    resending.set(authorization, (resending.get(authorization) ?? 0) + 1);
    try {
      return await instance.request(config);
    } finally {
      const left = resending.get(authorization)! - 1;
      if (left > 0) resending.set(authorization, left);
      else resending.delete(authorization);
    }
  };

  const requestId = instance.interceptors.request.use(async (config: TrackedConfig) => {
    // A redacted error's config sent again: it goes out with the agents it was first sent with.
    restoreTransport(config, instance.defaults);
    if (config.headers.has('Authorization')) {
      const authorization = config.headers.get('Authorization');
      // The config of an error this adapter redacted, sent again (as axios-retry does): it gets a real token.
      if (typeof authorization === 'string' && REDACTED_AUTHORIZATION.test(authorization)) {
        config.headers.delete('Authorization');
        // Its proof (redacted too) was for the old token: a fresh one comes with the new token.
        config.headers.delete('DPoP');
      } else {
        if (resending.has(String(authorization))) config[kRedact] = true;
        return config;
      }
    }
    const url = requestUrl(instance, config) ?? '';
    const target = tokens.targetFor(url);
    if (target === undefined) return config;
    const signal = asAbortSignal(config.signal);
    let token: Token;
    try {
      token = await tokens.get(target, signal);
    } catch (error) {
      // axios checks the signal before it sends anything and rejects with its CanceledError.
      if (signal?.aborted) return config;
      throw error;
    }
    const method = (config.method ?? 'get').toUpperCase();
    const { authorization, dpop } = await tokens.credentials(token, method, url);
    config.headers.set('Authorization', authorization);
    if (dpop !== undefined) config.headers.set('DPoP', dpop);
    config[kSent] = { target, token, origin: originOf(url)!, url, method };
    config[kRedact] = true;
    return config;
  });

  /** Renews and replays after a 401, or hands back what axios produced (`failure` rejects, else `response`). */
  const after401 = async (response: AxiosResponse, failure?: unknown): Promise<AxiosResponse> => {
    const config = response.config as TrackedConfig;
    const sent = config[kSent];
    // One renewal per request, whatever happens next.
    delete config[kSent];
    if (sent === undefined) return settle(response, failure);
    const wwwAuthenticate = headerText(response.headers['www-authenticate']);
    noteNonce(sent, response);
    // A DPoP nonce challenge: the nonce is remembered; the request goes once more with a proof that carries it.
    if (isNonceChallenge(sent.token, response.status, wwwAuthenticate, headerText(response.headers['dpop-nonce'])) && answeredBy(sent.origin, redirectHops(response))) {
      if (!isReplayableBody(config.data)) return settle(response, failure);
      return resend(await withCredentials(config, sent.token, sent));
    }
    if (!shouldRenew(tokens.config, response.status, wwwAuthenticate, sent.token)) return settle(response, failure);
    // A 401 from the end of a redirect to another origin: that origin got no token (follow-redirects drops
    // Authorization when the host changes), so renewing it would only cost a token request.
    if (!answeredBy(sent.origin, redirectHops(response))) return settle(response, failure);
    if (!isReplayableBody(config.data)) {
      await tokens.discard(sent.target, sent.token);
      return settle(response, failure);
    }
    const signal = asAbortSignal(config.signal);
    const renewal = tokens.renew(sent.target, sent.token, signal);
    // The token's key was renewed less than renewInterval ago: the 401 stands.
    if (renewal === undefined) return settle(response, failure);
    let fresh: Token;
    try {
      fresh = await renewal;
    } catch (error) {
      // Still carrying the old header, the request passes our interceptor untouched and axios rejects with
      // its CanceledError before sending (redacted: it carries the config).
      if (signal?.aborted) return resend(config);
      throw error;
    }
    // The replay carries its Authorization already, so the request interceptor leaves it alone and nothing
    // marks it for renewal: a second 401 is returned as is.
    return resend(await withCredentials(config, fresh, sent));
  };

  /** A copy of `config` for a replay with `token`: its Authorization, and a fresh DPoP proof for a DPoP token. */
  const withCredentials = async (config: TrackedConfig, token: Token, sent: Sent): Promise<InternalAxiosRequestConfig> => {
    const { authorization, dpop } = await tokens.credentials(token, sent.method, sent.url);
    const headers = config.headers.concat().set('Authorization', authorization);
    if (dpop === undefined) headers.delete('DPoP');
    else headers.set('DPoP', dpop);
    return { ...config, headers };
  };

  /** The `DPoP-Nonce` of a response to a request that carried a DPoP token: the next proofs carry it. */
  const noteNonce = (sent: Sent, response: AxiosResponse) => {
    if (isDpopToken(sent.token)) tokens.noteNonce(sent.token, sent.url, headerText(response.headers?.['dpop-nonce']));
  };

  /** Hands back what axios produced: `failure` (redacted) rejects, else `response`. */
  const settle = (response: AxiosResponse, failure: unknown): AxiosResponse => {
    if (failure !== undefined) throw redacted(instance, failure);
    return response;
  };

  const responseId = instance.interceptors.response.use(
    // A 401 arrives here only when validateStatus accepts it.
    (response) => {
      if (response.status === 401) return after401(response);
      const sent = (response.config as TrackedConfig)[kSent];
      if (sent !== undefined) noteNonce(sent, response);
      delete (response.config as TrackedConfig)[kSent];
      return response;
    },
    (error: unknown) => {
      const response = (error as { isAxiosError?: boolean; response?: AxiosResponse } | null)?.response;
      if ((error as { isAxiosError?: boolean } | null)?.isAxiosError === true && response?.status === 401) return after401(response, error);
      const sent = (response?.config as TrackedConfig | undefined)?.[kSent];
      if (sent !== undefined && response !== undefined) noteNonce(sent, response);
      throw redacted(instance, error);
    },
  );

  let attached = true;
  return () => {
    if (!attached) return;
    attached = false;
    instance.interceptors.request.eject(requestId);
    instance.interceptors.response.eject(responseId);
  };
}

/**
 * The URLs a response is known to have come through when axios followed redirects. axios's http adapter follows
 * them with follow-redirects, which puts the final URL on the last native response (`response.request.res`:
 * `responseUrl`; and each redirecting hop in `redirects`, with its `trackRedirects` option). Empty when the
 * adapter does not say (axios's fetch adapter): there only renewInterval bounds the renewals.
 */
function redirectHops(response: AxiosResponse): string[] {
  const res = (response.request as { res?: { redirects?: unknown; responseUrl?: unknown } } | null | undefined)?.res;
  const hops = Array.isArray(res?.redirects) ? res.redirects.map((hop: { url?: unknown } | null) => String(hop?.url)) : [];
  if (typeof res?.responseUrl === 'string') hops.push(res.responseUrl);
  return hops;
}

function requestUrl(instance: AxiosInstance, config: InternalAxiosRequestConfig): string | undefined {
  try {
    // getUri applies baseURL, allowAbsoluteUrls and params exactly as the request will.
    return instance.getUri(config);
  } catch {
    return undefined; // axios reports the bad URL itself
  }
}

/**
 * `error`, with the token taken out when it is an AxiosError for a config this adapter gave a token: see
 * `redactAxiosError`. Anything else, and the errors of requests whose Authorization is the caller's own, pass as
 * they are.
 */
function redacted(instance: AxiosInstance, error: unknown): unknown {
  if ((error as AxiosErrorLike | null)?.isAxiosError !== true) return error;
  const { config } = error as AxiosErrorLike;
  if (config?.[kRedact] !== true) return error;
  redactAxiosError(error as object, requestSummary(instance, config));
  return error;
}

/** What a redacted error keeps of its request: the method and the URL, without any user:password@. */
function requestSummary(instance: AxiosInstance, config: InternalAxiosRequestConfig): RequestSummary {
  const summary: { method: string; url?: string } = { method: (config.method ?? 'get').toUpperCase() };
  try {
    const url = new URL(requestUrl(instance, config) ?? '');
    url.username = '';
    url.password = '';
    summary.url = url.href;
  } catch {
    // no URL to show
  }
  return Object.freeze(summary);
}
