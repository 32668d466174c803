/**
 * The s3 destination against a real S3-compatible server on loopback (test/receivers/s3.ts) through the
 * real @aws-sdk/client-s3: key layout, gzip NDJSON, one object per stream and hour, PutObject's 200 as
 * the acknowledgement, and each failure S3 answers (throttled, server error, dropped connection, refused).
 */
import { gunzipSync } from 'node:zlib';
import { SinkRejectedError, ThrottledError } from '../../lambda/errors';
import { createDestination } from '../../lambda/sinks';
import { objectKey } from '../../lambda/sinks/s3';
import { type S3Server, startS3Server } from '../receivers';
import { budget, envelope, envelopes, rejectionOf } from './fixtures';

let s3: S3Server;
beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(() => s3.stop());
afterEach(() => s3.reset());

const destination = (url = 's3://mimecast-lake/lake/raw') =>
  createDestination(
    { sinkFormat: 's3', sinkUrl: url },
    { s3: { endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials } },
  );

test('one gzip NDJSON object per stream and UTC hour, under Hive-style partitions', async () => {
  const siem = envelopes(3, 'siem');
  const later = { ...envelope(9, 'siem'), time: '2024-06-05T12:00:01.000Z' };
  const audit = envelopes(2, 'audit', 'login');
  await destination().send([...siem, later, ...audit], budget(10_000));
  const objects = await s3.objects('mimecast-lake');
  expect(objects.map((o) => o.key).sort()).toEqual(
    [
      `lake/raw/acme-prod/siem/dt=2024-06-05/hour=11/${siem[0]!.id}-3.ndjson.gz`,
      `lake/raw/acme-prod/siem/dt=2024-06-05/hour=12/${later.id}-1.ndjson.gz`,
      `lake/raw/acme-prod/audit/dt=2024-06-05/hour=11/${audit[0]!.id}-2.ndjson.gz`,
    ].sort(),
  );
  const first = objects.find((o) => o.key.includes('hour=11') && o.key.includes('/siem/'))!;
  expect(first).toMatchObject({ contentType: 'application/x-ndjson', contentEncoding: 'gzip' });
  const lines = gunzipSync(first.body).toString('utf8').trimEnd().split('\n');
  expect(lines.map((l) => JSON.parse(l))).toEqual(siem);
});

test('the same batch again overwrites its object: no copies', async () => {
  const batch = envelopes(4);
  await destination().send(batch, budget(10_000));
  await destination().send(batch, budget(10_000));
  expect(await s3.objects('mimecast-lake')).toHaveLength(1);
});

test('SlowDown, InternalError and a dropped connection are retried by the SDK until stored', async () => {
  s3.inject(
    { kind: 's3-error', code: 'SlowDown' },
    { kind: 's3-error', code: 'InternalError' },
    { kind: 'reset' },
  );
  await destination().send(envelopes(2), budget(20_000));
  expect(await s3.objects('mimecast-lake')).toHaveLength(1);
  expect(s3.pendingFaults()).toBe(0);
});

test('throttled past the SDK retries: ThrottledError, nothing acknowledged', async () => {
  s3.inject(...Array.from({ length: 4 }, () => ({ kind: 's3-error' as const, code: 'SlowDown' as const })));
  const error = await rejectionOf(destination().send(envelopes(2), budget(20_000)));
  expect(error).toBeInstanceOf(ThrottledError);
  expect(await s3.objects('mimecast-lake')).toHaveLength(0);
});

test('AccessDenied and a missing bucket refuse the batch, naming the bucket and what to do', async () => {
  s3.inject({ kind: 's3-error', code: 'AccessDenied' });
  const denied = await rejectionOf(destination().send(envelopes(2), budget(10_000)));
  expect(denied).toBeInstanceOf(SinkRejectedError);
  expect(denied.message).toContain('s3://mimecast-lake/lake/raw');
  expect((denied as SinkRejectedError).remedy).toMatch(/s3:PutObject/);
  const missing = await rejectionOf(destination('s3://no-such-lake/x').send(envelopes(1), budget(10_000)));
  expect(missing).toBeInstanceOf(SinkRejectedError);
  expect((missing as SinkRejectedError).remedy).toMatch(/Create the bucket/);
});

test('verify: HeadBucket says whether the bucket is there; nothing is written', async () => {
  expect(await destination().probe(budget(5_000))).toMatchObject({ ok: true });
  expect(await destination('s3://no-such-lake').probe(budget(5_000))).toMatchObject({
    ok: false,
    result: 'no such bucket',
  });
  expect(await s3.objects('mimecast-lake')).toHaveLength(0);
});

test('bad s3 URLs are refused without echoing them', () => {
  expect(() => createDestination({ sinkFormat: 's3', sinkUrl: 's3://UPPER/x' })).toThrow(/valid bucket/);
  expect(() => createDestination({ sinkFormat: 's3', sinkUrl: 'https://bucket' })).toThrow(/s3:\/\/<bucket>/);
  expect(objectKey({ bucket: 'b', prefix: '' }, envelope(1), 5)).toMatch(
    /^acme-prod\/siem\/dt=2024-06-05\/hour=11\//,
  );
});
