/**
 * `mimecast-collector drain`: forwards the Event Push objects under a bucket prefix that are not yet
 * done, through the code the function runs for S3 notifications (lambda/drain): each object's events
 * go to the destination, and the object is recorded as done only after the destination acknowledged.
 * Done records live where `run` keeps checkpoints: the local state folder, or --table.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { StreamId } from '../../lambda/core/streams';
import { DEFAULT_OBJECT_TIMEOUT_MS, drainFailure, drainObjects } from '../../lambda/drain/drain';
import { drainDeps, refuseOwnOutput, s3ClientFor } from '../../lambda/drain/lambda';
import { DEFAULT_MAX_OBJECT_BYTES, S3ObjectStore } from '../../lambda/drain/s3-object-store';
import { ConfigError, type ConfigProblem } from '../../lambda/errors';
import { SINK_FORMATS, type SinkFormat } from '../../lambda/settings';
import { createDestination, s3OptionsFromEnv } from '../../lambda/sinks';
import { redactUrl } from '../../lambda/sinks/endpoint';
import { openLocalCheckpointStore } from '../../lambda/state/local-store';
import { DynamoPushLedger } from '../../lambda/state/push-ledger-store';
import { SecretRedactor } from '../../lambda/telemetry/redact';
import { CREDENTIAL_ENV } from './credentials';
import { type CommandDeclaration, type FlagValues, helpText, parseFlags } from './flags';
import { flagName, flagText, PUSH_PRIMARY_FLAG, parseForwardingFlags } from './forwarding-flags';
import { type CliIO, EXIT_FAILED, EXIT_OK, reportError } from './io';
import { terminalLog } from './run';
import { DEFAULT_RUN_INSTANCE } from './run-flags';
import { DEFAULT_STATE_DIR } from './store';

/** S3's bucket naming rules (general purpose buckets), as for the s3 destination. */
const BUCKET = /^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export const DRAIN_COMMAND: CommandDeclaration = {
  name: 'drain',
  summary: `Forwards the Mimecast Event Push files under an S3 bucket prefix (gzip or plain; HEC JSON array,
NDJSON or one event) to the destination, each file's events in the collector's envelope, and
records each file as done only after the destination acknowledged it: run it again and it forwards
only what was not done. The same code the stack's function runs for S3 notifications.

S3 comes from the environment: AWS_REGION, the AWS credentials chain, and AWS_ENDPOINT_URL_S3 for an
S3-compatible server. The sink token comes from ${CREDENTIAL_ENV.sinkToken} (optional), never from a flag.`,
  flags: [
    { name: 'bucket', value: 'NAME', description: 'the bucket Event Push writes to', required: true },
    { name: 'prefix', value: 'PREFIX', description: 'only keys starting with this', default: '' },
    { name: flagName('sinkUrl'), value: 'URL', description: 'where events go', required: true },
    {
      name: flagName('sinkFormat'),
      value: 'FORMAT',
      description: 'how events are sent',
      choices: SINK_FORMATS,
      default: 'ndjson',
    },
    {
      name: flagName('hecAck'),
      description: "splunk-hec: wait for Splunk's indexer acknowledgement before a file is done",
    },
    {
      name: flagName('instance'),
      value: 'ID',
      description: 'collector instance the envelopes carry and the done records belong to',
      default: DEFAULT_RUN_INSTANCE,
    },
    {
      name: 'state-dir',
      value: 'DIR',
      description: 'folder of the embedded checkpoint store',
      defaultNote: DEFAULT_STATE_DIR,
      conflicts: ['table'],
    },
    { name: 'table', value: 'NAME', description: 'keep done records in this DynamoDB table instead' },
    { name: 'region', value: 'REGION', description: 'AWS region of --table' },
    PUSH_PRIMARY_FLAG,
    { name: flagName('batchMaxEvents'), value: 'N', description: 'events per batch sent' },
    { name: flagName('batchMaxBytes'), value: 'N', description: 'bytes per batch sent, before compression' },
    { name: 'verbose', description: "print the drain's log lines on stderr" },
  ],
  epilogue: `Exit code: 0 when every file was forwarded or was done before, 1 otherwise, 2 for bad input.

Example:
  AWS_ENDPOINT_URL_S3=http://127.0.0.1:9000 npx mimecast-collector drain --bucket mimecast-push \\
    --prefix 2026/12/ --sink-url https://siem.example.com/ingest
`,
};

export const DRAIN_HELP = helpText(DRAIN_COMMAND);

interface DrainPlan {
  bucket: string;
  prefix: string;
  sinkFormat: SinkFormat;
  sinkUrl: string;
  hecAck: boolean;
  instance: string;
  batchMaxEvents: number;
  batchMaxBytes: number;
  pushPrimaryStreams: StreamId[];
  table?: string;
  stateDir?: string;
  region?: string;
}

