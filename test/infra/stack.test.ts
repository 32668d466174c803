/**
 * Template assertions for the collector stack: one synthesis (bundling skipped), many checks.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { formatLagAlarmSeconds } from '../../lambda/config';
import { STREAM_IDS, streamsFor } from '../../lambda/core/streams';
import { ENV } from '../../lambda/env-names';
import { DYNAMODB_ACTIONS_BY_METHOD, DYNAMODB_ACTIONS_FOR_TICK } from '../../lambda/state/table';
import { HEALTH_QUERIES } from '../../lambda/telemetry/health-log';
import {
  INSTANCE_METRICS,
  instanceDimensions,
  METRICS_NAMESPACE,
  SERVICE_NAME,
} from '../../lambda/telemetry/metric-names';
import { MimecastCollectorStack } from '../../lib/collector-stack';
import { SECRET_PLACEHOLDER } from '../../lib/constructs/credentials-store';
import { ALARM_NAMES } from '../../lib/constructs/monitoring';
import {
  FUNCTION_DEFAULTS,
  instanceFromContext,
  KEY_ROTATION_DAYS,
  LAG_ALARM_THRESHOLDS,
  lagAlarmSeconds,
  SCHEDULE_MINUTES,
  stackNameFor,
  validateInstance,
} from '../../lib/defaults';
import {
  ALARM_EMAIL_PATTERN,
  COLLECTION_START_PATTERN,
  INGESTION_URL_PATTERN,
  MIMECAST_V1_BASE_URLS,
  MIMECAST_V2_BASE_URLS,
  STREAMS_PATTERN,
} from '../../lib/parameters';
import { buildStack, type Cfn, testApp } from './helpers';

const INSTANCE = 'acme';
const { template } = buildStack(INSTANCE);
const json = template.toJSON() as Record<string, Cfn>;
const resources: Record<string, Cfn> = json.Resources;

/**
 * Resources of `type` the stack always creates (Event Push's, created only when asked for, are tested in
 * push-receiver.test.ts and push-bucket.test.ts).
 */
const EVENT_PUSH_CONDITIONS = ['PushReceiverEnabled', 'DrainsPushBucket', 'CreatesPushBucket'];
function ofType(type: string): Array<[string, Cfn]> {
  return Object.entries(resources).filter(
    ([, r]) => r.Type === type && !EVENT_PUSH_CONDITIONS.includes(r.Condition),
  );
}
function only(type: string): [string, Cfn] {
  const found = ofType(type);
  expect(found).toHaveLength(1);
  return found[0];
}
function logicalIdOf(type: string, predicate: (r: Cfn) => boolean = () => true): string {
  const found = ofType(type).filter(([, r]) => predicate(r));
  expect(found).toHaveLength(1);
  return found[0][0];
}
/** CloudFormation's AllowedPattern is a whole-value match; our patterns are anchored, so test() is the same. */
function matches(pattern: string, value: string): boolean {
  return new RegExp(pattern).test(value);
}
/** Dimensions as CloudFormation lists them, from a Record. */
function dimensionList(dimensions: Record<string, string>) {
  return Object.entries(dimensions)
    .map(([Name, Value]) => ({ Name, Value }))
    .sort((a, b) => a.Name.localeCompare(b.Name));
}
function sortedDimensions(alarm: Cfn) {
  return [...alarm.Properties.Dimensions].sort((a: Cfn, b: Cfn) => a.Name.localeCompare(b.Name));
}

const keyId = logicalIdOf('AWS::KMS::Key', (r) => /credentials secret/.test(r.Properties.Description));
const [secretId] = only('AWS::SecretsManager::Secret');
const [tableId] = only('AWS::DynamoDB::GlobalTable');
const [functionId, fn] = only('AWS::Lambda::Function');
const [queueId] = only('AWS::SQS::Queue');
const [topicId] = only('AWS::SNS::Topic');
const [logGroupId] = only('AWS::Logs::LogGroup');
const [roleId] = only('AWS::IAM::Role');

