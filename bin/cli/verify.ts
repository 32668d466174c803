/**
 * `mimecast-collector verify`: one real, read-only call per stream with the configured credentials,
 * and one harmless request to the receiver, so a deployment's problems show up as one table instead
 * of as a failing tick.
 *
 * The receiver check never sends an event: each sink format's `probe()` decides what it asks
 * (lambda/sinks/splunk-hec.ts, elastic-bulk.ts, ndjson.ts).
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { STREAM_IDS, type StreamId, streamsFor } from '../../lambda/core/streams';
import { ConfigError, type ConfigProblem } from '../../lambda/errors';
import { createAgent } from '../../lambda/http/agent';
import type { CollectorCredentials } from '../../lambda/secrets/credentials';
import { secretValuesOf } from '../../lambda/secrets/document';
import { readCredentials } from '../../lambda/secrets/provider';
import {
  type ApiVersion,
  parseApiVersion,
  parseEventTypes,
  parseSinkFormat,
  parseStreamList,
  readCaFile,
  SIEM_EVENT_TYPE_SETS,
  SINK_FORMATS,
  type SinkFormat,
  unservedStreams,
  unservedStreamsProblem,
  V2_GLOBAL_BASE_URL,
  validateAzureAuthorityUrl,
  validateInstanceId,
  validateMimecastBaseUrl,
  validateSecretId,
  validateSinkUrl,
} from '../../lambda/settings';
import { s3OptionsFromEnv } from '../../lambda/sinks';
import { redactUrl } from '../../lambda/sinks/endpoint';
import { SecretRedactor } from '../../lambda/telemetry/redact';
import { CREDENTIAL_ENV, credentialsFromEnv } from './credentials';
import { type CommandDeclaration, helpText, type SplitFlags, splitFlags } from './flags';
import { type CliIO, EXIT_FAILED, EXIT_OK, redactingIO, reportError, table } from './io';
import { awsClientConfig, parseSecretSafeFlags, resolveMimecastUrl, resolveRegion } from './secret-commands';
import { type CheckRow, checkSink, probeStreams } from './verify-probes';

export const VERIFY_COMMAND: CommandDeclaration = {
  name: 'verify',
  summary: `Checks a configuration before (or after) it runs: for each stream, one real read-only call to
Mimecast with the configured credentials, and one harmless request to the receiver (no event is
ever sent). Prints one row per stream: OK, missing permission (and which), product not enabled,
bad credentials, unreachable, throttled, refused.

Credentials: with --secret-id (and --instance), those stored by \`configure\` (read the way the function
reads them); otherwise from the environment, as \`run\` takes them:
  API 2.0: ${CREDENTIAL_ENV.clientId}, ${CREDENTIAL_ENV.clientSecret}
  API 1.0: ${CREDENTIAL_ENV.appId}, ${CREDENTIAL_ENV.appKey}, ${CREDENTIAL_ENV.accessKey}, ${CREDENTIAL_ENV.secretKey}
  sink:    ${CREDENTIAL_ENV.sinkToken} (optional)`,
  flags: [
    {
      name: 'secret-id',
      value: 'ARN',
      description:
        "read the credentials from the stack's secret (stack output SecretArn), e.g. arn:aws:secretsmanager:eu-west-1:123456789012:secret:CredentialsSecret-AbC123",
    },
    {
      name: 'instance',
      value: 'ID',
      description: 'collector instance the secret belongs to, e.g. prod',
      defaultNote: 'required with --secret-id',
    },
    {
      name: 'region',
      value: 'REGION',
      description: 'AWS region of the secret, e.g. eu-west-1',
      defaultNote: "the ARN's region, else AWS_REGION",
    },
    {
      name: 'mimecast-url',
      value: 'URL',
      description:
        "Mimecast API host, e.g. https://eu-api.mimecast.com (API 1.0: your grid's host, required)",
      defaultNote: `API 2.0: ${V2_GLOBAL_BASE_URL}`,
    },
    {
      name: 'api-version',
      value: '1|2',
      description: 'expected API version, e.g. 2; must match the credentials',
      defaultNote: "the credentials' own",
    },
    {
      name: 'streams',
      value: 'LIST',
      description: `comma list, e.g. siem,audit; of ${STREAM_IDS.join(', ')} (siem-ci and awareness-* need API 2.0)`,
      defaultNote: 'every stream the API version serves',
    },
    {
      name: 'siem-types',
      value: 'LIST',
      description: 'API 2.0 siem event types, as `run` takes them; siem is probed with the first',
      defaultNote: 'all',
    },
    {
      name: 'siem-ci-types',
      value: 'LIST',
      description: 'siem-ci event types; siem-ci is probed with the first',
      defaultNote: 'all',
    },
    {
      name: 'sink-url',
      value: 'URL',
      description:
        'receiver to check, e.g. https://splunk.example.com:8088/services/collector/event (HTTPS; http only for 127.0.0.1, ::1, localhost)',
      defaultNote: 'receiver not checked',
    },
    {
      name: 'sink-format',
      value: 'FORMAT',
      description: 'e.g. splunk-hec',
      choices: SINK_FORMATS,
      defaultNote: 'ndjson',
    },
    {
      name: 'hec-ack',
      description: 'splunk-hec: probe on an indexer-acknowledgement channel, as `run --hec-ack` sends',
    },
    {
      name: 'azure-authority-url',
      value: 'URL',
      description: 'sentinel: the Entra authority tokens come from',
      defaultNote: 'https://login.microsoftonline.com',
    },
    {
      name: 'sink-ca-file',
      value: 'PEM',
      description: "syslog tls://: the receiver's CA certificate file, as `run` takes it",
      defaultNote: 'system CAs only',
    },
  ],
  epilogue: `What the receiver check sends:
  splunk-hec    GET /services/collector/health, then an empty POST with the token (HEC answers
                "No data" when it accepts the token; nothing is indexed)
  elastic-bulk  GET / with the API key (a 403 still proves the key authenticates)
  ndjson        an empty POST with the bearer token (a 400 "no events" answer counts as OK)
  sumo          an empty POST to the source URL (stores nothing; 401 means the URL was regenerated)
  datadog       an empty POST with DD-API-KEY (the key is checked first; the empty body is refused)
  sentinel      an Entra token for the app (AZURE_* or the secret's azure fields), then an empty POST
                with it (403: the app lacks its role on the rule; the empty body ingests nothing)
  s3            HeadBucket (AWS_REGION, AWS_ENDPOINT_URL_S3 and the AWS credentials as \`run\` uses them)
  syslog        connects (and completes the TLS handshake) and closes, sending nothing

Exit code: 0 when every row is OK, 1 when any is not, 2 for bad input.

Example:
  npx mimecast-collector verify --secret-id arn:aws:secretsmanager:eu-west-1:123456789012:secret:CredentialsSecret-AbC123 \\
    --instance prod --streams siem,audit --sink-url https://splunk.example.com:8088 --sink-format splunk-hec
`,
};

export const VERIFY_HELP = helpText(VERIFY_COMMAND);

type Flags = SplitFlags['text'];

interface Plan {
  /** Every stream the credentials' API version serves when the list was left empty. */
  streams: StreamId[];
  explicitStreams: boolean;
  siemTypes: string[];
  siemCiTypes: string[];
  secret?: { secretId: string; instance: string; region: string };
  sink?: { url: string; format: SinkFormat; hecAck?: boolean; azureAuthorityUrl?: string; ca?: string };
  apiVersion?: ApiVersion;
}

