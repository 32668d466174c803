/**
 * Credentials for local runs come from environment variables (docs/ARCHITECTURE.md, "Configuration"), never
 * from flags: a flag's value ends up in shell history and process listings.
 */

import { ConfigError, type ConfigProblem } from '../../lambda/errors';
import type { CollectorCredentials } from '../../lambda/secrets/credentials';
import {
  AZURE_FIELDS,
  type CredentialField,
  validateCredentialsDocument,
} from '../../lambda/secrets/document';
import type { CliIO } from './io';

export const CREDENTIAL_ENV: Record<CredentialField, string> = {
  appId: 'MIMECAST_APP_ID',
  appKey: 'MIMECAST_APP_KEY',
  accessKey: 'MIMECAST_ACCESS_KEY',
  secretKey: 'MIMECAST_SECRET_KEY',
  clientId: 'MIMECAST_CLIENT_ID',
  clientSecret: 'MIMECAST_CLIENT_SECRET',
  sinkToken: 'SINK_TOKEN',
  azureTenantId: 'AZURE_TENANT_ID',
  azureClientId: 'AZURE_CLIENT_ID',
  azureClientSecret: 'AZURE_CLIENT_SECRET',
};

const V1_FIELDS: CredentialField[] = ['appId', 'appKey', 'accessKey', 'secretKey'];
const V2_FIELDS: CredentialField[] = ['clientId', 'clientSecret'];

/** API 2.0 when any of its variables is set, else API 1.0 when any of its variables is set. */
export function apiVersionFromEnv(env: Record<string, string | undefined>): 1 | 2 | undefined {
  if (V2_FIELDS.some((f) => env[CREDENTIAL_ENV[f]])) return 2;
  if (V1_FIELDS.some((f) => env[CREDENTIAL_ENV[f]])) return 1;
  return undefined;
}

export function credentialsFromEnv(env: Record<string, string | undefined>): CollectorCredentials {
  const apiVersion = apiVersionFromEnv(env);
  if (apiVersion === undefined) {
    throw new ConfigError('credentials', [
      {
        field: 'environment',
        problem: `no Mimecast credentials: set ${V2_FIELDS.map((f) => CREDENTIAL_ENV[f]).join(' and ')} (API 2.0), or ${V1_FIELDS.map((f) => CREDENTIAL_ENV[f]).join(', ')} (API 1.0)`,
      },
    ]);
  }
  const fields = [...(apiVersion === 2 ? V2_FIELDS : V1_FIELDS), 'sinkToken' as const, ...AZURE_FIELDS];
  const document: Record<string, unknown> = { apiVersion };
  for (const field of fields) {
    const value = env[CREDENTIAL_ENV[field]];
    if (value !== undefined && value !== '') document[field] = value;
  }
  return checkedCredentials(document);
}

/** Validates a credentials document; problems name the environment variable each field comes from. */
export function checkedCredentials(document: Record<string, unknown>, remedy?: string): CollectorCredentials {
  const checked = validateCredentialsDocument(document);
  if (!checked.ok) {
    throw new ConfigError(
      'credentials',
      checked.problems.map((p) => ({
        field: CREDENTIAL_ENV[p.field as CredentialField] ?? p.field,
        problem: p.problem,
      })),
      remedy,
    );
  }
  return checked.value;
}

/** Where configure took a value from: its environment variable, or the hidden prompt. */
export type ValueSource = 'environment' | 'prompt';

/**
 * One secret value: envName's value when set (and not blank), else the answer to a hidden prompt asking
 * `question` (returned as typed, possibly empty). With no terminal to ask on, the problem to report
 * instead, naming the variable, never a value.
 */
export async function valueFromEnvOrPrompt(
  io: CliIO,
  envName: string,
  question: string,
): Promise<{ ok: true; value: string; from: ValueSource } | { ok: false; problem: ConfigProblem }> {
  const fromEnv = io.env[envName];
  if (fromEnv !== undefined && fromEnv.trim() !== '')
    return { ok: true, value: fromEnv, from: 'environment' };
  const answer = await io.promptHidden?.(question);
  if (answer === undefined) {
    return {
      ok: false,
      problem: {
        field: envName,
        problem: 'is not set, and there is no terminal to ask on; export it before running configure',
      },
    };
  }
  return { ok: true, value: answer, from: 'prompt' };
}
