/**
 * Metric names and their one dimension set, defined once: the function emits them (telemetry/) and
 * the stack builds its alarms and dashboard on exactly the same names and dimensions (lib/).
 *
 * Only what an alarm needs is a metric (USD 0.30 a month each), and none of them carries the stream:
 * their number stays three however many streams there are. Everything per stream (events, pages,
 * bytes, lag, errors by class) goes into the stream health log line (health-log.ts), which the
 * dashboard reads with CloudWatch Logs Insights and the alarm descriptions query.
 * Powertools Metrics always adds a `service` dimension, so it is part of the set.
 */

export const METRICS_NAMESPACE = 'MimecastCollector';
export const SERVICE_NAME = 'mimecast-collector';

/** Emitted once per tick (counts of streams in that tick), with dimensions {service, Instance}. */
export const INSTANCE_METRICS = {
  /**
   * Streams Mimecast refused: wrong or expired credentials (an expired key must page someone) or a
   * missing permission or product. One metric for both: the remedy of either is in the Mimecast
   * console, the stream health line says which (error.kind), and a metric less is USD 0.30 and an
   * alarm less USD 0.10 a month.
   */
  streamsRefused: 'StreamsRefused',
  /** Streams whose tick failed, for whatever reason (idle, throttled and lease-skipped are not failures). */
  streamsFailed: 'StreamsFailed',
  /** Streams whose lag (now minus the newest event delivered) exceeds that stream's own threshold. */
  streamsLagging: 'StreamsLagging',
} as const;

export type InstanceMetricName = (typeof INSTANCE_METRICS)[keyof typeof INSTANCE_METRICS];

/**
 * Push + pull (docs/PUSH-GAP-FILL.md), same dimensions {service, Instance}; emitted only by an instance with
 * push-primary streams, so an instance without them pays nothing for them.
 */
export const PUSH_METRICS = {
  /** Events the push path forwarded and the destination acknowledged (per push request). */
  pushEvents: 'PushEvents',
  /** Events the pull of push-primary streams forwarded (per tick): the gap, plus any sent unchecked. */
  pullEvents: 'PullEvents',
  /** Events only the pull found, push never delivered them: a push gap, filled (per tick). */
  pushGapEvents: 'PushGapEvents',
} as const;

export function instanceDimensions(instance: string): Record<string, string> {
  return { service: SERVICE_NAME, Instance: instance };
}