describe('parameters', () => {
  const parameters = json.Parameters;

  test('every parameter has a description and a validation', () => {
    for (const name of [
      'CollectionStartTs',
      'MimecastApiVersion',
      'MimecastBaseUrl',
      'Streams',
      'SiemEventTypes',
      'SiemCiEventTypes',
      'MimecastPageSize',
      'SiemBatchPageSize',
      'AwarenessSnapshotHours',
      'IngestionUrl',
      'SinkFormat',
      'HecAck',
      'ScheduleMinutes',
      'AlarmEmail',
      'LakeBucket',
      'LakeRetentionDays',
      'PushReceiver',
      'PushPrimaryStreams',
      'PushTrailSeconds',
      'PushBucket',
      'PushBucketName',
      'PushBucketPrefix',
      'PushRetentionDays',
    ]) {
      expect(parameters[name]).toBeDefined();
      expect(parameters[name].Type).toBe('String');
      expect(parameters[name].Description.length).toBeGreaterThan(20);
      expect(parameters[name].AllowedPattern ?? parameters[name].AllowedValues).toBeDefined();
    }
  });

  test('CollectionStartTs: ISO-8601 UTC or empty (= now)', () => {
    const p = parameters.CollectionStartTs;
    expect(p.Default).toBe('');
    expect(p.AllowedPattern).toBe(COLLECTION_START_PATTERN);
    for (const ok of ['', '2026-01-01T00:00:00Z', '2025-12-31T23:59:59Z'])
      expect(matches(p.AllowedPattern, ok)).toBe(true);
    for (const bad of [
      '2026-01-01',
      '2026-01-01T00:00:00',
      '2026-01-01T00:00:00+01:00',
      '2026-13-01T00:00:00Z',
      '2026-01-01T24:00:00Z',
      ' 2026-01-01T00:00:00Z',
      'now',
    ]) {
      expect(matches(p.AllowedPattern, bad)).toBe(false);
    }
  });

  test('MimecastApiVersion: 1 or 2, default 2', () => {
    expect(parameters.MimecastApiVersion).toMatchObject({ Default: '2', AllowedValues: ['1', '2'] });
  });

  test('MimecastBaseUrl: only the known Mimecast hosts, default the API 2.0 global host', () => {
    const p = parameters.MimecastBaseUrl;
    expect(p.Default).toBe('https://api.services.mimecast.com');
    expect([...p.AllowedValues].sort()).toEqual(
      [
        'https://eu-api.mimecast.com',
        'https://de-api.mimecast.com',
        'https://us-api.mimecast.com',
        'https://usb-api.mimecast.com',
        'https://ca-api.mimecast.com',
        'https://za-api.mimecast.com',
        'https://au-api.mimecast.com',
        'https://je-api.mimecast.com',
        'https://uspcom-api.mimecast-pscom-us.com',
        'https://api.services.mimecast.com',
        'https://uk-api.services.mimecast.com',
        'https://us-api.services.mimecast.com',
      ].sort(),
    );
  });

  test('rules refuse a host of the other API generation', () => {
    expect(json.Rules.ApiV2NeedsApiV2Host).toEqual({
      RuleCondition: { 'Fn::Equals': [{ Ref: 'MimecastApiVersion' }, '2'] },
      Assertions: [
        {
          Assert: { 'Fn::Contains': [[...MIMECAST_V2_BASE_URLS], { Ref: 'MimecastBaseUrl' }] },
          AssertDescription: expect.any(String),
        },
      ],
    });
    expect(json.Rules.ApiV1NeedsRegionalHost).toEqual({
      RuleCondition: { 'Fn::Equals': [{ Ref: 'MimecastApiVersion' }, '1'] },
      Assertions: [
        {
          Assert: { 'Fn::Contains': [[...MIMECAST_V1_BASE_URLS], { Ref: 'MimecastBaseUrl' }] },
          AssertDescription: expect.any(String),
        },
      ],
    });
  });

  test('HecAck true is refused at deploy time unless SinkFormat is splunk-hec', () => {
    expect(json.Rules.HecAckNeedsSplunkHec).toEqual({
      RuleCondition: { 'Fn::Equals': [{ Ref: 'HecAck' }, 'true'] },
      Assertions: [
        {
          Assert: { 'Fn::Equals': [{ Ref: 'SinkFormat' }, 'splunk-hec'] },
          AssertDescription: expect.any(String),
        },
      ],
    });
  });

  test('Streams: comma list of stream ids, default the Cloud Gateway logs and threat feeds (both API versions)', () => {
    const p = parameters.Streams;
    expect(p.AllowedPattern).toBe(STREAMS_PATTERN);
    // siem-ci and awareness-* are opt-in: a tenant without Cloud Integrated or Awareness Training would fail every tick.
    expect(p.Default).toBe(streamsFor(1).join(','));
    expect(matches(p.AllowedPattern, p.Default)).toBe(true);
    for (const id of STREAM_IDS) expect(matches(p.AllowedPattern, id)).toBe(true);
    expect(matches(p.AllowedPattern, 'siem,audit,ttp-url')).toBe(true);
    for (const bad of [
      '',
      'siem,',
      ',siem',
      'siem, audit',
      'siem;audit',
      'SIEM',
      'ttp',
      'siem,unknown',
      'siemx',
    ]) {
      expect(matches(p.AllowedPattern, bad)).toBe(false);
    }
  });

  test('IngestionUrl: required https URL, no credentials in it', () => {
    const p = parameters.IngestionUrl;
    expect(p.Default).toBeUndefined();
    expect(p.AllowedPattern).toBe(INGESTION_URL_PATTERN);
    for (const ok of [
      'https://siem.example.com',
      'https://siem.example.com/',
      'https://hec.example.com:8088/services/collector/raw',
      'https://es.example.com:9200/_bulk?pipeline=mimecast',
      'https://10.0.0.5/ingest',
    ]) {
      expect(matches(p.AllowedPattern, ok)).toBe(true);
    }
    for (const bad of [
      'http://siem.example.com',
      'https://',
      'https://user:password@siem.example.com/',
      'https://siem.example.com/ path',
      'ftp://siem.example.com',
      'siem.example.com',
    ]) {
      expect(matches(p.AllowedPattern, bad)).toBe(false);
    }
  });

  test('SinkFormat and ScheduleMinutes: allowed values', () => {
    expect(parameters.SinkFormat).toMatchObject({
      Default: 'ndjson',
      AllowedValues: ['ndjson', 'splunk-hec', 'elastic-bulk', 'sumo', 'datadog', 'sentinel', 's3'],
    });
    expect(parameters.HecAck).toMatchObject({ Default: 'false', AllowedValues: ['false', 'true'] });
    expect(parameters.IngestionUrl.Description).toContain('/receiver/v1/http/');
    expect(parameters.IngestionUrl.Description).toContain('dataCollectionRules/<dcr-immutable-id>/streams/');
    expect(parameters.ScheduleMinutes).toMatchObject({
      Default: '5',
      AllowedValues: ['5', '10', '15', '30', '60'],
    });
  });

  test('AlarmEmail: optional, subscription only under the HasAlarmEmail condition', () => {
    const p = parameters.AlarmEmail;
    expect(p.Default).toBe('');
    expect(p.AllowedPattern).toBe(ALARM_EMAIL_PATTERN);
    expect(matches(p.AllowedPattern, '')).toBe(true);
    expect(matches(p.AllowedPattern, 'soc@example.com')).toBe(true);
    expect(matches(p.AllowedPattern, 'not an address')).toBe(false);
    expect(json.Conditions.HasAlarmEmail).toEqual({
      'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'AlarmEmail' }, ''] }],
    });
    const [, subscription] = only('AWS::SNS::Subscription');
    expect(subscription.Condition).toBe('HasAlarmEmail');
    expect(subscription.Properties).toEqual({
      Protocol: 'email',
      Endpoint: { Ref: 'AlarmEmail' },
      TopicArn: { Ref: topicId },
    });
  });
});

