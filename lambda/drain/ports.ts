/**
 * The drain's ports: where objects are read, where "done" is recorded, and the forwarder that takes
 * one object's bytes to the destination. The drain itself (drain.ts) knows none of their adapters.
 */
import type { CallBudget } from '../core/ports';
import type { ObjectRef } from './notifications';

/** An object with the identity its done record is kept under: the version id, else the ETag. */
export interface IdentifiedObject extends ObjectRef {
  /** `versionId` when the bucket is versioned, else the ETag: one content of one key. */
  identity: string;
}

/** What the ledger says when asked to claim an object. */
export type ClaimOutcome =
  | { kind: 'claimed' }
  /** Drained and acknowledged before: nothing to do. */
  | { kind: 'done'; doneAt: string }
  /** Another run holds an unexpired claim on it right now. */
  | { kind: 'held'; owner: string; expiresAt: number };

export interface DoneRecord {
  events: number;
  /** Bytes read from S3 (as stored). */
  bytes: number;
  /** Epoch ms. */
  at: number;
}

/**
 * Done records and claims, one per object identity. Every write is a single-item conditional write:
 * - `claim` succeeds only when the object is not done and unclaimed, its claim expired, or ours;
 * - `complete` succeeds only while we hold the claim, and makes the object done for good (until the
 *   record's expiry);
 * - `release` frees our claim after a failure so a retry need not wait for it to expire.
 */
export interface DrainLedger {
  /** Done already? (read first, so a re-delivered notification costs one read and no write) */
  doneAt(object: IdentifiedObject): Promise<string | undefined>;
  claim(object: IdentifiedObject, owner: string, expiresAt: number, now: number): Promise<ClaimOutcome>;
  /** Throws CheckpointConflictError when the claim is no longer ours. */
  complete(object: IdentifiedObject, owner: string, record: DoneRecord): Promise<void>;
  release(object: IdentifiedObject, owner: string, now: number): Promise<void>;
}

/** One object's content, decompressed when it was gzip. */
export interface ObjectContent {
  body: Buffer;
  /** Bytes as stored. */
  storedBytes: number;
  gzip: boolean;
}

export interface ObjectStore {
  /** The identity (version id or ETag) of an object whose notification named neither. */
  identify(ref: ObjectRef, signal: AbortSignal): Promise<string>;
  /** Reads the object as identified (that version, or that ETag); a typed error names it otherwise. */
  read(object: IdentifiedObject, signal: AbortSignal): Promise<ObjectContent>;
}

/**
 * The push pipeline's entry for one object (lambda/push): parses its events, wraps them as envelopes
 * and resolves only once the destination acknowledged every one. Throws a CollectorError otherwise.
 */
export type ForwardObject = (
  object: { name: string; body: Buffer },
  budget: CallBudget,
) => Promise<{ events: number }>;
