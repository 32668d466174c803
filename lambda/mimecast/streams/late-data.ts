/**
 * The late-data re-check of time-window streams, as pure functions over the `late` part of a window
 * cursor (window-cursor.ts holds the rest).
 *
 * Mimecast makes some events visible well after their own time (SIEM documents up to 30 minutes; audit
 * and TTP logs are indexed late too). The main pass asks each window once, `latenessMargin` behind now,
 * and the next window starts at the newest event delivered: an event that becomes visible later, with a
 * time before that newest event, is never asked for again. So every span of event time the main pass
 * asked while it was fresh is asked a second time once it is `horizon` old, and the second pass forwards
 * only the events whose ids the first did not deliver.
 *
 * - Spans are buckets of `bucketMs` (10 minutes) of event time, aligned on the epoch. A bucket is kept
 *   when a main window covers part of it while it is fresh: its end plus the horizon lies after the
 *   window's end plus the margin (the earliest the window can have been asked). Older parts of a window
 *   (a catch-up) need no second pass: everything up to `horizon` late was visible when they were asked.
 * - Each bucket remembers the ids the main pass delivered with times inside it: the first 48 bits of
 *   each id as 8 base64url characters, joined in one string. All buckets together keep at most
 *   `maxIds` ids (the checkpoint item is limited to 400 KB); a bucket that would pass the bound forgets
 *   its ids (`seen: null`) and its re-check forwards everything it finds. Those repeats carry the ids
 *   of their first delivery, so they are harmless where ids are used; nothing is ever skipped for want
 *   of memory.
 * - A bucket is due when its end is `horizon` old. At the end of a main window (where the next window
 *   starts at `from`, the newest second delivered) the oldest due bucket is re-checked for the times
 *   before `from`; times at or after `from` need no re-check: the main pass asks them again every tick
 *   until `from` moves past them, by when everything up to `horizon` late is visible. So a due bucket
 *   starting at or after `from` is dropped without a call (an idle stream costs nothing), and a re-check
 *   covers `[bucket start, min(bucket end, from))`.
 * - A re-check is a request chain of its own (`recheck`: its page token, its occurrence counts), frozen
 *   in the cursor, so the engine resumes it inside a page exactly like a main window.
 *
 * The bound: an event visible at most `horizon` after its time is delivered exactly once (its id),
 * whatever the schedule (a bucket first asked when it was already `horizon` old needs no second pass).
 * Later ones may still be caught, when their bucket's re-check had not run yet (up to `horizon` + one
 * bucket + one schedule period), never later than that.
 */
import * as z from 'zod';
import { floorToSecond, toIsoUtc } from '../time';
import { IsoTime } from './common';

/** Occurrence counts of identical records at the last second of a page, passed on to the next page. */
export const TailSchema = z.object({
  second: IsoTime,
  counts: z.record(z.string(), z.number().int().min(1)),
});
export type Tail = z.infer<typeof TailSchema>;

export const LateBucketSchema = z.object({
  /** Inclusive; the bucket ends at the next multiple of the bucket length. */
  start: IsoTime,
  /** Ids delivered with times in the bucket, `SEEN_ID_CHARS` each; null: too many to keep. */
  seen: z.string().nullable(),
});
export type LateBucket = z.infer<typeof LateBucketSchema>;

export const RecheckSchema = z.object({
  /** Exclusive end of the event times re-checked; the start is `buckets[0].start`. */
  until: IsoTime,
  pageToken: z.string().min(1).nullable(),
  tail: TailSchema.optional(),
  /** Whether the main pass was caught up when the re-check began (reported when it ends). */
  caughtUp: z.boolean(),
});
export type Recheck = z.infer<typeof RecheckSchema>;

export const LateSchema = z
  .object({
    /** Oldest first. */
    buckets: z.array(LateBucketSchema),
    /** Buckets ending at or before this were re-checked or dropped: never kept again. */
    doneUntil: IsoTime.optional(),
    /** The re-check of `buckets[0]` in progress. */
    recheck: RecheckSchema.optional(),
  })
  .refine((late) => late.recheck === undefined || late.buckets.length > 0, {
    message: 'a re-check needs the bucket it checks',
    path: ['recheck'],
  });