describe('credentials store', () => {
  test('customer-managed key with rotation and a per-instance alias, retained', () => {
    expect(resources[keyId].Properties.EnableKeyRotation).toBe(true);
    expect(resources[keyId].Properties.RotationPeriodInDays).toBe(KEY_ROTATION_DAYS);
    expect(resources[keyId].DeletionPolicy).toBe('Retain');
    template.hasResourceProperties('AWS::KMS::Alias', {
      AliasName: `alias/mimecast-collector/${INSTANCE}`,
      TargetKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
    });
  });

  test('secret holds only the placeholder and is encrypted with the key', () => {
    const secret = resources[secretId];
    expect(secret.Properties.SecretString).toBe(SECRET_PLACEHOLDER);
    expect(JSON.parse(secret.Properties.SecretString)).toEqual({ configured: false });
    expect(secret.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    expect(secret.Properties.GenerateSecretString).toBeUndefined();
    expect(secret.Properties.Name).toBeUndefined();
  });

  test('no generated credentials and no dynamic secret references anywhere in the template', () => {
    const text = JSON.stringify(json);
    expect(text).not.toContain('GenerateSecretString');
    expect(text).not.toContain('{{resolve:');
  });
});

describe('checkpoint table', () => {
  test('instance (S) + stream (S) keys, on-demand, PITR, deletion protection, retained', () => {
    const table = resources[tableId];
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
    expect(table.Properties).toMatchObject({
      KeySchema: [
        { AttributeName: 'instance', KeyType: 'HASH' },
        { AttributeName: 'stream', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'instance', AttributeType: 'S' },
        { AttributeName: 'stream', AttributeType: 'S' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
      Replicas: [
        {
          Region: { Ref: 'AWS::Region' },
          DeletionProtectionEnabled: true,
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        },
      ],
    });
    // AWS-managed key (TableV2 + CMK fails in an environment-agnostic stack): no KMSMasterKeyId.
    expect(table.Properties.SSESpecification.KMSMasterKeyId).toBeUndefined();
    expect(table.Properties.TableName).toBeUndefined();
  });
});

describe('function', () => {
  test('Node 24 on arm64, memory, timeout under the shortest schedule, reserved concurrency 1', () => {
    expect(fn.Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: FUNCTION_DEFAULTS.memorySizeMb,
      Timeout: 270,
      ReservedConcurrentExecutions: 1,
      LoggingConfig: { LogGroup: { Ref: logGroupId } },
      Role: { 'Fn::GetAtt': [roleId, 'Arn'] },
    });
    const shortestScheduleSeconds = Math.min(...SCHEDULE_MINUTES.map(Number)) * 60;
    expect(fn.Properties.Timeout).toBeLessThan(shortestScheduleSeconds);
  });

  test('log group with retention', () => {
    expect(resources[logGroupId].Properties.RetentionInDays).toBe(90);
  });

  test('environment: exactly the ENV names, Powertools settings and source maps', () => {
    expect(fn.Properties.Environment.Variables).toEqual({
      [ENV.instance]: INSTANCE,
      [ENV.apiVersion]: { Ref: 'MimecastApiVersion' },
      [ENV.mimecastBaseUrl]: { Ref: 'MimecastBaseUrl' },
      [ENV.streams]: { Ref: 'Streams' },
      [ENV.collectionStart]: { Ref: 'CollectionStartTs' },
      [ENV.sinkUrl]: { Ref: 'IngestionUrl' },
      [ENV.sinkFormat]: { Ref: 'SinkFormat' },
      [ENV.hecAck]: { Ref: 'HecAck' },
      [ENV.jsonPageSize]: { Ref: 'MimecastPageSize' },
      [ENV.siemBatchPageSize]: { Ref: 'SiemBatchPageSize' },
      [ENV.siemEventTypes]: { Ref: 'SiemEventTypes' },
      [ENV.siemCiEventTypes]: { Ref: 'SiemCiEventTypes' },
      [ENV.awarenessSnapshotHours]: { Ref: 'AwarenessSnapshotHours' },
      [ENV.secretArn]: { Ref: secretId },
      [ENV.checkpointTable]: { Ref: tableId },
      [ENV.lagAlarmSeconds]: formatLagAlarmSeconds(lagAlarmSeconds(LAG_ALARM_THRESHOLDS)),
      [ENV.pushPrimaryStreams]: { Ref: 'PushPrimaryStreams' },
      [ENV.pushTrailSeconds]: { Ref: 'PushTrailSeconds' },
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      NODE_OPTIONS: '--enable-source-maps',
    });
  });

  test('no environment variable holds a secret-looking value', () => {
    const allowedLiterals = new Set([
      INSTANCE,
      SERVICE_NAME,
      METRICS_NAMESPACE,
      '--enable-source-maps',
      formatLagAlarmSeconds(lagAlarmSeconds(LAG_ALARM_THRESHOLDS)),
    ]);
    const allowedRefs = new Set([
      'MimecastApiVersion',
      'MimecastBaseUrl',
      'Streams',
      'CollectionStartTs',
      'IngestionUrl',
      'SinkFormat',
      'HecAck',
      'MimecastPageSize',
      'SiemBatchPageSize',
      'SiemEventTypes',
      'SiemCiEventTypes',
      'AwarenessSnapshotHours',
      'PushPrimaryStreams',
      'PushTrailSeconds',
      secretId, // Ref of a secret = its ARN, never its value
      tableId,
    ]);
    for (const [name, value] of Object.entries<Cfn>(fn.Properties.Environment.Variables)) {
      expect(name).not.toMatch(/SECRET_KEY|APP_KEY|ACCESS_KEY|CLIENT_SECRET|PASSWORD|TOKEN/i);
      if (typeof value === 'string') {
        expect(allowedLiterals.has(value)).toBe(true);
        expect(value).not.toMatch(/[A-Za-z0-9+/=]{24,}/);
      } else {
        expect(Object.keys(value)).toEqual(['Ref']);
        expect(allowedRefs.has(value.Ref)).toBe(true);
      }
    }
  });

  test('async invocation: no retry, short event age, failures to the queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: functionId },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: FUNCTION_DEFAULTS.maxEventAge.toSeconds(),
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
    });
    expect(FUNCTION_DEFAULTS.maxEventAge.toSeconds()).toBeLessThanOrEqual(Duration.minutes(5).toSeconds());
  });

  test('schedule: events.Rule at the ScheduleMinutes rate, no retry, short event age, DLQ', () => {
    const [ruleId, rule] = only('AWS::Events::Rule');
    expect(rule.Properties.ScheduleExpression).toEqual({
      'Fn::Join': ['', ['rate(', { Ref: 'ScheduleMinutes' }, ' minutes)']],
    });
    expect(rule.Properties.State).toBe('ENABLED');
    expect(rule.Properties.Targets).toEqual([
      {
        Id: expect.any(String),
        Arn: { 'Fn::GetAtt': [functionId, 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 120 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } },
      },
    ]);
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [functionId, 'Arn'] },
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [ruleId, 'Arn'] },
    });
    expect(ofType('AWS::Scheduler::Schedule')).toHaveLength(0);
  });

  test('failure queue: encrypted, TLS only, 14-day retention', () => {
    expect(resources[queueId].Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sqs:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });
});

