/**
 * `m2m-token/opentelemetry`: metrics and spans for every `TokenClient` in the process, through `@opentelemetry/api`
 * (an optional peer dependency: only this entry loads it). It subscribes to the `m2m-token:*` diagnostics channels,
 * so the clients need no option, and nothing is published (or costs anything) until it is enabled.
 */
import {
  context,
  metrics,
  SpanKind,
  SpanStatusCode,
  trace,
  ValueType,
  type Attributes,
  type MeterProvider,
  type Span,
  type TracerProvider,
} from '@opentelemetry/api';
import {
  diagnosticsChannels,
  type CacheLookupMessage,
  type QuotaBlockMessage,
  type QuotaMessage,
  type RefreshMessage,
  type StoreErrorMessage,
  type TokenRequestMessage,
} from 'm2m-token';
import { PACKAGE_NAME, PACKAGE_VERSION } from '../version.js';

export interface OpenTelemetryOptions {
  /** Where the metrics go. Default: the global `MeterProvider` (`metrics.getMeterProvider()`). */
  meterProvider?: MeterProvider;
  /** Where the spans go. Default: the global `TracerProvider` (`trace.getTracerProvider()`). */
  tracerProvider?: TracerProvider;
  /** Record metrics. @default true */
  metrics?: boolean;
  /** Record a span per token endpoint request. @default true */
  traces?: boolean;
}

/** What {@link enableOpenTelemetry} returns. */
export interface OpenTelemetryInstrumentation {
  /** Unsubscribes from the channels: no more metrics or spans. Idempotent. */
  disable(): void;
}

/** Metric names, as exported. Attribute names are in the docs (docs/observability.md). */
export const metricNames = {
  /** Counter: HTTP requests (attempts) to the token endpoint, by `m2m_token.outcome` and `m2m_token.status_class`. */
  requests: 'm2m_token.requests',
  /** Histogram (s): duration of each token endpoint request. */
  requestDuration: 'm2m_token.request.duration',
  /** Counter: in-memory cache lookups by `m2m_token.cache.result` (hit, stale, stale-if-error, miss). */
  cacheLookups: 'm2m_token.cache.lookups',
  /** Counter: background refreshes by `m2m_token.outcome`. */
  refreshes: 'm2m_token.refreshes',
  /** Gauge: tokens left in an Auth0 quota bucket, by `m2m_token.quota.scope` and `m2m_token.quota.bucket`. */
  quotaRemaining: 'm2m_token.quota.remaining',
  /** Gauge: the size of that bucket. */
  quotaLimit: 'm2m_token.quota.limit',
  /** Counter: quota blocks set, by scope, bucket and `m2m_token.quota.source` (response or store). */
  quotaBlocks: 'm2m_token.quota.blocks',
  /** Gauge: `x-ratelimit-remaining`, when the server sends it. */
  rateLimitRemaining: 'm2m_token.rate_limit.remaining',
  /** Counter: failed TokenStore calls by `m2m_token.store.operation`. */
  storeErrors: 'm2m_token.store.errors',
} as const;

// The OTel semantic conventions' buckets for http.client.request.duration.
const diagnosticsChannel = process.getBuiltinModule('node:diagnostics_channel');

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/**
 * Subscribes OpenTelemetry metrics and spans to the m2m-token diagnostics channels. Call it once, at startup, after
 * the OpenTelemetry SDK is set up (or pass its providers). Attributes never hold a secret, a token or a cache key:
 * keys appear as the channels' fingerprints, on spans only (they would make metrics high-cardinality).
 */
