/**
 * The S3 drain with real parts: objects in the loopback S3-compatible server, done records and
 * claims in dynalite through the real SDK, events at an NDJSON receiver through the real destination.
 */
import { gzipSync } from 'node:zlib';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { drainFailure, drainObjects } from '../../lambda/drain/drain';
import { objectsOfEvent } from '../../lambda/drain/notifications';
import type { ForwardObject, IdentifiedObject } from '../../lambda/drain/ports';
import { S3ObjectStore } from '../../lambda/drain/s3-object-store';
import {
  CheckpointConflictError,
  PermissionError,
  PushBodyError,
  RequestError,
  TransientError,
} from '../../lambda/errors';
import { DRAIN_RECORD_DAYS, drainSortKey } from '../../lambda/state/drain-ledger';
import { auditEvent, hecArray, ndjson, receiptEvent } from '../push/fixtures';
import { BUCKET, type DrainRig, INSTANCE, notificationFor, startDrainRig } from './support';

jest.setTimeout(30_000);

let rig: DrainRig;

beforeAll(async () => {
  rig = await startDrainRig();
});

afterAll(async () => {
  await rig.stop();
});

beforeEach(async () => {
  await rig.s3.reset();
  rig.receiver.reset();
  rig.handed.length = 0;
});

/** The stored drain item of an object, as DynamoDB holds it (raw attribute values). */
async function recordOf(object: IdentifiedObject) {
  const answer = await rig.dynamo.send(
    new GetItemCommand({
      TableName: rig.local.tableName,
      Key: { instance: { S: `drain#${INSTANCE}` }, stream: { S: drainSortKey(object) } },
      ConsistentRead: true,
    }),
  );
  return answer.Item;
}

