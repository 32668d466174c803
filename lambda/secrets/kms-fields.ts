/**
 * Credential fields double-wrapped with KMS: a value `kms:<base64 ciphertext>` is decrypted with
 * KMS Decrypt under the encryption context {"collector": <instance>}, so a ciphertext made for one
 * collector instance cannot be replayed into another's secret. Plain values work too.
 */
import { DecryptCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { ConfigError, SecretError } from '../errors';
import { kmsDecryptError, kmsEncryptError } from './aws-errors';
import type { CollectorCredentials } from './credentials';
import {
  CREDENTIAL_FIELDS,
  type SecretDocument,
  toSecretDocument,
  validateCredentialsDocument,
} from './document';

export const KMS_PREFIX = 'kms:';
/** KMS symmetric ciphertexts are at most 6144 bytes. */
const MAX_CIPHERTEXT_BYTES = 6144;
const DEFAULT_CALL_TIMEOUT_MS = 10_000;

export function encryptionContextFor(instance: string): Record<string, string> {
  return { collector: instance };
}

export function isKmsWrapped(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(KMS_PREFIX);
}

export interface UnwrapOptions {
  kms: KMSClient;
  instance: string;
  /** Named in errors. */
  secretId: string;
  callTimeoutMs?: number;
}

/**
 * Decrypts every `kms:` value among the credential fields (others are left as they are; fields
 * the collector does not use are never sent to KMS). Returns a new document.
 */
export async function unwrapSecretFields(
  document: Record<string, unknown>,
  options: UnwrapOptions,
): Promise<Record<string, unknown>> {
  const wrapped = CREDENTIAL_FIELDS.filter((field) => isKmsWrapped(document[field]));
  const plain = await Promise.all(
    // At most CREDENTIAL_FIELDS.length calls, made together.
    wrapped.map((field) => decryptField(field, document[field] as string, options)),
  );
  const out = { ...document };
  wrapped.forEach((field, i) => {
    out[field] = plain[i];
  });
  return out;
}

async function decryptField(field: string, value: string, options: UnwrapOptions): Promise<string> {
  const { kms, instance, secretId } = options;
  const payload = value.slice(KMS_PREFIX.length).trim();
  const blob = decodeBase64(payload);
  if (blob === undefined || blob.length > MAX_CIPHERTEXT_BYTES) {
    throw new SecretError(
      `Field ${field} of the secret ${secretId} starts with "${KMS_PREFIX}" but what follows is not a base64 KMS ciphertext.`,
      `Store the KMS CiphertextBlob in base64 after "${KMS_PREFIX}", or the plain value without the prefix; \`npx mimecast-collector configure\` writes it correctly.`,
    );
  }
  let plaintext: Uint8Array | undefined;
  try {
    const answer = await kms.send(
      new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: encryptionContextFor(instance) }),
      { abortSignal: AbortSignal.timeout(options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS) },
    );
    plaintext = answer.Plaintext;
  } catch (error) {
    throw kmsDecryptError(error, field, secretId, instance);
  }
  if (plaintext === undefined) {
    throw new SecretError(
      `KMS returned no plaintext for field ${field} of the secret ${secretId}.`,
      'Try again; if it persists, write the credentials again with configure.',
      { retryable: true, endpoint: 'kms:Decrypt' },
    );
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(plaintext);
  } catch {
    throw new SecretError(
      `Field ${field} of the secret ${secretId} decrypted to bytes that are not UTF-8 text.`,
      'Encrypt the credential text itself (UTF-8), or let `npx mimecast-collector configure` do it.',
    );
  }
}

export interface WrapOptions {
  kms: KMSClient;
  /** KMS key id, key ARN, alias name or alias ARN. */
  keyId: string;
  instance: string;
  callTimeoutMs?: number;
}

/**
 * For the configure command: validates the credentials, then KMS-encrypts every credential field
 * under the instance's encryption context. `apiVersion` stays a plain number. The result is the
 * document to store with writeSecret().
 */
export async function wrapSecretFields(
  credentials: CollectorCredentials,
  options: WrapOptions,
): Promise<Record<string, string | number>> {
  const document = toSecretDocument(credentials);
  const check = validateCredentialsDocument(document);
  if (!check.ok)
    throw new ConfigError(
      'credentials',
      check.problems,
      'Correct the listed credential fields and run configure again.',
    );
  // Validation trims; wrap the values the collector will actually use.
  const clean = toSecretDocument(check.value);
  const fields = Object.keys(clean).filter((k) => typeof clean[k] === 'string');
  const ciphertexts = await Promise.all(
    fields.map((field) => encryptField(field, clean[field] as string, options)),
  );
  const out: SecretDocument = { ...clean };
  fields.forEach((field, i) => {
    out[field] = `${KMS_PREFIX}${ciphertexts[i]}`;
  });
  return out;
}

async function encryptField(field: string, value: string, options: WrapOptions): Promise<string> {
  try {
    const answer = await options.kms.send(
      new EncryptCommand({
        KeyId: options.keyId,
        Plaintext: Buffer.from(value, 'utf8'),
        EncryptionContext: encryptionContextFor(options.instance),
      }),
      { abortSignal: AbortSignal.timeout(options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS) },
    );
    if (answer.CiphertextBlob === undefined) throw new Error('KMS Encrypt returned no CiphertextBlob');
    return Buffer.from(answer.CiphertextBlob).toString('base64');
  } catch (error) {
    throw kmsEncryptError(error, field, options.keyId);
  }
}

function decodeBase64(text: string): Buffer | undefined {
  if (text.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  return Buffer.from(text, 'base64');
}
