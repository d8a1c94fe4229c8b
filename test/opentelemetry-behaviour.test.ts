// m2m-token/opentelemetry edge by edge: what reaches the OpenTelemetry SDK for each message the m2m-token:*
// diagnostics channels can carry (their shapes are public: diagnosticsChannels and the *Message types), with
// metrics or traces turned off, and the metrics' own descriptions as a backend shows them.
import diagnosticsChannel from 'node:diagnostics_channel';
import { SpanStatusCode, ValueType } from '@opentelemetry/api';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type DataPoint, type Histogram, type MetricData } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import {
  diagnosticsChannels,
  type CacheLookupMessage,
  type QuotaBlockMessage,
  type QuotaMessage,
  type RefreshMessage,
  type StoreErrorMessage,
  type TokenClientError,
  type TokenRequestMessage,
} from 'm2m-token';
import { enableOpenTelemetry, metricNames, type OpenTelemetryOptions } from 'm2m-token/opentelemetry';
import { afterEach, describe, expect, it } from 'vitest';

const ENDPOINT = 'https://tenant.example.com';

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

/** The real SDK with in-memory exporters, and enableOpenTelemetry() fed by it. */
function sdk(options: Omit<OpenTelemetryOptions, 'meterProvider' | 'tracerProvider'> = {}) {
  const spanExporter = new InMemorySpanExporter();
  const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spanExporter })] });
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const otel = enableOpenTelemetry({ meterProvider, tracerProvider, ...options });
  cleanup = async () => {
    otel.disable();
    await Promise.all([meterProvider.shutdown(), tracerProvider.shutdown()]);
  };
  const metrics = async (): Promise<Map<string, MetricData>> => {
    await reader.forceFlush();
    const byName = new Map<string, MetricData>();
    for (const resource of metricExporter.getMetrics()) for (const scope of resource.scopeMetrics) for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric);
    return byName;
  };
  return { spans: () => spanExporter.getFinishedSpans(), metrics, otel };
}

const points = (metric: MetricData | undefined) => (metric?.dataPoints ?? []) as DataPoint<unknown>[];

/** One token endpoint attempt on the request tracing channel, as the client publishes it. */
async function attempt(outcome: { status?: number; duration?: number; error?: unknown; attempt?: number }) {
  const message: TokenRequestMessage = {
    key: 'abcdef012345',
    endpoint: ENDPOINT,
    path: '/oauth/token',
    serverAddress: 'tenant.example.com',
    serverPort: 443,
    method: 'POST',
    authMethod: 'client_secret_post',
    attempt: outcome.attempt ?? 1,
    status: undefined,
    duration: undefined,
  };
  const channel = diagnosticsChannel.tracingChannel<unknown, TokenRequestMessage>(diagnosticsChannels.request);
  await channel
    .tracePromise(async () => {
      message.status = outcome.status;
      message.duration = outcome.duration;
      if ('error' in outcome) throw outcome.error;
    }, message)
    .catch(() => undefined);
}
const publish = <T>(name: string, message: T) => diagnosticsChannel.channel(name).publish(message);
const storeError = (code: string) => ({ code, message: 'x' }) as unknown as TokenClientError;

