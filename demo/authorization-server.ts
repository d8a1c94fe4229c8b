// An embedded, certified OpenID Connect / OAuth 2.0 server (oidc-provider) on 127.0.0.1, for the demo and
// the interop tests. It issues JWT access tokens for the client_credentials grant with `aud` set to the
// requested resource (RFC 8707), and accepts every client authentication method the SDK speaks.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { errors, type ClientAuthMethod, type ClientMetadata, type KoaContextWithOIDC } from 'oidc-provider';

export interface RegisteredClient extends ClientMetadata {
  client_id: string;
  /** Space-separated scopes the client may be granted; asking for another known scope is `invalid_scope`. */
  scope?: string;
  token_endpoint_auth_method: ClientAuthMethod;
}

export interface ResourceServerConfig {
  /** Resource indicator, e.g. `https://api.local/`. Becomes the token's `aud`. */
  resource: string;
  /** Space-separated scopes this resource knows. */
  scope: string;
  /** Token lifetime in seconds. */
  accessTokenTTL?: number;
}

export interface AuthorizationServerOptions {
  clients: RegisteredClient[];
  resources: ResourceServerConfig[];
  /** Serve over HTTPS with these credentials and ask for client certificates (RFC 8705 mTLS). */
  tls?: { cert: string; key: string; ca: string };
  /** Path of the issuer, e.g. `/tenant-a`, to exercise RFC 8414 path insertion. */
  issuerPath?: string;
  /**
   * Serve the metadata at the RFC 8414 location with path insertion (`/.well-known/oauth-authorization-server{path}`).
   * oidc-provider mounted under a path serves it only after the path.
   */
  rfc8414?: boolean;
  /** Answer 404 at the RFC 8414 location, like servers that only do OpenID Connect Discovery. */
  openidConfigurationOnly?: boolean;
  /**
   * Also read Auth0's `audience` parameter as the resource indicator when a request sends no `resource`, so that
   * Auth0-style clients (`domain` + `audience`, as in the README's quickstart) get a JWT for that API. With
   * `issuerPath: '/oauth'` the token endpoint is at Auth0's `/oauth/token`.
   */
  audienceParameter?: boolean;
  /**
   * DPoP (RFC 9449): tokens requested with a proof are bound to its key (`token_type: DPoP`, `cnf.jkt`).
   * `requireNonce`: every proof must carry the server's nonce (a `400 use_dpop_nonce` hands it out).
   * `algorithms`: the proof algorithms accepted (oidc-provider's default: ES256, Ed25519, EdDSA).
   */
  dpop?: { requireNonce?: boolean; algorithms?: string[] };
}

export interface AuthorizationServer {
  issuer: string;
  tokenEndpoint: string;
  /** With TLS: the RFC 8705 alias of the token endpoint that the metadata advertises. */
  mtlsTokenEndpoint: string | undefined;
  jwksUri: string;
  /** Every request the server received, as `METHOD /path` (after the issuer path). */
  requests: string[];
  /** Token requests the server has answered, successful or not. */
  readonly tokenRequests: number;
  close(): Promise<void>;
}

const peer = (ctx: KoaContextWithOIDC) => ctx.socket as TLSSocket;

/** oidc-provider's storage, in memory: its built-in one works too but warns on every start. */
class MemoryAdapter {
  static readonly #store = new Map<string, { payload: Record<string, unknown>; expiresAt: number }>();
  readonly #name: string;
  constructor(name: string) {
    this.#name = name;
  }
  #key(id: string) {
    return `${this.#name}:${id}`;
  }
  async upsert(id: string, payload: Record<string, unknown>, expiresIn: number) {
    MemoryAdapter.#store.set(this.#key(id), { payload, expiresAt: Date.now() + expiresIn * 1000 });
  }
  async find(id: string) {
    const entry = MemoryAdapter.#store.get(this.#key(id));
    return entry && entry.expiresAt > Date.now() ? entry.payload : undefined;
  }
  async findByUid() {
    return undefined;
  }
  async findByUserCode() {
    return undefined;
  }
  async consume(id: string) {
    const entry = MemoryAdapter.#store.get(this.#key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id: string) {
    MemoryAdapter.#store.delete(this.#key(id));
  }
  async revokeByGrantId() {}
}