describe('IAM: exactly the calls the function makes', () => {
  // The lake's write grant is a policy of its own under IsS3Sink (test/infra/data-lake.test.ts).
  const policies = ofType('AWS::IAM::Policy');
  const unconditional = policies.filter(([, p]) => p.Condition === undefined);
  expect(unconditional).toHaveLength(1);
  const [, policy] = unconditional[0]!;
  const statements: Cfn[] = policy.Properties.PolicyDocument.Statement;
  const keyArn = { 'Fn::GetAtt': [keyId, 'Arn'] };

  test('the role has no managed policies and only this one inline policy, besides the s3 one', () => {
    expect(policy.Properties.Roles).toEqual([{ Ref: roleId }]);
    expect(policies.filter(([, p]) => p.Condition !== undefined).map(([, p]) => p.Condition)).toEqual([
      'IsS3Sink',
    ]);
    expect(resources[roleId].Properties.ManagedPolicyArns).toBeUndefined();
    expect(resources[roleId].Properties.Policies).toBeUndefined();
    expect(resources[roleId].Properties.AssumeRolePolicyDocument.Statement).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
    ]);
  });

  test('the complete statement list', () => {
    const normalized = statements
      .map((s) => ({
        Action: ([] as string[]).concat(s.Action).sort(),
        Resource: s.Resource,
        Condition: s.Condition,
        Effect: s.Effect,
      }))
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    const expected = [
      {
        Action: ['secretsmanager:GetSecretValue'],
        Resource: { Ref: secretId },
        Condition: undefined,
        Effect: 'Allow',
      },
      {
        Action: ['kms:Decrypt'],
        Resource: keyArn,
        Condition: {
          StringEquals: {
            'kms:ViaService': {
              'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']],
            },
            'kms:EncryptionContext:SecretARN': { Ref: secretId },
          },
        },
        Effect: 'Allow',
      },
      {
        Action: ['kms:Decrypt'],
        Resource: keyArn,
        Condition: { StringEquals: { 'kms:EncryptionContext:collector': INSTANCE } },
        Effect: 'Allow',
      },
      {
        Action: [...DYNAMODB_ACTIONS_FOR_TICK].sort(),
        Resource: { 'Fn::GetAtt': [tableId, 'Arn'] },
        Condition: undefined,
        Effect: 'Allow',
      },
      {
        Action: ['dynamodb:Query'],
        Resource: { 'Fn::GetAtt': [tableId, 'Arn'] },
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['pushed#*'] } },
        Effect: 'Allow',
      },
      {
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] },
        Condition: undefined,
        Effect: 'Allow',
      },
      {
        Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
        Resource: { 'Fn::GetAtt': [queueId, 'Arn'] },
        Condition: undefined,
        Effect: 'Allow',
      },
    ].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    expect(normalized).toEqual(expected);
  });

  test('DynamoDB: exactly the actions a tick uses (lambda/state/table.ts), covering every store call of the engine', () => {
    // The push ledger's Query, limited to its partitions, is checked in test/security/iam-least-privilege.test.ts.
    const granted = statements.filter(
      (s) =>
        s.Sid !== 'PushLedgerReads' && [].concat(s.Action).some((a: string) => a.startsWith('dynamodb:')),
    );
    expect(granted).toHaveLength(1);
    expect([].concat(granted[0].Action).sort()).toEqual([...DYNAMODB_ACTIONS_FOR_TICK].sort());
    // Drift guard: every CheckpointStore method the function's code path calls maps to a granted action.
    const called = new Set<string>();
    for (const file of [
      'lambda/core/engine.ts',
      'lambda/core/stream-run.ts',
      'lambda/core/stream-progress.ts',
      'lambda/root.ts',
      'lambda/tick.ts',
      'lambda/handler.ts',
    ]) {
      const source = fs.readFileSync(path.join(__dirname, '..', '..', file), 'utf8');
      for (const m of source.matchAll(/\bstore\.(\w+)\(/g)) called.add(m[1]);
    }
    expect(called.size).toBeGreaterThan(0);
    for (const method of called) {
      const actions = (DYNAMODB_ACTIONS_BY_METHOD as Record<string, readonly string[] | undefined>)[method];
      // A store method without a declared action set fails here, naming the method.
      expect({ method, actions }).toEqual({ method, actions: expect.any(Array) });
      for (const action of actions ?? []) expect([].concat(granted[0].Action)).toContain(action);
    }
  });

  test('no wildcard anywhere in the function policy', () => {
    for (const s of statements) {
      for (const action of [].concat(s.Action)) expect(action).not.toContain('*');
      expect(JSON.stringify(s.Resource)).not.toContain('*');
    }
  });

  test('every kms:Decrypt is conditioned', () => {
    const decrypts = statements.filter((s) => [].concat(s.Action).some((a: string) => a.startsWith('kms:')));
    expect(decrypts).toHaveLength(2);
    for (const s of decrypts) expect(s.Condition).toBeDefined();
  });
});

