/**
 * The function's side of the drain: an S3 notification (direct, through SQS or EventBridge) invokes
 * the collector's function, which drains each object it names into the configured destination.
 * Settings, credentials (for the sink token) and the HTTP agent are the container's, as for a tick;
 * the S3 and DynamoDB clients are built once per container here.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import type { Dispatcher } from 'undici';
import type { LambdaConfig } from '../config';
import { type Log, systemClock } from '../core/ports';
import type { PushLedger } from '../core/push-ledger';
import { ConfigError } from '../errors';
import { secretValuesOf } from '../secrets/document';
import { createDestination, type S3Options } from '../sinks';
import { parseS3Url } from '../sinks/s3';
import { createDrainLedger } from '../state/drain-ledger';
import { DynamoPushLedger } from '../state/push-ledger-store';
import { checkpointTableClient } from '../state/table-client';
import type { CredentialsSource } from '../tick';
import { type DrainDeps, type DrainReport, drainFailure, drainObjects } from './drain';
import { pushObjectForwarder } from './forward';
import { type ObjectRef, objectsOfEvent } from './notifications';
import { DEFAULT_MAX_OBJECT_BYTES, S3ObjectStore } from './s3-object-store';

/** Kept free at the end of the invocation: a failed object's claim release and the log lines. */
export const DRAIN_SAFETY_MS = 10_000;

/** What the drain takes from the function's container. */
export interface DrainContainer {
  config: LambdaConfig;
  log: Log;
  credentials: CredentialsSource;
  registerSecrets?: (values: string[]) => void;
  dispatcher?: Dispatcher;
  s3?: S3Options;
}

/** What the invocation returns (log-safe counts); a failed object fails the invocation instead. */
export interface DrainSummary {
  instance: string;
  objects: number;
  forwarded: number;
  alreadyDone: number;
  events: number;
}

/** An S3 client for the Event Push bucket; a custom endpoint (AWS_ENDPOINT_URL_S3) takes path-style requests. */
export function s3ClientFor(options: S3Options = {}): S3Client {
  const { client, ...config } = options;
  return (
    client ??
    new S3Client({
      ...config,
      ...(config.endpoint === undefined ? {} : { forcePathStyle: true }),
      maxAttempts: 3,
    })
  );
}

/** The drain's dependencies for one run: ledger, reader, and the push pipeline into the destination. */
export function drainDeps(parts: {
  instance: string;
  tableName: string;
  dynamo: DynamoDBClient;
  s3: S3Client;
  destination: Parameters<typeof pushObjectForwarder>[0]['destination'];
  batch: { batchMaxEvents: number; batchMaxBytes: number };
  log: Log;
  maxObjectBytes?: number;
  /** With push-primary streams: the ledger drained events are recorded in (docs/PUSH-GAP-FILL.md). */
  pushLedger?: PushLedger;
}): DrainDeps {
  const maxObjectBytes = parts.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES;
  return {
    ledger: createDrainLedger({ client: parts.dynamo, tableName: parts.tableName, instance: parts.instance }),
    objects: new S3ObjectStore(parts.s3, maxObjectBytes),
    forward: pushObjectForwarder({
      instance: parts.instance,
      destination: parts.destination,
      limits: { ...parts.batch, maxDecodedBytes: maxObjectBytes },
      clock: systemClock,
      log: parts.log,
      ...(parts.pushLedger === undefined ? {} : { pushLedger: parts.pushLedger }),
    }),
    log: parts.log,
    clock: systemClock,
  };
}

export function summarise(instance: string, report: DrainReport): DrainSummary {
  return {
    instance,
    objects: report.objects.length,
    forwarded: report.forwarded,
    alreadyDone: report.alreadyDone,
    events: report.events,
  };
}

/**
 * Refuses objects under the s3 destination's own location (SinkFormat s3): draining the collector's
 * output would write it again under the same prefix, whose notification drains it again, without end.
 * Thrown before anything is read or forwarded.
 */
export function refuseOwnOutput(
  config: { sinkFormat: string; sinkUrl: string },
  refs: readonly ObjectRef[],
  names: { where: string; sinkUrl: string; remedy: string } = {
    where: 'PushBucketName/PushBucketPrefix',
    sinkUrl: 'IngestionUrl',
    remedy: 'and redeploy',
  },
): void {
  if (config.sinkFormat !== 's3') return;
  const lake = parseS3Url(config.sinkUrl, 'SINK_URL', []);
  if (lake === undefined) return;
  const under = lake.prefix === '' ? '' : `${lake.prefix}/`;
  const own = refs.find((ref) => ref.bucket === lake.bucket && ref.key.startsWith(under));
  if (own === undefined) return;
  throw new ConfigError(
    'Event Push bucket',
    [
      {
        field: names.where,
        problem: `names s3://${own.bucket}/${own.key}, inside the s3 destination s3://${lake.bucket}/${under}: the drain would forward its own output again, without end`,
      },
    ],
    `Give Event Push a bucket, or a prefix, outside the ${names.sinkUrl} of the s3 destination, ${names.remedy}.`,
  );
}

/**
 * The invocation handler for drain events, over the container's parts (built on first use). Objects
 * acknowledged stay done; any failed object fails the invocation, so S3 (or SQS) delivers it again.
 */
export function createDrainHandler(container: () => DrainContainer) {
  let clients: { dynamo: DynamoDBClient; s3: S3Client } | undefined;
  return async (
    event: unknown,
    context: Pick<Context, 'getRemainingTimeInMillis' | 'awsRequestId'>,
  ): Promise<DrainSummary> => {
    const parts = container();
    const { config, log } = parts;
    // Parsed before anything is read: a malformed event fails at once, naming what is wrong.
    const refs = objectsOfEvent(event);
    refuseOwnOutput(config, refs);
    clients ??= {
      dynamo: checkpointTableClient(),
      s3: s3ClientFor(parts.s3),
    };
    const credentials = await parts.credentials.get();
    parts.registerSecrets?.(secretValuesOf(credentials));
    const destination = createDestination(config, {
      ...(credentials.sinkToken === undefined ? {} : { token: credentials.sinkToken }),
      ...(parts.dispatcher === undefined ? {} : { dispatcher: parts.dispatcher }),
      log,
      s3: parts.s3 ?? {},
    });
    const deps = drainDeps({
      instance: config.instance,
      tableName: config.checkpointTable,
      dynamo: clients.dynamo,
      s3: clients.s3,
      destination,
      batch: { batchMaxEvents: config.batchMaxEvents, batchMaxBytes: config.batchMaxBytes },
      log,
      ...(config.pushPrimaryStreams.length === 0
        ? {}
        : {
            pushLedger: new DynamoPushLedger({
              tableName: config.checkpointTable,
              instance: config.instance,
              client: clients.dynamo,
            }),
          }),
    });
    const report = await drainObjects(refs, deps, {
      owner: context.awsRequestId,
      deadline: Date.now() + context.getRemainingTimeInMillis() - DRAIN_SAFETY_MS,
    });
    const summary = summarise(config.instance, report);
    log.info('drain invocation', { ...summary, failed: report.failed });
    const failure = drainFailure(report);
    if (failure) throw failure;
    return summary;
  };
}
