/**
 * The collector's settings, declared once: one schema per setting (its check, and the parsed type),
 * the environment variable and the `run` flag that carry it, and one parse that reports every
 * problem at once in the words of whichever the user wrote. The type is inferred from the schemas.
 */
import * as z from 'zod';
import { STREAM_IDS, type StreamId, streamsFor } from '../core/streams';
import { ENV } from '../env-names';
import { ConfigError, type ConfigProblem } from '../errors';
import { pathSecret } from '../sinks/endpoint';
import { CLI_ONLY_FORMATS, SINK_FORMATS, type SinkFormat } from '../sinks/format';
import { buildFormat } from '../sinks/formats';
import type { Check } from './check';
import {
  parseEventTypes,
  parseLagAlarmSeconds,
  parsePushPrimaryStreams,
  parseStreamList,
  SIEM_EVENT_TYPE_SETS,
  unservedStreams,
  unservedStreamsProblem,
} from './lists';
import { type MimecastBaseUrl, mimecastHostServes, validateMimecastBaseUrl } from './mimecast-url';
import {
  NUMERIC_SETTINGS,
  parseApiVersion,
  parseBoundedInteger,
  parseCollectionStart,
  parseSinkFormat,
  parseSwitch,
  readCaFile,
  type SinkUrl,
  validateAzureAuthorityUrl,
  validateInstanceId,
  validateSecretId,
  validateSinkUrl,
  validateTableName,
} from './values';

/** A setting: raw text in, its check's problem as the issue, the parsed value out. */
function setting<Out extends z.ZodType>(check: (text: string | undefined) => Check<z.output<Out>>, out: Out) {
  return (
    z
      .string()
      .optional()
      .transform((text, ctx) => {
        const checked = check(text);
        if (checked.ok) return checked.value;
        ctx.addIssue({ code: 'custom', message: checked.problem });
        return z.NEVER;
      })
      // The check's value is what `out` takes in; a generic `Out` cannot show TypeScript that.
      // biome-ignore lint/suspicious/noExplicitAny: see above
      .pipe(out as Out & z.core.$ZodType<unknown, any>)
  );
}

const bounded = (field: keyof typeof NUMERIC_SETTINGS) =>
  setting((text) => parseBoundedInteger(text, NUMERIC_SETTINGS[field]), z.number().int());

