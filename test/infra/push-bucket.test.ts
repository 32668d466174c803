/**
 * The Event Push S3 drain in the stack (lib/constructs/push-bucket.ts): its parameters and conditions,
 * the bucket it creates when asked (hardened like the lake's, EventBridge notifications on), the rule
 * that invokes the drain function for each object created under the prefix, the function's settings,
 * and the permission that lets only that rule invoke it. CloudFormation's functions are evaluated for
 * sample parameter values (intrinsics.ts), as CloudFormation would.
 */
import { isDrainEvent, objectsOfEvent } from '../../lambda/drain/notifications';
import { DRAIN_RECORD_DAYS } from '../../lambda/state/table';
import { DRAIN_FUNCTION_DEFAULTS } from '../../lib/constructs/push-bucket';
import {
  PUSH_BUCKET_NAME_PATTERN,
  PUSH_BUCKET_PREFIX_PATTERN,
  PUSH_RETENTION_DAYS_PATTERN,
  PUSH_RETENTION_MAX_DAYS,
} from '../../lib/push-parameters';
import { buildStack, type Cfn } from './helpers';
import { evaluate, iamGlob, matchesEventPattern } from './intrinsics';

const { template } = buildStack('acme');
const json = template.toJSON() as Record<string, Cfn>;
const resources: Record<string, Cfn> = json.Resources;
const matches = (pattern: string, value: string) => new RegExp(pattern).test(value);
const CONDITIONS = ['DrainsPushBucket', 'CreatesPushBucket'];

function only(type: string, condition: string): [string, Cfn] {
  const found = Object.entries(resources).filter(([, r]) => r.Type === type && r.Condition === condition);
  expect(found).toHaveLength(1);
  return found[0] as [string, Cfn];
}

const [bucketId, bucket] = only('AWS::S3::Bucket', 'CreatesPushBucket');
const [functionId, fn] = only('AWS::Lambda::Function', 'DrainsPushBucket');
const [ruleId, rule] = only('AWS::Events::Rule', 'DrainsPushBucket');
const [collectorId, collector] = Object.entries(resources).find(
  ([, r]) => r.Type === 'AWS::Lambda::Function' && r.Condition === undefined,
)!;

/** An EventBridge "Object Created" event as S3 sends it (key URL-encoded, as in S3's notifications). */
function objectCreated(bucketName: string, key: string) {
  return {
    version: '0',
    id: '17793124-05d4-b198-2fde-7ededc63b103',
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: '123456789012',
    time: '2026-12-06T04:00:00Z',
    region: 'eu-west-1',
    resources: [`arn:aws:s3:::${bucketName}`],
    detail: {
      version: '0',
      bucket: { name: bucketName },
      object: { key, size: 512, etag: 'b1946ac92492d2347c6235b4d2611184', sequencer: '00617F08299329D189' },
      'request-id': 'N4N7GDK58NMKJ12R',
      requester: '123456789012',
      'source-ip-address': '192.0.2.1',
      reason: 'PutObject',
    },
  };
}

