/**
 * `mimecast-collector run`: the same tick the Lambda runs, on this machine, with checkpoints in a
 * local folder (embedded DynamoDB) or a real table.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type CollectorSettings,
  parseBoundedInteger,
  parseCollectorSettings,
  type SettingNames,
} from '../../lambda/config';
import type { Log } from '../../lambda/core/ports';
import { STREAM_IDS } from '../../lambda/core/streams';
import { ConfigError } from '../../lambda/errors';
import { s3OptionsFromEnv } from '../../lambda/sinks';
import { redactUrl } from '../../lambda/sinks/endpoint';
import { SecretRedactor } from '../../lambda/telemetry/redact';
import { collectTick, type TickOutcome } from '../../lambda/tick';
import { CREDENTIAL_ENV, credentialsFromEnv } from './credentials';
import { type CliIO, EXIT_FAILED, EXIT_OK, parseFlags, reportError, table } from './io';
import { DEFAULT_STATE_DIR, openStore } from './store';

export const RUN_HELP = `Usage: mimecast-collector run [options]

Collects Mimecast logs into an HTTP endpoint from this machine, with the same engine the Lambda runs.
Checkpoints live in a local folder (an embedded DynamoDB) unless --table names a real table, so a
second run resumes where the first stopped and forwards nothing twice.

Credentials come from the environment, never from flags:
  API 2.0: ${CREDENTIAL_ENV.clientId}, ${CREDENTIAL_ENV.clientSecret}
  API 1.0: ${CREDENTIAL_ENV.appId}, ${CREDENTIAL_ENV.appKey}, ${CREDENTIAL_ENV.accessKey}, ${CREDENTIAL_ENV.secretKey}
  sink:    ${CREDENTIAL_ENV.sinkToken} (optional; sent as the receiver's auth header)

Options:
  --sink-url URL          where events go (HTTPS; http only for 127.0.0.1, ::1, localhost)   [required]
  --sink-format FORMAT    ndjson | splunk-hec | elastic-bulk | sumo | datadog | s3 | file      [ndjson]
                          (s3: --sink-url s3://bucket/prefix; AWS_REGION, AWS_ENDPOINT_URL_S3;
                           file: --sink-url file:///abs/dir, day files per stream)
  --retention-days N      file: days of day files kept, older ones removed                      [7]
  --hec-ack               splunk-hec: wait for Splunk's indexer acknowledgement of each post
  --mimecast-url URL      Mimecast API host, e.g. https://api.services.mimecast.com (API 2.0)
                          or https://eu-api.mimecast.com (API 1.0)        [API 2.0 global host]
  --api-version 1|2       Mimecast API version                  [from the credentials variables]
  --streams LIST          comma list of: ${STREAM_IDS.join(', ')}
                          (siem-ci and awareness-* need API 2.0)        [every stream the API version serves]
  --start ISO-8601        where a stream collected for the first time starts, e.g.
                          2026-11-01T00:00:00Z; never rewinds an existing checkpoint        [now]
  --instance ID           collector instance (one per Mimecast account)                         [local]
  --state-dir DIR         folder of the embedded checkpoint store                              [${DEFAULT_STATE_DIR}]
  --table NAME            use this DynamoDB table instead (AWS credentials from the environment)
  --region REGION         AWS region of --table
  --once                  one tick, then exit (default: poll every --interval seconds until Ctrl-C)
  --until-caught-up       ticks back to back until every stream is caught up (or failed), then exit
  --interval SECONDS      pause between ticks when caught up                                    [300]
  --tick-seconds SECONDS  time budget of one tick                                               [840]
  --lateness SECONDS      window streams stay this far behind now                               [300]
  --late-data-minutes N   window streams ask each span of event time once more when it is this
                          old, and forward what Mimecast made visible since (0 = never)         [60]
  --max-pages N           Mimecast calls per stream per tick                                    [100]
  --batch-events N        events per batch sent                                                 [5000]
  --batch-bytes N         bytes per batch sent, before compression                              [4194304]
  --page-size N           records per page asked of the JSON endpoints (audit, TTP, DLP, ...,
                          Awareness Training), 1-500; lower it if Mimecast refuses 500          [500]
  --siem-batch-page-size N  batch files per page of the API 2.0 SIEM listings, 1-100            [100]
  --siem-types LIST       API 2.0 siem event types to list, comma-separated, e.g. receipt,process,url protect
                          (API 1.0 files carry every type)                             [all ten]
  --siem-ci-types LIST    siem-ci event types: entities, mailflow, urlclick                     [all]
  --awareness-snapshot-hours N  hours between two Awareness Training snapshots, 1-168            [24]
  --verbose               print the engine's log lines on stderr
  -h, --help              this text

Late data: Mimecast makes some events visible well after their own time (SIEM up to 30 minutes, audit
and TTP logs late too). An event that becomes visible at most max(--late-data-minutes, --lateness)
after its time is delivered, exactly once; a later one may be missed. Lowering either one risks
missing events that Mimecast indexes late; raising --late-data-minutes costs checkpoint space (the
ids it remembers), not more calls. The schedule does not change the bound.

Exit code: 0 when every stream ended its last tick without error, 1 otherwise, 2 for bad input.

Example:
  export ${CREDENTIAL_ENV.clientId}=... ${CREDENTIAL_ENV.clientSecret}=...
  npx mimecast-collector run --once --sink-url https://splunk.example.com:8088/services/collector/event \\
    --sink-format splunk-hec --start 2026-11-01T00:00:00Z
`;

const FLAGS = {
  'sink-url': { type: 'string' },
  'sink-format': { type: 'string' },
  'hec-ack': { type: 'boolean' },
  'retention-days': { type: 'string' },
  'mimecast-url': { type: 'string' },
  'api-version': { type: 'string' },
  streams: { type: 'string' },
  start: { type: 'string' },
  instance: { type: 'string' },
  'state-dir': { type: 'string' },
  table: { type: 'string' },
  region: { type: 'string' },
  once: { type: 'boolean' },
  'until-caught-up': { type: 'boolean' },
  interval: { type: 'string' },
  'tick-seconds': { type: 'string' },
  lateness: { type: 'string' },
  'late-data-minutes': { type: 'string' },
  'max-pages': { type: 'string' },
  'batch-events': { type: 'string' },
  'batch-bytes': { type: 'string' },
  'page-size': { type: 'string' },
  'siem-batch-page-size': { type: 'string' },
  'siem-types': { type: 'string' },
  'siem-ci-types': { type: 'string' },
  'awareness-snapshot-hours': { type: 'string' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** How each setting is called in messages: by its flag. */