export type LateState = z.infer<typeof LateSchema>;

export interface LateSettings {
  /** The horizon: how late an event may become visible and still be collected; 0 = no re-check. */
  lateDataMs: number;
  latenessMarginMs: number;
  /** Length of one bucket of event time (LATE_RECHECK_SPAN_MINUTES). */
  lateBucketMs: number;
  /** Ids remembered over all buckets (MAX_LATE_DATA_IDS). */
  lateMaxIds: number;
}

/** Characters kept per id: 48 bits, so a late event mistaken for a delivered one is a 1 in 10¹⁰ chance per stored id. */
export const SEEN_ID_CHARS = 8;

/** The stored form of an id (32 hex characters) in a bucket's `seen`: its first 48 bits, base64url. */
export function seenKey(id: string): string {
  return Buffer.from(id.slice(0, 12), 'hex').toString('base64url');
}

function seenSet(seen: string): Set<string> {
  const keys = new Set<string>();
  for (let i = 0; i + SEEN_ID_CHARS <= seen.length; i += SEEN_ID_CHARS) {
    keys.add(seen.slice(i, i + SEEN_ID_CHARS));
  }
  return keys;
}

export function bucketEnd(start: number, settings: LateSettings): number {
  return (Math.floor(start / settings.lateBucketMs) + 1) * settings.lateBucketMs;
}

export interface SeenItem {
  id: string;
  timeMs: number;
}

export interface LateUpdate {
  late: LateState;
  /** Starts of buckets that forgot their ids on this page (the re-check will forward everything in them). */
  overflowed: string[];
}

/**
 * After a main page: keeps the buckets this window covers while fresh, and remembers the ids of the
 * page's records (`items`: every record the page held, repeats of the previous window's boundary too)
 * in their buckets. `skipIds` (delivered at the window's first second) go into the first bucket kept.
 */
export function rememberDelivered(
  late: LateState,
  window: { from: number; to: number; skipIds: readonly string[] },
  items: readonly SeenItem[],
  settings: LateSettings,
): LateUpdate {
  const B = settings.lateBucketMs;
  const buckets = late.buckets.map((bucket) => ({ ...bucket }));
  const known = new Set(buckets.map((bucket) => Math.floor(Date.parse(bucket.start) / B)));
  const doneUntil = late.doneUntil === undefined ? Number.NEGATIVE_INFINITY : Date.parse(late.doneUntil);
  const askedAt = window.to + settings.latenessMarginMs;
  const pending = new Map<LateBucket, string[]>();
  for (let k = Math.floor(window.from / B); k <= Math.floor(window.to / B); k += 1) {
    const end = (k + 1) * B;
    if (known.has(k) || end <= doneUntil || end + settings.lateDataMs <= askedAt) continue;
    const start = Math.max(k * B, window.from);
    const bucket: LateBucket = { start: toIsoUtc(start), seen: '' };
    buckets.push(bucket);
    known.add(k);
    // Upgraded checkpoints and window boundaries: what the previous window delivered at `from`.
    if (start === window.from) pending.set(bucket, window.skipIds.map(seenKey));
  }
  buckets.sort((a, b) => Date.parse(a.start) - Date.parse(b.start));

  const ends = buckets.map((bucket) => bucketEnd(Date.parse(bucket.start), settings));
  for (const item of items) {
    const index = ends.findIndex(
      (end, i) => item.timeMs < end && item.timeMs >= Date.parse(buckets[i]!.start),
    );
    if (index === -1) continue;
    const bucket = buckets[index]!;
    if (bucket.seen === null) continue;
    const keys = pending.get(bucket) ?? [];
    keys.push(seenKey(item.id));
    pending.set(bucket, keys);
  }

  let total = buckets.reduce((sum, bucket) => sum + (bucket.seen?.length ?? 0) / SEEN_ID_CHARS, 0);
  const overflowed: string[] = [];
  for (const [bucket, keys] of pending) {
    if (bucket.seen === null) continue;
    const have = seenSet(bucket.seen);
    let added = '';
    for (const key of keys) {
      if (have.has(key)) continue;
      have.add(key);
      added += key;
    }
    const count = added.length / SEEN_ID_CHARS;
    if (total + count > settings.lateMaxIds) {
      total -= bucket.seen.length / SEEN_ID_CHARS;
      bucket.seen = null;
      overflowed.push(bucket.start);
      continue;
    }
    total += count;
    bucket.seen += added;
  }
  return { late: { ...late, buckets }, overflowed };
}

