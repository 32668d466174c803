/**
 * One CloudWatch EMF line through Powertools: the dimensions given (and no default ones), count metrics,
 * optional metadata, the timestamp of the work it reports. The tick and the push function both write
 * their metrics this way.
 */
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

export function publishEmfLine(
  metrics: Metrics,
  dimensions: Record<string, string>,
  counts: Record<string, number>,
  now: number,
  metadata: Record<string, string> = {},
): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  metrics.clearDimensions();
  metrics.clearDefaultDimensions();
  for (const [name, value] of Object.entries(dimensions)) metrics.addDimension(name, value);
  for (const [name, value] of Object.entries(counts)) metrics.addMetric(name, MetricUnit.Count, value);
  for (const [name, value] of Object.entries(metadata)) metrics.addMetadata(name, value);
  metrics.setTimestamp(now);
  metrics.publishStoredMetrics();
}

/** Counts are non-negative integers; anything else is a bug that must not break telemetry. */
export function count(value: number | undefined): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : 0;
}
