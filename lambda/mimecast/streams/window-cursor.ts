/**
 * Cursor rules for time-window streams (audit, TTP, DLP, held-release, archive-search, threat feeds),
 * as pure functions.
 *
 * Cursor shape (JSON, stored in the checkpoint):
 * ```
 * {
 *   "from": ISO,            // window start (inclusive, whole seconds)
 *   "to": ISO | null,       // window end; null = open: "now − latenessMargin" when fetched
 *   "pageToken": string|null, // next page of this window; null = first page (a token needs a fixed `to`)
 *   "skipIds": [id...],     // eventIds already delivered at the `from` second: dropped if seen again
 *   "newest": ISO,          // newest event time delivered in this window so far (starts at `from`)
 *   "newestIds": [id...],   // eventIds delivered at the `newest` second so far
 *   "tail"?: { "second": ISO, "counts": { key: n } }, // occurrence counts at the last page's last second
 *   "late"?: { "buckets": [...], "doneUntil"?: ISO, "recheck"?: {...} } // the late-data re-check (late-data.ts)
 * }
 * ```
 * Ids are numbered per page by `OccurrenceIds` (core/occurrences.ts): the n-th identical record of a
 * page gets occurrence n. Identical records share their time and Mimecast sorts by time, so a run of
 * them can straddle a page boundary: `tail` carries the counts of the page's last second to the next
 * page of the same window, so the run keeps counting. A new window recounts from its first second, so
 * the boundary repeats of the previous window get the same ids as before (and are dropped by `skipIds`),
 * while a new identical record at that second gets the next number.
 * An open end is resolved when the window's first page is fetched (`resolveWindow`): the end becomes
 * `max(from, ⌊now − latenessMargin⌋)` and the source reports the resolved, frozen cursor as
 * `Page.cursor`. The engine stores that one with any in-page offset, and page tokens keep the end
 * frozen, so every stored position names its whole request and fetching it again asks Mimecast the
 * same question (the engine resumes inside a page by skipping what it already delivered).
 *
 * When a window is done, the next one starts at the newest event time delivered (not at `to`, not at
 * now), so events that Mimecast indexed late are asked for again; the boundary second's ids drop the
 * repeats. The next window's end is left open, so the next tick asks for everything new in one call
 * (it used to be frozen at this tick's now − margin, which cost an idle stream a second call per tick:
 * the stale window first, then a fresh one). A window that started open was asked up to now − margin
 * at this very fetch, so finishing it means caught up; a frozen one (the seed, or a page-token chain
 * begun in an earlier tick) is caught up only if it ended within `catchUpSlack` of now − margin.
 * A window is always asked, even one second long (`from` within the margin of now, as on a stream's
 * first tick from "now"): every tick makes at least one authenticated call, so wrong keys, a wrong URL
 * or a missing permission show on the first run.
 */
import * as z from 'zod';
import { floorToSecond, toIsoUtc } from '../time';
import { IsoTime } from './common';
import {
  isEmptyLate,
  LateSchema,
  type LateSettings,
  type LateState,
  nextRecheck,
  rememberDelivered,
  type Tail,
  TailSchema,
} from './late-data';

export const WindowCursorSchema = z
  .object({
    from: IsoTime,
    to: IsoTime.nullable(),
    pageToken: z.string().min(1).nullable(),
    skipIds: z.array(z.string()),
    newest: IsoTime,
    newestIds: z.array(z.string()),
    tail: TailSchema.optional(),
    late: LateSchema.optional(),
  })
  .refine((cursor) => cursor.pageToken === null || cursor.to !== null, {
    message: 'a cursor following a page token needs a fixed window end',
    path: ['to'],
  });

export type WindowCursor = z.infer<typeof WindowCursorSchema>;

export interface WindowSettings extends LateSettings {
  latenessMarginMs: number;
  catchUpSlackMs: number;
  /** Ids kept per cursor for one second: the boundary (`skipIds`, `newestIds`) and the `tail` counts. */
  maxBoundaryIds: number;
  /** Mimecast's look-back limit for the endpoint, if any. */
  maxLookbackMs?: number;
}

/** The clamp lands this far inside the look-back limit, so the request is still valid when it arrives. */
export const LOOKBACK_SAFETY_MS = 10 * 60_000;
/**
 * A start is clamped only once it is closer than this to the look-back limit, so a clamped start stays
 * valid (is not clamped again) for `LOOKBACK_SAFETY_MS - LOOKBACK_CLAMP_AT_MS`: a resume inside a
 * clamped page within that time asks the same question.
 */
export const LOOKBACK_CLAMP_AT_MS = 5 * 60_000;

export interface WindowRequest {
  from: number;
  to: number;
  pageToken: string | null;
  /** Set when `from` was moved up to the look-back limit. */
  clampedFrom?: number;
}

