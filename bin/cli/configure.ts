/**
 * `mimecast-collector configure`: stores the Mimecast credentials (and an optional sink token) in the
 * stack's secret, each field KMS-encrypted under the encryption context {"collector": <instance>}; with
 * --push-token-secret-id, the Event Push token in its own secret too (or only that, --push-token-only).
 *
 * Values come from environment variables or hidden prompts, never from flags: a flag's value ends up
 * in shell history and process listings. Nothing is stored until Mimecast has accepted the keys.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { isStreamId, STREAM_IDS, type StreamId } from '../../lambda/core/streams';
import {
  AuthenticationError,
  CollectorError,
  ConfigError,
  type ConfigProblem,
  PermissionError,
  SecretError,
  ThrottledError,
  TransientError,
} from '../../lambda/errors';
import { createAgent } from '../../lambda/http/agent';
import { createMimecastClient } from '../../lambda/mimecast';
import type { CollectorCredentials } from '../../lambda/secrets/credentials';
import { AZURE_FIELDS, type CredentialField } from '../../lambda/secrets/document';
import { encryptionContextFor, wrapSecretFields } from '../../lambda/secrets/kms-fields';
import { readCredentials, writeSecret } from '../../lambda/secrets/provider';
import {
  type ApiVersion,
  parseApiVersion,
  validateInstanceId,
  validateSecretId,
} from '../../lambda/settings';
import { SecretRedactor } from '../../lambda/telemetry/redact';
import { CONFIGURE_COMMAND, CONFIGURE_HELP, DEFAULT_CHECK_STREAM } from './configure-flags';
import * as push from './configure-push-token';
import { apiVersionFromEnv, CREDENTIAL_ENV, checkedCredentials, valueFromEnvOrPrompt } from './credentials';
import { type SplitFlags, splitFlags } from './flags';
import { type CliIO, EXIT_FAILED, EXIT_OK, redactingIO, reportError } from './io';
import { awsClientConfig, parseSecretSafeFlags, resolveMimecastUrl, resolveRegion } from './secret-commands';

/** One probe call, retries included. */
const CHECK_BUDGET_MS = 30_000;

const FIELDS_BY_VERSION: Record<ApiVersion, CredentialField[]> = {
  1: ['appId', 'appKey', 'accessKey', 'secretKey'],
  2: ['clientId', 'clientSecret'],
};

const FIELD_LABELS: Record<CredentialField, string> = {
  appId: 'API 1.0 application id',
  appKey: 'API 1.0 application key',
  accessKey: 'API 1.0 access key',
  secretKey: 'API 1.0 secret key (base64)',
  clientId: 'API 2.0 client id',
  clientSecret: 'API 2.0 client secret',
  sinkToken: 'sink token',
  azureTenantId: 'sentinel: Entra tenant id',
  azureClientId: 'sentinel: Entra app (client) id',
  azureClientSecret: 'sentinel: Entra client secret',
};

const KMS_KEY_PATTERN =
  /^(?:arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(?:key\/[A-Za-z0-9-]+|alias\/[A-Za-z0-9/_-]+)|alias\/[A-Za-z0-9/_-]+|(?:mrk-)?[0-9a-f-]{32,40})$/;

function validateKmsKeyId(text: string | undefined, problems: ConfigProblem[]): string | undefined {
  const value = (text ?? '').trim();
  if (value === '') {
    problems.push({
      field: '--kms-key-id',
      problem: "is required: the stack's KMS key ARN (stack output KeyArn)",
    });
    return undefined;
  }
  if (!KMS_KEY_PATTERN.test(value)) {
    problems.push({
      field: '--kms-key-id',
      problem: `"${value.slice(0, 60)}" is not a KMS key ARN, key id or alias (arn:aws:kms:<region>:<account>:key/<id>, alias/<name>)`,
    });
    return undefined;
  }
  return value;
}

// ---------------------------------------------------------------------------------------------

interface Inputs {
  secretId: string;
  keyId: string;
  instance: string;
  region: string;
  apiVersion: ApiVersion;
  mimecastUrl: string;
  checkStream: StreamId;
  /** --push-token-secret-id: also store the Event Push token there. */
  pushTokenSecretId?: string;
}

