/**
 * The ledger of event ids Event Push already delivered (docs/PUSH-GAP-FILL.md, "The ledger"): the push path
 * records ids after the destination acknowledged them; the pull path of a push-primary stream asks
 * which ids of a batch are in it and forwards only the others, so a paused push integration loses
 * nothing and an event push delivered is not sent twice.
 *
 * Ids are kept as truncated digests (`ID_DIGEST_BYTES` bytes of SHA-256 over the id) grouped by event
 * time bucket: a whole batch is looked up against the sorted digests of the buckets its events fall
 * in. A digest collision makes the pull believe push delivered an event it did not, i.e. a missed
 * event; at 8 bytes that chance is n / 2^64 per pulled event against n pushed ids of its buckets
 * (5 × 10^-14 for a million), far below any other way of losing an event.
 */
import * as crypto from 'node:crypto';
import type { StreamId } from './streams';

/** Bytes kept of each id's digest: see the file comment for why 8. */
export const ID_DIGEST_BYTES = 8;
/** Event-time bucket width: a pushed id is filed under the bucket its event time falls in. */
export const LEDGER_BUCKET_MS = 60 * 60 * 1000;

/**
 * One event push delivered: the key the gap fill compares (`id`: the envelope id, or the stream's
 * match key where push and pull id an event differently: core/gap-fill.ts `GapFillOptions.keyOf`),
 * with its event time (the envelope's `time`, ISO-8601 UTC).
 */
export interface PushedEntry {
  id: string;
  time: string;
}

/** Event time, epoch ms, inclusive at both ends. */
export interface TimeRange {
  from: number;
  to: number;
}

/**
 * The port. `record` is called by the push path only after the destination acknowledged the entries.
 * `readBucket` gives the packed digests recorded for `stream` under one bucket (`bucketStart`), as
 * the parts they were written in; `LedgerLookup` answers "which of these ids did push deliver" from them.
 */
export interface PushLedger {
  record(stream: StreamId, entries: readonly PushedEntry[]): Promise<void>;
  readBucket(stream: StreamId, bucket: number): Promise<Uint8Array[]>;
}

/** The digest of one id as an unsigned 64-bit number (the first 8 bytes of SHA-256, big-endian). */
export function idDigest(id: string): bigint {
  return crypto.createHash('sha256').update(id).digest().readBigUInt64BE(0);
}

/** The digests of `ids` packed big-endian, `ID_DIGEST_BYTES` each, in the order given. */
export function packDigests(ids: readonly string[]): Buffer {
  const packed = Buffer.alloc(ids.length * ID_DIGEST_BYTES);
  ids.forEach((id, index) => {
    packed.writeBigUInt64BE(idDigest(id), index * ID_DIGEST_BYTES);
  });
  return packed;
}

/** Start (epoch ms) of the bucket holding `time`. */
export function bucketStart(time: number): number {
  return Math.floor(time / LEDGER_BUCKET_MS) * LEDGER_BUCKET_MS;
}

/** Entries grouped by the bucket of their event time; an unparsable time goes to bucket 0 (never expected). */
export function entriesByBucket(entries: readonly PushedEntry[]): Map<number, PushedEntry[]> {
  const groups = new Map<number, PushedEntry[]>();
  for (const entry of entries) {
    const time = Date.parse(entry.time);
    const bucket = Number.isNaN(time) ? 0 : bucketStart(time);
    const group = groups.get(bucket);
    if (group === undefined) groups.set(bucket, [entry]);
    else group.push(entry);
  }
  return groups;
}

/**
 * The digests of one or more buckets, sorted for binary search: 8 bytes per id held, however many
 * (a Set of a million id strings would take ten times that).
 */
export class DigestSet {
  private readonly sorted: BigUint64Array;

  constructor(packed: readonly Uint8Array[]) {
    const total = packed.reduce((sum, part) => sum + Math.floor(part.byteLength / ID_DIGEST_BYTES), 0);
    const digests = new BigUint64Array(total);
    let at = 0;
    for (const part of packed) {
      const view = new DataView(part.buffer, part.byteOffset, part.byteLength);
      for (let offset = 0; offset + ID_DIGEST_BYTES <= part.byteLength; offset += ID_DIGEST_BYTES) {
        digests[at] = view.getBigUint64(offset, false);
        at += 1;
      }
    }
    this.sorted = digests.sort();
  }

