/**
 * The one place a destination is built from settings: the composition root (lambda/root.ts) and the
 * command line's `verify` call `createDestination`, so a new format plugs in here and nowhere else.
 */
import { S3Client } from '@aws-sdk/client-s3';
import type { Dispatcher } from 'undici';
import type { Clock, Log } from '../core/ports';
import { ConfigError, type ConfigProblem } from '../errors';
import type { Destination } from './destination';
import { parseSinkUrl } from './endpoint';
import {
  AZURE_SETTING_NAMES,
  type AzureAppCredentials,
  azureCredentialProblems,
  DEFAULT_AZURE_AUTHORITY,
  EntraTokenSource,
} from './entra';
import { FileDestination, parseFileUrl } from './file';
import { DEFAULT_RETENTION_DAYS, type SinkFormat } from './format';
import type { HecAckOptions } from './hec-ack';
import { createHttpSink } from './http-sink';
import { resolveSinkRetry, type SinkRetryOptions } from './retry';
import { parseS3Url, S3Destination } from './s3';
import { SyslogDestination } from './syslog';
import { DEFAULT_SYSLOG_MAX_MESSAGE_BYTES, parseSyslogUrl } from './syslog-message';

/** What the settings say about the destination (`--sink-format`, `--sink-url`, `--hec-ack`...). */
export interface DestinationSettings {
  sinkFormat: SinkFormat;
  sinkUrl: string;
  /** splunk-hec: indexer acknowledgement. */
  hecAck?: boolean;
  /** file: days of day files kept (`--retention-days`, default 7). */
  retentionDays?: number;
  /** syslog over tls://: PEM certificates trusted besides the system's (read from `--sink-ca-file`). */
  sinkCa?: string;
  /** syslog: octets of one message (`--syslog-max-message-bytes`, default 200,000). */
  syslogMaxMessageBytes?: number;
  /** sentinel: the Entra authority (`--azure-authority-url`, default https://login.microsoftonline.com). */
  azureAuthorityUrl?: string;
}

/** What the caller holds: the token from the secret, and the shared transport, log and clock. */
export interface DestinationDeps {
  /** The secret's sink token (HEC token, Elasticsearch key, Datadog API key, bearer token). */
  token?: string;
  dispatcher?: Dispatcher;
  log?: Log;
  clock?: Clock;
  /** Tests shorten waits; production uses the defaults. */
  retry?: SinkRetryOptions;
  hecAckOptions?: HecAckOptions;
  /** s3: where S3 is (AWS_ENDPOINT_URL_S3, AWS_REGION) and, for the command line, explicit keys. */
  s3?: S3Options;
  /** sentinel: the Entra app the destination signs in as (the secret's azure fields, or AZURE_*). */
  azure?: AzureAppCredentials;
  /** sentinel: a token source kept from an earlier tick (its cached token carries over). */
  entra?: EntraTokenSource;
}

export interface S3Options {
  endpoint?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** A client of the caller's own (tests). */
  client?: S3Client;
}

/** Builds the destination; throws one ConfigError listing every problem with the settings. */
export function createDestination(settings: DestinationSettings, deps: DestinationDeps = {}): Destination {
  if (settings.sinkFormat === 'file') {
    const problems: ConfigProblem[] = [];
    const dir = parseFileUrl(settings.sinkUrl, 'url', problems);
    if (dir === undefined) throw new ConfigError('sink settings', problems);
    return new FileDestination(dir, settings.retentionDays ?? DEFAULT_RETENTION_DAYS, deps.clock);
  }
  if (settings.sinkFormat === 'syslog') {
    const problems: ConfigProblem[] = [];
    const target = parseSyslogUrl(settings.sinkUrl, 'url', problems);
    const retry = resolveSinkRetry(deps.retry, problems);
    if (target === undefined || problems.length > 0) throw new ConfigError('sink settings', problems);
    return new SyslogDestination(target, {
      maxMessageBytes: settings.syslogMaxMessageBytes ?? DEFAULT_SYSLOG_MAX_MESSAGE_BYTES,
      retry,
      ...(settings.sinkCa === undefined ? {} : { ca: settings.sinkCa }),
    });
  }
  if (settings.sinkFormat === 's3') {
    const problems: ConfigProblem[] = [];
    const location = parseS3Url(settings.sinkUrl, 'url', problems);
    if (location === undefined) throw new ConfigError('sink settings', problems);
    const { client, ...config } = deps.s3 ?? {};
    return new S3Destination(
      client ??
        new S3Client({
          ...config,
          // A custom endpoint (AWS_ENDPOINT_URL_S3: MinIO, a loopback server) takes path-style requests.
          ...(config.endpoint === undefined ? {} : { forcePathStyle: true }),
          maxAttempts: 4,
        }),
      location,
    );
  }
  if (settings.sinkFormat === 'sentinel') {
    // Entra tokens, not the sink token: a sink token stored for another format is not sent.
    const { token: _unused, ...rest } = deps;
    return createHttpSink({
      ...httpSinkOptions(settings, rest),
      bearer: deps.entra ?? entraTokenSource(settings, deps),
    });
  }
  return createHttpSink(httpSinkOptions(settings, deps));
}

/** The Entra token source for the settings and the app credentials; one ConfigError listing every problem. */
export function entraTokenSource(settings: DestinationSettings, deps: DestinationDeps): EntraTokenSource {
  const problems = azureCredentialProblems(deps.azure);
  const authority = parseSinkUrl(
    settings.azureAuthorityUrl ?? DEFAULT_AZURE_AUTHORITY,
    AZURE_SETTING_NAMES.authority,
    problems,
  );
  if (problems.length > 0 || authority === undefined || deps.azure === undefined) {
    throw new ConfigError('sink settings', problems);
  }
  return new EntraTokenSource({
    authority,
    credentials: deps.azure,
    ...(deps.dispatcher === undefined ? {} : { dispatcher: deps.dispatcher }),
    ...(deps.clock === undefined ? {} : { clock: deps.clock }),
  });
}

function httpSinkOptions(settings: DestinationSettings, deps: DestinationDeps) {
  return {
    url: settings.sinkUrl,
    format: settings.sinkFormat,
    ...(deps.token === undefined ? {} : { token: deps.token }),
    ...(deps.dispatcher === undefined ? {} : { dispatcher: deps.dispatcher }),
    ...(deps.log === undefined ? {} : { log: deps.log }),
    ...(deps.clock === undefined ? {} : { clock: deps.clock }),
    ...(deps.retry === undefined ? {} : { retry: deps.retry }),
    ...(settings.hecAck === true ? { hecAck: deps.hecAckOptions ?? true } : {}),
  };
}

/**
 * Where S3 is, from an environment (the handler's, or the command line's): `AWS_ENDPOINT_URL_S3` (an
 * S3-compatible server), `AWS_REGION` / `AWS_DEFAULT_REGION`, and keys only when both are set (else the
 * SDK's default chain: the Lambda role, a profile...).
 */
export function s3OptionsFromEnv(env: Record<string, string | undefined>): S3Options {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || undefined;
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  return {
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(region === undefined ? {} : { region }),
    ...(accessKeyId && secretAccessKey
      ? {
          credentials: {
            accessKeyId,
            secretAccessKey,
            ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
          },
        }
      : {}),
  };
}
