/** How the client authenticated, as the mock token endpoint saw it. */
export type ObservedClientAuthentication =
  | 'client_secret_post'
  | 'client_secret_basic'
  /** `client_assertion` (private_key_jwt / client_secret_jwt): not supported by the mock, answered invalid_client. */
  | 'client_assertion'
  /** More than one method in one request: RFC 6749 §2.3 forbids it, answered invalid_request. */
  | 'multiple'
  | 'none';

/** A token request taken apart. Holds the secret: internal to the kit, never recorded as is. */
export interface ParsedTokenRequest {
  /** Every body parameter, repeated ones in order. */
  params: Map<string, string[]>;
  contentType: string | undefined;
  /** The body was JSON but did not parse, or was not an object of strings. */
  malformedBody: boolean;
  clientAuthentication: ObservedClientAuthentication;
  /** The client id from the Basic header or the body; `undefined` when none was sent. */
  clientId: string | undefined;
  /** The secret from the Basic header or the body. */
  clientSecret: string | undefined;
  /** Why the credentials could not be read (a malformed Basic header, ids that differ), if they could not. */
  credentialsProblem: string | undefined;
}

/** Reads a token request sent as a form (what RFC 6749 requires) or as JSON (which Auth0 also accepts). */
export async function parseTokenRequest(request: Request): Promise<ParsedTokenRequest> {
  const contentType = request.headers.get('content-type') ?? undefined;
  const text = await request.text();
  const { params, malformed } = /\bjson\b/i.test(contentType ?? '') ? jsonParams(text) : formParams(text);
  const one = (name: string) => params.get(name)?.[0];
  const basic = basicCredentials(request.headers.get('authorization'));
  const bodyId = one('client_id');
  const bodySecret = one('client_secret');
  const hasAssertion = params.has('client_assertion');

  const methods = [basic !== undefined, bodySecret !== undefined, hasAssertion].filter(Boolean).length;
  const clientAuthentication: ObservedClientAuthentication =
    methods > 1 ? 'multiple' : basic ? 'client_secret_basic' : bodySecret !== undefined ? 'client_secret_post' : hasAssertion ? 'client_assertion' : 'none';

  let credentialsProblem: string | undefined;
  let clientId = bodyId;
  let clientSecret = bodySecret;
  if (basic === 'malformed') {
    credentialsProblem = 'Malformed Basic authorization header';
  } else if (basic) {
    // RFC 6749 §3.2.1 lets a client also send client_id in the body; then it must be the same client.
    if (bodyId !== undefined && bodyId !== basic.clientId) credentialsProblem = 'client_id in the body does not match the Authorization header';
    clientId = basic.clientId;
    clientSecret = basic.clientSecret;
  }
  return { params, contentType, malformedBody: malformed, clientAuthentication, clientId, clientSecret, credentialsProblem };
}

/**
 * Basic credentials per RFC 6749 §2.3.1: base64 of `form-urlencode(id):form-urlencode(secret)`. Decoding
 * undoes both steps, so ids and secrets with `:`, `+`, `%` or non-ASCII characters come out as they went in.
 */
export function basicCredentials(header: string | null): { clientId: string; clientSecret: string } | 'malformed' | undefined {
  if (header === null) return undefined;
  const match = /^basic\s+([A-Za-z0-9+/]+={0,2})\s*$/i.exec(header);
  if (!match) return /^basic\b/i.test(header) ? 'malformed' : undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return 'malformed';
  const clientId = formDecode(decoded.slice(0, colon));
  const clientSecret = formDecode(decoded.slice(colon + 1));
  return clientId === undefined || clientSecret === undefined ? 'malformed' : { clientId, clientSecret };
}

function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

function formParams(text: string): { params: Map<string, string[]>; malformed: boolean } {
  const params = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(text)) params.set(name, [...(params.get(name) ?? []), value]);
  return { params, malformed: false };
}

function jsonParams(text: string): { params: Map<string, string[]>; malformed: boolean } {
  const params = new Map<string, string[]>();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { params, malformed: true };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { params, malformed: true };
  let malformed = false;
  for (const [name, value] of Object.entries(body)) {
    const values = Array.isArray(value) ? value : [value];
    if (values.every((v) => typeof v === 'string')) params.set(name, values as string[]);
    else malformed = true;
  }
  return { params, malformed };
}
