/**
 * The push function's metrics (docs/PUSH.md, "Metrics"): one request's outcome (lambda/push/receiver.ts
 * `PushOutcome`) as EMF lines through Powertools Metrics, like the tick's (tick-health.ts): on stdout,
 * no PutMetricData call, so no IAM grant and no latency. Every line sets all its dimensions itself
 * (clearing Powertools' defaults), so the alarm's metric math finds exactly the set it names.
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { PushOutcome } from '../push/receiver';
import { count, publishEmfLine } from './emf';
import {
  instanceDimensions,
  PUSH_METRICS,
  PUSH_PATH_METRICS,
  PUSH_REASON_DIMENSION,
  PUSH_STREAM_DIMENSION,
} from './metric-names';

/**
 * One line under the instance dimensions (`PushEvents`: what the request delivered, 0 unless forwarded;
 * `PushDestinationFailures` when the destination did not acknowledge), one per stream of an accepted
 * body (received, and forwarded), and one for a refusal with its reason.
 */
export function publishPushOutcome(
  metrics: Metrics,
  instance: string,
  outcome: PushOutcome,
  now: number,
): void {
  const line = (dimensions: Record<string, string>, values: Record<string, number>) =>
    publishEmfLine(metrics, dimensions, values, now);
  const base = instanceDimensions(instance);
  const forwarded = outcome.kind === 'forwarded' ? outcome.forwarded : {};
  const delivered = Object.values(forwarded).reduce((sum, n) => sum + count(n), 0);
  line(base, {
    [PUSH_METRICS.pushEvents]: delivered,
    ...(outcome.kind === 'failed' ? { [PUSH_PATH_METRICS.pushDestinationFailures]: 1 } : {}),
  });
  if (outcome.kind === 'refused') {
    line(
      { ...base, [PUSH_REASON_DIMENSION]: outcome.reason },
      { [PUSH_PATH_METRICS.pushRequestsRefused]: 1 },
    );
    return;
  }
  for (const [stream, received] of Object.entries(outcome.received)) {
    line(
      { ...base, [PUSH_STREAM_DIMENSION]: stream },
      {
        [PUSH_PATH_METRICS.pushEventsReceived]: count(received),
        [PUSH_PATH_METRICS.pushEventsForwarded]: count(forwarded[stream as keyof typeof forwarded]),
      },
    );
  }
}
