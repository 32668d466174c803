/**
 * What one tick tells the operator: three instance metrics through Powertools Metrics (one EMF line
 * on stdout: no PutMetricData call, so no extra IAM permission and no latency) for the alarms, and
 * one stream health log line per stream (health-log.ts) for the dashboard and for finding the
 * stream an alarm is about.
 *
 * The stack's alarms watch an exact dimension set (metric-names.ts). Powertools adds a `service`
 * default dimension resolved from its options or POWERTOOLS_SERVICE_NAME, and keeps any default
 * dimensions someone set; an alarm on a different set watches an empty metric. So publishing
 * clears the default dimensions and sets every dimension itself, from metric-names.ts.
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { toLastError } from '../core/checkpoint';
import type { Log } from '../core/ports';
import { isHealthy, type StreamResult, type TickResult } from '../core/results';
import type { StreamId } from '../core/streams';
import { CollectorError, type ErrorKind } from '../errors';
import { count, publishEmfLine } from './emf';
import { REFUSALS, STREAM_HEALTH_MESSAGE, type StreamHealthLine } from './health-log';
import {
  INSTANCE_METRICS,
  type InstanceMetricName,
  instanceDimensions,
  METRICS_NAMESPACE,
  PUSH_METRICS,
  SERVICE_NAME,
} from './metric-names';

/** Lag alarm threshold of each stream, in seconds. */
export type LagAlarmSeconds = Partial<Record<StreamId, number>>;

/** A Metrics instance for the collector's namespace and service name. */
export function createMetrics(): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
}

/** One tick summed up: the instance metric values, and the streams behind each non-zero one. */
export interface TickHealth {
  metrics: Record<InstanceMetricName, number>;
  /** Stream ids, comma-separated (Logs Insights shows a string whole; an array splits into fields). */
  failedStreams: string;
  laggingStreams: string;
  /** `<stream>:<error kind>`, comma-separated: which stream was refused, and whether key or permission. */
  refusedStreams: string;
  streams: StreamHealthLine[];
}

/** The stream health line of one stream's tick. */
export function streamHealth(result: StreamResult, now: number, lagAlarmSeconds?: number): StreamHealthLine {
  const byKind: Partial<Record<ErrorKind, number>> = {};
  for (const [kind, n] of Object.entries(result.mimecastErrors) as [ErrorKind, number | undefined][]) {
    if (count(n) > 0) byKind[kind] = count(n);
  }
  const lag = lagSeconds(result, now);
  const lagging = lag !== undefined && lagAlarmSeconds !== undefined && lag > lagAlarmSeconds;
  const healthy = isHealthy(result);
  return {
    stream: result.stream,
    outcome: result.outcome,
    healthy: healthy ? 1 : 0,
    events: count(result.events),
    pages: count(result.pages),
    bytes: count(result.bytes),
    throttledCalls: count(result.throttledCalls),
    mimecastErrors: Object.values(byKind).reduce((sum, n) => sum + n, 0),
    mimecastErrorsByKind: byKind,
    sinkErrors: count(result.sinkErrors),
    ...(lag === undefined ? {} : { lagSeconds: lag }),
    ...(lagAlarmSeconds === undefined ? {} : { lagAlarmSeconds }),
    lagging: lagging ? 1 : 0,
    ...(healthy ? {} : { error: toLastError(result.error, now) }),
    ...(result.gapFill === undefined
      ? {}
      : {
          alreadyPushed: count(result.gapFill.alreadyPushed),
          pushGap: count(result.gapFill.gap),
          uncheckedAgainstPush: count(result.gapFill.unchecked),
        }),
  };
}

/**
 * The pull side's push metrics of a tick (docs/PUSH-GAP-FILL.md), or none when no stream of the tick is
 * push-primary (its results carry no `gapFill`).
 */
export function pullMetrics(result: TickResult): Record<string, number> | undefined {
  const filled = result.streams.filter((s) => s.gapFill !== undefined);
  if (filled.length === 0) return undefined;
  const gap = filled.reduce((sum, s) => sum + count(s.gapFill!.gap), 0);
  const unchecked = filled.reduce((sum, s) => sum + count(s.gapFill!.unchecked), 0);
  const matched = filled.reduce((sum, s) => sum + count(s.gapFill!.alreadyPushed), 0);
  return {
    [PUSH_METRICS.pullEvents]: gap + unchecked,
    [PUSH_METRICS.pushGapEvents]: gap,
    [PUSH_METRICS.pushMatchedEvents]: matched,
  };
}

/** The whole tick: instance metrics from the stream health lines, so both always agree. */
export function tickHealth(result: TickResult, now: number, lagAlarmSeconds: LagAlarmSeconds): TickHealth {
  const streams = result.streams.map((s) => streamHealth(s, now, lagAlarmSeconds[s.stream]));
  const refused = result.streams
    .map((s) => ({ stream: s.stream, kind: s.error instanceof CollectorError ? s.error.kind : undefined }))
    .filter(({ kind }) => kind !== undefined && (REFUSALS as readonly string[]).includes(kind))
    .map(({ stream, kind }) => `${stream}:${kind}`);
  const failed = streams.filter((s) => s.healthy === 0).map((s) => s.stream);
  const lagging = streams.filter((s) => s.lagging === 1).map((s) => s.stream);
  return {
    metrics: {
      [INSTANCE_METRICS.streamsRefused]: refused.length,
      [INSTANCE_METRICS.streamsFailed]: failed.length,
      [INSTANCE_METRICS.streamsLagging]: lagging.length,
    },
    failedStreams: failed.join(','),
    laggingStreams: lagging.join(','),
    refusedStreams: refused.join(','),
    streams,
  };
}

export interface TickTelemetry {
  /** Writes the tick's EMF line and its stream health lines. */
  publish(result: TickResult, now: number): void;
}

export interface TickTelemetryOptions {
  instance: string;
  /** A Metrics instance (createMetrics()); metrics already stored in it are flushed first, as they were. */
  metrics: Metrics;
  /** Where the stream health lines go (the function's logger: redacted, with the instance on every line). */
  log: Log;
  lagAlarmSeconds: LagAlarmSeconds;
}

export function createTickTelemetry(options: TickTelemetryOptions): TickTelemetry {
  const { instance, metrics, log, lagAlarmSeconds } = options;
  return {
    publish(result, now) {
      const health = tickHealth(result, now, lagAlarmSeconds);
      for (const line of health.streams) log.info(STREAM_HEALTH_MESSAGE, { ...line });

      publishEmfLine(
        metrics,
        instanceDimensions(instance),
        { ...health.metrics, ...pullMetrics(result) },
        now,
        // In the EMF line too, so a query on the metric's own line names the streams behind it.
        {
          failedStreams: health.failedStreams,
          laggingStreams: health.laggingStreams,
          refusedStreams: health.refusedStreams,
        },
      );
    },
  };
}

function lagSeconds(result: StreamResult, now: number): number | undefined {
  if (result.lagSeconds !== undefined && Number.isFinite(result.lagSeconds))
    return Math.max(0, result.lagSeconds);
  if (result.newestEventTime === undefined) return undefined;
  const newest = Date.parse(result.newestEventTime);
  if (Number.isNaN(newest)) return undefined;
  // Clock skew can put an event slightly in the future; lag is never negative.
  return Math.max(0, Math.round((now - newest) / 1000));
}
