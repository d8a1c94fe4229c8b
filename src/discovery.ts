import { ErrorCode, TokenClientError, TokenResponseError } from './errors.js';
import { checkEndpointUrl } from './options.js';
import { header, type HttpResponse } from './token-response.js';
import type { HttpRequest, Transport } from './transport.js';
import type { Milliseconds } from './types.js';

/** What the client needs from RFC 8414 / OpenID Connect Discovery metadata. */
export interface ServerMetadata {
  issuer: string;
  tokenEndpoint: URL;
  /** `token_endpoint_auth_methods_supported`, or undefined when the server did not say. */
  authMethods: readonly string[] | undefined;
  /** `mtls_endpoint_aliases.token_endpoint` (RFC 8705 §5), for requests that carry a client certificate. */
  mtlsTokenEndpoint: URL | undefined;
}

// Metadata that names another issuer: refused, and not a reason to try the other well-known location.
const issuerMismatches = new WeakSet<Error>();
const mismatch = (error: TokenResponseError) => {
  issuerMismatches.add(error);
  return error;
};

/** How long fetched metadata is trusted before it is fetched again. */
export const METADATA_TTL: Milliseconds = 60 * 60 * 1000;

/**
 * Where the metadata lives: RFC 8414 §3.1 inserts `/.well-known/oauth-authorization-server` between host and
 * path; OpenID Connect Discovery appends `/.well-known/openid-configuration` to the issuer. Both are tried.
 */
export function metadataUrls(issuer: URL): URL[] {
  const path = issuer.pathname === '/' ? '' : issuer.pathname.replace(/\/$/, '');
  return [
    new URL(`/.well-known/oauth-authorization-server${path}`, issuer.origin),
    new URL(`${path}/.well-known/openid-configuration`, issuer.origin),
  ];
}

/** Validates a metadata response. The `issuer` must equal the configured one (RFC 8414 §3.3), else it is refused. */
export function parseMetadata(response: HttpResponse, url: URL, expectedIssuer: string, allowInsecureHttp: boolean): ServerMetadata {
  const fail = (what: string) =>
    new TokenResponseError(ErrorCode.DISCOVERY_FAILED, response.status, `Discovery at ${url.href} ${what}; check the issuer option.`, {
      endpoint: url.origin,
    });
  if (response.status !== 200) {
    throw fail(`answered HTTP ${response.status} (${header(response.headers, 'content-type') ?? 'no content type'})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(response.body);
  } catch {
    throw fail('did not answer with JSON');
  }
  const m = json as Record<string, unknown> | null;
  if (m === null || typeof m !== 'object') throw fail('did not answer with a JSON object');
  // Identical per RFC 8414 §3.3, but for one trailing slash: Auth0's issuer ends in one, users often drop it.
  if (typeof m.issuer !== 'string' || m.issuer.replace(/\/$/, '') !== expectedIssuer.replace(/\/$/, '')) {
    throw mismatch(fail(`names issuer ${shownIssuer(m.issuer)}, not the configured ${JSON.stringify(expectedIssuer)} (a mismatch could mean a spoofed or misconfigured server)`));
  }
  const endpoint = (value: unknown, name: string): URL | undefined => {
    if (value === undefined) return undefined;
    try {
      if (typeof value !== 'string') throw new Error();
      const parsed = new URL(value);
      checkEndpointUrl(parsed, name, allowInsecureHttp);
      return parsed;
    } catch (error) {
      if (error instanceof TokenClientError) throw fail(`has an unusable ${name}: ${error.message}`);
      throw fail(`has an invalid ${name}`);
    }
  };
  const tokenEndpoint = endpoint(m.token_endpoint, 'token_endpoint');
  if (tokenEndpoint === undefined) throw fail('has no token_endpoint');
  const methods = m.token_endpoint_auth_methods_supported;
  const aliases = m.mtls_endpoint_aliases as Record<string, unknown> | undefined;
  return {
    issuer: m.issuer,
    tokenEndpoint,
    authMethods: Array.isArray(methods) ? methods.filter((x): x is string => typeof x === 'string') : undefined,
    mtlsTokenEndpoint: aliases && typeof aliases === 'object' ? endpoint(aliases.token_endpoint, 'mtls_endpoint_aliases.token_endpoint') : undefined,
  };
}

/**
 * Fetches the metadata once and shares it: concurrent callers wait for one fetch, a failure is not kept (the
 * next call tries again), and a success is kept for {@link METADATA_TTL}.
 */
export class Discovery {
  readonly #issuer: URL;
  readonly #configured: string;
  readonly #transport: Transport;
  readonly #allowInsecureHttp: boolean;
  readonly #userAgent: string;
  #current: { metadata: Promise<ServerMetadata>; fetchedAt: number } | undefined;

  constructor(issuer: string, transport: Transport, allowInsecureHttp: boolean, userAgent: string) {
    this.#configured = issuer;
    this.#issuer = new URL(issuer);
    this.#transport = transport;
    this.#allowInsecureHttp = allowInsecureHttp;
    this.#userAgent = userAgent;
  }

  /** The metadata; a fetch it has to start ends by `deadline` (a `performance.now()` time). */
  metadata(deadline: number): Promise<ServerMetadata> {
    const current = this.#current;
    if (current && performance.now() - current.fetchedAt < METADATA_TTL) return current.metadata;
    const metadata = this.#fetch(deadline);
    const entry = { metadata, fetchedAt: performance.now() };
    this.#current = entry;
    metadata.catch(() => {
      if (this.#current === entry) this.#current = undefined;
    });
    return metadata;
  }

  /** Forget the metadata, e.g. after the token endpoint it named could not be reached. */
  invalidate(): void {
    this.#current = undefined;
  }

  async #fetch(deadline: number): Promise<ServerMetadata> {
    let lastError: unknown;
    for (const url of metadataUrls(this.#issuer)) {
      const request: HttpRequest = {
        url,
        method: 'GET',
        headers: { accept: 'application/json', 'user-agent': this.#userAgent },
        label: 'discovery document at',
      };
      try {
        return await this.#transport.send(
          () => request,
          (response) => parseMetadata(response, url, this.#configured, this.#allowInsecureHttp),
          deadline,
        );
      } catch (error) {
        lastError = error;
        // A 404, or anything but metadata, at the RFC 8414 location (a catch-all web page answers 200 with
        // HTML): try the OpenID one. Metadata naming another issuer is final, as are network failures.
        if (!(error instanceof TokenResponseError && error.code === ErrorCode.DISCOVERY_FAILED) || issuerMismatches.has(error)) break;
      }
    }
    throw lastError;
  }
}

/** A received issuer for a message: quoted when it is a plain URL (what an issuer must be), else only described. */
function shownIssuer(issuer: unknown): string {
  if (typeof issuer !== 'string') return `of type ${issuer === null ? 'null' : typeof issuer}`;
  let plain: boolean;
  try {
    plain = issuer.length <= 200 && /^https?:\/\/[\x21-\x7e]+$/.test(issuer) && new URL(issuer).protocol.startsWith('http');
  } catch {
    plain = false;
  }
  return plain ? JSON.stringify(issuer) : `(${issuer.length} characters, not an http(s) URL)`;
}