describe('parameters and conditions', () => {
  test('PushBucket: none (default), create or existing; name, prefix and retention validated', () => {
    expect(json.Parameters.PushBucket).toMatchObject({
      Type: 'String',
      Default: 'none',
      AllowedValues: ['none', 'create', 'existing'],
    });
    expect(json.Parameters.PushBucket.Description).toContain('EventBridge');
    expect(json.Parameters.PushBucket.Description).toContain('kms:Decrypt');
    expect(json.Parameters.PushBucketName).toMatchObject({
      Default: '',
      AllowedPattern: PUSH_BUCKET_NAME_PATTERN,
    });
    for (const ok of ['', 'event-push', 'acme.mimecast.push', 'a1b']) {
      expect(matches(PUSH_BUCKET_NAME_PATTERN, ok)).toBe(true);
    }
    for (const bad of ['Event-Push', 'ab', '-push', 'push-', 'a/b', 's3://push', 'x'.repeat(64)]) {
      expect({ bad, ok: matches(PUSH_BUCKET_NAME_PATTERN, bad) }).toEqual({ bad, ok: false });
    }
    expect(json.Parameters.PushBucketPrefix).toMatchObject({
      Default: '',
      AllowedPattern: PUSH_BUCKET_PREFIX_PATTERN,
    });
    for (const ok of ['', 'mimecast/', 'mimecast/push/', 'a.b_c-d/2026/']) {
      expect(matches(PUSH_BUCKET_PREFIX_PATTERN, ok)).toBe(true);
    }
    // No closing slash (a sibling folder would match), empty segments, wildcards, characters S3 encodes.
    for (const bad of ['mimecast', '/mimecast/', 'a//b/', 'a*/', 'a?/', 'dt=1/', 'a+b/', 'a b/']) {
      expect({ bad, ok: matches(PUSH_BUCKET_PREFIX_PATTERN, bad) }).toEqual({ bad, ok: false });
    }
    const days = json.Parameters.PushRetentionDays;
    expect(days).toMatchObject({ Default: '30', AllowedPattern: PUSH_RETENTION_DAYS_PATTERN });
    for (let n = 0; n <= 100; n += 1) {
      expect({ n, ok: matches(days.AllowedPattern, String(n)) }).toEqual({
        n,
        ok: n >= 1 && n <= PUSH_RETENTION_MAX_DAYS,
      });
    }
    for (const bad of ['', '05', '1.5', ' 30']) expect(matches(days.AllowedPattern, bad)).toBe(false);
  });

  test('a file is expired from a created bucket well before its done record, so `drain` never forwards it twice', () => {
    expect(PUSH_RETENTION_MAX_DAYS + 14).toBeLessThanOrEqual(DRAIN_RECORD_DAYS);
  });

  test('DrainsPushBucket (not none), CreatesPushBucket (create), HasPushBucketPrefix; a name is required', () => {
    expect(json.Conditions.DrainsPushBucket).toEqual({
      'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'PushBucket' }, 'none'] }],
    });
    expect(json.Conditions.CreatesPushBucket).toEqual({ 'Fn::Equals': [{ Ref: 'PushBucket' }, 'create'] });
    expect(json.Conditions.HasPushBucketPrefix).toEqual({
      'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'PushBucketPrefix' }, ''] }],
    });
    expect(json.Rules.PushBucketNeedsName).toEqual({
      RuleCondition: { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'PushBucket' }, 'none'] }] },
      Assertions: [
        {
          Assert: { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'PushBucketName' }, ''] }] },
          AssertDescription: expect.stringContaining('PushBucketName'),
        },
      ],
    });
    const group = json.Metadata['AWS::CloudFormation::Interface'].ParameterGroups.find(
      (g: Cfn) => g.Label.default === 'Event Push',
    );
    expect(group.Parameters).toEqual([
      'PushReceiver',
      'PushPrimaryStreams',
      'PushTrailSeconds',
      'PushBucket',
      'PushBucketName',
      'PushBucketPrefix',
      'PushRetentionDays',
    ]);
  });

  test('the default deployment (none) creates nothing of it: every drain resource and output is conditional', () => {
    const drainResources = Object.entries(resources)
      .filter(([, r]) => CONDITIONS.includes(r.Condition))
      .map(([, r]) => `${r.Type} ${r.Condition}`)
      .sort();
    expect(drainResources).toEqual([
      'AWS::CloudWatch::Alarm DrainsPushBucket',
      'AWS::Events::Rule DrainsPushBucket',
      'AWS::IAM::Policy DrainsPushBucket',
      'AWS::Lambda::EventInvokeConfig DrainsPushBucket',
      'AWS::Lambda::Function DrainsPushBucket',
      'AWS::Lambda::Permission DrainsPushBucket',
      'AWS::S3::Bucket CreatesPushBucket',
      'AWS::S3::BucketPolicy CreatesPushBucket',
    ]);
    // Nothing unconditional refers to them (CloudFormation refuses a reference to a resource not created).
    const drainIds = Object.entries(resources)
      .filter(([, r]) => CONDITIONS.includes(r.Condition))
      .map(([id]) => id);
    for (const [id, r] of Object.entries(resources).filter(([, r]) => !CONDITIONS.includes(r.Condition))) {
      for (const drainId of drainIds) {
        expect({ id, refersTo: JSON.stringify(r).includes(`"${drainId}"`) ? drainId : undefined }).toEqual({
          id,
          refersTo: undefined,
        });
      }
    }
    expect(json.Outputs.EventPushLocation).toMatchObject({ Condition: 'DrainsPushBucket' });
    expect(json.Outputs.DrainFunctionName).toMatchObject({
      Condition: 'DrainsPushBucket',
      Value: { Ref: functionId },
    });
    expect(
      evaluate(json.Outputs.EventPushLocation.Value, {
        PushBucketName: 'event-push',
        PushBucketPrefix: 'mc/',
      }),
    ).toBe('s3://event-push/mc/');
  });
});