describe('the metrics as a backend lists them', () => {
  it('each metric has its description, unit and value type; durations use the HTTP client buckets', async () => {
    const { metrics } = sdk();
    await attempt({ status: 200, duration: 20 });
    publish<CacheLookupMessage>(diagnosticsChannels.cache, { key: 'k', result: 'hit' });
    publish<RefreshMessage>(diagnosticsChannels.refresh, { key: 'k', outcome: 'success', duration: 3 });
    publish<QuotaMessage>(diagnosticsChannels.quota, {
      key: 'k',
      endpoint: ENDPOINT,
      status: 200,
      quota: { at: 0, buckets: [{ scope: 'client', bucket: 'per_hour', limit: 10, remaining: 4, resetAt: 0 }], rateLimit: { limit: 30, remaining: 29, resetAt: 0 } },
    });
    publish<QuotaBlockMessage>(diagnosticsChannels.quotaBlock, { key: 'k', endpoint: ENDPOINT, scope: 'client', bucket: 'per_hour', resetAt: 0, source: 'response' });
    publish<StoreErrorMessage>(diagnosticsChannels.storeError, { operation: 'get', error: storeError('M2M_STORE_ERROR') });
    const byName = await metrics();
    const descriptors = Object.fromEntries([...byName.values()].map(({ descriptor: d }) => [d.name, [d.description, d.unit, d.valueType]]));
    expect(descriptors).toEqual({
      [metricNames.requests]: ['HTTP requests to the token endpoint (retries included).', '{request}', ValueType.INT],
      [metricNames.requestDuration]: ['Duration of token endpoint requests.', 's', ValueType.DOUBLE],
      [metricNames.cacheLookups]: ['getToken() lookups in the in-memory cache.', '{lookup}', ValueType.INT],
      [metricNames.refreshes]: ['Background token refreshes.', '{refresh}', ValueType.INT],
      [metricNames.quotaRemaining]: ['Tokens left in an Auth0 token quota bucket.', '{token}', ValueType.INT],
      [metricNames.quotaLimit]: ['Size of an Auth0 token quota bucket.', '{token}', ValueType.INT],
      [metricNames.rateLimitRemaining]: ['x-ratelimit-remaining of the token endpoint.', '{request}', ValueType.INT],
      [metricNames.quotaBlocks]: ['Auth0 token quota blocks set.', '{block}', ValueType.INT],
      [metricNames.storeErrors]: ['Failed TokenStore calls.', '{error}', ValueType.INT],
    });
    const histogram = points(byName.get(metricNames.requestDuration))[0]!.value as Histogram;
    expect(histogram.buckets.boundaries).toEqual([0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]);
  });
});

describe('token endpoint attempts', () => {
  it('metrics: outcome, status class, status code and error type as attributes; the duration in seconds', async () => {
    const { metrics } = sdk();
    await attempt({ status: 200, duration: 250 });
    await attempt({ status: 503, duration: 1500, error: storeError('M2M_SERVER_ERROR') });
    // No response at all (a network error): no status, the error's code.
    await attempt({ duration: 40, error: storeError('M2M_NETWORK_ERROR') });
    const byName = await metrics();
    const requests = points(byName.get(metricNames.requests)).map((p) => [p.attributes, p.value]);
    const common = { 'http.request.method': 'POST', 'server.address': 'tenant.example.com', 'server.port': 443 };
    // Strict: an attribute left undefined would show as a key.
    expect(requests).toStrictEqual([
      [{ ...common, 'm2m_token.outcome': 'success', 'm2m_token.status_class': '2xx', 'http.response.status_code': 200 }, 1],
      [{ ...common, 'm2m_token.outcome': 'failure', 'm2m_token.status_class': '5xx', 'http.response.status_code': 503, 'error.type': '503' }, 1],
      [{ ...common, 'm2m_token.outcome': 'failure', 'm2m_token.status_class': 'none', 'error.type': 'M2M_NETWORK_ERROR' }, 1],
    ]);
    const sums = points(byName.get(metricNames.requestDuration)).map((p) => (p.value as Histogram).sum);
    expect(sums).toEqual([0.25, 1.5, 0.04]);
  });

  it('error.type: the status from 400 on, whether or not an error came with it; else the error\'s code', async () => {
    const { metrics } = sdk();
    await attempt({ status: 400, duration: 1 });
    await attempt({ status: 400, duration: 1, error: storeError('M2M_INVALID_REQUEST') });
    // A 2xx whose body was unusable: the error's code.
    await attempt({ status: 200, duration: 1, error: storeError('M2M_INVALID_RESPONSE') });
    await attempt({ status: 399, duration: 1 });
    const requests = points((await metrics()).get(metricNames.requests)).map((p) => [p.attributes['http.response.status_code'], p.attributes['m2m_token.outcome'], p.attributes['error.type'], p.value]);
    expect(requests).toStrictEqual([
      [400, 'success', '400', 1],
      [400, 'failure', '400', 1],
      [200, 'failure', 'M2M_INVALID_RESPONSE', 1],
      [399, 'success', undefined, 1],
    ]);
  });

  it('an attempt without a duration is counted, not timed', async () => {
    const { metrics } = sdk();
    await attempt({ status: 200 });
    const byName = await metrics();
    expect(points(byName.get(metricNames.requests)).map((p) => p.value)).toEqual([1]);
    expect(points(byName.get(metricNames.requestDuration)).map((p) => (p.value as Histogram).count)).toEqual([]);
  });

  it('spans: the status code when there is one; an error type, and the exception only when it is an Error', async () => {
    const { spans } = sdk();
    await attempt({ status: 200, duration: 1 });
    // A status that says failure with no error object: error.type from the status, no exception event.
    await attempt({ status: 401, duration: 1 });
    await attempt({ duration: 1, error: Object.assign(new Error('connect refused'), { code: 'M2M_NETWORK_ERROR' }) });
    // Rejections that are not TokenClientErrors: an object without a code, and null.
    await attempt({ duration: 1, error: { reason: 'odd' } });
    await attempt({ duration: 1, error: null });
    // A rejection with a bare string: no exception event either (only Errors are recorded as exceptions).
    await attempt({ duration: 1, error: 'boom' });
    const seen = spans().map((s) => ({
      status: s.attributes['http.response.status_code'],
      error: s.attributes['error.type'],
      code: s.status.code,
      events: s.events.map((e) => e.name),
      keys: Object.keys(s.attributes).filter((k) => k === 'http.response.status_code' || k === 'error.type'),
    }));
    expect(seen).toEqual([
      { status: 200, error: undefined, code: SpanStatusCode.UNSET, events: [], keys: ['http.response.status_code'] },
      { status: 401, error: '401', code: SpanStatusCode.ERROR, events: [], keys: ['http.response.status_code', 'error.type'] },
      { status: undefined, error: 'M2M_NETWORK_ERROR', code: SpanStatusCode.ERROR, events: ['exception'], keys: ['error.type'] },
      { status: undefined, error: '_OTHER', code: SpanStatusCode.ERROR, events: [], keys: ['error.type'] },
      { status: undefined, error: '_OTHER', code: SpanStatusCode.ERROR, events: [], keys: ['error.type'] },
      { status: undefined, error: '_OTHER', code: SpanStatusCode.ERROR, events: [], keys: ['error.type'] },
    ]);
  });
});

