/**
 * The Event Push receiver (docs/PUSH.md): its own function behind a Lambda Function URL, its token in a
 * secret of its own (created holding the placeholder; the operator stores the token). Created only when the `PushReceiver` parameter is Enabled
 * (every resource here carries the condition).
 *
 * Why a Function URL with AuthType NONE: Mimecast's Event Push sends a static token in the Authorization
 * header (Splunk HEC style) and cannot sign requests with SigV4, so IAM auth would refuse every push.
 * The token is the authentication, compared in constant time by the function (lambda/push/receiver.ts).
 * A Function URL rather than API Gateway: one less service and no per-request charge; its 6 MB request
 * limit is above what Event Push batches send, and the function answers larger bodies itself with 413.
 */
import * as path from 'node:path';
import { Aws, type CfnCondition, CfnResource, Duration, SecretValue, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { PLACEHOLDER_SECRET } from '../../lambda/secrets/document';
import { PUSH_TOKEN_SECRET_ENV } from '../../lambda/settings/schema';
import { DYNAMODB_ACTIONS_FOR_PUSH_LEDGER_WRITES, PUSH_LEDGER_KEY_PREFIX } from '../../lambda/state/table';
import { FUNCTION_DEFAULTS } from '../defaults';
import {
  type CollectorSettingsValues,
  collectorEnvironment,
  HANDLER_BUNDLING,
  PROJECT_ROOT,
} from './collector-function';
import { WRAP_CONTEXT_KEY } from './credentials-store';

export const PUSH_HANDLER_ENTRY = path.join(PROJECT_ROOT, 'lambda', 'push-handler.ts');

/**
 * Defaults, and why:
 * - timeout 30 s: a push is answered after the destination acknowledged its events, a few seconds at
 *   most when the destination is well; a destination slower than this is answered "busy" and Mimecast
 *   pushes again, rather than holding its connection.
 * - reserved concurrency 10: pushes arrive in parallel; this bounds what a burst (or a flood of refused
 *   requests at a public URL) can cost and how hard the destination is hit, apart from the scheduled
 *   function's single slot.
 */
export const PUSH_RECEIVER_DEFAULTS = {
  timeout: Duration.seconds(30),
  reservedConcurrency: 10,
} as const;

export interface PushReceiverProps {
  instance: string;
  key: kms.IKey;
  /** The collector's credentials secret (the destination's token). */
  secret: secretsmanager.ISecret;
  table: dynamodb.ITableV2;
  settings: CollectorSettingsValues;
  /** True when the `PushReceiver` parameter is Enabled. */
  condition: CfnCondition;
  /** Handler file override (tests only). */
  entry?: string;
}

export class PushReceiver extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly url: lambda.FunctionUrl;
  readonly tokenSecret: secretsmanager.Secret;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: PushReceiverProps) {
    super(scope, id);
    const { instance, key, secret, table, settings } = props;

    this.tokenSecret = new secretsmanager.Secret(this, 'Token', {
      description: `Mimecast collector "${instance}": the Event Push token (paste it into Mimecast's Event Push integration)`,
      encryptionKey: key,
      // The placeholder, as for the credentials secret: the template never holds or generates a
      // credential; the operator stores a token (README, "Event Push") and pastes the same into Mimecast.
      secretStringValue: SecretValue.unsafePlainText(JSON.stringify(PLACEHOLDER_SECRET)),
    });
    Validations.of(this.tokenSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The Event Push token is also configured in Mimecast, which cannot be updated by a rotation function: ' +
        'rotate it by storing a new value here and in Mimecast together (the function reads it again within 5 minutes).',
    });

    this.logGroup = new logs.LogGroup(this, 'LogGroup', { retention: FUNCTION_DEFAULTS.logRetention });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Mimecast collector "${instance}" push receiver: read its token and the collector's secret, write the push ledger`,
    });

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      description: `Mimecast collector "${instance}": Event Push receiver`,
      entry: props.entry ?? PUSH_HANDLER_ENTRY,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: FUNCTION_DEFAULTS.memorySizeMb,
      timeout: PUSH_RECEIVER_DEFAULTS.timeout,
      reservedConcurrentExecutions: PUSH_RECEIVER_DEFAULTS.reservedConcurrency,
      role: this.role,
      logGroup: this.logGroup,
      environment: {
        ...collectorEnvironment(instance, settings, secret, table),
        // An ARN: where the token is, never the token.
        [PUSH_TOKEN_SECRET_ENV]: this.tokenSecret.secretArn,
      },
      // Its own entry (lambda/push-handler.ts), bundled as the collector's is.
      bundling: HANDLER_BUNDLING,
    });

    // AuthType NONE: Mimecast cannot sign SigV4; the token is the authentication (see the file comment).
    this.url = this.function.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });

    this.grantReceiverCalls(instance, key, secret, table);
    for (const child of this.node.findAll()) {
      if (child instanceof CfnResource) child.cfnOptions.condition = props.condition;
    }
  }

  /**
   * Least privilege: read the two secrets (through Secrets Manager), unwrap the collector's fields, and
   * write the push ledger.
   */
  private grantReceiverCalls(
    instance: string,
    key: kms.IKey,
    secret: secretsmanager.ISecret,
    table: dynamodb.ITableV2,
  ): void {
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadSecrets',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [secret.secretArn, this.tokenSecret.secretArn],
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DecryptSecretsViaSecretsManager',
        actions: ['kms:Decrypt'],
        resources: [key.keyArn],
        conditions: {
          StringEquals: {
            'kms:ViaService': `secretsmanager.${Aws.REGION}.amazonaws.com`,
            'kms:EncryptionContext:SecretARN': [secret.secretArn, this.tokenSecret.secretArn],
          },
        },
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'UnwrapCredentialFields',
        actions: ['kms:Decrypt'],
        resources: [key.keyArn],
        conditions: { StringEquals: { [`kms:EncryptionContext:${WRAP_CONTEXT_KEY}`]: instance } },
      }),
    );
    // The push ledger's writes (push-primary streams, docs/PUSH-GAP-FILL.md): its UpdateItem only, and
    // only on its own partitions (`pushed#...`), so this public-facing function can neither read nor
    // touch a checkpoint or a drain record.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'PushLedgerWrites',
        actions: [...DYNAMODB_ACTIONS_FOR_PUSH_LEDGER_WRITES],
        resources: [table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${PUSH_LEDGER_KEY_PREFIX}*`] } },
      }),
    );
    this.logGroup.grantWrite(this.role);
  }
}
