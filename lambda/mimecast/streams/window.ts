import { OccurrenceIds } from '../../core/occurrences';
import type { CallBudget, Cursor, Page, SourceRecord } from '../../core/ports';
import type { StreamId } from '../../core/streams';
import { type CallContext, pagingStalled, protocolError } from '../classify';
import { LATE_RECHECK_SPAN_MINUTES } from '../constants';
import { floorToSecond, toIsoUtc } from '../time';
import type { MimecastStreamSource } from '../types';
import { parseCursor, recordExcerpt, type SourceDeps, staticPage } from './common';
import { afterRecheckPage, isEmptyLate, type LateState, type Recheck, recheckWindow } from './late-data';
import {
  afterPage,
  pageTail,
  resolveWindow,
  seedWindow,
  type WindowCursor,
  WindowCursorSchema,
  type WindowSettings,
} from './window-cursor';

const DAY_MS = 86_400_000;

/** One page of a window, as the endpoint returned it. */
export interface WindowAnswer {
  records: Record<string, unknown>[];
  nextToken: string | null;
}

/** What differs between window endpoints: how to ask, and how to read a record. */
export interface WindowApi {
  readonly stream: StreamId;
  readonly maxLookbackMs?: number;
  /** For messages: the field(s) the time comes from. */
  readonly timeFieldNames: string;
  context(): CallContext;
  fetch(
    request: { from: number; to: number; pageToken: string | null },
    pageSize: number,
    budget: CallBudget,
  ): Promise<WindowAnswer>;
  timeOf(record: Record<string, unknown>): number | undefined;
  logTypeOf(record: Record<string, unknown>): string;
}

export class WindowSource implements MimecastStreamSource {
  readonly stream: StreamId;
  /** Occurrence-free keys of the last page read, in order (`refuseRepeatedPage`). */
  private previousPage: { window: string; pageToken: string | null; keys: string } | undefined;

  constructor(
    private readonly deps: SourceDeps,
    private readonly api: WindowApi,
  ) {
    this.stream = api.stream;
  }

  private settings(): WindowSettings {
    const s = this.deps.settings;
    return {
      latenessMarginMs: s.latenessMarginMs,
      catchUpSlackMs: s.catchUpSlackMs,
      maxBoundaryIds: s.maxBoundaryIds,
      maxLookbackMs: this.api.maxLookbackMs,
      lateDataMs: s.lateDataMs,
      lateBucketMs: LATE_RECHECK_SPAN_MINUTES * 60_000,
      lateMaxIds: s.maxLateDataIds,
    };
  }

  seed(start: Date, now: Date): Cursor {
    const seeded = seedWindow(start.getTime(), now.getTime(), this.settings());
    if (seeded.clampedFrom !== undefined) {
      this.warnClamp(start.getTime(), seeded.clampedFrom);
    }
    return seeded.cursor;
  }

  async fetchPage(cursor: Cursor, budget: CallBudget): Promise<Page> {
    const current: WindowCursor = parseCursor(this.stream, WindowCursorSchema, cursor, 'time-window');
    const now = this.deps.clock.now();
    const settings = this.settings();
    const late = current.late;
    if (late?.recheck !== undefined) {
      return this.recheckPage(current, { ...late, recheck: late.recheck }, now, settings, budget);
    }
    // An open window end is resolved now; `asked` is the frozen cursor for this very request.
    const { request, cursor: asked } = resolveWindow(current, now, settings);
    if (request.clampedFrom !== undefined) {
      this.warnClamp(Date.parse(current.from), request.clampedFrom);
    }
    // Always asked, even a one-second window: a first tick must reach Mimecast (window-cursor.ts).
    const answer = await this.api.fetch(request, this.deps.settings.jsonPageSize, budget);
    const ids = new OccurrenceIds(this.stream, current.pageToken === null ? {} : current.tail?.counts);
    const items = this.items(answer.records, ids);
    this.refuseRepeatedPage(request, items);
    const outcome = afterPage(current, request, items, answer.nextToken, now, settings, (key) =>
      ids.countOf(key),
    );
    if (outcome.boundaryOverflow) {
      this.deps.log.warn(
        'More events in one second than the cursor keeps ids for; repeats may be forwarded',
        { stream: this.stream, maxBoundaryIds: settings.maxBoundaryIds },
      );
    }
    if (outcome.tailOverflow) {
      this.deps.log.warn(
        'More distinct events in the last second of a page than the cursor keeps counts for; identical events across the page boundary may share an id',
        { stream: this.stream, maxBoundaryIds: settings.maxBoundaryIds },
      );
    }
    this.warnLateOverflow(outcome.lateOverflow, settings);
    if (outcome.recheckBegun) {
      const { from, to } = recheckWindow(outcome.next.late as LateState & { recheck: Recheck });
      this.deps.log.info('Late-data re-check due: asking an older span again', {
        stream: this.stream,
        from: toIsoUtc(from),
        until: toIsoUtc(to),
      });
    }
    // The engine stores `asked` with any offset inside this page, so a resume re-asks this request.
    return { ...staticPage(this.kept(items, outcome.keep), outcome.next, outcome.caughtUp), cursor: asked };
  }

