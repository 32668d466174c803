/**
 * Credentials from Secrets Manager, built once per container and cached with a TTL: a rotated key
 * takes effect within the TTL without a redeploy, and at once after `invalidate()` (which the
 * handler calls once after an authentication failure).
 */
import type { KMSClient } from '@aws-sdk/client-kms';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { type Clock, type Log, systemClock } from '../core/ports';
import { SecretError } from '../errors';
import { CONFIGURE_COMMAND, secretReadError, secretWriteError } from './aws-errors';
import type { CollectorCredentials } from './credentials';
import { isPlaceholderSecret, validateCredentialsDocument } from './document';
import { unwrapSecretFields } from './kms-fields';

export const DEFAULT_CREDENTIALS_TTL_MS = 5 * 60_000;
const DEFAULT_CALL_TIMEOUT_MS = 10_000;
/** Secrets Manager's limit for a secret value. */
const MAX_SECRET_BYTES = 65_536;

export interface ReadCredentialsOptions {
  /** Secret ARN or name (SECRET_ARN). */
  secretId: string;
  /** Collector instance id: the KMS encryption context of wrapped fields. */
  instance: string;
  secretsManager: SecretsManagerClient;
  kms: KMSClient;
  /** Abort budget for each AWS call. Default 10 s. */
  callTimeoutMs?: number;
}

export interface CredentialsProviderOptions extends ReadCredentialsOptions {
  /** How long credentials are reused before the secret is read again. Default 5 minutes. */
  ttlMs?: number;
  clock?: Clock;
  /** Told when a refresh failed transiently and the previous credentials are reused. */
  log?: Log;
}

export interface CredentialsProvider {
  /** Cached credentials, read again after the TTL. Concurrent calls share one read. Throws SecretError. */
  get(): Promise<CollectorCredentials>;
  /** Drops the cached credentials: the next get() reads the secret again. */
  invalidate(): void;
}

export function createCredentialsProvider(options: CredentialsProviderOptions): CredentialsProvider {
  const ttlMs = options.ttlMs ?? DEFAULT_CREDENTIALS_TTL_MS;
  const clock = options.clock ?? systemClock;
  let cached: { value: CollectorCredentials; fetchedAt: number } | undefined;
  let inflight: Promise<CollectorCredentials> | undefined;
  // Bumped by invalidate(): a read that began before it must not refill the cache.
  let generation = 0;

  const refresh = (): Promise<CollectorCredentials> => {
    const startedIn = generation;
    const previous = cached;
    const read = readCredentials(options).then(
      (value) => {
        if (startedIn === generation) cached = { value, fetchedAt: clock.now() };
        return value;
      },
      (error: unknown) => {
        // Stale-if-error: credentials that worked are better than none while AWS is throttling
        // or down. Never after invalidate() (they may be the ones that stopped working), never
        // for a real fault such as a malformed secret or a denied read.
        if (
          error instanceof SecretError &&
          error.retryable &&
          previous !== undefined &&
          startedIn === generation
        ) {
          options.log?.warn('Reusing the previous Mimecast credentials: the secret could not be read again', {
            error,
            ageSeconds: Math.round((clock.now() - previous.fetchedAt) / 1000),
          });
          return previous.value;
        }
        throw error;
      },
    );
    const shared = read.finally(() => {
      if (inflight === shared) inflight = undefined;
    });
    inflight = shared;
    return shared;
  };

  return {
    get() {
      if (cached !== undefined && clock.now() - cached.fetchedAt < ttlMs)
        return Promise.resolve(cached.value);
      return inflight ?? refresh();
    },
    invalidate() {
      generation += 1;
      cached = undefined;
      inflight = undefined;
    },
  };
}

/** Reads, unwraps and validates the credentials once, without caching (the CLI's `check` uses it too). */
export async function readCredentials(options: ReadCredentialsOptions): Promise<CollectorCredentials> {
  const { secretsManager, secretId, instance } = options;
  const timeout = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  let secretString: string | undefined;
  try {
    const answer = await secretsManager.send(new GetSecretValueCommand({ SecretId: secretId }), {
      abortSignal: AbortSignal.timeout(timeout),
    });
    secretString = answer.SecretString;
  } catch (error) {
    throw secretReadError(error, secretId);
  }
  const remedy = `Store the credentials with \`${CONFIGURE_COMMAND}\`.`;
  if (secretString === undefined) {
    throw new SecretError(
      `The secret ${secretId} holds binary data; the collector expects a JSON text.`,
      remedy,
    );
  }
  let document: unknown;
  try {
    document = JSON.parse(secretString);
  } catch {
    // The parser's message quotes the text: it is not passed on, not even as cause.
    throw new SecretError(`The secret ${secretId} is not JSON; the collector expects a JSON object.`, remedy);
  }
  if (isPlaceholderSecret(document)) {
    throw new SecretError(
      `The secret ${secretId} still holds the placeholder the stack created: the Mimecast credentials were never stored.`,
      remedy,
    );
  }
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new SecretError(
      `The secret ${secretId} is JSON but not an object; the collector expects a JSON object.`,
      remedy,
    );
  }
  const unwrapped = await unwrapSecretFields(document as Record<string, unknown>, {
    kms: options.kms,
    instance,
    secretId,
    callTimeoutMs: timeout,
  });
  const check = validateCredentialsDocument(unwrapped);
  if (!check.ok) {
    throw new SecretError(
      `The secret ${secretId} is malformed: ${check.problems.map((p) => `${p.field} ${p.problem}`).join('; ')}.`,
      `Write the credentials again with \`${CONFIGURE_COMMAND}\`.`,
    );
  }
  return check.value;
}

/** For the configure command: stores a document (from wrapSecretFields or toSecretDocument) as the secret's new version. */
export async function writeSecret(
  secretsManager: SecretsManagerClient,
  secretId: string,
  json: Record<string, unknown>,
  options: { callTimeoutMs?: number } = {},
): Promise<{ arn: string; versionId: string }> {
  const text = JSON.stringify(json);
  if (Buffer.byteLength(text, 'utf8') > MAX_SECRET_BYTES) {
    throw new SecretError(
      `The credentials document is larger than Secrets Manager's ${MAX_SECRET_BYTES}-byte limit.`,
      'Store only the credential fields.',
    );
  }
  return writeSecretString(secretsManager, secretId, text, options);
}

/**
 * Stores `text` as the secret's value as it is (the Event Push token secret holds the bare token, which
 * the push function reads as text). Errors as writeSecret's, naming the secret, never the value.
 */
export async function writeSecretString(
  secretsManager: SecretsManagerClient,
  secretId: string,
  text: string,
  options: { callTimeoutMs?: number } = {},
): Promise<{ arn: string; versionId: string }> {
  try {
    const answer = await secretsManager.send(
      new PutSecretValueCommand({ SecretId: secretId, SecretString: text }),
      {
        abortSignal: AbortSignal.timeout(options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS),
      },
    );
    return { arn: answer.ARN ?? secretId, versionId: answer.VersionId ?? '' };
  } catch (error) {
    throw secretWriteError(error, secretId);
  }
}
