import { fingerprint, quotaBlockChannel, quotaChannel } from './diagnostics.js';
import { TokenClientError } from './errors.js';
import type { TokenClientErrorEvent } from './options.js';
import {
  boundedStoreCall,
  fleetScope,
  QuotaExceededError,
  quotaLowError,
  QuotaState,
  type QuotaBlock,
  type QuotaReading,
  type QuotaScope,
  type ResolvedQuota,
} from './quota.js';
import type { QuotaBlockStats } from './stats.js';
import { sharesBlocks, type TokenStore, type TokenStoreBlocks } from './stores/token-store.js';
import type { Milliseconds } from './types.js';

/** What a {@link QuotaGuard} needs from its client. */
export interface QuotaGuardContext {
  options: ResolvedQuota;
  /** The client's shared store: used for blocks when it has setBlock and getBlock. */
  store: TokenStore | undefined;
  storeTimeout: Milliseconds;
  /** Name the client in fleet-wide block scopes. */
  endpointId: string;
  clientId: string;
  now: () => number;
  /** Cache key → its fingerprint (memoized by the client). */
  fingerprint: (key: string) => string;
  report: (event: TokenClientErrorEvent) => void;
  closed: () => boolean;
}

/**
 * A client's Auth0 quota handling: reads the quota headers of every response (kept for stats(), published on
 * `m2m-token:quota`, warned about once per crossing), turns a 429 that says a bucket is used up into a block of
 * its scope and a QuotaExceededError, stops requests while a block lasts, and shares blocks through the store.
 */
export class QuotaGuard {
  readonly #context: QuotaGuardContext;
  readonly #state: QuotaState;
  /** The shared store, when it also shares quota blocks with the fleet. */
  readonly #store: (TokenStore & TokenStoreBlocks) | undefined;
  readonly #pending = new Set<Promise<unknown>>();

  constructor(context: QuotaGuardContext) {
    this.#context = context;
    this.#state = new QuotaState(context.options);
    const { store } = context;
    this.#store = store !== undefined && context.options.block && sharesBlocks(store) ? store : undefined;
  }

  /** The last reading of any response. */
  get last(): QuotaReading | undefined {
    return this.#state.last;
  }

  /** The blocks in force, for stats(): organizations as fingerprints. */
  blocks(): QuotaBlockStats[] {
    return this.#state.active(this.#context.now()).map((b) => ({
      scope: b.scope,
      ...(b.organization === undefined ? {} : { organization: fingerprint(b.organization) }),
      bucket: b.bucket,
      resetAt: b.resetAt,
    }));
  }

  /** A response's quota headers: kept, published, and a warning for each bucket that fell below the threshold. */
  read(key: string, organization: string | undefined, reading: QuotaReading, status: number, origin: string): void {
    const crossed = this.#state.read(reading, organization);
    if (quotaChannel.hasSubscribers) quotaChannel.publish({ key: this.#context.fingerprint(key), endpoint: origin, status, quota: reading });
    for (const bucket of crossed) {
      this.#context.report({ type: 'quota', error: quotaLowError(bucket, reading, this.#context.options.warnBelow, origin) });
    }
  }

  /**
   * A failed token request: its quota headers are read; a 429 that says a bucket is used up blocks the bucket's
   * scope until it resets, and becomes a QuotaExceededError. Returns what to throw.
   */
  failed(key: string, organization: string | undefined, error: unknown, origin: string | undefined): unknown {
    if (!(error instanceof TokenClientError) || error.quota === undefined || origin === undefined) return error;
    const { quota } = error;
    const status = statusOf(error);
    this.read(key, organization, quota, status, origin);
    if (status !== 429 || !this.#context.options.block) return error;
    const now = this.#context.now();
    const blocks = this.#state.blocksFor(quota, organization, now);
    if (blocks.length === 0) return error;
    let latest = blocks[0]!;
    let added = false;
    for (const block of blocks) {
      if (block.resetAt > latest.resetAt) latest = block;
      if (this.#add(key, block, 'response', origin)) added = true;
    }
    const failure = new QuotaExceededError(latest, now, { endpoint: origin, cause: error, status });
    failure.quota = quota;
    if (error.attempts !== undefined) failure.attempts = error.attempts;
    if (added && !this.#context.closed()) this.#context.report({ type: 'quota', error: failure });
    return failure;
  }

  /**
   * Throws a QuotaExceededError when a block applies to this organization's keys: known here, or found in the
   * fleet's store. Without blocks and without a store that shares them, it returns at once (nothing to await).
   */
  check(key: string, organization: string | undefined, origin: string): Promise<void> | undefined {
    const block = this.#state.blockFor(organization, this.#context.now());
    if (block !== undefined) throw new QuotaExceededError(block, this.#context.now(), { endpoint: origin, fromFleet: block.bucket === undefined });
    return this.#store === undefined ? undefined : this.#checkFleet(this.#store, key, organization, origin);
  }

  /** Settles when every store call started so far has (each is bounded by storeTimeout). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.#pending);
  }

  async #checkFleet(store: TokenStore & TokenStoreBlocks, key: string, organization: string | undefined, origin: string): Promise<void> {
    const scopes: [QuotaScope, string | undefined][] = organization === undefined ? [['client', undefined]] : [['client', undefined], ['organization', organization]];
    const untils = await Promise.all(scopes.map(([scope, org]) => this.#storeCall(() => store.getBlock(this.#scope(scope, org)))));
    const now = this.#context.now();
    let block: QuotaBlock | undefined;
    untils.forEach((until, i) => {
      if (typeof until !== 'number' || !Number.isFinite(until) || until <= now) return;
      const [scope, org] = scopes[i]!;
      const found: QuotaBlock = { scope, organization: org, bucket: undefined, limit: undefined, resetAt: until };
      if (this.#add(key, found, 'store', origin)) {
        this.#context.report({ type: 'quota', error: new QuotaExceededError(found, now, { endpoint: origin, fromFleet: true }) });
      }
      if (block === undefined || until > block.resetAt) block = found;
    });
    if (block !== undefined) throw new QuotaExceededError(block, now, { endpoint: origin, fromFleet: true });
  }

  /** Records a block (false when an equal or later one was known); a block this process saw goes to the fleet. */
  #add(key: string, block: QuotaBlock, source: 'response' | 'store', origin: string): boolean {
    if (!this.#state.add(block)) return false;
    if (quotaBlockChannel.hasSubscribers) {
      quotaBlockChannel.publish({ key: this.#context.fingerprint(key), endpoint: origin, scope: block.scope, bucket: block.bucket, resetAt: block.resetAt, source });
    }
    const store = this.#store;
    if (source === 'response' && store !== undefined && !this.#context.closed()) {
      void this.#storeCall(() => store.setBlock(this.#scope(block.scope, block.organization), block.resetAt));
    }
    return true;
  }

  #scope(scope: QuotaScope, organization: string | undefined): string {
    return fleetScope(this.#context.endpointId, this.#context.clientId, scope, organization);
  }

  #storeCall<T>(call: () => Promise<T>): Promise<T | undefined> {
    const pending = boundedStoreCall(call, this.#context.storeTimeout, (error) => this.#context.report({ type: 'store', operation: 'block', error }));
    this.#pending.add(pending);
    void pending.finally(() => this.#pending.delete(pending));
    return pending;
  }
}

/** The HTTP status of an error, 0 when it has none. */
export function statusOf(error: TokenClientError): number {
  const { status } = error as { status?: unknown };
  return typeof status === 'number' ? status : 0;
}
