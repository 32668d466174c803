/**
 * configure's Event Push token: with --push-token-secret-id, the token (from PUSH_TOKEN, else a hidden
 * prompt) goes as it is into its own secret, alongside the credentials or, with --push-token-only, alone.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError, type ConfigProblem } from '../../lambda/errors';
import { writeSecretString } from '../../lambda/secrets/provider';
import {
  PUSH_TOKEN_ENV,
  PUSH_TOKEN_MAX_LENGTH,
  PUSH_TOKEN_MIN_LENGTH,
  validatePushToken,
  validateSecretId,
} from '../../lambda/settings';
import { SecretRedactor } from '../../lambda/telemetry/redact';
import { type ValueSource, valueFromEnvOrPrompt } from './credentials';
import type { SplitFlags } from './flags';
import { type CliIO, EXIT_OK, redactingIO, reportError } from './io';
import { awsClientConfig, resolveRegion } from './secret-commands';

/** Where the Event Push token goes (stack output PushTokenSecretArn), and the region to reach it. */
export interface PushTokenInputs {
  secretId: string;
  region: string;
}

/** The Event Push token, checked, and where it came from. */
export interface PushToken {
  token: string;
  from: ValueSource;
}

/**
 * --push-token-secret-id, checked; undefined when not given. --push-token-only without it is a problem:
 * there would be nothing to do.
 */
export function parsePushTokenSecretId(
  flags: SplitFlags['text'],
  only: boolean,
  problems: ConfigProblem[],
): string | undefined {
  const text = flags['push-token-secret-id'];
  if (text === undefined) {
    if (only) {
      problems.push({
        field: '--push-token-only',
        problem: "needs --push-token-secret-id (the stack's PushTokenSecretArn output)",
      });
    }
    return undefined;
  }
  const secret = validateSecretId(text);
  if (!secret.ok) {
    problems.push({ field: '--push-token-secret-id', problem: secret.problem });
    return undefined;
  }
  return secret.value;
}

/** --push-token-only: only the push token's flags; any credentials flag is a mistake worth saying. */
export function parsePushTokenOnly(flags: SplitFlags['text'], env: CliIO['env']): PushTokenInputs {
  const problems: ConfigProblem[] = [];
  const secretId = parsePushTokenSecretId(flags, true, problems);
  // The region comes from its ARN (or --region, or AWS_REGION), as for the credentials secret.
  const region = resolveRegion(flags.region, [flags['push-token-secret-id']], env, problems);
  for (const name of ['secret-id', 'kms-key-id', 'api-version', 'mimecast-url'] as const) {
    if (flags[name] !== undefined) {
      problems.push({
        field: `--${name}`,
        problem: 'is for the Mimecast credentials; --push-token-only stores only the Event Push token',
      });
    }
  }
  if (problems.length > 0 || secretId === undefined || region === undefined) {
    throw new ConfigError(
      'command line',
      problems,
      'Fix the listed flags; see `mimecast-collector configure --help`.',
    );
  }
  return { secretId, region };
}

/**
 * The Event Push token from PUSH_TOKEN, else a hidden prompt; checked as the push function checks it.
 * Problems name the variable, never the value.
 */
export async function gatherPushToken(io: CliIO): Promise<PushToken> {
  const given = await valueFromEnvOrPrompt(
    io,
    PUSH_TOKEN_ENV,
    `Event Push token (${PUSH_TOKEN_ENV}; the same one goes into Mimecast's Event Push integration, e.g. from openssl rand -hex 24): `,
  );
  if (!given.ok) {
    throw new ConfigError(
      'Event Push token',
      [given.problem],
      `Set ${PUSH_TOKEN_ENV} (e.g. export ${PUSH_TOKEN_ENV}="$(openssl rand -hex 24)") and run configure again.`,
    );
  }
  const checked = validatePushToken(given.value);
  if (!checked.ok) {
    throw new ConfigError(
      'Event Push token',
      [{ field: PUSH_TOKEN_ENV, problem: checked.problem }],
      `Set ${PUSH_TOKEN_ENV} to a token of ${PUSH_TOKEN_MIN_LENGTH} to ${PUSH_TOKEN_MAX_LENGTH} characters without spaces and run configure again.`,
    );
  }
  return { token: checked.value, from: given.from };
}

/** Stores the token as the push token secret's value and says what to do with it, never showing it. */
export async function storePushToken(
  io: CliIO,
  sm: SecretsManagerClient,
  secretId: string,
  pushToken: PushToken,
): Promise<void> {
  const written = await writeSecretString(sm, secretId, pushToken.token);
  io.out(
    `Stored the Event Push token in ${written.arn}${written.versionId ? ` (version ${written.versionId})` : ''} (from the ${pushToken.from}).`,
  );
  io.out(
    "Paste the same token into Mimecast's Event Push integration (HEC or NDJSON type) with the PushUrl output as the URL; the push function reads the new token within 5 minutes.",
  );
}

/** --push-token-only: the Event Push token into its secret, nothing else asked or stored. */
export async function configurePushTokenOnly(push: PushTokenInputs, io: CliIO): Promise<number> {
  const redactor = new SecretRedactor();
  const safe = redactingIO(io, redactor);
  const sm = new SecretsManagerClient(awsClientConfig(io.env, 'secretsManager', push.region));
  try {
    const pushToken = await gatherPushToken(io);
    redactor.register([pushToken.token]);
    await storePushToken(safe, sm, push.secretId, pushToken);
    return EXIT_OK;
  } catch (error) {
    return reportError(safe, error);
  } finally {
    sm.destroy();
  }
}
