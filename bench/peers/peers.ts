// The libraries of `npm run bench:peers`, each reduced to the calls the rows measure. Peers are loaded at run
// time from bench/peers/node_modules: their types are declared here, narrowly, so that `npm test`'s typecheck
// passes on a clone where the peers are not installed.
import { pathToFileURL } from 'node:url';
import type * as M2M from '../../src/index.js';

/** What every adapter is given: the forked server's address and the fake credentials all of them use. */
export interface Target {
  /** `http://127.0.0.1:PORT` */
  base: string;
  /** `${base}/oauth/token` */
  tokenEndpoint: string;
  clientId: string;
  clientSecret: string;
  audience: string;
  /** Absolute path of the built dist/index.js that m2m-token is measured from. */
  m2mDist: string;
}

export type Call = () => Promise<unknown>;

export interface Row {
  /** Library and API, as shown in the table. */
  name: string;
  /** How the measured call avoids (cold) or uses (cached) a cache. */
  how: string;
  /** Builds the call on a fresh instance. For cached rows the instance is primed (one token fetched) first. */
  make(t: Target): Promise<{ call: Call; close?: () => Promise<void> | void }>;
}

export interface Unmeasured {
  name: string;
  why: string;
}

/** One fetch body used by the floor and the global-fetch row: what m2m-token sends by default. */
export function formBody(t: Target): string {
  return new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: t.clientId,
    client_secret: t.clientSecret,
    audience: t.audience,
  }).toString();
}

const load = (specifier: string): Promise<unknown> => import(specifier);
const m2m = async (t: Target) => (await import(pathToFileURL(t.m2mDist).href)) as typeof M2M;

// auth0 and msal build https:// URLs from a host name; these fake hosts are rewritten to the local server by the
// fetch / network client handed to them (the only change to their request path).
const AUTH0_DOMAIN = 'tenant.bench.test';
const MSAL_HOST = 'login.bench.test';