  get size(): number {
    return this.sorted.length;
  }

  /** How many times `digest` was recorded (identical events share a key: each push of one counts). */
  count(digest: bigint): number {
    return this.firstAbove(digest) - this.firstAtLeast(digest);
  }

  private firstAtLeast(digest: bigint): number {
    let low = 0;
    let high = this.sorted.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.sorted[middle]! < digest) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private firstAbove(digest: bigint): number {
    let low = 0;
    let high = this.sorted.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.sorted[middle]! <= digest) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

/** Buckets one lookup may touch: a month. A batch spans minutes; a wider range means a bad time. */
export const MAX_BUCKETS_PER_LOOKUP = 31 * 24;

/** The buckets a time range touches, oldest first. Throws for a range over `MAX_BUCKETS_PER_LOOKUP`. */
export function bucketsOf(range: TimeRange): number[] {
  const count = Math.floor((range.to - bucketStart(range.from)) / LEDGER_BUCKET_MS) + 1;
  if (!Number.isFinite(count) || count > MAX_BUCKETS_PER_LOOKUP) {
    throw new RangeError(
      `push ledger lookup over event times ${range.from}–${range.to} (epoch ms) spans more than ${MAX_BUCKETS_PER_LOOKUP} buckets`,
    );
  }
  const buckets: number[] = [];
  for (let bucket = bucketStart(range.from); bucket <= range.to; bucket += LEDGER_BUCKET_MS) {
    buckets.push(bucket);
  }
  return buckets;
}

/**
 * One tick's reads of the ledger: each (stream, bucket) is read once and kept for the tick, so a
 * stream's batches cost one read per bucket their events fall in, not one per batch. Ids push records
 * after the read are not seen by this tick: the pull sends them again (a duplicate, never a gap).
 */
export class LedgerLookup {
  private readonly cache = new Map<string, Promise<DigestSet>>();

  constructor(private readonly ledger: PushLedger) {}

  /** The subset of `ids` push recorded for `stream` under event times in `range`. */
  async delivered(stream: StreamId, ids: readonly string[], range: TimeRange): Promise<Set<string>> {
    return new Set((await this.deliveredCounts(stream, ids, range)).keys());
  }

  /** How many times push recorded each of `ids` for `stream` under event times in `range` (absent: never). */
  async deliveredCounts(
    stream: StreamId,
    ids: readonly string[],
    range: TimeRange,
  ): Promise<Map<string, number>> {
    const sets = await Promise.all(bucketsOf(range).map((bucket) => this.bucket(stream, bucket)));
    const found = new Map<string, number>();
    if (sets.every((set) => set.size === 0)) return found;
    for (const id of new Set(ids)) {
      const digest = idDigest(id);
      const times = sets.reduce((sum, set) => sum + set.count(digest), 0);
      if (times > 0) found.set(id, times);
    }
    return found;
  }

  private bucket(stream: StreamId, bucket: number): Promise<DigestSet> {
    const key = `${stream}#${bucket}`;
    let set = this.cache.get(key);
    if (set === undefined) {
      set = this.ledger.readBucket(stream, bucket).then((parts) => new DigestSet(parts));
      // A failed read is not kept: the next batch asks again.
      set.catch(() => this.cache.delete(key));
      this.cache.set(key, set);
    }
    return set;
  }
}

/** A ledger in memory (tests). Same digests and buckets as the DynamoDB one, so the same answers. */
export class MemoryPushLedger implements PushLedger {
  private readonly buckets = new Map<string, Buffer[]>();

  async record(stream: StreamId, entries: readonly PushedEntry[]): Promise<void> {
    for (const [bucket, group] of entriesByBucket(entries)) {
      const key = `${stream}#${bucket}`;
      const parts = this.buckets.get(key) ?? [];
      parts.push(packDigests(group.map((entry) => entry.id)));
      this.buckets.set(key, parts);
    }
  }

  async readBucket(stream: StreamId, bucket: number): Promise<Uint8Array[]> {
    return [...(this.buckets.get(`${stream}#${bucket}`) ?? [])];
  }
}