  /**
   * One page of a late-data re-check: the span asked again, forwarding what the main pass did not
   * deliver. The cursor is frozen as it is (its span and page token are fixed), so it is the page's cursor.
   */
  private async recheckPage(
    current: WindowCursor,
    late: LateState & { recheck: Recheck },
    now: number,
    settings: WindowSettings,
    budget: CallBudget,
  ): Promise<Page> {
    const { recheck } = late;
    const window = recheckWindow(late);
    const answer = await this.api.fetch(
      { ...window, pageToken: recheck.pageToken },
      this.deps.settings.jsonPageSize,
      budget,
    );
    const ids = new OccurrenceIds(this.stream, recheck.pageToken === null ? {} : recheck.tail?.counts);
    const items = this.items(answer.records, ids);
    this.refuseRepeatedPage({ ...window, pageToken: recheck.pageToken }, items);
    const { tail, overflow } = pageTail(
      recheck.pageToken === null ? undefined : recheck.tail,
      items,
      (key) => ids.countOf(key),
      settings.maxBoundaryIds,
    );
    if (overflow) {
      this.deps.log.warn(
        'More distinct events in the last second of a page than the cursor keeps counts for; identical events across the page boundary may share an id',
        { stream: this.stream, maxBoundaryIds: settings.maxBoundaryIds },
      );
    }
    const outcome = afterRecheckPage(
      late,
      items,
      answer.nextToken,
      tail,
      { fromMs: Date.parse(current.from) },
      now,
      settings,
    );
    const found = outcome.keep.filter(Boolean).length;
    if (found > 0) {
      this.deps.log.info('Late-data re-check found events the first pass had not seen', {
        stream: this.stream,
        from: toIsoUtc(window.from),
        until: toIsoUtc(window.to),
        events: found,
      });
    }
    const { late: _previous, ...main } = current;
    const next: WindowCursor = isEmptyLate(outcome.late) ? main : { ...main, late: outcome.late };
    return { ...staticPage(this.kept(items, outcome.keep), next, outcome.caughtUp), cursor: current };
  }

  /**
   * A follow-up page holding the records of the page before it, in the same order, is that page served
   * again (Mimecast paging that does not advance). The engine checks ids for every source, but here the
   * ids of the last second's records differ on the repeat (their occurrence count carries on from the page
   * before), so the check is made on the occurrence-free keys, and before a repeated record can go out as
   * a "new identical" event.
   * Only a page whose records span more than one second is refused. Identical records share their time
   * and the log endpoints page in time order, so a legitimate next page repeats the keys of the one
   * before only when both lie in one second: there a run of identical events longer than a page (one
   * record, or several interleaved, X Y X Y over pages of two) looks exactly like a stall, and counts on.
   * (Threat feeds page in the feed's order, but their STIX objects carry ids of their own: a feed file
   * repeating the one before is a stall.) A stall on a one-second page is not caught here: its records go
   * out again as further identical events (docs/RELIABILITY.md, "What is not guaranteed").
   */
  private refuseRepeatedPage(
    request: { from: number; to: number; pageToken: string | null },
    items: ReadonlyArray<{ key: string; timeMs: number }>,
  ): void {
    if (items.length === 0) return;
    // Only pages of one window are compared (a re-check asks a span the main pass read before), and only
    // under another page token: the same page asked again (a resume inside it) is not a repeat.
    const window = `${request.from}-${request.to}`;
    const keys = items.map((item) => item.key).join(',');
    const previous = this.previousPage;
    const repeated =
      request.pageToken !== null &&
      previous !== undefined &&
      previous.window === window &&
      previous.pageToken !== request.pageToken &&
      previous.keys === keys &&
      items.some((item) => floorToSecond(item.timeMs) !== floorToSecond(items[0]!.timeMs));
    this.previousPage = { window, pageToken: request.pageToken, keys };
    if (repeated) {
      throw pagingStalled(
        this.api.context(),
        `the page read has the same ${items.length} records, in the same order, as the page before it`,
      );
    }
  }

  /** The page's records with their times and ids, in Mimecast's order. */
  private items(records: readonly Record<string, unknown>[], ids: OccurrenceIds) {
    return records.map((record) => {
      const timeMs = this.api.timeOf(record);
      if (timeMs === undefined) {
        throw protocolError(
          this.api.context(),
          `Record without a valid ${this.api.timeFieldNames}`,
          recordExcerpt(record),
        );
      }
      const id = ids.idOf(record);
      return { record, timeMs, id, key: ids.lastKey };
    });
  }

  private kept(
    items: ReadonlyArray<{ record: Record<string, unknown>; timeMs: number; id: string }>,
    keep: readonly boolean[],
  ): SourceRecord[] {
    const records: SourceRecord[] = [];
    items.forEach((item, index) => {
      if (keep[index]) {
        records.push({
          id: item.id,
          logType: this.api.logTypeOf(item.record),
          time: toIsoUtc(item.timeMs),
          event: item.record,
        });
      }
    });
    return records;
  }

  private warnLateOverflow(starts: readonly string[], settings: WindowSettings): void {
    for (const start of starts) {
      this.deps.log.warn(
        'Too many events to remember for the late-data re-check; that span will be forwarded again whole (repeats keep their ids)',
        { stream: this.stream, span: start, maxLateDataIds: settings.lateMaxIds },
      );
    }
  }

  async probe(budget: CallBudget): Promise<void> {
    const now = this.deps.clock.now();
    const to = now - this.deps.settings.latenessMarginMs;
    await this.api.fetch({ from: to - 3_600_000, to, pageToken: null }, 1, budget);
  }

  private warnClamp(requestedMs: number, clampedMs: number): void {
    this.deps.log.warn(
      'Start is older than Mimecast keeps this log; starting at the look-back limit instead',
      {
        stream: this.stream,
        requestedStart: toIsoUtc(requestedMs),
        start: toIsoUtc(clampedMs),
        maxLookbackDays: this.api.maxLookbackMs === undefined ? undefined : this.api.maxLookbackMs / DAY_MS,
      },
    );
  }
}
