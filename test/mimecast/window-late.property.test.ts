/**
 * The window source (lambda/mimecast/streams/window.ts) over a model of a Mimecast window endpoint, as a
 * property: events become visible up to the late-data horizon after their time, some records have
 * identical copies (some of them visible later than the others), pages are small, ticks come at random
 * intervals, and the "engine" is interrupted inside pages and resumes from the page's cursor and an
 * offset, as the real one does after a crash. Ticks go on until the source has nothing left to do;
 * then every record held n times has arrived under n distinct ids, and no id twice.
 *
 * Only the endpoint is modelled (a `WindowApi`, no HTTP): the source, its cursor rules, the occurrence
 * numbering and the late-data re-check are the real code.
 */
import fc from 'fast-check';
import { canonicalJson } from '../../lambda/core/envelope';
import type { Cursor } from '../../lambda/core/ports';
import { PagingStalledError } from '../../lambda/errors';
import type { SourceDeps, StreamSettings } from '../../lambda/mimecast/streams/common';
import { type WindowAnswer, type WindowApi, WindowSource } from '../../lambda/mimecast/streams/window';
import type { WindowCursor } from '../../lambda/mimecast/streams/window-cursor';

const T0 = Date.UTC(2024, 5, 1, 0, 0, 0);
const MINUTE = 60_000;
const MARGIN_MS = 5 * MINUTE;
const HORIZON_MS = 60 * MINUTE;

interface ModelEvent {
  record: Record<string, unknown>;
  time: number;
  visibleAt: number;
  seq: number;
}

/**
 * Visible records in [from, to] (whole seconds, inclusive), newest first, paged over a snapshot taken at
 * the first page. `resumeAsOf`, when set, is the snapshot of a page asked again to resume inside it: the
 * engine's in-page resume relies on the same answer (core/ports.ts, `StreamSource.fetchPage`; what
 * happens when Mimecast answers differently is in docs/RELIABILITY.md, "Found while writing this").
 */
function modelApi(events: ModelEvent[], pageSize: number, now: () => number) {
  const model = {
    resumeAsOf: undefined as number | undefined,
    lastAsOf: 0,
    api: {
      stream: 'audit',
      timeFieldNames: 't',
      context: () => ({
        stream: 'audit',
        endpoint: 'POST /model',
        apiVersion: 2,
        permission: '',
        role: 'api',
      }),
      async fetch(request: { from: number; to: number; pageToken: string | null }): Promise<WindowAnswer> {
        const [asOf, offset] =
          request.pageToken === null
            ? [model.resumeAsOf ?? now(), 0]
            : (request.pageToken.split(':').map(Number) as [number, number]);
        model.lastAsOf = asOf;
        const matching = events
          .filter((e) => e.visibleAt <= asOf && e.time >= request.from && e.time < request.to + 1000)
          .sort((a, b) => b.time - a.time || a.seq - b.seq);
        const page = matching.slice(offset, offset + pageSize);
        const more = offset + pageSize < matching.length;
        return {
          records: page.map((e) => e.record),
          nextToken: more ? `${asOf}:${offset + pageSize}` : null,
        };
      },
      timeOf: (record: Record<string, unknown>) => record.t as number,
      logTypeOf: () => 'audit',
    } satisfies WindowApi,
  };
  return model;
}

const settings: StreamSettings = {
  latenessMarginMs: MARGIN_MS,
  lateDataMs: HORIZON_MS,
  maxLateDataIds: 20_000,
  catchUpSlackMs: 60_000,
  jsonPageSize: 500,
  siemBatchPageSize: 100,
  maxJsonBytes: 1 << 20,
  maxRecordChars: 1 << 20,
  maxBoundaryIds: 1000,
  fileUrlRelistAttempts: 0,
  siemFileFormat: 'json',
  siemTypes: [],
  siemCiTypes: [],
  snapshotIntervalMs: 86_400_000,
};

