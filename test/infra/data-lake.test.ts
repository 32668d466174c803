/**
 * SinkFormat s3 in the stack: the parameters and conditions, the bucket the stack creates when asked
 * (encrypted, TLS only, no public access, ACLs off, expiring by LakeRetentionDays), and the function's
 * write grant, which must cover exactly the keys lambda/sinks/s3.ts writes for the IngestionUrl given.
 * CloudFormation's own functions (Ref, Fn::Split, Fn::Select, Fn::Join, Fn::If) are evaluated here for
 * sample parameter values, as CloudFormation would.
 */
import type { Envelope } from '../../lambda/core/envelope';
import type { ConfigProblem } from '../../lambda/errors';
import { objectKey, parseS3Url } from '../../lambda/sinks/s3';
import { LAKE_RETENTION_DAYS_PATTERN, S3_INGESTION_URL_PATTERN } from '../../lib/lake-parameters';
import { INGESTION_URL_PATTERN } from '../../lib/parameters';
import { buildStack, type Cfn } from './helpers';
import { evaluate, iamGlob } from './intrinsics';

const { template } = buildStack('acme');
const json = template.toJSON() as Record<string, Cfn>;
const resources: Record<string, Cfn> = json.Resources;
const matches = (pattern: string, value: string) => new RegExp(pattern).test(value);

/** Event Push's resources have conditions of their own (push-receiver.test.ts, push-bucket.test.ts). */
const EVENT_PUSH_CONDITIONS = ['PushReceiverEnabled', 'DrainsPushBucket', 'CreatesPushBucket'];
const lakeOrAlways = ([, r]: [string, Cfn]) => !EVENT_PUSH_CONDITIONS.includes(r.Condition);

function only(type: string): [string, Cfn] {
  const found = Object.entries(resources).filter(([, r]) => r.Type === type && lakeOrAlways(['', r]));
  expect(found).toHaveLength(1);
  return found[0] as [string, Cfn];
}

const [bucketId, bucket] = only('AWS::S3::Bucket');
const writePolicy = Object.values(resources).find(
  (r) => r.Type === 'AWS::IAM::Policy' && r.Properties.PolicyName.startsWith('LakeWritePolicy'),
);
const writeResource = writePolicy.Properties.PolicyDocument.Statement[0].Resource;

function envelope(stream: string, time: string): Envelope {
  return { id: 'c0ffee', stream, logType: 'receipt', time, instance: 'acme', event: {} } as Envelope;
}

