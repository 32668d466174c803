/**
 * A real S3-compatible server on loopback for tests through the real `@aws-sdk/client-s3`:
 * @20minutes/s3rver (a maintained fork of s3rver) on a temporary directory, behind a small proxy that
 * records requests and injects S3's own failures (503 SlowDown, 500 InternalError, 403 AccessDenied…,
 * with S3's XML error bodies), resets and hangs.
 *
 * The fork verifies SigV4 signatures, but for bucket-level requests (ListObjectsV2, HeadBucket,
 * CreateBucket) it drops the trailing slash the SDK signs in path style (`/bucket/`), so those would
 * always fail with SignatureDoesNotMatch. The proxy sends them to a second instance on the same
 * directory that does not verify signatures (it still checks the access key id); object requests go
 * to the verifying one, so a wrong secret on PutObject gets S3's real 403 SignatureDoesNotMatch.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from '@20minutes/s3rver';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';

export type S3Operation =
  | 'PutObject'
  | 'GetObject'
  | 'HeadObject'
  | 'DeleteObject'
  | 'ListObjectsV2'
  | 'HeadBucket'
  | 'CreateBucket'
  | 'other';

/** S3 error codes this helper answers, with S3's status and message for each. */
export const S3_ERRORS = {
  SlowDown: { status: 503, message: 'Please reduce your request rate.' },
  ServiceUnavailable: { status: 503, message: 'Service is unable to handle request.' },
  InternalError: { status: 500, message: 'We encountered an internal error. Please try again.' },
  AccessDenied: { status: 403, message: 'Access Denied' },
  NoSuchBucket: { status: 404, message: 'The specified bucket does not exist' },
  ExpiredToken: { status: 400, message: 'The provided token has expired.' },
  RequestTimeout: {
    status: 400,
    message:
      'Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.',
  },
} as const;
export type S3ErrorCode = keyof typeof S3_ERRORS;

/** A fault for the next request of operation `on` (default PutObject; `any` for every operation). */
export type S3Fault = { on?: S3Operation | 'any' } & (
  | { kind: 's3-error'; code: S3ErrorCode; retryAfter?: number }
  | { kind: 'reset' }
  | { kind: 'hang' }
  | { kind: 'delay'; ms: number }
  | { kind: 'pass' }
);

export interface S3ServerOptions {
  /** Buckets that exist from the start. Default `['mimecast-lake']`. */
  buckets?: string[];
  /** Port of the proxy (the endpoint). Default 0: a free port. */
  port?: number;
}

export interface StoredObject {
  bucket: string;
  key: string;
  size: number;
  body: Buffer;
  contentType?: string;
  contentEncoding?: string;
  etag?: string;
  metadata: Record<string, string>;
}

export interface S3Request {
  call: number;
  method: string;
  /** Path as sent (`/bucket/key`). */
  path: string;
  query: string;
  operation: S3Operation;
  headers: IncomingHttpHeaders;
  status?: number;
  fault?: S3Fault['kind'];
}

/** An S3 event notification record, as the server emits for each object created or removed. */
export interface S3EventRecord {
  eventVersion: string;
  eventSource: string;
  eventName: string;
  eventTime: string;
  s3: { bucket: { name: string }; object: { key: string; size?: number; eTag?: string; sequencer: string } };
}

