/**
 * The Event Push S3 drain in the stack (docs/DRAIN.md): when PushBucket is create or existing, an
 * EventBridge rule invokes a drain function for every object created under PushBucketPrefix of
 * PushBucketName, and the role may read exactly those objects. With create, the stack also makes the
 * bucket (hardened like the lake's) with its EventBridge notifications on.
 *
 * Why EventBridge rather than the bucket's own notification: CloudFormation can only write a
 * NotificationConfiguration into a bucket it owns; for an existing bucket it would take a custom
 * resource that replaces the bucket's whole notification configuration (dropping whatever else it
 * notifies). An EventBridge rule works the same for a created and an existing bucket, and an existing
 * bucket's owner only switches on "Send notifications to Amazon EventBridge", which adds, never replaces.
 *
 * Why a function of its own rather than the collector's: the collector runs with reserved concurrency
 * 1, no retry and a 2-minute event age, so that ticks never overlap. A burst of Event Push files would
 * queue behind a running tick and be dropped after two minutes, and drains would hold up ticks. The
 * drain function runs the same bundle (lambda/handler.ts dispatches drain events) as the same role, in
 * the same log group, with the async settings a drain needs (DRAIN_FUNCTION_DEFAULTS).
 */
import { Aws, type CfnCondition, CfnResource, Duration, Fn, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { handlerFunctionProps } from './collector-function';
import { hardenedBucket } from './hardened-bucket';
import { addPagingAlarm } from './monitoring';

/**
 * cdk-nag's finding for the one wildcard of the read grant, as it names it: acknowledging this id
 * leaves any other wildcard of the policy reported.
 */
export const PUSH_OBJECTS_FINDING =
  'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::<PushBucketName>/<PushBucketPrefix>*]';

/**
 * The drain function's settings, and why:
 * - one object per invocation (EventBridge sends one event per object), so a burst of N files is N
 *   asynchronous invocations: at most `reservedConcurrency` (5) run at once, which bounds how hard the
 *   destination is hit beside the tick's one slot and the push receiver's ten; the others wait in
 *   Lambda's asynchronous queue, which retries throttled events for up to `maxEventAge`.
 * - timeout 10 minutes: an object is read whole (up to 256 MiB, lambda/drain/s3-object-store.ts) and
 *   forwarded before it is done; the drain ends its work 10 s before the timeout and keeps its claim
 *   only until then, so a timed-out object is taken over by the retry.
 * - retryAttempts 2 and maxEventAge 6 hours (Lambda's maximums): a destination that is down is tried
 *   again; after that the event lands in the failure queue (FailedTicksQueued alarm), and the object
 *   stays undone in the bucket for `drain` to forward (docs/DRAIN.md).
 */
export const DRAIN_FUNCTION_DEFAULTS = {
  timeout: Duration.minutes(10),
  reservedConcurrency: 5,
  retryAttempts: 2,
  maxEventAge: Duration.hours(6),
} as const;

export interface PushBucketDrainProps {
  instance: string;
  /** The collector's role: the drain runs the same code with the same rights, plus the read grant here. */
  role: iam.Role;
  /** The collector's log group (its role may already write there). */
  logGroup: logs.ILogGroup;
  /** The collector's environment: the same settings, secret and table. */
  environment: Record<string, string>;
  /** The collector's failure queue: the on-failure destination of the drain's invocations too. */
  failureQueue: sqs.IQueue;
  /** The alarm topic: a notification the rule could not hand to the function pages there. */
  alarmTopic: sns.ITopic;
  /** PushBucketName, PushBucketPrefix, PushRetentionDays (tokens). */
  bucketName: string;
  prefix: string;
  retentionDays: string;
  drains: CfnCondition;
  createsBucket: CfnCondition;
  hasPrefix: CfnCondition;
  /** Handler file; defaults to lambda/handler.ts. */
  entry?: string;
}

export class PushBucketDrain extends Construct {
  /** Exists only under CreatesPushBucket. */
  readonly bucket: s3.Bucket;
  /** The rest exists only under DrainsPushBucket. */
  readonly function: nodejs.NodejsFunction;
  readonly rule: events.Rule;
  readonly readPolicy: iam.Policy;
  /** A notification the rule could not hand to the drain function (after EventBridge's own retries). */
  readonly undeliveredAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: PushBucketDrainProps) {
    super(scope, id);
    const { instance, bucketName, prefix } = props;

    this.bucket = hardenedBucket(this, 'Bucket', {
      bucketName,
      lifecycleRuleId: 'EventPushRetention',
      expirationInDays: props.retentionDays,
      condition: props.createsBucket,
      noAccessLogsReason:
        'The Event Push bucket has one writer, Mimecast, and one reader, the drain, whose every object is ' +
        'in its log lines and done records; server access logs would need a second bucket that itself ' +
        'needs logs. Turn on CloudTrail S3 data events for the bucket where an audit of readers is required.',
    });
    // Object Created events go to EventBridge, where the rule below picks them up (see the file comment).
    (this.bucket.node.defaultChild as CfnResource).addPropertyOverride(
      'NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled',
      true,
    );

    // lambda/drain/s3-object-store.ts: GetObject (by ETag, or by VersionId on a versioned bucket,
    // which IAM checks as GetObjectVersion) and HeadObject (allowed by GetObject), on the objects
    // under the prefix only: no listing, no writes, no deletes, nothing else in the bucket.
    this.readPolicy = new iam.Policy(this, 'ReadPolicy', {
      roles: [props.role],
      statements: [
        new iam.PolicyStatement({
          sid: 'ReadEventPushObjects',
          actions: ['s3:GetObject', 's3:GetObjectVersion'],
          resources: [`arn:${Aws.PARTITION}:s3:::${bucketName}/${prefix}*`],
        }),
      ],
    });
    Validations.of(this.readPolicy).acknowledge({
      id: PUSH_OBJECTS_FINDING,
      reason:
        'The wildcard ends the object ARN of the Event Push prefix: Mimecast names its files, so their keys ' +
        'cannot be known in advance. Only reads (GetObject, and GetObjectVersion for the version a notification ' +
        'of a versioned bucket names) are granted, only under PushBucketPrefix of PushBucketName.',
    });

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      description: `Mimecast collector "${instance}": drain Event Push files from S3`,
      ...handlerFunctionProps(props.entry),
      timeout: DRAIN_FUNCTION_DEFAULTS.timeout,
      reservedConcurrentExecutions: DRAIN_FUNCTION_DEFAULTS.reservedConcurrency,
      retryAttempts: DRAIN_FUNCTION_DEFAULTS.retryAttempts,
      maxEventAge: DRAIN_FUNCTION_DEFAULTS.maxEventAge,
      onFailure: new destinations.SqsDestination(props.failureQueue),
      role: props.role,
      logGroup: props.logGroup,
      environment: props.environment,
    });

    // Every object created under the prefix of that bucket, as S3 sends it to EventBridge. EventBridge
    // retries an invocation it could not hand to Lambda for a day; once handed over, the function's
    // own retries and failure queue apply. The permission it adds is for this rule's ARN only.
    this.rule = new events.Rule(this, 'ObjectCreated', {
      description: `Mimecast collector "${instance}": drain each Event Push file written to the bucket`,
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: { bucket: { name: [bucketName] } },
      },
      targets: [
        new targets.LambdaFunction(this.function, { retryAttempts: 185, maxEventAge: Duration.hours(24) }),
      ],
    });
    // An empty prefix matches every key: the key filter is left out rather than given as "".
    (this.rule.node.defaultChild as events.CfnRule).addPropertyOverride(
      'EventPattern.detail.object',
      Fn.conditionIf(props.hasPrefix.logicalId, { key: [{ prefix }] }, Aws.NO_VALUE),
    );

    // The rule's target has no dead-letter queue (the failure queue's policy would name a rule that
    // exists only under the condition): EventBridge's FailedInvocations is what shows a notification
    // it could not hand to the function, and its object then waits undone for `drain`.
    this.undeliveredAlarm = addPagingAlarm(
      this,
      'Undelivered',
      { instance, topic: props.alarmTopic, nameSuffix: 'event-push-not-drained' },
      {
        alarmDescription:
          `EventBridge could not invoke the Event Push drain function of collector "${instance}" for a new file ` +
          `in s3://${bucketName}/${prefix} (FailedInvocations of the rule): the file is not forwarded. Check that ` +
          'the drain function exists and may be invoked by the rule, then forward what is undone with ' +
          `npx mimecast-collector drain --bucket ${bucketName} --prefix ${prefix} (docs/DRAIN.md).`,
        metric: new cloudwatch.Metric({
          namespace: 'AWS/Events',
          metricName: 'FailedInvocations',
          dimensionsMap: { RuleName: this.rule.ruleName },
          statistic: cloudwatch.Stats.SUM,
          period: Duration.minutes(5),
        }),
      },
    );

    for (const child of this.node.findAll()) {
      if (child instanceof CfnResource && child.cfnOptions.condition === undefined) {
        child.cfnOptions.condition = props.drains;
      }
    }
  }
}