/**
 * At the end of a main window whose successor starts at `fromMs`: drops due buckets the main pass keeps
 * asking anyway, and begins the re-check of the oldest due one, if any.
 */
export function nextRecheck(
  late: LateState,
  fromMs: number,
  nowMs: number,
  mainCaughtUp: boolean,
  settings: LateSettings,
): LateState {
  const buckets = [...late.buckets];
  let doneUntil = late.doneUntil;
  for (;;) {
    const first = buckets[0];
    if (first === undefined) break;
    const start = Date.parse(first.start);
    const end = bucketEnd(start, settings);
    if (end + settings.lateDataMs > nowMs) break;
    if (start < fromMs) {
      const recheck: Recheck = {
        until: toIsoUtc(Math.min(end, floorToSecond(fromMs))),
        pageToken: null,
        caughtUp: mainCaughtUp,
      };
      return { buckets, ...(doneUntil === undefined ? {} : { doneUntil }), recheck };
    }
    buckets.shift();
    doneUntil = toIsoUtc(end);
  }
  return { buckets, ...(doneUntil === undefined ? {} : { doneUntil }) };
}

/** The window a re-check asks: the bucket's start to `until`, whole seconds, inclusive. */
export function recheckWindow(late: LateState & { recheck: Recheck }): { from: number; to: number } {
  return { from: Date.parse(late.buckets[0]!.start), to: Date.parse(late.recheck.until) };
}

export interface RecheckOutcome {
  /** Per item: forward it (a time inside the re-checked span, an id the main pass did not deliver). */
  keep: boolean[];
  /** The state after this page: the re-check continued, or finished (its bucket gone, maybe the next begun). */
  late: LateState;
  /** The re-check (and any other due one) is over: report what the main pass reported. */
  done: boolean;
  caughtUp: boolean;
}

/** What one page of a re-check means. `tail` is the occurrence carry for the next page, if any. */
export function afterRecheckPage(
  late: LateState & { recheck: Recheck },
  items: readonly SeenItem[],
  nextToken: string | null,
  tail: Tail | undefined,
  main: { fromMs: number },
  nowMs: number,
  settings: LateSettings,
): RecheckOutcome {
  const { from, to } = recheckWindow(late);
  const until = to;
  const bucket = late.buckets[0]!;
  const seen = bucket.seen === null ? null : seenSet(bucket.seen);
  const keep = items.map(
    (item) => item.timeMs >= from && item.timeMs < until && (seen === null || !seen.has(seenKey(item.id))),
  );
  if (nextToken !== null && items.length > 0) {
    const recheck: Recheck = { ...late.recheck, pageToken: nextToken };
    if (tail === undefined) delete recheck.tail;
    else recheck.tail = tail;
    return { keep, late: { ...late, recheck }, done: false, caughtUp: false };
  }
  const finished: LateState = {
    buckets: late.buckets.slice(1),
    doneUntil: toIsoUtc(bucketEnd(from, settings)),
  };
  const next =
    settings.lateDataMs > 0
      ? nextRecheck(finished, main.fromMs, nowMs, late.recheck.caughtUp, settings)
      : { buckets: [] };
  const more = next.recheck !== undefined;
  return { keep, late: next, done: !more, caughtUp: more ? false : late.recheck.caughtUp };
}

/** Whether a late state is worth storing (a cursor without one is smaller and reads the same). */
export function isEmptyLate(late: LateState | undefined): late is undefined {
  return (
    late === undefined ||
    (late.buckets.length === 0 && late.recheck === undefined && late.doneUntil === undefined)
  );
}