/** One schema per setting of one tick, wherever it runs (the Lambda, or `run` with its flags). */
export const SETTING_SCHEMAS = {
  /** Collector instance id: checkpoint key prefix, metric dimension, KMS context. */
  instance: setting(validateInstanceId, z.string()),
  apiVersion: setting(parseApiVersion, z.union([z.literal(1), z.literal(2)])),
  /** Origin only, no trailing slash: `https://eu-api.mimecast.com`. */
  mimecastBaseUrl: setting(
    validateMimecastBaseUrl,
    z.custom<MimecastBaseUrl>((v) => typeof v === 'string'),
  ),
  /** Streams to collect, in the order given (empty text: every stream the API version serves). */
  streams: setting(parseStreamList, z.array(z.enum(STREAM_IDS)).min(1)),
  /** Where a stream collected for the first time starts; undefined = the engine's default (now). */
  collectionStart: setting(parseCollectionStart, z.date().optional()),
  sinkUrl: setting(
    validateSinkUrl,
    z.custom<SinkUrl>((v) => typeof v === 'string'),
  ),
  sinkFormat: setting(parseSinkFormat, z.enum(SINK_FORMATS)),
  /** splunk-hec: wait for Splunk's indexer acknowledgement of each post (sinks/hec-ack.ts). */
  hecAck: setting(parseSwitch, z.boolean()),
  /** sentinel: where Entra tokens come from (sinks/entra.ts). */
  azureAuthorityUrl: setting(validateAzureAuthorityUrl, z.string()),
  /** file destination (command line): days of day files kept, older ones removed. */
  retentionDays: bounded('retentionDays'),
  /** syslog over tls:// (command line): the PEM text of the file named, certificates trusted besides the system's. */
  sinkCa: setting(readCaFile, z.string().optional()),
  /** syslog (command line): octets of one message; a larger event refuses its batch (sinks/syslog.ts). */
  syslogMaxMessageBytes: bounded('syslogMaxMessageBytes'),
  /** Seconds a time window stays open behind now, so late-indexed Mimecast events are not skipped. */
  latenessMarginSeconds: bounded('latenessMarginSeconds'),
  /**
   * Minutes after which window streams ask each span of event time once more, for events Mimecast made
   * visible later than the margin (mimecast/streams/late-data.ts); 0 (or at most the margin) = never.
   */
  lateDataMinutes: bounded('lateDataMinutes'),
  /** Mimecast calls (pages) one stream may make in one tick. */
  maxPagesPerStream: bounded('maxPagesPerStream'),
  /** Events per sink batch. */
  batchMaxEvents: bounded('batchMaxEvents'),
  /** Serialized bytes per sink batch (before compression). */
  batchMaxBytes: bounded('batchMaxBytes'),
  /** Records per page asked of the post-REST JSON endpoints (audit, TTP, DLP, ..., Awareness Training). */
  jsonPageSize: bounded('jsonPageSize'),
  /** Batch files per page asked of the API 2.0 SIEM listings (`siem`, `siem-ci`). */
  siemBatchPageSize: bounded('siemBatchPageSize'),
  /** API 2.0 Cloud Gateway SIEM event types `siem` lists (API 1.0 files carry every type). */
  siemEventTypes: setting((t) => parseEventTypes(t, SIEM_EVENT_TYPE_SETS.siem), z.array(z.string()).min(1)),
  /** API 2.0 Cloud Integrated SIEM event types `siem-ci` lists. */
  siemCiEventTypes: setting(
    (t) => parseEventTypes(t, SIEM_EVENT_TYPE_SETS['siem-ci']),
    z.array(z.string()).min(1),
  ),
  /** Hours between two Awareness Training snapshots. */
  awarenessSnapshotHours: bounded('awarenessSnapshotHours'),
  /** Streams whose primary path is Event Push: the pull forwards only what push did not (docs/PUSH-GAP-FILL.md). */
  pushPrimaryStreams: setting(parsePushPrimaryStreams, z.array(z.enum(STREAM_IDS))),
  /** Seconds the pull of push-primary streams stays behind now (window streams), so push delivered first. */
  pushTrailSeconds: bounded('pushTrailSeconds'),
};

export const collectorSettingsSchema = z.object(SETTING_SCHEMAS);
/** What one tick needs, wherever it runs. */
export type CollectorSettings = z.output<typeof collectorSettingsSchema>;

/** The function's configuration: the settings plus where its AWS resources are. */
export interface LambdaConfig extends CollectorSettings {
  /** Secrets Manager secret ARN (or name, for local runs). */
  secretArn: string;
  /** DynamoDB table name or ARN. */
  checkpointTable: string;
  /** Lag alarm threshold of each configured stream, seconds: a stream beyond it counts in StreamsLagging. */
  lagAlarmSeconds: Partial<Record<StreamId, number>>;
}

export type SettingName = keyof typeof SETTING_SCHEMAS;
/** Raw text of each setting, by CollectorSettings field name. */
export type SettingsInput = Partial<Record<SettingName, string | undefined>>;
/** How each setting is called in problems: an environment variable, a command-line flag... */
export type SettingNames = Record<SettingName, string>;

