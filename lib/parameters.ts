/**
 * The stack's CloudFormation parameters, each validated by CloudFormation itself before anything
 * is created (allowedPattern / allowedValues), plus the rules and conditions built on them.
 * The Lambda parses every value again (lambda/config.ts): a parameter is only a token at synth time.
 */
import { CfnCondition, CfnParameter, CfnRule, Fn, type Stack } from 'aws-cdk-lib';
import { NUMERIC_SETTINGS, SIEM_EVENT_TYPE_SETS, SINK_FORMATS } from '../lambda/config';
import { STREAM_IDS, streamsFor } from '../lambda/core/streams';
import { MIMECAST_V1_HOSTS, MIMECAST_V2_HOSTS } from '../lambda/mimecast/hosts';
import { STACK_SINK_FORMATS } from '../lambda/sinks/format';
import {
  AWARENESS_SNAPSHOT_HOURS,
  DEFAULT_AWARENESS_SNAPSHOT_HOURS,
  DEFAULT_SCHEDULE_MINUTES,
  SCHEDULE_MINUTES,
} from './defaults';
import { defineLakeParameters, type LakeParameters, S3_INGESTION_URL_PATTERN } from './lake-parameters';
import { listPattern } from './list-pattern';
import {
  definePushBucketParameters,
  definePushPrimaryParameters,
  type PushBucketParameters,
  type PushPrimaryParameters,
} from './push-parameters';

/** API 1.0 (HMAC-signed) regional hosts, as the function's config validation knows them. */
export const MIMECAST_V1_BASE_URLS: readonly string[] = MIMECAST_V1_HOSTS.map((h) => h.baseUrl);

/** API 2.0 (OAuth2) hosts: the global one with failover, and the two pinned ones. */
export const MIMECAST_V2_BASE_URLS: readonly string[] = MIMECAST_V2_HOSTS.map((h) => h.baseUrl);

export const MIMECAST_API_VERSIONS = ['1', '2'] as const;
/** The sink formats the function implements. */
export { SINK_FORMATS };

/** Days 01-28 of any month, 29-30 of every month but February, 31 of the long months. */
const MONTH_DAY = '((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31)';
/** Leap years from 2000 on: divisible by 4, and by 400 when by 100. */
const LEAP_YEAR = '([2-9][0-9](0[48]|[2468][048]|[13579][26])|([2468][048]|[3579][26])00)';

/**
 * `YYYY-MM-DDThh:mm:ssZ` (UTC, whole seconds, a real calendar day from the year 2000 on), or empty
 * for "now": exactly what the function accepts in this form (lambda/config.ts parseCollectionStart),
 * so a start CloudFormation lets through never fails every tick instead.
 */
export const COLLECTION_START_PATTERN = `^$|^([2-9][0-9]{3}-${MONTH_DAY}|${LEAP_YEAR}-02-29)T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z$`;

const STREAM_ALTERNATIVES = `(${STREAM_IDS.join('|')})`;
/** One or more known stream ids, comma-separated, no spaces. */
export const STREAMS_PATTERN = `^${STREAM_ALTERNATIVES}(,${STREAM_ALTERNATIVES})*$`;

/**
 * The streams a deployment collects unless told otherwise: every Cloud Gateway log and the threat
 * feeds, on either API version. `siem-ci` (Cloud Integrated tenants) and the Awareness Training streams
 * (a product of its own) are added by listing them: a tenant without them would fail every tick.
 */
export const DEFAULT_STACK_STREAMS: readonly string[] = streamsFor(1);

export const SIEM_EVENT_TYPES_PATTERN = listPattern(SIEM_EVENT_TYPE_SETS.siem);
export const SIEM_CI_EVENT_TYPES_PATTERN = listPattern(SIEM_EVENT_TYPE_SETS['siem-ci']);

/** A whole number from 1 to `max` (100 or 500), no leading zero: what the function accepts, nothing more. */
function oneTo(max: 100 | 500): string {
  return max === 100 ? '^([1-9]|[1-9][0-9]|100)$' : '^([1-9]|[1-9][0-9]|[1-4][0-9]{2}|500)$';
}
export const JSON_PAGE_SIZE_PATTERN = oneTo(NUMERIC_SETTINGS.jsonPageSize.max);
export const SIEM_BATCH_PAGE_SIZE_PATTERN = oneTo(NUMERIC_SETTINGS.siemBatchPageSize.max);

const IPV4_OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
/**
 * A dotted IPv4 address, or DNS labels whose last one starts with a letter: a numeric last label
 * makes URL parsers read the whole host as an IPv4 address (`https://host.123` is no valid URL).
 */
const URL_HOST = `((${IPV4_OCTET}\\.){3}${IPV4_OCTET}|([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\\.)*[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?)`;
const URL_PORT = '(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}|0)';

