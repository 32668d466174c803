/**
 * Which objects an invocation is asked to drain: the S3 event notification as Lambda receives it.
 *
 * Three shapes carry the same fact ("this object was created"):
 * - EventBridge "Object Created" events (`detail.bucket.name`, `detail.object.key`), what the stack
 *   wires (lib/constructs/push-bucket.ts): a rule on the bucket and prefix invokes the drain function;
 * - direct S3 notifications (`Records[].s3`): a bucket that invokes the function itself;
 * - the same records inside SQS messages (`Records[].body`), for an operator who puts a queue in
 *   between to keep notifications for days and retry them with a dead-letter queue.
 * Keys in AWS notifications are URL-encoded with spaces as `+`; they are decoded here, once.
 * Anything else (object removals, S3's `s3:TestEvent`) asks for nothing. A body that is none of these
 * is a ProtocolError, never "nothing to do".
 */
import { ProtocolError } from '../errors';

/** One object to drain, named as S3 names it. */
export interface ObjectRef {
  bucket: string;
  /** The object key, decoded. */
  key: string;
  /** Without quotes; absent when the notification carries none (a listing always has one). */
  etag?: string;
  versionId?: string;
  /** Bytes as stored (compressed, when the object is gzip). */
  size?: number;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** S3 notification keys: form-encoded, `+` for a space (`%2B` for a plus). */
export function decodeNotificationKey(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch (error) {
    throw new ProtocolError(
      `S3 notification names an object key that is not valid URL encoding: "${raw.slice(0, 200)}".`,
      'Check what sends events to this function: S3 notifications encode keys as URLs do.',
      { cause: error },
    );
  }
}

/** ETags are quoted in S3's HTTP answers and listings, bare in notifications: compared bare. */
export function bareEtag(etag: string | undefined): string | undefined {
  if (etag === undefined) return undefined;
  const bare = etag.replace(/^"|"$/g, '');
  return bare === '' ? undefined : bare;
}

function malformed(what: string, excerpt: unknown): ProtocolError {
  return new ProtocolError(
    `S3 drain event ${what}.`,
    'Invoke the drain with S3 event notifications (direct, inside SQS messages, or EventBridge "Object Created" events).',
    { excerpt: JSON.stringify(excerpt)?.slice(0, 300) },
  );
}

/** One S3 notification record (`Records[i]` of S3's own event). */
function fromS3Record(record: Json): ObjectRef | undefined {
  const eventName = text(record.eventName) ?? '';
  if (!eventName.startsWith('ObjectCreated:')) return undefined;
  const s3 = record.s3;
  if (!isObject(s3) || !isObject(s3.bucket) || !isObject(s3.object)) {
    throw malformed('record has no s3.bucket and s3.object', record);
  }
  const bucket = text(s3.bucket.name);
  const rawKey = text(s3.object.key);
  if (bucket === undefined || rawKey === undefined) throw malformed('record names no bucket or key', record);
  return objectRef(
    bucket,
    decodeNotificationKey(rawKey),
    s3.object.eTag,
    s3.object.versionId,
    s3.object.size,
  );
}

function objectRef(bucket: string, key: string, etag: unknown, versionId: unknown, size: unknown): ObjectRef {
  const tag = bareEtag(text(etag));
  const version = text(versionId);
  return {
    bucket,
    key,
    ...(tag === undefined ? {} : { etag: tag }),
    ...(version === undefined ? {} : { versionId: version }),
    ...(typeof size === 'number' && Number.isFinite(size) ? { size } : {}),
  };
}

/** An S3 notification document (`{Records: [...]}`, or S3's test event) as SQS or the bucket delivers it. */
function fromS3Notification(body: Json): ObjectRef[] {
  if (body.Event === 's3:TestEvent') return [];
  if (!Array.isArray(body.Records)) throw malformed('is not an S3 notification (no Records)', body);
  return body.Records.flatMap((record: unknown) => {
    if (!isObject(record)) throw malformed('record is not an object', record);
    const ref = fromS3Record(record);
    return ref === undefined ? [] : [ref];
  });
}

/** An EventBridge event from S3 (`source: aws.s3`); only "Object Created" asks for a drain. */
function fromEventBridge(event: Json): ObjectRef[] {
  if (event['detail-type'] !== 'Object Created') return [];
  const detail = event.detail;
  if (!isObject(detail) || !isObject(detail.bucket) || !isObject(detail.object)) {
    throw malformed('(EventBridge) has no detail.bucket and detail.object', event);
  }
  const bucket = text(detail.bucket.name);
  const rawKey = text(detail.object.key);
  if (bucket === undefined || rawKey === undefined) {
    throw malformed('(EventBridge) names no bucket or key', event);
  }
  return [
    objectRef(
      bucket,
      decodeNotificationKey(rawKey),
      detail.object.etag,
      detail.object['version-id'],
      detail.object.size,
    ),
  ];
}

/** Is this invocation event one the drain handles (as opposed to a schedule tick or a push request)? */
export function isDrainEvent(event: unknown): boolean {
  if (!isObject(event)) return false;
  if (event.source === 'aws.s3' && typeof event['detail-type'] === 'string') return true;
  if (!Array.isArray(event.Records) || event.Records.length === 0) return false;
  const first: unknown = event.Records[0];
  return isObject(first) && (first.eventSource === 'aws:s3' || first.eventSource === 'aws:sqs');
}

/**
 * Every object the event asks to drain, in order, each once (S3 may repeat a record; SQS may carry
 * the same notification twice in one batch).
 */
export function objectsOfEvent(event: unknown): ObjectRef[] {
  if (!isObject(event)) throw malformed('is not a JSON object', event);
  let refs: ObjectRef[];
  if (event.source === 'aws.s3') {
    refs = fromEventBridge(event);
  } else if (
    Array.isArray(event.Records) &&
    isObject(event.Records[0]) &&
    event.Records[0].eventSource === 'aws:sqs'
  ) {
    refs = event.Records.flatMap((message: unknown) => {
      if (!isObject(message) || typeof message.body !== 'string')
        throw malformed('SQS message has no body', message);
      let body: unknown;
      try {
        body = JSON.parse(message.body);
      } catch {
        throw malformed('SQS message body is not JSON', message.body.slice(0, 300));
      }
      if (!isObject(body)) throw malformed('SQS message body is not an object', body);
      // An SQS queue subscribed to EventBridge carries EventBridge events; one fed by S3, S3's documents.
      return body.source === 'aws.s3' ? fromEventBridge(body) : fromS3Notification(body);
    });
  } else {
    refs = fromS3Notification(event);
  }
  const seen = new Set<string>();
  return refs.filter((ref) => {
    const id = `${ref.bucket}\u0000${ref.key}\u0000${ref.versionId ?? ''}\u0000${ref.etag ?? ''}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}
