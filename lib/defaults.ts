/**
 * Defaults of the collector stack, kept apart from the wiring (in the spirit of AWS Solutions
 * Constructs): every number here is a decision, and the comment says why it was taken.
 */
import { Duration } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { validateInstanceId } from '../lambda/config';
import { isSnapshotStream, STREAM_IDS, type StreamId } from '../lambda/core/streams';
import { ConfigError } from '../lambda/errors';

/** Context key that names the collector instance (`npx cdk deploy -c instance=acme`). */
export const INSTANCE_CONTEXT_KEY = 'instance';
export const DEFAULT_INSTANCE = 'default';

export function stackNameFor(instance: string): string {
  return `MimecastCollector-${instance}`;
}

/**
 * The instance of a `cdk` command: its `-c instance=` value, checked, or the default with a warning
 * to print, since a forgotten `-c instance=acme` would otherwise synthesize, diff or deploy a second
 * stack (`MimecastCollector-default`) without a word.
 */
export function instanceFromContext(context: unknown): { instance: string; warning?: string } {
  if (context !== undefined) return { instance: validateInstance(context) };
  return {
    instance: DEFAULT_INSTANCE,
    warning: `warning: no -c ${INSTANCE_CONTEXT_KEY}=NAME given, so this is stack ${stackNameFor(DEFAULT_INSTANCE)}. Pass -c ${INSTANCE_CONTEXT_KEY}=<your instance> (e.g. -c ${INSTANCE_CONTEXT_KEY}=acme) on every cdk synth, diff, deploy and destroy.`,
  };
}

/** The instance id, checked by the same rule the function applies to COLLECTOR_INSTANCE. */
export function validateInstance(instance: unknown): string {
  const checked = validateInstanceId(typeof instance === 'string' ? instance : undefined);
  if (!checked.ok || checked.value !== instance) {
    throw new ConfigError('collector instance', [
      {
        field: `-c ${INSTANCE_CONTEXT_KEY}`,
        problem: `${checked.ok ? 'must not have surrounding spaces' : checked.problem} (e.g. -c ${INSTANCE_CONTEXT_KEY}=acme)`,
      },
    ]);
  }
  return instance as string;
}

/**
 * Days between automatic rotations of the instance's KMS key (KMS allows 90 to 2,560). Rotation stays
 * on (cdk-nag KMS5, Security Hub KMS.4), at the longest period: KMS charges USD 1 a month more after each
 * of a key's first two rotations, which would take the instance past its USD 7 budget from the third
 * year with yearly rotation (test/cost/). The key only wraps the data keys of one secret, the few wrapped
 * fields and the alarm topic, re-encrypted whenever `configure` stores new keys; rotation does not
 * re-encrypt old ciphertext anyway. A policy that demands yearly rotation sets 365 here (and pays
 * USD 1 a month more from the second year, USD 2 from the third).
 */
export const KEY_ROTATION_DAYS = 2560;

/** KMS alias of the credentials key, one per instance (aliases must be unique per account and region). */
export function keyAliasFor(instance: string): string {
  return `alias/mimecast-collector/${instance}`;
}

/**
 * Prefix of every alarm name of an instance. A `/` cannot occur in an instance id, so the prefix
 * of `acme` never matches the alarms of `acme-eu` (it is also the `aws:SourceArn` pattern that
 * lets CloudWatch publish to this instance's topic and use the key that encrypts it).
 */
export function alarmNamePrefix(instance: string): string {
  return `mimecast-collector/${instance}/`;
}

