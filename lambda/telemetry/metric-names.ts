/**
 * Metric names and dimension sets, defined once: the function emits them (telemetry/) and the
 * stack builds its alarms and dashboard on exactly the same names and dimensions (lib/).
 * Powertools Metrics always adds a `service` dimension, so it is part of every set here.
 */

export const METRICS_NAMESPACE = 'MimecastCollector';
export const SERVICE_NAME = 'mimecast-collector';

/** Emitted once per stream per tick, with dimensions {service, Instance, Stream}. */
export const STREAM_METRICS = {
  eventsForwarded: 'EventsForwarded',
  pagesFetched: 'PagesFetched',
  bytesSent: 'BytesSent',
  throttledCalls: 'ThrottledCalls',
  /** All Mimecast-side failures; the class is in the `ErrorKind` metric below. */
  mimecastErrors: 'MimecastErrors',
  sinkErrors: 'SinkErrors',
  /** Now minus the newest event time delivered, in seconds. */
  collectionLagSeconds: 'CollectionLagSeconds',
  /** 1 when the stream ended its tick without error (idle and throttled count as healthy), else 0. */
  healthy: 'Healthy',
} as const;

/** Emitted once per tick, with dimensions {service, Instance}. */
export const INSTANCE_METRICS = {
  /** Streams that met wrong or expired credentials in this tick: an expired key must page someone. */
  authenticationFailures: 'AuthenticationFailures',
  /** Streams that lacked a permission or product in this tick. */
  permissionFailures: 'PermissionFailures',
  /** 1 for every tick that ended with every stream healthy. */
  tickSucceeded: 'TickSucceeded',
} as const;

/** Mimecast errors by class, with dimensions {service, Instance, Stream, ErrorKind}. */
export const MIMECAST_ERRORS_BY_KIND = 'MimecastErrorsByKind';

export type StreamMetricName = (typeof STREAM_METRICS)[keyof typeof STREAM_METRICS];
export type InstanceMetricName = (typeof INSTANCE_METRICS)[keyof typeof INSTANCE_METRICS];

export function streamDimensions(instance: string, stream: string): Record<string, string> {
  return { service: SERVICE_NAME, Instance: instance, Stream: stream };
}

export function instanceDimensions(instance: string): Record<string, string> {
  return { service: SERVICE_NAME, Instance: instance };
}
