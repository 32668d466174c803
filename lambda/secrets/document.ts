/**
 * The credentials secret's JSON document: its shape (zod), the placeholder the stack stores before
 * anyone ran `configure`, and the conversion to and from CollectorCredentials.
 *
 * Problems name the field and what is expected, never the value: the values are secrets.
 */
import * as z from 'zod';
import type { ConfigProblem } from '../errors';
import type { CollectorCredentials, MimecastCredentials } from './credentials';

/** Fields holding credential text; each may be stored KMS-wrapped as `kms:<base64 ciphertext>`. */
export const CREDENTIAL_FIELDS = [
  'appId',
  'appKey',
  'accessKey',
  'secretKey',
  'clientId',
  'clientSecret',
  'sinkToken',
  'azureTenantId',
  'azureClientId',
  'azureClientSecret',
] as const;
export type CredentialField = (typeof CREDENTIAL_FIELDS)[number];

const V1_FIELDS = ['appId', 'appKey', 'accessKey', 'secretKey'] as const;
const V2_FIELDS = ['clientId', 'clientSecret'] as const;
/** sentinel's Entra app: all three or none. */
export const AZURE_FIELDS = ['azureTenantId', 'azureClientId', 'azureClientSecret'] as const;

/** KMS accepts at most 4096 plaintext bytes; real Mimecast keys are about a hundred characters. */
export const MAX_FIELD_LENGTH = 4096;

/** What the stack stores in the secret at creation: recognised, so the error says to run configure. */
export const PLACEHOLDER_SECRET = { configured: false } as const;

/** The secret as written by `configure`: plain or KMS-wrapped credential fields plus `apiVersion`. */
export type SecretDocument = Record<string, string | number>;

export type Validation<T> = { ok: true; value: T } | { ok: false; problems: ConfigProblem[] };

export function isPlaceholderSecret(document: unknown): boolean {
  if (document === null || typeof document !== 'object' || Array.isArray(document)) return false;
  const configured = (document as Record<string, unknown>).configured;
  if (configured === false || configured === 'false') return true;
  // An empty object is what a half-finished manual setup leaves; it is not configured either.
  return Object.keys(document).length === 0;
}

const credentialText = z.string().trim().min(1).max(MAX_FIELD_LENGTH);

const secretKeyText = credentialText.refine(isCanonicalBase64, { message: 'base64' });

const destinationFields = {
  sinkToken: credentialText.optional(),
  azureTenantId: credentialText.optional(),
  azureClientId: credentialText.optional(),
  azureClientSecret: credentialText.optional(),
};

const v1Schema = z.object({
  appId: credentialText,
  appKey: credentialText,
  accessKey: credentialText,
  secretKey: secretKeyText,
  ...destinationFields,
});

const v2Schema = z.object({
  clientId: credentialText,
  clientSecret: credentialText,
  ...destinationFields,
});

/**
 * Validates an unwrapped secret document (no `kms:` values left). Reports every problem, each
 * naming its field; never echoes a value.
 */
export function validateCredentialsDocument(document: unknown): Validation<CollectorCredentials> {
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    return {
      ok: false,
      problems: [
        {
          field: '(secret)',
          problem: 'must be a JSON object with apiVersion and the Mimecast credential fields',
        },
      ],
    };
  }
  const doc = document as Record<string, unknown>;
  const version =
    doc.apiVersion === 1 || doc.apiVersion === '1'
      ? 1
      : doc.apiVersion === 2 || doc.apiVersion === '2'
        ? 2
        : undefined;
  if (version === undefined) {
    return {
      ok: false,
      problems: [
        {
          field: 'apiVersion',
          problem: `${doc.apiVersion === undefined ? 'is missing' : 'is not 1 or 2'}; set 1 for API 1.0 (${V1_FIELDS.join(', ')}) or 2 for API 2.0 (${V2_FIELDS.join(', ')})`,
        },
      ],
    };
  }
  const schema = version === 1 ? v1Schema : v2Schema;
  const parsed = schema.safeParse(doc);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const field = String(issue.path[0] ?? '(secret)');
      return { field, problem: describeIssue(issue, doc[field], version) };
    });
    return { ok: false, problems };
  }
  const data = parsed.data;
  const azureGiven = AZURE_FIELDS.filter((field) => data[field] !== undefined);
  if (azureGiven.length > 0 && azureGiven.length < AZURE_FIELDS.length) {
    return {
      ok: false,
      problems: AZURE_FIELDS.filter((field) => data[field] === undefined).map((field) => ({
        field,
        problem: `is missing: the Entra app of the sentinel destination needs ${AZURE_FIELDS.join(', ')} together`,
      })),
    };
  }
  const mimecast: MimecastCredentials =
    'clientId' in data
      ? { apiVersion: 2, clientId: data.clientId, clientSecret: data.clientSecret }
      : {
          apiVersion: 1,
          appId: data.appId,
          appKey: data.appKey,
          accessKey: data.accessKey,
          secretKey: data.secretKey,
        };
  const { azureTenantId, azureClientId, azureClientSecret } = data;
  return {
    ok: true,
    value: {
      mimecast,
      ...(data.sinkToken === undefined ? {} : { sinkToken: data.sinkToken }),
      ...(azureTenantId === undefined || azureClientId === undefined || azureClientSecret === undefined
        ? {}
        : { azure: { tenantId: azureTenantId, clientId: azureClientId, clientSecret: azureClientSecret } }),
    },
  };
}

/** The plain (unwrapped) secret document for some credentials. */
export function toSecretDocument(credentials: CollectorCredentials): SecretDocument {
  const { mimecast } = credentials;
  const fields: SecretDocument =
    mimecast.apiVersion === 1
      ? {
          apiVersion: 1,
          appId: mimecast.appId,
          appKey: mimecast.appKey,
          accessKey: mimecast.accessKey,
          secretKey: mimecast.secretKey,
        }
      : { apiVersion: 2, clientId: mimecast.clientId, clientSecret: mimecast.clientSecret };
  if (credentials.sinkToken !== undefined) fields.sinkToken = credentials.sinkToken;
  if (credentials.azure !== undefined) {
    fields.azureTenantId = credentials.azure.tenantId;
    fields.azureClientId = credentials.azure.clientId;
    fields.azureClientSecret = credentials.azure.clientSecret;
  }
  return fields;
}

/** Every secret value in the credentials, for the log redactor (`CollectorLog.registerSecrets`). */
export function secretValuesOf(credentials: CollectorCredentials): string[] {
  return Object.values(toSecretDocument(credentials)).filter((v): v is string => typeof v === 'string');
}

function describeIssue(issue: z.core.$ZodIssue, value: unknown, version: 1 | 2): string {
  if (value === undefined) return `is missing (required for API ${version}.0)`;
  switch (issue.code) {
    case 'invalid_type':
      return 'must be a string';
    case 'too_small':
      return 'is empty';
    case 'too_big':
      return `is longer than ${MAX_FIELD_LENGTH} characters`;
    case 'custom':
      return 'is not valid base64; Mimecast issues the secret key base64-encoded: copy it whole, without spaces or line breaks';
    default:
      return 'is malformed';
  }
}

function isCanonicalBase64(text: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0) return false;
  const bytes = Buffer.from(text, 'base64');
  return bytes.length > 0 && bytes.toString('base64') === text;
}