function plan(flags: Flags, env: CliIO['env'], hecAck: boolean): Plan {
  const problems: ConfigProblem[] = [];
  const streams = parseStreamList(flags.streams);
  if (!streams.ok) problems.push({ field: '--streams', problem: streams.problem });
  const siemTypes = parseEventTypes(flags['siem-types'], SIEM_EVENT_TYPE_SETS.siem);
  if (!siemTypes.ok) problems.push({ field: '--siem-types', problem: siemTypes.problem });
  const siemCiTypes = parseEventTypes(flags['siem-ci-types'], SIEM_EVENT_TYPE_SETS['siem-ci']);
  if (!siemCiTypes.ok) problems.push({ field: '--siem-ci-types', problem: siemCiTypes.problem });
  let secret: Plan['secret'];
  if (flags['secret-id'] !== undefined) {
    const secretId = validateSecretId(flags['secret-id']);
    if (!secretId.ok) problems.push({ field: '--secret-id', problem: secretId.problem });
    const instance = validateInstanceId(flags.instance);
    if (!instance.ok) {
      problems.push({
        field: '--instance',
        problem: `${instance.problem}; with --secret-id it is required (the fields are encrypted for one instance)`,
      });
    }
    const region = resolveRegion(flags.region, [flags['secret-id']], env, problems);
    if (secretId.ok && instance.ok && region !== undefined) {
      secret = { secretId: secretId.value, instance: instance.value, region };
    }
  } else if (flags.instance !== undefined || flags.region !== undefined) {
    problems.push({
      field: flags.instance !== undefined ? '--instance' : '--region',
      problem: 'is only used with --secret-id; without it the credentials come from the environment',
    });
  }
  let sink: Plan['sink'];
  if (flags['sink-url'] !== undefined) {
    const format = parseSinkFormat(flags['sink-format'] ?? 'ndjson');
    const url = validateSinkUrl(flags['sink-url']);
    if (!url.ok) problems.push({ field: '--sink-url', problem: url.problem });
    if (!format.ok) problems.push({ field: '--sink-format', problem: format.problem });
    // --hec-ack probes on an acknowledgement channel.
    const hecAckRefused = hecAck && format.ok && format.value !== 'splunk-hec';
    if (hecAckRefused) {
      problems.push({
        field: '--hec-ack',
        problem: `is for --sink-format splunk-hec (Splunk's indexer acknowledgement); the format is ${format.value}`,
      });
    }
    const authority = validateAzureAuthorityUrl(flags['azure-authority-url']);
    if (!authority.ok) problems.push({ field: '--azure-authority-url', problem: authority.problem });
    const ca = readCaFile(flags['sink-ca-file']);
    if (!ca.ok) problems.push({ field: '--sink-ca-file', problem: ca.problem });
    else if (
      ca.value !== undefined &&
      !(format.ok && format.value === 'syslog' && url.ok && url.value.startsWith('tls:'))
    ) {
      problems.push({
        field: '--sink-ca-file',
        problem: 'is for --sink-format syslog with a tls:// --sink-url',
      });
    }
    if (url.ok && format.ok && ca.ok && authority.ok && !hecAckRefused) {
      sink = {
        url: url.value,
        format: format.value,
        ...(hecAck ? { hecAck: true } : {}),
        azureAuthorityUrl: authority.value,
        ...(ca.value === undefined ? {} : { ca: ca.value }),
      };
    }
  } else if (flags['sink-format'] !== undefined || flags['sink-ca-file'] !== undefined) {
    problems.push({
      field: flags['sink-format'] !== undefined ? '--sink-format' : '--sink-ca-file',
      problem: 'needs --sink-url (the receiver to check)',
    });
  }
  let apiVersion: ApiVersion | undefined;
  if (flags['api-version'] !== undefined) {
    const parsed = parseApiVersion(flags['api-version']);
    if (parsed.ok) apiVersion = parsed.value;
    else problems.push({ field: '--api-version', problem: parsed.problem });
  }
  if (flags['mimecast-url'] !== undefined) {
    // Checked again against the credentials' API version once they are read; scheme and host now,
    // so every bad flag is reported at once.
    const base = validateMimecastBaseUrl(flags['mimecast-url'], apiVersion);
    if (!base.ok) problems.push({ field: '--mimecast-url', problem: base.problem });
  }
  if (problems.length > 0 || !streams.ok || !siemTypes.ok || !siemCiTypes.ok) {
    throw new ConfigError(
      'command line',
      problems,
      'Fix the listed flags; see `mimecast-collector verify --help`.',
    );
  }
  return {
    streams: streams.value,
    explicitStreams: (flags.streams ?? '').trim() !== '',
    siemTypes: siemTypes.value,
    siemCiTypes: siemCiTypes.value,
    ...(secret ? { secret } : {}),
    ...(sink ? { sink } : {}),
    apiVersion,
  };
}

