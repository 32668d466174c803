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
 * Push + pull (docs/PUSH-GAP-FILL.md), same dimensions {service, Instance}. `PushEvents` is emitted by the
 * push function (only deployed with PushReceiver Enabled); the other two by ticks with push-primary
 * streams. An instance without either pays nothing for them.
 */
export const PUSH_METRICS = {
  /** Events the push path forwarded and the destination acknowledged (per push request; 0 for a request that delivered none). */
  pushEvents: 'PushEvents',
  /** Events the pull of push-primary streams forwarded (per tick): the gap, plus any sent unchecked. */
  pullEvents: 'PullEvents',
  /** Events only the pull found, push never delivered them: a push gap, filled (per tick). */
  pushGapEvents: 'PushGapEvents',
  /** Events the pull of push-primary streams found already delivered by push (per tick, 0 included). */
  pushMatchedEvents: 'PushMatchedEvents',
} as const;

/**
 * The push function's own metrics (docs/PUSH.md, "Metrics"), beside `PushEvents`. These do carry a
 * dimension beyond the instance (the stream, or why a request was refused): Event Push carries only a few
 * streams (siem, siem-ci, audit) and there are four reasons, so the count stays small, and a metric exists
 * (USD 0.30 a month) only once its dimension value was emitted.
 */
export const PUSH_PATH_METRICS = {
  /** Events in an accepted body, per stream: {service, Instance, Stream}. */
  pushEventsReceived: 'PushEventsReceived',
  /** Of those, events the destination acknowledged, per stream: {service, Instance, Stream}. */
  pushEventsForwarded: 'PushEventsForwarded',
  /** Requests refused before forwarding: {service, Instance, Reason} (token, body, too-large, method). */
  pushRequestsRefused: 'PushRequestsRefused',
  /** Requests answered with an error because the destination did not acknowledge: {service, Instance}. */
  pushDestinationFailures: 'PushDestinationFailures',
} as const;

/** The extra dimension of the per-stream and the refusal metrics. */
export const PUSH_STREAM_DIMENSION = 'Stream';
export const PUSH_REASON_DIMENSION = 'Reason';

export function instanceDimensions(instance: string): Record<string, string> {
  return { service: SERVICE_NAME, Instance: instance };
}
