/**
 * The S3 data lake of SinkFormat s3: the function's one grant to write there (under IsS3Sink) and,
 * when LakeBucket is create, the bucket itself (under CreatesLakeBucket). Both are CloudFormation
 * conditions because the format and the choice are deploy-time parameters.
 */
import { Aws, type CfnCondition, Fn, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { lakeBucketName, lakePath } from '../lake-parameters';
import { hardenedBucket } from './hardened-bucket';

/**
 * cdk-nag's finding for the one wildcard of the write grant, as it names it (the resource as the
 * template writes it): acknowledging this id leaves any other wildcard of the policy reported.
 */
export const LAKE_OBJECTS_FINDING =
  'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::{"Fn::Select":[1,{"Fn::Split":["s3://",{"Ref":"IngestionUrl"}]}]}*]';

export interface DataLakeProps {
  /** The function's role. */
  role: iam.IRole;
  /** IngestionUrl (a token): `s3://<bucket>/<prefix>` when SinkFormat is s3. */
  ingestionUrl: string;
  /** LakeRetentionDays (a token). */
  retentionDays: string;
  isS3Sink: CfnCondition;
  createsBucket: CfnCondition;
  hasRetention: CfnCondition;
}

export class DataLake extends Construct {
  /** Exists only under CreatesLakeBucket. */
  readonly bucket: s3.Bucket;
  /** s3:PutObject under the prefix; exists only under IsS3Sink. */
  readonly writePolicy: iam.Policy;

  constructor(scope: Construct, id: string, props: DataLakeProps) {
    super(scope, id);
    const { role, ingestionUrl, retentionDays, isS3Sink, createsBucket, hasRetention } = props;

    this.bucket = hardenedBucket(this, 'Bucket', {
      bucketName: lakeBucketName(ingestionUrl),
      lifecycleRuleId: 'LakeRetention',
      // LakeRetentionDays 0 keeps objects: the rule then only cleans up unfinished uploads.
      expirationInDays: Fn.conditionIf(hasRetention.logicalId, retentionDays, Aws.NO_VALUE),
      condition: createsBucket,
      noAccessLogsReason:
        'The lake bucket has one writer, the collector function, whose every PutObject is already in its ' +
        'health lines and metrics; server access logs would need a second bucket that itself needs logs. ' +
        'Turn on CloudTrail S3 data events for the bucket where an audit of readers is required.',
    });

    // The one call lambda/sinks/s3.ts makes from the function: PutObject, on the objects under the
    // prefix only (not the bucket, no reads, no listing, no deletes).
    this.writePolicy = new iam.Policy(this, 'WritePolicy', {
      roles: [role],
      statements: [
        new iam.PolicyStatement({
          sid: 'WriteLakeObjects',
          actions: ['s3:PutObject'],
          resources: [`arn:${Aws.PARTITION}:s3:::${lakePath(ingestionUrl)}*`],
        }),
      ],
    });
    (this.writePolicy.node.defaultChild as iam.CfnPolicy).cfnOptions.condition = isS3Sink;
    Validations.of(this.writePolicy).acknowledge({
      id: LAKE_OBJECTS_FINDING,
      reason:
        'The wildcard ends the object ARN of the IngestionUrl prefix: the function writes one object per ' +
        'stream, hour and batch under <prefix>/<instance>/<stream>/dt=…/hour=…/, keys it cannot know in ' +
        'advance. Only s3:PutObject is granted, only under that prefix.',
    });
  }
}
