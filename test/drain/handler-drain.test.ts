/**
 * The function invoked as S3 invokes it for Event Push objects: the stack's environment pointed at
 * loopback parts (the secret in the AWS stub, checkpoints in dynalite, the S3-compatible server,
 * the NDJSON receiver).
 */

import { gzipSync } from 'node:zlib';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { eventId } from '../../lambda/core/envelope';
import { bucketStart, ID_DIGEST_BYTES, packDigests } from '../../lambda/core/push-ledger';
import type { DrainSummary } from '../../lambda/drain/lambda';
import { ENV } from '../../lambda/env-names';
import { pushMatchKey } from '../../lambda/push';
import { DynamoPushLedger } from '../../lambda/state/push-ledger-store';
import { auditEvent, hecArray, ndjson, receiptEvent } from '../push/fixtures';
import type { S3Server } from '../receivers';
import { startS3Server } from '../receivers';
import { coldStart, invoke } from '../support/lambda';
import { startWorld, WORLD_INSTANCE, type World } from '../support/world';
import { notificationFor } from './support';

jest.setTimeout(60_000);

const BUCKET = 'event-push';

describe('handler, S3 notification of Event Push objects', () => {
  let world: World;
  let s3: S3Server;
  let client: S3Client;
  const savedEnv = { ...process.env };

  beforeEach(async () => {
    s3 = await startS3Server({ buckets: [BUCKET] });
    // One role signs every call of a deployed function: the world's AWS parts take the S3 server's keys.
    world = await startWorld({
      streams: ['audit'],
      simulator: { seed: 3, events: { audit: 1 } },
      awsCredentials: s3.credentials,
    });
    client = s3.client();
  });

  afterEach(async () => {
    process.env = { ...savedEnv };
    client.destroy();
    await Promise.all([world.stop(), s3.stop()]);
  });

  async function put(key: string, body: string | Buffer): Promise<void> {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  }

  it('forwards the objects a notification names, once, and fails while the destination refuses', async () => {
    await world.storeCredentials({ wrap: true });
    const handler = coldStart(world.env({ AWS_ENDPOINT_URL_S3: s3.endpoint }));
    await put('2026/12/06/hec array.json', hecArray([auditEvent(1), auditEvent(2)]));
    await put('2026/12/06/receipts', gzipSync(ndjson([receiptEvent(1)])));
    const event = notificationFor(s3);

    const first = await invoke(handler, event);
    expect(first.failure).toBeUndefined();
    expect(first.outcome as unknown as DrainSummary).toEqual({
      instance: expect.any(String),
      objects: 2,
      forwarded: 2,
      alreadyDone: 0,
      events: 3,
    });
    expect(world.receiver.received().map((e) => e.event)).toEqual([
      auditEvent(1),
      auditEvent(2),
      receiptEvent(1),
    ]);
    // Ids by the pull path's rule: a hash of the stream and the event's canonical JSON.
    expect(world.receiver.ids()[0]).toBe(eventId('audit', auditEvent(1)));

    // S3 delivers the same notification again: nothing added.
    const again = await invoke(handler, event);
    expect(again.outcome as unknown as DrainSummary).toMatchObject({ forwarded: 0, alreadyDone: 2 });
    expect(world.receiver.ids()).toHaveLength(3);

    // A new object while the destination refuses: the invocation fails (S3 retries it), then delivers.
    await put('2026/12/06/later.json', hecArray([auditEvent(3)]));
    const later = notificationFor(s3, ['2026/12/06/later.json']);
    world.receiver.inject(...Array.from({ length: 8 }, () => ({ kind: 'status' as const, status: 503 })));
    const refused = await invoke(handler, later);
    expect(refused.failure).toBeDefined();
    expect(String((refused.failure as Error).message)).toContain('503');
    expect(world.receiver.ids()).toHaveLength(3);

    world.receiver.reset();
    const retried = await invoke(handler, later);
    expect(retried.outcome as unknown as DrainSummary).toMatchObject({ forwarded: 1, events: 1 });
    expect(world.receiver.received().map((e) => e.event)).toEqual([auditEvent(3)]);
  });

  it('with push-primary streams, records what it forwarded in the push ledger, so the pull leaves it out', async () => {
    await world.storeCredentials({ wrap: true });
    const handler = coldStart(
      world.env({ AWS_ENDPOINT_URL_S3: s3.endpoint, [ENV.pushPrimaryStreams]: 'audit' }),
    );
    const ledger = new DynamoPushLedger({
      tableName: world.dynamo.tableName,
      instance: WORLD_INSTANCE,
      endpoint: world.dynamo.endpoint,
      region: world.dynamo.region,
      credentials: world.dynamo.credentials,
    });
    const recorded = async () => {
      const parts = await ledger.readBucket(
        'audit',
        bucketStart(Date.parse(auditEvent(1).eventTime as string)),
      );
      return Buffer.concat(parts.map((part) => Buffer.from(part)));
    };
    try {
      // A refused destination records nothing: those events were not delivered.
      await put('2026/12/06/audit.json', hecArray([auditEvent(1), auditEvent(2)]));
      world.receiver.inject(...Array.from({ length: 8 }, () => ({ kind: 'status' as const, status: 503 })));
      expect((await invoke(handler, notificationFor(s3))).failure).toBeDefined();
      expect((await recorded()).byteLength).toBe(0);

      world.receiver.reset();
      expect((await invoke(handler, notificationFor(s3))).failure).toBeUndefined();
      const digests = await recorded();
      expect(digests.byteLength).toBe(2 * ID_DIGEST_BYTES);
      expect(digests).toEqual(
        packDigests([pushMatchKey('audit', auditEvent(1)), pushMatchKey('audit', auditEvent(2))]),
      );
    } finally {
      ledger.close();
    }
  });

  it("refuses an object under the s3 destination's own prefix before reading it: draining it would loop", async () => {
    await world.storeCredentials({ wrap: true });
    const handler = coldStart(
      world.env({ AWS_ENDPOINT_URL_S3: s3.endpoint, SINK_FORMAT: 's3', SINK_URL: `s3://${BUCKET}/lake/` }),
    );
    await put('lake/acme/audit/dt=2026-12-06/hour=05/part-1.ndjson.gz', gzipSync(ndjson([auditEvent(9)])));
    const { outcome, failure } = await invoke(handler, notificationFor(s3));
    expect(outcome).toBeUndefined();
    expect(failure).toMatchObject({ kind: 'config' });
    expect(String((failure as Error).message)).toContain(
      `s3://${BUCKET}/lake/acme/audit/dt=2026-12-06/hour=05/part-1.ndjson.gz, inside the s3 destination s3://${BUCKET}/lake/`,
    );
    expect(
      s3.requests().filter((r) => r.operation === 'GetObject' || r.operation === 'PutObject'),
    ).toHaveLength(1);
  });

  it('takes the same notification inside SQS messages', async () => {
    await world.storeCredentials({ wrap: true });
    const handler = coldStart(world.env({ AWS_ENDPOINT_URL_S3: s3.endpoint }));
    await put('queued.json', hecArray([auditEvent(7)]));
    const sqs = {
      Records: [
        {
          messageId: '059f36b4-87a3-44ab-83d2-661975830a7d',
          eventSource: 'aws:sqs',
          body: JSON.stringify(notificationFor(s3)),
        },
      ],
    };
    const { outcome, failure } = await invoke(handler, sqs);
    expect(failure).toBeUndefined();
    expect(outcome as unknown as DrainSummary).toMatchObject({ forwarded: 1, events: 1 });
    expect(world.receiver.received().map((e) => e.event)).toEqual([auditEvent(7)]);
  });
});