export interface S3Server {
  /** `http://127.0.0.1:<port>`: the SDK's `endpoint` (with `forcePathStyle: true`), or AWS_ENDPOINT_URL_S3. */
  readonly endpoint: string;
  readonly region: string;
  /** The server's one key pair (dummy: it guards nothing but this loopback server). */
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  /** A client for this server through the proxy (faults apply). */
  client(config?: Partial<S3ClientConfig>): S3Client;
  createBucket(name: string): Promise<void>;
  /** Every object of `bucket`, with its body, read past the proxy (no faults, not recorded). */
  objects(bucket: string): Promise<StoredObject[]>;
  /** Event notification records, in order (ObjectCreated:Put, ObjectRemoved:Delete, ...). */
  events(): S3EventRecord[];
  inject(...faults: S3Fault[]): void;
  pendingFaults(): number;
  requests(): S3Request[];
  /** Forget requests, faults and events; empty the store and make the initial buckets again. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

const ACCESS_KEY_ID = 'S3RVER';
const SECRET_ACCESS_KEY = 'S3RVER';
const REGION = 'us-east-1';
/** Objects listed per page by objects(), and pages at most (a bound on the loop). */
const PAGE = 1000;
const MAX_PAGES = 100;

export async function startS3Server(options: S3ServerOptions = {}): Promise<S3Server> {
  const buckets = options.buckets ?? ['mimecast-lake'];
  const directory = mkdtempSync(join(tmpdir(), 's3-receiver-'));
  const configureBuckets = buckets.map((name) => ({ name }));
  const common = {
    address: '127.0.0.1',
    port: 0,
    directory,
    silent: true,
    vhostBuckets: false,
    configureBuckets,
  };
  const verifying = new S3rver(common);
  const lenient = new S3rver({ ...common, allowMismatchedSignatures: true });
  const events: S3EventRecord[] = [];
  for (const server of [verifying, lenient]) {
    server.on('event', (event: { Records: S3EventRecord[] }) => events.push(...event.Records));
  }
  const verifyingPort = (await verifying.run()).port;
  const lenientPort = (await lenient.run()).port;

  const faults: S3Fault[] = [];
  const requests: S3Request[] = [];

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const { operation, objectLevel } = operationOf(req.method ?? 'GET', url, req.headers);
    const record: S3Request = {
      call: requests.length + 1,
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.search,
      operation,
      headers: { ...req.headers },
    };
    requests.push(record);
    const at = faults.findIndex((fault) => fault.on === 'any' || (fault.on ?? 'PutObject') === operation);
    const fault = at === -1 ? undefined : faults.splice(at, 1)[0];
    if (fault !== undefined && fault.kind !== 'pass') record.fault = fault.kind;
    res.on('finish', () => {
      record.status = res.statusCode;
    });

    if (fault?.kind === 'reset') {
      const reset = () => req.socket.resetAndDestroy();
      req.once('data', reset);
      req.once('end', reset);
      return;
    }
    if (fault?.kind === 'hang') {
      req.resume();
      return;
    }
    if (fault?.kind === 's3-error') {
      req.resume();
      req.on('end', () => writeError(res, req.method === 'HEAD', fault.code, url.pathname, fault.retryAfter));
      return;
    }
    const forward = () => {
      const headers = { ...req.headers };
      // Unsigned by SigV4; the proxy answers the client's 100-continue itself.
      delete headers.expect;
      const upstream = httpRequest(
        {
          host: '127.0.0.1',
          port: objectLevel ? verifyingPort : lenientPort,
          method: req.method,
          path: req.url,
          headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    };
    if (fault?.kind === 'delay') {
      const timer = setTimeout(forward, fault.ms);
      timers.add(timer);
      res.on('close', () => timers.delete(timer));
    } else {
      forward();
    }
  };

  const timers = new Set<NodeJS.Timeout>();
  const proxy = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    proxy.once('error', reject);
    proxy.listen(options.port ?? 0, '127.0.0.1', () => {
      proxy.off('error', reject);
      resolve();
    });
  });
  const endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const credentials = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY };
  const clientFor = (target: string, config: Partial<S3ClientConfig> = {}) =>
    new S3Client({ region: REGION, endpoint: target, forcePathStyle: true, credentials, ...config });
  // The helper's own reads go straight to the lenient instance: no faults, not recorded.
  const inspector = clientFor(`http://127.0.0.1:${lenientPort}`);

  return {
    endpoint,
    region: REGION,
    credentials,
    client: (config) => clientFor(endpoint, config),
    createBucket: async (name) => {
      await inspector.send(new CreateBucketCommand({ Bucket: name }));
    },
    objects: async (bucket) => {
      const out: StoredObject[] = [];
      let token: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const listed = await inspector.send(
          new ListObjectsV2Command({ Bucket: bucket, MaxKeys: PAGE, ContinuationToken: token }),
        );
        for (const item of listed.Contents ?? []) {
          const got = await inspector.send(new GetObjectCommand({ Bucket: bucket, Key: item.Key }));
          const body = Buffer.from((await got.Body?.transformToByteArray()) ?? []);
          out.push({
            bucket,
            key: item.Key ?? '',
            size: body.length,
            body,
            contentType: got.ContentType,
            contentEncoding: got.ContentEncoding,
            etag: got.ETag,
            metadata: got.Metadata ?? {},
          });
        }
        token = listed.NextContinuationToken;
        if (!listed.IsTruncated || token === undefined) break;
      }
      return out;
    },
    events: () => events.map((record) => structuredClone(record)),
    inject: (...more) => {
      faults.push(...more);
    },
    pendingFaults: () => faults.length,
    requests: () => requests.map((r) => ({ ...r })),
    reset: async () => {
      faults.length = 0;
      requests.length = 0;
      events.length = 0;
      // What s3rver's reset() does, without its deprecated fs.rmdir({ recursive }) warning.
      for (const entry of readdirSync(directory)) {
        rmSync(join(directory, entry), { recursive: true, force: true });
      }
      for (const name of buckets) {
        await inspector.send(new CreateBucketCommand({ Bucket: name }));
      }
    },
    stop: async () => {
      for (const timer of timers) clearTimeout(timer);
      const closed = new Promise<void>((resolve) => proxy.close(() => resolve()));
      proxy.closeAllConnections();
      await closed;
      inspector.destroy();
      await Promise.all([verifying.close(), lenient.close()]);
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** The S3 operation of a path-style request, and whether it names an object. */
function operationOf(
  method: string,
  url: URL,
  headers: IncomingHttpHeaders,
): { operation: S3Operation; objectLevel: boolean } {
  const parts = url.pathname.split('/');
  const objectLevel = parts.length > 2 && parts.slice(2).join('/') !== '';
  if (objectLevel) {
    const plain = !url.searchParams.has('uploadId') && !url.searchParams.has('uploads');
    if (method === 'PUT' && plain && headers['x-amz-copy-source'] === undefined)
      return { operation: 'PutObject', objectLevel };
    if (method === 'GET' && plain) return { operation: 'GetObject', objectLevel };
    if (method === 'HEAD') return { operation: 'HeadObject', objectLevel };
    if (method === 'DELETE' && plain) return { operation: 'DeleteObject', objectLevel };
    return { operation: 'other', objectLevel };
  }
  if (parts[1] === undefined || parts[1] === '') return { operation: 'other', objectLevel };
  if (method === 'GET' && url.searchParams.get('list-type') === '2')
    return { operation: 'ListObjectsV2', objectLevel };
  if (method === 'HEAD') return { operation: 'HeadBucket', objectLevel };
  if (method === 'PUT' && url.search === '') return { operation: 'CreateBucket', objectLevel };
  return { operation: 'other', objectLevel };
}

function writeError(
  res: ServerResponse,
  head: boolean,
  code: S3ErrorCode,
  resource: string,
  retryAfter: number | undefined,
): void {
  const { status, message } = S3_ERRORS[code];
  const requestId = randomBytes(8).toString('hex').toUpperCase();
  const hostId = randomBytes(48).toString('base64');
  const body = head
    ? ''
    : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><Resource>${escapeXml(resource)}</Resource><RequestId>${requestId}</RequestId><HostId>${hostId}</HostId></Error>`;
  res.writeHead(status, {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(body),
    'x-amz-request-id': requestId,
    'x-amz-id-2': hostId,
    ...(retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) }),
  });
  res.end(body);
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}
