import type { ClientAuthentication } from './options.js';
import type { TokenParams } from './token-params.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from './version.js';

/** Everything the transport needs to send one token request. Pure data. */
export interface TokenHttpRequest {
  url: URL;
  headers: Record<string, string>;
  /** `application/x-www-form-urlencoded`. Contains the client secret with `client_secret_post`. */
  body: string;
}

export interface ClientCredentials {
  clientId: string;
  clientSecret: string | undefined;
  clientAuthentication: ClientAuthentication;
}

/** Builds the client_credentials request (RFC 6749 §4.4.2) for one set of token parameters. */
export function buildTokenRequest(
  url: URL,
  credentials: ClientCredentials,
  params: TokenParams,
  userAgent: string,
): TokenHttpRequest {
  const form = new URLSearchParams();
  form.append('grant_type', 'client_credentials');
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
    'user-agent': userAgent,
  };
  const { clientId, clientSecret = '' } = credentials;
  if (credentials.clientAuthentication === 'client_secret_basic') {
    headers.authorization = basicAuthorization(clientId, clientSecret);
  } else {
    form.append('client_id', clientId);
    form.append('client_secret', clientSecret);
  }
  if (params.audience !== undefined) form.append('audience', params.audience);
  if (params.organization !== undefined) form.append('organization', params.organization);
  if (params.scope.length > 0) form.append('scope', params.scope.join(' '));
  for (const resource of params.resource) form.append('resource', resource);
  for (const [name, values] of params.extraParams) for (const value of values) form.append(name, value);
  return { url, headers, body: form.toString() };
}

/**
 * HTTP Basic credentials per RFC 6749 §2.3.1: id and secret are each form-urlencoded before base64, so that
 * `:`, `+`, `%`, spaces and non-ASCII characters survive. Many clients skip that step.
 */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString('base64')}`;
}

function formEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}

export function defaultUserAgent(product: string | undefined): string {
  const ours = `${PACKAGE_NAME}/${PACKAGE_VERSION} node/${process.versions.node}`;
  return product ? `${product} ${ours}` : ours;
}
