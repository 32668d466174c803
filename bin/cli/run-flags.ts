/** `run`'s flags and help, declared once (flags.ts); the settings' flag names and defaults come from lambda/settings. */
import { STREAM_IDS } from '../../lambda/core/streams';
import { NUMERIC_SETTINGS, SETTING_CARRIERS, type SettingName, SINK_FORMATS } from '../../lambda/settings';
import { CREDENTIAL_ENV } from './credentials';
import type { CommandDeclaration, FlagDeclaration } from './flags';
import { DEFAULT_STATE_DIR } from './store';

/** The instance `run` collects as unless told otherwise. */
export const DEFAULT_RUN_INSTANCE = 'local';
export const DEFAULT_INTERVAL_SECONDS = 300;
export const DEFAULT_TICK_SECONDS = 840;

/** A flag that carries a setting: its name from the settings table, its default from the setting's. */
function settingFlag(
  setting: SettingName,
  value: string,
  description: string,
  extra: Partial<FlagDeclaration> = {},
): FlagDeclaration {
  const name = SETTING_CARRIERS[setting].flag.replace(/^--/, '');
  const bounds = (NUMERIC_SETTINGS as Partial<Record<SettingName, { default: number }>>)[setting];
  return { name, value, description, ...(bounds ? { default: String(bounds.default) } : {}), ...extra };
}

export const RUN_FLAGS: readonly FlagDeclaration[] = [
  settingFlag(
    'sinkUrl',
    'URL',
    'where events go (HTTPS; http only for 127.0.0.1, ::1, localhost; syslog: tls://host:port)',
    {
      required: true,
    },
  ),
  settingFlag(
    'sinkFormat',
    'FORMAT',
    'how events are sent (s3: --sink-url s3://bucket/prefix, region and endpoint from AWS_REGION and AWS_ENDPOINT_URL_S3; file: --sink-url file:///abs/dir; syslog: RFC 5424 over --sink-url tls://host:port, tcp:// only to this machine)',
    { choices: SINK_FORMATS, default: 'ndjson' },
  ),
  {
    name: SETTING_CARRIERS.hecAck.flag.replace(/^--/, ''),
    description:
      "splunk-hec: wait for Splunk's indexer acknowledgement of each post before the checkpoint moves",
  },
  settingFlag('retentionDays', 'N', 'file: days of day files kept, older ones removed'),
  settingFlag('azureAuthorityUrl', 'URL', 'sentinel: the Entra authority tokens come from', {
    defaultNote: 'https://login.microsoftonline.com',
  }),
  settingFlag(
    'sinkCa',
    'PEM',
    "syslog tls://: the receiver's CA certificate file, trusted besides the system's",
    {
      defaultNote: 'system CAs only',
    },
  ),
  settingFlag(
    'syslogMaxMessageBytes',
    'N',
    "syslog: bytes of one message, as the receiver's limit (rsyslog MaxFrameSize); a larger event stops its stream, named",
    // No filled-in default: the setting refuses a value with another format (the setting's default applies).
    { default: undefined, defaultNote: String(NUMERIC_SETTINGS.syslogMaxMessageBytes.default) },
  ),
  settingFlag(
    'mimecastBaseUrl',
    'URL',
    'Mimecast API host, e.g. https://api.services.mimecast.com (API 2.0) or https://eu-api.mimecast.com (API 1.0)',
    { defaultNote: 'API 2.0 global host' },
  ),
  settingFlag('apiVersion', '1|2', 'Mimecast API version', { defaultNote: 'from the credentials variables' }),
  settingFlag(
    'streams',
    'LIST',
    `comma list of: ${STREAM_IDS.join(', ')} (siem-ci and awareness-* need API 2.0)`,
    {
      defaultNote: 'every stream the API version serves',
    },
  ),
  settingFlag(
    'collectionStart',
    'ISO-8601',
    'where a stream collected for the first time starts, e.g. 2026-11-01T00:00:00Z; never rewinds an existing checkpoint',
    { defaultNote: 'now' },
  ),
  settingFlag('instance', 'ID', 'collector instance (one per Mimecast account)', {
    default: DEFAULT_RUN_INSTANCE,
  }),
  {
    name: 'state-dir',
    value: 'DIR',
    description: 'folder of the embedded checkpoint store',
    defaultNote: DEFAULT_STATE_DIR,
    conflicts: ['table'],
  },
  {
    name: 'table',
    value: 'NAME',
    description: 'use this DynamoDB table instead (AWS credentials from the environment)',
  },
  { name: 'region', value: 'REGION', description: 'AWS region of --table' },
  {
    name: 'once',
    description: 'one tick, then exit (default: poll every --interval seconds until Ctrl-C)',
    conflicts: ['until-caught-up'],
  },
  {
    name: 'until-caught-up',
    description: 'ticks back to back until every stream is caught up (or failed), then exit',
  },
  {
    name: 'interval',
    value: 'SECONDS',
    description: 'pause between ticks when caught up',
    default: String(DEFAULT_INTERVAL_SECONDS),
  },
  {
    name: 'tick-seconds',
    value: 'SECONDS',
    description: 'time budget of one tick',
    default: String(DEFAULT_TICK_SECONDS),
  },
  settingFlag('latenessMarginSeconds', 'SECONDS', 'window streams stay this far behind now'),
  settingFlag(
    'lateDataMinutes',
    'N',
    'window streams ask each span of event time once more when it is this old, and forward what Mimecast made visible since (0 = never)',
  ),
  settingFlag(
    'pushPrimaryStreams',
    'LIST',
    'streams Event Push delivers: the pull forwards only what the push ledger in the same state (or --table) does not hold',
    { defaultNote: 'none' },
  ),
  settingFlag('pushTrailSeconds', 'SECONDS', 'push-primary window streams stay this far behind now'),
  settingFlag('maxPagesPerStream', 'N', 'Mimecast calls per stream per tick'),
  settingFlag('batchMaxEvents', 'N', 'events per batch sent'),
  settingFlag('batchMaxBytes', 'N', 'bytes per batch sent, before compression'),
  settingFlag(
    'jsonPageSize',
    'N',
    `records per page asked of the JSON endpoints (audit, TTP, DLP, ..., Awareness Training), 1-${NUMERIC_SETTINGS.jsonPageSize.max}; lower it if Mimecast refuses ${NUMERIC_SETTINGS.jsonPageSize.max}`,
  ),
  settingFlag(
    'siemBatchPageSize',
    'N',
    `batch files per page of the API 2.0 SIEM listings, 1-${NUMERIC_SETTINGS.siemBatchPageSize.max}`,
  ),
  settingFlag(
    'siemEventTypes',
    'LIST',
    'API 2.0 siem event types to list, comma-separated, e.g. receipt,process,url protect (API 1.0 files carry every type)',
    { defaultNote: 'all' },
  ),
  settingFlag('siemCiEventTypes', 'LIST', 'siem-ci event types: entities, mailflow, urlclick', {
    defaultNote: 'all',
  }),
  settingFlag(
    'awarenessSnapshotHours',
    'N',
    `hours between two Awareness Training snapshots, ${NUMERIC_SETTINGS.awarenessSnapshotHours.min}-${NUMERIC_SETTINGS.awarenessSnapshotHours.max}`,
  ),
  { name: 'verbose', description: "print the engine's log lines on stderr" },
];

