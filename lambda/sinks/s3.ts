/**
 * The S3 data lake destination (`--sink-format s3`, `--sink-url s3://bucket/prefix`): gzip NDJSON
 * objects under Hive-style partitions that Athena, Glue, Security Lake custom sources and the S3 inputs
 * of Splunk, Sumo and Sentinel read:
 *
 *   <prefix>/<instance>/<stream>/dt=YYYY-MM-DD/hour=HH/<first id>-<count>.ndjson.gz
 *
 * A batch is cut by stream and by the UTC hour of each event's time, one object per part, so a
 * partition only holds its own hour. PutObject's 200 acknowledges a part; the batch is acknowledged once
 * every part is. Keys are a function of the events alone, so a batch sent again (a crash before its
 * checkpoint) overwrites its objects instead of adding copies.
 *
 * Retries are the SDK's (standard mode: throttling, 5xx, dropped connections), bounded by the budget's
 * deadline; what remains is mapped to the collector's typed errors naming the bucket.
 */

import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { HeadBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Envelope } from '../core/envelope';
import type { CallBudget, SinkResult } from '../core/ports';
import { type ConfigProblem, SinkRejectedError, ThrottledError, TransientError } from '../errors';
import type { Destination, ProbeResult } from './destination';
import { envelopeJson } from './format';
import { failed, passed } from './probe';

const gzipAsync = promisify(gzip);

export interface S3Location {
  bucket: string;
  /** Without leading or trailing slash; may be empty. */
  prefix: string;
}

