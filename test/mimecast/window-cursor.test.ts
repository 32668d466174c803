import fc from 'fast-check';
import { eventId } from '../../lambda/core/envelope';
import {
  afterPage as afterPageCounting,
  LOOKBACK_CLAMP_AT_MS,
  LOOKBACK_SAFETY_MS,
  resolveWindow,
  seedWindow,
  type WindowCursor,
  WindowCursorSchema,
  type WindowSettings,
  windowRequest,
} from '../../lambda/mimecast/streams/window-cursor';

const T0 = Date.UTC(2024, 5, 1, 0, 0, 0);
/** Without the late-data re-check (tested on its own below). */
const settings: WindowSettings = {
  latenessMarginMs: 300_000,
  catchUpSlackMs: 60_000,
  maxBoundaryIds: 1000,
  lateDataMs: 0,
  lateBucketMs: 600_000,
  lateMaxIds: 20_000,
};
type AfterPage = Parameters<typeof afterPageCounting>;
/** Pages of distinct records: each key numbered once. */
const afterPage = (
  c: AfterPage[0],
  r: AfterPage[1],
  i: AfterPage[2],
  n: AfterPage[3],
  at: number,
  s: WindowSettings,
) => afterPageCounting(c, r, i, n, at, s, () => 1);
const iso = (ms: number) => new Date(ms).toISOString();

describe('seedWindow', () => {
  it('starts at the start and ends the lateness margin behind now', () => {
    const { cursor } = seedWindow(T0, T0 + 3_600_000, settings);
    expect(cursor).toEqual({
      from: iso(T0),
      to: iso(T0 + 3_600_000 - 300_000),
      pageToken: null,
      skipIds: [],
      newest: iso(T0),
      newestIds: [],
    });
  });

  it('never ends before it starts (start within the margin)', () => {
    const { cursor } = seedWindow(T0, T0 + 10_000, settings);
    expect(cursor.to).toBe(cursor.from);
  });

  it('clamps the start to the look-back limit and says so', () => {
    const now = T0 + 100 * 86_400_000;
    const seeded = seedWindow(T0, now, { ...settings, maxLookbackMs: 60 * 86_400_000 });
    expect(seeded.clampedFrom).toBe(now - 60 * 86_400_000 + LOOKBACK_SAFETY_MS);
    expect(seeded.cursor.from).toBe(iso(now - 60 * 86_400_000 + LOOKBACK_SAFETY_MS));
  });
});

describe('windowRequest', () => {
  const cursor = seedWindow(T0, T0 + 3_600_000, settings).cursor;

  it('asks exactly what the cursor says', () => {
    expect(windowRequest(cursor, T0 + 99 * 3_600_000, settings)).toEqual({
      from: T0,
      to: T0 + 3_300_000,
      pageToken: null,
    });
  });

  it('clamps a window whose start fell out of the look-back, but never mid-window', () => {
    const limit = { ...settings, maxLookbackMs: 86_400_000 };
    const now = T0 + 3 * 86_400_000;
    expect(windowRequest(cursor, now, limit).clampedFrom).toBe(now - 86_400_000 + LOOKBACK_SAFETY_MS);
    expect(windowRequest({ ...cursor, pageToken: 'p2' }, now, limit)).toEqual({
      from: T0,
      to: T0 + 3_300_000,
      pageToken: 'p2',
    });
  });
});