/** The environment variable (the Lambda) and the `run` flag of each setting. */
export const SETTING_CARRIERS: Record<SettingName, { env: string; flag: string }> = {
  instance: { env: ENV.instance, flag: '--instance' },
  apiVersion: { env: ENV.apiVersion, flag: '--api-version' },
  mimecastBaseUrl: { env: ENV.mimecastBaseUrl, flag: '--mimecast-url' },
  streams: { env: ENV.streams, flag: '--streams' },
  collectionStart: { env: ENV.collectionStart, flag: '--start' },
  sinkUrl: { env: ENV.sinkUrl, flag: '--sink-url' },
  sinkFormat: { env: ENV.sinkFormat, flag: '--sink-format' },
  hecAck: { env: ENV.hecAck, flag: '--hec-ack' },
  retentionDays: { env: ENV.retentionDays, flag: '--retention-days' },
  sinkCa: { env: ENV.sinkCa, flag: '--sink-ca-file' },
  syslogMaxMessageBytes: { env: ENV.syslogMaxMessageBytes, flag: '--syslog-max-message-bytes' },
  azureAuthorityUrl: { env: ENV.azureAuthorityUrl, flag: '--azure-authority-url' },
  latenessMarginSeconds: { env: ENV.latenessMarginSeconds, flag: '--lateness' },
  lateDataMinutes: { env: ENV.lateDataMinutes, flag: '--late-data-minutes' },
  maxPagesPerStream: { env: ENV.maxPagesPerStream, flag: '--max-pages' },
  batchMaxEvents: { env: ENV.batchMaxEvents, flag: '--batch-events' },
  batchMaxBytes: { env: ENV.batchMaxBytes, flag: '--batch-bytes' },
  jsonPageSize: { env: ENV.jsonPageSize, flag: '--page-size' },
  siemBatchPageSize: { env: ENV.siemBatchPageSize, flag: '--siem-batch-page-size' },
  siemEventTypes: { env: ENV.siemEventTypes, flag: '--siem-types' },
  siemCiEventTypes: { env: ENV.siemCiEventTypes, flag: '--siem-ci-types' },
  awarenessSnapshotHours: { env: ENV.awarenessSnapshotHours, flag: '--awareness-snapshot-hours' },
  pushPrimaryStreams: { env: ENV.pushPrimaryStreams, flag: '--push-primary' },
  pushTrailSeconds: { env: ENV.pushTrailSeconds, flag: '--push-trail' },
};

const SETTING_NAMES = Object.keys(SETTING_SCHEMAS) as SettingName[];
const namesBy = (carrier: 'env' | 'flag') =>
  Object.fromEntries(SETTING_NAMES.map((name) => [name, SETTING_CARRIERS[name][carrier]])) as SettingNames;

/** The environment variable of each setting. */
export const SETTINGS_ENV_NAMES: SettingNames = namesBy('env');
/** The `run` flag of each setting. */
export const SETTINGS_FLAG_NAMES: SettingNames = namesBy('flag');

/**
 * Every setting parsed, every problem pushed onto `problems` under the name the user wrote. A
 * setting checked against another (streams and the Mimecast host against the API version, the sink
 * URL against its format) is checked only when that one is valid, so one mistake gives one problem.
 */
function collectSettings(
  input: SettingsInput,
  names: SettingNames,
  problems: ConfigProblem[],
  checkSinkUrlFormat: boolean,
): Partial<CollectorSettings> {
  const parsed: Partial<Record<SettingName, unknown>> = {};
  for (const name of SETTING_NAMES) {
    const result = SETTING_SCHEMAS[name].safeParse(input[name]);
    if (result.success) parsed[name] = result.data;
    else
      for (const issue of result.error.issues) problems.push({ field: names[name], problem: issue.message });
  }
  const settings = parsed as Partial<CollectorSettings>;
  const { apiVersion } = settings;
  if (apiVersion !== undefined) {
    if (settings.streams !== undefined) {
      if ((input.streams ?? '').trim() === '') settings.streams = streamsFor(apiVersion);
      const unserved = unservedStreams(settings.streams, apiVersion);
      if (unserved.length > 0) {
        problems.push({
          field: names.streams,
          problem: unservedStreamsProblem(unserved, apiVersion, names.apiVersion),
        });
        settings.streams = undefined;
      }
    }
    if (settings.mimecastBaseUrl !== undefined) {
      settings.mimecastBaseUrl = take(
        names.mimecastBaseUrl,
        problems,
        mimecastHostServes(settings.mimecastBaseUrl, apiVersion),
      );
    }
  }
  if (settings.pushPrimaryStreams !== undefined && settings.streams !== undefined) {
    const uncollected = settings.pushPrimaryStreams.filter((stream) => !settings.streams!.includes(stream));
    if (uncollected.length > 0) {
      problems.push({
        field: names.pushPrimaryStreams,
        problem: `${uncollected.join(', ')} ${uncollected.length > 1 ? 'are' : 'is'} not collected (${names.streams}); a push-primary stream must be collected too, for the pull to fill its gaps`,
      });
    }
  }
  const { sinkUrl, sinkFormat } = settings;
  if (sinkUrl !== undefined && sinkFormat !== undefined) {
    const mismatch = sinkUrlSchemeProblem(sinkUrl, sinkFormat, names.sinkFormat);
    if (mismatch !== undefined) problems.push({ field: names.sinkUrl, problem: mismatch });
    // Sumo's URL is judged with the sink token, which only the destination holds (sinks/sumo.ts).
    else if (checkSinkUrlFormat && isHttpFormat(sinkFormat) && sinkFormat !== 'sumo') {
      const formatProblems: ConfigProblem[] = [];
      buildFormat(sinkFormat, new URL(sinkUrl), {}, formatProblems);
      for (const p of formatProblems) problems.push({ field: names.sinkUrl, problem: p.problem });
    }
  }
  if (sinkFormat !== undefined && sinkFormat !== 'syslog') {
    for (const name of ['sinkCa', 'syslogMaxMessageBytes'] as const) {
      // Only a value that parsed: a bad one already has its problem.
      if (settings[name] !== undefined && (input[name] ?? '').trim() !== '') {
        problems.push({
          field: names[name],
          problem: `is for ${names.sinkFormat} syslog; the format is ${sinkFormat}`,
        });
      }
    }
  } else if (settings.sinkCa !== undefined && sinkUrl !== undefined && !sinkUrl.startsWith('tls:')) {
    problems.push({
      field: names.sinkCa,
      problem: `is for a tls:// ${names.sinkUrl}; a tcp:// receiver has no certificate`,
    });
  }
  if (settings.hecAck === true && sinkFormat !== undefined && sinkFormat !== 'splunk-hec') {
    problems.push({
      field: names.hecAck,
      problem: `is for ${names.sinkFormat} splunk-hec (Splunk's indexer acknowledgement); the format is ${sinkFormat}`,
    });
  }
  return settings;
}