export const FUNCTION_DEFAULTS = {
  /**
   * 1024 MB. The work is mostly waiting on HTTPS, but not only: a SIEM zip/gzip file is decoded,
   * every event is hashed for its stable id (SIEM file records over their own text, paged records over
   * canonical JSON: docs/ARCHITECTURE.md, "Event ids"), and each batch is gzipped into a
   * bounded Buffer before it is sent. Lambda hands out CPU in proportion to memory (about 0.58 vCPU
   * here), which is what sets the catch-up speed after a backfill or an outage; the memory also
   * leaves room for one decoded file plus the batch in flight. On arm64 a 60 s tick every
   * 5 minutes costs about USD 7 a month at this size, less when caught up. Up to 1,769 MB (one vCPU)
   * a CPU-bound backfill costs the same per event and ends sooner; above it the second vCPU stays
   * idle (docs/PERFORMANCE.md, "Cost per million events").
   */
  memorySizeMb: 1024,
  /**
   * 4 min 30 s. The schedule is a stack parameter whose smallest allowed value is 5 minutes, so the
   * timeout must stay under 5 minutes: a tick then always ends before the next one is due, and with
   * reserved concurrency 1 ticks never queue behind each other. The handler watches its remaining
   * time and stops cleanly with checkpoints saved; the 30 s margin covers the lease release, the
   * metric flush and a cold start. For the longer intervals this only means a tick collects for at
   * most 4.5 minutes; the checkpoint carries the rest to the next tick.
   */
  timeout: Duration.seconds(270),
  /** Exactly one tick at a time per instance; the DynamoDB lease stays the real guard. */
  reservedConcurrency: 1,
  /**
   * A scheduled event that cannot start within 2 minutes (only possible if a manual invocation
   * overlaps) is dropped to the failure queue rather than held for up to 6 hours: the next tick
   * is at most one interval away and resumes from the checkpoint.
   */
  maxEventAge: Duration.minutes(2),
  /** No automatic retry: the next scheduled tick is the retry, and it resumes from the checkpoint. */
  retryAttempts: 0,
  /**
   * Three months: long enough to investigate a gap noticed at a monthly review, short enough not
   * to keep operational logs (which never contain event payloads or secrets) for ever.
   */
  logRetention: logs.RetentionDays.THREE_MONTHS,
} as const;

/** Failed-tick records (async on-failure destination and EventBridge DLQ) are kept the SQS maximum. */
export const FAILURE_QUEUE_RETENTION = Duration.days(14);

/** Allowed schedule intervals in minutes (strings: they are CloudFormation parameter values). */
export const SCHEDULE_MINUTES = ['5', '10', '15', '30', '60'] as const;
export const DEFAULT_SCHEDULE_MINUTES = '5';

export const ALARM_DEFAULTS = {
  /**
   * "Streams failing" fires after this many schedule periods in a row in which some stream failed
   * (missing data counts as failing: a collector that stopped running emits nothing). Three periods
   * ride out one transient failure and one late tick; the third failed tick pages at once.
   */
  failedTickPeriods: 3,
  /** Period of the alarms on AWS-emitted metrics (Lambda errors, queue depth). */
  servicePeriod: Duration.minutes(5),
} as const;

/**
 * Awareness Training snapshot intervals the stack offers (hours; strings: CloudFormation parameter
 * values). At most a day, so one lag threshold fits every choice (below); the command line takes up
 * to a week (`--awareness-snapshot-hours`).
 */
export const AWARENESS_SNAPSHOT_HOURS = ['1', '2', '3', '4', '6', '8', '12', '24'] as const;
export const DEFAULT_AWARENESS_SNAPSHOT_HOURS = '24';

/**
 * Collection lag (now minus the newest event time delivered) above which a stream counts as lagging
 * (the function compares each stream with its own threshold; one tick beyond it pages).
 * Mimecast publishes SIEM files about every 30 minutes, so two hours means the collector is
 * behind, not Mimecast; Cloud Integrated SIEM (`siem-ci`) is published the same way. The other
 * log streams only have events when something happens (a click, a DLP hit, a held message
 * released, an archive search): a quiet tenant can go hours without one, so their thresholds are
 * a day to avoid paging on silence. An Awareness Training snapshot carries the time it was taken,
 * so its lag grows by design until the next one: up to the interval (at most 24 hours in the stack)
 * plus one schedule period (at most an hour) plus the time the snapshot takes; 26 hours means a
 * snapshot is overdue. (A snapshot that finds no rows at all delivers nothing and so does not move
 * the lag: a watchlist that empties alarms after 26 hours.) A stream that is stuck rather than
 * quiet is caught by the "streams failing" alarm. Override per stream with the stack's
 * `lagAlarmThresholds` prop.
 */
export const LAG_ALARM_THRESHOLDS: Record<StreamId, Duration> = Object.fromEntries(
  STREAM_IDS.map((stream) => [stream, lagThreshold(stream)]),
) as Record<StreamId, Duration>;

function lagThreshold(stream: StreamId): Duration {
  if (stream === 'siem' || stream === 'siem-ci') return Duration.hours(2);
  if (isSnapshotStream(stream)) return Duration.hours(26);
  return Duration.hours(24);
}

/** Thresholds in whole seconds, as the function receives them (LAG_ALARM_SECONDS). */
export function lagAlarmSeconds(thresholds: Record<StreamId, Duration>): Record<StreamId, number> {
  return Object.fromEntries(STREAM_IDS.map((stream) => [stream, thresholds[stream].toSeconds()])) as Record<
    StreamId,
    number
  >;
}
