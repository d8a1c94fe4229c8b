import type { ParsedTokenRequest } from './parse-token-request.js';

/** An organization the mock knows, by id and optionally by name (Auth0 accepts either in `organization`). */
export interface MockOrganization {
  /** The organization id, e.g. `org_abc`. */
  id: string;
  /** Its name, accepted as `organization` too. */
  name?: string;
}

/** What the mock token endpoint allows: one client, and allow-lists like an Auth0 tenant's settings. */
export interface EndpointPolicy {
  clientId: string;
  clientSecret: string;
  /** APIs that exist; `undefined` allows any audience. */
  audiences: readonly string[] | undefined;
  /** Used when a request has no audience, like an Auth0 tenant's default audience. */
  defaultAudience: string | undefined;
  /** Organizations the client may ask for; `undefined` allows any. */
  organizations: readonly MockOrganization[] | undefined;
  /** Scopes granted to the client; `undefined` grants whatever is asked. */
  scopes: readonly string[] | undefined;
}

/** What to answer: the token's parameters, or an RFC 6749 §5.2 error. */
export type Decision =
  | { ok: true; clientId: string; audience: string; organization: MockOrganization | undefined; scope: readonly string[] }
  | { ok: false; status: number; error: string; description: string; basicChallenge: boolean };

/**
 * Checks a client_credentials request in the order Auth0 does: client authentication, grant type,
 * audience, organization, scope. Descriptions follow Auth0's wording where it has one.
 */
export function decide(request: ParsedTokenRequest, policy: EndpointPolicy): Decision {
  const basicChallenge = request.clientAuthentication === 'client_secret_basic';
  const fail = (status: number, error: string, description: string): Decision => ({ ok: false, status, error, description, basicChallenge });
  const one = (name: string) => request.params.get(name)?.[0];

  if (request.malformedBody) return fail(400, 'invalid_request', 'The request body could not be parsed');
  if (request.clientAuthentication === 'multiple') return fail(400, 'invalid_request', 'Use only one client authentication method');
  if (request.credentialsProblem) return fail(401, 'invalid_client', request.credentialsProblem);
  if (request.clientAuthentication === 'client_assertion') {
    return fail(401, 'invalid_client', 'This mock token endpoint supports client_secret_post and client_secret_basic only');
  }
  if (request.clientId === undefined || request.clientAuthentication === 'none') return fail(401, 'invalid_client', 'Client authentication is required');
  if (request.clientId !== policy.clientId) return fail(401, 'invalid_client', `Unknown client: ${request.clientId}`);
  if (request.clientSecret !== policy.clientSecret) return fail(401, 'invalid_client', 'Client authentication failed');

  const grantType = one('grant_type');
  if (grantType === undefined) return fail(400, 'invalid_request', 'Missing required parameter: grant_type');
  if (grantType !== 'client_credentials') return fail(400, 'unsupported_grant_type', `Unsupported grant type: ${grantType}`);

  const audience = one('audience') ?? policy.defaultAudience;
  if (audience === undefined) {
    return fail(403, 'access_denied', 'No audience parameter was provided, and no default audience has been configured');
  }
  if (policy.audiences && !policy.audiences.includes(audience)) return fail(403, 'access_denied', `Service not found: ${audience}`);

  const asked = one('organization');
  let organization: MockOrganization | undefined;
  if (asked !== undefined) {
    organization = policy.organizations ? policy.organizations.find((o) => o.id === asked || o.name === asked) : { id: asked };
    if (!organization) return fail(403, 'access_denied', `Client is not authorized to access organization "${asked}"`);
  }

  const requested = (one('scope') ?? '').split(/\s+/).filter(Boolean);
  if (requested.length > 0 && policy.scopes) {
    const missing = requested.filter((s) => !policy.scopes!.includes(s));
    if (missing.length > 0) return fail(403, 'access_denied', `Client has not been granted scopes: ${missing.join(', ')}`);
  }
  // Auth0 grants every scope of the client grant when none is asked for.
  const scope = requested.length > 0 ? requested : (policy.scopes ?? []);
  return { ok: true, clientId: policy.clientId, audience, organization, scope };
}