export const RUN_EXAMPLE = `  export ${CREDENTIAL_ENV.clientId}=... ${CREDENTIAL_ENV.clientSecret}=...
  npx mimecast-collector run --once --sink-url https://splunk.example.com:8088/services/collector/event \\
    --sink-format splunk-hec --start 2026-11-01T00:00:00Z`;

export const RUN_COMMAND: CommandDeclaration = {
  name: 'run',
  summary: `Collects Mimecast logs into an HTTP endpoint from this machine, with the same engine the Lambda runs.
Checkpoints live in a local folder (an embedded DynamoDB) unless --table names a real table, so a
second run resumes where the first stopped and forwards nothing twice.

Credentials come from the environment, never from flags:
  API 2.0: ${CREDENTIAL_ENV.clientId}, ${CREDENTIAL_ENV.clientSecret}
  API 1.0: ${CREDENTIAL_ENV.appId}, ${CREDENTIAL_ENV.appKey}, ${CREDENTIAL_ENV.accessKey}, ${CREDENTIAL_ENV.secretKey}
  sink:    ${CREDENTIAL_ENV.sinkToken} (optional; sent as the receiver's auth header)
  sentinel: ${CREDENTIAL_ENV.azureTenantId}, ${CREDENTIAL_ENV.azureClientId}, ${CREDENTIAL_ENV.azureClientSecret} (the Entra app)`,
  flags: RUN_FLAGS,
  epilogue: `Late data: Mimecast makes some events visible well after their own time (SIEM up to 30 minutes, audit
and TTP logs late too). An event that becomes visible at most max(--late-data-minutes, --lateness)
after its time is delivered, exactly once; a later one may be missed. Lowering either one risks
missing events that Mimecast indexes late; raising --late-data-minutes costs checkpoint space (the
ids it remembers), not more calls. The schedule does not change the bound.

Exit code: 0 when every stream ended its last tick without error, 1 otherwise, 2 for bad input.

Example:
${RUN_EXAMPLE}
`,
};
