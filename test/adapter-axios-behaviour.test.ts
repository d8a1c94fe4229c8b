// m2m-token/axios edge by edge, around a scripted axios adapter (no network): what reaches the "server", what the
// caller gets back, and what an AxiosError shows of the token. Each test names the behaviour a user relies on.
import { Readable } from 'node:stream';
import axios, { AxiosError, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import { describe, expect, it } from 'vitest';
import { createToken, type GetTokenOptions, type TokenSource } from 'm2m-token';
import { attachTokens } from 'm2m-token/axios';
import { dpopSource } from './helpers/dpop-source.js';

const API = 'https://api.example.com';

/** A source that issues tok-1, tok-2, … and records every call. */
function issuing(prefix = 'tok') {
  const calls: GetTokenOptions[] = [];
  let serial = 0;
  const source: TokenSource = {
    getToken: async (options = {}) => {
      calls.push(options);
      serial += 1;
      return createToken({ accessToken: `${prefix}-${serial}`, tokenType: 'Bearer', expiresIn: 60_000, expiresAt: Date.now() + 60_000 });
    },
    invalidate: () => undefined,
  };
  return { source, calls };
}

interface Sent {
  url: string;
  method: string;
  authorization: unknown;
  dpop: unknown;
}
type Reply = { status: number; request?: unknown; headers?: Record<string, string> };

/**
 * An axios instance whose adapter answers from a script (one reply per request, then 200), rejecting as axios's
 * own adapters do when validateStatus refuses the status. `gate`, when given, is awaited before each request is
 * answered.
 */
function scripted(replies: Reply[] = []) {
  const sent: Sent[] = [];
  const instance = axios.create({
    adapter: async (config: InternalAxiosRequestConfig) => {
      sent.push({ url: String(config.url), method: String(config.method), authorization: config.headers.get('Authorization'), dpop: config.headers.get('DPoP') });
      const reply = replies.shift() ?? { status: 200 };
      const response: AxiosResponse = { data: { ok: reply.status === 200 }, status: reply.status, statusText: String(reply.status), headers: reply.headers ?? {}, config, request: reply.request };
      if (config.validateStatus && !config.validateStatus(response.status)) {
        throw new AxiosError(`Request failed with status code ${reply.status}`, AxiosError.ERR_BAD_REQUEST, config, reply.request, response);
      }
      return response;
    },
  });
  return { instance, sent, replies };
}

async function failure(request: Promise<unknown>): Promise<AxiosError> {
  const error = await request.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(axios.isAxiosError(error)).toBe(true);
  return error as AxiosError;
}

describe('attachTokens: a token source that fails', () => {
  it('rejects with the source\'s own error and sends nothing, when the request has no signal', async () => {
    const { instance, sent } = scripted();
    const down = new Error('token endpoint down');
    attachTokens(instance, { getToken: () => Promise.reject(down) }, { anyOrigin: {} });
    await expect(instance.get(`${API}/x`)).rejects.toBe(down);
    expect(sent).toEqual([]);
  });
});

describe('attachTokens: a renewal that fails', () => {
  it('rejects with the source\'s error; the request is not sent again with the old token', async () => {
    const { instance, sent } = scripted([{ status: 401 }]);
    const down = new Error('token endpoint down');
    const source: TokenSource = {
      getToken: async (options) => (options?.forceRefresh ? Promise.reject(down) : createToken({ accessToken: 'tok-1', tokenType: 'Bearer', expiresIn: 60_000, expiresAt: Date.now() + 60_000 })),
      invalidate: () => undefined,
    };
    attachTokens(instance, source, { anyOrigin: {}, renewOn: 'any-401' });
    await expect(instance.get(`${API}/x`)).rejects.toBe(down);
    expect(sent).toHaveLength(1);
  });
});

describe('attachTokens: the hops a redirected response came through', () => {
  // axios's http adapter puts them on response.request.res (follow-redirects); other adapters put nothing there.
  const renewedWith = async (request: unknown) => {
    const { instance, sent } = scripted([{ status: 401, request }]);
    const { source, calls } = issuing();
    attachTokens(instance, source, { anyOrigin: {}, renewOn: 'any-401' });
    const outcome = await instance.get(`${API}/x`).then(
      (r) => r.status,
      (e: AxiosError) => e.response?.status,
    );
    return { outcome, sent: sent.map((s) => s.authorization), renewals: calls.filter((c) => c.forceRefresh).length };
  };

  it('no request object at all (a custom adapter): renewed and replayed', async () => {
    expect(await renewedWith(undefined)).toEqual({ outcome: 200, sent: ['Bearer tok-1', 'Bearer tok-2'], renewals: 1 });
    expect(await renewedWith(null)).toEqual({ outcome: 200, sent: ['Bearer tok-1', 'Bearer tok-2'], renewals: 1 });
  });

  it('hops on the same origin, with the final URL: renewed', async () => {
    const res = { redirects: [{ url: `${API}/a` }, { url: `${API}/b` }], responseUrl: `${API}/c` };
    expect(await renewedWith({ res })).toEqual({ outcome: 200, sent: ['Bearer tok-1', 'Bearer tok-2'], renewals: 1 });
  });

  it('only the final URL (no redirect list), on the same origin: renewed', async () => {
    expect(await renewedWith({ res: { responseUrl: `${API}/c` } })).toEqual({ outcome: 200, sent: ['Bearer tok-1', 'Bearer tok-2'], renewals: 1 });
  });

  it('a final URL on another origin, or a hop without a URL: the 401 stands, nothing renewed', async () => {
    expect(await renewedWith({ res: { responseUrl: 'https://elsewhere.example.com/c' } })).toEqual({ outcome: 401, sent: ['Bearer tok-1'], renewals: 0 });
    expect(await renewedWith({ res: { redirects: [null], responseUrl: `${API}/c` } })).toEqual({ outcome: 401, sent: ['Bearer tok-1'], renewals: 0 });
  });
});

describe('attachTokens: errors that are not axios\'s', () => {
  it('an earlier interceptor\'s own error carrying a 401 response passes as it is: no renewal, not redacted', async () => {
    const { instance, sent } = scripted([{ status: 401 }]);
    let thrown: (Error & { config?: unknown; response?: AxiosResponse }) | undefined;
    // Response interceptors run in the order they were added: this one sees the AxiosError before the adapter does.
    instance.interceptors.response.use(undefined, (error: AxiosError) => {
      thrown = Object.assign(new Error('wrapped'), { config: error.config, response: error.response });
      throw thrown;
    });
    const { source, calls } = issuing();
    attachTokens(instance, source, { anyOrigin: {}, renewOn: 'any-401' });
    const error = await instance.get(`${API}/x`).catch((e: unknown) => e);
    expect(error).toBe(thrown);
    expect(thrown!.config).toBe(thrown!.response!.config);
    expect((thrown!.config as InternalAxiosRequestConfig).headers.get('Authorization')).toBe('Bearer tok-1');
    expect(sent).toHaveLength(1);
    expect(calls.filter((c) => c.forceRefresh)).toEqual([]);
  });
});

describe('attachTokens: what a redacted error keeps of its request', () => {
  it('the method and the URL, without user:password@', async () => {
    // The raw request object an adapter hands axios: replaced by the summary.
    const { instance } = scripted([{ status: 500, request: { _header: 'POST /x HTTP/1.1' } }]);
    attachTokens(instance, issuing().source, { anyOrigin: {} });
    const error = await failure(instance.post('https://user:pass@api.example.com/x?q=1', 'body'));
    expect(error.request).toEqual({ method: 'POST', url: `${API}/x?q=1` });
  });
});

describe('attachTokens: detach', () => {
  it('a detached adapter no longer answers 401s, even for requests a later attachTokens on the same instance sends', async () => {
    const { instance, sent, replies } = scripted();
    const first = issuing('first');
    attachTokens(instance, first.source, { anyOrigin: {}, renewOn: 'any-401' })();
    const second = issuing('second');
    attachTokens(instance, second.source, { anyOrigin: {}, renewOn: 'any-401' });
    replies.push({ status: 401 });
    expect((await instance.get(`${API}/x`)).status).toBe(200);
    expect(sent.map((s) => s.authorization)).toEqual(['Bearer second-1', 'Bearer second-2']);
    expect(first.calls).toEqual([]);
  });
});

/** Rebuilds the config without its symbols, as some interceptors do ({ ...config } keeps them; this does not). */
function dropSymbols(config: InternalAxiosRequestConfig): InternalAxiosRequestConfig {
  const copy = {} as Record<string, unknown>;
  for (const key of Object.keys(config)) copy[key] = (config as unknown as Record<string, unknown>)[key];
  return copy as unknown as InternalAxiosRequestConfig;
}

describe('attachTokens: replays through an interceptor that rebuilds the config', () => {
  it('two replays with the same new token at once: both their errors are redacted, even when one starts after the other ended', async () => {
    // Both requests get a 401 for tok-1, share one renewal (tok-2), and their replays fail with a 500.
    const { instance, sent, replies } = scripted([{ status: 401 }, { status: 401 }, { status: 500 }, { status: 500 }]);
    // Every renewal brings the same new token, so both replays carry the same Authorization.
    const source: TokenSource = {
      getToken: async (options) => createToken({ accessToken: options?.forceRefresh ? 'tok-2' : 'tok-1', tokenType: 'Bearer', expiresIn: 60_000, expiresAt: Date.now() + 60_000 }),
    };
    attachTokens(instance, source, { anyOrigin: {}, renewOn: 'any-401', renewInterval: 0 });
    // Added after attachTokens, so it runs before the adapter's request interceptor. The replay of /b waits until
    // the replay of /a has failed.
    let aFailed!: () => void;
    const aDone = new Promise<void>((resolve) => (aFailed = resolve));
    instance.interceptors.request.use(async (config) => {
      if (config.url === `${API}/b` && config.headers.has('Authorization')) await aDone;
      return dropSymbols(config);
    });
    const a = failure(instance.get(`${API}/a`)).finally(() => aFailed());
    const b = failure(instance.get(`${API}/b`));
    for (const error of [await a, await b]) {
      expect(error.response?.status).toBe(500);
      expect(error.config?.headers.get('Authorization')).toBe('Bearer [REDACTED]');
      expect(JSON.stringify(error)).not.toContain('tok-');
    }
    expect(sent.map((s) => s.authorization)).toEqual(['Bearer tok-1', 'Bearer tok-1', 'Bearer tok-2', 'Bearer tok-2']);
    // Both over: the same value sent by the caller is the caller's own.
    replies.push({ status: 500 });
    const own = await failure(instance.get(`${API}/own`, { headers: { Authorization: 'Bearer tok-2' } }));
    expect(own.config?.headers.get('Authorization')).toBe('Bearer tok-2');
  });

  it('once the replays are over, a request that carries the same value as its own Authorization is the caller\'s: not redacted', async () => {
    const { instance } = scripted([{ status: 401 }, { status: 500 }, { status: 500 }]);
    const { source } = issuing();
    attachTokens(instance, source, { anyOrigin: {}, renewOn: 'any-401' });
    instance.interceptors.request.use((config) => dropSymbols(config));
    const replayed = await failure(instance.get(`${API}/a`));
    expect(replayed.config?.headers.get('Authorization')).toBe('Bearer [REDACTED]');
    const own = await failure(instance.get(`${API}/own`, { headers: { Authorization: 'Bearer tok-2' } }));
    expect(own.config?.headers.get('Authorization')).toBe('Bearer tok-2');
  });
});


describe('attachTokens: DPoP tokens', () => {
  const challenge = { 'www-authenticate': 'DPoP error="use_dpop_nonce"', 'dpop-nonce': 'n-1' };
  const sends = (sent: Sent[]) => sent.map((s) => `${s.method} ${String(s.authorization)} ${String(s.dpop)}`);

  it('a nonce challenge: the request goes once more, same token, with a proof that carries the nonce', async () => {
    const { instance, sent } = scripted([{ status: 401, headers: challenge }]);
    const { source, log } = dpopSource();
    attachTokens(instance, source, { anyOrigin: {} });
    expect((await instance.post(`${API}/x`, 'body')).status).toBe(200);
    expect(sends(sent)).toEqual(['post DPoP dpop-1 proof-1', 'post DPoP dpop-1 proof-2']);
    expect(log).toEqual([`proof-1 dpop-1 POST ${API}/x nonce=-`, `nonce ${API}/x n-1`, `proof-2 dpop-1 POST ${API}/x nonce=n-1`]);
  });

  it('a nonce challenge to a stream body is returned as is', async () => {
    const { instance, sent } = scripted([{ status: 401, headers: challenge }]);
    const { source, log } = dpopSource();
    attachTokens(instance, source, { anyOrigin: {} });
    const error = await failure(instance.post(`${API}/x`, Readable.from(['streamed'])));
    expect(error.response?.status).toBe(401);
    expect(sent).toHaveLength(1);
    expect(log.filter((l) => l.startsWith('nonce'))).toEqual([`nonce ${API}/x n-1`]);
  });

  it('a nonce on a success or on an error response is remembered', async () => {
    const { instance } = scripted([{ status: 200, headers: { 'dpop-nonce': 'n-ok' } }, { status: 500, headers: { 'dpop-nonce': 'n-500' } }]);
    const { source, log } = dpopSource();
    attachTokens(instance, source, { anyOrigin: {} });
    await instance.get(`${API}/a`);
    await failure(instance.get(`${API}/b`));
    expect(log.filter((l) => l.startsWith('nonce'))).toEqual([`nonce ${API}/a n-ok`, `nonce ${API}/b n-500`]);
  });

  it('a renewed DPoP token gets a fresh proof; a renewal that brings a Bearer token sends no proof', async () => {
    for (const [renewedType, expected] of [
      ['DPoP', ['get DPoP dpop-1 proof-1', 'get DPoP dpop-2 proof-2']],
      ['Bearer', ['get DPoP dpop-1 proof-1', 'get Bearer dpop-2 undefined']],
    ] as const) {
      const { instance, sent } = scripted([{ status: 401, headers: { 'www-authenticate': 'DPoP error="invalid_token"' } }]);
      const { source } = dpopSource(renewedType);
      attachTokens(instance, source, { anyOrigin: {} });
      expect((await instance.get(`${API}/x`)).status).toBe(200);
      expect(sends(sent)).toEqual(expected);
    }
  });

  it('a redacted error\'s config sent again gets a real token and a fresh proof', async () => {
    const { instance, sent } = scripted([{ status: 500 }]);
    const { source } = dpopSource();
    attachTokens(instance, source, { anyOrigin: {} });
    const error = await failure(instance.get(`${API}/x`));
    expect(String(error.config?.headers.get('Authorization'))).toBe('DPoP [REDACTED]');
    expect((await instance.request(error.config!)).status).toBe(200);
    expect(sends(sent)).toEqual(['get DPoP dpop-1 proof-1', 'get DPoP dpop-1 proof-2']);
  });

  it('a redacted error\'s config sent again when the source now gives a Bearer token: no proof goes with it', async () => {
    const { instance, sent } = scripted([{ status: 500 }]);
    let type = 'DPoP';
    const source: TokenSource = {
      getToken: async () => createToken({ accessToken: 'tok', tokenType: type, expiresIn: 60_000, expiresAt: Date.now() + 60_000 }),
      proof: async () => 'proof',
    };
    attachTokens(instance, source, { anyOrigin: {} });
    const error = await failure(instance.get(`${API}/x`));
    type = 'Bearer';
    await instance.request(error.config!);
    expect(sends(sent)).toEqual(['get DPoP tok proof', 'get Bearer tok undefined']);
  });
});