/** The formats that are not HTTP: their URL schemes, and the URL shape they take. */
const NON_HTTP_SCHEMES: Partial<Record<SinkFormat, { schemes: readonly string[]; shape: string }>> = {
  s3: { schemes: ['s3:'], shape: 's3://<bucket>/<prefix>' },
  file: { schemes: ['file:'], shape: 'file:///<absolute dir>' },
  syslog: { schemes: ['tls:', 'tcp:'], shape: 'tls://<host>:<port> (tcp:// only on this machine)' },
};

const isHttpFormat = (format: SinkFormat) => NON_HTTP_SCHEMES[format] === undefined;

/** s3, file and syslog take their own URL schemes, every other format an https (or loopback http) URL. */
function sinkUrlSchemeProblem(sinkUrl: string, format: SinkFormat, formatName: string): string | undefined {
  const scheme = new URL(sinkUrl).protocol;
  const wanted = NON_HTTP_SCHEMES[format];
  if (wanted !== undefined && !wanted.schemes.includes(scheme)) {
    return `${formatName} ${format} takes ${wanted.shape}`;
  }
  const owner = (Object.keys(NON_HTTP_SCHEMES) as SinkFormat[]).find((f) =>
    NON_HTTP_SCHEMES[f]?.schemes.includes(scheme),
  );
  if (wanted === undefined && owner !== undefined) return `is a ${scheme}// URL: use ${formatName} ${owner}`;
  return undefined;
}

function take<T>(field: string, problems: ConfigProblem[], check: Check<T>): T | undefined {
  if (check.ok) return check.value;
  problems.push({ field, problem: check.problem });
  return undefined;
}

/**
 * The settings from raw texts, for the command line: `names` says how each one is called in
 * problems (e.g. `--sink-url`). Throws one ConfigError listing every problem.
 */
export function parseCollectorSettings(
  input: SettingsInput,
  names: SettingNames = SETTINGS_ENV_NAMES,
  source = 'collector settings',
): CollectorSettings {
  const problems: ConfigProblem[] = [];
  const settings = collectSettings(input, names, problems, true);
  if (problems.length > 0) throw new ConfigError(source, problems);
  return settings as CollectorSettings;
}

