/**
 * The Event Push receiver's Lambda entry (its own function behind a Function URL, docs/PUSH.md): a
 * Function URL request (payload format 2.0) in, `receivePush` (lambda/push/receiver.ts) — the code
 * `receive` runs on the command line — and its HEC answer out. The function reads the collector's
 * settings and secret like the scheduled one (the destination and its token) and the push token from
 * a secret of its own. Built once per container; the secrets are read again after a while, so a
 * rotated token takes effect without a deploy.
 */
import { randomUUID } from 'node:crypto';
import { KMSClient } from '@aws-sdk/client-kms';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { parseLambdaConfig } from './config';
import type { Sink } from './core/ports';
import { ConfigError, SecretError } from './errors';
import { sharedAgent } from './http/agent';
import { PUSH_LIMITS, type PushAnswer, receivePush } from './push';
import { isPlaceholderSecret } from './secrets/document';
import { createCredentialsProvider } from './secrets/provider';
import {
  PUSH_TOKEN_MAX_LENGTH,
  PUSH_TOKEN_MIN_LENGTH,
  PUSH_TOKEN_SECRET_ENV,
  validatePushToken,
} from './settings';
import { createDestination } from './sinks/create';
import { DynamoPushLedger } from './state/push-ledger-store';
import { createLogger, createMetrics, publishPushOutcome } from './telemetry';

/** A Lambda Function URL request, payload format 2.0 (the fields the receiver reads). */
export interface FunctionUrlRequest {
  version?: string;
  rawPath?: string;
  headers?: Record<string, string | undefined>;
  body?: string;
  isBase64Encoded?: boolean;
  requestContext?: { http?: { method?: string; path?: string }; requestId?: string };
}

export interface FunctionUrlResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** How long the push token is kept before it is read again (a rotation takes effect within this). */
const PUSH_TOKEN_TTL_MS = 5 * 60 * 1000;
/** Left of the invocation for answering after forwarding gave up. */
const ANSWER_MARGIN_MS = 2_000;

interface Container {
  handle(
    request: FunctionUrlRequest,
    context: Pick<Context, 'getRemainingTimeInMillis'>,
  ): Promise<PushAnswer>;
}

let container: Container | undefined;