export async function startAuthorizationServer(options: AuthorizationServerOptions): Promise<AuthorizationServer> {
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(503).end();
  const server: Server = options.tls
    ? createHttpsServer({ ...options.tls, requestCert: true, rejectUnauthorized: false }, (req, res) => handler(req, res))
    : createHttpServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const issuer = `${origin}${options.issuerPath ?? ''}`;

  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: 'as-key-1', alg: 'RS256', use: 'sig' };
  const resources = new Map(options.resources.map((r) => [r.resource, r]));

  const mtlsTokenEndpoint = options.tls ? `${issuer}/mtls/token` : undefined;
  const allScopes = new Set(options.resources.flatMap((r) => r.scope.split(' ')));
  const provider = new Provider(issuer, {
    adapter: MemoryAdapter,
    scopes: [...allScopes],
    ttl: { ClientCredentials: (_ctx: unknown, token: { resourceServer?: { accessTokenTTL?: number } }) => token.resourceServer?.accessTokenTTL ?? 600 },
    discovery: mtlsTokenEndpoint ? { mtls_endpoint_aliases: { token_endpoint: mtlsTokenEndpoint } } : {},
    clients: options.clients.map((c) => ({ grant_types: ['client_credentials'], redirect_uris: [], response_types: [], ...c })),
    jwks: { keys: [signingKey] },
    ...(options.dpop?.algorithms ? { enabledJWA: { dPoPSigningAlgValues: options.dpop.algorithms as never } } : {}),
    clientAuthMethods: <ClientAuthMethod[]>[
      'client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt',
      // oidc-provider accepts the RFC 8705 methods only with mTLS enabled.
      ...(options.tls ? ['tls_client_auth', 'self_signed_tls_client_auth'] : []),
    ],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: false },
      dPoP: {
        enabled: Boolean(options.dpop),
        // Nonces are stateless HMACs under this secret, rotating with time.
        nonceSecret: randomBytes(32),
        requireNonce: () => options.dpop?.requireNonce ?? false,
      },
      revocation: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: (ctx, _client, oneOf) => {
          const audience = options.audienceParameter ? ctx.oidc.body?.audience : undefined;
          return oneOf ?? (typeof audience === 'string' ? audience : undefined);
        },
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => {
          const resource = resources.get(indicator);
          if (!resource) throw new errors.InvalidTarget();
          return { scope: resource.scope, audience: resource.resource, accessTokenTTL: resource.accessTokenTTL ?? 3600, accessTokenFormat: 'jwt' };
        },
      },
      mTLS: {
        enabled: Boolean(options.tls),
        tlsClientAuth: true,
        selfSignedTlsClientAuth: true,
        getCertificate: (ctx) => peer(ctx).getPeerX509Certificate()?.toString(),
        certificateAuthorized: (ctx) => peer(ctx).authorized,
        certificateSubjectMatches: (ctx, property, expected) =>
          property === 'tls_client_auth_subject_dn' && peer(ctx).getPeerX509Certificate()?.subject.replace(/\n/g, ',') === expected,
      },
    },
  });
  // Quiet in tests: a refused client is an expected outcome, not something to print.
  provider.on('server_error', () => {});

  const requests: string[] = [];
  const state: AuthorizationServer = {
    issuer,
    tokenEndpoint: `${issuer}/token`,
    mtlsTokenEndpoint,
    jwksUri: `${issuer}/jwks`,
    requests,
    get tokenRequests() {
      return requests.filter((r) => r.endsWith('/token')).length;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
  const callback = provider.callback();
  const prefix = options.issuerPath ?? '';
  handler = (req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (options.openidConfigurationOnly && req.url?.includes('/.well-known/oauth-authorization-server')) {
      res.writeHead(404).end();
      return;
    }
    if (options.rfc8414 && req.url === `/.well-known/oauth-authorization-server${prefix}`) {
      req.url = `${prefix}/.well-known/openid-configuration`;
    }
    // oidc-provider is mounted at the issuer path: strip it as a mounting framework would.
    if (prefix && req.url?.startsWith(prefix)) req.url = req.url.slice(prefix.length) || '/';
    if (req.url === '/mtls/token') req.url = '/token';
    callback(req, res);
  };
  return state;
}
