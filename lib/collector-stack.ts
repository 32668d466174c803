/**
 * One Mimecast collector instance (one Mimecast account): parameters, credentials store,
 * checkpoint table, function + schedule + failure queue, monitoring, outputs.
 * The constructs hold the defaults; this file only wires them.
 */
import { Aws, CfnOutput, type Duration, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { formatLagAlarmSeconds } from '../lambda/config';
import { STREAM_IDS, type StreamId } from '../lambda/core/streams';
import { CheckpointTable } from './constructs/checkpoint-table';
import {
  CollectorFunction,
  type CollectorSettingsValues,
  collectorEnvironment,
} from './constructs/collector-function';
import { CredentialsStore } from './constructs/credentials-store';
import { DataLake } from './constructs/data-lake';
import { Monitoring } from './constructs/monitoring';
import { addPushStoppedAlarm } from './constructs/push-alarm';
import { PushBucketDrain } from './constructs/push-bucket';
import { PushReceiver } from './constructs/push-receiver';
import { LAG_ALARM_THRESHOLDS, lagAlarmSeconds, validateInstance } from './defaults';
import { type CollectorParameters, defineParameters } from './parameters';

export interface MimecastCollectorStackProps extends StackProps {
  /** The collector instance id (the `instance` context value); names the alias, alarms, metrics, dashboard. */
  instance: string;
  /** Per-stream lag alarm thresholds overriding LAG_ALARM_THRESHOLDS. */
  lagAlarmThresholds?: Partial<Record<StreamId, Duration>>;
  /** Handler file override (tests only); defaults to lambda/handler.ts. */
  handlerEntry?: string;
  /** Push handler file override (tests only); defaults to lambda/push-handler.ts. */
  pushHandlerEntry?: string;
}

export class MimecastCollectorStack extends Stack {
  readonly instance: string;
  readonly parameters: CollectorParameters;
  readonly credentials: CredentialsStore;
  readonly checkpoints: CheckpointTable;
  readonly collector: CollectorFunction;
  readonly monitoring: Monitoring;
  readonly lake: DataLake;
  /** Created in the template always, deployed only when PushReceiver is Enabled. */
  readonly push: PushReceiver;
  /** The Event Push S3 drain: deployed only when PushBucket is create or existing. */
  readonly pushBucket: PushBucketDrain;

  constructor(scope: Construct, id: string, props: MimecastCollectorStackProps) {
    super(scope, id, {
      description: `Mimecast collector "${props.instance}": Mimecast security logs to an HTTP ingestion endpoint or S3`,
      ...props,
    });
    this.instance = validateInstance(props.instance);
    Tags.of(this).add('mimecast-collector:instance', this.instance);

    this.parameters = defineParameters(this);
    const p = this.parameters;

    const lagThresholds = { ...LAG_ALARM_THRESHOLDS, ...props.lagAlarmThresholds } as Record<
      StreamId,
      Duration
    >;

    this.credentials = new CredentialsStore(this, 'Credentials', { instance: this.instance });
    this.checkpoints = new CheckpointTable(this, 'Checkpoints');

    const settings: CollectorSettingsValues = {
      apiVersion: p.apiVersion.valueAsString,
      mimecastBaseUrl: p.mimecastBaseUrl.valueAsString,
      streams: p.streams.valueAsString,
      collectionStart: p.collectionStart.valueAsString,
      sinkUrl: p.ingestionUrl.valueAsString,
      sinkFormat: p.sinkFormat.valueAsString,
      hecAck: p.hecAck.valueAsString,
      scheduleMinutes: p.scheduleMinutes.valueAsString,
      jsonPageSize: p.mimecastPageSize.valueAsString,
      siemBatchPageSize: p.siemBatchPageSize.valueAsString,
      siemEventTypes: p.siemEventTypes.valueAsString,
      siemCiEventTypes: p.siemCiEventTypes.valueAsString,
      awarenessSnapshotHours: p.awarenessSnapshotHours.valueAsString,
      lagAlarmSeconds: formatLagAlarmSeconds(lagAlarmSeconds(lagThresholds)),
      pushPrimaryStreams: p.pushPrimaryStreams.valueAsString,
      pushTrailSeconds: p.pushTrailSeconds.valueAsString,
    };

    this.collector = new CollectorFunction(this, 'Collector', {
      instance: this.instance,
      key: this.credentials.key,
      secret: this.credentials.secret,
      table: this.checkpoints.table,
      entry: props.handlerEntry,
      settings,
    });

    this.lake = new DataLake(this, 'Lake', {
      role: this.collector.role,
      ingestionUrl: p.ingestionUrl.valueAsString,
      retentionDays: p.lakeRetentionDays.valueAsString,
      isS3Sink: p.isS3Sink,
      createsBucket: p.createsLakeBucket,
      hasRetention: p.hasLakeRetention,
    });

    this.monitoring = new Monitoring(this, 'Monitoring', {
      instance: this.instance,
      streams: STREAM_IDS,
      fn: this.collector.function,
      logGroup: this.collector.logGroup,
      failureQueue: this.collector.failureQueue,
      // One customer-managed key for the instance: the alarm topic uses the credentials key.
      key: this.credentials.key,
      scheduleMinutes: p.scheduleMinutes.valueAsString,
      lagThresholds,
      alarmEmail: p.alarmEmail.valueAsString,
      hasAlarmEmail: p.hasAlarmEmail,
    });

    this.push = new PushReceiver(this, 'Push', {
      instance: this.instance,
      key: this.credentials.key,
      secret: this.credentials.secret,
      table: this.checkpoints.table,
      settings,
      condition: p.pushReceiverEnabled,
      entry: props.pushHandlerEntry,
    });
    // Under Monitoring, where the alarm has always been: its logical ID (and so the named alarm) stays.
    addPushStoppedAlarm(this.monitoring, {
      instance: this.instance,
      topic: this.monitoring.topic,
      scheduleMinutes: p.scheduleMinutes.valueAsString,
      dashboardUrl: this.monitoring.dashboardUrl,
      condition: p.pushReceiverEnabled,
      pushLogGroup: this.push.logGroup,
    });

    this.pushBucket = new PushBucketDrain(this, 'Drain', {
      instance: this.instance,
      role: this.collector.role,
      logGroup: this.collector.logGroup,
      environment: collectorEnvironment(
        this.instance,
        settings,
        this.credentials.secret,
        this.checkpoints.table,
      ),
      failureQueue: this.collector.failureQueue,
      alarmTopic: this.monitoring.topic,
      bucketName: p.pushBucketName.valueAsString,
      prefix: p.pushBucketPrefix.valueAsString,
      retentionDays: p.pushRetentionDays.valueAsString,
      drains: p.drainsPushBucket,
      createsBucket: p.createsPushBucket,
      hasPrefix: p.hasPushBucketPrefix,
      entry: props.handlerEntry,
    });

    this.defineOutputs();
  }

  private defineOutputs(): void {
    const secretArn = this.credentials.secret.secretArn;
    const keyArn = this.credentials.key.keyArn;
    new CfnOutput(this, 'SecretArn', {
      description: 'Secrets Manager secret holding the Mimecast credentials (placeholder until configured)',
      value: secretArn,
    });
    new CfnOutput(this, 'KeyArn', {
      description: 'KMS key encrypting the secret, the wrapped fields and the alarm topic',
      value: keyArn,
    });
    new CfnOutput(this, 'TableName', {
      description: 'DynamoDB checkpoint table',
      value: this.checkpoints.table.tableName,
    });
    new CfnOutput(this, 'DashboardUrl', {
      description: 'CloudWatch dashboard of this collector',
      value: `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards/dashboard/${this.monitoring.dashboard.dashboardName}`,
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      description: 'SNS topic of the alarms (subscribe a pager or chat integration here)',
      value: this.monitoring.topic.topicArn,
    });
    new CfnOutput(this, 'FailureQueueUrl', {
      description: 'SQS queue holding records of failed or undeliverable ticks',
      value: this.collector.failureQueue.queueUrl,
    });
    new CfnOutput(this, 'FunctionName', {
      description: 'The collector function',
      value: this.collector.function.functionName,
    });
    new CfnOutput(this, 'FunctionRoleArn', {
      description: "The function's role (grant it kms:GenerateDataKey on an existing lake bucket's KMS key)",
      value: this.collector.role.roleArn,
    });
    new CfnOutput(this, 'LakeBucketName', {
      description: 'The S3 data lake bucket the stack created (LakeBucket create)',
      value: this.lake.bucket.bucketName,
      condition: this.parameters.createsLakeBucket,
    });
    new CfnOutput(this, 'LakeBucketArn', {
      description: 'ARN of the S3 data lake bucket the stack created',
      value: this.lake.bucket.bucketArn,
      condition: this.parameters.createsLakeBucket,
    });
    new CfnOutput(this, 'PushUrl', {
      description: "Event Push: the URL to paste into Mimecast's Event Push integration (HEC or NDJSON type)",
      value: this.push.url.url,
      condition: this.parameters.pushReceiverEnabled,
    });
    new CfnOutput(this, 'PushTokenSecretArn', {
      description:
        'Event Push: the secret for the push token; store a token in it and paste the same into Mimecast (README, "Event Push")',
      value: this.push.tokenSecret.secretArn,
      condition: this.parameters.pushReceiverEnabled,
    });
    new CfnOutput(this, 'EventPushLocation', {
      description:
        "Event Push S3: the bucket and prefix to name in Mimecast's Event Push S3 settings; each new file there is drained",
      value: `s3://${this.parameters.pushBucketName.valueAsString}/${this.parameters.pushBucketPrefix.valueAsString}`,
      condition: this.parameters.drainsPushBucket,
    });
    new CfnOutput(this, 'DrainFunctionName', {
      description:
        'Event Push S3: the function that drains each new file (its failures go to the failure queue)',
      value: this.pushBucket.function.functionName,
      condition: this.parameters.drainsPushBucket,
    });
    new CfnOutput(this, 'ConfigureCommand', {
      description: 'Next step: store the Mimecast credentials in the secret',
      value: configureCommand(secretArn, keyArn, this.instance, Aws.REGION),
    });
  }
}

/** The exact command that stores the credentials (implemented by bin/'s command-line tool). */
export function configureCommand(
  secretArn: string,
  keyArn: string,
  instance: string,
  region: string,
): string {
  return `npx mimecast-collector configure --secret-id ${secretArn} --kms-key-id ${keyArn} --instance ${instance} --region ${region}`;
}
