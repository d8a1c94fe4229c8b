// Help texts of the m2m-token command line. Plain strings: printing them loads nothing else.

const CONFIG = `Configuration (environment; flags override):
  M2M_DOMAIN / AUTH0_DOMAIN   Auth0 tenant domain          --domain <domain>
  M2M_ISSUER                  issuer, with discovery       --issuer <url>
  M2M_TOKEN_ENDPOINT          token endpoint URL           --token-endpoint <url>
  M2M_CLIENT_ID               client id                    --client-id <id>
  M2M_CLIENT_SECRET           client secret                --client-secret-file <path|->
  M2M_CLIENT_SECRET_FILE      file holding the secret
  M2M_PRIVATE_KEY             PEM, or a PEM file's path    --private-key-file <path|->
  M2M_PRIVATE_KEY_FILE        file holding the PEM
  M2M_PRIVATE_KEY_ID          kid of the key
  M2M_PRIVATE_KEY_ALG         RS256, PS256, ES256, EdDSA, …
  M2M_CLIENT_AUTHENTICATION   client_secret_post, …        --auth-method <method>
  M2M_AUDIENCE                audience (API identifier)    --audience <aud>
  M2M_ORGANIZATION            Auth0 organization           --organization <org>
  M2M_SCOPE                   space-separated scopes       --scope <scopes>

Secrets are never accepted as arguments (they would show in \`ps\` and shell history): use the
environment, a file, or \`-\` to read standard input.`;

const EXIT = `Exit status:
  0  success
  1  the command failed: token request refused or failed, a doctor check failed,
     a signature or claim did not verify
  2  usage or configuration error: unknown command or option, a secret given as an
     argument, missing or inconsistent configuration (M2M_INVALID_OPTION)`;

export const HELP: Record<string, string> = {
  main: `Usage: m2m-token <command> [options]

OAuth 2.0 client_credentials tokens from the command line, with the m2m-token library.

Commands:
  token     get a token; print its metadata and decoded claims (not the token)
  header    print the Authorization header value
  decode    print the header and claims of a JWT
  doctor    check a configuration end to end, with the fix for each failure

Options:
  -h, --help     help (also: m2m-token <command> --help)
  -v, --version  print the version

Examples:
  export M2M_DOMAIN=tenant.eu.auth0.com M2M_CLIENT_ID=abc M2M_AUDIENCE=https://api
  export M2M_CLIENT_SECRET_FILE=/run/secrets/m2m
  m2m-token doctor
  curl -H "Authorization: $(m2m-token header)" https://api.example.com/v1/things

${CONFIG}

${EXIT}

Colours only on a terminal; NO_COLOR=1 turns them off.`,
  token: `Usage: m2m-token token [options]

Gets a token (cache, retries, discovery, every client authentication method) and prints its
metadata and decoded claims. The token itself is printed only with --raw.

Options:
  --raw          print only the access token (for scripts)
  --json         print one JSON object: tokenType, expiresIn, expiresAt, scope, quota, header, claims
  --audience, --organization, --scope, --domain, --issuer, --token-endpoint, --client-id,
  --auth-method, --client-secret-file, --private-key-file   (see below)

Examples:
  m2m-token token
  m2m-token token --json | jq .claims.aud
  TOKEN=$(m2m-token token --raw --audience https://billing)
  m2m-token token --client-secret-file - < secret.txt

${CONFIG}

${EXIT}`,
  header: `Usage: m2m-token header [options]

Prints the Authorization header value ("Bearer eyJ…") for the configured token.

Examples:
  curl -H "Authorization: $(m2m-token header)" https://api.example.com/v1/things
  m2m-token header --audience https://reports

Options: the configuration options of \`m2m-token token\` (see below).

${CONFIG}

${EXIT}`,
  decode: `Usage: m2m-token decode [jwt|-] [--jwks <url> | --issuer <url>] [--audience <aud>] [--json]

Prints the header and claims of a JWT, and its expiry in words. With no argument or \`-\`, reads the
JWT from standard input. The signature is verified only with --jwks (a JWKS URL) or --issuer (its
discovery metadata gives the JWKS, and the token's iss must match).

Options:
  --jwks <url>       verify the signature against this JWKS
  --issuer <url>     verify against the issuer's JWKS, and check iss
  --audience <aud>   with verification: also check aud
  --json             print one JSON object

Examples:
  m2m-token decode eyJhbGciOi…
  m2m-token token --raw | m2m-token decode -
  m2m-token decode "$TOKEN" --issuer https://tenant.eu.auth0.com/ --audience https://api

${EXIT}`,
  doctor: `Usage: m2m-token doctor [options]

Checks a configuration end to end and prints a checklist with the fix for each failure:
  configuration   the environment and flags make a valid client
  endpoint        DNS, TLS, the endpoint or discovery metadata, issuer match
  auth method     the method chosen, and whether the server allows it
  clock           skew against the server's Date header
  token request   the server issues a token for these credentials
  response        token_type, lifetime
  claims          aud, org_id, scope of a JWT against what was asked
  quota           Auth0 quota and rate-limit headers
Exits 1 when any check fails.

Options:
  --json     print one JSON object: { ok, checks: [{ name, status, detail, fix }] }
  and the configuration options of \`m2m-token token\` (see below).

Examples:
  m2m-token doctor
  M2M_AUDIENCE=https://billing m2m-token doctor --json

${CONFIG}

${EXIT}`,
};
