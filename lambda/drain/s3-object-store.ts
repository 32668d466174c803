/**
 * Event Push objects read through the real `@aws-sdk/client-s3`: GetObject streamed into memory up to
 * a bound, gunzipped when its first bytes are gzip's magic number (whatever the key or Content-Encoding
 * say), and ListObjectsV2 for `drain --bucket --prefix`. S3's failures become the collector's typed
 * errors naming the object.
 */
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  type CollectorError,
  PermissionError,
  ProtocolError,
  RequestError,
  ThrottledError,
  TransientError,
} from '../errors';
import { s3ErrorOf } from '../sinks/s3';
import { bareEtag, type ObjectRef } from './notifications';
import type { IdentifiedObject, ObjectContent, ObjectStore } from './ports';

const gunzipAsync = promisify(gunzip);

/** An object larger than this (as stored, or once decompressed) is refused, never half-forwarded. */
export const DEFAULT_MAX_OBJECT_BYTES = 256 * 1024 * 1024;
/** ListObjectsV2 pages at most per listing (1000 keys each): a bound on the loop. */
const MAX_LIST_PAGES = 1000;

function isGzip(bytes: Buffer): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

export class S3ObjectStore implements ObjectStore {
  constructor(
    private readonly client: S3Client,
    private readonly maxObjectBytes = DEFAULT_MAX_OBJECT_BYTES,
  ) {}

