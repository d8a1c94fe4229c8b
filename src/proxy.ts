import type { ClientRequest } from 'node:http';
import type { Duplex } from 'node:stream';
import { ConfigurationError } from './errors.js';

/**
 * Forward proxies for the default transport (node:http/https): `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` when the
 * user opts in (`proxy: 'env'`, or Node's own `NODE_USE_ENV_PROXY=1` / `--use-env-proxy` convention), or one proxy
 * URL. An https endpoint is reached through a CONNECT tunnel (TLS stays end to end, client certificate included);
 * an http one by sending the absolute URL to the proxy. Node 24 has proxy support in `http.Agent` (`proxyEnv`), but
 * Node 22.19 does not, so the package does it itself, with node:http only (no undici).
 */

/** The `proxy` option: `'env'`, a proxy URL, or `false` (never, even with `NODE_USE_ENV_PROXY=1`). */
export type ProxyOption = 'env' | (string & {}) | URL | false;

/** One forward proxy, as parsed from its URL. */
export interface ProxyServer {
  /** `http://host:port`, without user or password: what messages show. */
  origin: string;
  /** Host name or address to connect to (an IPv6 address without brackets). */
  host: string;
  port: number;
  /** `Basic …` from the URL's user and password, sent as `Proxy-Authorization`. */
  authorization: string | undefined;
  /** The password (as given and decoded) and the header's credentials, to scrub from anything shown. */
  secrets: string[];
}

/** One `NO_PROXY` entry. */
export interface NoProxyRule {
  /** `*`: every host. */
  all?: boolean;
  /** A domain: matches itself and every subdomain (`example.com`, `.example.com` and `*.example.com` alike). */
  domain?: string;
  /** An IP address or a CIDR block, e.g. `10.0.0.0/8` or `::1`. */
  subnet?: { address: string; prefix: number; family: 'ipv4' | 'ipv6' };
  /** Only this port, when the entry had one (`host:8443`). */
  port?: number;
}

export interface ProxySettings {
  http: ProxyServer | undefined;
  https: ProxyServer | undefined;
  noProxy: NoProxyRule[];
}

/**
 * The proxy settings for the `proxy` option, read once at construction. Without the option, the environment is
 * used only when Node is told to (`NODE_USE_ENV_PROXY=1` or `--use-env-proxy`), as Node's own clients do.
 */
export function resolveProxy(
  value: unknown,
  hasDispatcher: boolean,
  env: NodeJS.ProcessEnv = process.env,
  execArgv: readonly string[] = process.execArgv,
): ProxySettings | undefined {
  if (hasDispatcher) {
    // The dispatcher decides the route (undici's ProxyAgent / EnvHttpProxyAgent); NODE_USE_ENV_PROXY is its business.
    if (value !== undefined && value !== false) {
      throw new ConfigurationError('proxy', 'give the proxy either as proxy or inside your own dispatcher (an undici ProxyAgent or EnvHttpProxyAgent), not both');
    }
    return undefined;
  }
  if (value === false) return undefined;
  if (value === undefined) return nodeUsesEnvProxy(env, execArgv) ? fromEnvironment(env) : undefined;
  if (value === 'env') return fromEnvironment(env);
  if (typeof value === 'string' || value instanceof URL) {
    const server = parseProxyUrl(value instanceof URL ? value.href : value, 'proxy');
    return { http: server, https: server, noProxy: [] };
  }
  throw new ConfigurationError('proxy', "must be 'env' (HTTPS_PROXY, HTTP_PROXY and NO_PROXY), a proxy URL such as http://proxy.internal:3128, or false");
}

/** Node's convention for "use the proxy environment variables": `NODE_USE_ENV_PROXY=1` or `--use-env-proxy`. */
export function nodeUsesEnvProxy(env: NodeJS.ProcessEnv, execArgv: readonly string[]): boolean {
  if (env.NODE_USE_ENV_PROXY === '1') return true;
  const flag = (args: readonly string[]) => args.includes('--use-env-proxy');
  return flag(execArgv) || flag((env.NODE_OPTIONS ?? '').split(/\s+/));
}

