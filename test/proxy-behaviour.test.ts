// Which requests go through which proxy: the proxy option, the environment (as Node and curl read it), NO_PROXY
// matching, and what a bad proxy value is told. Pure functions; the tunnels themselves are in interop-proxy.test.ts.
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../src/errors.js';
import { bypassesProxy, nodeUsesEnvProxy, parseNoProxy, parseProxyUrl, proxyFor, resolveProxy } from '../src/proxy.js';
import { configError } from './helpers/config-error.js';

const bypass = (noProxy: string, url: string) => bypassesProxy(parseNoProxy(noProxy), new URL(url));

describe('NO_PROXY', () => {
  it('matches a domain and its subdomains, however it is written, and nothing else', () => {
    for (const entry of ['example.com', '.example.com', '*.example.com', 'EXAMPLE.com.', '..example.com']) {
      expect(bypass(entry, 'https://example.com/t')).toBe(true);
      expect(bypass(entry, 'https://auth.example.com/t')).toBe(true);
      expect(bypass(entry, 'https://AUTH.Example.COM./t')).toBe(true);
      expect(bypass(entry, 'https://notexample.com/t')).toBe(false);
      expect(bypass(entry, 'https://example.com.evil/t')).toBe(false);
    }
  });

  it('* matches everything; empty entries and separators are skipped', () => {
    expect(bypass('*', 'https://anything.example/t')).toBe(true);
    expect(bypass(' , a.example ,, b.example\tc.example ', 'https://c.example/')).toBe(true);
    expect(bypass('', 'https://a.example/')).toBe(false);
    expect(parseNoProxy(' ,, ')).toEqual([]);
  });

  it('an entry with a port matches that port only, the scheme default counting', () => {
    expect(bypass('example.com:8443', 'https://example.com:8443/')).toBe(true);
    expect(bypass('example.com:8443', 'https://example.com/')).toBe(false);
    expect(bypass('example.com:443', 'https://example.com/')).toBe(true);
    expect(bypass('example.com:80', 'http://example.com/')).toBe(true);
    expect(bypass('example.com:80', 'https://example.com/')).toBe(false);
    expect(bypass('[::1]:8443', 'https://[::1]:8443/')).toBe(true);
    expect(bypass('[::1]:8443', 'https://[::1]:9443/')).toBe(false);
    expect(bypass('[::1]', 'https://[::1]:9443/')).toBe(true);
    expect(parseNoProxy('a.example:12')).toEqual([{ domain: 'a.example', port: 12 }]);
  });

  it('IP addresses and CIDR blocks match addresses of their family only, never names', () => {
    expect(bypass('10.0.0.0/8', 'https://10.1.2.3/')).toBe(true);
    expect(bypass('10.0.0.0/8', 'https://11.1.2.3/')).toBe(false);
    expect(bypass('10.1.2.3', 'https://10.1.2.3/')).toBe(true);
    expect(bypass('10.1.2.3', 'https://10.1.2.4/')).toBe(false);
    expect(bypass('10.0.0.0/8', 'https://ten.example/')).toBe(false);
    // A domain entry never matches an address, even one that ends the same way.
    expect(bypass('0.0.1', 'https://10.0.0.1/')).toBe(false);
    expect(bypass('::1', 'https://[::1]/')).toBe(true);
    expect(bypass('fd00::/8', 'https://[fd12::1]/')).toBe(true);
    expect(bypass('fd00::/8', 'https://10.0.0.1/')).toBe(false);
    expect(bypass('10.0.0.0/8', 'https://[::ffff:a00:1]/')).toBe(false);
    expect(parseNoProxy('10.0.0.0/8 ::1 fd00::/8')).toEqual([
      { subnet: { address: '10.0.0.0', prefix: 8, family: 'ipv4' } },
      { subnet: { address: '::1', prefix: 128, family: 'ipv6' } },
      { subnet: { address: 'fd00::', prefix: 8, family: 'ipv6' } },
    ]);
    expect(parseNoProxy('1.2.3.4')).toEqual([{ subnet: { address: '1.2.3.4', prefix: 32, family: 'ipv4' } }]);
  });

  it('drops entries it cannot read rather than match too much', () => {
    expect(parseNoProxy('10.0.0.0/33 10.0.0.0/x 10.0.0.0/-1 10.0.0.0/8x 10.0.0.0/x8 ::1/129 a.example/8 *.*.example * .')).toEqual([{ all: true }]);
    expect(parseNoProxy('10.0.0.0/0 10.0.0.0/32 ::/0')).toHaveLength(3);
    // Prefixes that Number() would read (hexadecimal, exponent) are not digits.
    expect(parseNoProxy('10.0.0.0/0x10 10.0.0.0/1e1')).toEqual([]);
  });

  it('an entry with junk around a bracketed address or after a port is not read as that address or port', () => {
    expect(bypass('x[::1]', 'https://[::1]/')).toBe(false);
    expect(bypass('[::1]:443x', 'https://[::1]/')).toBe(false);
    expect(parseNoProxy('a.example:80x').some((rule) => rule.port !== undefined)).toBe(false);
    expect(bypass('a.example:80x', 'http://a.example/')).toBe(false);
  });
});

