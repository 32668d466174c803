/** `configure`'s flags and help, declared once (flags.ts). */
import { STREAM_IDS, type StreamId } from '../../lambda/core/streams';
import {
  PUSH_TOKEN_ENV,
  PUSH_TOKEN_MAX_LENGTH,
  PUSH_TOKEN_MIN_LENGTH,
  V2_GLOBAL_BASE_URL,
} from '../../lambda/settings';
import { CREDENTIAL_ENV } from './credentials';
import { type CommandDeclaration, helpText } from './flags';

export const DEFAULT_CHECK_STREAM: StreamId = 'audit';

export const CONFIGURE_COMMAND: CommandDeclaration = {
  name: 'configure',
  usage: '--secret-id ARN --kms-key-id ARN --instance ID [options]',
  summary: `Stores the Mimecast credentials (and the sink's token, if the receiver needs one) in the stack's
secret. Each field is encrypted with the stack's KMS key under the encryption context
{"collector": "<instance>"}, so only this collector instance can read it. Before anything is stored,
the credentials are tried against Mimecast with one cheap call; keys Mimecast refuses are not saved.

Values are never taken from flags (they would end up in shell history). Each one comes from its
environment variable or, when that is not set, from a hidden prompt:
  API 2.0: ${CREDENTIAL_ENV.clientId}, ${CREDENTIAL_ENV.clientSecret}
  API 1.0: ${CREDENTIAL_ENV.appId}, ${CREDENTIAL_ENV.appKey}, ${CREDENTIAL_ENV.accessKey}, ${CREDENTIAL_ENV.secretKey}
  sink:    ${CREDENTIAL_ENV.sinkToken} (optional: Splunk HEC token, Elasticsearch encoded API key, bearer token).
           When neither given nor typed, the token already in the secret is kept.
  sentinel: ${CREDENTIAL_ENV.azureTenantId}, ${CREDENTIAL_ENV.azureClientId}, ${CREDENTIAL_ENV.azureClientSecret} (all three,
           from the environment only; when none is set, the Entra app already in the secret is kept).
  push:    ${PUSH_TOKEN_ENV} (with --push-token-secret-id: the Event Push token, ${PUSH_TOKEN_MIN_LENGTH} to ${PUSH_TOKEN_MAX_LENGTH} characters without
           spaces, stored as it is in its own secret; paste the same into Mimecast's Event Push integration).`,
  flags: [
    {
      name: 'secret-id',
      value: 'ARN',
      description:
        "the stack's credentials secret (stack output SecretArn), e.g. arn:aws:secretsmanager:eu-west-1:123456789012:secret:CredentialsSecret-AbC123",
      required: true,
    },
    {
      name: 'kms-key-id',
      value: 'ARN',
      description:
        "the stack's KMS key (stack output KeyArn), a key id or an alias, e.g. arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
      required: true,
    },
    {
      name: 'instance',
      value: 'ID',
      description: 'collector instance, as deployed (cdk deploy -c instance=ID), e.g. prod',
      required: true,
    },
    {
      name: 'region',
      value: 'REGION',
      description: 'AWS region, e.g. eu-west-1',
      defaultNote: "the secret ARN's region, else AWS_REGION",
    },
    {
      name: 'api-version',
      value: '1|2',
      description: 'Mimecast API version, e.g. 2',
      defaultNote: 'from the credential variables set, else 2',
    },
    {
      name: 'mimecast-url',
      value: 'URL',
      description:
        "Mimecast API host used for the check, e.g. https://eu-api.mimecast.com (API 1.0: your grid's host, required)",
      defaultNote: `API 2.0: ${V2_GLOBAL_BASE_URL}`,
    },
    {
      name: 'check-stream',
      value: 'ID',
      description: 'stream the check reads from, e.g. siem',
      choices: STREAM_IDS,
      default: DEFAULT_CHECK_STREAM,
    },
    {
      name: 'skip-check',
      description:
        'store without asking Mimecast first, e.g. when this machine cannot reach it; run `verify` from where it can',
    },
    { name: 'no-sink-token', description: 'store no sink token, even if the secret holds one' },
    {
      name: 'push-token-secret-id',
      value: 'ARN',
      description: `also store the Event Push token (${PUSH_TOKEN_ENV}, else a hidden prompt) in this secret (stack output PushTokenSecretArn, PushReceiver Enabled), e.g. arn:aws:secretsmanager:eu-west-1:123456789012:secret:PushToken-AbC123`,
    },
    {
      name: 'push-token-only',
      description:
        'with --push-token-secret-id: store only the Event Push token (a new token, or a rotation); no Mimecast credentials asked, --secret-id, --kms-key-id and --instance not needed',
    },
  ],
  epilogue: `AWS credentials and endpoints come from the usual AWS environment (AWS_PROFILE, AWS_ACCESS_KEY_ID, ...;
AWS_ENDPOINT_URL_SECRETS_MANAGER and AWS_ENDPOINT_URL_KMS override the endpoints). Your identity needs
secretsmanager:PutSecretValue on the secret and kms:Encrypt on the key.

Exit code: 0 when stored, 1 when Mimecast refused the credentials or AWS refused the write, 2 for bad input.

The Event Push token needs secretsmanager:PutSecretValue on the push token secret (and
kms:GenerateDataKey on its key).

Example:
  export ${CREDENTIAL_ENV.clientId}=... ${CREDENTIAL_ENV.clientSecret}=...
  npx mimecast-collector configure --instance prod --region eu-west-1 \\
    --secret-id arn:aws:secretsmanager:eu-west-1:123456789012:secret:CredentialsSecret-AbC123 \\
    --kms-key-id arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab

  export ${PUSH_TOKEN_ENV}="$(openssl rand -hex 24)"
  npx mimecast-collector configure --push-token-only \\
    --push-token-secret-id arn:aws:secretsmanager:eu-west-1:123456789012:secret:PushToken-AbC123
`,
};

export const CONFIGURE_HELP = helpText(CONFIGURE_COMMAND);