describe('parameters and conditions', () => {
  test('LakeBucket: existing (default) or create; LakeRetentionDays: 0 to 36500, default 365', () => {
    expect(json.Parameters.LakeBucket).toMatchObject({
      Type: 'String',
      Default: 'existing',
      AllowedValues: ['existing', 'create'],
    });
    expect(json.Parameters.LakeBucket.Description).toContain('kms:GenerateDataKey');
    const days = json.Parameters.LakeRetentionDays;
    expect(days).toMatchObject({
      Type: 'String',
      Default: '365',
      AllowedPattern: LAKE_RETENTION_DAYS_PATTERN,
    });
    for (let n = 0; n <= 36_502; n += n < 100 ? 1 : 97) {
      expect({ n, ok: matches(days.AllowedPattern, String(n)) }).toEqual({ n, ok: n <= 36_500 });
    }
    for (const n of ['36499', '36500', '10000', '29999', '30000', '35999', '36000']) {
      expect(matches(days.AllowedPattern, n)).toBe(true);
    }
    for (const bad of ['', '-1', '007', '36501', '40000', '1.5', ' 30']) {
      expect(matches(days.AllowedPattern, bad)).toBe(false);
    }
  });

  test('the conditions: IsS3Sink, CreatesLakeBucket (s3 and create), HasLakeRetention (not 0)', () => {
    expect(json.Conditions.IsS3Sink).toEqual({ 'Fn::Equals': [{ Ref: 'SinkFormat' }, 's3'] });
    expect(json.Conditions.CreatesLakeBucket).toEqual({
      'Fn::And': [{ Condition: 'IsS3Sink' }, { 'Fn::Equals': [{ Ref: 'LakeBucket' }, 'create'] }],
    });
    expect(json.Conditions.HasLakeRetention).toEqual({
      'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'LakeRetentionDays' }, '0'] }],
    });
    expect(json.Rules.LakeBucketNeedsS3Sink).toEqual({
      RuleCondition: { 'Fn::Equals': [{ Ref: 'LakeBucket' }, 'create'] },
      Assertions: [
        {
          Assert: { 'Fn::Equals': [{ Ref: 'SinkFormat' }, 's3'] },
          AssertDescription: expect.stringContaining('SinkFormat s3'),
        },
      ],
    });
  });

  test('IngestionUrl admits s3://<bucket>/<prefix> with S3 bucket rules, and names every format URL shape', () => {
    const p = json.Parameters.IngestionUrl;
    expect(p.AllowedPattern).toBe(INGESTION_URL_PATTERN);
    for (const ok of [
      's3://acme-security-lake/',
      's3://acme-security-lake/mimecast',
      's3://acme-security-lake/mimecast/',
      's3://a.b-c/lake/source=mimecast/v1',
      's3://abc/x',
    ]) {
      expect({ ok, admitted: matches(p.AllowedPattern, ok) }).toEqual({ ok, admitted: true });
    }
    for (const bad of [
      's3://acme-security-lake', // no slash: the grant would cover every bucket whose name starts so
      's3://Acme/',
      's3://ab/',
      's3://-abc/',
      's3://abc-/',
      `s3://${'a'.repeat(64)}/`,
      's3://lake//mimecast',
      's3://lake/mimecast//',
      's3://lake/mime*',
      's3://lake/mime?x',
      's3://lake/mime cast',
      's3://user:pw@lake/x',
      's3:/lake/x',
    ]) {
      expect({ bad, admitted: matches(p.AllowedPattern, bad) }).toEqual({ bad, admitted: false });
    }
    // S3 rules the pattern leaves to the function, which refuses them by name (no such bucket can exist).
    for (const unreal of ['s3://a..b/', 's3://xn--abc/']) {
      const problems: ConfigProblem[] = [];
      expect(parseS3Url(unreal, 'url', problems)).toBeUndefined();
      expect(problems).toEqual([expect.objectContaining({ problem: expect.stringContaining('bucket') })]);
    }
    for (const shape of [
      '/services/collector/event',
      '/_bulk',
      '/receiver/v1/http/',
      'https://http-intake.logs.<site>/api/v2/logs',
      'https://<dce>/dataCollectionRules/<dcr-immutable-id>/streams/<stream>?api-version=2023-01-01',
      's3://<bucket>/<prefix>',
    ]) {
      expect(p.Description).toContain(shape);
    }
    expect(json.Parameters.SinkFormat.AllowedValues).toContain('s3');
  });
});

