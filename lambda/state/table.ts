/**
 * The checkpoint table's shape, defined once: the adapter reads and writes these names, and the CDK
 * stack (lib/) builds the table and the function's IAM policy from them. No imports, so lib/ can use
 * this file without pulling in the SDK (the one import is type-only).
 */
import type { CheckpointStore } from '../core/checkpoint';

/** Partition key `instance` (S), sort key `stream` (S). */
export const CHECKPOINT_TABLE_KEYS = {
  partitionKey: { name: 'instance', type: 'S' },
  sortKey: { name: 'stream', type: 'S' },
} as const;

/** Every attribute of a checkpoint item. Times ending in `At`/`notBefore` as noted; all others plain. */
export const CHECKPOINT_ATTRIBUTES = {
  instance: 'instance',
  stream: 'stream',
  /** N: bumped by every write; every write is conditional on it. */
  version: 'version',
  /** S: the stream's cursor as JSON text (opaque; kept as text so its shape survives exactly). */
  cursor: 'cursor',
  /** N: records of the page at `cursor` already acknowledged. */
  offset: 'offset',
  /** S: lease holder (invocation id). Absent when the lease is free. */
  leaseOwner: 'leaseOwner',
  /** N: epoch ms when the lease expires. */
  leaseExpiresAt: 'leaseExpiresAt',
  /** N: epoch ms; no Mimecast call before it (set after a throttle). */
  notBefore: 'notBefore',
  /** S: ISO-8601 UTC. */
  lastSuccessAt: 'lastSuccessAt',
  /** S: ISO-8601 UTC. */
  newestEventTime: 'newestEventTime',
  /** M: kind, name, message, at, remedy, retryable, endpoint, status, codes (log-safe). */
  lastError: 'lastError',
  /** N. */
  consecutiveFailures: 'consecutiveFailures',
  /** N. */
  totalEvents: 'totalEvents',
  /** N. */
  totalPages: 'totalPages',
  /** N. */
  totalBytes: 'totalBytes',
  /** S: ISO-8601 UTC. */
  createdAt: 'createdAt',
  /** S: ISO-8601 UTC. */
  updatedAt: 'updatedAt',
} as const;

/**
 * S3 drain records live in the same table under their own partition, `drain#<instance>` (instance ids
 * never hold a `#`), so listing an instance's checkpoints never reads them. Sort key:
 * `<bucket>/<key>#<version id or ETag>` (lambda/state/drain-ledger.ts).
 */
export const DRAIN_PARTITION_PREFIX = 'drain#';

/**
 * How long a done record is kept. It must outlive every re-delivery of the object's notification (S3
 * retries an asynchronous invocation for up to 6 hours; an SQS queue keeps a message up to 14 days)
 * and every `drain` over the bucket while the object is still there: expire Event Push objects in
 * fewer days than this (a bucket lifecycle rule), or a `drain` over an older prefix forwards their
 * events again (with the same ids, for the destination to drop).
 */
export const DRAIN_RECORD_DAYS = 90;

/** Attributes of a drain record besides the keys (`leaseOwner`/`leaseExpiresAt` as on checkpoints). */
export const DRAIN_ATTRIBUTES = {
  /** S: `claimed` (being forwarded) or `done` (acknowledged by the destination). */
  drainState: 'drainState',
  /** S: the bucket, the object key (decoded) and the identity (version id or ETag), for people. */
  bucket: 'bucket',
  objectKey: 'objectKey',
  objectIdentity: 'objectIdentity',
  /** N: events forwarded and bytes read, once done. */
  events: 'events',
  bytes: 'bytes',
  /** S: ISO-8601 UTC, once done. */
  doneAt: 'doneAt',
} as const;

/**
 * N, epoch seconds: DynamoDB's time-to-live attribute (lib/constructs/checkpoint-table.ts). Only
 * drain records carry it; checkpoints never expire.
 */
export const TTL_ATTRIBUTE = 'expiresAt';

export type DynamoDbAction =
  | 'dynamodb:GetItem'
  | 'dynamodb:UpdateItem'
  | 'dynamodb:Query'
  | 'dynamodb:DeleteItem';

