/**
 * Cursor rules for time-window streams (audit, TTP, DLP, held-release, archive-search, threat feeds),
 * as pure functions.
 *
 * Cursor shape (JSON, stored in the checkpoint):
 * ```
 * {
 *   "from": ISO,            // window start (inclusive, whole seconds)
 *   "to": ISO,              // window end, frozen while following page tokens
 *   "pageToken": string|null, // next page of this window; null = first page
 *   "skipIds": [id...],     // eventIds already delivered at the `from` second: dropped if seen again
 *   "newest": ISO,          // newest event time delivered in this window so far (starts at `from`)
 *   "newestIds": [id...]    // eventIds delivered at the `newest` second so far
 * }
 * ```
 * Every cursor names its whole request, so fetching it again asks Mimecast the same question (the
 * engine resumes inside a page by skipping what it already delivered). When a window is done, the next
 * one starts at the newest event time delivered (not at `to`, not at now), so events that Mimecast
 * indexed late are asked for again; the boundary second's ids drop the repeats. The next window ends
 * `latenessMargin` behind now.
 */
import { z } from 'zod';
import { floorToSecond, toIsoUtc } from '../time';
import { IsoTime } from './common';

export const WindowCursorSchema = z.object({
  from: IsoTime,
  to: IsoTime,
  pageToken: z.string().min(1).nullable(),
  skipIds: z.array(z.string()),
  newest: IsoTime,
  newestIds: z.array(z.string()),
});

export type WindowCursor = z.infer<typeof WindowCursorSchema>;

export interface WindowSettings {
  latenessMarginMs: number;
  catchUpSlackMs: number;
  maxBoundaryIds: number;
  /** Mimecast's look-back limit for the endpoint, if any. */
  maxLookbackMs?: number;
}

/** The clamp lands this far inside the look-back limit, so the request is still valid when it arrives. */
export const LOOKBACK_SAFETY_MS = 10 * 60_000;

export interface WindowRequest {
  from: number;
  to: number;
  pageToken: string | null;
  /** Set when `from` was moved up to the look-back limit. */
  clampedFrom?: number;
}

function clampFrom(fromMs: number, nowMs: number, settings: WindowSettings): number | undefined {
  if (settings.maxLookbackMs === undefined) {
    return undefined;
  }
  const earliest = floorToSecond(nowMs - settings.maxLookbackMs + LOOKBACK_SAFETY_MS);
  return fromMs < earliest ? earliest : undefined;
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

/** The request a cursor stands for; a window's first page is clamped to the look-back limit. */
export function windowRequest(cursor: WindowCursor, nowMs: number, settings: WindowSettings): WindowRequest {
  const from = Date.parse(cursor.from);
  const to = Date.parse(cursor.to);
  if (cursor.pageToken !== null) {
    return { from, to, pageToken: cursor.pageToken };
  }
  const clamped = clampFrom(from, nowMs, settings);
  if (clamped === undefined) {
    return { from, to, pageToken: null };
  }
  return { from: clamped, to: Math.max(to, clamped), pageToken: null, clampedFrom: clamped };
}

export interface PageItem {
  id: string;
  timeMs: number;
}

export interface WindowOutcome {
  /** Per item: deliver it (false = a repeat from the previous window's boundary). */
  keep: boolean[];
  next: WindowCursor;
  caughtUp: boolean;
  /** More events shared the boundary second than the cursor keeps ids for. */
  boundaryOverflow: boolean;
}

/**
 * What a fetched page means for the cursor. `items` are all records Mimecast returned, in order.
 * The window is done when there is no next page token or the page was empty.
 */
export function afterPage(
  cursor: WindowCursor,
  request: WindowRequest,
  items: readonly PageItem[],
  nextToken: string | null,
  nowMs: number,
  settings: WindowSettings,
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

  if (nextToken !== null && items.length > 0) {
    return {
      keep,
      next: {
        from: toIsoUtc(request.from),
        to: toIsoUtc(request.to),
        pageToken: nextToken,
        skipIds: cursor.pageToken === null && request.clampedFrom !== undefined ? [] : cursor.skipIds,
        newest: toIsoUtc(newest),
        newestIds: [...newestIds],
      },
      caughtUp: false,
      boundaryOverflow,
    };
  }

  const from = floorToSecond(newest);
  const to = Math.max(from, floorToSecond(nowMs - settings.latenessMarginMs));
  const ids = [...newestIds];
  return {
    keep,
    next: {
      from: toIsoUtc(from),
      to: toIsoUtc(to),
      pageToken: null,
      skipIds: ids,
      newest: toIsoUtc(from),
      newestIds: ids,
    },
    // Caught up unless the next window reaches well past this one (a checkpoint from an earlier tick).
    caughtUp: to - request.to < settings.catchUpSlackMs,
    boundaryOverflow,
  };
}