function fromEnvironment(env: NodeJS.ProcessEnv): ProxySettings | undefined {
  // Lower case first, as Node, curl and most tools read them.
  const read = (lower: string, upper: string) => {
    const [name, value] = env[lower]?.trim() ? [lower, env[lower]] : env[upper]?.trim() ? [upper, env[upper]] : [];
    return name === undefined ? undefined : { name, value: value!.trim() };
  };
  const http = read('http_proxy', 'HTTP_PROXY');
  const https = read('https_proxy', 'HTTPS_PROXY');
  if (http === undefined && https === undefined) return undefined;
  return {
    // No fallback from one to the other: HTTPS_PROXY serves https: endpoints, HTTP_PROXY http: ones, as in Node and curl.
    http: http && parseProxyUrl(http.value, http.name),
    https: https && parseProxyUrl(https.value, https.name),
    noProxy: parseNoProxy(read('no_proxy', 'NO_PROXY')?.value ?? ''),
  };
}

/**
 * An `http://[user:password@]host[:port]` proxy URL (the scheme may be left out, as curl allows). The value is
 * never quoted in an error: it may hold a password.
 */
export function parseProxyUrl(text: string, source: string): ProxyServer {
  const where = source === 'proxy' ? 'the proxy option' : `the value of ${source}`;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
  if (/[\x00-\x1f\x7f]/.test(text)) throw new ConfigurationError('proxy', `${where} contains control characters`);
  let url: URL;
  let user: string;
  let password: string;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`);
    user = decodeURIComponent(url.username);
    password = decodeURIComponent(url.password);
  } catch {
    throw new ConfigurationError('proxy', `${where} is not a valid proxy URL; expected http://host:port or http://user:password@host:port`);
  }
  if (url.protocol !== 'http:') {
    throw new ConfigurationError(
      'proxy',
      `${where} is a ${url.protocol.slice(0, -1)} proxy; only http:// proxies are supported (an https endpoint is still reached through a CONNECT tunnel, TLS end to end)`,
    );
  }
  const authorization = user || password ? `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}` : undefined;
  return {
    origin: `http://${url.host}`,
    host: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
    port: url.port ? Number(url.port) : 80,
    authorization,
    secrets: [...new Set([password, url.password, authorization?.slice('Basic '.length)])].filter((s): s is string => Boolean(s)),
  };
}

/**
 * `NO_PROXY` as most tools read it: entries separated by commas (or spaces); `*` for every host; a domain matches
 * itself and its subdomains, with or without a leading `.` or `*.`; IP addresses and CIDR blocks (`10.0.0.0/8`);
 * any entry may end in `:port` (`[::1]:8443` for IPv6). Case and a trailing dot are ignored.
 */
export function parseNoProxy(text: string): NoProxyRule[] {
  const rules: NoProxyRule[] = [];
  for (const raw of text.toLowerCase().split(/[\s,]+/)) {
    let entry = raw.trim();
    if (entry === '') continue;
    if (entry === '*') {
      rules.push({ all: true });
      continue;
    }
    let port: number | undefined;
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
    if (bracketed) {
      entry = bracketed[1]!;
      if (bracketed[2]) port = Number(bracketed[2]);
    } else if (/^[^:]*:\d+$/.test(entry)) {
      const at = entry.lastIndexOf(':');
      port = Number(entry.slice(at + 1));
      entry = entry.slice(0, at);
    }
    const rule = ruleFor(entry);
    if (rule) rules.push(port === undefined ? rule : { ...rule, port });
  }
  return rules;
}

function ruleFor(entry: string): NoProxyRule | undefined {
  const { isIP } = process.getBuiltinModule('node:net');
  const [address, prefixText] = entry.split('/') as [string, string | undefined];
  const family = isIP(address);
  if (family !== 0) {
    const max = family === 4 ? 32 : 128;
    const prefix = prefixText === undefined ? max : /^\d+$/.test(prefixText) ? Number(prefixText) : Number.NaN;
    return prefix >= 0 && prefix <= max ? { subnet: { address, prefix, family: family === 4 ? 'ipv4' : 'ipv6' } } : undefined;
  }
  if (prefixText !== undefined) return undefined;
  const domain = entry.replace(/^\*?\.+/, '').replace(/\.$/, '');
  return domain === '' || domain.includes('*') ? undefined : { domain };
}

