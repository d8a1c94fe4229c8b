// A tiny service under test: it calls a billing API with m2m tokens. Its code depends on TokenSource only,
// so tests can hand it a TokenClient pointed at a mocked endpoint, or a fake.
import { TokenClient, type Clock, type TokenSource } from 'm2m-token';

export interface Invoice {
  id: string;
  amount: number;
  currency: string;
}

/** The billing API answered with an error status. */
export class BillingApiError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = 'BillingApiError';
    this.status = status;
  }
}

export interface BillingClient {
  getInvoice(id: string): Promise<Invoice>;
}

/** The API client: a token from `tokenSource` on every call; on 401, drop the token and try once more. */
export function createBillingClient({ tokenSource, apiUrl }: { tokenSource: TokenSource; apiUrl: string }): BillingClient {
  async function get<T>(path: string): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const token = await tokenSource.getToken();
      const response = await fetch(new URL(path, apiUrl), {
        headers: { authorization: `${token.tokenType} ${token.accessToken}`, accept: 'application/json' },
      });
      if (response.status === 401 && attempt === 1 && tokenSource.invalidate) {
        await tokenSource.invalidate(); // the API refused the token (revoked, rotated keys): get a new one
        continue;
      }
      if (!response.ok) throw new BillingApiError(response.status, `GET ${path} failed with HTTP ${response.status}`);
      return (await response.json()) as T;
    }
  }
  return { getInvoice: (id) => get<Invoice>(`/invoices/${encodeURIComponent(id)}`) };
}

export interface BillingConfig {
  domain: string;
  clientId: string;
  clientSecret: string;
  audience: string;
  apiUrl: string;
  /** For tests: the time source of the token cache. */
  clock?: Clock;
}

/** How the app wires it in production: one TokenClient for the process. */
export function createBilling(config: BillingConfig): { billing: BillingClient; close(): Promise<void> } {
  const tokens = new TokenClient({
    domain: config.domain,
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    audience: config.audience,
    scope: 'read:invoices',
    ...(config.clock ? { clock: config.clock } : {}),
  });
  return { billing: createBillingClient({ tokenSource: tokens, apiUrl: config.apiUrl }), close: () => tokens.close() };
}
