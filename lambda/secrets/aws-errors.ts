/**
 * AWS SDK errors from Secrets Manager and KMS, turned into SecretErrors that say what to do.
 * SDK errors carry no secret (requests hold ids and ciphertexts, answers hold AWS messages), so
 * they are kept as `cause`.
 */
import { SecretError } from '../errors';

export const CONFIGURE_COMMAND = 'npx mimecast-collector configure';

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
]);
const SERVER_SIDE = new Set([
  'InternalServiceError',
  'InternalFailure',
  'KMSInternalException',
  'DependencyTimeoutException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
]);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);

export interface AwsErrorFacts {
  name: string;
  status?: number;
  /** Throttling, a 5xx, a timeout or a network failure: trying again later can work. */
  transient: boolean;
}

export function awsErrorFacts(error: unknown): AwsErrorFacts {
  const e = (error ?? {}) as {
    name?: unknown;
    code?: unknown;
    $metadata?: { httpStatusCode?: number };
    $retryable?: unknown;
  };
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const status = e.$metadata?.httpStatusCode;
  const code = typeof e.code === 'string' ? e.code : '';
  const transient =
    THROTTLING.has(name) ||
    SERVER_SIDE.has(name) ||
    (status !== undefined && status >= 500) ||
    Boolean(e.$retryable) ||
    name === 'TimeoutError' ||
    name === 'AbortError' ||
    NETWORK_CODES.has(code);
  return { name, status, transient };
}

/** Errors from GetSecretValue / DescribeSecret (reading the credentials). */
export function secretReadError(error: unknown, secretId: string): SecretError {
  const facts = awsErrorFacts(error);
  const endpoint = 'secretsmanager:GetSecretValue';
  const context = { endpoint, status: facts.status, cause: error, codes: [facts.name] };
  switch (facts.name) {
    case 'ResourceNotFoundException':
      return new SecretError(
        `Secrets Manager has no secret ${secretId} in this account and region.`,
        `Check SECRET_ARN (the stack sets it to the secret it created) and the region, then store the Mimecast credentials with \`${CONFIGURE_COMMAND}\`.`,
        context,
      );
    case 'AccessDeniedException':
      return new SecretError(
        `Not allowed to read the credentials secret ${secretId} (AccessDeniedException).`,
        "Give the function's role secretsmanager:GetSecretValue on the secret and kms:Decrypt on the secret's KMS key (the stack grants both; check for edits or a permissions boundary).",
        context,
      );
    case 'DecryptionFailure':
      return new SecretError(
        `Secrets Manager could not decrypt the secret ${secretId} with its KMS key.`,
        "Check that the secret's KMS key is enabled and that its key policy lets the function's role use it via Secrets Manager.",
        context,
      );
    case 'InvalidRequestException':
      return new SecretError(
        `Secrets Manager refused to read the secret ${secretId}; it may be scheduled for deletion.`,
        'Restore the secret (aws secretsmanager restore-secret) or redeploy the stack, then run configure again.',
        context,
      );
    default:
      return unexpected(facts, `reading the credentials secret ${secretId}`, context);
  }
}

/** Errors from PutSecretValue (the configure command). */
export function secretWriteError(error: unknown, secretId: string): SecretError {
  const facts = awsErrorFacts(error);
  const context = {
    endpoint: 'secretsmanager:PutSecretValue',
    status: facts.status,
    cause: error,
    codes: [facts.name],
  };
  switch (facts.name) {
    case 'ResourceNotFoundException':
      return new SecretError(
        `Secrets Manager has no secret ${secretId} in this account and region.`,
        'Deploy the stack first (it creates the secret), and pass the secret ARN from its outputs.',
        context,
      );
    case 'AccessDeniedException':
      return new SecretError(
        `Your AWS identity may not write the secret ${secretId} (AccessDeniedException).`,
        "Use an identity with secretsmanager:PutSecretValue on the secret and kms:GenerateDataKey on the secret's KMS key.",
        context,
      );
    default:
      return unexpected(facts, `writing the credentials secret ${secretId}`, context);
  }
}

