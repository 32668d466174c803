/**
 * The environment variables the stack sets on the function (and the local CLI may set).
 * Never a secret value: credentials live in Secrets Manager, found through SECRET_ARN.
 */
export const ENV = {
  instance: 'COLLECTOR_INSTANCE',
  apiVersion: 'MIMECAST_API_VERSION',
  mimecastBaseUrl: 'MIMECAST_BASE_URL',
  streams: 'COLLECTOR_STREAMS',
  collectionStart: 'COLLECTION_START',
  sinkUrl: 'SINK_URL',
  sinkFormat: 'SINK_FORMAT',
  /** splunk-hec indexer acknowledgement, `true` or `false`. */
  hecAck: 'HEC_ACK',
  secretArn: 'SECRET_ARN',
  checkpointTable: 'CHECKPOINT_TABLE',
  lagAlarmSeconds: 'LAG_ALARM_SECONDS',
  latenessMarginSeconds: 'LATENESS_MARGIN_SECONDS',
  lateDataMinutes: 'LATE_DATA_MINUTES',
  maxPagesPerStream: 'MAX_PAGES_PER_STREAM',
  batchMaxEvents: 'BATCH_MAX_EVENTS',
  batchMaxBytes: 'BATCH_MAX_BYTES',
  jsonPageSize: 'MIMECAST_PAGE_SIZE',
  siemBatchPageSize: 'SIEM_BATCH_PAGE_SIZE',
  siemEventTypes: 'SIEM_EVENT_TYPES',
  siemCiEventTypes: 'SIEM_CI_EVENT_TYPES',
  awarenessSnapshotHours: 'AWARENESS_SNAPSHOT_HOURS',
  /** Streams whose primary path is Event Push; the pull fills their gaps (docs/PUSH-GAP-FILL.md). */
  pushPrimaryStreams: 'PUSH_PRIMARY_STREAMS',
  /** Seconds the pull of push-primary streams trails now, so push has delivered first. */
  pushTrailSeconds: 'PUSH_TRAIL_SECONDS',
  /** sentinel: the Entra authority tokens come from (default https://login.microsoftonline.com). */
  azureAuthorityUrl: 'AZURE_AUTHORITY_URL',
  /** file destination (command line only; the stack never sets it): days of day files kept. */
  retentionDays: 'RETENTION_DAYS',
  /** syslog destination (command line only): PEM file of the CA a tls:// receiver's certificate is from. */
  sinkCa: 'SINK_CA_FILE',
  /** syslog destination (command line only): octets of one message. */
  syslogMaxMessageBytes: 'SYSLOG_MAX_MESSAGE_BYTES',
} as const;
