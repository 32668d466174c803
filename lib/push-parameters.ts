/**
 * Event Push parameters besides PushReceiver (lib/parameters.ts):
 * - the S3 drain's (docs/DRAIN.md): whether there is an Event Push bucket to drain, whether the stack
 *   creates it or takes one that exists, its name, the key prefix Event Push writes under, and how long
 *   a created bucket keeps the files; and the conditions built on them;
 * - the gap fill's (docs/PUSH-GAP-FILL.md): the push-primary streams and how far their pull trails.
 */
import { CfnCondition, CfnParameter, CfnRule, Fn, type Stack } from 'aws-cdk-lib';
import { NUMERIC_SETTINGS, PUSHABLE_STREAMS } from '../lambda/config';
import { DRAIN_RECORD_DAYS } from '../lambda/state/table';
import { listPattern } from './list-pattern';

/** none: no drain (the default); create: the stack creates the bucket; existing: it exists. */
export const PUSH_BUCKET_CHOICES = ['none', 'create', 'existing'] as const;

/** Empty (PushBucket none), or an S3 bucket name: S3's characters and length. */
export const PUSH_BUCKET_NAME_PATTERN = '^$|^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$';

/**
 * Empty (every key), or segments of letters, digits and `. _ -` joined by single slashes and ending in
 * one. The closing slash makes `<bucket>/<prefix>*` (the grant) and the rule's prefix match name only
 * this folder, never a sibling whose name merely starts the same. The characters are those S3 leaves
 * as they are when it URL-encodes a key for EventBridge (`=`, `+`, a space would arrive as `%3D`, `%2B`,
 * `+`), so the rule's prefix compares the key as S3 sends it; no `*` or `?`, which IAM reads as wildcards.
 */
export const PUSH_BUCKET_PREFIX_PATTERN = '^$|^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*/$';

/**
 * Days a created Event Push bucket keeps a file: 1 to 60, default 30. Well below the 90 days a done
 * record lives (DRAIN_RECORD_DAYS), so S3 has deleted a file (its expiry runs within a day or two of the
 * date) before its record expires; otherwise a `drain` over the prefix would forward it a second time.
 */
export const PUSH_RETENTION_MAX_DAYS = 60;
export const DEFAULT_PUSH_RETENTION_DAYS = '30';
export const PUSH_RETENTION_DAYS_PATTERN = '^([1-9]|[1-5][0-9]|60)$';

export interface PushBucketParameters {
  pushBucket: CfnParameter;
  pushBucketName: CfnParameter;
  pushBucketPrefix: CfnParameter;
  pushRetentionDays: CfnParameter;
  /** PushBucket is create or existing: the drain function, its rule and its read grant exist. */
  drainsPushBucket: CfnCondition;
  /** PushBucket is create: the bucket exists (and its outputs). */
  createsPushBucket: CfnCondition;
  /** PushBucketPrefix is not empty: the rule matches keys under it only. */
  hasPushBucketPrefix: CfnCondition;
}

export function definePushBucketParameters(stack: Stack): PushBucketParameters {
  const pushBucket = new CfnParameter(stack, 'PushBucket', {
    type: 'String',
    default: 'none',
    allowedValues: [...PUSH_BUCKET_CHOICES],
    description:
      "Event Push's S3 delivery (docs/DRAIN.md): none = no drain; create = the stack creates the bucket " +
      'PushBucketName (SSE-S3, TLS only, public access blocked, ACLs off, EventBridge notifications on, files ' +
      'expired after PushRetentionDays, kept when the stack is deleted); existing = the bucket exists and its ' +
      'owner turns on its EventBridge notifications. Each new file under PushBucketPrefix is forwarded to ' +
      'the destination, once. A bucket encrypted with a customer-managed KMS key must also let the ' +
      'FunctionRoleArn output call kms:Decrypt on that key.',
  });
  const pushBucketName = new CfnParameter(stack, 'PushBucketName', {
    type: 'String',
    default: '',
    allowedPattern: PUSH_BUCKET_NAME_PATTERN,
    constraintDescription:
      'must be empty or an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)',
    description: 'PushBucket create or existing: the bucket Mimecast Event Push writes its files into.',
  });
  const pushBucketPrefix = new CfnParameter(stack, 'PushBucketPrefix', {
    type: 'String',
    default: '',
    allowedPattern: PUSH_BUCKET_PREFIX_PATTERN,
    constraintDescription:
      'must be empty or folder names of letters, digits, dots, underscores and hyphens, each followed by a slash (e.g. mimecast/push/)',
    description:
      'PushBucket create or existing: the key prefix (folder, ending in /) Event Push writes under; empty = the ' +
      'whole bucket. The function may read only objects under it and is invoked only for them.',
  });
  const pushRetentionDays = new CfnParameter(stack, 'PushRetentionDays', {
    type: 'String',
    default: DEFAULT_PUSH_RETENTION_DAYS,
    allowedPattern: PUSH_RETENTION_DAYS_PATTERN,
    constraintDescription: `must be a whole number of days from 1 to ${PUSH_RETENTION_MAX_DAYS}`,
    description:
      `PushBucket create only: days S3 keeps an Event Push file after it was written (1-${PUSH_RETENTION_MAX_DAYS}). ` +
      `Files are drained within minutes; the done records that stop a second forwarding live ${DRAIN_RECORD_DAYS} days.`,
  });

  const drainsPushBucket = new CfnCondition(stack, 'DrainsPushBucket', {
    expression: Fn.conditionNot(Fn.conditionEquals(pushBucket.valueAsString, 'none')),
  });
  const createsPushBucket = new CfnCondition(stack, 'CreatesPushBucket', {
    expression: Fn.conditionEquals(pushBucket.valueAsString, 'create'),
  });
  const hasPushBucketPrefix = new CfnCondition(stack, 'HasPushBucketPrefix', {
    expression: Fn.conditionNot(Fn.conditionEquals(pushBucketPrefix.valueAsString, '')),
  });
  new CfnRule(stack, 'PushBucketNeedsName', {
    ruleCondition: Fn.conditionNot(Fn.conditionEquals(pushBucket.valueAsString, 'none')),
    assertions: [
      {
        assert: Fn.conditionNot(Fn.conditionEquals(pushBucketName.valueAsString, '')),
        assertDescription: 'PushBucket create or existing needs PushBucketName (the Event Push bucket)',
      },
    ],
  });
  return {
    pushBucket,
    pushBucketName,
    pushBucketPrefix,
    pushRetentionDays,
    drainsPushBucket,
    createsPushBucket,
    hasPushBucketPrefix,
  };
}