async function loadCredentials(plan: Plan, env: CliIO['env']): Promise<CollectorCredentials> {
  if (plan.secret === undefined) return credentialsFromEnv(env);
  const { secretId, instance, region } = plan.secret;
  const secretsManager = new SecretsManagerClient(awsClientConfig(env, 'secretsManager', region));
  const kms = new KMSClient(awsClientConfig(env, 'kms', region));
  try {
    return await readCredentials({ secretsManager, kms, secretId, instance });
  } finally {
    secretsManager.destroy();
    kms.destroy();
  }
}

export async function verifyCommand(argv: string[], io: CliIO): Promise<number> {
  let flags: Flags;
  let checks: Plan;
  try {
    const parsed = parseSecretSafeFlags(argv, VERIFY_COMMAND);
    if (parsed.help) {
      io.out(VERIFY_HELP);
      return EXIT_OK;
    }
    const split = splitFlags(parsed.values);
    flags = split.text;
    checks = plan(flags, io.env, split.on('hec-ack'));
  } catch (error) {
    return reportError(io, error);
  }

  const redactor = new SecretRedactor();
  const safe = redactingIO(io, redactor);
  let credentials: CollectorCredentials;
  let mimecastUrl: string;
  try {
    credentials = await loadCredentials(checks, io.env);
    redactor.register(secretValuesOf(credentials));
    const apiVersion = credentials.mimecast.apiVersion;
    const problems: ConfigProblem[] = [];
    if (checks.apiVersion !== undefined && checks.apiVersion !== apiVersion) {
      problems.push({
        field: '--api-version',
        problem: `is ${checks.apiVersion}, but the ${checks.secret ? 'secret' : 'environment'} holds API ${apiVersion}.0 credentials`,
      });
    }
    if (checks.explicitStreams) {
      const unserved = unservedStreams(checks.streams, apiVersion);
      if (unserved.length > 0) {
        problems.push({
          field: '--streams',
          problem: unservedStreamsProblem(unserved, apiVersion, '--api-version'),
        });
      }
    } else {
      checks.streams = streamsFor(apiVersion);
    }
    const url = resolveMimecastUrl(flags['mimecast-url'], apiVersion, problems);
    if (problems.length > 0 || url === undefined) {
      throw new ConfigError(
        'command line',
        problems,
        'Fix the listed flags; see `mimecast-collector verify --help`.',
      );
    }
    mimecastUrl = url;
  } catch (error) {
    return reportError(safe, error);
  }

  const source = checks.secret
    ? `secret ${checks.secret.secretId} (instance ${checks.secret.instance})`
    : 'the environment';
  safe.out(
    `Checking ${checks.streams.length} stream${checks.streams.length === 1 ? '' : 's'} at ${mimecastUrl} (API ${credentials.mimecast.apiVersion}.0, credentials from ${source})${checks.sink ? ` and the ${checks.sink.format} receiver at ${redactUrl(new URL(checks.sink.url))}` : ''}...`,
  );
  const dispatcher = createAgent({ connectTimeoutMs: 5_000 });
  let rows: CheckRow[];
  try {
    rows = await probeStreams(credentials, mimecastUrl, checks, dispatcher, io.signal);
    if (checks.sink) {
      rows.push({
        name: 'sink',
        ...(await checkSink(
          {
            sinkUrl: checks.sink.url,
            sinkFormat: checks.sink.format,
            ...(checks.sink.hecAck === true ? { hecAck: true } : {}),
            ...(checks.sink.azureAuthorityUrl === undefined
              ? {}
              : { azureAuthorityUrl: checks.sink.azureAuthorityUrl }),
            ...(checks.sink.ca === undefined ? {} : { sinkCa: checks.sink.ca }),
          },
          credentials,
          dispatcher,
          s3OptionsFromEnv(io.env),
          io.signal,
        )),
      });
    }
  } catch (error) {
    return reportError(safe, error);
  } finally {
    await dispatcher.close();
  }

  safe.out('');
  for (const line of table(
    ['stream', 'result'],
    rows.map((r) => [r.name, r.result]),
  )) {
    safe.out(line);
  }
  const failed = rows.filter((r) => !r.ok);
  for (const row of failed.filter((r) => r.detail)) {
    safe.err('');
    safe.err(`${row.name}: ${row.detail?.message}`);
    if (row.detail?.remedy) safe.err(`  what to do: ${row.detail.remedy}`);
  }
  safe.out('');
  if (!checks.sink) safe.out('The receiver was not checked (no --sink-url).');
  safe.out(
    failed.length === 0
      ? 'All checks passed.'
      : `${failed.length} of ${rows.length} check${rows.length === 1 ? '' : 's'} failed.`,
  );
  return failed.length === 0 ? EXIT_OK : EXIT_FAILED;
}