describe('the bucket the stack creates (PushBucket create)', () => {
  test('named PushBucketName; SSE-S3, public access blocked, ACLs off, retained, EventBridge notifications on', () => {
    expect(bucket.Condition).toBe('CreatesPushBucket');
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.UpdateReplacePolicy).toBe('Retain');
    expect(bucket.Properties).toMatchObject({
      BucketName: { Ref: 'PushBucketName' },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
    });
    // EventBridge is switched on by the bucket's own property: no custom resource rewrites notifications.
    expect(Object.values<Cfn>(resources).filter((r) => r.Type === 'Custom::S3BucketNotifications')).toEqual(
      [],
    );
  });

  test('files expire after PushRetentionDays; unfinished uploads after a day', () => {
    expect(bucket.Properties.LifecycleConfiguration.Rules).toEqual([
      {
        Id: 'EventPushRetention',
        Status: 'Enabled',
        ExpirationInDays: { Ref: 'PushRetentionDays' },
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
      },
    ]);
  });

  test('its policy refuses anything but TLS 1.2 and up', () => {
    const [, policy] = only('AWS::S3::BucketPolicy', 'CreatesPushBucket');
    expect(policy.Properties.Bucket).toEqual({ Ref: bucketId });
    const denies = policy.Properties.PolicyDocument.Statement.map((s: Cfn) => ({
      Effect: s.Effect,
      Action: s.Action,
      Condition: s.Condition,
    }));
    expect(denies).toEqual([
      { Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
      { Effect: 'Deny', Action: 's3:*', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } },
    ]);
  });
});

