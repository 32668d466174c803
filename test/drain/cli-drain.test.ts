/**
 * `mimecast-collector drain` over loopback: the S3-compatible server through AWS_ENDPOINT_URL_S3, an
 * NDJSON receiver, done records in the embedded store's state folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { main } from '../../bin/cli/main';
import { captureIO } from '../cli/cli-io';
import { auditEvent, hecArray, ndjson, receiptEvent } from '../push/fixtures';
import { type Receiver, type S3Server, startReceiver, startS3Server } from '../receivers';

jest.setTimeout(60_000);

const BUCKET = 'mimecast-push';

let s3: S3Server;
let receiver: Receiver;
let client: S3Client;
let stateDir: string;

beforeAll(async () => {
  [s3, receiver] = await Promise.all([
    startS3Server({ buckets: [BUCKET] }),
    startReceiver({ kind: 'ndjson', token: 'sink-token-value' }),
  ]);
  client = s3.client();
  stateDir = mkdtempSync(join(tmpdir(), 'drain-cli-'));
});

afterAll(async () => {
  client.destroy();
  await Promise.all([s3.stop(), receiver.stop()]);
  rmSync(stateDir, { recursive: true, force: true });
});

async function put(key: string, body: string | Buffer): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
}

function env(): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_REGION: s3.region,
    AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    SINK_TOKEN: 'sink-token-value',
  };
}

const args = () => [
  'drain',
  '--bucket',
  BUCKET,
  '--prefix',
  'events/',
  '--sink-url',
  receiver.url,
  '--state-dir',
  stateDir,
];

describe('mimecast-collector drain', () => {
  it('forwards each file under the prefix once, and only what is not done on the next run', async () => {
    await put('events/2026-12-06/a.json', hecArray([auditEvent(1), auditEvent(2)]));
    await put('events/2026-12-06/b.ndjson.gz', gzipSync(ndjson([receiptEvent(1)])));
    await put('other/c.json', hecArray([auditEvent(3)]));

    const first = captureIO(env());
    expect(await main(args(), first)).toBe(0);
    expect(first.text()).toContain('2 forwarded (3 events), 0 already done, 0 failed.');
    expect(receiver.received().map((e) => e.event)).toEqual([auditEvent(1), auditEvent(2), receiptEvent(1)]);
    expect(first.text()).not.toContain('sink-token-value');

    await put('events/2026-12-06/d.json', hecArray([auditEvent(4)]));
    const second = captureIO(env());
    expect(await main(args(), second)).toBe(0);
    expect(second.text()).toContain('1 forwarded (1 events), 2 already done, 0 failed.');
    expect(receiver.received().map((e) => e.event)).toEqual([
      auditEvent(1),
      auditEvent(2),
      receiptEvent(1),
      auditEvent(4),
    ]);
  });

  it('exits 1 naming the file when the destination refuses it, and the next run delivers it', async () => {
    await put('events/2026-12-07/e.json', hecArray([auditEvent(5)]));
    receiver.inject(...Array.from({ length: 6 }, () => ({ kind: 'status' as const, status: 400 })));
    const refused = captureIO(env());
    expect(await main(args(), refused)).toBe(1);
    expect(refused.errLines.join('\n')).toMatch(/failed +s3:\/\/mimecast-push\/events\/2026-12-07\/e\.json/);
    expect(refused.text()).toContain('0 forwarded (0 events), 3 already done, 1 failed.');

    receiver.reset();
    const retried = captureIO(env());
    expect(await main(args(), retried)).toBe(0);
    expect(retried.text()).toContain('1 forwarded (1 events), 3 already done, 0 failed.');
    expect(receiver.received().map((e) => e.event)).toEqual([auditEvent(5)]);
  });

  it('refuses to drain the s3 destination into itself, before reading or forwarding anything', async () => {
    await put('lake/acme/audit/part-1.ndjson.gz', gzipSync(ndjson([auditEvent(8)])));
    const before = receiver.received().length;
    const gets = () => s3.requests().filter((r) => r.operation === 'GetObject').length;
    const getsBefore = gets();
    const io = captureIO(env());
    const code = await main(
      [
        'drain',
        '--bucket',
        BUCKET,
        '--prefix',
        'lake/',
        '--sink-format',
        's3',
        '--sink-url',
        `s3://${BUCKET}/lake/`,
        '--state-dir',
        stateDir,
      ],
      io,
    );
    expect(code).not.toBe(0);
    expect(io.text()).toContain(
      '--bucket/--prefix: names s3://mimecast-push/lake/acme/audit/part-1.ndjson.gz',
    );
    expect(io.text()).toContain(
      'outside the --sink-url of the s3 destination, or drain into another destination',
    );
    expect(receiver.received()).toHaveLength(before);
    expect(gets()).toBe(getsBefore);
  });

  it('refuses a bucket given as a URL, naming the flag', async () => {
    const io = captureIO(env());
    expect(await main(['drain', '--bucket', `s3://${BUCKET}/events`, '--sink-url', receiver.url], io)).toBe(
      2,
    );
    expect(io.text()).toContain('--bucket: must be a bucket name');
  });
});