describe('alarms and topic', () => {
  const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a);
  const byName = (suffix: string) => {
    const found = alarms.filter((a) => a.Properties.AlarmName === `mimecast-collector/${INSTANCE}/${suffix}`);
    expect(found).toHaveLength(1);
    return found[0];
  };
  const perTickPeriod = {
    'Fn::FindInMap': [expect.any(String), { Ref: 'ScheduleMinutes' }, 'Seconds'],
  };
  /** An alarm description with its references filled in at their longest plausible length. */
  const describedAs = (alarm: Cfn): string => {
    const d = alarm.Properties.AlarmDescription;
    if (typeof d === 'string') return d;
    return d['Fn::Join'][1]
      .map((part: Cfn) => {
        if (typeof part === 'string') return part;
        // A generated log group name is at most 512 characters; CloudFormation's are about 60.
        if (part.Ref === logGroupId) return `<log group ${'x'.repeat(80)}>`;
        return 'ap-southeast-5'; // AWS::Region, the only other reference
      })
      .join('');
  };

  test('one customer-managed key for the instance: the topic is encrypted with the credentials key', () => {
    expect(ofType('AWS::KMS::Key')).toHaveLength(1);
    expect(ofType('AWS::KMS::Alias')).toHaveLength(1);
    expect(resources[topicId].Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
  });

  test("CloudWatch may use the key only for this instance's alarms and only for SNS data keys", () => {
    const statements: Cfn[] = resources[keyId].Properties.KeyPolicy.Statement;
    const services = statements.filter((s) => s.Principal?.Service);
    expect(services).toHaveLength(1);
    const [cw] = services;
    expect(cw.Principal).toEqual({ Service: 'cloudwatch.amazonaws.com' });
    expect(cw.Action).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
    expect(cw.Condition.StringEquals).toEqual({ 'aws:SourceAccount': { Ref: 'AWS::AccountId' } });
    expect(JSON.stringify(cw.Condition.ArnLike['aws:SourceArn'])).toContain(
      `:alarm:mimecast-collector/${INSTANCE}/*`,
    );
    // SNS binds its data keys to the topic through this encryption context; the secret's data keys
    // (context SecretARN) and the wrapped fields (context `collector`) have no such key, so this
    // statement cannot decrypt them.
    expect(cw.Condition.StringLike).toEqual({
      'kms:EncryptionContext:aws:sns:topicArn': {
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':sns:',
            { Ref: 'AWS::Region' },
            ':',
            { Ref: 'AWS::AccountId' },
            ':*',
          ],
        ],
      },
    });
    expect(Object.keys(cw.Condition).sort()).toEqual(['ArnLike', 'StringEquals', 'StringLike']);
  });

  test('topic: TLS only, CloudWatch alarms of this instance may publish', () => {
    const [, topicPolicy] = only('AWS::SNS::TopicPolicy');
    expect(topicPolicy.Properties.PolicyDocument.Statement).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        expect.objectContaining({
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: 'sns:Publish',
          Condition: expect.objectContaining({
            StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          }),
        }),
      ]),
    );
  });

  test('five alarms whatever the number of streams, each notifying the topic on ALARM and OK', () => {
    expect(alarms.map((a) => a.Properties.AlarmName).sort()).toEqual(
      Object.values(ALARM_NAMES)
        .map((suffix) => `mimecast-collector/${INSTANCE}/${suffix}`)
        .sort(),
    );
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarm.Properties.OKActions).toEqual([{ Ref: topicId }]);
      // Plain metric alarms: one alarm metric each (a math expression is billed per metric in it).
      expect(alarm.Properties.Metrics).toBeUndefined();
    }
  });

  test("every description says what to do and how to find the stream(s), within CloudWatch's 1024 characters", () => {
    const long = buildStack('x'.repeat(32)).template.toJSON() as Record<string, Cfn>;
    for (const alarm of Object.values<Cfn>(long.Resources).filter(
      (r) => r.Type === 'AWS::CloudWatch::Alarm',
    )) {
      const logGroup = Object.entries<Cfn>(long.Resources).find(
        ([, r]) => r.Type === 'AWS::Logs::LogGroup',
      )![0];
      const d = alarm.Properties.AlarmDescription;
      const text = d['Fn::Join'][1]
        .map((part: Cfn) =>
          typeof part === 'string' ? part : part.Ref === logGroup ? 'x'.repeat(90) : 'ap-southeast-5',
        )
        .join('');
      expect(text.length).toBeLessThanOrEqual(1024);
    }
    for (const alarm of alarms) {
      const text = describedAs(alarm);
      expect(text).toMatch(
        /Which stream\(s\): CloudWatch Logs Insights on log group <log group x+>, query: filter message = "stream health"/,
      );
      expect(text).toContain(`#dashboards/dashboard/MimecastCollector-${INSTANCE}-ap-southeast-5`);
    }
    expect(describedAs(byName('streams-failing'))).toContain(HEALTH_QUERIES.failedStreams);
    expect(describedAs(byName('streams-lagging'))).toContain(HEALTH_QUERIES.laggingStreams);
    expect(describedAs(byName('mimecast-refused'))).toContain(HEALTH_QUERIES.refusedStreams);
    expect(describedAs(byName('mimecast-refused'))).toMatch(
      /expired.*mimecast-collector configure.*permission/,
    );
  });

  test('streams failing: some stream failed in each of 3 ticks, or no tick at all (missing data breaching)', () => {
    const alarm = byName('streams-failing');
    expect(alarm.Properties).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: INSTANCE_METRICS.streamsFailed,
      Statistic: 'Maximum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      TreatMissingData: 'breaching',
      Period: perTickPeriod,
    });
    expect(sortedDimensions(alarm)).toEqual(dimensionList(instanceDimensions(INSTANCE)));
  });

  test.each([
    ['streams-lagging', INSTANCE_METRICS.streamsLagging],
    ['mimecast-refused', INSTANCE_METRICS.streamsRefused],
  ])('%s: one tick with a stream counted pages', (suffix, metricName) => {
    const alarm = byName(suffix);
    expect(alarm.Properties).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: metricName,
      Statistic: 'Maximum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      Period: perTickPeriod,
    });
    expect(alarm.Properties.DatapointsToAlarm).toBeUndefined();
    expect(sortedDimensions(alarm)).toEqual(dimensionList(instanceDimensions(INSTANCE)));
  });

  test('the per-tick period follows ScheduleMinutes', () => {
    const mapping = Object.values<Cfn>(json.Mappings)[0];
    expect(mapping).toEqual(
      Object.fromEntries(SCHEDULE_MINUTES.map((m) => [m, { Seconds: Number(m) * 60 }])),
    );
  });

  test("each stream's lag threshold reaches the function, which judges the lag", () => {
    expect(fn.Properties.Environment.Variables[ENV.lagAlarmSeconds]).toBe(
      formatLagAlarmSeconds(lagAlarmSeconds(LAG_ALARM_THRESHOLDS)),
    );
    const overridden = buildStack('acme', { props: { lagAlarmThresholds: { audit: Duration.hours(6) } } });
    const variables = Object.values<Cfn>(overridden.template.toJSON().Resources).find(
      (r) => r.Type === 'AWS::Lambda::Function',
    ).Properties.Environment.Variables;
    expect(variables[ENV.lagAlarmSeconds]).toContain('audit=21600');
    expect(variables[ENV.lagAlarmSeconds]).toContain('siem=7200');
  });

  test('Lambda errors and failure-queue depth', () => {
    expect(byName('function-errors').Properties).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId } }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Period: 300,
    });
    expect(byName('failed-ticks-queued').Properties).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });
});

