/**
 * One fine-grained token quota of the mock endpoint, like Auth0's `token_quota.client_credentials`: how many tokens
 * may be issued per UTC hour and per UTC day, and whether going over is refused.
 */
export interface MockQuota {
  /** Tokens per UTC hour (the `per_hour` bucket, reset at each full hour). */
  perHour?: number;
  /** Tokens per UTC day (the `per_day` bucket, reset at each UTC midnight). */
  perDay?: number;
  /**
   * `true`: a request once a bucket is used up gets a 429 (`too_many_requests`) and no token. `false`: tokens are
   * still issued, and the headers show 0 remaining (Auth0's monitoring mode).
   * @default true
   */
  enforce?: boolean;
}

/** The quotas of {@link MockTokenEndpointOptions.quotas}. */
export interface MockQuotas {
  /** The application's quota: every token the client gets counts. Sent as `Auth0-Client-Quota-Limit`. */
  client?: MockQuota;
  /**
   * Each organization's quota: tokens requested with an `organization` count against that organization (by id, so
   * a name and an id of the same organization share it). Sent as `Auth0-Organization-Quota-Limit`.
   */
  organization?: MockQuota;
}

interface Bucket {
  name: 'per_hour' | 'per_day';
  limit: number;
  period: number;
}

const HOUR = 3_600_000;
const DAY = 86_400_000;

/** What the quotas say about one token request: refused or not, and the headers to send. */
export interface QuotaVerdict {
  refused: boolean;
  /** Which header's bucket refused it, for the error description. */
  refusedBy: 'client' | 'organization' | undefined;
  headers: Record<string, string>;
}

/** Counts issued tokens per bucket window, per organization, on the endpoint's clock. */
export class QuotaCounter {
  readonly #client: { buckets: Bucket[]; enforce: boolean } | undefined;
  readonly #organization: { buckets: Bucket[]; enforce: boolean } | undefined;
  /** `scope|organization|bucket|window start` → tokens issued. */
  readonly #issued = new Map<string, number>();

  constructor(quotas: MockQuotas | undefined) {
    this.#client = quotas?.client && resolve(quotas.client, 'client');
    this.#organization = quotas?.organization && resolve(quotas.organization, 'organization');
  }

  /**
   * Decides a request that would otherwise get a token: refused when an enforced bucket (the client's or the
   * organization's) is used up; otherwise counted in every bucket. Headers show the state after this request.
   */
  take(organization: string | undefined, now: number): QuotaVerdict {
    const scopes: { scope: 'client' | 'organization'; org: string; quota: { buckets: Bucket[]; enforce: boolean } }[] = [];
    if (this.#client) scopes.push({ scope: 'client', org: '', quota: this.#client });
    if (this.#organization && organization !== undefined) scopes.push({ scope: 'organization', org: organization, quota: this.#organization });
    let refusedBy: QuotaVerdict['refusedBy'];
    for (const { scope, org, quota } of scopes) {
      if (quota.enforce && quota.buckets.some((b) => this.#used(scope, org, b, now) >= b.limit)) {
        refusedBy ??= scope;
      }
    }
    if (refusedBy === undefined) {
      for (const { scope, org, quota } of scopes) for (const b of quota.buckets) this.#issued.set(this.#id(scope, org, b, now), this.#used(scope, org, b, now) + 1);
    }
    const headers: Record<string, string> = {};
    for (const { scope, org, quota } of scopes) {
      const value = quota.buckets
        .map((b) => {
          const resetIn = Math.ceil((windowStart(b, now) + b.period - now) / 1000);
          return `b=${b.name};q=${b.limit};r=${Math.max(0, b.limit - this.#used(scope, org, b, now))};t=${resetIn}`;
        })
        .join(',');
      headers[scope === 'client' ? 'auth0-client-quota-limit' : 'auth0-organization-quota-limit'] = value;
    }
    return { refused: refusedBy !== undefined, refusedBy, headers };
  }

  /** Forgets every count. */
  reset(): void {
    this.#issued.clear();
  }

  #used(scope: string, org: string, bucket: Bucket, now: number): number {
    return this.#issued.get(this.#id(scope, org, bucket, now)) ?? 0;
  }

  #id(scope: string, org: string, bucket: Bucket, now: number): string {
    return `${scope}\n${org}\n${bucket.name}\n${windowStart(bucket, now)}`;
  }
}

function windowStart(bucket: Bucket, now: number): number {
  return Math.floor(now / bucket.period) * bucket.period;
}

function resolve(quota: MockQuota, which: string): { buckets: Bucket[]; enforce: boolean } {
  const buckets: Bucket[] = [];
  for (const [name, value, period] of [['per_hour', quota.perHour, HOUR], ['per_day', quota.perDay, DAY]] as const) {
    if (value === undefined) continue;
    if (!(Number.isInteger(value) && value >= 1)) throw new RangeError(`mockTokenEndpoint: quotas.${which}.${name === 'per_hour' ? 'perHour' : 'perDay'} must be a whole number ≥ 1, got ${value}.`);
    buckets.push({ name, limit: value, period });
  }
  if (buckets.length === 0) throw new TypeError(`mockTokenEndpoint: quotas.${which} needs perHour, perDay or both.`);
  return { buckets, enforce: quota.enforce ?? true };
}