/** Reads the function's environment. Throws one ConfigError listing every problem. */
export function parseLambdaConfig(env: Record<string, string | undefined>): LambdaConfig {
  const problems: ConfigProblem[] = [];
  const input = Object.fromEntries(SETTING_NAMES.map((name) => [name, env[SETTINGS_ENV_NAMES[name]]]));
  // The function meets a URL its format refuses when it builds the sink, in every tick's outcome
  // where the alarms see it; the command line says so before it starts.
  const settings = collectSettings(input, SETTINGS_ENV_NAMES, problems, false);
  const secretArn = take(ENV.secretArn, problems, validateSecretId(env[ENV.secretArn]));
  const checkpointTable = take(ENV.checkpointTable, problems, validateTableName(env[ENV.checkpointTable]));
  problems.push(...functionSinkProblems(settings));
  // Checked against the streams only when those are valid, so one mistake gives one problem.
  const lagAlarmSeconds = take(
    ENV.lagAlarmSeconds,
    problems,
    parseLagAlarmSeconds(env[ENV.lagAlarmSeconds], settings.streams ?? []),
  );
  if (problems.length > 0 || secretArn === undefined || checkpointTable === undefined || !lagAlarmSeconds) {
    throw new ConfigError(
      'function configuration (environment variables)',
      problems,
      'Fix the listed environment variables (set by the stack from its parameters) and deploy again.',
    );
  }
  return { ...(settings as CollectorSettings), secretArn, checkpointTable, lagAlarmSeconds };
}

/** What the function refuses that the command line takes: a disk-bound format, a credential in SINK_URL. */
function functionSinkProblems({ sinkFormat, sinkUrl }: Partial<CollectorSettings>): ConfigProblem[] {
  if (sinkFormat !== undefined && CLI_ONLY_FORMATS.includes(sinkFormat)) {
    return [
      {
        field: ENV.sinkFormat,
        problem: `${sinkFormat} is for the command line (${sinkFormat === 'file' ? 'the function has no lasting disk' : 'the stack offers no network path or CA for it'}); use s3 or an HTTP format`,
      },
    ];
  }
  if (sinkFormat === 'sumo' && sinkUrl !== undefined && pathSecret(new URL(sinkUrl)) !== undefined) {
    return [
      {
        field: ENV.sinkUrl,
        problem:
          'holds the Sumo Logic source token, which is a credential: end the URL at /receiver/v1/http/ and store the token as the sink token in the secret (`npx mimecast-collector configure`)',
      },
    ];
  }
  return [];
}

function checked<T>(field: string, check: Check<T>): T {
  if (!check.ok) throw new ConfigError('collector settings', [{ field, problem: check.problem }]);
  return check.value;
}

/** One sink URL through its check, for callers holding a single URL (a test rig, a probe). */
export const toSinkUrl = (text: string, field = SETTINGS_ENV_NAMES.sinkUrl): SinkUrl =>
  checked(field, validateSinkUrl(text));

/** One Mimecast base URL through its check, for callers holding a single URL. */
export const toMimecastBaseUrl = (
  text: string,
  field = SETTINGS_ENV_NAMES.mimecastBaseUrl,
): MimecastBaseUrl => checked(field, validateMimecastBaseUrl(text));

/**
 * The Event Push receiver's token (lambda/push/receiver.ts). A secret: `receive` reads it from this
 * environment variable only, never from a flag (shell history, process listings); the stack generates
 * it into a secret of its own. Long and unguessable, since it is the endpoint's only authentication.
 */
export const PUSH_TOKEN_ENV = 'PUSH_TOKEN';
export const PUSH_TOKEN_MIN_LENGTH = 16;
export const PUSH_TOKEN_MAX_LENGTH = 4096;

export function validatePushToken(text: string | undefined): Check<string> {
  const token = text?.trim() ?? '';
  if (token === '') {
    return {
      ok: false,
      problem: 'is not set: the receiver authenticates pushes by this token (Authorization: Splunk <token>)',
    };
  }
  if (token.length < PUSH_TOKEN_MIN_LENGTH || token.length > PUSH_TOKEN_MAX_LENGTH || /\s/.test(token)) {
    return {
      ok: false,
      problem: `must be ${PUSH_TOKEN_MIN_LENGTH} to ${PUSH_TOKEN_MAX_LENGTH} characters without spaces, e.g. the output of \`openssl rand -hex 24\``,
    };
  }
  return { ok: true, value: token };
}

/** The push receiver's function: the ARN of the secret holding the Event Push token (never the token). */
export const PUSH_TOKEN_SECRET_ENV = 'PUSH_RECEIVER_SECRET_ARN';