const FLAG_NAMES: SettingNames = {
  instance: '--instance',
  apiVersion: '--api-version',
  mimecastBaseUrl: '--mimecast-url',
  streams: '--streams',
  collectionStart: '--start',
  sinkUrl: '--sink-url',
  sinkFormat: '--sink-format',
  hecAck: '--hec-ack',
  latenessMarginSeconds: '--lateness',
  lateDataMinutes: '--late-data-minutes',
  maxPagesPerTick: '--max-pages',
  batchMaxEvents: '--batch-events',
  batchMaxBytes: '--batch-bytes',
  jsonPageSize: '--page-size',
  siemBatchPageSize: '--siem-batch-page-size',
  siemEventTypes: '--siem-types',
  siemCiEventTypes: '--siem-ci-types',
  awarenessSnapshotHours: '--awareness-snapshot-hours',
};

/** `--retention-days` of the file destination. */
const RETENTION_DAYS = { default: 7, min: 1, max: 3650 };

const V2_GLOBAL_HOST = 'https://api.services.mimecast.com';

function seconds(flag: string, text: string | undefined, fallback: number, max: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new ConfigError('command line', [
      { field: flag, problem: `must be a whole number of seconds from 1 to ${max}` },
    ]);
  }
  return value;
}

/**
 * The engine's log on stderr, secrets redacted: warnings always; the rest with --verbose (a failed
 * stream is reported once, by the summary line after the tick).
 */
