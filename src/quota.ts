import { ErrorCode, TokenClientError } from './errors.js';
import type { EpochMilliseconds, Milliseconds } from './types.js';

/** Whose quota a bucket counts: the application's (`Auth0-Client-Quota-Limit`) or the organization's (`Auth0-Organization-Quota-Limit`). */
export type QuotaScope = 'client' | 'organization';

/** One quota bucket from Auth0's quota headers, e.g. `b=per_hour;q=10;r=7;t=3540`. */
export interface QuotaBucket {
  /** Whose quota: the application's (`Auth0-Client-Quota-Limit`) or an organization's (`Auth0-Organization-Quota-Limit`). */
  readonly scope: QuotaScope;
  /** Auth0's bucket name: `per_hour` (resets at each full UTC hour) or `per_day` (at each UTC midnight). */
  readonly bucket: string;
  /** Tokens the bucket allows (`q`). */
  readonly limit: number;
  /** Tokens left in it (`r`). */
  readonly remaining: number;
  /** When it resets (`t` seconds after the request was sent), epoch ms. */
  readonly resetAt: EpochMilliseconds;
}

/** The `x-ratelimit-limit`, `x-ratelimit-remaining` and `x-ratelimit-reset` headers, where the server sent them. */
export interface RateLimitReading {
  /** `x-ratelimit-limit`: requests allowed in the window. */
  readonly limit: number | undefined;
  /** `x-ratelimit-remaining`: requests left in it. */
  readonly remaining: number | undefined;
  /** `x-ratelimit-reset` (epoch seconds, or seconds from now when small) as epoch ms. */
  readonly resetAt: EpochMilliseconds | undefined;
}

/** What one token endpoint response said about quotas and rate limits. Frozen. */
export interface QuotaReading {
  /** When the request was sent (the reading's `resetAt` values count from there), epoch ms. */
  readonly at: EpochMilliseconds;
  /** Auth0 quota buckets, client ones first; empty when the response had no quota headers. */
  readonly buckets: readonly QuotaBucket[];
  /** The `x-ratelimit-*` headers, when present. */
  readonly rateLimit: RateLimitReading | undefined;
}

const CLIENT_HEADER = 'auth0-client-quota-limit';
const ORGANIZATION_HEADER = 'auth0-organization-quota-limit';
/** A bucket name goes into messages and metric attributes: keep it a plain identifier. */
const BUCKET_NAME = /^[A-Za-z0-9_.-]{1,32}$/;
/** More buckets than this in one header is not Auth0; the rest is ignored. */
const MAX_BUCKETS = 8;

type Headers = Readonly<Record<string, string | string[] | undefined>>;

