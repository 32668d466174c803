/**
 * The checkpoint store port: where each stream of each collector instance stands, and who is
 * collecting it right now (docs/ARCHITECTURE.md, "Checkpoint item").
 *
 * Rules every implementation keeps (the shared contract suite in test/core/support checks them
 * against the in-memory fake and the DynamoDB adapter alike):
 * - One item per instance + stream. Single-item conditional writes only, no transactions.
 * - Every write after `acquireLease` is conditional on the version read AND on the lease owner,
 *   and bumps the version; a lost condition throws CheckpointConflictError.
 * - `acquireLease` creates the item when missing and succeeds when the lease is free, expired or
 *   already ours; it bumps the version, so any earlier holder's next write fails.
 */
import { CheckpointConflictError, CollectorError, type ErrorKind } from '../errors';
import type { Cursor } from './ports';
import type { StreamId } from './streams';

export interface CheckpointKey {
  instance: string;
  stream: StreamId;
}

export interface Lease {
  /** Unique id of the invocation holding the stream. */
  owner: string;
  /** Epoch ms after which anyone may take the lease over (covers a crashed holder). */
  expiresAt: number;
}

/** What every conditional write is conditional on: the version last read or written, and our lease. */
export interface LeaseToken {
  owner: string;
  version: number;
}

/** Running totals since the checkpoint was created (reset deletes them with the item). */
export interface CheckpointTotals {
  events: number;
  pages: number;
  bytes: number;
}

/**
 * The error that last stopped the stream: CollectorError.toJSON() (log-safe, no stack, no secret)
 * plus when it happened. Foreign errors are reduced to name and message, kind `unexpected`.
 */
export interface LastError {
  kind: ErrorKind | 'unexpected';
  name: string;
  message: string;
  /** ISO-8601 UTC. */
  at: string;
  remedy?: string;
  retryable?: boolean;
  endpoint?: string;
  status?: number;
  codes?: string[];
}

export interface Checkpoint {
  instance: string;
  stream: StreamId;
  /** Bumped by every write; every write is conditional on it. */
  version: number;
  /** Where the page being read starts. Absent until the stream was seeded. */
  cursor?: Cursor;
  /** Records of the page at `cursor` already acknowledged by the sink (resume inside the page). */
  offset: number;
  /** Present while an invocation holds (or crashed holding) the stream. */
  lease?: Lease;
  /** Epoch ms: set after a throttle, no Mimecast call for this stream before it. */
  notBefore?: number;
  /** ISO-8601 UTC of the last commit that delivered or advanced. */
  lastSuccessAt?: string;
  /** Newest event time ever delivered (ISO-8601 UTC); drives the lag metric. */
  newestEventTime?: string;
  lastError?: LastError;
  /** Failures since the last success; 0 after any success. */
  consecutiveFailures: number;
  totals: CheckpointTotals;
  /** ISO-8601 UTC. */
  createdAt: string;
  /** ISO-8601 UTC. */
  updatedAt: string;
}

/** A progress commit: the new position and the values derived from what the sink acknowledged. */
export interface ProgressUpdate {
  cursor: Cursor;
  offset: number;
  /** New absolute totals (the writer holds the lease and the version, so absolute values are safe). */
  totals: CheckpointTotals;
  /** Newest event time delivered so far; undefined keeps the stored value. */
  newestEventTime?: string;
  /** Throttle: no call before this epoch ms. Undefined clears any stored value. */
  notBefore?: number;
  /** Epoch ms of a successful step: sets lastSuccessAt and zeroes consecutiveFailures. Omitted for a seed. */
  succeededAt?: number;
  /** Epoch ms of the write (updatedAt). */
  at: number;
}

export interface FailureUpdate {
  error: LastError;
  consecutiveFailures: number;
  /** Epoch ms of the write (updatedAt). */
  at: number;
}

export interface ResetOptions {
  /** Epoch ms, to tell a live lease from an expired one. */
  now: number;
  /** Delete even while a run holds an unexpired lease (that run's next write then conflicts and stops). */
  force?: boolean;
}

