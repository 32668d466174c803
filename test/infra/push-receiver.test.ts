/**
 * The Event Push receiver in the template: every resource of it only when PushReceiver is Enabled; a
 * Function URL with AuthType NONE on its own function (its own concurrency, not the scheduled one's);
 * a role that reads exactly its two secrets; outputs to paste into Mimecast.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DYNAMODB_ACTIONS_FOR_PUSH_LEDGER_WRITES } from '../../lambda/state/table';
import { buildStack, type Cfn } from './helpers';

const { template } = buildStack('acme');
const json = template.toJSON() as Record<string, Cfn>;
const resources = Object.entries<Cfn>(json.Resources);
const push = resources.filter(([, r]) => r.Condition === 'PushReceiverEnabled');
const byType = (type: string) => push.filter(([, r]) => r.Type === type);

test('the PushReceiver parameter defaults to Disabled, and every push resource carries its condition', () => {
  expect(json.Parameters.PushReceiver).toMatchObject({
    Default: 'Disabled',
    AllowedValues: ['Disabled', 'Enabled'],
  });
  expect(json.Conditions.PushReceiverEnabled).toEqual({ 'Fn::Equals': [{ Ref: 'PushReceiver' }, 'Enabled'] });
  expect(push.map(([, r]) => r.Type).sort()).toEqual([
    'AWS::CloudWatch::Alarm',
    'AWS::IAM::Policy',
    'AWS::IAM::Role',
    'AWS::Lambda::Function',
    'AWS::Lambda::Permission',
    'AWS::Lambda::Permission',
    'AWS::Lambda::Url',
    'AWS::Logs::LogGroup',
    'AWS::SecretsManager::Secret',
  ]);
});

test('a Function URL without IAM auth on its own function, with concurrency of its own', () => {
  const [[, url]] = byType('AWS::Lambda::Url');
  expect(url?.Properties.AuthType).toBe('NONE');
  const [[fnId, fn]] = byType('AWS::Lambda::Function');
  expect(url?.Properties.TargetFunctionArn).toEqual({ 'Fn::GetAtt': [fnId, 'Arn'] });
  expect(fn?.Properties).toMatchObject({
    Runtime: 'nodejs24.x',
    Timeout: 30,
    ReservedConcurrentExecutions: 10,
  });
  const scheduled = resources.find(([id, r]) => r.Type === 'AWS::Lambda::Function' && id !== fnId)?.[1];
  expect(scheduled?.Properties.ReservedConcurrentExecutions).toBe(1);
  // Only the Function URL may invoke it: the invoke permissions are for URL calls.
  const permissions = byType('AWS::Lambda::Permission').map(([, r]) => r.Properties);
  expect(permissions).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ Action: 'lambda:InvokeFunctionUrl', FunctionUrlAuthType: 'NONE' }),
      expect.objectContaining({ Action: 'lambda:InvokeFunction', InvokedViaFunctionUrl: true }),
    ]),
  );
});

test('the function finds its token through an ARN and reads exactly its two secrets', () => {
  const [[secretId]] = byType('AWS::SecretsManager::Secret');
  const [[, fn]] = byType('AWS::Lambda::Function');
  expect(fn?.Properties.Environment.Variables.PUSH_RECEIVER_SECRET_ARN).toEqual({ Ref: secretId });
  const [[, policy]] = byType('AWS::IAM::Policy');
  const read = policy?.Properties.PolicyDocument.Statement.find((s: Cfn) => s.Sid === 'ReadSecrets');
  expect(read.Action).toBe('secretsmanager:GetSecretValue');
  expect(read.Resource).toHaveLength(2);
  expect(read.Resource).toContainEqual({ Ref: secretId });
  const actions = policy?.Properties.PolicyDocument.Statement.flatMap((s: Cfn) => [s.Action].flat());
  expect(new Set(actions)).toEqual(
    new Set([
      'secretsmanager:GetSecretValue',
      'kms:Decrypt',
      'dynamodb:UpdateItem',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
    ]),
  );
});

test("DynamoDB: only the push ledger's UpdateItem, on the checkpoint table, only on the ledger's partitions", () => {
  const [[tableId]] = resources.filter(([, r]) => r.Type === 'AWS::DynamoDB::GlobalTable');
  const [[, policy]] = byType('AWS::IAM::Policy');
  const statements: Cfn[] = policy?.Properties.PolicyDocument.Statement;
  const dynamo = statements.filter((s) => [s.Action].flat().some((a: string) => a.startsWith('dynamodb:')));
  // Exactly what the ledger store's record() sends (lambda/state/push-ledger-store.ts): no read, no delete.
  expect(dynamo).toEqual([
    {
      Sid: 'PushLedgerWrites',
      Effect: 'Allow',
      Action: DYNAMODB_ACTIONS_FOR_PUSH_LEDGER_WRITES[0],
      Resource: { 'Fn::GetAtt': [tableId, 'Arn'] },
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['pushed#*'] } },
    },
  ]);
  expect(DYNAMODB_ACTIONS_FOR_PUSH_LEDGER_WRITES).toEqual(['dynamodb:UpdateItem']);
  const store = fs.readFileSync(
    path.join(__dirname, '..', '..', 'lambda', 'state', 'push-ledger-store.ts'),
    'utf8',
  );
  const record = store.slice(store.indexOf('async record('), store.indexOf('async readBucket('));
  const write = store.slice(store.indexOf('private async write('), store.indexOf('private partition('));
  // record() writes through write(), and write() sends UpdateCommand and nothing else.
  expect(record).toContain('this.write(');
  expect([...`${record}${write}`.matchAll(/new (\w+)Command\(/g)].map((m) => m[1])).toEqual(['Update']);
});

test('the push function runs with the gap-fill settings from the same parameters as the collector', () => {
  const [[fnId, fn]] = byType('AWS::Lambda::Function');
  const collector = resources.find(([id, r]) => r.Type === 'AWS::Lambda::Function' && id !== fnId)![1];
  for (const [name, parameter] of [
    ['PUSH_PRIMARY_STREAMS', 'PushPrimaryStreams'],
    ['PUSH_TRAIL_SECONDS', 'PushTrailSeconds'],
  ]) {
    expect(fn.Properties.Environment.Variables[name!]).toEqual({ Ref: parameter });
    expect(collector.Properties.Environment.Variables[name!]).toEqual({ Ref: parameter });
  }
});

test('outputs the URL and the token secret to paste into Mimecast, only when enabled', () => {
  expect(json.Outputs.PushUrl).toMatchObject({ Condition: 'PushReceiverEnabled' });
  expect(json.Outputs.PushUrl.Value['Fn::GetAtt'][1]).toBe('FunctionUrl');
  expect(json.Outputs.PushTokenSecretArn).toMatchObject({ Condition: 'PushReceiverEnabled' });
});