function headerText(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/**
 * Reads Auth0's quota headers (`Auth0-Client-Quota-Limit`, `Auth0-Organization-Quota-Limit`) and the
 * `x-ratelimit-*` headers of a response; `undefined` when it has none of them. Malformed buckets are skipped.
 */
export function readQuota(headers: Headers, sentAt: EpochMilliseconds): QuotaReading | undefined {
  const client = headerText(headers, CLIENT_HEADER);
  const organization = headerText(headers, ORGANIZATION_HEADER);
  const limit = headerText(headers, 'x-ratelimit-limit');
  const remaining = headerText(headers, 'x-ratelimit-remaining');
  const reset = headerText(headers, 'x-ratelimit-reset');
  if (client === undefined && organization === undefined && limit === undefined && remaining === undefined && reset === undefined) return undefined;
  const buckets: QuotaBucket[] = [];
  if (client !== undefined) parseBuckets(client, 'client', sentAt, buckets);
  if (organization !== undefined) parseBuckets(organization, 'organization', sentAt, buckets);
  let rateLimit: RateLimitReading | undefined;
  if (limit !== undefined || remaining !== undefined || reset !== undefined) {
    const resetSeconds = count(reset);
    rateLimit = Object.freeze({
      limit: count(limit),
      remaining: count(remaining),
      // Auth0 sends epoch seconds; a small number can only be seconds from now.
      resetAt: resetSeconds === undefined ? undefined : resetSeconds < 1e9 ? sentAt + resetSeconds * 1000 : resetSeconds * 1000,
    });
  }
  return Object.freeze({ at: sentAt, buckets: Object.freeze(buckets), rateLimit });
}

function parseBuckets(text: string, scope: QuotaScope, sentAt: EpochMilliseconds, into: QuotaBucket[]): void {
  let parsed = 0;
  for (const part of text.split(',')) {
    if (parsed >= MAX_BUCKETS) return;
    const fields = new Map<string, string>();
    for (const pair of part.split(';')) {
      const eq = pair.indexOf('=');
      if (eq > 0) fields.set(pair.slice(0, eq).trim().toLowerCase(), pair.slice(eq + 1).trim());
    }
    const bucket = fields.get('b');
    const limit = count(fields.get('q'));
    const remaining = count(fields.get('r'));
    const seconds = count(fields.get('t'));
    if (bucket === undefined || !BUCKET_NAME.test(bucket) || limit === undefined || remaining === undefined || seconds === undefined) continue;
    parsed += 1;
    into.push(Object.freeze({ scope, bucket, limit, remaining: Math.min(remaining, limit), resetAt: sentAt + seconds * 1000 }));
  }
}

/** A whole number ≥ 0, or undefined. */
function count(text: string | undefined): number | undefined {
  if (text === undefined || !/^\s*\d{1,15}\s*$/.test(text)) return undefined;
  return Number(text);
}

/** The buckets of a reading that are used up and reset later than `now`. */
export function exhaustedBuckets(reading: QuotaReading, now: EpochMilliseconds): QuotaBucket[] {
  return reading.buckets.filter((b) => b.remaining === 0 && b.resetAt > now);
}

/** `getToken()` fails fast with this while an Auth0 quota bucket of the key is used up (code `M2M_QUOTA_EXCEEDED`). */
export class QuotaExceededError extends TokenClientError<typeof ErrorCode.QUOTA_EXCEEDED> {
  /** The class's name in the `instanceof` brand. */
  static override readonly kind: string = 'QuotaExceededError';
  /** When the bucket resets and token requests may be sent again, epoch ms. */
  readonly resetAt: EpochMilliseconds;
  /** Whose quota ran out: the application's (every key of the client) or an organization's (that organization's keys). */
  readonly scope: QuotaScope;
  /** The bucket that ran out, e.g. `per_hour`; `undefined` when the block came from another process (through the TokenStore). */
  readonly bucket: string | undefined;
  /** HTTP status of the response that said so: 429; absent when the call failed fast during a block. */
  readonly status?: number;

  /** @internal Made by the client from a quota block; fakes can throw one got from a `TokenClient` against `mockTokenEndpoint({ quotas })`. */
  constructor(block: QuotaBlock, now: EpochMilliseconds, details: { endpoint?: string; cause?: unknown; status?: number; fromFleet?: boolean } = {}) {
    const whose = block.scope === 'client' ? "the application's" : "the organization's";
    const limit = block.limit === undefined ? '' : ` of ${block.limit} token${block.limit === 1 ? '' : 's'}`;
    const seen = details.status !== undefined ? `The token endpoint answered HTTP ${details.status}: ` : details.fromFleet ? 'Another process of the fleet saw that ' : '';
    super(
      ErrorCode.QUOTA_EXCEEDED,
      `${seen}Auth0 ${whose} ${block.bucket === undefined ? '' : `${block.bucket} `}token quota${limit} is used up until ${new Date(block.resetAt).toISOString()} (in ${Math.max(0, Math.ceil((block.resetAt - now) / 1000))} s). ` +
        `Token requests for ${block.scope === 'client' ? 'this application' : 'this organization'} are not sent until then; cached tokens that are still valid are served. Raise the quota in Auth0, or request fewer tokens.`,
      { ...(details.cause === undefined ? {} : { cause: details.cause }), ...(details.endpoint === undefined ? {} : { endpoint: details.endpoint }) },
    );
    this.resetAt = block.resetAt;
    this.scope = block.scope;
    this.bucket = block.bucket;
    if (details.status !== undefined) this.status = details.status;
    this.retryAfter = Math.max(0, block.resetAt - now);
  }
}

/** Token requests in `scope` (for an organization block: of `organization`) may not be sent before `resetAt`. */
export interface QuotaBlock {
  scope: QuotaScope;
  organization: string | undefined;
  /** The bucket that ran out; `undefined` for a block learnt from the fleet's store. */
  bucket: string | undefined;
  limit: number | undefined;
  resetAt: EpochMilliseconds;
}

/** Resolved `quota` option. */
export interface ResolvedQuota {
  /** Warn when a bucket's remaining / limit falls below this fraction; 0: never. */
  warnBelow: number;
  /** Block a key's requests until its exhausted bucket resets. */
  block: boolean;
}

/** Most organizations whose "below the threshold" state is remembered; past it the memory starts over. */
const MAX_TRACKED = 1000;

/**
 * The client's quota state: the last reading, the buckets below the warning threshold (warned once per crossing),
 * and the active blocks (`client`, or one per organization).
 */
export class QuotaState {
  readonly #options: ResolvedQuota;
  readonly #blocks = new Map<string, QuotaBlock>();
  readonly #low = new Set<string>();
  last: QuotaReading | undefined;

  constructor(options: ResolvedQuota) {
    this.#options = options;
  }

  /** Records a reading; returns the buckets that just fell below the warning threshold. */
  read(reading: QuotaReading, organization: string | undefined): QuotaBucket[] {
    this.last = reading;
    const threshold = this.#options.warnBelow;
    if (threshold === 0) return [];
    const crossed: QuotaBucket[] = [];
    for (const bucket of reading.buckets) {
      if (bucket.limit === 0) continue;
      const id = `${bucket.scope === 'client' ? '' : (organization ?? '')}\n${bucket.scope}\n${bucket.bucket}`;
      if (bucket.remaining / bucket.limit < threshold) {
        if (this.#low.has(id)) continue;
        if (this.#low.size >= MAX_TRACKED) this.#low.clear();
        this.#low.add(id);
        crossed.push(bucket);
      } else {
        this.#low.delete(id);
      }
    }
    return crossed;
  }

  /** The blocks a 429 with these exhausted buckets calls for (the latest reset per scope). */
  blocksFor(reading: QuotaReading, organization: string | undefined, now: EpochMilliseconds): QuotaBlock[] {
    const byScope = new Map<QuotaScope, QuotaBlock>();
    for (const b of exhaustedBuckets(reading, now)) {
      // An organization bucket without an organization in the request cannot be told apart: block the client.
      const scope: QuotaScope = b.scope === 'organization' && organization !== undefined ? 'organization' : 'client';
      const known = byScope.get(scope);
      if (known === undefined || b.resetAt > known.resetAt) {
        byScope.set(scope, { scope, organization: scope === 'organization' ? organization : undefined, bucket: b.bucket, limit: b.limit, resetAt: b.resetAt });
      }
    }
    return [...byScope.values()];
  }

  /** Adds a block (keeping the later one when the scope is already blocked); false when it changes nothing. */
  add(block: QuotaBlock): boolean {
    const id = blockId(block.scope, block.organization);
    const known = this.#blocks.get(id);
    if (known !== undefined && known.resetAt >= block.resetAt) return false;
    if (this.#blocks.size >= MAX_TRACKED) this.#blocks.clear();
    this.#blocks.set(id, block);
    return true;
  }

  /** The block that applies to a key of this organization now (the later of client and organization), if any. */
  blockFor(organization: string | undefined, now: EpochMilliseconds): QuotaBlock | undefined {
    if (this.#blocks.size === 0) return undefined;
    const client = this.#current(blockId('client', undefined), now);
    const org = organization === undefined ? undefined : this.#current(blockId('organization', organization), now);
    if (client === undefined) return org;
    return org !== undefined && org.resetAt > client.resetAt ? org : client;
  }

  /** Active blocks, for stats(). */
  active(now: EpochMilliseconds): QuotaBlock[] {
    const blocks: QuotaBlock[] = [];
    for (const [id, block] of this.#blocks) {
      if (block.resetAt > now) blocks.push(block);
      else this.#blocks.delete(id);
    }
    return blocks;
  }

  #current(id: string, now: EpochMilliseconds): QuotaBlock | undefined {
    const block = this.#blocks.get(id);
    if (block === undefined || block.resetAt > now) return block;
    this.#blocks.delete(id);
    return undefined;
  }
}

function blockId(scope: QuotaScope, organization: string | undefined): string {
  return scope === 'client' ? 'client' : `organization\n${organization ?? ''}`;
}

/** The warning reported through `onError` (type `'quota'`) when a bucket falls below the threshold. */
export function quotaLowError(bucket: QuotaBucket, reading: QuotaReading, threshold: number, endpoint: string): TokenClientError<typeof ErrorCode.QUOTA_LOW> {
  const whose = bucket.scope === 'client' ? "the application's" : "an organization's";
  const error = new TokenClientError(
    ErrorCode.QUOTA_LOW,
    `Auth0 ${whose} ${bucket.bucket} token quota is running out: ${bucket.remaining} of ${bucket.limit} tokens left (below ${Math.round(threshold * 100)}%) until ${new Date(bucket.resetAt).toISOString()}. ` +
      'Once it is used up, token requests fail until it resets; cached tokens keep being served.',
    { endpoint },
  );
  error.quota = reading;
  return error;
}

/** A fleet-wide name for a block scope: endpoint, client id and, for an organization block, the organization. */
export function fleetScope(endpointId: string, clientId: string, scope: QuotaScope, organization: string | undefined): string {
  return JSON.stringify(['quota-block', endpointId, clientId, scope === 'organization' ? (organization ?? null) : null]);
}

/**
 * One call to a TokenStore's block methods: bounded by `timeout`; a failure (thrown, rejected, timed out) goes to
 * `onFailure` and resolves `undefined`, so a store can never fail or stall a token request by more than `timeout`.
 */
export function boundedStoreCall<T>(call: () => Promise<T>, timeout: Milliseconds, onFailure: (error: TokenClientError<typeof ErrorCode.STORE_ERROR>) => void): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(storeBlockError(`did not answer within ${timeout} ms (storeTimeout)`)), timeout);
  });
  return Promise.race([Promise.resolve().then(call), timedOut])
    .catch((error: unknown) => {
      onFailure(error instanceof TokenClientError && error.code === ErrorCode.STORE_ERROR ? (error as TokenClientError<typeof ErrorCode.STORE_ERROR>) : storeBlockError('failed', error));
      return undefined;
    })
    .finally(() => clearTimeout(timer));
}

function storeBlockError(what: string, cause?: unknown): TokenClientError<typeof ErrorCode.STORE_ERROR> {
  return new TokenClientError(
    ErrorCode.STORE_ERROR,
    `TokenStore setBlock/getBlock ${what}; quota blocks are not shared with the fleet for this call.`,
    cause === undefined ? {} : { cause },
  );
}