describe('afterPage', () => {
  const cursor: WindowCursor = {
    from: iso(T0),
    to: iso(T0 + 600_000),
    pageToken: null,
    skipIds: ['old-1'],
    newest: iso(T0),
    newestIds: ['old-1'],
  };
  const request = { from: T0, to: T0 + 600_000, pageToken: null };

  it('follows the page token with the window frozen', () => {
    const outcome = afterPage(
      cursor,
      request,
      [{ id: 'a', key: 'a', timeMs: T0 + 5000 }],
      'next-1',
      T0 + 2_000_000,
      settings,
    );
    expect(outcome.caughtUp).toBe(false);
    expect(outcome.next).toEqual({
      from: iso(T0),
      to: iso(T0 + 600_000),
      pageToken: 'next-1',
      skipIds: ['old-1'],
      newest: iso(T0 + 5000),
      newestIds: ['a'],
      // The counts of the page's last second, for identical records straddling the page boundary.
      tail: { second: iso(T0 + 5000), counts: { a: 1 } },
    });
  });

  it('drops boundary repeats from the previous window and starts the next one at the newest event', () => {
    const items = [
      { id: 'old-1', key: 'old-1', timeMs: T0 },
      { id: 'b', key: 'b', timeMs: T0 + 9000 },
      { id: 'c', key: 'c', timeMs: T0 + 9500 },
      { id: 'a', key: 'a', timeMs: T0 + 1000 },
    ];
    const now = T0 + 600_000 + 300_000 + 10_000;
    const outcome = afterPage(cursor, request, items, null, now, settings);
    expect(outcome.keep).toEqual([false, true, true, true]);
    // The next window's end is left open; fetched now it ends the lateness margin behind now.
    expect(outcome.next).toEqual({
      from: iso(T0 + 9000),
      to: null,
      pageToken: null,
      skipIds: ['b', 'c'],
      newest: iso(T0 + 9000),
      newestIds: ['b', 'c'],
    });
    expect(windowRequest(outcome.next, now, settings).to).toBe(now - 300_000);
    expect(outcome.caughtUp).toBe(true);
  });

  it('stops on an empty page even if Mimecast still sends a next token', () => {
    const outcome = afterPage(cursor, request, [], 'String', T0 + 900_000, settings);
    expect(outcome.next.pageToken).toBeNull();
    expect(outcome.next.from).toBe(iso(T0));
    expect(outcome.next.skipIds).toEqual(['old-1']);
  });

  it('is not caught up when the next window reaches well past this one', () => {
    const now = T0 + 600_000 + 300_000 + 3_600_000;
    const outcome = afterPage(cursor, request, [], null, now, settings);
    expect(outcome.caughtUp).toBe(false);
    expect(outcome.next.to).toBeNull();
    expect(windowRequest(outcome.next, now, settings).to).toBe(T0 + 600_000 + 3_600_000);
  });

  it('keeps older events it is given (late data is never dropped by time)', () => {
    const outcome = afterPage(
      cursor,
      request,
      [{ id: 'z', key: 'z', timeMs: T0 - 50_000 }],
      null,
      T0 + 900_000,
      settings,
    );
    expect(outcome.keep).toEqual([true]);
    expect(outcome.next.from).toBe(iso(T0));
  });

  it('caps the boundary ids and reports the overflow', () => {
    const items = ['a', 'b', 'c'].map((id) => ({ id, key: id, timeMs: T0 + 7000 }));
    const outcome = afterPage(cursor, request, items, null, T0 + 900_000, { ...settings, maxBoundaryIds: 2 });
    expect(outcome.next.skipIds).toEqual(['a', 'b']);
    expect(outcome.boundaryOverflow).toBe(true);
  });
});

describe('open window ends (one call per tick when caught up)', () => {
  const open: WindowCursor = {
    from: iso(T0),
    to: null,
    pageToken: null,
    skipIds: ['old-1'],
    newest: iso(T0),
    newestIds: ['old-1'],
  };

  it('resolves an open end at fetch time to the lateness margin behind now, whole seconds', () => {
    const now = T0 + 3_600_000 + 750;
    expect(windowRequest(open, now, settings)).toEqual({ from: T0, to: T0 + 3_300_000, pageToken: null });
    expect(windowRequest(open, now + 600_000, settings).to).toBe(T0 + 3_900_000);
  });

  it('reports the resolved cursor, which asks the same question whenever it is fetched again', () => {
    const now = T0 + 3_600_000;
    const resolved = resolveWindow(open, now, settings);
    expect(resolved.cursor).toEqual({ ...open, to: iso(T0 + 3_300_000) });
    expect(resolved.request).toEqual({ from: T0, to: T0 + 3_300_000, pageToken: null });
    for (const later of [now, now + 60_000, now + 86_400_000]) {
      expect(windowRequest(resolved.cursor, later, settings)).toEqual(resolved.request);
      expect(resolveWindow(resolved.cursor, later, settings).cursor).toEqual(resolved.cursor);
    }
  });

  it('never resolves an end before the start: a start within the margin asks its one second', () => {
    const recent = { ...open, from: iso(T0 + 3_500_000), newest: iso(T0 + 3_500_000) };
    const { request } = resolveWindow(recent, T0 + 3_600_000, settings);
    expect(request).toEqual({ from: T0 + 3_500_000, to: T0 + 3_500_000, pageToken: null });
  });

  it('freezes the resolved end while following page tokens', () => {
    const now = T0 + 3_600_000;
    const { request } = resolveWindow(open, now, settings);
    const outcome = afterPage(open, request, [{ id: 'a', key: 'a', timeMs: T0 + 5000 }], 'p2', now, settings);
    expect(outcome.caughtUp).toBe(false);
    expect(outcome.next).toMatchObject({ from: iso(T0), to: iso(T0 + 3_300_000), pageToken: 'p2' });
    // The next page, even in a later tick, continues the same window.
    expect(windowRequest(outcome.next, now + 3_600_000, settings)).toEqual({
      from: T0,
      to: T0 + 3_300_000,
      pageToken: 'p2',
    });
  });

  it('is caught up after finishing an open window, however far behind the previous one was', () => {
    const now = T0 + 30 * 86_400_000;
    const { request } = resolveWindow(open, now, settings);
    const outcome = afterPage(open, request, [{ id: 'a', key: 'a', timeMs: T0 + 5000 }], null, now, settings);
    expect(outcome.caughtUp).toBe(true);
    expect(outcome.next).toEqual({
      from: iso(T0 + 5000),
      to: null,
      pageToken: null,
      skipIds: ['a'],
      newest: iso(T0 + 5000),
      newestIds: ['a'],
    });
  });

  it('asks again at once after a frozen window from an earlier tick (seed, or a resumed page-token chain)', () => {
    const frozen = { ...open, to: iso(T0 + 600_000), pageToken: 'p3' };
    const request = windowRequest(frozen, T0 + 7_200_000, settings);
    expect(afterPage(frozen, request, [], null, T0 + 7_200_000, settings).caughtUp).toBe(false);
    expect(afterPage(frozen, request, [], null, T0 + 600_000 + 330_000, settings).caughtUp).toBe(true);
  });

  it('clamps an open window to the look-back limit and reports the clamped cursor', () => {
    const limit = { ...settings, maxLookbackMs: 86_400_000 };
    const now = T0 + 3 * 86_400_000;
    const { request, cursor } = resolveWindow(open, now, limit);
    const start = now - 86_400_000 + LOOKBACK_SAFETY_MS;
    expect(request).toEqual({ from: start, to: now - 300_000, pageToken: null, clampedFrom: start });
    expect(cursor).toEqual({
      from: iso(start),
      to: iso(now - 300_000),
      pageToken: null,
      skipIds: [],
      newest: iso(start),
      newestIds: [],
    });
    // A resume while the clamped start is still clear of the limit asks the same question.
    expect(windowRequest(cursor, now + LOOKBACK_SAFETY_MS - LOOKBACK_CLAMP_AT_MS - 1000, limit)).toEqual({
      from: start,
      to: now - 300_000,
      pageToken: null,
    });
  });

  it('stores open ends, frozen ends (checkpoints written before open ends existed), never a token without an end', () => {
    expect(WindowCursorSchema.safeParse(open).success).toBe(true);
    expect(WindowCursorSchema.safeParse({ ...open, to: iso(T0 + 600_000) }).success).toBe(true);
    expect(WindowCursorSchema.safeParse({ ...open, to: iso(T0 + 600_000), pageToken: 'p2' }).success).toBe(
      true,
    );
    expect(WindowCursorSchema.safeParse({ ...open, pageToken: 'p2' }).success).toBe(false);
  });
});