/** Whether `NO_PROXY` sends requests to this URL directly. */
export function bypassesProxy(rules: readonly NoProxyRule[], url: URL): boolean {
  if (rules.length === 0) return false;
  const host = (url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname).toLowerCase().replace(/\.$/, '');
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  const net = process.getBuiltinModule('node:net');
  const family = net.isIP(host);
  return rules.some((rule) => {
    if (rule.all) return true;
    if (rule.port !== undefined && rule.port !== port) return false;
    if (rule.domain !== undefined) return family === 0 && (host === rule.domain || host.endsWith(`.${rule.domain}`));
    if (rule.subnet === undefined || family === 0) return false;
    const { address, prefix, family: kind } = rule.subnet;
    if ((family === 4 ? 'ipv4' : 'ipv6') !== kind) return false;
    const list = new net.BlockList();
    list.addSubnet(address, prefix, kind);
    return list.check(host, kind);
  });
}

/** The proxy for a request to this URL, or undefined to go directly. */
export function proxyFor(settings: ProxySettings, url: URL): ProxyServer | undefined {
  const server = url.protocol === 'https:' ? settings.https : url.protocol === 'http:' ? settings.http : undefined;
  return server && !bypassesProxy(settings.noProxy, url) ? server : undefined;
}

/**
 * Opens a CONNECT tunnel through `proxy` to `host:port` and resolves with its socket, ready for TLS. Fails with
 * `code` `ERR_PROXY_TUNNEL` (any status but 2xx; `statusCode` says which), `ERR_PROXY_AUTHENTICATION_REQUIRED`
 * (407), or the connection's own error; after `timeout` ms with `ETIMEDOUT`. The request is in `pending` until
 * it settles, so that closing the client can destroy it.
 */
export function openTunnel(proxy: ProxyServer, host: string, port: number, timeout: number, pending: Set<ClientRequest>): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const authority = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    const headers: Record<string, string> = { host: authority };
    if (proxy.authorization !== undefined) headers['proxy-authorization'] = proxy.authorization;
    const http = process.getBuiltinModule('node:http');
    const req = http.request({ host: proxy.host, port: proxy.port, method: 'CONNECT', path: authority, headers, agent: false });
    pending.add(req);
    let settled = false;
    const settle = (error: Error | undefined, socket?: Duplex) => {
      if (settled) {
        socket?.destroy();
        return;
      }
      settled = true;
      clearTimeout(timer);
      pending.delete(req);
      if (error) reject(error);
      else resolve(socket!);
    };
    const refused = (status: number) => {
      const reason = http.STATUS_CODES[status];
      return Object.assign(new Error(`proxy ${proxy.origin} answered HTTP ${status}${reason ? ` ${reason}` : ''} to CONNECT ${authority}`), {
        code: status === 407 ? 'ERR_PROXY_AUTHENTICATION_REQUIRED' : 'ERR_PROXY_TUNNEL',
        statusCode: status,
      });
    };
    const timer = setTimeout(() => {
      req.destroy(Object.assign(new Error(`proxy ${proxy.origin} did not open a tunnel to ${authority} within ${timeout} ms`), { code: 'ETIMEDOUT' }));
    }, timeout);
    req.once('connect', (res, socket, head) => {
      const status = res.statusCode ?? 0;
      if (status < 200 || status > 299) {
        socket.destroy();
        settle(refused(status));
        return;
      }
      if (head.length > 0) socket.unshift(head);
      settle(undefined, socket);
    });
    // Some Node versions hand a refused CONNECT to 'response' instead of 'connect'.
    req.once('response', (res) => {
      res.resume();
      settle(refused(res.statusCode ?? 0));
    });
    req.once('error', (error) => settle(error));
    req.end();
  });
}