const budget = { signal: new AbortController().signal, deadline: Number.POSITIVE_INFINITY };

/** One record of the model: `copies` identical events at `offsetSec` (+ `ms`), copy i visible `lateSec[i]` late. */
interface Spec {
  offsetSec: number;
  ms: number;
  copies: number;
  lateSec: number[];
  payload: number;
}

/**
 * Runs the source over the model until it has nothing left to do: the specs' events, pages of
 * `pageSize`, ticks `tickGaps` seconds apart (cycled), each page interrupted after the number of records
 * `interruptions` gives (cycled; 0 = not interrupted). Returns the events held and what was delivered.
 */
async function collectAll(
  specs: readonly Spec[],
  pageSize: number,
  tickGaps: number[],
  interruptions: number[],
) {
  let now = T0;
  const events: ModelEvent[] = [];
  specs.forEach((spec, n) => {
    const time = T0 + spec.offsetSec * 1000 + spec.ms;
    // Copies share every field: the same event happening twice in one second.
    const record = { t: time, what: `event ${n % 7}`, payload: spec.payload };
    for (let copy = 0; copy < spec.copies; copy += 1) {
      events.push({ record, time, visibleAt: time + spec.lateSec[copy]! * 1000, seq: events.length });
    }
  });
  const deps = { settings, clock: { now: () => now }, log: silent } as unknown as SourceDeps;
  const model = modelApi(events, pageSize, () => now);
  const source = new WindowSource(deps, model.api);

  const delivered: Array<{ id: string; record: unknown }> = [];
  let position: { cursor: Cursor; offset: number; asOf?: number } = {
    cursor: source.seed(new Date(T0), new Date(T0)),
    offset: 0,
  };
  let interrupt = 0;
  // Every event is visible by the last one's time + the horizon, and its span's re-check is due one
  // span later. Ticks go on past that until the main pass ends caught up with no re-check left:
  // interruptions slow the source down (a run interrupted after every record delivers one record a
  // tick), and what it has not reached yet is not lost, it is still ahead of the stored position.
  // A re-check page that ends caught up does not count: it reports the main pass as it was when the
  // re-check began, maybe ticks ago, and leaves the span's boundary second to the main pass.
  const allDue = T0 + 2 * 3600_000 + HORIZON_MS + 30 * MINUTE;
  let settledAt = Number.NEGATIVE_INFINITY;
  for (let tick = 0; settledAt < allDue && tick < 1000; tick += 1) {
    const seenThisTick = new Set<string>();
    for (let call = 0; call < 200; call += 1) {
      model.resumeAsOf = position.asOf;
      const page = await source.fetchPage(position.cursor, budget);
      const asOf = model.lastAsOf;
      const asked = page.cursor ?? position.cursor;
      const stopAfter = interruptions[interrupt++ % interruptions.length]!;
      let index = 0;
      let stopped = false;
      for await (const record of page.records) {
        index += 1;
        if (index <= position.offset) continue;
        // The engine drops an id it forwarded earlier in the same tick.
        if (!seenThisTick.has(record.id)) delivered.push({ id: record.id, record: record.event });
        seenThisTick.add(record.id);
        if (stopAfter > 0 && index === stopAfter) {
          // Interrupted: the next run resumes inside this page.
          position = { cursor: asked, offset: index, asOf };
          stopped = true;
          break;
        }
      }
      if (stopped) break;
      const end = page.end();
      position = { cursor: end.next, offset: 0 };
      if (end.caughtUp) {
        if ((asked as WindowCursor).late?.recheck === undefined) settledAt = now;
        break;
      }
    }
    now += tickGaps[tick % tickGaps.length]! * 1000;
  }
  // A tick at or after `allDue` ended the main pass caught up: nothing was left to deliver.
  expect(settledAt).toBeGreaterThanOrEqual(allDue);
  return { events, delivered };
}