describe('proxy URLs', () => {
  it('reads host, port (80 by default), credentials as Proxy-Authorization, and keeps the password out of the origin', () => {
    const p = parseProxyUrl('http://us%40er:p%3Ass@proxy.internal:3128', 'proxy');
    expect(p).toEqual({
      origin: 'http://proxy.internal:3128',
      host: 'proxy.internal',
      port: 3128,
      authorization: `Basic ${Buffer.from('us@er:p:ss').toString('base64')}`,
      secrets: ['p:ss', 'p%3Ass', Buffer.from('us@er:p:ss').toString('base64')],
    });
    expect(parseProxyUrl('proxy.internal', 'HTTPS_PROXY')).toEqual({ origin: 'http://proxy.internal', host: 'proxy.internal', port: 80, authorization: undefined, secrets: [] });
    expect(parseProxyUrl('http://[::1]:8080', 'proxy')).toMatchObject({ host: '::1', port: 8080, origin: 'http://[::1]:8080' });
    expect(parseProxyUrl('http://user@p.example', 'proxy').authorization).toBe(`Basic ${Buffer.from('user:').toString('base64')}`);
    expect(parseProxyUrl('http://:pw@p.example', 'proxy').authorization).toBe(`Basic ${Buffer.from(':pw').toString('base64')}`);
  });

  it('refuses other schemes, junk and control characters, naming where the value came from and never quoting it', () => {
    const https = configError(() => parseProxyUrl('https://user:hunter2@p.example', 'HTTPS_PROXY'));
    expect(https.option).toBe('proxy');
    expect(https.message).toContain('the value of HTTPS_PROXY is a https proxy; only http:// proxies are supported');
    expect(https.message).not.toContain('hunter2');
    expect(configError(() => parseProxyUrl('socks5://p.example', 'proxy')).message).toContain('the proxy option is a socks5 proxy');
    expect(configError(() => parseProxyUrl('http://p.exa mple', 'proxy')).message).toContain('the proxy option is not a valid proxy URL; expected http://host:port');
    expect(configError(() => parseProxyUrl('http://u:%E0%A4%A@p.example', 'proxy')).message).toContain('is not a valid proxy URL');
    const control = configError(() => parseProxyUrl('http://p.example\n', 'http_proxy'));
    expect(control.option).toBe('proxy');
    expect(control.message).toContain('the value of http_proxy contains control characters');
    expect(configError(() => parseProxyUrl('http://p.example\x7f', 'proxy')).message).toContain('contains control characters');
  });
});

