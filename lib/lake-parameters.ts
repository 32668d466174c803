/**
 * The S3 data lake's parameters (SinkFormat s3), the conditions built on them, and the pieces of the
 * `s3://bucket/prefix` IngestionUrl that CloudFormation itself cuts out (the bucket to create, the
 * object ARNs to grant). IngestionUrl stays the one place the bucket is named, whether the stack creates
 * it or takes it.
 */
import { CfnCondition, CfnParameter, CfnRule, Fn, type Stack } from 'aws-cdk-lib';

/** Whether the stack creates the bucket IngestionUrl names, or takes one that exists. */
export const LAKE_BUCKET_CHOICES = ['existing', 'create'] as const;

/** Days a created bucket keeps objects; 0 keeps them until someone deletes them. */
export const DEFAULT_LAKE_RETENTION_DAYS = '365';
/** 0, or 1 to 36500 days (a hundred years) without a leading zero. */
export const LAKE_RETENTION_DAYS_PATTERN =
  '^(0|[1-9][0-9]{0,3}|[1-2][0-9]{4}|3[0-5][0-9]{3}|36[0-4][0-9]{2}|36500)$';

/**
 * `s3://<bucket>/<prefix>`: a bucket name of S3's characters and length, then a slash, then prefix
 * segments of letters, digits and `. _ = + -` with single slashes. The slash after the bucket is
 * required and no segment may be empty, so `arn:…:s3:::` + what follows `s3://` + `*` names exactly the
 * objects the function writes (`<prefix>/<instance>/…`), never a bucket whose name merely starts the
 * same; no `*` or `?`, which an IAM resource would read as wildcards. Two rules of S3's a plain pattern
 * cannot say, no `..` and no `xn--` start, are the function's (lambda/sinks/s3.ts refuses such a name);
 * S3 allows no bucket of either kind, so no deployment can mean one.
 */
export const S3_INGESTION_URL_PATTERN =
  '^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/([A-Za-z0-9._=+-]+(/[A-Za-z0-9._=+-]+)*/?)?$';

export interface LakeParameters {
  lakeBucket: CfnParameter;
  lakeRetentionDays: CfnParameter;
  /** SinkFormat is s3: the write grant exists. */
  isS3Sink: CfnCondition;
  /** SinkFormat is s3 and LakeBucket is create: the bucket, its policy and its outputs exist. */
  createsLakeBucket: CfnCondition;
  /** LakeRetentionDays is not 0: the created bucket expires objects. */
  hasLakeRetention: CfnCondition;
}

export function defineLakeParameters(stack: Stack, sinkFormat: CfnParameter): LakeParameters {
  const lakeBucket = new CfnParameter(stack, 'LakeBucket', {
    type: 'String',
    default: 'existing',
    allowedValues: [...LAKE_BUCKET_CHOICES],
    description:
      'SinkFormat s3 only: create = the stack creates the bucket named in IngestionUrl (SSE-S3 encrypted, ' +
      'TLS only, public access blocked, ACLs off, objects expired after LakeRetentionDays; kept when the stack ' +
      'is deleted); existing = the bucket exists and the function is only granted s3:PutObject under the prefix. ' +
      'An existing bucket encrypted with a customer-managed KMS key must also let the FunctionRoleArn output ' +
      'call kms:GenerateDataKey on that key (its key policy, or an IAM policy where the key policy allows it).',
  });
  const lakeRetentionDays = new CfnParameter(stack, 'LakeRetentionDays', {
    type: 'String',
    default: DEFAULT_LAKE_RETENTION_DAYS,
    allowedPattern: LAKE_RETENTION_DAYS_PATTERN,
    constraintDescription: 'must be a whole number of days from 0 to 36500',
    description:
      'LakeBucket create only: days an object stays in the created bucket before S3 deletes it; 0 keeps ' +
      'objects until you delete them. An existing bucket keeps its own lifecycle rules.',
  });

  const isS3Sink = new CfnCondition(stack, 'IsS3Sink', {
    expression: Fn.conditionEquals(sinkFormat.valueAsString, 's3'),
  });
  const createsLakeBucket = new CfnCondition(stack, 'CreatesLakeBucket', {
    expression: Fn.conditionAnd(isS3Sink, Fn.conditionEquals(lakeBucket.valueAsString, 'create')),
  });
  const hasLakeRetention = new CfnCondition(stack, 'HasLakeRetention', {
    expression: Fn.conditionNot(Fn.conditionEquals(lakeRetentionDays.valueAsString, '0')),
  });
  new CfnRule(stack, 'LakeBucketNeedsS3Sink', {
    ruleCondition: Fn.conditionEquals(lakeBucket.valueAsString, 'create'),
    assertions: [
      {
        assert: Fn.conditionEquals(sinkFormat.valueAsString, 's3'),
        assertDescription: 'LakeBucket create is for SinkFormat s3 (IngestionUrl s3://<bucket>/<prefix>)',
      },
    ],
  });
  return { lakeBucket, lakeRetentionDays, isS3Sink, createsLakeBucket, hasLakeRetention };
}

/**
 * `<bucket>/<prefix>` of an `s3://<bucket>/<prefix>` IngestionUrl. Evaluated by CloudFormation only
 * in resources under IsS3Sink: with an https URL there it fails the deployment (Fn::Select finds no
 * second part) before anything runs, which is the right answer to SinkFormat s3 with an https URL.
 */
export function lakePath(ingestionUrl: string): string {
  return Fn.select(1, Fn.split('s3://', ingestionUrl));
}

/** The bucket name of an `s3://<bucket>/<prefix>` IngestionUrl. */
export function lakeBucketName(ingestionUrl: string): string {
  return Fn.select(0, Fn.split('/', lakePath(ingestionUrl)));
}
