/** The S3 helper, driven through the real @aws-sdk/client-s3. */
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { type S3Server, startS3Server } from '.';
import { envelope, receiverTestKit } from './test-support';

const kit = receiverTestKit();
const KEY = 'lake/test/siem/dt=2024-06-05/hour=11/id-1-2.ndjson.gz';
const BODY = gzipSync(`${JSON.stringify(envelope(1))}\n${JSON.stringify(envelope(2))}\n`);

async function server(options: Parameters<typeof startS3Server>[0] = {}): Promise<S3Server> {
  return kit.track(await startS3Server(options));
}

function put(s3: S3Client, key = KEY) {
  return s3.send(
    new PutObjectCommand({
      Bucket: 'mimecast-lake',
      Key: key,
      Body: BODY,
      ContentType: 'application/x-ndjson',
      ContentEncoding: 'gzip',
    }),
  );
}

/** The SDK's error for a failed call, with its S3 code and status. */
async function failure(call: Promise<unknown>): Promise<{ name: string; status?: number }> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(S3ServiceException);
  const s3 = error as S3ServiceException;
  return { name: s3.name, status: s3.$metadata.httpStatusCode };
}

describe('S3 server helper', () => {
  it('stores PutObject with Content-Encoding and Content-Type; GetObject, ListObjectsV2, HeadBucket read it back', async () => {
    const s = await server();
    const s3 = s.client({ maxAttempts: 1 });
    const stored = await put(s3);
    expect(stored.$metadata.httpStatusCode).toBe(200);
    expect(stored.ETag).toMatch(/^"[0-9a-f]{32}"$/);

    const got = await s3.send(new GetObjectCommand({ Bucket: 'mimecast-lake', Key: KEY }));
    expect(got.ContentType).toBe('application/x-ndjson');
    expect(got.ContentEncoding).toBe('gzip');
    const bytes = Buffer.from(await got.Body!.transformToByteArray());
    expect(bytes.equals(BODY)).toBe(true);

    await put(s3, 'lake/test/audit/dt=2024-06-05/hour=12/id-9-1.ndjson.gz');
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: 'mimecast-lake', Prefix: 'lake/test/siem/' }),
    );
    expect(listed.Contents?.map((c) => [c.Key, c.Size])).toEqual([[KEY, BODY.length]]);
    expect((await s3.send(new HeadBucketCommand({ Bucket: 'mimecast-lake' }))).$metadata.httpStatusCode).toBe(
      200,
    );
    expect(await failure(s3.send(new HeadBucketCommand({ Bucket: 'no-such-bucket' })))).toEqual({
      name: 'NotFound',
      status: 404,
    });
    s3.destroy();
  });

  it('lists stored objects with their bodies, and records requests by operation', async () => {
    const s = await server({ buckets: ['mimecast-lake', 'other'] });
    const s3 = s.client({ maxAttempts: 1 });
    await put(s3);
    const [object] = await s.objects('mimecast-lake');
    expect(object).toMatchObject({
      key: KEY,
      size: BODY.length,
      contentEncoding: 'gzip',
      contentType: 'application/x-ndjson',
    });
    expect(
      gunzipSync(object.body)
        .toString()
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line).id),
    ).toEqual(['id-1', 'id-2']);
    expect(await s.objects('other')).toEqual([]);
    expect(s.requests().map((r) => [r.operation, r.status])).toEqual([['PutObject', 200]]);
    s3.destroy();
  });

  it('emits an S3 event notification record per object created', async () => {
    const s = await server();
    const s3 = s.client({ maxAttempts: 1 });
    await put(s3);
    expect(s.events()).toEqual([
      expect.objectContaining({
        eventSource: 'aws:s3',
        eventName: 'ObjectCreated:Put',
        s3: expect.objectContaining({
          bucket: expect.objectContaining({ name: 'mimecast-lake' }),
          object: expect.objectContaining({ key: KEY, size: BODY.length }),
        }),
      }),
    ]);
    s3.destroy();
  });

  it('refuses a wrong secret with SignatureDoesNotMatch and an unknown key id with InvalidAccessKeyId', async () => {
    const s = await server();
    const wrongSecret = new S3Client({
      region: s.region,
      endpoint: s.endpoint,
      forcePathStyle: true,
      maxAttempts: 1,
      credentials: { accessKeyId: s.credentials.accessKeyId, secretAccessKey: 'not-the-secret' },
    });
    expect(await failure(put(wrongSecret))).toEqual({ name: 'SignatureDoesNotMatch', status: 403 });
    const unknownKey = s.client({
      maxAttempts: 1,
      credentials: { accessKeyId: 'AKIAUNKNOWN', secretAccessKey: 'x' },
    });
    expect(await failure(put(unknownKey))).toEqual({ name: 'InvalidAccessKeyId', status: 403 });
    expect(await s.objects('mimecast-lake')).toEqual([]);
    wrongSecret.destroy();
    unknownKey.destroy();
  });

  it.each([
    ['SlowDown', 503],
    ['InternalError', 500],
    ['AccessDenied', 403],
    ['ServiceUnavailable', 503],
    ['NoSuchBucket', 404],
  ] as const)('answers an injected %s with status %i and S3 XML, storing nothing', async (code, status) => {
    const s = await server();
    const s3 = s.client({ maxAttempts: 1 });
    s.inject({ kind: 's3-error', code, retryAfter: 1 });
    expect(await failure(put(s3))).toEqual({ name: code, status });
    expect(s.requests()[0]).toMatchObject({ operation: 'PutObject', fault: 's3-error', status });
    expect(await s.objects('mimecast-lake')).toEqual([]);
    expect((await put(s3)).$metadata.httpStatusCode).toBe(200);
    s3.destroy();
  });

  it('lets the SDK retry a SlowDown by itself, the object stored once', async () => {
    const s = await server();
    const s3 = s.client({ maxAttempts: 3 });
    s.inject({ kind: 's3-error', code: 'SlowDown' });
    expect((await put(s3)).$metadata.attempts).toBe(2);
    expect((await s.objects('mimecast-lake')).map((o) => o.key)).toEqual([KEY]);
    s3.destroy();
  });

  it('resets the connection or hangs on PutObject, leaving other operations alone', async () => {
    const s = await server();
    const s3 = s.client({ maxAttempts: 1 });
    s.inject({ kind: 'reset' });
    expect((await s3.send(new HeadBucketCommand({ Bucket: 'mimecast-lake' }))).$metadata.httpStatusCode).toBe(
      200,
    );
    await expect(put(s3)).rejects.toThrow(/ECONNRESET/);
    s.inject({ kind: 'hang' });
    await expect(
      s3.send(new PutObjectCommand({ Bucket: 'mimecast-lake', Key: KEY, Body: BODY }), {
        abortSignal: AbortSignal.timeout(300),
      }),
    ).rejects.toThrow();
    expect(await s.objects('mimecast-lake')).toEqual([]);
    s.inject({ kind: 's3-error', code: 'InternalError', on: 'ListObjectsV2' });
    expect(await failure(s3.send(new ListObjectsV2Command({ Bucket: 'mimecast-lake' })))).toEqual({
      name: 'InternalError',
      status: 500,
    });
    s3.destroy();
  });

  it('reset() empties the store and makes the initial buckets again', async () => {
    const s = await server();
    const s3 = s.client({ maxAttempts: 1 });
    await put(s3);
    s.inject({ kind: 'hang' });
    await s.reset();
    expect(s.pendingFaults()).toBe(0);
    expect(s.requests()).toEqual([]);
    expect(s.events()).toEqual([]);
    expect(await s.objects('mimecast-lake')).toEqual([]);
    expect((await put(s3)).$metadata.httpStatusCode).toBe(200);
    s3.destroy();
  });
});