/**
 * `https://host[:port][/path][?query]`, or `s3://bucket/prefix` for SinkFormat s3 (lake-parameters.ts).
 * No user-info part: credentials in a URL would end up in a plain environment variable; the sink token
 * belongs in the secret. Hosts and ports are ones a URL parser accepts, so a value CloudFormation lets
 * through is one the function accepts too.
 */
export const INGESTION_URL_PATTERN = `^https://${URL_HOST}(:${URL_PORT})?([/?][^\\s#]*)?$|${S3_INGESTION_URL_PATTERN}`;

/** Empty (no subscription) or one plausible e-mail address. */
export const ALARM_EMAIL_PATTERN = '^$|^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$';

export interface CollectorParameters extends LakeParameters, PushBucketParameters, PushPrimaryParameters {
  collectionStart: CfnParameter;
  apiVersion: CfnParameter;
  mimecastBaseUrl: CfnParameter;
  streams: CfnParameter;
  siemEventTypes: CfnParameter;
  siemCiEventTypes: CfnParameter;
  mimecastPageSize: CfnParameter;
  siemBatchPageSize: CfnParameter;
  awarenessSnapshotHours: CfnParameter;
  ingestionUrl: CfnParameter;
  sinkFormat: CfnParameter;
  /** splunk-hec indexer acknowledgement. */
  hecAck: CfnParameter;
  scheduleMinutes: CfnParameter;
  alarmEmail: CfnParameter;
  /** True when AlarmEmail is not empty. */
  hasAlarmEmail: CfnCondition;
  /** `Enabled` creates the Event Push receiver (lib/constructs/push-receiver.ts). */
  pushReceiver: CfnParameter;
  /** True when PushReceiver is Enabled. */
  pushReceiverEnabled: CfnCondition;
}

/**
 * Declares the parameters directly on the stack, so their logical ids are exactly the names
 * people pass to `cdk deploy --parameters Name=value`.
 */
