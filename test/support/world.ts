/**
 * Every real part the function talks to, on loopback: the Mimecast simulator, a receiver, the
 * Secrets Manager/KMS stub and dynalite — and the environment variables that point the function at
 * them, as the stack would set them with only the endpoints overridden.
 */

import { formatLagAlarmSeconds } from '../../lambda/config';
import type { StreamId } from '../../lambda/core/streams';
import { ENV } from '../../lambda/env-names';
import { type LocalCheckpointStore, openLocalCheckpointStore } from '../../lambda/state/local-store';
import { LAG_ALARM_THRESHOLDS, lagAlarmSeconds } from '../../lib/defaults';
import { type AwsStub, startAwsStub } from '../aws-stub';
import { type Receiver, type ReceiverOptions, startReceiver } from '../receivers';
import { type RunningSimulator, type SimulatorOptions, startSimulator } from '../simulator';

export const WORLD_SECRET_NAME = 'mimecast-collector/test';
export const WORLD_INSTANCE = 'test';

export interface World {
  simulator: RunningSimulator;
  receiver: Receiver;
  aws: AwsStub;
  dynamo: LocalCheckpointStore;
  apiVersion: 1 | 2;
  /** The function's environment: the stack's variables plus loopback endpoints and dummy AWS credentials. */
  env(overrides?: Record<string, string>): Record<string, string>;
  /** Stores the simulator's credentials in the secret, with every field KMS-wrapped when `wrap` is set. */
  storeCredentials(options?: {
    wrap?: boolean;
    mutate?: (doc: Record<string, string | number>) => void;
  }): Promise<void>;
  stop(): Promise<void>;
}

export async function startWorld(options: {
  apiVersion?: 1 | 2;
  streams: StreamId[];
  simulator?: SimulatorOptions;
  /** The receiver's kind and token (default ndjson, no token). */
  receiver?: ReceiverOptions;
  /** AWS keys the function signs with, when another loopback AWS part (the S3 server) needs its own. */
  awsCredentials?: { accessKeyId: string; secretAccessKey: string };
}): Promise<World> {
  const apiVersion = options.apiVersion ?? 2;
  const simulator = await startSimulator(options.simulator ?? {});
  const receiver = await startReceiver(options.receiver ?? { kind: 'ndjson' });
  const aws = await startAwsStub({
    secrets: { [WORLD_SECRET_NAME]: '{"configured":false}' },
    ...(options.awsCredentials === undefined ? {} : { credentials: options.awsCredentials }),
  });
  const dynamo = await openLocalCheckpointStore({});

  const storeCredentials: World['storeCredentials'] = async ({ wrap = false, mutate } = {}) => {
    const creds = apiVersion === 2 ? simulator.credentials.v2 : simulator.credentials.v1;
    const doc: Record<string, string | number> = {};
    for (const [key, value] of Object.entries(creds)) {
      doc[key] =
        key === 'apiVersion' || !wrap
          ? value
          : `kms:${aws.encrypt(String(value), { collector: WORLD_INSTANCE })}`;
    }
    mutate?.(doc);
    aws.putSecret(WORLD_SECRET_NAME, JSON.stringify(doc));
  };

  return {
    simulator,
    receiver,
    aws,
    dynamo,
    apiVersion,
    storeCredentials,
    env: (overrides = {}) => ({
      [ENV.instance]: WORLD_INSTANCE,
      [ENV.apiVersion]: String(apiVersion),
      [ENV.mimecastBaseUrl]: simulator.url,
      [ENV.streams]: options.streams.join(','),
      // Before the simulator's default data range (the 24 h ending 10 minutes ago).
      [ENV.collectionStart]: `${new Date(Date.now() - 26 * 3600_000).toISOString().slice(0, 19)}Z`,
      [ENV.sinkUrl]: receiver.url,
      [ENV.sinkFormat]: options.receiver?.kind ?? 'ndjson',
      [ENV.secretArn]: aws.secretArn(WORLD_SECRET_NAME),
      [ENV.checkpointTable]: dynamo.tableName,
      // The stack's default thresholds, as the stack writes them.
      [ENV.lagAlarmSeconds]: formatLagAlarmSeconds(lagAlarmSeconds(LAG_ALARM_THRESHOLDS)),
      AWS_REGION: aws.region,
      AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.endpoint,
      AWS_ENDPOINT_URL_KMS: aws.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      POWERTOOLS_SERVICE_NAME: 'mimecast-collector',
      POWERTOOLS_METRICS_NAMESPACE: 'MimecastCollector',
      ...overrides,
    }),
    stop: async () => {
      await Promise.allSettled([simulator.stop(), receiver.stop(), aws.stop(), dynamo.close()]);
    },
  };
}