describe('dashboard', () => {
  const [, dashboard] = only('AWS::CloudWatch::Dashboard');
  /** The body with its CloudFormation references replaced by a placeholder, parsed. */
  const body = JSON.parse(
    dashboard.Properties.DashboardBody['Fn::Join'][1]
      .map((part: Cfn) => (typeof part === 'string' ? part : part.Ref === logGroupId ? 'LOG_GROUP' : 'REF'))
      .join(''),
  );
  /** Every metric of every graph as {namespace, name, dimensions}. */
  const metrics = body.widgets
    .filter((w: Cfn) => w.type === 'metric' && w.properties.metrics)
    .flatMap((w: Cfn) => w.properties.metrics)
    .map((m: Cfn[]) => {
      const [namespace, name, ...rest] = m;
      const pairs = rest.filter((x) => typeof x === 'string');
      const dimensions: Record<string, string> = {};
      for (let i = 0; i < pairs.length; i += 2) dimensions[pairs[i]] = pairs[i + 1];
      return { namespace, name, dimensions };
    });
  const logQueries = body.widgets.filter((w: Cfn) => w.type === 'log');

  test('the instance metrics, and nothing else in our namespace', () => {
    const ours = metrics.filter((m: Cfn) => m.namespace === METRICS_NAMESPACE);
    expect(ours).toEqual(
      Object.values(INSTANCE_METRICS).map((name) => ({
        namespace: METRICS_NAMESPACE,
        name,
        dimensions: instanceDimensions(INSTANCE),
      })),
    );
  });

  test('per stream: the stream health lines of the function log group, through Logs Insights', () => {
    const queries = logQueries.map((w: Cfn) => w.properties.query as string);
    for (const query of queries)
      expect(query).toMatch(/^SOURCE 'LOG_GROUP' \| filter message = "stream health"/);
    for (const query of [
      HEALTH_QUERIES.streamsNow,
      HEALTH_QUERIES.lagOverTime,
      HEALTH_QUERIES.eventsOverTime,
      HEALTH_QUERIES.failuresOverTime,
      HEALTH_QUERIES.failuresByClass,
    ]) {
      expect(queries).toContain(`SOURCE 'LOG_GROUP' | ${query}`);
    }
  });

  test('named after the instance and the region', () => {
    expect(dashboard.Properties.DashboardName).toEqual({
      'Fn::Join': ['', [`MimecastCollector-${INSTANCE}-`, { Ref: 'AWS::Region' }]],
    });
  });
});

