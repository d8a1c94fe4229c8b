import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type DataPoint, type MetricData } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { ErrorCode } from 'm2m-token';
import { enableOpenTelemetry, metricNames, type OpenTelemetryInstrumentation } from 'm2m-token/opentelemetry';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { SECRET, setup } from './helpers/client.js';
import { ManualClock } from './helpers/clock.js';
import { json } from './helpers/token-server.js';

// The real OpenTelemetry SDK, with its in-memory exporters, fed by enableOpenTelemetry().
const AUDIENCE = 'https://private-audience.example.com';
const TOKEN = 'at-otel-token-value';

let spanExporter: InMemorySpanExporter;
let tracerProvider: TracerProvider;
let metricExporter: InMemoryMetricExporter;
let reader: PeriodicExportingMetricReader;
let meterProvider: MeterProvider;
let otel: OpenTelemetryInstrumentation;

beforeEach(() => {
  spanExporter = new InMemorySpanExporter();
  tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spanExporter })] });
  metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
  meterProvider = new MeterProvider({ readers: [reader] });
  otel = enableOpenTelemetry({ meterProvider, tracerProvider });
});
afterEach(async () => {
  otel.disable();
  await Promise.all([meterProvider.shutdown(), tracerProvider.shutdown()]);
});

async function collect(): Promise<Map<string, MetricData>> {
  await reader.forceFlush();
  const byName = new Map<string, MetricData>();
  for (const resource of metricExporter.getMetrics()) for (const scope of resource.scopeMetrics) for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric);
  return byName;
}
const points = (metric: MetricData | undefined) => (metric?.dataPoints ?? []) as DataPoint<unknown>[];

it('records a span per token request and the metrics, with no credential in any attribute', async () => {
  const clock = new ManualClock();
  const { server, client } = await setup({ clock, audience: AUDIENCE, onError: () => {} });
  const quota = (remaining: number) => ({ 'auth0-client-quota-limit': `b=per_hour;q=10;r=${remaining};t=3600,b=per_day;q=100;r=${remaining + 50};t=86400` });
  let n = 0;
  server.respond((_req, res) =>
    ++n === 1 ? json(res, 503, { message: 'down' }) : json(res, 200, { access_token: `${TOKEN}-${n}`, token_type: 'Bearer', expires_in: 100 }, quota(9 - n)),
  );
  await client.getToken(); // miss: a 503, then a token (per_hour 7 left)
  await client.getToken(); // hit
  clock.advance(45_000);
  await client.getToken(); // stale: a background refresh (per_hour 6 left)
  await new Promise((resolve) => setTimeout(resolve, 50));
  server.respond((_req, res) => json(res, 429, { error: 'too_many_requests' }, quota(0)));
  await expect(client.getToken({ forceRefresh: true })).rejects.toMatchObject({ code: ErrorCode.QUOTA_EXCEEDED });

  const spans = spanExporter.getFinishedSpans();
  expect(spans.map((s) => [s.name, s.attributes['http.response.status_code'], s.status.code])).toEqual([
    ['POST /oauth/token', 503, SpanStatusCode.ERROR],
    ['POST /oauth/token', 200, SpanStatusCode.UNSET],
    ['POST /oauth/token', 200, SpanStatusCode.UNSET],
    ['POST /oauth/token', 429, SpanStatusCode.ERROR],
  ]);
  const url = new URL(server.url);
  expect(spans[0]!.kind).toBe(SpanKind.CLIENT);
  expect(spans[0]!.instrumentationScope.name).toBe('m2m-token');
  expect(spans[0]!.attributes).toMatchObject({
    'http.request.method': 'POST',
    'server.address': '127.0.0.1',
    'server.port': Number(url.port),
    'url.full': `${url.origin}/oauth/token`,
    'error.type': '503',
    'm2m_token.auth_method': 'client_secret_post',
    'm2m_token.key': expect.stringMatching(/^[0-9a-f]{12}$/) as string,
  });
  expect(spans[0]!.attributes['http.request.resend_count']).toBeUndefined();
  expect(spans[1]!.attributes['http.request.resend_count']).toBe(1);
  expect(spans[1]!.attributes['error.type']).toBeUndefined();
  expect(spans[0]!.events.map((e) => e.name)).toEqual(['exception']);
  const everything = JSON.stringify(spans.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status })));
  for (const secret of [SECRET, TOKEN, AUDIENCE]) expect(everything).not.toContain(secret);

  const metrics = await collect();
  const requests = points(metrics.get(metricNames.requests));
  const count = (outcome: string, statusClass: string) =>
    requests.filter((p) => p.attributes['m2m_token.outcome'] === outcome && p.attributes['m2m_token.status_class'] === statusClass).reduce((sum, p) => sum + (p.value as number), 0);
  expect([count('success', '2xx'), count('failure', '5xx'), count('failure', '4xx')]).toEqual([2, 1, 1]);
  const durations = points(metrics.get(metricNames.requestDuration));
  expect(durations.reduce((sum, p) => sum + (p.value as { count: number }).count, 0)).toBe(4);
  expect(metrics.get(metricNames.requestDuration)!.descriptor.unit).toBe('s');
  const lookups = Object.fromEntries(points(metrics.get(metricNames.cacheLookups)).map((p) => [p.attributes['m2m_token.cache.result'], p.value]));
  expect(lookups).toEqual({ miss: 1, hit: 1, stale: 1 });
  expect(points(metrics.get(metricNames.refreshes)).map((p) => [p.attributes['m2m_token.outcome'], p.value])).toEqual([['success', 1]]);
  const remaining = Object.fromEntries(points(metrics.get(metricNames.quotaRemaining)).map((p) => [`${p.attributes['m2m_token.quota.scope']}/${p.attributes['m2m_token.quota.bucket']}`, p.value]));
  expect(remaining).toEqual({ 'client/per_hour': 0, 'client/per_day': 50 });
  expect(points(metrics.get(metricNames.quotaBlocks)).map((p) => [p.attributes, p.value])).toEqual([
    [{ 'm2m_token.quota.scope': 'client', 'm2m_token.quota.bucket': 'per_hour', 'm2m_token.quota.source': 'response' }, 1],
  ]);
  const allMetrics = JSON.stringify([...metrics.values()]);
  for (const secret of [SECRET, TOKEN, AUDIENCE]) expect(allMetrics).not.toContain(secret);
});

it('disable() stops both', async () => {
  otel.disable();
  otel.disable();
  const { client } = await setup();
  await client.getToken();
  await client.getToken();
  expect(spanExporter.getFinishedSpans()).toEqual([]);
  const metrics = await collect();
  expect(points(metrics.get(metricNames.cacheLookups))).toEqual([]);
});