describe('metrics or traces turned off', () => {
  it('metrics: false records spans only', async () => {
    const { spans, metrics } = sdk({ metrics: false });
    await attempt({ status: 200, duration: 5 });
    publish<CacheLookupMessage>(diagnosticsChannels.cache, { key: 'k', result: 'miss' });
    expect(spans()).toHaveLength(1);
    expect([...(await metrics()).keys()]).toEqual([]);
  });

  it('traces: false records metrics only, token requests included', async () => {
    const { spans, metrics } = sdk({ traces: false });
    await attempt({ status: 200, duration: 5 });
    expect(spans()).toEqual([]);
    expect(points((await metrics()).get(metricNames.requests)).map((p) => p.value)).toEqual([1]);
  });

  it('both off: nothing at all', async () => {
    const { spans, metrics } = sdk({ metrics: false, traces: false });
    await attempt({ status: 200, duration: 5 });
    expect(spans()).toEqual([]);
    expect([...(await metrics()).keys()]).toEqual([]);
  });
});

describe('the other channels', () => {
  it('a failed refresh carries its error code; a successful one none', async () => {
    const { metrics } = sdk();
    publish<RefreshMessage>(diagnosticsChannels.refresh, { key: 'k', outcome: 'failure', error: storeError('M2M_TIMEOUT'), duration: 3 });
    publish<RefreshMessage>(diagnosticsChannels.refresh, { key: 'k', outcome: 'success', duration: 3 });
    expect(points((await metrics()).get(metricNames.refreshes)).map((p) => [p.attributes, p.value])).toEqual([
      [{ 'm2m_token.outcome': 'failure', 'error.type': 'M2M_TIMEOUT' }, 1],
      [{ 'm2m_token.outcome': 'success' }, 1],
    ]);
  });

  it('quota readings: remaining and limit per bucket; the rate limit by host, when sent', async () => {
    const { metrics } = sdk();
    const buckets = [
      { scope: 'client', bucket: 'per_hour', limit: 10, remaining: 4, resetAt: 0 },
      { scope: 'organization', bucket: 'per_day', limit: 100, remaining: 99, resetAt: 0 },
    ] as const;
    publish<QuotaMessage>(diagnosticsChannels.quota, { key: 'k', endpoint: ENDPOINT, status: 200, quota: { at: 0, buckets, rateLimit: { limit: 30, remaining: 29, resetAt: 0 } } });
    // Not a URL: the endpoint as it is. No remaining count: no rate limit point.
    publish<QuotaMessage>(diagnosticsChannels.quota, { key: 'k', endpoint: 'not a url', status: 200, quota: { at: 0, buckets: [], rateLimit: { limit: 30, remaining: 7, resetAt: 0 } } });
    publish<QuotaMessage>(diagnosticsChannels.quota, { key: 'k', endpoint: 'https://other.example.com', status: 200, quota: { at: 0, buckets: [], rateLimit: { limit: 30, remaining: undefined, resetAt: 0 } } });
    publish<QuotaMessage>(diagnosticsChannels.quota, { key: 'k', endpoint: 'https://third.example.com', status: 200, quota: { at: 0, buckets: [], rateLimit: undefined } });
    const byName = await metrics();
    const gauge = (name: string) => points(byName.get(name)).map((p) => [p.attributes, p.value]);
    expect(gauge(metricNames.quotaRemaining)).toEqual([
      [{ 'm2m_token.quota.scope': 'client', 'm2m_token.quota.bucket': 'per_hour' }, 4],
      [{ 'm2m_token.quota.scope': 'organization', 'm2m_token.quota.bucket': 'per_day' }, 99],
    ]);
    expect(gauge(metricNames.quotaLimit)).toEqual([
      [{ 'm2m_token.quota.scope': 'client', 'm2m_token.quota.bucket': 'per_hour' }, 10],
      [{ 'm2m_token.quota.scope': 'organization', 'm2m_token.quota.bucket': 'per_day' }, 100],
    ]);
    expect(gauge(metricNames.rateLimitRemaining)).toEqual([
      [{ 'server.address': 'tenant.example.com' }, 29],
      [{ 'server.address': 'not a url' }, 7],
    ]);
  });

  it('quota blocks by scope, bucket (unknown when it came from the store) and source; store errors by operation', async () => {
    const { metrics } = sdk();
    publish<QuotaBlockMessage>(diagnosticsChannels.quotaBlock, { key: 'k', endpoint: ENDPOINT, scope: 'organization', bucket: 'per_hour', resetAt: 0, source: 'response' });
    publish<QuotaBlockMessage>(diagnosticsChannels.quotaBlock, { key: 'k', endpoint: ENDPOINT, scope: 'client', bucket: undefined, resetAt: 0, source: 'store' });
    publish<StoreErrorMessage>(diagnosticsChannels.storeError, { operation: 'lease', error: storeError('M2M_STORE_ERROR') });
    publish<StoreErrorMessage>(diagnosticsChannels.storeError, { operation: 'lease', error: storeError('M2M_STORE_ERROR') });
    const byName = await metrics();
    expect(points(byName.get(metricNames.quotaBlocks)).map((p) => [p.attributes, p.value])).toEqual([
      [{ 'm2m_token.quota.scope': 'organization', 'm2m_token.quota.bucket': 'per_hour', 'm2m_token.quota.source': 'response' }, 1],
      [{ 'm2m_token.quota.scope': 'client', 'm2m_token.quota.bucket': 'unknown', 'm2m_token.quota.source': 'store' }, 1],
    ]);
    expect(points(byName.get(metricNames.storeErrors)).map((p) => [p.attributes, p.value])).toEqual([[{ 'm2m_token.store.operation': 'lease' }, 2]]);
  });

  it('cache lookups by result, each of the four', async () => {
    const { metrics } = sdk();
    for (const result of ['hit', 'stale', 'stale-if-error', 'miss', 'miss'] as const) publish<CacheLookupMessage>(diagnosticsChannels.cache, { key: 'k', result });
    const counts = Object.fromEntries(points((await metrics()).get(metricNames.cacheLookups)).map((p) => [p.attributes['m2m_token.cache.result'], p.value]));
    expect(counts).toEqual({ hit: 1, stale: 1, 'stale-if-error': 1, miss: 2 });
  });

  it('after disable(), no channel reaches the SDK', async () => {
    const { metrics, spans, otel } = sdk();
    otel.disable();
    await attempt({ status: 200, duration: 5 });
    publish<CacheLookupMessage>(diagnosticsChannels.cache, { key: 'k', result: 'hit' });
    publish<StoreErrorMessage>(diagnosticsChannels.storeError, { operation: 'get', error: storeError('M2M_STORE_ERROR') });
    expect(spans()).toEqual([]);
    expect([...(await metrics()).keys()]).toEqual([]);
  });
});