describe('outputs', () => {
  test('secret, key, table, dashboard link and the exact configure command', () => {
    const outputs = json.Outputs;
    expect(outputs.SecretArn.Value).toEqual({ Ref: secretId });
    expect(outputs.KeyArn.Value).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    expect(outputs.TableName.Value).toEqual({ Ref: tableId });
    expect(JSON.stringify(outputs.DashboardUrl.Value)).toContain('#dashboards/dashboard/');
    expect(outputs.ConfigureCommand.Value).toEqual({
      'Fn::Join': [
        '',
        [
          'npx mimecast-collector configure --secret-id ',
          { Ref: secretId },
          ' --kms-key-id ',
          { 'Fn::GetAtt': [keyId, 'Arn'] },
          ` --instance ${INSTANCE} --region `,
          { Ref: 'AWS::Region' },
        ],
      ],
    });
  });
});

describe('several instances', () => {
  test('two instances synthesize side by side without name collisions', () => {
    const app = testApp();
    const stackA = new MimecastCollectorStack(app, stackNameFor('acme'), { instance: 'acme' });
    const stackB = new MimecastCollectorStack(app, stackNameFor('globex'), { instance: 'globex' });
    const a = { template: Template.fromStack(stackA) };
    const b = { template: Template.fromStack(stackB) };
    expect(stackA.stackName).toBe('MimecastCollector-acme');
    expect(stackB.stackName).toBe('MimecastCollector-globex');

    /** Properties that set an account- or region-wide physical name. */
    const NAME_PROPERTIES = [
      'AliasName',
      'AlarmName',
      'DashboardName',
      'TableName',
      'QueueName',
      'TopicName',
      'FunctionName',
      'RoleName',
      'LogGroupName',
      'Name',
    ];
    /** Every explicit physical name of a template. */
    const physicalNames = (t: Record<string, Cfn>) =>
      Object.values<Cfn>(t.Resources)
        .filter((r) => !['AWS::Lambda::EventInvokeConfig', 'AWS::Lambda::Permission'].includes(r.Type))
        .flatMap((r) =>
          Object.entries<Cfn>(r.Properties ?? {})
            .filter(([k]) => NAME_PROPERTIES.includes(k))
            .map(([k, v]) => `${r.Type}.${k}=${JSON.stringify(v)}`),
        );
    const namesA = physicalNames(a.template.toJSON());
    const namesB = physicalNames(b.template.toJSON());
    // The alias, the alarms (with the push receiver's "push stopped" and the drain's "not drained"), the
    // dashboard; nothing else is named.
    expect(namesA).toHaveLength(1 + Object.keys(ALARM_NAMES).length + 2 + 1);
    for (const name of namesA) expect(namesB).not.toContain(name);
    // Resources that must never carry a fixed physical name.
    for (const t of [a.template, b.template]) {
      t.allResourcesProperties('AWS::SecretsManager::Secret', { Name: Match.absent() });
      t.allResourcesProperties('AWS::DynamoDB::GlobalTable', { TableName: Match.absent() });
      t.allResourcesProperties('AWS::Lambda::Function', { FunctionName: Match.absent() });
      t.allResourcesProperties('AWS::SQS::Queue', { QueueName: Match.absent() });
      t.allResourcesProperties('AWS::SNS::Topic', { TopicName: Match.absent() });
      t.allResourcesProperties('AWS::IAM::Role', { RoleName: Match.absent() });
    }
  });

  test('instance ids are validated', () => {
    expect(validateInstance('acme-eu')).toBe('acme-eu');
    for (const bad of ['', 'Acme', 'acme_eu', '-acme', 'acme-', 'a/b', 'x'.repeat(33), 42, undefined]) {
      expect(() => validateInstance(bad)).toThrow(/Invalid collector instance/);
    }
  });

  test('a cdk command without -c instance= gets the default stack and a warning that says so', () => {
    expect(instanceFromContext('acme')).toEqual({ instance: 'acme' });
    const none = instanceFromContext(undefined);
    expect(none.instance).toBe('default');
    expect(none.warning).toMatch(/no -c instance=NAME given, so this is stack MimecastCollector-default/);
    expect(() => instanceFromContext('Acme')).toThrow(/Invalid collector instance/);
  });
});