function terminalLog(io: CliIO, verbose: boolean, redactor: SecretRedactor): Log {
  const write = (level: string, message: string, attributes?: Record<string, unknown>) => {
    const stream = typeof attributes?.stream === 'string' ? `[${attributes.stream}] ` : '';
    const rest = attributes === undefined ? '' : ` ${JSON.stringify(attributes)}`;
    io.err(redactor.redactText(`${level} ${stream}${message}${rest}`));
  };
  return {
    debug: (m, a) => verbose && write('debug', m, a),
    info: (m, a) => verbose && write('info', m, a),
    warn: (m, a) => write('warn', m, a),
    error: (m, a) => verbose && write('error', m, a),
  };
}

function lag(seconds: number | undefined): string {
  if (seconds === undefined) return '-';
  if (seconds < 120) return `${Math.round(seconds)}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  return `${(seconds / 3600).toFixed(1)}h`;
}

function summary(io: CliIO, outcome: TickOutcome): void {
  io.out('');
  for (const line of table(
    ['stream', 'outcome', 'events', 'pages', 'bytes sent', 'lag'],
    outcome.streams.map((s) => [
      s.stream,
      s.outcome,
      String(s.events),
      String(s.pages),
      String(s.bytes),
      lag(s.lagSeconds),
    ]),
  )) {
    io.out(line);
  }
  for (const s of outcome.streams.filter((x) => x.outcome === 'failed')) {
    const error = s.error ?? {};
    io.err(
      `${s.stream}: failed: ${String(error.message ?? 'unknown error')}${error.remedy ? ` — ${String(error.remedy)}` : ''}`,
    );
  }
}

export async function runCommand(argv: string[], io: CliIO): Promise<number> {
  let flags: ReturnType<typeof parseFlags<typeof FLAGS>>;
  try {
    flags = parseFlags(argv, FLAGS);
  } catch (error) {
    return reportError(io, error);
  }
  if (flags.help) {
    io.out(RUN_HELP);
    return EXIT_OK;
  }

  let settings: CollectorSettings;
  let credentials: ReturnType<typeof credentialsFromEnv>;
  let intervalSeconds: number;
  let tickSeconds: number;
  let retentionDays = RETENTION_DAYS.default;
  try {
    const problems: ConfigError[] = [];
    const attempt = <T>(fn: () => T): T | undefined => {
      try {
        return fn();
      } catch (error) {
        if (error instanceof ConfigError) problems.push(error);
        else throw error;
        return undefined;
      }
    };
    const creds = attempt(() => credentialsFromEnv(io.env));
    const apiVersion = flags['api-version'] ?? (creds ? String(creds.mimecast.apiVersion) : undefined);
    const parsed = attempt(() =>
      parseCollectorSettings(
        {
          instance: flags.instance ?? 'local',
          apiVersion,
          mimecastBaseUrl: flags['mimecast-url'] ?? (apiVersion === '2' ? V2_GLOBAL_HOST : undefined),
          streams: flags.streams,
          collectionStart: flags.start,
          sinkUrl: flags['sink-url'],
          sinkFormat: flags['sink-format'] ?? 'ndjson',
          hecAck: flags['hec-ack'] === true ? 'true' : undefined,
          latenessMarginSeconds: flags.lateness,
          lateDataMinutes: flags['late-data-minutes'],
          maxPagesPerTick: flags['max-pages'],
          batchMaxEvents: flags['batch-events'],
          batchMaxBytes: flags['batch-bytes'],
          jsonPageSize: flags['page-size'],
          siemBatchPageSize: flags['siem-batch-page-size'],
          siemEventTypes: flags['siem-types'],
          siemCiEventTypes: flags['siem-ci-types'],
          awarenessSnapshotHours: flags['awareness-snapshot-hours'],
        },
        FLAG_NAMES,
        'command line',
      ),
    );
    const interval = attempt(() => seconds('--interval', flags.interval, 300, 86_400));
    // issue 14: the file destination's retention.
    const retention = parseBoundedInteger(flags['retention-days'], RETENTION_DAYS);
    if (!retention.ok) {
      problems.push(
        new ConfigError('command line', [{ field: '--retention-days', problem: retention.problem }]),
      );
    } else {
      retentionDays = retention.value;
    }
    const tick = attempt(() => seconds('--tick-seconds', flags['tick-seconds'], 840, 86_400));
    if (creds && parsed && creds.mimecast.apiVersion !== parsed.apiVersion) {
      problems.push(
        new ConfigError('command line', [
          {
            field: '--api-version',
            problem: `is ${parsed.apiVersion}, but the environment holds API ${creds.mimecast.apiVersion}.0 credentials`,
          },
        ]),
      );
    }
    if (flags.once && flags['until-caught-up']) {
      problems.push(
        new ConfigError('command line', [
          { field: '--until-caught-up', problem: 'use either --once or --until-caught-up, not both' },
        ]),
      );
    }
    if (flags.table && flags['state-dir']) {
      problems.push(
        new ConfigError('command line', [
          { field: '--table', problem: 'use either --table or --state-dir, not both' },
        ]),
      );
    }
    if (problems.length > 0 || !creds || !parsed || interval === undefined || tick === undefined) {
      throw new ConfigError(
        'command line',
        problems.flatMap((p) => p.problems),
        'Fix the listed flags or environment variables; see `mimecast-collector run --help`.',
      );
    }
    settings = parsed;
    credentials = creds;
    intervalSeconds = interval;
    tickSeconds = tick;
  } catch (error) {
    return reportError(io, error);
  }

  const redactor = new SecretRedactor();
  const log = terminalLog(io, flags.verbose === true, redactor);
  let opened: Awaited<ReturnType<typeof openStore>>;
  try {
    opened = await openStore({ table: flags.table, stateDir: flags['state-dir'], region: flags.region });
  } catch (error) {
    return reportError(io, error);
  }
  io.out(
    // Without the query: some receivers take a token there (Splunk's `?token=`).
    `Collecting ${settings.streams.join(', ')} from ${settings.mimecastBaseUrl} (API ${settings.apiVersion}.0) into ${redactUrl(new URL(settings.sinkUrl))} (${settings.sinkFormat}); checkpoints in ${opened.description}.`,
  );

  const delivered = new Map<string, number>();
  let exitCode = EXIT_OK;
  try {
    for (let tickNumber = 1; ; tickNumber++) {
      const started = Date.now();
      const { outcome } = await collectTick({
        config: settings,
        adapters: {
          log,
          store: opened.store,
          credentials: { get: async () => credentials, invalidate: () => {} },
          registerSecrets: (values) => redactor.register(values),
          // issue 14: the s3 destination's endpoint, region and keys from this shell's environment.
          s3: s3OptionsFromEnv(io.env),
          retentionDays,
          onDelivered: (stream, batch) => {
            const total = (delivered.get(stream) ?? 0) + batch.length;
            delivered.set(stream, total);
            const newest = Math.max(...batch.map((e) => Date.parse(e.time)));
            const lagSeconds = Number.isFinite(newest) ? (Date.now() - newest) / 1000 : undefined;
            io.out(`  ${stream}: +${batch.length} events (${total} this run), lag ${lag(lagSeconds)}`);
          },
        },
        owner: `cli-${randomUUID()}`,
        deadline: started + tickSeconds * 1000,
        signal: io.signal,
      });
      summary(io, outcome);
      exitCode = outcome.ok ? EXIT_OK : EXIT_FAILED;
      if (flags.once || io.signal?.aborted) break;
      // More is waiting when a stream stopped on its budget: go again at once; otherwise wait.
      const moreWaiting = outcome.streams.some((s) => s.outcome === 'budget-exhausted');
      if (flags['until-caught-up'] && !moreWaiting) break;
      if (!moreWaiting) {
        io.out(`Tick ${tickNumber} done; next in ${intervalSeconds}s (Ctrl-C stops).`);
        try {
          await sleep(intervalSeconds * 1000, undefined, { signal: io.signal });
        } catch {
          break;
        }
      }
      if (io.signal?.aborted) break;
    }
  } catch (error) {
    exitCode = reportError(io, error);
  } finally {
    await opened.close();
  }
  return exitCode;
}