export function defineParameters(stack: Stack): CollectorParameters {
  const collectionStart = new CfnParameter(stack, 'CollectionStartTs', {
    type: 'String',
    default: '',
    allowedPattern: COLLECTION_START_PATTERN,
    constraintDescription: 'must be empty or an ISO-8601 UTC time like 2026-01-01T00:00:00Z',
    description:
      'Where a stream starts the first time it is collected: ISO-8601 UTC, e.g. 2026-01-01T00:00:00Z; ' +
      'empty = now. Mimecast keeps SIEM logs for 7 days only. ' +
      'Changing it later never rewinds a stream that already has a checkpoint.',
  });
  const apiVersion = new CfnParameter(stack, 'MimecastApiVersion', {
    type: 'String',
    default: '2',
    allowedValues: [...MIMECAST_API_VERSIONS],
    description:
      'Mimecast API generation: 2 (OAuth2 client credentials, recommended) or 1 (HMAC keys, end of life).',
  });
  const mimecastBaseUrl = new CfnParameter(stack, 'MimecastBaseUrl', {
    type: 'String',
    default: MIMECAST_V2_BASE_URLS[0],
    allowedValues: [...MIMECAST_V2_BASE_URLS, ...MIMECAST_V1_BASE_URLS],
    description:
      'Mimecast API host. API 2.0: https://api.services.mimecast.com (global) or the pinned uk-/us- hosts. ' +
      'API 1.0: the regional host of your account grid (eu-, de-, us-, usb-, ca-, za-, au-, je-api.mimecast.com).',
  });
  const streams = new CfnParameter(stack, 'Streams', {
    type: 'String',
    default: DEFAULT_STACK_STREAMS.join(','),
    allowedPattern: STREAMS_PATTERN,
    constraintDescription: `must be a comma-separated list (no spaces) of: ${STREAM_IDS.join(', ')}`,
    description:
      `Log streams to collect, comma-separated without spaces. Known: ${STREAM_IDS.join(',')}. ` +
      'siem-ci (Cloud Integrated tenants) and awareness-* (Awareness Training) need MimecastApiVersion 2.',
  });
  const siemEventTypes = new CfnParameter(stack, 'SiemEventTypes', {
    type: 'String',
    default: '',
    allowedPattern: SIEM_EVENT_TYPES_PATTERN,
    constraintDescription: `must be empty or a comma-separated list of: ${SIEM_EVENT_TYPE_SETS.siem.join(', ')}`,
    description:
      'API 2.0 only: the Cloud Gateway SIEM event types the siem stream lists, comma-separated ' +
      `(e.g. receipt,process,url protect); empty = all of ${SIEM_EVENT_TYPE_SETS.siem.join(', ')}.`,
  });
  const siemCiEventTypes = new CfnParameter(stack, 'SiemCiEventTypes', {
    type: 'String',
    default: '',
    allowedPattern: SIEM_CI_EVENT_TYPES_PATTERN,
    constraintDescription: `must be empty or a comma-separated list of: ${SIEM_EVENT_TYPE_SETS['siem-ci'].join(', ')}`,
    description: `The Cloud Integrated event types the siem-ci stream lists; empty = all of ${SIEM_EVENT_TYPE_SETS['siem-ci'].join(', ')}.`,
  });
  const mimecastPageSize = new CfnParameter(stack, 'MimecastPageSize', {
    type: 'String',
    default: String(NUMERIC_SETTINGS.jsonPageSize.default),
    allowedPattern: JSON_PAGE_SIZE_PATTERN,
    constraintDescription: 'must be a whole number from 1 to 500',
    description:
      'Records per page asked of the JSON endpoints (audit, TTP, DLP, held, archive search, Awareness Training): ' +
      '1-500. Lower it only if Mimecast refuses the page size.',
  });
  const siemBatchPageSize = new CfnParameter(stack, 'SiemBatchPageSize', {
    type: 'String',
    default: String(NUMERIC_SETTINGS.siemBatchPageSize.default),
    allowedPattern: SIEM_BATCH_PAGE_SIZE_PATTERN,
    constraintDescription: 'must be a whole number from 1 to 100',
    description: 'API 2.0: batch files per page of the SIEM listings (siem, siem-ci), 1-100.',
  });
  const awarenessSnapshotHours = new CfnParameter(stack, 'AwarenessSnapshotHours', {
    type: 'String',
    default: DEFAULT_AWARENESS_SNAPSHOT_HOURS,
    allowedValues: [...AWARENESS_SNAPSHOT_HOURS],
    description:
      'Hours between two Awareness Training snapshots (the awareness-* streams forward every row once per ' +
      'snapshot; an unchanged row keeps its id). At most a day, so the lag alarm stays meaningful.',
  });
  const ingestionUrl = new CfnParameter(stack, 'IngestionUrl', {
    type: 'String',
    minLength: 9,
    maxLength: 2048,
    allowedPattern: INGESTION_URL_PATTERN,
    constraintDescription:
      'must be an https:// URL without user:password@ (put the sink token in the secret), or s3://<bucket>/<prefix> for SinkFormat s3',
    description:
      'Where the events go, by SinkFormat: ndjson any https URL; splunk-hec ' +
      'https://<host>:8088/services/collector/event; elastic-bulk https://<host>/<index>/_bulk; sumo ' +
      'https://<collection endpoint>/receiver/v1/http/ (the source token goes in the secret, not here); ' +
      'datadog https://http-intake.logs.<site>/api/v2/logs; sentinel ' +
      'https://<dce>/dataCollectionRules/<dcr-immutable-id>/streams/<stream>?api-version=2023-01-01; ' +
      's3 s3://<bucket>/<prefix> (the slash after the bucket is required: s3://<bucket>/ for no prefix; ' +
      'see LakeBucket). Tokens and keys go in the secret, never here.',
  });
  const sinkFormat = new CfnParameter(stack, 'SinkFormat', {
    type: 'String',
    default: 'ndjson',
    allowedValues: [...STACK_SINK_FORMATS],
    description:
      'Body format for the ingestion endpoint: ndjson (one envelope per line), splunk-hec, elastic-bulk, ' +
      'sumo (Sumo Logic HTTP Source), datadog (logs intake v2), s3 (gzip NDJSON objects in Hive-style ' +
      'partitions of the bucket IngestionUrl names, which LakeBucket says the stack creates or takes).',
  });
  const hecAck = new CfnParameter(stack, 'HecAck', {
    type: 'String',
    default: 'false',
    allowedValues: ['false', 'true'],
    description:
      'splunk-hec only: true waits for Splunk indexer acknowledgement of every post (the HEC token must have ' +
      'it on; needed behind a load balancer, where HTTP 200 only means queued).',
  });
  new CfnRule(stack, 'HecAckNeedsSplunkHec', {
    ruleCondition: Fn.conditionEquals(hecAck.valueAsString, 'true'),
    assertions: [
      {
        assert: Fn.conditionEquals(sinkFormat.valueAsString, 'splunk-hec'),
        assertDescription: 'HecAck true is for SinkFormat splunk-hec (Splunk indexer acknowledgement)',
      },
    ],
  });
  const scheduleMinutes = new CfnParameter(stack, 'ScheduleMinutes', {
    type: 'String',
    default: DEFAULT_SCHEDULE_MINUTES,
    allowedValues: [...SCHEDULE_MINUTES],
    description:
      'Minutes between collection ticks. Every tick collects for at most 4.5 minutes, so shorter ' +
      'intervals catch up faster after a backfill or an outage.',
  });
  const alarmEmail = new CfnParameter(stack, 'AlarmEmail', {
    type: 'String',
    default: '',
    allowedPattern: ALARM_EMAIL_PATTERN,
    constraintDescription: 'must be empty or an e-mail address',
    description:
      'E-mail address subscribed to the alarm topic (confirm the subscription mail). Empty = no subscription; ' +
      'subscribe anything else to the AlarmTopicArn output.',
  });

  const lake = defineLakeParameters(stack, sinkFormat);

  const hasAlarmEmail = new CfnCondition(stack, 'HasAlarmEmail', {
    expression: Fn.conditionNot(Fn.conditionEquals(alarmEmail.valueAsString, '')),
  });

  const pushReceiver = new CfnParameter(stack, 'PushReceiver', {
    type: 'String',
    default: 'Disabled',
    allowedValues: ['Disabled', 'Enabled'],
    description:
      "Enabled: a Function URL that takes Mimecast's Event Push (Integrations Hub) and forwards it to the same destination; " +
      'paste the PushUrl output and the token from PushTokenSecretArn into Mimecast (docs/PUSH.md).',
  });
  const pushReceiverEnabled = new CfnCondition(stack, 'PushReceiverEnabled', {
    expression: Fn.conditionEquals(pushReceiver.valueAsString, 'Enabled'),
  });
  const pushBucket = definePushBucketParameters(stack);

  const pushPrimary = definePushPrimaryParameters(stack, pushReceiver, pushBucket.pushBucket);

  // The host list allows both generations; these rules refuse a host of the other generation
  // at deploy time, before anything is created.
  new CfnRule(stack, 'ApiV2NeedsApiV2Host', {
    ruleCondition: Fn.conditionEquals(apiVersion.valueAsString, '2'),
    assertions: [
      {
        assert: Fn.conditionContains([...MIMECAST_V2_BASE_URLS], mimecastBaseUrl.valueAsString),
        assertDescription: `With MimecastApiVersion 2, MimecastBaseUrl must be one of ${MIMECAST_V2_BASE_URLS.join(', ')}`,
      },
    ],
  });
  new CfnRule(stack, 'ApiV1NeedsRegionalHost', {
    ruleCondition: Fn.conditionEquals(apiVersion.valueAsString, '1'),
    assertions: [
      {
        assert: Fn.conditionContains([...MIMECAST_V1_BASE_URLS], mimecastBaseUrl.valueAsString),
        assertDescription: `With MimecastApiVersion 1, MimecastBaseUrl must be a regional API 1.0 host (${MIMECAST_V1_BASE_URLS.join(', ')})`,
      },
    ],
  });

  stack.templateOptions.metadata = {
    ...stack.templateOptions.metadata,
    'AWS::CloudFormation::Interface': {
      ParameterGroups: [
        {
          Label: { default: 'Mimecast' },
          Parameters: [
            apiVersion.logicalId,
            mimecastBaseUrl.logicalId,
            streams.logicalId,
            collectionStart.logicalId,
            siemEventTypes.logicalId,
            siemCiEventTypes.logicalId,
            mimecastPageSize.logicalId,
            siemBatchPageSize.logicalId,
            awarenessSnapshotHours.logicalId,
          ],
        },
        {
          Label: { default: 'Destination' },
          Parameters: [
            ingestionUrl.logicalId,
            sinkFormat.logicalId,
            hecAck.logicalId,
            lake.lakeBucket.logicalId,
            lake.lakeRetentionDays.logicalId,
          ],
        },
        { Label: { default: 'Operations' }, Parameters: [scheduleMinutes.logicalId, alarmEmail.logicalId] },
        {
          Label: { default: 'Event Push' },
          Parameters: [
            pushReceiver.logicalId,
            pushPrimary.pushPrimaryStreams.logicalId,
            pushPrimary.pushTrailSeconds.logicalId,
            pushBucket.pushBucket.logicalId,
            pushBucket.pushBucketName.logicalId,
            pushBucket.pushBucketPrefix.logicalId,
            pushBucket.pushRetentionDays.logicalId,
          ],
        },
      ],
    },
  };

  return {
    collectionStart,
    apiVersion,
    mimecastBaseUrl,
    streams,
    siemEventTypes,
    siemCiEventTypes,
    mimecastPageSize,
    siemBatchPageSize,
    awarenessSnapshotHours,
    ingestionUrl,
    sinkFormat,
    hecAck,
    scheduleMinutes,
    alarmEmail,
    hasAlarmEmail,
    ...lake,
    pushReceiver,
    pushReceiverEnabled,
    ...pushPrimary,
    ...pushBucket,
  };
}
