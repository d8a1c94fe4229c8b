// m2m-token/axios: interceptors that add Authorization for the origins you configured and renew the token once
// when the API answers 401. axios is an optional peer dependency: only its types are used here, so this entry
// never loads axios itself; it works on the instance you pass.
import { ConfigurationError, type Token, type TokenSource } from 'm2m-token';
import type { AxiosInstance, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import type { TokenAdapterOptions, TokenTarget } from '../adapters/options.js';
import { asAbortSignal, authorizationFor, isReplayableBody, shouldRenew } from '../adapters/policy.js';
import { AdapterTokens } from '../adapters/tokens.js';

export type { RenewOn, TokenAdapterOptions, TokenTarget } from '../adapters/options.js';

// What the request interceptor attached, kept on the config for the response interceptor. A symbol, enumerable
// so a later interceptor that copies the config ({ ...config }) keeps it; axios's mergeConfig drops it, so a
// replayed request starts without it.
const kSent = Symbol('m2m-token.sent');

interface Sent {
  target: TokenTarget;
  token: Token;
}

type TrackedConfig = InternalAxiosRequestConfig & { [kSent]?: Sent };

/**
 * Adds two interceptors to an axios instance: the request interceptor sets `Authorization: Bearer …` from
 * `source` on requests to the configured origins; the response interceptor renews the token on a 401 and sends
 * the request once more. Returns a function that removes both.
 *
 * - Requests to other origins, and requests that already carry `Authorization` (also from
 *   `instance.defaults.headers`), pass through untouched.
 * - On a 401 (see `renewOn`) the token is invalidated and the request is sent once more with a new one, if its
 *   `data` can be sent again (not a stream). Otherwise the 401 error is returned and the next request gets a new
 *   token. Never more than one retry.
 * - When no token can be had, the call rejects with the source's `TokenClientError` and nothing is sent. An
 *   aborted `signal` rejects with axios's own `CanceledError`.
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

  const requestId = instance.interceptors.request.use(async (config: TrackedConfig) => {
    const target = tokens.targetFor(requestUrl(instance, config) ?? '');
    if (target === undefined || config.headers.has('Authorization')) return config;
    const signal = asAbortSignal(config.signal);
    let token: Token;
    try {
      token = await tokens.get(target, signal);
    } catch (error) {
      // axios checks the signal before it sends anything and rejects with its CanceledError.
      if (signal?.aborted) return config;
      throw error;
    }
    config.headers.set('Authorization', authorizationFor(token));
    config[kSent] = { target, token };
    return config;
  });

  /** Renews and replays after a 401, or hands back what axios produced (`failure` rejects, else `response`). */
  const after401 = async (response: AxiosResponse, failure?: unknown): Promise<AxiosResponse> => {
    const config = response.config as TrackedConfig;
    const sent = config[kSent];
    // One renewal per request, whatever happens next.
    delete config[kSent];
    if (sent === undefined || !shouldRenew(tokens.config, response.status, headerText(response.headers['www-authenticate']), sent.token)) {
      return settle(response, failure);
    }
    if (!isReplayableBody(config.data)) {
      await tokens.discard(sent.target, sent.token);
      return settle(response, failure);
    }
    const signal = asAbortSignal(config.signal);
    let fresh: Token;
    try {
      fresh = await tokens.renew(sent.target, sent.token, signal);
    } catch (error) {
      // Still carrying the old header, the request passes our interceptor untouched and axios rejects with
      // its CanceledError before sending.
      if (signal?.aborted) return instance.request(config);
      throw error;
    }
    // The replay carries its Authorization already, so the request interceptor leaves it alone and nothing
    // marks it for renewal: a second 401 is returned as is.
    return instance.request({ ...config, headers: config.headers.concat().set('Authorization', authorizationFor(fresh)) });
  };

  const responseId = instance.interceptors.response.use(
    // A 401 arrives here only when validateStatus accepts it.
    (response) => (response.status === 401 ? after401(response) : response),
    (error: unknown) => {
      const response = (error as { isAxiosError?: boolean; response?: AxiosResponse } | null)?.response;
      if ((error as { isAxiosError?: boolean } | null)?.isAxiosError === true && response?.status === 401) return after401(response, error);
      throw error;
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

function requestUrl(instance: AxiosInstance, config: InternalAxiosRequestConfig): string | undefined {
  try {
    // getUri applies baseURL, allowAbsoluteUrls and params exactly as the request will.
    return instance.getUri(config);
  } catch {
    return undefined; // axios reports the bad URL itself
  }
}

function headerText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.join(', ');
  return undefined;
}

function settle(response: AxiosResponse, failure: unknown): AxiosResponse {
  if (failure !== undefined) throw failure;
  return response;
}