/**
 * Empty (none), or stream ids Event Push can carry, comma-separated, no spaces: what the function's
 * parsePushPrimaryStreams accepts on its own (that each is collected too, the function checks against
 * Streams, since a parameter pattern cannot see another parameter).
 */
export const PUSH_PRIMARY_STREAMS_PATTERN = listPattern(PUSHABLE_STREAMS);

/** A whole number of seconds from 0 to 86 400 (a day), no leading zero: NUMERIC_SETTINGS.pushTrailSeconds. */
export const PUSH_TRAIL_SECONDS_PATTERN =
  '^(0|[1-9][0-9]{0,3}|[1-7][0-9]{4}|8[0-5][0-9]{3}|86[0-3][0-9]{2}|86400)$';

export interface PushPrimaryParameters {
  /** Streams whose primary path is Event Push; the pull fills their gaps (docs/PUSH-GAP-FILL.md). */
  pushPrimaryStreams: CfnParameter;
  /** Seconds the pull of push-primary streams trails now. */
  pushTrailSeconds: CfnParameter;
}

export function definePushPrimaryParameters(
  stack: Stack,
  pushReceiver: CfnParameter,
  pushBucket: CfnParameter,
): PushPrimaryParameters {
  const pushPrimaryStreams = new CfnParameter(stack, 'PushPrimaryStreams', {
    type: 'String',
    default: '',
    allowedPattern: PUSH_PRIMARY_STREAMS_PATTERN,
    constraintDescription: `must be empty or a comma-separated list (no spaces) of: ${PUSHABLE_STREAMS.join(', ')}`,
    description:
      'Streams whose primary path is Event Push (needs PushReceiver Enabled or a PushBucket; each must also be collected, see Streams): ' +
      'the scheduled pull runs behind push and forwards only the events push did not deliver (docs/PUSH-GAP-FILL.md). ' +
      'Empty = none.',
  });
  const pushTrailSeconds = new CfnParameter(stack, 'PushTrailSeconds', {
    type: 'String',
    default: String(NUMERIC_SETTINGS.pushTrailSeconds.default),
    allowedPattern: PUSH_TRAIL_SECONDS_PATTERN,
    constraintDescription: 'must be a whole number of seconds from 0 to 86400',
    description:
      'Push-primary window streams: seconds their pull stays behind now, so Event Push has delivered first ' +
      '(0-86400; default 15 minutes). Too short shows false gaps (and duplicates), never a loss.',
  });
  // The ledger is written by what receives pushes (the push function, the S3 drain): push-primary
  // streams without either would have the pull forward everything and count every event as a gap.
  new CfnRule(stack, 'PushPrimaryStreamsNeedPush', {
    ruleCondition: Fn.conditionNot(Fn.conditionEquals(pushPrimaryStreams.valueAsString, '')),
    assertions: [
      {
        assert: Fn.conditionOr(
          Fn.conditionEquals(pushReceiver.valueAsString, 'Enabled'),
          Fn.conditionNot(Fn.conditionEquals(pushBucket.valueAsString, 'none')),
        ),
        assertDescription:
          'PushPrimaryStreams needs PushReceiver Enabled or a PushBucket (what receives pushes records what it delivered, so the pull fills only the gaps)',
      },
    ],
  });
  return { pushPrimaryStreams, pushTrailSeconds };
}