function parseInputs(flags: SplitFlags['text'], env: CliIO['env']): Inputs {
  const problems: ConfigProblem[] = [];
  const secret = validateSecretId(flags['secret-id']);
  if (!secret.ok) problems.push({ field: '--secret-id', problem: secret.problem });
  const keyId = validateKmsKeyId(flags['kms-key-id'], problems);
  const instance = validateInstanceId(flags.instance);
  if (!instance.ok) problems.push({ field: '--instance', problem: instance.problem });
  // The push token secret is the same stack's: one region for all three ARNs.
  const region = resolveRegion(
    flags.region,
    [flags['secret-id'], flags['kms-key-id'], flags['push-token-secret-id']],
    env,
    problems,
  );
  let apiVersion: ApiVersion | undefined = apiVersionFromEnv(env) ?? 2;
  if (flags['api-version'] !== undefined) {
    const parsed = parseApiVersion(flags['api-version']);
    apiVersion = parsed.ok ? parsed.value : undefined;
    if (!parsed.ok) problems.push({ field: '--api-version', problem: parsed.problem });
  }
  const mimecastUrl = resolveMimecastUrl(flags['mimecast-url'], apiVersion, problems);
  const checkStream = flags['check-stream'] ?? DEFAULT_CHECK_STREAM;
  if (!isStreamId(checkStream)) {
    problems.push({ field: '--check-stream', problem: `must be one of ${STREAM_IDS.join(', ')}` });
  }
  const pushTokenSecretId = push.parsePushTokenSecretId(flags, false, problems);
  if (
    problems.length > 0 ||
    !secret.ok ||
    !instance.ok ||
    keyId === undefined ||
    region === undefined ||
    apiVersion === undefined ||
    mimecastUrl === undefined ||
    !isStreamId(checkStream)
  ) {
    throw new ConfigError(
      'command line',
      problems,
      'Fix the listed flags; see `mimecast-collector configure --help`.',
    );
  }
  return {
    secretId: secret.value,
    keyId,
    instance: instance.value,
    region,
    apiVersion,
    mimecastUrl,
    checkStream,
    ...(pushTokenSecretId === undefined ? {} : { pushTokenSecretId }),
  };
}

/** Each field from its environment variable, else a hidden prompt. Problems name the variable, never a value. */
async function gatherCredentials(
  io: CliIO,
  apiVersion: ApiVersion,
  askSinkToken: boolean,
): Promise<{ credentials: CollectorCredentials; sources: Map<CredentialField, 'environment' | 'prompt'> }> {
  const document: Record<string, unknown> = { apiVersion };
  const sources = new Map<CredentialField, 'environment' | 'prompt'>();
  const missing: ConfigProblem[] = [];
  const fields = [...FIELDS_BY_VERSION[apiVersion], ...(askSinkToken ? (['sinkToken'] as const) : [])];
  for (const field of fields) {
    const name = CREDENTIAL_ENV[field];
    const optional = field === 'sinkToken';
    const given = await valueFromEnvOrPrompt(
      io,
      name,
      optional
        ? `Sink token for the receiver (${name}; Enter to keep the secret's current one, if any): `
        : `Mimecast ${FIELD_LABELS[field]} (${name}): `,
    );
    if (given.ok && given.value.trim() !== '') {
      document[field] = given.value;
      sources.set(field, given.from);
    } else if (!optional) {
      missing.push(given.ok ? { field: name, problem: 'was left empty' } : given.problem);
    }
  }
  // sentinel's Entra app: from AZURE_* only (no prompt: most receivers need none); all three or none.
  for (const field of AZURE_FIELDS) {
    const fromEnv = io.env[CREDENTIAL_ENV[field]];
    if (fromEnv !== undefined && fromEnv.trim() !== '') {
      document[field] = fromEnv;
      sources.set(field, 'environment');
    }
  }
  if (missing.length > 0) {
    throw new ConfigError(
      'credentials',
      missing,
      `Set the listed environment variables (or run configure in a terminal and answer the prompts); API ${apiVersion}.0 needs ${FIELDS_BY_VERSION[apiVersion].map((f) => CREDENTIAL_ENV[f]).join(', ')}.`,
    );
  }
  const credentials = checkedCredentials(
    document,
    'Correct the listed values (copy each one whole from the Mimecast admin console) and run configure again.',
  );
  return { credentials, sources };
}

type CheckResult =
  | { ok: true; note?: string }
  | { ok: false; error: CollectorError | Error; rejected: boolean };