/** Errors from KMS Decrypt of one `kms:` field. Names the field, never its value. */
export function kmsDecryptError(
  error: unknown,
  field: string,
  secretId: string,
  instance: string,
): SecretError {
  const facts = awsErrorFacts(error);
  const context = { endpoint: 'kms:Decrypt', status: facts.status, cause: error, codes: [facts.name] };
  const rewrite = `Run \`${CONFIGURE_COMMAND}\` for instance "${instance}" to write the credentials again.`;
  switch (facts.name) {
    case 'InvalidCiphertextException':
    case 'IncorrectKeyException':
      return new SecretError(
        `KMS refused to decrypt field ${field} of the secret ${secretId} (${facts.name}): it was encrypted under another KMS key or for another collector instance (this one decrypts with encryption context collector=${instance}), or it was altered.`,
        rewrite,
        context,
      );
    case 'AccessDeniedException':
      return new SecretError(
        `Not allowed to decrypt field ${field} of the secret ${secretId} with KMS (AccessDeniedException).`,
        `Give the function's role kms:Decrypt on the key that wrapped the field (with encryption context collector=${instance}); the stack grants it on its own key.`,
        context,
      );
    case 'NotFoundException':
    case 'DisabledException':
    case 'KMSInvalidStateException':
    case 'KeyUnavailableException':
      return new SecretError(
        `The KMS key that wrapped field ${field} of the secret ${secretId} cannot be used (${facts.name}: missing, disabled or pending deletion).`,
        `Enable the key (or cancel its deletion); if it is gone, ${rewrite.charAt(0).toLowerCase()}${rewrite.slice(1)}`,
        context,
      );
    default:
      return unexpected(facts, `decrypting field ${field} of the secret ${secretId}`, context);
  }
}

/** Errors from KMS Encrypt of one field (the configure command). */
export function kmsEncryptError(error: unknown, field: string, keyId: string): SecretError {
  const facts = awsErrorFacts(error);
  const context = { endpoint: 'kms:Encrypt', status: facts.status, cause: error, codes: [facts.name] };
  switch (facts.name) {
    case 'NotFoundException':
    case 'InvalidArnException':
      return new SecretError(
        `KMS has no key ${keyId} in this account and region (while wrapping field ${field}).`,
        "Pass the stack's credentials key ARN (see the stack outputs).",
        context,
      );
    case 'AccessDeniedException':
      return new SecretError(
        `Your AWS identity may not use KMS key ${keyId} to encrypt (AccessDeniedException, field ${field}).`,
        'Use an identity with kms:Encrypt on the key.',
        context,
      );
    case 'DisabledException':
    case 'KMSInvalidStateException':
      return new SecretError(
        `KMS key ${keyId} is disabled or pending deletion (${facts.name}).`,
        'Enable the key (or cancel its deletion), or pass another key.',
        context,
      );
    default:
      return unexpected(facts, `encrypting field ${field} with KMS key ${keyId}`, context);
  }
}

function unexpected(
  facts: AwsErrorFacts,
  doing: string,
  context: { endpoint: string; status?: number; cause: unknown; codes: string[] },
): SecretError {
  // The SDK found no credentials (or no region) on this machine: nothing was sent, no policy judged.
  if (facts.name === 'CredentialsProviderError' || /region is missing/i.test(errorMessage(context.cause))) {
    return new SecretError(
      `No request reached AWS while ${doing}: ${facts.name === 'CredentialsProviderError' ? 'no AWS credentials were found on this machine' : 'no AWS region is set'}.`,
      "Give this shell AWS credentials for the stack's account (AWS_PROFILE, `aws sso login`, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) and a region (--region or AWS_REGION), then run the command again.",
      context,
    );
  }
  if (facts.transient) {
    return new SecretError(
      `AWS did not answer while ${doing} (${facts.name}${facts.status === undefined ? '' : `, HTTP ${facts.status}`}).`,
      "Nothing to change: the next run tries again. If it persists, check the AWS Health Dashboard and the function's network access to AWS.",
      { ...context, retryable: true },
    );
  }
  return new SecretError(
    `AWS refused ${doing} (${facts.name}${facts.status === undefined ? '' : `, HTTP ${facts.status}`}).`,
    'Check the error cause for details; the function role and the secret and key policies are the usual suspects.',
    context,
  );
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : '';
}