/** Where an open window ends when fetched at `nowMs`: the lateness margin behind now, never before `fromMs`. */
export function openWindowEnd(fromMs: number, nowMs: number, settings: WindowSettings): number {
  return Math.max(fromMs, floorToSecond(nowMs - settings.latenessMarginMs));
}

function clampFrom(fromMs: number, nowMs: number, settings: WindowSettings): number | undefined {
  if (settings.maxLookbackMs === undefined) {
    return undefined;
  }
  const limit = nowMs - settings.maxLookbackMs;
  return fromMs < limit + LOOKBACK_CLAMP_AT_MS ? floorToSecond(limit + LOOKBACK_SAFETY_MS) : undefined;
}

export function seedWindow(
  startMs: number,
  nowMs: number,
  settings: WindowSettings,
): WindowRequest & { cursor: WindowCursor } {
  const start = floorToSecond(Math.min(startMs, nowMs));
  const clamped = clampFrom(start, nowMs, settings);
  const from = clamped ?? start;
  const to = Math.max(from, floorToSecond(nowMs - settings.latenessMarginMs));
  const cursor: WindowCursor = {
    from: toIsoUtc(from),
    to: toIsoUtc(to),
    pageToken: null,
    skipIds: [],
    newest: toIsoUtc(from),
    newestIds: [],
  };
  return { cursor, from, to, pageToken: null, clampedFrom: clamped };
}

/**
 * The request a cursor stands for at `nowMs`: an open end resolved to now − margin, a window's first
 * page clamped to the look-back limit (never mid-window: a page token carries its window).
 */
export function windowRequest(cursor: WindowCursor, nowMs: number, settings: WindowSettings): WindowRequest {
  const from = Date.parse(cursor.from);
  const fixedTo = cursor.to === null ? undefined : Date.parse(cursor.to);
  if (cursor.pageToken !== null) {
    // The schema guarantees a fixed end with a page token; resolving anyway keeps this total.
    return { from, to: fixedTo ?? openWindowEnd(from, nowMs, settings), pageToken: cursor.pageToken };
  }
  const clamped = clampFrom(from, nowMs, settings);
  if (clamped === undefined) {
    return { from, to: fixedTo ?? openWindowEnd(from, nowMs, settings), pageToken: null };
  }
  const to = fixedTo === undefined ? openWindowEnd(clamped, nowMs, settings) : Math.max(fixedTo, clamped);
  return { from: clamped, to, pageToken: null, clampedFrom: clamped };
}

/**
 * The cursor exactly as `request` asked (reported as `Page.cursor`): fetching it again, even in a later
 * tick, sends the same request, so the engine can store it with an offset inside the page. A clamped
 * start becomes the cursor's start (the old boundary and its ids are gone).
 */
export function requestedCursor(cursor: WindowCursor, request: WindowRequest): WindowCursor {
  if (request.clampedFrom !== undefined) {
    return {
      from: toIsoUtc(request.from),
      to: toIsoUtc(request.to),
      pageToken: null,
      skipIds: [],
      newest: toIsoUtc(request.from),
      newestIds: [],
      ...(cursor.late === undefined ? {} : { late: cursor.late }),
    };
  }
  return { ...cursor, to: toIsoUtc(request.to) };
}

/** Resolves a stored cursor at fetch time: the request to send and the frozen cursor it stands for. */
export function resolveWindow(
  cursor: WindowCursor,
  nowMs: number,
  settings: WindowSettings,
): { request: WindowRequest; cursor: WindowCursor } {
  const request = windowRequest(cursor, nowMs, settings);
  return { request, cursor: requestedCursor(cursor, request) };
}

export interface PageItem {
  /** The record's id, numbered over its page (`OccurrenceIds.idOf`). */
  id: string;
  /** Its occurrence-1 id (`OccurrenceIds.lastKey`): what identical copies are counted under. */
  key: string;
  timeMs: number;
}

export interface WindowOutcome {
  /** Per item: deliver it (false = a repeat from the previous window's boundary). */
  keep: boolean[];
  next: WindowCursor;
  caughtUp: boolean;
  /** More events shared the boundary second than the cursor keeps ids for. */
  boundaryOverflow: boolean;
  /** More distinct records shared the page's last second than the cursor keeps counts for. */
  tailOverflow: boolean;
  /** Late-data buckets that forgot their ids on this page (their re-check forwards everything). */
  lateOverflow: string[];
  /** The late-data re-check this page began, if any (next fetches ask it before the next window). */
  recheckBegun: boolean;
}

/**
 * The occurrence counts the next page of a window starts from: those of every record at the page's
 * last second (and of the carried ones, if the page ended in the same second as the previous one).
 * `countOf` gives the counts `OccurrenceIds` reached over the page.
 */
