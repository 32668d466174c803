/**
 * The collector function and everything that runs it: its role (exactly the calls the code makes),
 * its log group, the on-failure queue, and the EventBridge schedule.
 */
import * as path from 'node:path';
import { Aws, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../../lambda/env-names';
import {
  DYNAMODB_ACTIONS_FOR_PUSH_LEDGER,
  DYNAMODB_ACTIONS_FOR_TICK,
  PUSH_LEDGER_KEY_PREFIX,
} from '../../lambda/state/table';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../lambda/telemetry/metric-names';
import { FAILURE_QUEUE_RETENTION, FUNCTION_DEFAULTS } from '../defaults';
import { WRAP_CONTEXT_KEY } from './credentials-store';

/** Repository root (lib/constructs/ → ../..): the esbuild project root and lock-file location. */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
export const HANDLER_ENTRY = path.join(PROJECT_ROOT, 'lambda', 'handler.ts');
export const HANDLER_EXPORT = 'handler';

/**
 * How lambda/handler.ts is bundled. The Event Push drain function (push-bucket.ts) bundles the same
 * entry the same way, so both functions deploy one asset; the push receiver (push-receiver.ts) bundles
 * its own entry with these options.
 */
export const HANDLER_BUNDLING: nodejs.BundlingOptions = {
  // Local esbuild (a devDependency), never Docker.
  forceDockerBundling: false,
  minify: true,
  sourceMap: true,
  // Stack traces need the mappings only; leaving the sources out halves the asset.
  sourcesContent: false,
  target: 'node24',
  format: nodejs.OutputFormat.CJS,
  // Bundle the AWS SDK too: the project pins exact SDK versions, and these are the ones the
  // tests ran against; the runtime's built-in SDK moves under us. It also makes the asset
  // self-contained, so tests can invoke it outside the repository.
  externalModules: [],
};

/**
 * What every function running lambda/handler.ts's bundle shares (the collector's and the Event Push
 * drain's, push-bucket.ts): the entry, its bundling, runtime, architecture and memory.
 */
export function handlerFunctionProps(
  entry: string | undefined,
): Pick<
  nodejs.NodejsFunctionProps,
  | 'entry'
  | 'handler'
  | 'projectRoot'
  | 'depsLockFilePath'
  | 'runtime'
  | 'architecture'
  | 'memorySize'
  | 'bundling'
> {
  return {
    entry: entry ?? HANDLER_ENTRY,
    handler: HANDLER_EXPORT,
    projectRoot: PROJECT_ROOT,
    depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: FUNCTION_DEFAULTS.memorySizeMb,
    bundling: HANDLER_BUNDLING,
  };
}

/** The settings the function reads from its environment (tokens of the stack parameters). */
export interface CollectorSettingsValues {
  apiVersion: string;
  mimecastBaseUrl: string;
  streams: string;
  collectionStart: string;
  sinkUrl: string;
  sinkFormat: string;
  /** HEC_ACK, `true` or `false`: splunk-hec indexer acknowledgement. */
  hecAck: string;
  /** Minutes between ticks: "5", "10", ... */
  scheduleMinutes: string;
  jsonPageSize: string;
  siemBatchPageSize: string;
  siemEventTypes: string;
  siemCiEventTypes: string;
  awarenessSnapshotHours: string;
  /** Each stream's lag alarm threshold, as LAG_ALARM_SECONDS (lambda/config.ts formatLagAlarmSeconds). */
  lagAlarmSeconds: string;
  /** PUSH_PRIMARY_STREAMS: the pull fills their gaps; the push function records what it delivered. */
  pushPrimaryStreams: string;
  /** PUSH_TRAIL_SECONDS: how far the pull of push-primary streams trails now. */
  pushTrailSeconds: string;
}

/**
 * The function's environment: the settings, where its secret and table are (never a secret value),
 * and the Powertools names. The push receiver's function (push-receiver.ts) runs with the same one.
 */
export function collectorEnvironment(
  instance: string,
  settings: CollectorSettingsValues,
  secret: secretsmanager.ISecret,
  table: dynamodb.ITableV2,
): Record<string, string> {
  return {
    [ENV.instance]: instance,
    [ENV.apiVersion]: settings.apiVersion,
    [ENV.mimecastBaseUrl]: settings.mimecastBaseUrl,
    [ENV.streams]: settings.streams,
    [ENV.collectionStart]: settings.collectionStart,
    [ENV.sinkUrl]: settings.sinkUrl,
    [ENV.sinkFormat]: settings.sinkFormat,
    [ENV.hecAck]: settings.hecAck,
    [ENV.jsonPageSize]: settings.jsonPageSize,
    [ENV.siemBatchPageSize]: settings.siemBatchPageSize,
    [ENV.siemEventTypes]: settings.siemEventTypes,
    [ENV.siemCiEventTypes]: settings.siemCiEventTypes,
    [ENV.awarenessSnapshotHours]: settings.awarenessSnapshotHours,
    // An ARN and a table name: where the secrets are, never a secret value.
    [ENV.secretArn]: secret.secretArn,
    [ENV.checkpointTable]: table.tableName,
    [ENV.lagAlarmSeconds]: settings.lagAlarmSeconds,
    [ENV.pushPrimaryStreams]: settings.pushPrimaryStreams,
    [ENV.pushTrailSeconds]: settings.pushTrailSeconds,
    POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
    POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    NODE_OPTIONS: '--enable-source-maps',
  };
}

export interface CollectorFunctionProps {
  instance: string;
  key: kms.IKey;
  secret: secretsmanager.ISecret;
  table: dynamodb.ITableV2;
  settings: CollectorSettingsValues;
  /** Handler file; defaults to lambda/handler.ts. */
  entry?: string;
}

export class CollectorFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  /** Records of ticks that did not run or failed (async on-failure destination and EventBridge DLQ). */
  readonly failureQueue: sqs.Queue;
  readonly schedule: events.Rule;

  constructor(scope: Construct, id: string, props: CollectorFunctionProps) {
    super(scope, id);
    const { instance, key, secret, table, settings } = props;

    this.logGroup = new logs.LogGroup(this, 'LogGroup', { retention: FUNCTION_DEFAULTS.logRetention });

    // SQS-managed SSE rather than the credentials key: with a CMK, the destination grant would give
    // the function unconditioned kms:Decrypt/GenerateDataKey* on that key, defeating the
    // encryption-context conditions below. The records hold the scheduled event and the error
    // message (which the function keeps free of secrets), nothing else.
    this.failureQueue = new sqs.Queue(this, 'FailedTicks', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: FAILURE_QUEUE_RETENTION,
    });
    Validations.of(this.failureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        "This queue is itself the dead-letter destination: the on-failure destination of the function's " +
        'asynchronous invocations and the dead-letter queue of the EventBridge schedule target. Nothing ' +
        'consumes it automatically (an operator reads the records after the FailedTicksQueued alarm), so a ' +
        'DLQ behind it would never receive anything.',
    });

    // Our own role, without the AWSLambdaBasicExecutionRole managed policy (logs:* on every log
    // group): logging is granted on this function's log group only.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Mimecast collector "${instance}": read its secret, unwrap its fields, keep its checkpoints`,
    });

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      description: `Mimecast collector "${instance}": one collection tick`,
      ...handlerFunctionProps(props.entry),
      timeout: FUNCTION_DEFAULTS.timeout,
      reservedConcurrentExecutions: FUNCTION_DEFAULTS.reservedConcurrency,
      retryAttempts: FUNCTION_DEFAULTS.retryAttempts,
      maxEventAge: FUNCTION_DEFAULTS.maxEventAge,
      onFailure: new destinations.SqsDestination(this.failureQueue),
      role: this.role,
      logGroup: this.logGroup,
      environment: collectorEnvironment(instance, settings, secret, table),
    });

    this.grantCollectorCalls(instance, key, secret, table);

    // The schedule: EventBridge invokes asynchronously. No retry and a short event age at both
    // hops (EventBridge → Lambda, Lambda's async queue): a tick that cannot run is not worth
    // holding, the next one resumes from the checkpoint. Undeliverable events land in the same
    // failure queue as failed invocations, so one alarm covers both.
    this.schedule = new events.Rule(this, 'Schedule', {
      description: `Mimecast collector "${instance}": one collection tick every ScheduleMinutes`,
      schedule: events.Schedule.expression(`rate(${settings.scheduleMinutes} minutes)`),
      targets: [
        new targets.LambdaFunction(this.function, {
          retryAttempts: 0,
          maxEventAge: FUNCTION_DEFAULTS.maxEventAge,
          deadLetterQueue: this.failureQueue,
        }),
      ],
    });
  }

  /** Least privilege: exactly the calls lambda/ makes, each on its one resource. */
  private grantCollectorCalls(
    instance: string,
    key: kms.IKey,
    secret: secretsmanager.ISecret,
    table: dynamodb.ITableV2,
  ): void {
    // secrets/: GetSecretValue only (no DescribeSecret, no versions listing).
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadCredentialsSecret',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [secret.secretArn],
      }),
    );
    // Secrets Manager decrypts the secret with the CMK on the caller's behalf: allowed only through
    // Secrets Manager in this region, and only for this secret (its encryption context).
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DecryptSecretViaSecretsManager',
        actions: ['kms:Decrypt'],
        resources: [key.keyArn],
        conditions: {
          StringEquals: {
            'kms:ViaService': `secretsmanager.${Aws.REGION}.amazonaws.com`,
            'kms:EncryptionContext:SecretARN': secret.secretArn,
          },
        },
      }),
    );
    // Fields the configure command KMS-wrapped: direct Decrypt, only with this instance's context.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'UnwrapCredentialFields',
        actions: ['kms:Decrypt'],
        resources: [key.keyArn],
        conditions: { StringEquals: { [`kms:EncryptionContext:${WRAP_CONTEXT_KEY}`]: instance } },
      }),
    );
    // state/: what one tick calls (lambda/state/table.ts DYNAMODB_ACTIONS_FOR_TICK): conditional
    // UpdateItem for lease, commits, failures and release, and GetItem to recognise its own write
    // after a lost answer. The adapter's Query (status) and DeleteItem (reset) serve operator
    // commands run with the operator's credentials. On the table itself: no index, no scan.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'Checkpoints',
        actions: [...DYNAMODB_ACTIONS_FOR_TICK],
        resources: [table.tableArn],
      }),
    );
    // The push ledger's reads (gap fill of push-primary streams): Query, and only of its own
    // partitions (`pushed#...`), so the function still cannot list checkpoints. Its writes are the
    // UpdateItem above.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'PushLedgerReads',
        actions: DYNAMODB_ACTIONS_FOR_PUSH_LEDGER.filter((a) => !DYNAMODB_ACTIONS_FOR_TICK.includes(a)),
        resources: [table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${PUSH_LEDGER_KEY_PREFIX}*`] } },
      }),
    );
    // Logs: create its streams and put events in its own log group only.
    this.logGroup.grantWrite(this.role);
    // sqs:SendMessage (+ GetQueueAttributes/GetQueueUrl) on the failure queue: added by SqsDestination.
  }
}
