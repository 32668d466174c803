/**
 * The one way the stack creates a bucket (the data lake's, Event Push's): SSE-S3, TLS only (1.2 and
 * up), public access blocked, ACLs off, kept when the stack is deleted, unfinished uploads cleaned up
 * after a day and objects expired by a retention parameter. Every resource of the bucket carries the
 * CloudFormation condition under which the stack creates it: the choice is a deploy-time parameter.
 */
import {
  type CfnCondition,
  CfnResource,
  Duration,
  type IResolvable,
  RemovalPolicy,
  Validations,
} from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

export interface HardenedBucketProps {
  /** The bucket's name (a parameter token): people name it in other systems, so the stack never makes one up. */
  bucketName: string;
  /** The id of the lifecycle rule (it names the rule in the console). */
  lifecycleRuleId: string;
  /** ExpirationInDays of that rule: a number of days, or an Fn::If that may leave it out. */
  expirationInDays: string | IResolvable;
  /** Only under this condition does the bucket (and its policy) exist. */
  condition: CfnCondition;
  /** Why the bucket keeps no server access logs (cdk-nag AwsSolutions-S1), for this bucket's readers and writers. */
  noAccessLogsReason: string;
}

export function hardenedBucket(scope: Construct, id: string, props: HardenedBucketProps): s3.Bucket {
  const bucket = new s3.Bucket(scope, id, {
    bucketName: props.bucketName,
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    // The data outlives the collector: deleting the stack leaves the bucket and its objects.
    removalPolicy: RemovalPolicy.RETAIN,
    lifecycleRules: [{ id: props.lifecycleRuleId, abortIncompleteMultipartUploadAfter: Duration.days(1) }],
  });
  // A parameter's days (a token) cannot go through the L2's Duration: set on the rule as CloudFormation reads it.
  (bucket.node.defaultChild as s3.CfnBucket).addPropertyOverride(
    'LifecycleConfiguration.Rules.0.ExpirationInDays',
    props.expirationInDays,
  );
  for (const child of bucket.node.findAll()) {
    if (child instanceof CfnResource) child.cfnOptions.condition = props.condition;
  }
  Validations.of(bucket).acknowledge({ id: 'AwsSolutions-S1', reason: props.noAccessLogsReason });
  return bucket;
}