/**
 * The DynamoDB actions behind each CheckpointStore method of the adapter. A conditional write that
 * loses its condition reads the item once (GetItem) to recognise its own write whose answer was lost
 * and retried by the SDK.
 */
const ACTIONS_BY_METHOD = {
  acquireLease: ['dynamodb:UpdateItem'],
  load: ['dynamodb:GetItem'],
  commitProgress: ['dynamodb:UpdateItem', 'dynamodb:GetItem'],
  recordFailure: ['dynamodb:UpdateItem', 'dynamodb:GetItem'],
  releaseLease: ['dynamodb:UpdateItem', 'dynamodb:GetItem'],
  list: ['dynamodb:Query'],
  reset: ['dynamodb:DeleteItem'],
} as const satisfies Record<keyof CheckpointStore, readonly DynamoDbAction[]>;

/** Checked above to cover every method; widened here so callers may look a method up by name. */
export const DYNAMODB_ACTIONS_BY_METHOD: Readonly<Record<string, readonly DynamoDbAction[]>> =
  ACTIONS_BY_METHOD;

/** The main DynamoDB action of each method (kept for lib/ and its drift test; the full set is above). */
export const DYNAMODB_ACTION_BY_METHOD: Readonly<Record<string, DynamoDbAction>> = {
  acquireLease: 'dynamodb:UpdateItem',
  load: 'dynamodb:GetItem',
  commitProgress: 'dynamodb:UpdateItem',
  recordFailure: 'dynamodb:UpdateItem',
  releaseLease: 'dynamodb:UpdateItem',
  list: 'dynamodb:Query',
  reset: 'dynamodb:DeleteItem',
} satisfies Record<keyof CheckpointStore, DynamoDbAction>;

/** Exactly the DynamoDB actions the adapter calls, all methods together (operator commands included). */
export const DYNAMODB_ACTIONS_USED: readonly DynamoDbAction[] = [
  'dynamodb:GetItem',
  'dynamodb:UpdateItem',
  'dynamodb:Query',
  'dynamodb:DeleteItem',
];

/**
 * What one collection tick (core/engine runTick) calls: lease, commits, failures and release. The
 * function's role needs exactly these; `list` (Query) and `reset` (DeleteItem) serve operator commands.
 */
export const DYNAMODB_ACTIONS_FOR_TICK: readonly DynamoDbAction[] = [
  'dynamodb:UpdateItem',
  'dynamodb:GetItem',
];

/**
 * The push ledger's items live in the checkpoint table under their own partition keys, so a
 * checkpoint Query (`list`) never reads them (docs/PUSH-GAP-FILL.md, "The ledger"):
 * partition `pushed#<instance>#<stream>`, sort key `<bucket start ISO>#<write id>#<part>`.
 */
export const PUSH_LEDGER_ATTRIBUTES = {
  /** B: the ids' digests packed, 8 bytes each (core/push-ledger.ts). */
  digests: 'digests',
  /** N: digests in the item. */
  count: 'count',
  /** N: epoch seconds; the table's TTL attribute, so DynamoDB deletes the item after it. */
  expiresAt: 'expiresAt',
} as const;

/** The table's TTL attribute (only push ledger items carry it). */
export const TABLE_TTL_ATTRIBUTE = PUSH_LEDGER_ATTRIBUTES.expiresAt;

/** What the push ledger calls: UpdateItem to record (as an upsert), Query to read a bucket. */
export const DYNAMODB_ACTIONS_FOR_PUSH_LEDGER: readonly DynamoDbAction[] = [
  'dynamodb:UpdateItem',
  'dynamodb:Query',
];

/**
 * What the push function calls on the ledger: only `record`'s UpdateItem (an upsert; it never reads
 * back). The pull's reads are the collector function's (`DYNAMODB_ACTIONS_FOR_PUSH_LEDGER`).
 */
export const DYNAMODB_ACTIONS_FOR_PUSH_LEDGER_WRITES: readonly DynamoDbAction[] = ['dynamodb:UpdateItem'];

/** Leading partition keys of push ledger items, for an IAM `dynamodb:LeadingKeys` condition. */
export const PUSH_LEDGER_KEY_PREFIX = 'pushed#';