/** One probe of one stream: proves the keys authenticate. A permission refusal proves it too. */
async function checkWithMimecast(
  inputs: Inputs,
  credentials: CollectorCredentials,
  signal?: AbortSignal,
): Promise<CheckResult> {
  const dispatcher = createAgent();
  try {
    const client = createMimecastClient({
      baseUrl: inputs.mimecastUrl,
      credentials: credentials.mimecast,
      dispatcher,
      retry: { maxAttempts: 2 },
    });
    const deadline = Date.now() + CHECK_BUDGET_MS;
    const timeout = AbortSignal.timeout(CHECK_BUDGET_MS);
    await client
      .source(inputs.checkStream)
      .probe({ signal: signal ? AbortSignal.any([signal, timeout]) : timeout, deadline });
    return { ok: true };
  } catch (error) {
    if (error instanceof PermissionError) {
      return {
        ok: true,
        note: `they may not read stream ${inputs.checkStream}${error.requiredPermission ? ` (needs "${error.requiredPermission}")` : ''}, but a permission refusal proves they authenticate. Grant it before collecting that stream (\`verify\` lists every stream).`,
      };
    }
    return { ok: false, error: error as Error, rejected: error instanceof AuthenticationError };
  } finally {
    await dispatcher.close();
  }
}

/** What to do when the check failed, said for someone running configure (not for the next tick). */
function checkRemedy(error: Error, inputs: Inputs): string {
  if (error instanceof AuthenticationError) {
    if (inputs.apiVersion === 2) {
      return 'Check the client id and client secret (Mimecast admin console, Services > API and Platform Integrations; a secret is shown once), set them again and run configure again.';
    }
    return error.status === 418 || error.codes.some((code) => /binding_expired/.test(code))
      ? 'The access key binding expired: create new access and secret keys for the service user (Authentication Cache TTL "Never expire"), set them again and run configure again.'
      : "Check the application id and key and the access and secret keys (and this machine's clock), set them again and run configure again.";
  }
  const network =
    error instanceof TransientError || error instanceof ThrottledError
      ? `Check --mimecast-url (${inputs.mimecastUrl}) and this machine's network access to it, then run configure again.`
      : error instanceof CollectorError
        ? error.remedy
        : 'Run configure again; if it persists, report it.';
  return `${network} --skip-check stores without the check; then run verify from where Mimecast is reachable.`;
}

/** The sink token and Entra app already in the secret, to keep them when configure runs again for new Mimecast keys. */
async function currentSinkToken(
  sm: SecretsManagerClient,
  kms: KMSClient,
  inputs: Inputs,
): Promise<{ token?: string; azure?: CollectorCredentials['azure']; problem?: string }> {
  try {
    const current = await readCredentials({
      secretsManager: sm,
      kms,
      secretId: inputs.secretId,
      instance: inputs.instance,
    });
    return { token: current.sinkToken, azure: current.azure };
  } catch (error) {
    // The stack's placeholder (first configure) holds nothing to keep: not worth a note.
    if (error instanceof SecretError && /placeholder/.test(error.message)) return {};
    return { problem: error instanceof Error ? error.message : String(error) };
  }
}

