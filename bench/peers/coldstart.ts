// The cold-start row of `npm run bench:peers`: what the first token costs a fresh process (a serverless cold start,
// a CLI, a job). Each case is the source of a `node -e` script, as a user would write it: import the library,
// construct it, get one token from the local server, close what it opened, print, and let the process exit on its
// own (no process.exit). run.ts times the whole process from the outside (spawn to exit) and subtracts bare
// `node -e 0` measured in the same rounds.
//
// Every script gets the target as JSON in process.argv[1] (`t` below: base, tokenEndpoint, clientId, clientSecret,
// audience, m2mUrl, m2mCjs). Its body sets `token` (the access token string) and may close things after the timed
// part. The script prints {"token": "bench-token-…", "ms": …, "cpu": …}: ms is timed inside the process, from
// before the library is loaded to the token in hand (what the old row 4b reported); cpu is the process's CPU time
// (all threads, Node's own startup included) when the script ends, which run.ts compares with a bare script's. The scripts are plain JavaScript: no loader, no type stripping, nothing the floor does not
// pay too.

export interface ColdStartCase {
  /** As shown in the table. Names starting with "floor" always run (see --only). */
  name: string;
  /** What the script does, for the table. */
  how: string;
  /** `import`: an ES module script (`--input-type=module`); `require`: a CommonJS one (plain `-e`). */
  module: 'import' | 'require';
  /** Where bare specifiers resolve from: the package root (undici, m2m-token's own dependency) or bench/peers. */
  cwd: 'main' | 'peers';
  /** Loads the library, constructs it and sets `const token` (a string). Awaits at top level. */
  get: string;
  /** Run after the timed part, before printing: closes what the library opened so the process can exit. */
  close?: string;
  /**
   * Run with Node's own compile cache (NODE_COMPILE_CACHE, Node ≥ 22.1) in a folder that the uncounted first round
   * fills: what a CLI, a job or a container image gets from it on every start after the first.
   */
  compileCache?: true;
}

/** What the child gets in process.argv[1]. */
export interface ColdStartTarget {
  base: string;
  tokenEndpoint: string;
  clientId: string;
  clientSecret: string;
  audience: string;
  /** file: URL of dist/index.js */
  m2mUrl: string;
  /** Absolute path of dist/index.cjs */
  m2mCjs: string;
}

export const COLD_START_FLOOR = 'floor: node:http request';

const FORM = `new URLSearchParams({ grant_type: 'client_credentials', client_id: t.clientId, client_secret: t.clientSecret, audience: t.audience }).toString()`;
const HEADERS = `{ 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }`;
// auth0 builds https:// URLs from a domain: its documented `fetch` option sends them to the local server instead.
const AUTH0_FETCH = `(input, init) => typeof input === 'string' || input instanceof URL
  ? fetch(String(input).replace('https://tenant.bench.test', t.base), init)
  : fetch(new Request(input.url.replace('https://tenant.bench.test', t.base), input), init)`;

const nodeHttpGet = (load: string) => `const http = ${load};
const url = new URL(t.tokenEndpoint);
const form = ${FORM};
const token = await new Promise((resolve, reject) => {
  const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { ...${HEADERS}, 'content-length': Buffer.byteLength(form) } }, (res) => {
    const chunks = [];
    res.on('data', (chunk) => chunks.push(chunk));
    res.on('end', () => {
      try { resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')).access_token); } catch (error) { reject(error); }
    });
    res.on('error', reject);
  });
  req.on('error', reject);
  req.end(form);
});`;

const m2mGet = (load: string) => `const { TokenClient } = ${load};
const client = new TokenClient({ tokenEndpoint: t.tokenEndpoint, clientId: t.clientId, clientSecret: t.clientSecret, audience: t.audience });
const token = (await client.getToken()).accessToken;`;