export function pageTail(
  previous: Tail | undefined,
  items: readonly PageItem[],
  countOf: (key: string) => number,
  maxEntries: number,
): { tail: Tail | undefined; overflow: boolean } {
  const last = items[items.length - 1];
  if (last === undefined) return { tail: previous, overflow: false };
  const second = floorToSecond(last.timeMs);
  const keys = new Set<string>();
  if (previous !== undefined && Date.parse(previous.second) === second) {
    for (const key of Object.keys(previous.counts)) keys.add(key);
  }
  for (const item of items) {
    if (floorToSecond(item.timeMs) === second) keys.add(item.key);
  }
  const counts: Record<string, number> = {};
  let kept = 0;
  for (const key of keys) {
    if (kept === maxEntries) break;
    counts[key] = countOf(key);
    kept += 1;
  }
  return { tail: { second: toIsoUtc(second), counts }, overflow: keys.size > maxEntries };
}

/**
 * What a fetched page means for the cursor. `cursor` is the cursor as stored (its end possibly open),
 * `request` what `windowRequest` made of it; `items` are all records Mimecast returned, in order.
 * The window is done when there is no next page token or the page was empty; the next window then
 * starts at the newest event delivered and leaves its end open.
 */
export function afterPage(
  cursor: WindowCursor,
  request: WindowRequest,
  items: readonly PageItem[],
  nextToken: string | null,
  nowMs: number,
  settings: WindowSettings,
  countOf: (key: string) => number,
): WindowOutcome {
  const skip = new Set(cursor.skipIds);
  let newest = Date.parse(cursor.newest);
  let newestIds = new Set(cursor.newestIds);
  if (request.from > newest) {
    // Clamped forward: the old boundary is gone.
    newest = request.from;
    newestIds = new Set();
  }
  let boundaryOverflow = false;
  const keep = items.map((item) => {
    if (skip.has(item.id)) {
      return false;
    }
    const second = floorToSecond(item.timeMs);
    const newestSecond = floorToSecond(newest);
    if (second > newestSecond) {
      newest = item.timeMs;
      newestIds = new Set([item.id]);
    } else if (second === newestSecond) {
      if (newestIds.size < settings.maxBoundaryIds) {
        newestIds.add(item.id);
      } else if (!newestIds.has(item.id)) {
        boundaryOverflow = true;
      }
    }
    return true;
  });

  let late: LateState | undefined;
  let lateOverflow: string[] = [];
  if (settings.lateDataMs > 0) {
    const remembered = rememberDelivered(
      cursor.late ?? { buckets: [] },
      {
        from: request.from,
        to: request.to,
        skipIds: request.clampedFrom === undefined ? cursor.skipIds : [],
      },
      items,
      settings,
    );
    late = remembered.late;
    lateOverflow = remembered.overflowed;
  }

  if (nextToken !== null && items.length > 0) {
    const carried = cursor.pageToken === null ? undefined : cursor.tail;
    const { tail, overflow } = pageTail(carried, items, countOf, settings.maxBoundaryIds);
    return {
      keep,
      next: {
        from: toIsoUtc(request.from),
        to: toIsoUtc(request.to),
        pageToken: nextToken,
        skipIds: cursor.pageToken === null && request.clampedFrom !== undefined ? [] : cursor.skipIds,
        newest: toIsoUtc(newest),
        newestIds: [...newestIds],
        ...(tail === undefined ? {} : { tail }),
        ...(isEmptyLate(late) ? {} : { late }),
      },
      caughtUp: false,
      boundaryOverflow,
      tailOverflow: overflow,
      lateOverflow,
      recheckBegun: false,
    };
  }

  const from = floorToSecond(newest);
  const ids = [...newestIds];
  // An open window was asked up to now − margin at this fetch: nothing more to ask this tick. A frozen one
  // (the seed, or a page-token chain begun in an earlier tick) is caught up only if the next window would
  // add little: otherwise the engine asks again at once.
  const mainCaughtUp =
    cursor.to === null || openWindowEnd(from, nowMs, settings) - request.to < settings.catchUpSlackMs;
  // A re-check that became due is asked next, before the next window (late-data.ts).
  if (late !== undefined) late = nextRecheck(late, from, nowMs, mainCaughtUp, settings);
  const recheckBegun = late?.recheck !== undefined;
  return {
    keep,
    next: {
      from: toIsoUtc(from),
      to: null,
      pageToken: null,
      skipIds: ids,
      newest: toIsoUtc(from),
      newestIds: ids,
      ...(isEmptyLate(late) ? {} : { late }),
    },
    caughtUp: mainCaughtUp && !recheckBegun,
    boundaryOverflow,
    tailOverflow: false,
    lateOverflow,
    recheckBegun,
  };
}