function identified(key: string): IdentifiedObject {
  const stored = rig.s3.events().find((e) => e.s3.object.key === key);
  const etag = stored?.s3.object.eTag?.replace(/"/g, '') ?? '';
  return { bucket: BUCKET, key, etag, identity: etag };
}

let unique = 0;
function keyFor(name: string): string {
  unique += 1;
  return `mimecast/2026-12-06/${unique}-${name}`;
}

describe('S3 drain', () => {
  it('forwards an object, then writes its done record, only after the receiver acknowledged', async () => {
    const key = keyFor('audit events.json');
    await rig.put(key, hecArray([auditEvent(1)]));
    const object = identified(key);
    let recordWhenAcknowledged: unknown;
    const forward: ForwardObject = async (o, budget) => {
      const result = await rig.forward(o, budget);
      recordWhenAcknowledged = (await recordOf(object))?.drainState?.S;
      return result;
    };
    const report = await drainObjects(objectsOfEvent(notificationFor(rig.s3, [key])), rig.deps({ forward }), {
      owner: 'first',
      deadline: Date.now() + 20_000,
    });

    expect(report).toMatchObject({ forwarded: 1, alreadyDone: 0, failed: 0, events: 1 });
    expect(drainFailure(report)).toBeUndefined();
    expect(rig.receiver.received()).toEqual([
      expect.objectContaining({ stream: 'audit', instance: INSTANCE, event: auditEvent(1) }),
    ]);
    // While the destination answered, the object was only claimed; done came after.
    expect(recordWhenAcknowledged).toBe('claimed');
    const item = await recordOf(object);
    expect(item?.drainState?.S).toBe('done');
    expect(item?.leaseOwner).toBeUndefined();
    expect(item?.objectKey?.S).toBe(key);
    const ttl = Number(item?.expiresAt?.N);
    const expected = Date.now() / 1000 + DRAIN_RECORD_DAYS * 86_400;
    expect(Math.abs(ttl - expected)).toBeLessThan(60);
    // Drain records have their own partition: the instance's checkpoints (what `status` lists) stay clean.
    expect(await rig.local.store.list(INSTANCE)).toEqual([]);
  });

  it('adds nothing when the same notification comes again', async () => {
    const key = keyFor('again.ndjson');
    await rig.put(key, ndjson([receiptEvent(1), receiptEvent(2)]));
    const event = notificationFor(rig.s3, [key]);

    const first = await rig.drain(objectsOfEvent(event));
    const requestsAfterFirst = rig.s3.requests().filter((r) => r.operation === 'GetObject').length;
    const second = await rig.drain(objectsOfEvent(event));

    expect(first.forwarded).toBe(1);
    expect(second).toMatchObject({ forwarded: 0, alreadyDone: 1, failed: 0 });
    expect(rig.receiver.ids()).toHaveLength(2);
    // The done record is read first: the object is not even fetched again.
    expect(rig.s3.requests().filter((r) => r.operation === 'GetObject')).toHaveLength(requestsAfterFirst);
  });

  it('forwards once when the same notification arrives twice at the same time', async () => {
    const key = keyFor('concurrent.json');
    await rig.put(key, hecArray([auditEvent(3)]));
    const refs = objectsOfEvent(notificationFor(rig.s3, [key]));
    // Slow the first read so both runs overlap for certain.
    rig.s3.inject({ on: 'GetObject', kind: 'delay', ms: 300 });

    const [a, b] = await Promise.all([rig.drain(refs), rig.drain(refs)]);

    expect(rig.receiver.ids()).toHaveLength(1);
    expect(a.forwarded + b.forwarded).toBe(1);
    const loser = a.forwarded === 1 ? b : a;
    // The loser either saw the claim (and fails, to be retried) or, if it came late, the done record.
    if (loser.failed === 1) {
      expect(drainFailure(loser)).toBeInstanceOf(CheckpointConflictError);
      const retry = await rig.drain(refs);
      expect(retry).toMatchObject({ forwarded: 0, alreadyDone: 1 });
    } else {
      expect(loser.alreadyDone).toBe(1);
    }
    expect(rig.receiver.ids()).toHaveLength(1);
  });

  it('takes over a claim whose holder died once it expired, not before', async () => {
    const key = keyFor('orphan.json');
    await rig.put(key, hecArray([auditEvent(4)]));
    const object = identified(key);
    const now = Date.now();
    await rig.ledger.claim(object, 'crashed-run', now + 60_000, now);

    const whileHeld = await rig.drain(objectsOfEvent(notificationFor(rig.s3, [key])));
    expect(whileHeld.failed).toBe(1);
    expect(drainFailure(whileHeld)?.message).toContain('crashed-run');
    expect(rig.receiver.ids()).toHaveLength(0);

    // The holder never comes back: a run whose clock is past the claim's expiry takes it over.
    const report = await drainObjects(
      objectsOfEvent(notificationFor(rig.s3, [key])),
      rig.deps({ clock: { now: () => Date.now() + 61_000 } }),
      { owner: 'successor', deadline: Date.now() + 81_000 },
    );
    expect(report.forwarded).toBe(1);
    expect(rig.receiver.ids()).toHaveLength(1);
    expect((await recordOf(object))?.drainState?.S).toBe('done');
  });

  it('fails the invocation when the destination refuses, leaves no done record, and a retry delivers', async () => {
    const failing = keyFor('fails.json');
    const fine = keyFor('fine.json');
    await rig.put(failing, hecArray([auditEvent(5)]));
    await rig.put(fine, hecArray([auditEvent(6)]));
    const event = notificationFor(rig.s3, [failing, fine]);
    // Both tries of the first object's batch fail; the second object gets through.
    rig.receiver.inject({ kind: 'status', status: 503 }, { kind: 'status', status: 503 });

    const report = await rig.drain(objectsOfEvent(event));

    expect(report).toMatchObject({ forwarded: 1, failed: 1 });
    const failure = drainFailure(report);
    expect(failure).toBeDefined();
    expect(failure?.retryable).toBe(true);
    const failedItem = await recordOf(identified(failing));
    expect(failedItem?.drainState?.S).toBe('claimed');
    // Released: a retry need not wait for the claim to lapse.
    expect(failedItem?.leaseOwner).toBeUndefined();
    expect((await recordOf(identified(fine)))?.drainState?.S).toBe('done');
    expect(rig.receiver.received().map((e) => e.event)).toEqual([auditEvent(6)]);

    const retry = await rig.drain(objectsOfEvent(event));
    expect(retry).toMatchObject({ forwarded: 1, alreadyDone: 1, failed: 0 });
    expect(rig.receiver.received().map((e) => e.event)).toEqual([auditEvent(6), auditEvent(5)]);
    expect((await recordOf(identified(failing)))?.drainState?.S).toBe('done');
  });

  it('fails without a done record when S3 cannot be read, and a retry reads it', async () => {
    const key = keyFor('s3-fails.json');
    await rig.put(key, hecArray([auditEvent(7)]));
    const refs = objectsOfEvent(notificationFor(rig.s3, [key]));
    // The SDK retries a 500 itself (3 attempts): fail every one of them.
    rig.s3.inject(
      { on: 'GetObject', kind: 's3-error', code: 'InternalError' },
      { on: 'GetObject', kind: 's3-error', code: 'InternalError' },
      { on: 'GetObject', kind: 's3-error', code: 'InternalError' },
    );
    const failed = await rig.drain(refs);
    expect(failed.failed).toBe(1);
    expect(drainFailure(failed)).toBeInstanceOf(TransientError);
    expect(drainFailure(failed)?.message).toContain(`s3://${BUCKET}/${key}`);
    expect(rig.receiver.ids()).toHaveLength(0);
    expect((await recordOf(identified(key)))?.drainState?.S).toBe('claimed');

    expect((await rig.drain(refs)).forwarded).toBe(1);
    expect(rig.receiver.ids()).toHaveLength(1);
  });

  it('says which permission is missing when S3 refuses the read', async () => {
    const key = keyFor('denied.json');
    await rig.put(key, '[]');
    rig.s3.inject({ on: 'GetObject', kind: 's3-error', code: 'AccessDenied' });
    const report = await rig.drain(objectsOfEvent(notificationFor(rig.s3, [key])));
    const failure = drainFailure(report);
    expect(failure).toBeInstanceOf(PermissionError);
    expect((failure as PermissionError).requiredPermission).toBe('s3:GetObject');
    expect(failure?.retryable).toBe(false);
  });

  it('decompresses gzip by its magic bytes, whatever the key says', async () => {
    const gzipNamedPlain = keyFor('events.json');
    const plainNamedGzip = keyFor('events.json.gz');
    await rig.put(gzipNamedPlain, gzipSync(ndjson([receiptEvent(3), receiptEvent(4)])));
    await rig.put(plainNamedGzip, hecArray([auditEvent(8)]));

    const report = await rig.drain(objectsOfEvent(notificationFor(rig.s3, [gzipNamedPlain, plainNamedGzip])));

    expect(report.forwarded).toBe(2);
    expect(rig.handed).toEqual([
      { name: `s3://${BUCKET}/${gzipNamedPlain}`, body: ndjson([receiptEvent(3), receiptEvent(4)]) },
      { name: `s3://${BUCKET}/${plainNamedGzip}`, body: hecArray([auditEvent(8)]) },
    ]);
    expect(rig.receiver.received().map((e) => e.event)).toEqual([
      receiptEvent(3),
      receiptEvent(4),
      auditEvent(8),
    ]);
    expect(report.events).toBe(3);
  });

  it('marks an object without events done, and never marks an unreadable body done', async () => {
    const blank = keyFor('blank.json');
    const broken = keyFor('broken.json');
    const emptyArray = keyFor('empty-array.json');
    await rig.put(blank, '\n');
    await rig.put(emptyArray, '[]');
    await rig.put(broken, '{"event": {"cut": ');
    const report = await rig.drain(objectsOfEvent(notificationFor(rig.s3, [blank, emptyArray, broken])));

    expect(report.objects.map((o) => o.outcome)).toEqual(['forwarded', 'forwarded', 'failed']);
    expect((await recordOf(identified(emptyArray)))?.drainState?.S).toBe('done');
    expect(report.events).toBe(0);
    const failure = drainFailure(report);
    expect(failure).toBeInstanceOf(PushBodyError);
    expect(failure?.retryable).toBe(false);
    expect((await recordOf(identified(blank)))?.drainState?.S).toBe('done');
    expect((await recordOf(identified(broken)))?.drainState?.S).toBe('claimed');
    expect(rig.receiver.ids()).toHaveLength(0);
  });

  it('reads keys with spaces and plus signs as AWS encodes them in notifications', async () => {
    const key = keyFor('a b+c (1).json');
    await rig.put(key, '[]');
    const event = notificationFor(rig.s3, [key]);
    expect(JSON.stringify(event)).toContain('a+b%2Bc+%281%29.json');

    const report = await rig.drain(objectsOfEvent(event));

    expect(report.forwarded).toBe(1);
    expect(rig.handed[0]?.name).toBe(`s3://${BUCKET}/${key}`);
  });

  it('refuses an object over the size bound without forwarding any of it', async () => {
    const key = keyFor('huge.json');
    await rig.put(key, gzipSync(Buffer.alloc(4096, 0x20)));
    const small = new S3ObjectStore(rig.s3.client(), 1024);
    const report = await drainObjects(
      objectsOfEvent(notificationFor(rig.s3, [key])),
      rig.deps({ objects: small }),
      {
        owner: 'bounded',
        deadline: Date.now() + 20_000,
      },
    );
    const failure = drainFailure(report);
    expect(failure).toBeInstanceOf(RequestError);
    expect(failure?.message).toContain('once decompressed');
    expect(rig.handed).toHaveLength(0);
  });

  it('does not read an object replaced since its notification as if it were the one announced', async () => {
    const key = keyFor('replaced.json');
    await rig.put(key, hecArray([auditEvent(9)]));
    const announced = notificationFor(rig.s3, [key]).Records.slice(0, 1);
    await rig.put(key, hecArray([auditEvent(10)]));

    const report = await rig.drain(objectsOfEvent({ Records: announced }));

    expect(report.failed).toBe(1);
    expect(drainFailure(report)?.message).toContain('replaced');
    expect(rig.handed).toHaveLength(0);
  });
});