  async identify(ref: ObjectRef, signal: AbortSignal): Promise<string> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: ref.bucket, Key: ref.key }), {
        abortSignal: signal,
      });
      const identity = head.VersionId ?? bareEtag(head.ETag);
      if (identity !== undefined) return identity;
    } catch (error) {
      throw this.failure(error, ref, 'HeadObject');
    }
    throw new ProtocolError(
      `S3 answered HeadObject for ${where(ref)} with neither an ETag nor a version id.`,
      'Check that the endpoint (AWS_ENDPOINT_URL_S3) is S3 or S3-compatible.',
      { endpoint: where(ref) },
    );
  }

  async read(object: IdentifiedObject, signal: AbortSignal): Promise<ObjectContent> {
    let stored: Buffer;
    try {
      const answer = await this.client.send(
        new GetObjectCommand({
          Bucket: object.bucket,
          Key: object.key,
          // Exactly the content the done record will name: that version, or that ETag.
          ...(object.versionId === undefined
            ? { IfMatch: `"${object.identity}"` }
            : { VersionId: object.versionId }),
        }),
        { abortSignal: signal },
      );
      const answered = bareEtag(answer.ETag);
      if (object.versionId === undefined && answered !== undefined && answered !== object.identity) {
        // S3 honours If-Match; an S3-compatible server that ignores it is caught here.
        throw Object.assign(new Error('ETag differs from the announced one'), {
          name: 'PreconditionFailed',
          $metadata: { httpStatusCode: 412 },
        });
      }
      if (answer.ContentLength !== undefined && answer.ContentLength > this.maxObjectBytes) {
        throw this.tooLarge(object, `${answer.ContentLength} bytes as stored`);
      }
      stored = await this.collect(answer.Body as AsyncIterable<Uint8Array> | undefined, object);
    } catch (error) {
      throw this.failure(error, object, 'GetObject');
    }
    if (!isGzip(stored)) return { body: stored, storedBytes: stored.length, gzip: false };
    try {
      const body = await gunzipAsync(stored, { maxOutputLength: this.maxObjectBytes });
      return { body, storedBytes: stored.length, gzip: true };
    } catch (error) {
      if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
        throw this.tooLarge(object, 'once decompressed');
      }
      throw new ProtocolError(
        `${where(object)} starts as gzip but does not decompress (${String((error as Error).message)}).`,
        'Check the object: Event Push writes whole gzip files; a truncated upload is replaced by its next write.',
        { endpoint: where(object), excerpt: stored.subarray(0, 32).toString('hex'), cause: error },
      );
    }
  }

  /** Every object under the prefix, in key order (ListObjectsV2 pages, bounded). */
  async list(bucket: string, prefix: string, signal: AbortSignal): Promise<ObjectRef[]> {
    const refs: ObjectRef[] = [];
    let token: string | undefined;
    for (let page = 0; page < MAX_LIST_PAGES; page += 1) {
      let answer: ListObjectsV2CommandOutput;
      try {
        answer = await this.client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            ...(prefix === '' ? {} : { Prefix: prefix }),
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
          { abortSignal: signal },
        );
      } catch (error) {
        throw this.failure(error, { bucket, key: prefix }, 'ListObjectsV2');
      }
      for (const item of answer.Contents ?? []) {
        if (item.Key === undefined || item.Key.endsWith('/')) continue;
        const etag = bareEtag(item.ETag);
        refs.push({
          bucket,
          key: item.Key,
          ...(etag === undefined ? {} : { etag }),
          ...(item.Size === undefined ? {} : { size: item.Size }),
        });
      }
      token = answer.IsTruncated ? answer.NextContinuationToken : undefined;
      if (token === undefined) return refs;
    }
    throw new RequestError(
      `s3://${bucket}/${prefix} holds more than ${MAX_LIST_PAGES * 1000} objects.`,
      'Drain it in parts: give a longer --prefix (Event Push keys start with the date).',
      { endpoint: `s3://${bucket}/${prefix}` },
    );
  }

  private async collect(
    body: AsyncIterable<Uint8Array> | undefined,
    object: IdentifiedObject,
  ): Promise<Buffer> {
    if (body === undefined) return Buffer.alloc(0);
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of body) {
      total += chunk.length;
      if (total > this.maxObjectBytes) throw this.tooLarge(object, 'as stored');
      chunks.push(Buffer.from(chunk));
    }
    return Buffer.concat(chunks, total);
  }

  private tooLarge(object: ObjectRef, what: string): RequestError {
    return new RequestError(
      `${where(object)} is larger than ${this.maxObjectBytes} bytes ${what}; it is not forwarded.`,
      'Event Push files are far smaller: check what wrote this object, and remove it from the Event Push bucket or prefix.',
      { endpoint: where(object) },
    );
  }

  private failure(error: unknown, ref: ObjectRef, operation: string): CollectorError {
    if (error instanceof Error && 'kind' in error && 'remedy' in error) return error as CollectorError;
    const { name, status } = s3ErrorOf(error);
    const said = `S3 ${operation} of ${where(ref)} failed: ${name}${status === undefined ? '' : ` (HTTP ${status})`}.`;
    const context = { endpoint: where(ref), status, codes: [name], cause: error };
    if (name === 'AccessDenied' || name === 'Forbidden' || status === 403) {
      return new PermissionError(
        said,
        'Give the collector s3:GetObject on the Event Push bucket and prefix (the stack grants it when it is given the bucket), and s3:ListBucket for `drain`; check the bucket policy and KMS key policy.',
        { ...context, requiredPermission: operation === 'ListObjectsV2' ? 's3:ListBucket' : 's3:GetObject' },
      );
    }
    if (name === 'NoSuchKey' || name === 'NotFound' || name === 'PreconditionFailed' || status === 412) {
      return new RequestError(
        `${said} The object is gone or was replaced since it was announced.`,
        'Nothing to do if the object was replaced: its new content has its own notification. Otherwise check what deletes objects from the Event Push bucket.',
        context,
      );
    }
    if (name === 'NoSuchBucket') {
      return new RequestError(
        said,
        'Check the bucket name (--bucket, or the stack parameter naming the Event Push bucket).',
        context,
      );
    }
    if (name === 'SlowDown' || status === 429 || status === 503) {
      return new ThrottledError(said, 'S3 asked to slow down: the object is read again on the retry.', {
        ...context,
        retryAfterMs: 1_000,
      });
    }
    return new TransientError(
      said,
      'The object is read again on the retry; if this persists, check S3 and the network path.',
      context,
    );
  }
}

function where(ref: ObjectRef): string {
  return `s3://${ref.bucket}/${ref.key}`;
}