/** Every record held n times arrived n times, under n distinct ids; no id arrived twice. */
function expectEachOnce({ events, delivered }: Awaited<ReturnType<typeof collectAll>>): void {
  const ids = delivered.map((d) => d.id);
  expect(ids.length - new Set(ids).size).toBe(0);
  const count = (records: unknown[]) => {
    const counts: Record<string, number> = {};
    for (const record of records) counts[canonicalJson(record)] = (counts[canonicalJson(record)] ?? 0) + 1;
    return counts;
  };
  expect(count(delivered.map((d) => d.record))).toEqual(count(events.map((e) => e.record)));
}

test('every record held n times arrives under n ids, each once, with lateness up to the horizon', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          offsetSec: fc.integer({ min: 0, max: 2 * 3600 }),
          ms: fc.constantFrom(0, 0, 250),
          copies: fc.integer({ min: 1, max: 3 }),
          lateSec: fc.array(fc.integer({ min: 0, max: HORIZON_MS / 1000 }), { minLength: 3, maxLength: 3 }),
          payload: fc.integer({ min: 0, max: 3 }),
        }),
        { maxLength: 40 },
      ),
      fc.integer({ min: 1, max: 4 }),
      fc.array(fc.integer({ min: 60, max: 900 }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 8 }),
      async (specs, pageSize, tickGaps, interruptions) => {
        expectEachOnce(await collectAll(specs, pageSize, tickGaps, interruptions));
      },
    ),
    { numRuns: 200 },
  );
});

test('two events each happening twice in one second, served X Y X Y in pages of two, are four events', async () => {
  // `what` is the spec's index modulo 7: specs 0 and 7 are the same record X, specs 1 and 8 the same Y,
  // so the second has X Y X Y in Mimecast's order and its two pages hold the same records in the same order.
  const at = (offsetSec: number): Spec => ({ offsetSec, ms: 0, copies: 1, lateSec: [0, 0, 0], payload: 0 });
  const specs = Array.from({ length: 9 }, (_, n) => at(n % 7 < 2 ? 100 : 500 + n));
  expectEachOnce(await collectAll(specs, 2, [600], [0]));
});

describe('a page served again under a new token', () => {
  /** An endpoint that answers every page token with the first page again, under a fresh token. */
  function stalling(records: Record<string, unknown>[]) {
    let calls = 0;
    const api: WindowApi = {
      ...modelApi([], 1, () => T0).api,
      async fetch(): Promise<WindowAnswer> {
        calls += 1;
        return { records, nextToken: `page-${calls + 1}` };
      },
    };
    const now = T0 + 3600_000;
    const deps = { settings, clock: { now: () => now }, log: silent } as unknown as SourceDeps;
    const source = new WindowSource(deps, api);
    return { source, first: source.seed(new Date(T0), new Date(now)) };
  }
  const record = (offsetSec: number, what: string) => ({ t: T0 + offsetSec * 1000, what, payload: 0 });

  it('is refused when its records span two seconds: Mimecast pages in time order, so it is no new data', async () => {
    const { source, first } = stalling([record(101, 'a'), record(100, 'b')]);
    const page = await source.fetchPage(first, budget);
    await expect(source.fetchPage(page.end().next, budget)).rejects.toThrow(PagingStalledError);
  });

  it('is read as new events when its records share one second: a longer run of identical events looks the same', async () => {
    const { source, first } = stalling([record(100, 'a'), record(100, 'b')]);
    const page = await source.fetchPage(first, budget);
    const again = await source.fetchPage(page.end().next, budget);
    const ids = async (records: AsyncIterable<{ id: string }>) => {
      const out: string[] = [];
      for await (const r of records) out.push(r.id);
      return out;
    };
    const firstIds = await ids(page.records);
    const againIds = await ids(again.records);
    // The same two records, counted on: occurrence 2 of each, new ids.
    expect(new Set([...firstIds, ...againIds]).size).toBe(4);
  });
});

const silent = { debug() {}, info() {}, warn() {}, error() {} };