export const coldStartCases: ColdStartCase[] = [
  {
    name: COLD_START_FLOOR,
    how: "require('node:http'); one http.request POST (global agent) + JSON.parse",
    module: 'require',
    cwd: 'main',
    get: nodeHttpGet("require('node:http')"),
  },
  {
    // Not a floor: the same request from an ES module. import of node:http builds the module's ESM namespace, which
    // reads every export, including the lazy WebSocket / CloseEvent / MessageEvent getters that load Node's own
    // bundled undici (require() and process.getBuiltinModule() do not).
    name: 'reference: node:http request, ESM import',
    how: "the floor's script, with await import('node:http')",
    module: 'import',
    cwd: 'main',
    get: nodeHttpGet("await import('node:http')"),
  },
  {
    name: 'global fetch',
    how: 'fetch() POST + response.json()',
    module: 'import',
    cwd: 'main',
    get: `const response = await fetch(t.tokenEndpoint, { method: 'POST', headers: ${HEADERS}, body: ${FORM} });
const token = (await response.json()).access_token;`,
  },
  {
    name: 'undici.request',
    how: 'import undici; request() through a new Agent, body.json(); agent.close()',
    module: 'import',
    cwd: 'main',
    get: `const { Agent, request } = await import('undici');
const agent = new Agent();
const { body } = await request(t.tokenEndpoint, { method: 'POST', dispatcher: agent, headers: ${HEADERS}, body: ${FORM} });
const token = (await body.json()).access_token;`,
    close: 'await agent.close();',
  },
  {
    name: 'm2m-token TokenClient (import)',
    how: 'import dist/index.js; new TokenClient(); getToken(); close()',
    module: 'import',
    cwd: 'main',
    get: m2mGet('await import(t.m2mUrl)'),
    close: 'await client.close();',
  },
  {
    name: 'm2m-token TokenClient (require)',
    how: 'require dist/index.cjs; the same',
    module: 'require',
    cwd: 'main',
    get: m2mGet('require(t.m2mCjs)'),
    close: 'await client.close();',
  },
  {
    name: 'm2m-token TokenClient (require, NODE_COMPILE_CACHE)',
    how: "the require script, with Node's compile cache filled by an earlier run",
    module: 'require',
    cwd: 'main',
    get: m2mGet('require(t.m2mCjs)'),
    close: 'await client.close();',
    compileCache: true,
  },
  {
    name: '@badgateway/oauth2-client clientCredentials',
    how: 'new OAuth2Client(); clientCredentials()',
    module: 'import',
    cwd: 'peers',
    get: `const { OAuth2Client } = await import('@badgateway/oauth2-client');
const client = new OAuth2Client({ server: t.base + '/', tokenEndpoint: '/oauth/token', clientId: t.clientId, clientSecret: t.clientSecret, authenticationMethod: 'client_secret_post' });
const token = (await client.clientCredentials({ extraParams: { audience: t.audience } })).accessToken;`,
  },
  {
    name: 'openid-client clientCredentialsGrant',
    how: 'new Configuration() without discovery; clientCredentialsGrant()',
    module: 'import',
    cwd: 'peers',
    get: `const oc = await import('openid-client');
const config = new oc.Configuration({ issuer: t.base, token_endpoint: t.tokenEndpoint }, t.clientId, t.clientSecret);
oc.allowInsecureRequests(config);
const token = (await oc.clientCredentialsGrant(config, { audience: t.audience })).access_token;`,
  },
  {
    name: 'auth0 TokenProvider.getAccessToken',
    how: 'import auth0; new TokenProvider(); getAccessToken()',
    module: 'import',
    cwd: 'peers',
    get: `const { TokenProvider } = await import('auth0');
const provider = new TokenProvider({ domain: 'tenant.bench.test', clientId: t.clientId, clientSecret: t.clientSecret, audience: t.audience, fetch: ${AUTH0_FETCH} });
const token = await provider.getAccessToken();`,
  },
  {
    name: 'auth0 legacy AuthenticationClient',
    how: 'import auth0/legacy; oauth.clientCredentialsGrant()',
    module: 'import',
    cwd: 'peers',
    get: `const { AuthenticationClient } = await import('auth0/legacy');
const auth = new AuthenticationClient({ domain: 'tenant.bench.test', clientId: t.clientId, clientSecret: t.clientSecret, fetch: ${AUTH0_FETCH} });
const token = (await auth.oauth.clientCredentialsGrant({ audience: t.audience })).data.access_token;`,
  },
  {
    name: 'simple-oauth2 ClientCredentials',
    how: 'new ClientCredentials(); getToken()',
    module: 'import',
    cwd: 'peers',
    get: `const { ClientCredentials } = await import('simple-oauth2');
const client = new ClientCredentials({ client: { id: t.clientId, secret: t.clientSecret }, auth: { tokenHost: t.base, tokenPath: '/oauth/token' }, options: { authorizationMethod: 'body' } });
const token = (await client.getToken({ audience: t.audience })).token.access_token;`,
  },
  {
    // The same configuration as rows 1–3 (see peers.ts, msalApp): a fake https authority with inline metadata, and
    // a copy of msal-node 7's own fetch-based HttpClient that sends it to the local server.
    name: '@azure/msal-node acquireTokenByClientCredential',
    how: 'new ConfidentialClientApplication(); acquireTokenByClientCredential()',
    module: 'import',
    cwd: 'peers',
    get: `const { ConfidentialClientApplication } = await import('@azure/msal-node');
const authority = 'https://login.bench.test/tenant';
const send = async (url, method, options) => {
  const response = await fetch(url.replace('https://login.bench.test', t.base), {
    method, headers: new Headers(options?.headers ?? {}), signal: new AbortController().signal, ...(method === 'POST' ? { body: options?.body ?? '' } : {}),
  });
  const headers = {};
  response.headers.forEach((value, key) => { headers[key] = value; });
  return { headers, body: await response.json(), status: response.status };
};
const app = new ConfidentialClientApplication({
  auth: {
    clientId: t.clientId, clientSecret: t.clientSecret, authority, knownAuthorities: ['login.bench.test'],
    authorityMetadata: JSON.stringify({ issuer: authority, token_endpoint: authority + '/oauth/token', authorization_endpoint: authority + '/authorize', end_session_endpoint: authority + '/logout', jwks_uri: authority + '/jwks' }),
  },
  system: { networkClient: { sendGetRequestAsync: (url, options) => send(url, 'GET', options), sendPostRequestAsync: (url, options) => send(url, 'POST', options) } },
});
const token = (await app.acquireTokenByClientCredential({ scopes: [t.audience + '/.default'] })).accessToken;`,
  },
];

/** Not in the row, and why. */
export const coldStartUnmeasured = [{ name: 'google-auth-library', why: 'no generic client_credentials grant (see rows 2 and 4)' }];

/** The `node -e` script of a case. */
export function coldStartScript(c: ColdStartCase): string {
  const body = `const t = JSON.parse(process.argv[1]);
const t0 = performance.now();
${c.get}
const ms = performance.now() - t0;
${c.close ?? ''}
const cpu = process.cpuUsage();
process.stdout.write(JSON.stringify({ token, ms, cpu: (cpu.user + cpu.system) / 1000 }));`;
  // CommonJS has no top-level await.
  return c.module === 'import' ? body : `(async () => {\n${body}\n})().catch((error) => { console.error(error); process.exitCode = 1; });`;
}

/** argv for `process.execPath`: the script, then the target. */
export function coldStartArgv(c: ColdStartCase, t: ColdStartTarget): string[] {
  return [...(c.module === 'import' ? ['--input-type=module'] : []), '-e', coldStartScript(c), JSON.stringify(t)];
}