/**
 * A model of a Mimecast window endpoint: events become visible (indexed) up to `margin` after their
 * time; a query returns visible events in [from, to] (whole seconds, inclusive), newest first, paged by offset.
 */
function modelApi(events: { id: string; time: number; visibleAt: number }[], pageSize: number) {
  return (req: { from: number; to: number; pageToken: string | null }, now: number) => {
    const matching = events
      .filter(
        (e) => e.visibleAt <= now && Math.floor(e.time / 1000) * 1000 >= req.from && e.time < req.to + 1000,
      )
      .sort((a, b) => b.time - a.time || a.id.localeCompare(b.id));
    const offset = req.pageToken === null ? 0 : Number(req.pageToken);
    const page = matching.slice(offset, offset + pageSize);
    return { page, next: offset + pageSize < matching.length ? String(offset + pageSize) : null };
  };
}

describe('window cursor over a model of Mimecast (property)', () => {
  it('delivers every event exactly once when lateness stays within the margin', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            offsetSec: fc.integer({ min: 0, max: 3600 }),
            ms: fc.integer({ min: 0, max: 999 }),
            lateSec: fc.integer({ min: 0, max: 300 }),
            payload: fc.integer(),
          }),
          { maxLength: 60 },
        ),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 30, max: 900 }),
        (specs, pageSize, tickSec) => {
          const events = specs.map((s, i) => {
            const time = T0 + s.offsetSec * 1000 + s.ms;
            const event = { n: i, payload: s.payload, t: time };
            return { id: eventId('audit', event), time, visibleAt: time + s.lateSec * 1000 };
          });
          const api = modelApi(events, pageSize);
          let now = T0;
          let cursor = seedWindow(T0, now, settings).cursor;
          const delivered: string[] = [];
          // Windows asked (first pages, sent or empty) per tick: one, whatever the tick found.
          const windowsPerTick: number[] = [];
          let windows = 0;
          for (let call = 0; call < 2000 && now < T0 + 3600_000 + 2 * 300_000 + tickSec * 2000; call += 1) {
            const request = windowRequest(cursor, now, settings);
            if (request.pageToken === null) windows += 1;
            const { page, next } = api(request, now);
            const outcome = afterPage(
              cursor,
              request,
              page.map((e) => ({ id: e.id, key: e.id, timeMs: e.time })),
              next,
              now,
              settings,
            );
            page.forEach((e, i) => {
              if (outcome.keep[i]) delivered.push(e.id);
            });
            cursor = outcome.next;
            if (outcome.caughtUp) {
              windowsPerTick.push(windows);
              windows = 0;
              now += tickSec * 1000;
            }
          }
          expect([...delivered].sort()).toEqual(events.map((e) => e.id).sort());
          expect(windowsPerTick.length).toBeGreaterThan(0);
          expect(windowsPerTick.filter((n) => n !== 1)).toEqual([]);
        },
      ),
      { numRuns: 150 },
    );
  });
});
