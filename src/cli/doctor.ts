// `m2m-token doctor`: checks a configuration end to end and prints a checklist, with the fix for each failure.
import type { Token, TokenClient, TokenClientOptions } from '../index.js';
import type { DoctorTools, Library } from './commands.js';
import { checkToken, clockCheck, endpointVariable, metadataUrls, networkFix, PROBE_TIMEOUT, tokenFailure, words, type Probe, type Status } from './advice.js';
import { EXIT, type ParsedValues } from './shared.js';

export interface Check {
  name: string;
  status: Status;
  detail: string;
  fix?: string;
}

const ORDER = ['configuration', 'endpoint', 'discovery', 'clock', 'token request', 'auth method', 'response', 'claims', 'quota'];

/** One plain GET, for reachability (DNS, TLS, TCP), the status and the server's Date header. */
async function probe(url: string): Promise<Probe> {
  const sent = Date.now();
  try {
    const response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(PROBE_TIMEOUT), headers: { accept: 'application/json' } });
    const body = await response.text().catch(() => '');
    const received = Date.now();
    const date = Date.parse(response.headers.get('date') ?? '');
    // The server stamped its Date somewhere between sending and receiving: compare with the midpoint.
    return { url, status: response.status, body, ...(Number.isNaN(date) ? {} : { date: date - (sent + received) / 2 }) };
  } catch (error) {
    let cause = error as { code?: string; message?: string; cause?: unknown; name?: string };
    while (cause.cause && typeof cause.cause === 'object') cause = cause.cause as typeof cause;
    const code = cause.name === 'TimeoutError' || cause.name === 'AbortError' ? 'TIMEOUT' : typeof cause.code === 'string' ? cause.code : 'NETWORK_ERROR';
    return { url, error: { code, message: cause.message ?? String(error) } };
  }
}

