/**
 * Tick health as CloudWatch metrics through Powertools Metrics (EMF lines on stdout; no
 * PutMetricData call, so no extra IAM permission and no latency).
 *
 * The stack's alarms watch exact dimension sets (metric-names.ts). Powertools adds a `service`
 * default dimension resolved from its options or POWERTOOLS_SERVICE_NAME, and keeps any default
 * dimensions someone set; an alarm on a different set watches an empty metric. So publishing
 * clears the default dimensions and sets every dimension itself, from metric-names.ts.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { StreamResult, TickResult } from '../core/results';
import { isHealthy } from '../core/results';
import { CollectorError, type ErrorKind } from '../errors';
import {
  INSTANCE_METRICS,
  instanceDimensions,
  METRICS_NAMESPACE,
  MIMECAST_ERRORS_BY_KIND,
  SERVICE_NAME,
  STREAM_METRICS,
  type StreamMetricName,
  streamDimensions,
} from './metric-names';

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

/** The unit each stream metric is emitted with. */
export const STREAM_METRIC_UNITS: Record<StreamMetricName, Unit> = {
  [STREAM_METRICS.eventsForwarded]: MetricUnit.Count,
  [STREAM_METRICS.pagesFetched]: MetricUnit.Count,
  [STREAM_METRICS.bytesSent]: MetricUnit.Bytes,
  [STREAM_METRICS.throttledCalls]: MetricUnit.Count,
  [STREAM_METRICS.mimecastErrors]: MetricUnit.Count,
  [STREAM_METRICS.sinkErrors]: MetricUnit.Count,
  [STREAM_METRICS.collectionLagSeconds]: MetricUnit.Seconds,
  [STREAM_METRICS.healthy]: MetricUnit.Count,
};

export interface MetricValue {
  name: string;
  unit: Unit;
  value: number;
}

/** A Metrics instance for the collector's namespace and service name. */
export function createMetrics(): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
}

/**
 * The stream metrics of one stream's tick. `CollectionLagSeconds` is left out while the stream
 * has never delivered an event: there is no lag to measure, and a made-up 0 would look healthy.
 */
export function streamMetricValues(result: StreamResult, now: Date | number): MetricValue[] {
  const mimecastErrors = Object.values(result.mimecastErrors).reduce<number>((sum, n) => sum + count(n), 0);
  const values: [StreamMetricName, number | undefined][] = [
    [STREAM_METRICS.eventsForwarded, count(result.events)],
    [STREAM_METRICS.pagesFetched, count(result.pages)],
    [STREAM_METRICS.bytesSent, count(result.bytes)],
    [STREAM_METRICS.throttledCalls, count(result.throttledCalls)],
    [STREAM_METRICS.mimecastErrors, mimecastErrors],
    [STREAM_METRICS.sinkErrors, count(result.sinkErrors)],
    [STREAM_METRICS.collectionLagSeconds, lagSeconds(result, now)],
    [STREAM_METRICS.healthy, isHealthy(result) ? 1 : 0],
  ];
  return values
    .filter((entry): entry is [StreamMetricName, number] => entry[1] !== undefined)
    .map(([name, value]) => ({ name, unit: STREAM_METRIC_UNITS[name], value }));
}

/** The per-tick instance metrics. */
export function instanceMetricValues(result: TickResult): MetricValue[] {
  const kinds = result.streams.map((s) => errorKind(s.error));
  return [
    {
      name: INSTANCE_METRICS.authenticationFailures,
      unit: MetricUnit.Count,
      value: kinds.filter((k) => k === 'authentication').length,
    },
    {
      name: INSTANCE_METRICS.permissionFailures,
      unit: MetricUnit.Count,
      value: kinds.filter((k) => k === 'permission').length,
    },
    {
      name: INSTANCE_METRICS.tickSucceeded,
      unit: MetricUnit.Count,
      value: result.streams.every(isHealthy) ? 1 : 0,
    },
  ];
}

/**
 * Emits one tick's metrics: per stream one EMF line with every stream metric
 * (dimensions `streamDimensions`), one line per Mimecast error kind seen (with `ErrorKind`
 * added), then one line of instance metrics (dimensions `instanceDimensions`).
 * Metrics already stored in `metrics` are flushed first with their own dimensions.
 */
export function publishTickMetrics(
  metrics: Metrics,
  instance: string,
  result: TickResult,
  now: Date | number,
): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  metrics.clearDimensions();
  metrics.clearDefaultDimensions();
  const timestamp = typeof now === 'number' ? now : now.getTime();

  for (const stream of result.streams) {
    flush(
      metrics,
      streamDimensions(instance, stream.stream),
      streamMetricValues(stream, timestamp),
      timestamp,
    );
    for (const [kind, n] of Object.entries(stream.mimecastErrors)) {
      if (count(n) === 0) continue;
      flush(
        metrics,
        { ...streamDimensions(instance, stream.stream), ErrorKind: kind },
        [{ name: MIMECAST_ERRORS_BY_KIND, unit: MetricUnit.Count, value: count(n) }],
        timestamp,
      );
    }
  }
  flush(metrics, instanceDimensions(instance), instanceMetricValues(result), timestamp);
}

function flush(
  metrics: Metrics,
  dimensions: Record<string, string>,
  values: MetricValue[],
  timestamp: number,
): void {
  for (const [name, value] of Object.entries(dimensions)) metrics.addDimension(name, value);
  for (const { name, unit, value } of values) metrics.addMetric(name, unit, value);
  metrics.setTimestamp(timestamp);
  metrics.publishStoredMetrics();
}

function lagSeconds(result: StreamResult, now: Date | number): number | undefined {
  if (result.lagSeconds !== undefined && Number.isFinite(result.lagSeconds))
    return Math.max(0, result.lagSeconds);
  if (result.newestEventTime === undefined) return undefined;
  const newest = Date.parse(result.newestEventTime);
  if (Number.isNaN(newest)) return undefined;
  const nowMs = typeof now === 'number' ? now : now.getTime();
  // Clock skew can put an event slightly in the future; lag is never negative.
  return Math.max(0, Math.round((nowMs - newest) / 1000));
}

/** Counts from the engine are non-negative integers; anything else is a bug that must not break metrics. */
function count(value: number | undefined): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : 0;
}

function errorKind(error: unknown): ErrorKind | undefined {
  return error instanceof CollectorError ? error.kind : undefined;
}