function containerFor(): Container {
  if (container) return container;
  const config = parseLambdaConfig(process.env);
  const tokenSecret = process.env[PUSH_TOKEN_SECRET_ENV];
  if (tokenSecret === undefined || tokenSecret === '') {
    throw new ConfigError('function configuration (environment variables)', [
      {
        field: PUSH_TOKEN_SECRET_ENV,
        problem: 'is not set: the stack sets it when PushReceiver is Enabled',
      },
    ]);
  }
  const log = createLogger({ instance: config.instance });
  const secretsManager = new SecretsManagerClient({});
  const credentials = createCredentialsProvider({
    secretId: config.secretArn,
    instance: config.instance,
    secretsManager,
    kms: new KMSClient({}),
    log,
  });
  let token: { value: string; readAt: number } | undefined;
  const pushToken = async (): Promise<string> => {
    if (token !== undefined && Date.now() - token.readAt < PUSH_TOKEN_TTL_MS) return token.value;
    let text: string | undefined;
    try {
      text = (await secretsManager.send(new GetSecretValueCommand({ SecretId: tokenSecret }))).SecretString;
    } catch (err) {
      throw new SecretError(
        'The Event Push token secret could not be read.',
        'Check that the push function may read its token secret (the stack grants it); it is tried again on the next push.',
        { cause: err, retryable: true },
      );
    }
    if (text !== undefined && isPlaceholderText(text)) {
      throw new SecretError(
        'No Event Push token is stored yet (the push token secret holds the placeholder the stack wrote).',
        'Store a token: export PUSH_TOKEN="$(openssl rand -hex 24)", then npx mimecast-collector configure --push-token-only --push-token-secret-id <PushTokenSecretArn output>, and paste the same $PUSH_TOKEN into Mimecast\'s Event Push integration.',
      );
    }
    const checked = validatePushToken(text);
    if (!checked.ok) {
      throw new SecretError(
        `The Event Push token secret ${checked.problem}.`,
        `Store a token of ${PUSH_TOKEN_MIN_LENGTH} to ${PUSH_TOKEN_MAX_LENGTH} characters without spaces: npx mimecast-collector configure --push-token-only --push-token-secret-id <PushTokenSecretArn output> (the token from PUSH_TOKEN).`,
      );
    }
    log.registerSecrets([checked.value]);
    token = { value: checked.value, readAt: Date.now() };
    return checked.value;
  };
  // Push-primary streams: the keys of delivered events go to the ledger the pull reads (docs/PUSH-GAP-FILL.md).
  const ledger =
    config.pushPrimaryStreams.length === 0
      ? undefined
      : new DynamoPushLedger({ tableName: config.checkpointTable, instance: config.instance });
  // The push path's metrics (events per stream, refusals, destination failures), as EMF lines on stdout.
  const metrics = createMetrics();
  // The destination is built again only when the sink token in the secret changed.
  let destination: { sinkToken: string | undefined; sink: Sink } | undefined;
  container = {
    handle: async (request, context) => {
      const [value, creds] = await Promise.all([pushToken(), credentials.get()]);
      if (destination === undefined || destination.sinkToken !== creds.sinkToken) {
        if (creds.sinkToken !== undefined) log.registerSecrets([creds.sinkToken]);
        destination = {
          sinkToken: creds.sinkToken,
          sink: createDestination(config, {
            ...(creds.sinkToken === undefined ? {} : { token: creds.sinkToken }),
            dispatcher: sharedAgent(),
            log,
          }),
        };
      }
      const sink = destination.sink;
      return receivePush(toPushRequest(request), {
        token: value,
        destination: sink,
        instance: config.instance,
        limits: {
          ...PUSH_LIMITS,
          batchMaxEvents: config.batchMaxEvents,
          batchMaxBytes: config.batchMaxBytes,
        },
        budget: () => {
          const ms = Math.max(1, context.getRemainingTimeInMillis() - ANSWER_MARGIN_MS);
          return { signal: AbortSignal.timeout(ms), deadline: Date.now() + ms };
        },
        clock: { now: () => Date.now() },
        log: log.child({ request: request.requestContext?.requestId ?? randomUUID() }),
        ...(ledger === undefined ? {} : { ledger }),
        onOutcome: (outcome) => publishPushOutcome(metrics, config.instance, outcome, Date.now()),
      });
    },
  };
  return container;
}

function isPlaceholderText(text: string): boolean {
  try {
    return isPlaceholderSecret(JSON.parse(text));
  } catch {
    return false;
  }
}

export function toPushRequest(request: FunctionUrlRequest): {
  method: string;
  path: string;
  headers: Record<string, string | undefined>;
  body: Uint8Array;
} {
  const text = request.body ?? '';
  return {
    method: request.requestContext?.http?.method ?? 'POST',
    path: request.rawPath ?? request.requestContext?.http?.path ?? '/',
    // Function URLs deliver header names in lower case already; the receiver relies on it.
    headers: Object.fromEntries(Object.entries(request.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
    body: new Uint8Array(request.isBase64Encoded ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8')),
  };
}

export async function handler(
  request: FunctionUrlRequest,
  context: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<FunctionUrlResult> {
  let answer: PushAnswer;
  try {
    answer = await containerFor().handle(request, context);
  } catch (err) {
    // Settings or secrets unusable: "busy", so Mimecast keeps the events and pushes them again once fixed.
    const safe =
      err instanceof ConfigError || err instanceof SecretError ? err.toJSON() : { message: String(err) };
    console.error(JSON.stringify({ level: 'ERROR', message: 'Push receiver cannot run', error: safe }));
    answer = {
      status: 503,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ text: 'Server is busy', code: 9 }),
    };
  }
  return { statusCode: answer.status, headers: answer.headers, body: answer.body };
}
