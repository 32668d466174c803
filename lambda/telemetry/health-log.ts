/**
 * The stream health log line: one structured line per stream per tick, the per-stream detail that
 * is not worth a metric. Its message and fields are defined here once; the stack's dashboard
 * widgets and alarm descriptions query exactly these (CloudWatch Logs Insights reads the JSON fields,
 * nested ones as `mimecastErrorsByKind.transient`).
 */
import type { LastError } from '../core/checkpoint';
import type { ErrorKind } from '../errors';

/** The `message` of every stream health line. */
export const STREAM_HEALTH_MESSAGE = 'stream health';

/**
 * The fields of a stream health line (besides Powertools' own `level`, `message`, `timestamp`,
 * `service` and the logger's `instance`).
 */
export interface StreamHealthLine {
  stream: string;
  /** The engine's StreamOutcome: caught-up, budget-exhausted, throttled, waiting, lease-held, failed. */
  outcome: string;
  /** 1 when the stream ended its tick without error (idle and throttled count as healthy), else 0. */
  healthy: 0 | 1;
  /** Events the sink acknowledged in this tick. */
  events: number;
  pages: number;
  /** Bytes put on the wire to the sink. */
  bytes: number;
  /** 429 answers from Mimecast. */
  throttledCalls: number;
  /** Mimecast-side errors in this tick, all classes together... */
  mimecastErrors: number;
  /** ...and by class (only the classes seen). */
  mimecastErrorsByKind: Partial<Record<ErrorKind, number>>;
  /** Batches the sink failed to acknowledge. */
  sinkErrors: number;
  /** Now minus the newest event time ever delivered; absent while the stream never delivered. */
  lagSeconds?: number;
  /** The stream's lag alarm threshold (the stack's LAG_ALARM_SECONDS). */
  lagAlarmSeconds?: number;
  /** 1 when lagSeconds exceeds lagAlarmSeconds, else 0. */
  lagging: 0 | 1;
  /** What ended a failed tick, as the checkpoint's lastError records it (log-safe, with the remedy). */
  error?: LastError;
  /**
   * Push-primary streams (docs/PUSH-GAP-FILL.md): of `events`, how many push had already delivered (left out),
   * how many only the pull found (a push gap), how many were sent without the ledger's answer.
   */
  alreadyPushed?: number;
  pushGap?: number;
  uncheckedAgainstPush?: number;
}

/** The error classes that count in StreamsRefused: Mimecast refused the key, or the stream to this key. */
export const REFUSALS = ['authentication', 'permission'] as const satisfies readonly ErrorKind[];

const ON_HEALTH_LINES = `filter message = "${STREAM_HEALTH_MESSAGE}"`;

/**
 * Logs Insights queries over the function's log group that name the streams concerned: the alarm
 * descriptions print them, the dashboard runs the same ones.
 */
export const HEALTH_QUERIES = {
  /** Streams whose ticks failed, how often, and what the last failure says to do. */
  failedStreams:
    `${ON_HEALTH_LINES} and healthy = 0 | stats count(*) as failedTicks, latest(error.kind) as kind, ` +
    'latest(error.remedy) as remedy by stream | sort failedTicks desc',
  /** Streams beyond their lag threshold, with their lag. */
  laggingStreams:
    `${ON_HEALTH_LINES} and lagging = 1 | stats max(lagSeconds) as lagSeconds, ` +
    'latest(lagAlarmSeconds) as thresholdSeconds by stream | sort lagSeconds desc',
  /** Streams Mimecast refused (key or permission), with the class and what to do. */
  refusedStreams:
    `${ON_HEALTH_LINES} and error.kind in [${REFUSALS.map((k) => `"${k}"`).join(', ')}] | stats count(*) as ticks, ` +
    'latest(error.kind) as kind, latest(error.remedy) as remedy by stream',
  /** Where every stream stands: the dashboard's main table. */
  streamsNow:
    `${ON_HEALTH_LINES} | stats latest(outcome) as outcome, min(healthy) as healthy, ` +
    'latest(lagSeconds) as lagSeconds, latest(lagAlarmSeconds) as lagThreshold, sum(events) as events, ' +
    'sum(pages) as pages, sum(bytes) as bytes, sum(throttledCalls) as throttled, ' +
    'sum(mimecastErrors) as mimecastErrors, sum(sinkErrors) as sinkErrors by stream | sort stream asc',
  /** Lag per stream over time. */
  lagOverTime: `${ON_HEALTH_LINES} | stats max(lagSeconds) by bin(1h), stream`,
  /** Events forwarded per stream over time. */
  eventsOverTime: `${ON_HEALTH_LINES} | stats sum(events) by bin(1h), stream`,
  /** Failed ticks per stream over time. */
  failuresOverTime: `${ON_HEALTH_LINES} and healthy = 0 | stats count(*) by bin(1h), stream`,
  /** What stopped the streams, by error class (each health line also counts Mimecast errors by class). */
  failuresByClass:
    `${ON_HEALTH_LINES} and healthy = 0 | stats count(*) as failedTicks by stream, error.kind ` +
    '| sort stream asc',
} as const;
