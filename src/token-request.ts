import type { ClientAuthParts } from './client-auth.js';
import type { TokenParams } from './token-params.js';
import type { HttpRequest } from './transport.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from './version.js';

/** Builds the client_credentials request (RFC 6749 §4.4.2) for one set of token parameters. Pure. */
export function buildTokenRequest(url: URL, auth: ClientAuthParts, params: TokenParams, userAgent: string): HttpRequest {
  const form = new URLSearchParams();
  form.append('grant_type', 'client_credentials');
  for (const [name, value] of auth.form) form.append(name, value);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
    'user-agent': userAgent,
  };
  if (auth.authorization !== undefined) headers.authorization = auth.authorization;
  if (params.audience !== undefined) form.append('audience', params.audience);
  if (params.organization !== undefined) form.append('organization', params.organization);
  if (params.scope.length > 0) form.append('scope', params.scope.join(' '));
  for (const resource of params.resource) form.append('resource', resource);
  for (const [name, values] of params.extraParams) for (const value of values) form.append(name, value);
  const body = form.toString();
  // Set here, once per built request, rather than by the HTTP client on every send.
  headers['content-length'] = String(Buffer.byteLength(body));
  return {
    url,
    origin: url.origin,
    path: url.pathname + url.search,
    method: 'POST',
    headers,
    body,
    secrets: auth.secrets,
  };
}

export function defaultUserAgent(product: string | undefined): string {
  const ours = `${PACKAGE_NAME}/${PACKAGE_VERSION} node/${process.versions.node}`;
  return product ? `${product} ${ours}` : ours;
}
