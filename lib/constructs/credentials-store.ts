/**
 * Where the Mimecast credentials live: a customer-managed KMS key (rotation on, every
 * KEY_ROTATION_DAYS; one alias per instance) and a Secrets Manager secret encrypted with it. The key is the instance's only one: the
 * alarm topic uses it too (Monitoring adds the narrow grant CloudWatch needs).
 *
 * The secret is created holding only the placeholder `{"configured":false}`: the template never
 * carries a credential, and none is generated. `npx mimecast-collector configure` writes the real
 * value afterwards, optionally KMS-wrapping fields with the encryption context
 * `{ collector: <instance> }` (see CollectorFunction for the matching IAM condition).
 */
import { Duration, SecretValue, Validations } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { PLACEHOLDER_SECRET } from '../../lambda/secrets/document';
import { KEY_ROTATION_DAYS, keyAliasFor } from '../defaults';

/**
 * The only value the stack ever writes into the secret: `{"configured":false}`, which the function
 * recognises (lambda/secrets/document.ts) and answers with "run configure".
 */
export const SECRET_PLACEHOLDER = JSON.stringify(PLACEHOLDER_SECRET);

/** The KMS encryption-context key the configure command and the function use for wrapped fields. */
export const WRAP_CONTEXT_KEY = 'collector';

export interface CredentialsStoreProps {
  instance: string;
}

export class CredentialsStore extends Construct {
  readonly key: kms.Key;
  readonly secret: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: CredentialsStoreProps) {
    super(scope, id);

    // Retained on stack deletion (the kms.Key default): a deleted key makes every secret version
    // and every wrapped field unreadable for good. Its alias is deleted with the stack, so a
    // re-deployed instance can claim the alias again.
    this.key = new kms.Key(this, 'Key', {
      description: `Mimecast collector "${props.instance}": encrypts the Mimecast credentials secret, KMS-wrapped fields and the alarm topic`,
      enableKeyRotation: true,
      rotationPeriod: Duration.days(KEY_ROTATION_DAYS),
      alias: keyAliasFor(props.instance),
    });

    // No physical name: CloudFormation generates one, so instances never collide and a
    // re-deployment never waits for a name still scheduled for deletion. Deleting the stack
    // schedules the secret for deletion (Secrets Manager's recovery window applies).
    this.secret = new secretsmanager.Secret(this, 'Secret', {
      description: `Mimecast API credentials for collector instance "${props.instance}" (written by "mimecast-collector configure")`,
      encryptionKey: this.key,
      secretStringValue: SecretValue.unsafePlainText(SECRET_PLACEHOLDER),
    });
    Validations.of(this.secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Mimecast API keys (1.0) and OAuth client secrets (2.0) are issued in the Mimecast admin console; ' +
        'Secrets Manager has no API to rotate them, so a rotation Lambda could only break them. Operators ' +
        'rotate by issuing new keys in Mimecast and running "mimecast-collector configure"; the ' +
        'mimecast-refused alarm pages when a key expires or is revoked.',
    });
  }
}