function plan(values: FlagValues, conflicts: ConfigProblem[]): DrainPlan {
  const problems: ConfigProblem[] = [...conflicts];
  const text = (name: string) => flagText(values, name);
  const bucket = text('bucket') ?? '';
  if (!BUCKET.test(bucket)) {
    problems.push({
      field: '--bucket',
      problem:
        'must be a bucket name: 3-63 characters of a-z, 0-9, dots and hyphens (no s3:// and no prefix)',
    });
  }
  const prefix = (text('prefix') ?? '').replace(/^\/+/, '');
  const forwarding = parseForwardingFlags(values, problems);
  if (problems.length > 0 || forwarding === undefined) {
    throw new ConfigError(
      'command line',
      problems,
      'Fix the listed flags; see `mimecast-collector drain --help`.',
    );
  }
  const table = text('table');
  const stateDir = text('state-dir');
  const region = text('region');
  return {
    bucket,
    prefix,
    ...forwarding,
    ...(table === undefined ? {} : { table }),
    ...(stateDir === undefined ? {} : { stateDir }),
    ...(region === undefined ? {} : { region }),
  };
}

/** Where done records go: an SDK client on the local store's endpoint, or on the real table. */
async function openLedgerTable(
  drain: DrainPlan,
): Promise<{ client: DynamoDBClient; tableName: string; where: string; close(): Promise<void> }> {
  if (drain.table !== undefined) {
    const client = new DynamoDBClient({ ...(drain.region ? { region: drain.region } : {}), maxAttempts: 3 });
    return {
      client,
      tableName: drain.table,
      where: `DynamoDB table ${drain.table}`,
      close: async () => client.destroy(),
    };
  }
  const local = await openLocalCheckpointStore({ stateDir: drain.stateDir ?? DEFAULT_STATE_DIR });
  const client = new DynamoDBClient({
    endpoint: local.endpoint,
    region: local.region,
    credentials: local.credentials,
    maxAttempts: 2,
  });
  return {
    client,
    tableName: local.tableName,
    where: `local state folder ${local.stateDir}`,
    close: async () => {
      client.destroy();
      await local.close();
    },
  };
}

export async function drainCommand(argv: string[], io: CliIO): Promise<number> {
  let drain: DrainPlan;
  let verbose: boolean;
  try {
    const parsed = parseFlags(DRAIN_COMMAND, argv);
    if (parsed.help) {
      io.out(DRAIN_HELP);
      return EXIT_OK;
    }
    verbose = parsed.values.verbose === true;
    drain = plan(parsed.values, parsed.problems);
  } catch (error) {
    return reportError(io, error);
  }
  const sinkToken = io.env[CREDENTIAL_ENV.sinkToken];
  const redactor = new SecretRedactor();
  if (sinkToken) redactor.register([sinkToken]);
  const log = terminalLog(io, verbose, redactor);
  const s3 = s3ClientFor(s3OptionsFromEnv(io.env));
  let ledger: Awaited<ReturnType<typeof openLedgerTable>> | undefined;
  try {
    const destination = createDestination(
      { sinkFormat: drain.sinkFormat, sinkUrl: drain.sinkUrl, hecAck: drain.hecAck },
      { ...(sinkToken ? { token: sinkToken } : {}), log, s3: s3OptionsFromEnv(io.env) },
    );
    ledger = await openLedgerTable(drain);
    const signal = io.signal ?? new AbortController().signal;
    const refs = await new S3ObjectStore(s3, DEFAULT_MAX_OBJECT_BYTES).list(
      drain.bucket,
      drain.prefix,
      signal,
    );
    refuseOwnOutput(drain, refs, {
      where: '--bucket/--prefix',
      sinkUrl: '--sink-url',
      remedy: 'or drain into another destination',
    });
    io.out(
      `Draining ${refs.length} object(s) under s3://${drain.bucket}/${drain.prefix} into ${redactUrl(new URL(drain.sinkUrl))} (${drain.sinkFormat}); done records in ${ledger.where}.`,
    );
    const deps = drainDeps({
      instance: drain.instance,
      tableName: ledger.tableName,
      dynamo: ledger.client,
      s3,
      destination,
      batch: { batchMaxEvents: drain.batchMaxEvents, batchMaxBytes: drain.batchMaxBytes },
      log,
      ...(drain.pushPrimaryStreams.length === 0
        ? {}
        : {
            pushLedger: new DynamoPushLedger({
              tableName: ledger.tableName,
              instance: drain.instance,
              client: ledger.client,
            }),
          }),
    });
    const report = await drainObjects(refs, deps, {
      owner: `drain-${randomUUID()}`,
      // Each object has its own budget; the run as a whole ends when the listing is done (or on Ctrl-C).
      deadline: Date.now() + Math.max(1, refs.length) * DEFAULT_OBJECT_TIMEOUT_MS,
      signal,
    });
    for (const object of report.objects) {
      const name = `s3://${object.object.bucket}/${object.object.key}`;
      if (object.outcome === 'forwarded') io.out(`  forwarded     ${name} (${object.events} events)`);
      else if (object.outcome === 'already-done') io.out(`  already done  ${name} (${object.doneAt})`);
      else
        io.err(
          redactor.redactText(`  failed        ${name}: ${object.error.message} — ${object.error.remedy}`),
        );
    }
    io.out(
      `${report.forwarded} forwarded (${report.events} events), ${report.alreadyDone} already done, ${report.failed} failed.`,
    );
    return drainFailure(report) === undefined ? EXIT_OK : EXIT_FAILED;
  } catch (error) {
    return reportError(io, error);
  } finally {
    s3.destroy();
    await ledger?.close();
  }
}