/** S3's bucket naming rules (general purpose buckets). */
const BUCKET = /^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** `s3://bucket[/prefix]`: pushes each problem (never echoing the URL) and returns the location. */
export function parseS3Url(raw: string, field: string, problems: ConfigProblem[]): S3Location | undefined {
  const match = /^s3:\/\/([^/?#]+)(?:\/([^?#]*))?$/.exec(raw.trim());
  if (match === null) {
    problems.push({ field, problem: 'is not an S3 URL; expected s3://<bucket>[/<prefix>]' });
    return undefined;
  }
  const bucket = match[1] ?? '';
  if (!BUCKET.test(bucket)) {
    problems.push({
      field,
      problem:
        'names no valid bucket: 3-63 characters of a-z, 0-9, dots and hyphens, starting and ending with a letter or digit',
    });
    return undefined;
  }
  const prefix = (match[2] ?? '').replace(/^\/+|\/+$/g, '');
  return { bucket, prefix };
}

/** The object key of one part (`first` the part's first envelope). */
export function objectKey(location: S3Location, first: Envelope, count: number): string {
  const at = Number.isFinite(Date.parse(first.time)) ? new Date(first.time) : new Date(0);
  const iso = at.toISOString();
  const parts = [
    ...(location.prefix === '' ? [] : [location.prefix]),
    first.instance,
    first.stream,
    `dt=${iso.slice(0, 10)}`,
    `hour=${iso.slice(11, 13)}`,
    `${first.id}-${count}.ndjson.gz`,
  ];
  return parts.join('/');
}

/** The batch cut into parts of one stream and one UTC hour, in order. */
function partsOf(batch: readonly Envelope[]): Envelope[][] {
  const parts: Envelope[][] = [];
  let current: Envelope[] = [];
  let key = '';
  for (const envelope of batch) {
    const hour = `${envelope.stream}|${Number.isFinite(Date.parse(envelope.time)) ? new Date(envelope.time).toISOString().slice(0, 13) : ''}`;
    if (current.length > 0 && hour !== key) {
      parts.push(current);
      current = [];
    }
    key = hour;
    current.push(envelope);
  }
  if (current.length > 0) parts.push(current);
  return parts;
}

/** Error names S3 answers that no retry fixes: the bucket or the permissions are wrong. */
const REFUSALS: Readonly<Record<string, string>> = {
  AccessDenied:
    'Give the collector s3:PutObject on this bucket and prefix (the stack does when it creates or is given the bucket), and check the bucket policy and KMS key policy.',
  NoSuchBucket: 'Create the bucket, or fix the bucket name in --sink-url (the stack parameter IngestionUrl).',
  InvalidAccessKeyId: 'Check the AWS credentials the collector runs with.',
  SignatureDoesNotMatch: 'Check the AWS credentials the collector runs with.',
  InvalidBucketName: 'Fix the bucket name in --sink-url.',
  PermanentRedirect: "Use the bucket's own region (AWS_REGION) for the collector.",
};

export class S3Destination implements Destination {
  private readonly where: string;

  constructor(
    private readonly client: S3Client,
    private readonly location: S3Location,
  ) {
    this.where = `s3://${location.bucket}/${location.prefix}`;
  }

  sizeOf(envelope: Envelope): number {
    return Buffer.byteLength(envelopeJson(envelope)) + 1;
  }

  async send(batch: readonly Envelope[], budget: CallBudget): Promise<SinkResult> {
    let bytes = 0;
    for (const part of partsOf(batch)) {
      const first = part[0] as Envelope;
      const body = await gzipAsync(Buffer.from(part.map((e) => `${envelopeJson(e)}\n`).join(''), 'utf8'));
      const key = objectKey(this.location, first, part.length);
      const remaining = budget.deadline - Date.now();
      if (remaining <= 0 || budget.signal.aborted) {
        throw new TransientError(
          `Sink s3 at ${this.where}: ${batch.length} events not stored before the deadline`,
          'The batch is sent again on the next run.',
          { endpoint: this.where },
        );
      }
      try {
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.location.bucket,
            Key: key,
            Body: body,
            ContentType: 'application/x-ndjson',
            ContentEncoding: 'gzip',
          }),
          { abortSignal: AbortSignal.any([budget.signal, AbortSignal.timeout(remaining)]) },
        );
      } catch (error) {
        throw this.failure(error, batch.length, key);
      }
      bytes += body.length;
    }
    return { bytes };
  }

  async probe(budget: CallBudget): Promise<ProbeResult> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.location.bucket }), {
        abortSignal: AbortSignal.any([
          budget.signal,
          AbortSignal.timeout(Math.max(1, budget.deadline - Date.now())),
        ]),
      });
      return passed('OK (bucket reachable)');
    } catch (error) {
      const { name, status } = s3ErrorOf(error);
      if (status === 404 || name === 'NotFound' || name === 'NoSuchBucket') {
        return failed('no such bucket', `${this.where}: the bucket does not exist`, REFUSALS.NoSuchBucket);
      }
      if (status === 403) {
        return failed(
          'access denied',
          `${this.where}: HeadBucket answered 403 (${name})`,
          REFUSALS.AccessDenied,
        );
      }
      return failed(
        'unreachable',
        `${this.where}: ${name} ${error instanceof Error ? error.message : ''}`.trim(),
      );
    }
  }

  private failure(error: unknown, events: number, key: string): Error {
    const { name, status } = s3ErrorOf(error);
    const said = `Sink s3 at ${this.where}: PutObject of ${key} (${events} events) failed: ${name}${status === undefined ? '' : ` (HTTP ${status})`}`;
    const context = { endpoint: this.where, status, codes: [name], cause: error };
    const remedy = REFUSALS[name];
    if (remedy !== undefined) return new SinkRejectedError(said, remedy, context);
    if (name === 'SlowDown' || status === 429 || status === 503) {
      return new ThrottledError(said, 'S3 asked to slow down: the batch is sent again on the next run.', {
        ...context,
        retryAfterMs: 1_000,
      });
    }
    return new TransientError(
      said,
      'The batch is sent again on the next run; if this persists, check S3 and the network path.',
      context,
    );
  }
}

export function s3ErrorOf(error: unknown): { name: string; status?: number } {
  const e = error as { name?: unknown; Code?: unknown; $metadata?: { httpStatusCode?: number } } | undefined;
  const name = typeof e?.Code === 'string' ? e.Code : typeof e?.name === 'string' ? e.name : 'Error';
  return { name, status: e?.$metadata?.httpStatusCode };
}