function rewritingFetch(from: string, to: string): typeof fetch {
  return (input, init) => {
    if (typeof input === 'string' || input instanceof URL) return fetch(String(input).replace(from, to), init);
    return fetch(new Request(input.url.replace(from, to), input), init);
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Peer API shapes (only what is used).

interface OpenIdClientModule {
  Configuration: new (server: Record<string, unknown>, clientId: string, secret: string) => object;
  allowInsecureRequests(config: object): void;
  clientCredentialsGrant(config: object, params: Record<string, string>): Promise<{ access_token: string }>;
}
interface Auth0LegacyModule {
  AuthenticationClient: new (options: Record<string, unknown>) => {
    oauth: { clientCredentialsGrant(params: { audience: string }): Promise<{ data: { access_token: string } }> };
  };
}
interface Auth0Module {
  TokenProvider: new (options: Record<string, unknown>) => { getAccessToken(): Promise<string> };
}
interface SimpleOAuth2Module {
  ClientCredentials: new (config: Record<string, unknown>) => {
    getToken(params: Record<string, unknown>): Promise<{ expired(margin?: number): boolean; token: { access_token: string } }>;
  };
}
interface BadgatewayModule {
  OAuth2Client: new (settings: Record<string, unknown>) => {
    clientCredentials(params?: { scope?: string[]; extraParams?: Record<string, string> }): Promise<{ accessToken: string }>;
  };
  OAuth2Fetch: new (options: Record<string, unknown>) => { getToken(): Promise<{ accessToken: string }> };
}
interface MsalModule {
  ConfidentialClientApplication: new (config: Record<string, unknown>) => {
    acquireTokenByClientCredential(request: { scopes: string[]; skipCache?: boolean }): Promise<{ accessToken: string } | null>;
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Shared constructors.

async function m2mClient(t: Target, extra: Partial<M2M.TokenClientBaseOptions> = {}) {
  const { TokenClient } = await m2m(t);
  return new TokenClient({ tokenEndpoint: t.tokenEndpoint, clientId: t.clientId, clientSecret: t.clientSecret, audience: t.audience, ...extra });
}

async function openidConfig(t: Target) {
  const oc = (await load('openid-client')) as OpenIdClientModule;
  const config = new oc.Configuration({ issuer: t.base, token_endpoint: t.tokenEndpoint }, t.clientId, t.clientSecret);
  oc.allowInsecureRequests(config); // http: on loopback
  return { oc, config };
}

async function auth0Legacy(t: Target) {
  const { AuthenticationClient } = (await load('auth0/legacy')) as Auth0LegacyModule;
  return new AuthenticationClient({
    domain: AUTH0_DOMAIN,
    clientId: t.clientId,
    clientSecret: t.clientSecret,
    fetch: rewritingFetch(`https://${AUTH0_DOMAIN}`, t.base),
  });
}

async function auth0Provider(t: Target) {
  const { TokenProvider } = (await load('auth0')) as Auth0Module;
  return new TokenProvider({
    domain: AUTH0_DOMAIN,
    clientId: t.clientId,
    clientSecret: t.clientSecret,
    audience: t.audience,
    fetch: rewritingFetch(`https://${AUTH0_DOMAIN}`, t.base),
  });
}

async function simpleOAuth2(t: Target) {
  const { ClientCredentials } = (await load('simple-oauth2')) as SimpleOAuth2Module;
  return new ClientCredentials({
    client: { id: t.clientId, secret: t.clientSecret },
    auth: { tokenHost: t.base, tokenPath: '/oauth/token' },
    options: { authorizationMethod: 'body' },
  });
}

async function badgateway(t: Target) {
  const mod = (await load('@badgateway/oauth2-client')) as BadgatewayModule;
  const client = new mod.OAuth2Client({
    server: `${t.base}/`,
    tokenEndpoint: '/oauth/token',
    clientId: t.clientId,
    clientSecret: t.clientSecret,
    authenticationMethod: 'client_secret_post',
  });
  return { mod, client };
}

/**
 * msal-node refuses any authority that is not https: (ClientConfigurationError authority_uri_insecure), so the
 * authority is a fake https host with its metadata given inline (authorityMetadata, knownAuthorities: no
 * discovery request), and `system.networkClient` is a copy of msal-node 7's own HttpClient (global fetch,
 * headers to a plain object, response.json()) that sends https://login.bench.test/… to the local server.
 */
async function msalApp(t: Target) {
  const { ConfidentialClientApplication } = (await load('@azure/msal-node')) as MsalModule;
  const authority = `https://${MSAL_HOST}/tenant`;
  const send = async (url: string, method: 'GET' | 'POST', options?: { headers?: Record<string, string>; body?: string }) => {
    const response = await fetch(url.replace(`https://${MSAL_HOST}`, t.base), {
      method,
      headers: new Headers(options?.headers ?? {}),
      signal: new AbortController().signal,
      ...(method === 'POST' ? { body: options?.body ?? '' } : {}),
    });
    const headers: Record<string, string> = {};
    response.headers.forEach((value, key) => {
      headers[key] = value;
    });
    return { headers, body: (await response.json()) as unknown, status: response.status };
  };
  return new ConfidentialClientApplication({
    auth: {
      clientId: t.clientId,
      clientSecret: t.clientSecret,
      authority,
      knownAuthorities: [MSAL_HOST],
      authorityMetadata: JSON.stringify({
        issuer: authority,
        token_endpoint: `${authority}/oauth/token`,
        authorization_endpoint: `${authority}/authorize`,
        end_session_endpoint: `${authority}/logout`,
        jwks_uri: `${authority}/jwks`,
      }),
    },
    system: {
      networkClient: {
        sendGetRequestAsync: (url: string, options?: { headers?: Record<string, string> }) => send(url, 'GET', options),
        sendPostRequestAsync: (url: string, options?: { headers?: Record<string, string>; body?: string }) => send(url, 'POST', options),
      },
    },
  });
}

const msalScopes = (t: Target) => [`${t.audience}/.default`];

// ---------------------------------------------------------------------------------------------------------------
// Row 1: a fresh token on every call.

export const FLOOR_FETCH = 'floor: undici.request + keep-alive Agent';

/** The floor: what any client must do at least (build the form body, one request, parse one small JSON). */
export const fetchFloor: Row = {
  name: FLOOR_FETCH,
  how: 'form body + request + JSON.parse',
  async make(t) {
    const { Agent, request } = await import('undici');
    const agent = new Agent(); // keep-alive by default
    return {
      call: async () => {
        const { body } = await request(t.tokenEndpoint, {
          method: 'POST',
          dispatcher: agent,
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: formBody(t),
        });
        return JSON.parse(await body.text()) as unknown;
      },
      close: () => agent.close(),
    };
  },
};

/** Not a floor: what the same request costs with Node's own http client (no dependency to load). */
export const nodeHttpRow: Row = {
  name: 'reference: node:http + keep-alive Agent',
  how: 'http.request + JSON.parse; no cache',
  async make(t) {
    const http = await import('node:http');
    const agent = new http.Agent({ keepAlive: true });
    const url = new URL(t.tokenEndpoint);
    return {
      call: () =>
        new Promise((resolve, reject) => {
          const body = formBody(t);
          const req = http.request(
            {
              host: url.hostname,
              port: url.port,
              path: url.pathname,
              method: 'POST',
              agent,
              headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', 'content-length': Buffer.byteLength(body) },
            },
            (res) => {
              const chunks: Buffer[] = [];
              res.on('data', (chunk: Buffer) => chunks.push(chunk));
              res.on('end', () => {
                try {
                  resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
                } catch (error) {
                  reject(error as Error);
                }
              });
              res.on('error', reject);
            },
          );
          req.on('error', reject);
          req.end(body);
        }),
      close: () => agent.destroy(),
    };
  },
};

export const coldRows: Row[] = [
  {
    name: 'm2m-token TokenClient.getToken',
    how: 'getToken({ forceRefresh: true })',
    async make(t) {
      const client = await m2mClient(t);
      return { call: () => client.getToken({ forceRefresh: true }), close: () => client.close() };
    },
  },
  {
    name: 'global fetch',
    how: 'fetch() POST + response.json(); no cache',
    async make(t) {
      return {
        call: async () => {
          const response = await fetch(t.tokenEndpoint, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
            body: formBody(t),
          });
          return response.json();
        },
      };
    },
  },
  {
    name: 'openid-client clientCredentialsGrant',
    how: 'no cache in the library',
    async make(t) {
      const { oc, config } = await openidConfig(t);
      return { call: () => oc.clientCredentialsGrant(config, { audience: t.audience }) };
    },
  },
  {
    name: 'auth0 legacy AuthenticationClient',
    how: 'oauth.clientCredentialsGrant(); no cache',
    async make(t) {
      const auth = await auth0Legacy(t);
      return { call: () => auth.oauth.clientCredentialsGrant({ audience: t.audience }) };
    },
  },
  {
    name: 'simple-oauth2 ClientCredentials',
    how: 'getToken(); no cache',
    async make(t) {
      const client = await simpleOAuth2(t);
      return { call: () => client.getToken({ audience: t.audience }) };
    },
  },
  {
    name: '@azure/msal-node acquireTokenByClientCredential',
    how: '{ skipCache: true }',
    async make(t) {
      const app = await msalApp(t);
      const scopes = msalScopes(t);
      return { call: () => app.acquireTokenByClientCredential({ scopes, skipCache: true }) };
    },
  },
  {
    name: '@badgateway/oauth2-client clientCredentials',
    how: 'OAuth2Client has no cache',
    async make(t) {
      const { client } = await badgateway(t);
      return { call: () => client.clientCredentials({ extraParams: { audience: t.audience } }) };
    },
  },
];

// ---------------------------------------------------------------------------------------------------------------
// Row 2: the cached path, primed with one token.

export const M2M_ARGS_ROW = 'm2m-token getToken({ audience, organization, scope })';

export const cachedRows: Row[] = [
  {
    name: 'm2m-token getToken()',
    how: 'default-parameters slot',
    async make(t) {
      const client = await m2mClient(t);
      await client.getToken();
      return { call: () => client.getToken(), close: () => client.close() };
    },
  },
  {
    name: M2M_ARGS_ROW,
    how: 'a new options object per call (as user code writes it)',
    async make(t) {
      const client = await m2mClient(t);
      const call = () => client.getToken({ audience: 'https://api.bench.test/other', organization: 'org_bench', scope: ['read:a', 'write:a'] });
      await call();
      return { call, close: () => client.close() };
    },
  },
  {
    name: 'auth0 TokenProvider.getAccessToken',
    how: 'auth0 v7 management TokenProvider',
    async make(t) {
      const provider = await auth0Provider(t);
      await provider.getAccessToken();
      return { call: () => provider.getAccessToken() };
    },
  },
  {
    name: '@azure/msal-node acquireTokenByClientCredential',
    how: 'in-memory token cache',
    async make(t) {
      const app = await msalApp(t);
      const scopes = msalScopes(t);
      await app.acquireTokenByClientCredential({ scopes });
      return { call: () => app.acquireTokenByClientCredential({ scopes }) };
    },
  },
  {
    name: '@badgateway/oauth2-client OAuth2Fetch.getToken',
    how: 'OAuth2Fetch keeps one token (no expiry margin)',
    async make(t) {
      const { mod, client } = await badgateway(t);
      const wrapper = new mod.OAuth2Fetch({ client, getNewToken: () => client.clientCredentials({ extraParams: { audience: t.audience } }) });
      await wrapper.getToken();
      return { call: () => wrapper.getToken() };
    },
  },
  {
    name: 'simple-oauth2 + token.expired() check',
    how: 'no cache in the library: its README pattern, app-side',
    async make(t) {
      const client = await simpleOAuth2(t);
      let token = await client.getToken({ audience: t.audience });
      return {
        call: async () => {
          if (token.expired(300)) token = await client.getToken({ audience: t.audience });
          return token;
        },
      };
    },
  },
];

export const noCache: Unmeasured[] = [
  { name: 'global fetch', why: 'no cache' },
  { name: 'openid-client', why: 'no cache: every clientCredentialsGrant() is a request' },
  { name: 'auth0 legacy AuthenticationClient', why: 'no cache (auth0\'s cached path is TokenProvider, measured)' },
  { name: 'google-auth-library', why: 'no generic client_credentials grant (Google credentials, STS token exchange only): import cost only' },
];

// ---------------------------------------------------------------------------------------------------------------
// Row 3: 1 000 concurrent callers on a fresh, cold instance.

export const stampedeRows: Row[] = [
  {
    name: 'm2m-token getToken()',
    how: 'single flight',
    async make(t) {
      const client = await m2mClient(t);
      return { call: () => client.getToken(), close: () => client.close() };
    },
  },
  {
    name: 'auth0 TokenProvider.getAccessToken',
    how: 'shares its pending promise',
    async make(t) {
      const provider = await auth0Provider(t);
      return { call: () => provider.getAccessToken() };
    },
  },
  {
    name: '@azure/msal-node acquireTokenByClientCredential',
    how: 'cache without request sharing',
    async make(t) {
      const app = await msalApp(t);
      const scopes = msalScopes(t);
      return { call: () => app.acquireTokenByClientCredential({ scopes }) };
    },
  },
  {
    name: '@badgateway/oauth2-client OAuth2Fetch.getToken',
    how: 'shares activeRefresh',
    async make(t) {
      const { mod, client } = await badgateway(t);
      const wrapper = new mod.OAuth2Fetch({ client, getNewToken: () => client.clientCredentials({ extraParams: { audience: t.audience } }) });
      return { call: () => wrapper.getToken() };
    },
  },
  {
    name: 'simple-oauth2 + token.expired() check',
    how: 'app-side check, nothing shared',
    async make(t) {
      const client = await simpleOAuth2(t);
      let token: Awaited<ReturnType<typeof client.getToken>> | undefined;
      return {
        call: async () => {
          if (token === undefined || token.expired(300)) token = await client.getToken({ audience: t.audience });
          return token;
        },
      };
    },
  },
];

// ---------------------------------------------------------------------------------------------------------------
// Row 4: import cost. `cwd` is where the specifier resolves from.

export interface ImportCase {
  name: string;
  /** ESM specifier (a bare name, or a file URL), or undefined when not measured as import. */
  esm?: string;
  /** CommonJS specifier, or undefined when not measured as require. */
  cjs?: string;
  cwd: 'main' | 'peers';
}

export function importCases(m2mDistDir: string): ImportCase[] {
  return [
    { name: 'm2m-token (dist)', esm: pathToFileURL(`${m2mDistDir}/index.js`).href, cjs: `${m2mDistDir}/index.cjs`, cwd: 'main' },
    { name: 'undici (m2m-token\'s dependency)', esm: 'undici', cjs: 'undici', cwd: 'main' },
    { name: 'openid-client', esm: 'openid-client', cjs: 'openid-client', cwd: 'peers' },
    { name: 'auth0', esm: 'auth0', cjs: 'auth0', cwd: 'peers' },
    { name: 'auth0/legacy (AuthenticationClient)', esm: 'auth0/legacy', cjs: 'auth0/legacy', cwd: 'peers' },
    { name: 'simple-oauth2', esm: 'simple-oauth2', cjs: 'simple-oauth2', cwd: 'peers' },
    { name: '@azure/msal-node', esm: '@azure/msal-node', cjs: '@azure/msal-node', cwd: 'peers' },
    { name: '@badgateway/oauth2-client', esm: '@badgateway/oauth2-client', cjs: '@badgateway/oauth2-client', cwd: 'peers' },
    { name: 'google-auth-library', esm: 'google-auth-library', cjs: 'google-auth-library', cwd: 'peers' },
  ];
}