export async function configureCommand(argv: string[], io: CliIO): Promise<number> {
  let switches: SplitFlags['on'];
  let inputs: Inputs;
  try {
    const parsed = parseSecretSafeFlags(argv, CONFIGURE_COMMAND);
    if (parsed.help) {
      io.out(CONFIGURE_HELP);
      return EXIT_OK;
    }
    const { text, on } = splitFlags(parsed.values);
    if (on('push-token-only'))
      return await push.configurePushTokenOnly(push.parsePushTokenOnly(text, io.env), io);
    switches = on;
    inputs = parseInputs(text, io.env);
  } catch (error) {
    return reportError(io, error);
  }

  // Defence in depth: should any message ever quote a value, it is masked before it is printed.
  const redactor = new SecretRedactor();
  const safe = redactingIO(io, redactor);
  const sm = new SecretsManagerClient(awsClientConfig(io.env, 'secretsManager', inputs.region));
  const kms = new KMSClient(awsClientConfig(io.env, 'kms', inputs.region));
  try {
    const { credentials, sources } = await gatherCredentials(
      io,
      inputs.apiVersion,
      !switches('no-sink-token'),
    );
    redactor.register(
      [...Object.values(credentials.mimecast), credentials.sinkToken, credentials.azure?.clientSecret].filter(
        (v): v is string => typeof v === 'string',
      ),
    );
    // Asked before anything is stored, so a missing or malformed token stores nothing at all.
    const pushToken = inputs.pushTokenSecretId === undefined ? undefined : await push.gatherPushToken(io);
    if (pushToken !== undefined) redactor.register([pushToken.token]);

    if (switches('skip-check')) {
      safe.out('Not checking the credentials with Mimecast (--skip-check).');
    } else {
      safe.out(
        `Checking the credentials with Mimecast (API ${inputs.apiVersion}.0, ${inputs.mimecastUrl}, one call to stream ${inputs.checkStream})...`,
      );
      const check = await checkWithMimecast(inputs, credentials, io.signal);
      if (!check.ok) {
        const error = check.error;
        safe.err(
          check.rejected
            ? 'Mimecast refused these credentials; nothing was stored.'
            : 'Could not check the credentials with Mimecast; nothing was stored.',
        );
        safe.err(`error: ${error.message}`);
        safe.err(`what to do: ${checkRemedy(error, inputs)}`);
        return EXIT_FAILED;
      }
      safe.out(`Mimecast accepted the credentials${check.note ? `; ${check.note}` : '.'}`);
    }

    const keptFields = new Set<CredentialField>();
    let toStore = credentials;
    let sinkNote = switches('no-sink-token') ? 'none (--no-sink-token)' : undefined;
    const keepSinkToken = credentials.sinkToken === undefined && !switches('no-sink-token');
    const current =
      keepSinkToken || credentials.azure === undefined ? await currentSinkToken(sm, kms, inputs) : {};
    if (credentials.azure === undefined && current.azure !== undefined) {
      toStore = { ...toStore, azure: current.azure };
      redactor.register([current.azure.clientSecret]);
      for (const field of AZURE_FIELDS) keptFields.add(field);
    }
    if (keepSinkToken) {
      if (current.token !== undefined) {
        toStore = { ...toStore, sinkToken: current.token };
        redactor.register([current.token]);
      } else {
        sinkNote = `none (${CREDENTIAL_ENV.sinkToken} not set, and the secret held none to keep)`;
        if (current.problem !== undefined) {
          safe.err(
            `note: the current secret could not be read to keep its sink token (${current.problem}); set ${CREDENTIAL_ENV.sinkToken} and run configure again if the receiver needs one.`,
          );
        }
      }
    }

    if (current.token !== undefined && toStore.sinkToken === current.token) keptFields.add('sinkToken');
    const document = await wrapSecretFields(toStore, { kms, keyId: inputs.keyId, instance: inputs.instance });
    const written = await writeSecret(sm, inputs.secretId, document);

    safe.out(`Stored in ${written.arn}${written.versionId ? ` (version ${written.versionId})` : ''}:`);
    safe.out(`  apiVersion   ${inputs.apiVersion}`);
    for (const field of Object.keys(document).filter((f) => f !== 'apiVersion')) {
      const from = sources.get(field as CredentialField);
      safe.out(
        `  ${field.padEnd(12)} KMS-encrypted${from ? ` (from the ${from})` : keptFields.has(field as CredentialField) ? ' (kept from the current secret)' : ''}`,
      );
    }
    if (!('sinkToken' in document)) safe.out(`  sinkToken    ${sinkNote ?? 'none'}`);
    safe.out(
      `Each field is encrypted with KMS key ${inputs.keyId} under encryption context ${JSON.stringify(encryptionContextFor(inputs.instance))}.`,
    );
    safe.out(
      'The function reads the new values within 5 minutes, or at once after an authentication failure.',
    );
    if (pushToken !== undefined && inputs.pushTokenSecretId !== undefined) {
      await push.storePushToken(safe, sm, inputs.pushTokenSecretId, pushToken);
    }
    safe.out('');
    safe.out('Next, check every stream and the receiver with the stored credentials:');
    safe.out(
      `  npx mimecast-collector verify --secret-id ${inputs.secretId} --instance ${inputs.instance} --region ${inputs.region} --mimecast-url ${inputs.mimecastUrl} --sink-url <your ingestion URL> --sink-format <ndjson|splunk-hec|elastic-bulk|sumo|datadog|sentinel>`,
    );
    return EXIT_OK;
  } catch (error) {
    return reportError(safe, error);
  } finally {
    sm.destroy();
    kms.destroy();
  }
}
