/** Telemetry: the structured logger (core `Log` port, with secret redaction) and the tick metrics. */
export { type CollectorLog, type CollectorLogOptions, createLogger, type LogLevelName } from './logger';
export * from './metric-names';
export {
  createMetrics,
  instanceMetricValues,
  type MetricValue,
  publishTickMetrics,
  STREAM_METRIC_UNITS,
  streamMetricValues,
} from './metrics';
export { encodedForms, MIN_REDACTED_LENGTH, REDACTED, SecretRedactor } from './redact';
