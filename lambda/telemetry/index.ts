/** Telemetry: the structured logger (core `Log` port, with secret redaction) and the tick's health (metrics and log lines). */
export * from './health-log';
export { type CollectorLog, type CollectorLogOptions, createLogger, type LogLevelName } from './logger';
export * from './metric-names';
export { publishPushOutcome } from './push-metrics';
export { encodedForms, MIN_REDACTED_LENGTH, REDACTED, SecretRedactor } from './redact';
export {
  createMetrics,
  createTickTelemetry,
  type LagAlarmSeconds,
  pullMetrics,
  streamHealth,
  type TickHealth,
  type TickTelemetry,
  type TickTelemetryOptions,
  tickHealth,
} from './tick-health';