describe('the rule and the function', () => {
  const pattern = (PushBucketName: string, PushBucketPrefix: string) =>
    evaluate(
      rule.Properties.EventPattern,
      { PushBucketName, PushBucketPrefix },
      {
        HasPushBucketPrefix: PushBucketPrefix !== '',
      },
    );

  test('the rule matches Object Created events of that bucket under the prefix, and nothing else', () => {
    const under = pattern('event-push', 'mimecast/push/');
    expect(under).toEqual({
      source: ['aws.s3'],
      'detail-type': ['Object Created'],
      detail: { bucket: { name: ['event-push'] }, object: { key: [{ prefix: 'mimecast/push/' }] } },
    });
    const created = objectCreated('event-push', 'mimecast/push/2026-12-06/events+1.json.gz');
    expect(matchesEventPattern(under, created)).toBe(true);
    for (const other of [
      objectCreated('event-push', 'mimecast/pushed/x.json'),
      objectCreated('event-push', 'other/mimecast/push/x.json'),
      objectCreated('event-push-other', 'mimecast/push/x.json'),
      { ...created, 'detail-type': 'Object Deleted' },
      { ...created, source: 'aws.events' },
    ]) {
      expect(matchesEventPattern(under, other)).toBe(false);
    }
    // What the rule delivers is a drain event for the function, naming that object (decoded).
    expect(isDrainEvent(created)).toBe(true);
    expect(objectsOfEvent(created)).toEqual([
      {
        bucket: 'event-push',
        key: 'mimecast/push/2026-12-06/events 1.json.gz',
        etag: 'b1946ac92492d2347c6235b4d2611184',
        size: 512,
      },
    ]);
  });

  test('an empty prefix matches every key of the bucket: the key filter is left out, not given as ""', () => {
    const whole = pattern('event-push', '');
    expect(whole).toEqual({
      source: ['aws.s3'],
      'detail-type': ['Object Created'],
      detail: { bucket: { name: ['event-push'] } },
    });
    expect(matchesEventPattern(whole, objectCreated('event-push', 'any/key.json'))).toBe(true);
    expect(matchesEventPattern(whole, objectCreated('other', 'any/key.json'))).toBe(false);
  });

  test('every object the rule sends is one the role may read (the rule prefix and the grant agree)', () => {
    const policy = Object.values<Cfn>(resources).find(
      (r) => r.Type === 'AWS::IAM::Policy' && r.Condition === 'DrainsPushBucket',
    );
    const [statement] = policy.Properties.PolicyDocument.Statement;
    expect(statement.Action).toEqual(['s3:GetObject', 's3:GetObjectVersion']);
    expect(policy.Properties.Roles).toEqual([{ Ref: fn.Properties.Role['Fn::GetAtt'][0] }]);
    for (const prefix of ['', 'mimecast/', 'mimecast/push/']) {
      const params = { PushBucketName: 'event-push', PushBucketPrefix: prefix };
      const glob = iamGlob(evaluate(statement.Resource, params) as string);
      const rulePattern = pattern('event-push', prefix);
      for (const key of [`${prefix}a.json`, `${prefix}2026/12/06/b.json.gz`]) {
        expect({
          key,
          sent: matchesEventPattern(rulePattern, objectCreated('event-push', key)),
          readable: glob.test(`arn:aws:s3:::event-push/${key}`),
        }).toEqual({ key, sent: true, readable: true });
      }
      // Outside the prefix: neither sent nor readable.
      if (prefix !== '') {
        const key = 'elsewhere/c.json';
        expect({
          sent: matchesEventPattern(rulePattern, objectCreated('event-push', key)),
          readable: glob.test(`arn:aws:s3:::event-push/${key}`),
        }).toEqual({ sent: false, readable: false });
      }
    }
  });

  test('the rule targets the drain function, with EventBridge retrying for a day; only this rule may invoke it', () => {
    expect(rule.Properties.Targets).toEqual([
      {
        Arn: { 'Fn::GetAtt': [functionId, 'Arn'] },
        Id: 'Target0',
        RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 },
      },
    ]);
    const permissions = Object.values<Cfn>(resources).filter(
      (r) =>
        r.Type === 'AWS::Lambda::Permission' &&
        JSON.stringify(r.Properties.FunctionName).includes(`"${functionId}"`),
    );
    expect(permissions.map((p) => ({ condition: p.Condition, ...p.Properties }))).toEqual([
      {
        condition: 'DrainsPushBucket',
        Action: 'lambda:InvokeFunction',
        FunctionName: { 'Fn::GetAtt': [functionId, 'Arn'] },
        Principal: 'events.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': [ruleId, 'Arn'] },
      },
    ]);
  });

  test('a notification the rule could not hand to the function pages on the alarm topic (the target has no dead-letter queue)', () => {
    const [, alarm] = only('AWS::CloudWatch::Alarm', 'DrainsPushBucket');
    const topic = Object.entries<Cfn>(resources).find(([, r]) => r.Type === 'AWS::SNS::Topic')![0];
    expect(alarm.Properties).toMatchObject({
      AlarmName: 'mimecast-collector/acme/event-push-not-drained',
      Namespace: 'AWS/Events',
      MetricName: 'FailedInvocations',
      Dimensions: [{ Name: 'RuleName', Value: { Ref: ruleId } }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: topic }],
      OKActions: [{ Ref: topic }],
    });
    expect(rule.Properties.Targets[0].DeadLetterConfig).toBeUndefined();
    expect(JSON.stringify(alarm.Properties.AlarmDescription)).toContain(
      'npx mimecast-collector drain --bucket',
    );
  });

  test("the drain function: the collector's code, role, log group and environment; its own concurrency, timeout and retries", () => {
    for (const same of [
      'Handler',
      'Runtime',
      'Architectures',
      'MemorySize',
      'Role',
      'LoggingConfig',
      'Environment',
    ]) {
      expect({ same, value: fn.Properties[same] }).toEqual({ same, value: collector.Properties[same] });
    }
    expect(fn.Properties).toMatchObject({
      ReservedConcurrentExecutions: DRAIN_FUNCTION_DEFAULTS.reservedConcurrency,
      Timeout: DRAIN_FUNCTION_DEFAULTS.timeout.toSeconds(),
    });
    // The collector keeps its single slot: drains never queue behind a tick, nor ticks behind drains.
    expect(collector.Properties.ReservedConcurrentExecutions).toBe(1);
    const [, invokeConfig] = only('AWS::Lambda::EventInvokeConfig', 'DrainsPushBucket');
    const queueId = Object.entries(resources).find(([, r]) => r.Type === 'AWS::SQS::Queue')![0];
    expect(invokeConfig.Properties).toEqual({
      FunctionName: { Ref: functionId },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 6 * 3600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
    });
    expect(collectorId).not.toBe(functionId);
  });
});
