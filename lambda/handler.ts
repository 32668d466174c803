/**
 * The Lambda entry point: one scheduled tick.
 *
 * Everything that can live across warm invocations is built once per container, here at module
 * scope: SDK clients, the HTTP agent, the credentials cache, the checkpoint store. Configuration is
 * parsed once; a bad configuration fails every invocation with the same clear error.
 */
import { randomUUID } from 'node:crypto';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { type LambdaConfig, parseLambdaConfig } from './config';
import { createDrainHandler, type DrainSummary } from './drain/lambda';
import { isDrainEvent } from './drain/notifications';
import { sharedAgent } from './http/agent';
import { createCredentialsProvider } from './secrets/provider';
import { createDynamoDbCheckpointStore } from './state/dynamodb-store';
import { DynamoPushLedger } from './state/push-ledger-store';
import { createLogger, createMetrics, createTickTelemetry } from './telemetry';
import { collectTick, operatorFailure, type TickAdapters, type TickOutcome } from './tick';

/** The EventBridge scheduled event; an optional `streams` list narrows the tick. */
export interface TickEvent {
  streams?: string[];
  [key: string]: unknown;
}

interface Container {
  config: LambdaConfig;
  build: TickAdapters;
}

let container: Container | undefined;

function containerFor(): Container {
  if (container) return container;
  const config = parseLambdaConfig(process.env);
  const log = createLogger({ instance: config.instance });
  const secretsManager = new SecretsManagerClient({});
  const kms = new KMSClient({});
  container = {
    config,
    build: {
      log,
      telemetry: createTickTelemetry({
        instance: config.instance,
        metrics: createMetrics(),
        log,
        lagAlarmSeconds: config.lagAlarmSeconds,
      }),
      credentials: createCredentialsProvider({
        secretId: config.secretArn,
        instance: config.instance,
        secretsManager,
        kms,
        log,
      }),
      // The store builds its own client with request timeouts, so a hung write cannot eat the safety margin.
      store: createDynamoDbCheckpointStore({ tableName: config.checkpointTable }),
      registerSecrets: (values) => log.registerSecrets(values),
      // The container's one keep-alive Agent, the one the command line uses too (lambda/http/agent.ts).
      dispatcher: sharedAgent(),
      // s3 destination: an S3-compatible endpoint if one is set; the region and the role's keys come from Lambda.
      s3: { ...(process.env.AWS_ENDPOINT_URL_S3 ? { endpoint: process.env.AWS_ENDPOINT_URL_S3 } : {}) },
      // The ids Event Push delivered, in the checkpoint table (docs/PUSH-GAP-FILL.md); read by push-primary streams.
      pushLedger: new DynamoPushLedger({ tableName: config.checkpointTable, instance: config.instance }),
    },
  };
  return container;
}

/** S3 notifications of Event Push objects (lambda/drain): the same container's settings and secret. */
const drain = createDrainHandler(() => {
  const { config, build } = containerFor();
  return { config, ...build };
});

export async function handler(
  event: TickEvent,
  context: Pick<Context, 'getRemainingTimeInMillis' | 'awsRequestId'>,
): Promise<TickOutcome | DrainSummary> {
  if (isDrainEvent(event)) return drain(event, context);
  const { config, build } = containerFor();
  const deadline = Date.now() + context.getRemainingTimeInMillis();
  const { result, outcome } = await collectTick({
    config,
    adapters: build,
    requestedStreams: event?.streams,
    owner: context.awsRequestId ?? randomUUID(),
    deadline,
  });
  const failure = operatorFailure(result);
  if (failure) throw failure;
  return outcome;
}
