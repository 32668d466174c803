/**
 * The drain's rig: the loopback S3-compatible server, dynalite for the checkpoint table, an NDJSON
 * receiver behind the real destination, all reached through the real SDK clients and HTTP layer.
 *
 * The forwarder is the function's own: the push pipeline (lambda/push) into the destination.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { silentLog } from '../../lambda/core/ports';
import { type DrainDeps, type DrainRun, drainObjects } from '../../lambda/drain/drain';
import { pushObjectForwarder } from '../../lambda/drain/forward';
import type { ObjectRef } from '../../lambda/drain/notifications';
import type { ForwardObject } from '../../lambda/drain/ports';
import { S3ObjectStore } from '../../lambda/drain/s3-object-store';
import { createDestination } from '../../lambda/sinks/create';
import { createDrainLedger, type DynamoDrainLedger } from '../../lambda/state/drain-ledger';
import { type LocalCheckpointStore, openLocalCheckpointStore } from '../../lambda/state/local-store';
import { type Receiver, type S3Server, startReceiver, startS3Server } from '../receivers';
import { FAST_RETRY } from '../sinks/fixtures';

export const BUCKET = 'event-push';
export const INSTANCE = 'acme';

export interface DrainRig {
  s3: S3Server;
  local: LocalCheckpointStore;
  receiver: Receiver;
  dynamo: DynamoDBClient;
  ledger: DynamoDrainLedger;
  objects: S3ObjectStore;
  /** The bodies the forwarder was handed, in order. */
  handed: { name: string; body: string }[];
  forward: ForwardObject;
  deps(overrides?: Partial<DrainDeps>): DrainDeps;
  put(key: string, body: Buffer | string): Promise<void>;
  drain(refs: readonly ObjectRef[], run?: Partial<DrainRun>): ReturnType<typeof drainObjects>;
  stop(): Promise<void>;
}

export async function startDrainRig(): Promise<DrainRig> {
  const [s3, local, receiver] = await Promise.all([
    startS3Server({ buckets: [BUCKET] }),
    openLocalCheckpointStore(),
    startReceiver({ kind: 'ndjson' }),
  ]);
  const dynamo = new DynamoDBClient({
    endpoint: local.endpoint,
    region: local.region,
    credentials: local.credentials,
    maxAttempts: 1,
  });
  const ledger = createDrainLedger({ client: dynamo, tableName: local.tableName, instance: INSTANCE });
  const s3Client = s3.client();
  const objects = new S3ObjectStore(s3Client);
  const destination = createDestination(
    { sinkFormat: 'ndjson', sinkUrl: receiver.url },
    { retry: { ...FAST_RETRY, maxAttempts: 2 } },
  );
  const handed: { name: string; body: string }[] = [];
  const pipeline = pushObjectForwarder({
    instance: INSTANCE,
    destination,
    limits: { batchMaxEvents: 500, batchMaxBytes: 1_000_000, maxDecodedBytes: 1_000_000 },
    clock: { now: () => Date.now() },
    log: silentLog,
  });
  // What the drain handed over, then the function's own forwarding.
  const forward: ForwardObject = async (object, budget) => {
    handed.push({ name: object.name, body: object.body.toString('utf8') });
    return pipeline(object, budget);
  };
  const deps = (overrides: Partial<DrainDeps> = {}): DrainDeps => ({
    ledger,
    objects,
    forward,
    log: silentLog,
    clock: { now: () => Date.now() },
    ...overrides,
  });
  let runs = 0;
  return {
    s3,
    local,
    receiver,
    dynamo,
    ledger,
    objects,
    handed,
    forward,
    deps,
    put: async (key, body) => {
      await s3Client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
    },
    drain: (refs, run = {}) => {
      runs += 1;
      return drainObjects(refs, deps(), { owner: `run-${runs}`, deadline: Date.now() + 20_000, ...run });
    },
    stop: async () => {
      dynamo.destroy();
      s3Client.destroy();
      await Promise.all([s3.stop(), local.close(), receiver.stop()]);
    },
  };
}

/** A key as AWS writes it into a notification: URL-encoded, spaces as `+`. */
export function awsEncodedKey(key: string): string {
  return encodeURIComponent(key)
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+')
    .replace(/%2F/g, '/');
}

/** The server's notification records as AWS would send them to the function (keys encoded). */
export function notificationFor(s3: S3Server, keys?: readonly string[]): { Records: unknown[] } {
  const records = s3
    .events()
    .filter((record) => keys === undefined || keys.includes(record.s3.object.key))
    .map((record) => ({
      ...record,
      eventSource: 'aws:s3',
      s3: { ...record.s3, object: { ...record.s3.object, key: awsEncodedKey(record.s3.object.key) } },
    }));
  return { Records: records };
}