export async function doctor(values: ParsedValues, tools: DoctorTools): Promise<number> {
  const checks = new Map<string, Check>();
  const add = (name: string, status: Status, detail: string, fix?: string) => void checks.set(name, { name, status, detail, ...(fix === undefined ? {} : { fix }) });

  let lib: Library;
  let options: TokenClientOptions;
  let client: TokenClient | undefined;
  try {
    const env = await tools.configEnv(values);
    lib = await tools.library();
    options = tools.optionsFromEnv(env);
    client = new lib.TokenClient({ ...options, retry: false });
    const json = client.toJSON() as { tokenEndpoint?: string; issuer?: string };
    const credential = options.clientAssertion !== undefined ? 'private key' : options.tls !== undefined ? 'TLS certificate' : 'client secret';
    const parts = [
      `client ${options.clientId}`,
      json.issuer !== undefined ? `issuer ${json.issuer}` : `token endpoint ${json.tokenEndpoint}`,
      credential,
      ...(options.audience === undefined ? [] : [`audience ${options.audience}`]),
      ...(options.organization === undefined ? [] : [`organization ${options.organization}`]),
      ...(options.scope === undefined ? [] : [`scope ${words(options.scope).join(' ')}`]),
    ];
    add('configuration', 'pass', parts.join(', '));
  } catch (error) {
    const e = error as { code?: string; message?: string; option?: string };
    add('configuration', 'fail', `${e.code ?? 'error'}: ${e.message ?? String(error)}`, `${e.option ? `fix ${e.option}; ` : ''}the names are listed in \`m2m-token doctor --help\` and docs/cli.md`);
    return report(checks, values, tools);
  }

  try {
    const json = client.toJSON() as { tokenEndpoint?: string; issuer?: string };
    const variable = endpointVariable(options);
    const dates: number[] = [];
    let metadata: Record<string, unknown> | undefined;
    let tokenEndpoint = json.tokenEndpoint;

    // Discovery: required with an issuer; tried (and optional) for an Auth0 domain, whose metadata is at its root.
    const discoveryIssuer = json.issuer ?? (options.domain !== undefined && tokenEndpoint !== undefined ? `${new URL(tokenEndpoint).origin}/` : undefined);
    let unreachable: Probe | undefined;
    if (discoveryIssuer !== undefined) {
      const tried: string[] = [];
      for (const url of metadataUrls(discoveryIssuer)) {
        const p = await probe(url);
        if (p.date !== undefined) dates.push(p.date);
        if (p.error) {
          unreachable = p;
          break;
        }
        tried.push(`${url} (HTTP ${p.status})`);
        if (p.status !== 200) continue;
        try {
          metadata = JSON.parse(p.body ?? '') as Record<string, unknown>;
        } catch {
          tried[tried.length - 1] = `${url} (not JSON)`;
          continue;
        }
        break;
      }
      if (unreachable) {
        add('endpoint', 'fail', `${unreachable.url}: ${unreachable.error!.code}`, networkFix(unreachable, variable));
      } else if (metadata === undefined) {
        if (json.issuer !== undefined) add('discovery', 'fail', `no metadata: ${tried.join(', ')}`, `M2M_ISSUER must be the issuer URL whose /.well-known/openid-configuration or RFC 8414 metadata exists; or set M2M_TOKEN_ENDPOINT instead`);
        else add('discovery', 'skip', `no metadata at ${discoveryIssuer} (optional with a domain)`);
      } else {
        const named = metadata.issuer;
        const expected = json.issuer ?? discoveryIssuer;
        if (typeof named !== 'string' || named.replace(/\/$/, '') !== expected.replace(/\/$/, '')) {
          if (json.issuer !== undefined) {
            add('discovery', 'fail', `issuer mismatch: the metadata names ${JSON.stringify(named)}, the configuration says ${JSON.stringify(expected)}`,
              `set M2M_ISSUER=${String(named)} exactly as the metadata names it (scheme, host, port and path); if that is not the server you meant, the URL points at the wrong server`);
          } else {
            add('discovery', 'skip', `the metadata at ${discoveryIssuer} names another issuer (${JSON.stringify(named)}): not used with a domain`);
          }
          metadata = undefined;
        } else {
          add('discovery', 'pass', `issuer ${named}, token endpoint ${String(metadata.token_endpoint)}`);
          if (json.issuer !== undefined && typeof metadata.token_endpoint === 'string') tokenEndpoint = metadata.token_endpoint;
        }
      }
    } else {
      add('discovery', 'skip', 'a token endpoint URL is configured: no discovery');
    }

    if (!unreachable && tokenEndpoint !== undefined && checks.get('discovery')?.status !== 'fail') {
      const p = await probe(tokenEndpoint);
      if (p.date !== undefined) dates.push(p.date);
      if (p.error) add('endpoint', 'fail', `${tokenEndpoint}: ${p.error.code}`, networkFix(p, variable));
      // A token endpoint answers only POST: any HTTP answer to a GET proves DNS, TCP and TLS; the token request tells the rest.
      else add('endpoint', 'pass', `${tokenEndpoint} reachable (${new URL(tokenEndpoint).protocol === 'https:' ? 'TLS ok, ' : ''}GET answered HTTP ${p.status})`);
    } else if (!checks.has('endpoint')) {
      add('endpoint', unreachable ? 'fail' : 'skip', 'not probed: discovery failed');
    }

    const clock = clockCheck(dates, tools.inWords);
    add('clock', clock.status, clock.detail, clock.fix);

    const allowed = Array.isArray(metadata?.token_endpoint_auth_methods_supported)
      ? (metadata.token_endpoint_auth_methods_supported as unknown[]).filter((m): m is string => typeof m === 'string')
      : undefined;

    if (checks.get('endpoint')?.status === 'fail' || checks.get('discovery')?.status === 'fail') {
      add('token request', 'skip', 'skipped: the endpoint checks failed');
    } else {
      const watch = await tools.watchRequests(lib);
      let token: Token | undefined;
      try {
        token = await client.getToken();
      } catch (error) {
        const method = watch.seen.at(-1)?.authMethod ?? options.clientAuthentication;
        const { detail, fix } = tokenFailure(error, options, method, allowed);
        add('token request', 'fail', detail, fix);
      } finally {
        watch.stop();
      }
      const method = watch.seen.at(-1)?.authMethod ?? options.clientAuthentication;
      if (method === undefined) add('auth method', 'skip', 'no request was sent');
      else if (allowed !== undefined && !allowed.includes(method)) {
        add('auth method', 'fail', `${method}, which the server's metadata does not list (${allowed.join(', ')})`, `set M2M_CLIENT_AUTHENTICATION to one of ${allowed.join(', ')} that the client is registered for`);
      } else {
        add('auth method', 'pass', `${method}${allowed ? ` (the server allows ${allowed.join(', ')})` : ' (the server publishes no list)'}`);
      }
      if (token) {
        add('token request', 'pass', `${token.tokenType} token issued`);
        await checkToken(token, options, tools, add);
      }
    }
  } finally {
    await client.close();
  }
  return report(checks, values, tools);
}

function report(checks: Map<string, Check>, values: ParsedValues, tools: DoctorTools): number {
  const list = ORDER.map((name) => checks.get(name) ?? { name, status: 'skip' as const, detail: 'skipped' });
  const ok = !list.some((c) => c.status === 'fail');
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ ok, checks: list })}\n`);
    return ok ? EXIT.OK : EXIT.FAILED;
  }
  const c = tools.paint(process.stdout);
  const mark: Record<Status, string> = { pass: c.green('ok  '), warn: c.yellow('warn'), fail: c.red('FAIL'), skip: c.dim('skip') };
  const width = Math.max(...list.map((x) => x.name.length));
  const lines = ['m2m-token doctor'];
  for (const check of list) {
    lines.push(`  ${mark[check.status]}  ${check.name.padEnd(width)}  ${check.detail}`);
    if (check.fix !== undefined && check.status !== 'pass') lines.push(`        ${' '.repeat(width)}  ${c.bold('fix:')} ${check.fix}`);
  }
  const count = (s: Status) => list.filter((x) => x.status === s).length;
  lines.push(`${count('pass')} ok, ${count('warn')} warnings, ${count('fail')} failed, ${count('skip')} skipped`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return ok ? EXIT.OK : EXIT.FAILED;
}