describe('the bucket the stack creates (LakeBucket create)', () => {
  test('exists only under CreatesLakeBucket, is kept when the stack goes, and is named by IngestionUrl', () => {
    expect(bucket.Condition).toBe('CreatesLakeBucket');
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.UpdateReplacePolicy).toBe('Retain');
    for (const [url, name] of [
      ['s3://acme-security-lake/', 'acme-security-lake'],
      ['s3://acme.lake/mimecast/v1', 'acme.lake'],
    ]) {
      expect(evaluate(bucket.Properties.BucketName, { IngestionUrl: url })).toBe(name);
      const problems: ConfigProblem[] = [];
      expect(parseS3Url(url, 'url', problems)?.bucket).toBe(name);
    }
  });

  test('encrypted, public access blocked, ACLs off, expiring after LakeRetentionDays (0 keeps)', () => {
    const p = bucket.Properties;
    expect(p.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
    expect(p.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(p.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    expect(p.VersioningConfiguration).toBeUndefined();
    const kept = evaluate(p.LifecycleConfiguration, { LakeRetentionDays: '0' }, { HasLakeRetention: false });
    const expiring = evaluate(
      p.LifecycleConfiguration,
      { LakeRetentionDays: '90' },
      { HasLakeRetention: true },
    );
    const rule = {
      Id: 'LakeRetention',
      Status: 'Enabled',
      AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
    };
    expect(expiring).toEqual({ Rules: [{ ...rule, ExpirationInDays: '90' }] });
    expect(kept).toEqual({ Rules: [{ ...rule, ExpirationInDays: undefined }] });
  });

  test('its policy denies every request without TLS 1.2 or newer, on the bucket and its objects', () => {
    const [, policy] = only('AWS::S3::BucketPolicy');
    expect(policy.Condition).toBe('CreatesLakeBucket');
    expect(policy.Properties.Bucket).toEqual({ Ref: bucketId });
    const both = [
      { 'Fn::GetAtt': [bucketId, 'Arn'] },
      { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/*']] },
    ];
    expect(policy.Properties.PolicyDocument.Statement).toEqual([
      {
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 's3:*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        Resource: both,
      },
      {
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 's3:*',
        Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } },
        Resource: both,
      },
    ]);
  });

  test('outputs its name and ARN only when it creates it; the role ARN always', () => {
    expect(json.Outputs.LakeBucketName).toMatchObject({
      Condition: 'CreatesLakeBucket',
      Value: { Ref: bucketId },
    });
    expect(json.Outputs.LakeBucketArn).toMatchObject({
      Condition: 'CreatesLakeBucket',
      Value: { 'Fn::GetAtt': [bucketId, 'Arn'] },
    });
    expect(json.Outputs.FunctionRoleArn.Condition).toBeUndefined();
  });

  test('nothing of S3 exists unless SinkFormat is s3: every S3 resource and grant is under a lake condition', () => {
    const conditional = Object.entries(resources)
      .filter(lakeOrAlways)
      .filter(([, r]) => r.Condition !== undefined)
      .map(([, r]) => `${r.Type} ${r.Condition}`)
      .sort();
    expect(conditional).toEqual([
      'AWS::IAM::Policy IsS3Sink',
      'AWS::S3::Bucket CreatesLakeBucket',
      'AWS::S3::BucketPolicy CreatesLakeBucket',
      'AWS::SNS::Subscription HasAlarmEmail',
    ]);
    for (const [, r] of Object.entries(resources)
      .filter(lakeOrAlways)
      .filter(([, r]) => String(r.Type).startsWith('AWS::S3::'))) {
      expect(r.Condition).toBe('CreatesLakeBucket');
    }
  });
});

describe("the function's write grant", () => {
  test('covers every key the s3 destination writes under the IngestionUrl, and nothing beside it', () => {
    for (const url of ['s3://lake/', 's3://lake/mimecast', 's3://lake/mimecast/', 's3://lake/a/b=c']) {
      expect(matches(S3_INGESTION_URL_PATTERN, url)).toBe(true);
      const resource = evaluate(writeResource, { IngestionUrl: url }) as string;
      const glob = iamGlob(resource);
      const problems: ConfigProblem[] = [];
      const location = parseS3Url(url, 'url', problems)!;
      expect(problems).toEqual([]);
      for (const [stream, time] of [
        ['audit', '2026-12-06T04:59:59.000Z'],
        ['siem', '2026-01-01T00:00:00.000Z'],
      ] as const) {
        const key = objectKey(location, envelope(stream, time), 3);
        expect({ url, resource, arn: `arn:aws:s3:::${location.bucket}/${key}`, covered: true }).toEqual({
          url,
          resource,
          arn: `arn:aws:s3:::${location.bucket}/${key}`,
          covered: glob.test(`arn:aws:s3:::${location.bucket}/${key}`),
        });
      }
      // Not the bucket itself, not another bucket whose name starts the same.
      expect(glob.test('arn:aws:s3:::lake')).toBe(false);
      expect(glob.test('arn:aws:s3:::lake2/mimecast/acme/audit/x')).toBe(false);
      expect(glob.test('arn:aws:s3:::lake-other/x')).toBe(false);
    }
    // Under a prefix, nothing outside it.
    const scoped = iamGlob(evaluate(writeResource, { IngestionUrl: 's3://lake/mimecast/' }) as string);
    expect(scoped.test('arn:aws:s3:::lake/other/acme/audit/x')).toBe(false);
  });

  test('with an https IngestionUrl the grant cannot be evaluated: SinkFormat s3 with an https URL fails the deployment', () => {
    expect(() => evaluate(writeResource, { IngestionUrl: 'https://siem.example.com/ingest' })).toThrow(
      /nonexistent/,
    );
  });
});
