/** The late-data re-check's cursor rules (lambda/mimecast/streams/late-data.ts), as pure functions. */
import { eventId } from '../../lambda/core/envelope';
import {
  afterRecheckPage,
  type LateSettings,
  type LateState,
  nextRecheck,
  type Recheck,
  recheckWindow,
  rememberDelivered,
  SEEN_ID_CHARS,
  seenKey,
} from '../../lambda/mimecast/streams/late-data';

const MIN = 60_000;
const T0 = Date.UTC(2024, 5, 1, 12, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();
const settings: LateSettings = {
  lateDataMs: 60 * MIN,
  latenessMarginMs: 5 * MIN,
  lateBucketMs: 10 * MIN,
  lateMaxIds: 100,
};
const id = (n: number) => eventId('audit', { n });
const item = (n: number, timeMs: number) => ({ id: id(n), timeMs });
const empty: LateState = { buckets: [] };

test('an id is kept as its first 48 bits, 8 characters', () => {
  expect(seenKey(id(1))).toHaveLength(SEEN_ID_CHARS);
  expect(Buffer.from(seenKey(id(1)), 'base64url').toString('hex')).toBe(id(1).slice(0, 12));
});

describe('rememberDelivered', () => {
  it('keeps only the spans a window covered while they were fresh, the first from the window start', () => {
    // A catch-up window of a day: only the spans whose end + 60 min lies after its end + 5 min.
    const window = { from: T0 - 24 * 60 * MIN + 30_000, to: T0 + 60 * MIN, skipIds: [] };
    const { late } = rememberDelivered(empty, window, [], settings);
    expect(late.buckets.map((b) => b.start)).toEqual(
      [0, 10, 20, 30, 40, 50, 60].map((m) => iso(T0 + m * MIN)),
    );
    const fresh = rememberDelivered(
      empty,
      { from: T0 + 3 * MIN, to: T0 + 24 * MIN, skipIds: [] },
      [],
      settings,
    );
    expect(fresh.late.buckets.map((b) => b.start)).toEqual([
      iso(T0 + 3 * MIN),
      iso(T0 + 10 * MIN),
      iso(T0 + 20 * MIN),
    ]);
  });

  it('remembers each id once in the span of its time, the previous boundary ids in the first span', () => {
    const window = { from: T0, to: T0 + 15 * MIN, skipIds: [id(0)] };
    const items = [item(1, T0 + 14 * MIN), item(2, T0 + 1000), item(1, T0 + 14 * MIN), item(3, T0 - 1000)];
    const { late, overflowed } = rememberDelivered(empty, window, items, settings);
    expect(overflowed).toEqual([]);
    expect(late.buckets).toEqual([
      { start: iso(T0), seen: seenKey(id(0)) + seenKey(id(2)) },
      { start: iso(T0 + 10 * MIN), seen: seenKey(id(1)) },
    ]);
    // The next page of the window adds to the same spans.
    const again = rememberDelivered(late, window, [item(4, T0 + 2000), item(2, T0 + 1000)], settings);
    expect(again.late.buckets[0]!.seen).toBe(seenKey(id(0)) + seenKey(id(2)) + seenKey(id(4)));
  });

  it('never keeps a span again once it was re-checked or dropped', () => {
    const { late } = rememberDelivered(
      { buckets: [], doneUntil: iso(T0 + 10 * MIN) },
      { from: T0, to: T0 + 15 * MIN, skipIds: [] },
      [item(1, T0 + 1000)],
      settings,
    );
    expect(late.buckets).toEqual([{ start: iso(T0 + 10 * MIN), seen: '' }]);
  });

  it('past the id bound, the span that would pass it forgets its ids and is reported', () => {
    const tight = { ...settings, lateMaxIds: 3 };
    const window = { from: T0, to: T0 + 15 * MIN, skipIds: [] };
    const first = rememberDelivered(empty, window, [item(1, T0), item(2, T0 + 11 * MIN)], tight);
    const second = rememberDelivered(
      first.late,
      window,
      [item(3, T0 + 12 * MIN), item(4, T0 + 13 * MIN)],
      tight,
    );
    expect(second.overflowed).toEqual([iso(T0 + 10 * MIN)]);
    expect(second.late.buckets).toEqual([
      { start: iso(T0), seen: seenKey(id(1)) },
      { start: iso(T0 + 10 * MIN), seen: null },
    ]);
    // A forgetting span stays so; the others keep counting within the bound.
    const third = rememberDelivered(second.late, window, [item(5, T0 + 1000), item(6, T0 + 14 * MIN)], tight);
    expect(third.late.buckets.map((b) => b.seen)).toEqual([seenKey(id(1)) + seenKey(id(5)), null]);
  });
});

describe('nextRecheck', () => {
  const late: LateState = {
    buckets: [
      { start: iso(T0), seen: seenKey(id(1)) },
      { start: iso(T0 + 10 * MIN), seen: '' },
      { start: iso(T0 + 20 * MIN), seen: '' },
    ],
  };

  it('waits until a span is the horizon old', () => {
    expect(nextRecheck(late, T0 + 25 * MIN, T0 + 70 * MIN - 1, true, settings)).toEqual(late);
  });

  it('begins the re-check of the oldest due span, up to where the next window starts', () => {
    const next = nextRecheck(late, T0 + 5 * MIN + 500, T0 + 70 * MIN, false, settings);
    expect(next.recheck).toEqual({ until: iso(T0 + 5 * MIN), pageToken: null, caughtUp: false });
    expect(recheckWindow(next as LateState & { recheck: Recheck })).toEqual({ from: T0, to: T0 + 5 * MIN });
    expect(nextRecheck(late, T0 + 25 * MIN, T0 + 70 * MIN, true, settings).recheck?.until).toBe(
      iso(T0 + 10 * MIN),
    );
  });

  it('drops due spans the next window covers anyway (an idle stream costs no call)', () => {
    const idle = nextRecheck(late, T0 - MIN, T0 + 85 * MIN, true, settings);
    expect(idle).toEqual({ buckets: [late.buckets[2]], doneUntil: iso(T0 + 20 * MIN) });
  });
});

describe('afterRecheckPage', () => {
  const late: LateState & { recheck: Recheck } = {
    buckets: [
      { start: iso(T0), seen: seenKey(id(1)) },
      { start: iso(T0 + 10 * MIN), seen: '' },
    ],
    recheck: { until: iso(T0 + 10 * MIN), pageToken: null, caughtUp: true },
  };
  const items = [item(1, T0 + 1000), item(2, T0 + 2000), item(3, T0 + 10 * MIN), item(4, T0 - 1000)];
  /** The last page of a re-check (no page token) while the next window starts at T0 + 15 min. */
  const lastPage = (state: typeof late, records: typeof items, nowMs: number) =>
    afterRecheckPage(state, records, null, undefined, { fromMs: T0 + 15 * MIN }, nowMs, settings);

  it('forwards what the first pass did not deliver, inside the span only, and follows the page token', () => {
    const tail = { second: iso(T0), counts: { k: 1 } };
    const outcome = afterRecheckPage(
      late,
      items,
      'p2',
      tail,
      { fromMs: T0 + 15 * MIN },
      T0 + 75 * MIN,
      settings,
    );
    expect(outcome.keep).toEqual([false, true, false, false]);
    expect(outcome).toMatchObject({ done: false, caughtUp: false });
    expect(outcome.late.recheck).toEqual({ ...late.recheck, pageToken: 'p2', tail });
  });

  it('ends by forgetting the span and reports what the first pass reported', () => {
    const outcome = lastPage(late, items, T0 + 75 * MIN);
    expect(outcome).toMatchObject({ done: true, caughtUp: true });
    expect(outcome.late).toEqual({ buckets: [late.buckets[1]], doneUntil: iso(T0 + 10 * MIN) });
  });

  it('goes straight on to the next due span', () => {
    const outcome = lastPage(late, [], T0 + 80 * MIN);
    expect(outcome).toMatchObject({ done: false, caughtUp: false });
    expect(outcome.late.recheck).toEqual({ until: iso(T0 + 15 * MIN), pageToken: null, caughtUp: true });
  });

  it('forwards everything in a span that forgot its ids', () => {
    const forgot = { ...late, buckets: [{ start: iso(T0), seen: null }, late.buckets[1]!] };
    const outcome = lastPage(forgot, items, T0 + 75 * MIN);
    expect(outcome.keep).toEqual([true, true, false, false]);
  });
});