describe('which proxy the client uses', () => {
  const env = { HTTPS_PROXY: 'http://secure-proxy:1', HTTP_PROXY: 'http://plain-proxy:2', NO_PROXY: 'direct.example' };

  it('with a dispatcher: none, and a proxy option besides it is refused', () => {
    expect(resolveProxy(undefined, true, env, [])).toBeUndefined();
    expect(resolveProxy(false, true, env, [])).toBeUndefined();
    const e = configError(() => resolveProxy('env', true, env, []));
    expect(e.option).toBe('proxy');
    expect(e.message).toContain('give the proxy either as proxy or inside your own dispatcher');
  });

  it("'env': HTTPS_PROXY for https, HTTP_PROXY for http, no fallback, NO_PROXY; lower case first", () => {
    const s = resolveProxy('env', false, env, [])!;
    expect(proxyFor(s, new URL('https://as.example/t'))?.host).toBe('secure-proxy');
    expect(proxyFor(s, new URL('http://as.example/t'))?.host).toBe('plain-proxy');
    expect(proxyFor(s, new URL('https://direct.example/t'))).toBeUndefined();
    expect(proxyFor(s, new URL('ftp://as.example/t'))).toBeUndefined();
    const httpsOnly = resolveProxy('env', false, { HTTPS_PROXY: 'http://secure-proxy:1' }, [])!;
    expect(proxyFor(httpsOnly, new URL('http://as.example/t'))).toBeUndefined();
    const lower = resolveProxy('env', false, { https_proxy: 'http://lower:1', HTTPS_PROXY: 'http://upper:1', no_proxy: 'a.example', NO_PROXY: 'b.example' }, [])!;
    expect(lower.https?.host).toBe('lower');
    expect(lower.noProxy).toEqual([{ domain: 'a.example' }]);
    const blankLower = resolveProxy('env', false, { https_proxy: '  ', HTTPS_PROXY: ' http://upper:1 ' }, [])!;
    expect(blankLower.https?.host).toBe('upper');
    expect(resolveProxy('env', false, {}, [])).toBeUndefined();
    expect(resolveProxy('env', false, { HTTPS_PROXY: '   ' }, [])).toBeUndefined();
    expect(resolveProxy('env', false, { http_proxy: 'http://lower:2', HTTP_PROXY: 'http://upper:2' }, [])!.http?.host).toBe('lower');
    expect(resolveProxy('env', false, { HTTPS_PROXY: 'http://secure-proxy:1' }, [])!.noProxy).toEqual([]);
    expect(resolveProxy('env', false, { NO_PROXY: '*' }, [])).toBeUndefined();
  });

  it("without the option: the environment only under Node's NODE_USE_ENV_PROXY=1 or --use-env-proxy; false never", () => {
    expect(resolveProxy(undefined, false, env, [])).toBeUndefined();
    expect(resolveProxy(undefined, false, { ...env, NODE_USE_ENV_PROXY: '1' }, [])?.https?.host).toBe('secure-proxy');
    expect(resolveProxy(undefined, false, { ...env, NODE_USE_ENV_PROXY: '0' }, [])).toBeUndefined();
    expect(resolveProxy(undefined, false, env, ['--use-env-proxy'])?.http?.host).toBe('plain-proxy');
    expect(resolveProxy(undefined, false, { ...env, NODE_OPTIONS: '--max-old-space-size=100  --use-env-proxy' }, [])?.http?.host).toBe('plain-proxy');
    expect(resolveProxy(false, false, { ...env, NODE_USE_ENV_PROXY: '1' }, ['--use-env-proxy'])).toBeUndefined();
    expect(nodeUsesEnvProxy({ NODE_OPTIONS: '--use-env-proxy-not' }, [])).toBe(false);
    expect(nodeUsesEnvProxy({}, ['--use-env-proxy=1'])).toBe(false);
  });

  it('a proxy URL serves both schemes, with no NO_PROXY; anything else is refused', () => {
    for (const value of ['http://one:3', new URL('http://one:3')]) {
      const s = resolveProxy(value, false, env, [])!;
      expect(s.https?.host).toBe('one');
      expect(s.http?.host).toBe('one');
      expect(s.noProxy).toEqual([]);
      expect(proxyFor(s, new URL('https://direct.example/'))?.host).toBe('one');
    }
    const e = configError(() => resolveProxy(3128, false, env, []));
    expect(e.message).toContain("must be 'env' (HTTPS_PROXY, HTTP_PROXY and NO_PROXY), a proxy URL such as http://proxy.internal:3128, or false");
    expect(() => resolveProxy(true, false, env, [])).toThrow(ConfigurationError);
  });
});