export function enableOpenTelemetry(options: OpenTelemetryOptions = {}): OpenTelemetryInstrumentation {
  const off: (() => void)[] = [];
  const on = <T>(name: string, handler: (message: T) => void) => {
    const listener = (message: unknown) => handler(message as T);
    diagnosticsChannel.subscribe(name, listener);
    off.push(() => diagnosticsChannel.unsubscribe(name, listener));
  };
  const withMetrics = options.metrics !== false;
  const withTraces = options.traces !== false;

  const meter = withMetrics ? (options.meterProvider ?? metrics.getMeterProvider()).getMeter(PACKAGE_NAME, PACKAGE_VERSION) : undefined;
  const tracer = withTraces ? (options.tracerProvider ?? trace.getTracerProvider()).getTracer(PACKAGE_NAME, PACKAGE_VERSION) : undefined;

  const requests = meter?.createCounter(metricNames.requests, { description: 'HTTP requests to the token endpoint (retries included).', unit: '{request}', valueType: ValueType.INT });
  const duration = meter?.createHistogram(metricNames.requestDuration, {
    description: 'Duration of token endpoint requests.',
    unit: 's',
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  });
  const spans = new WeakMap<TokenRequestMessage, Span>();

  if (requests || tracer) {
    const tracing = diagnosticsChannel.tracingChannel<unknown, TokenRequestMessage>(diagnosticsChannels.request);
    const ignore = () => {};
    const handlers = {
      end: ignore,
      asyncStart: ignore,
      error: ignore,
      start(message: TokenRequestMessage) {
        if (!tracer) return;
        const attributes: Attributes = {
          'http.request.method': message.method,
          'server.address': message.serverAddress,
          'server.port': message.serverPort,
          'url.full': `${message.endpoint}${message.path}`,
          'url.template': message.path,
          'm2m_token.key': message.key,
          'm2m_token.auth_method': message.authMethod,
        };
        if (message.attempt > 1) attributes['http.request.resend_count'] = message.attempt - 1;
        spans.set(message, tracer.startSpan(`${message.method} ${message.path}`, { kind: SpanKind.CLIENT, attributes }, context.active()));
      },
      asyncEnd(message: TokenRequestMessage) {
        const { status } = message;
        const errorType = errorTypeOf(message);
        const span = spans.get(message);
        if (span) {
          spans.delete(message);
          if (status !== undefined) span.setAttribute('http.response.status_code', status);
          if (errorType !== undefined) {
            span.setAttribute('error.type', errorType);
            if (message.error instanceof Error) span.recordException(message.error);
            span.setStatus({ code: SpanStatusCode.ERROR });
          }
          span.end();
        }
        if (requests && duration) {
          const attributes: Attributes = {
            'http.request.method': message.method,
            'server.address': message.serverAddress,
            'server.port': message.serverPort,
            'm2m_token.outcome': message.error === undefined ? 'success' : 'failure',
            'm2m_token.status_class': status === undefined ? 'none' : `${Math.floor(status / 100)}xx`,
          };
          if (status !== undefined) attributes['http.response.status_code'] = status;
          if (errorType !== undefined) attributes['error.type'] = errorType;
          requests.add(1, attributes);
          if (message.duration !== undefined) duration.record(message.duration / 1000, attributes);
        }
      },
    };
    tracing.subscribe(handlers);
    off.push(() => tracing.unsubscribe(handlers));
  }

  if (meter) {
    const lookups = meter.createCounter(metricNames.cacheLookups, { description: 'getToken() lookups in the in-memory cache.', unit: '{lookup}', valueType: ValueType.INT });
    const lookupAttributes = Object.fromEntries((['hit', 'stale', 'stale-if-error', 'miss'] as const).map((result) => [result, { 'm2m_token.cache.result': result }]));
    on<CacheLookupMessage>(diagnosticsChannels.cache, (message) => lookups.add(1, lookupAttributes[message.result]));

    const refreshes = meter.createCounter(metricNames.refreshes, { description: 'Background token refreshes.', unit: '{refresh}', valueType: ValueType.INT });
    on<RefreshMessage>(diagnosticsChannels.refresh, (message) =>
      refreshes.add(1, message.error === undefined ? { 'm2m_token.outcome': message.outcome } : { 'm2m_token.outcome': message.outcome, 'error.type': message.error.code }),
    );

    const remaining = meter.createGauge(metricNames.quotaRemaining, { description: 'Tokens left in an Auth0 token quota bucket.', unit: '{token}', valueType: ValueType.INT });
    const limit = meter.createGauge(metricNames.quotaLimit, { description: 'Size of an Auth0 token quota bucket.', unit: '{token}', valueType: ValueType.INT });
    const rateLimit = meter.createGauge(metricNames.rateLimitRemaining, { description: 'x-ratelimit-remaining of the token endpoint.', unit: '{request}', valueType: ValueType.INT });
    on<QuotaMessage>(diagnosticsChannels.quota, ({ quota, endpoint }) => {
      for (const bucket of quota.buckets) {
        const attributes = { 'm2m_token.quota.scope': bucket.scope, 'm2m_token.quota.bucket': bucket.bucket };
        remaining.record(bucket.remaining, attributes);
        limit.record(bucket.limit, attributes);
      }
      if (quota.rateLimit?.remaining !== undefined) rateLimit.record(quota.rateLimit.remaining, { 'server.address': hostOf(endpoint) });
    });

    const blocks = meter.createCounter(metricNames.quotaBlocks, { description: 'Auth0 token quota blocks set.', unit: '{block}', valueType: ValueType.INT });
    on<QuotaBlockMessage>(diagnosticsChannels.quotaBlock, (message) =>
      blocks.add(1, { 'm2m_token.quota.scope': message.scope, 'm2m_token.quota.bucket': message.bucket ?? 'unknown', 'm2m_token.quota.source': message.source }),
    );

    const storeErrors = meter.createCounter(metricNames.storeErrors, { description: 'Failed TokenStore calls.', unit: '{error}', valueType: ValueType.INT });
    on<StoreErrorMessage>(diagnosticsChannels.storeError, (message) => storeErrors.add(1, { 'm2m_token.store.operation': message.operation }));
  }

  let enabled = true;
  return {
    disable() {
      if (!enabled) return;
      enabled = false;
      for (const unsubscribe of off.splice(0)) unsubscribe();
    },
  };
}

/**
 * OTel `error.type`: the status code for an HTTP error status, else the package's error code (`M2M_TIMEOUT`,
 * `M2M_NETWORK_ERROR`, …); undefined for a success.
 */
function errorTypeOf(message: TokenRequestMessage): string | undefined {
  if (message.error === undefined) return message.status !== undefined && message.status >= 400 ? String(message.status) : undefined;
  if (message.status !== undefined && message.status >= 400) return String(message.status);
  const code = (message.error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '_OTHER';
}

function hostOf(origin: string): string {
  try {
    return new URL(origin).hostname;
  } catch {
    return origin;
  }
}