export interface CheckpointStore {
  /**
   * Takes the stream's lease, creating the item if missing. Returns the checkpoint as it stands after
   * the lease write, or null when another owner holds an unexpired lease.
   */
  acquireLease(key: CheckpointKey, lease: Lease, now: number): Promise<Checkpoint | null>;
  /** Strongly consistent read; undefined when the stream has no checkpoint. */
  load(key: CheckpointKey): Promise<Checkpoint | undefined>;
  /** Conditional on version and lease owner; returns the checkpoint as written (new version). */
  commitProgress(key: CheckpointKey, token: LeaseToken, update: ProgressUpdate): Promise<Checkpoint>;
  /** Conditional on version and lease owner; records the error without moving the position. */
  recordFailure(key: CheckpointKey, token: LeaseToken, update: FailureUpdate): Promise<Checkpoint>;
  /** Conditional on version and lease owner; frees the lease for the next run. */
  releaseLease(key: CheckpointKey, token: LeaseToken, now: number): Promise<void>;
  /** Every checkpoint of one instance, ordered by stream id (for the `status` command). */
  list(instance: string): Promise<Checkpoint[]>;
  /**
   * Deletes a stream's checkpoint (operator recovery: the next run seeds it again from the collection
   * start). Refuses with CheckpointConflictError while an unexpired lease is held, unless `force`.
   * Returns the deleted checkpoint, or undefined when there was none.
   */
  reset(key: CheckpointKey, options: ResetOptions): Promise<Checkpoint | undefined>;
}

export const EMPTY_TOTALS: Readonly<CheckpointTotals> = Object.freeze({ events: 0, pages: 0, bytes: 0 });

/** The lease rule, in one place: free, expired, or already ours. */
export function leaseAvailable(lease: Lease | undefined, owner: string, now: number): boolean {
  return lease === undefined || lease.owner === owner || lease.expiresAt <= now;
}

const MAX_MESSAGE_CHARS = 1000;

/** Reduces any thrown value to the log-safe LastError stored in the checkpoint. */
export function toLastError(error: unknown, at: number): LastError {
  const when = new Date(at).toISOString();
  if (error instanceof CollectorError) {
    const flat = error.toJSON();
    return {
      kind: error.kind,
      name: error.name,
      message: truncate(error.message),
      at: when,
      remedy: error.remedy,
      retryable: error.retryable,
      ...(typeof flat.endpoint === 'string' ? { endpoint: flat.endpoint } : {}),
      ...(typeof flat.status === 'number' ? { status: flat.status } : {}),
      ...(error.codes.length > 0 ? { codes: error.codes.slice(0, 20) } : {}),
    };
  }
  if (error instanceof Error) {
    return { kind: 'unexpected', name: error.name, message: truncate(error.message), at: when };
  }
  return { kind: 'unexpected', name: typeof error, message: truncate(String(error)), at: when };
}

function truncate(text: string): string {
  return text.length <= MAX_MESSAGE_CHARS ? text : `${text.slice(0, MAX_MESSAGE_CHARS)}…`;
}

/** The conflict every implementation throws when a conditional write loses. */
export function checkpointConflict(
  key: CheckpointKey,
  operation: string,
  detail: string,
  cause?: unknown,
): CheckpointConflictError {
  return new CheckpointConflictError(
    `Checkpoint ${operation} for instance "${key.instance}", stream "${key.stream}" lost its condition: ${detail}.`,
    'Nothing to do if it happens rarely: another run took the stream over or an operator reset it, and the next tick resumes from the stored checkpoint. If it repeats, check that two deployments do not share one instance id.',
    { stream: key.stream, cause },
  );
}

/** Later of two ISO-8601 times; unparseable values never win. */
export function laterTime(a: string | undefined, b: string | undefined): string | undefined {
  const ta = a === undefined ? Number.NaN : Date.parse(a);
  const tb = b === undefined ? Number.NaN : Date.parse(b);
  if (Number.isNaN(ta)) return Number.isNaN(tb) ? undefined : b;
  if (Number.isNaN(tb)) return a;
  return tb > ta ? b : a;
}
