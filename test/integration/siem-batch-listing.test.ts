/**
 * Issue 11 items 3 and 4: API 2.0 SIEM batch listings as the service really serves them.
 * - Item 3: listings repeat file URLs, within a page and across pages, padded out to the page size (each
 *   copy freshly signed; variant `v2BatchRepeatUrls: 'pad'`). Each file is downloaded and forwarded once.
 * - Item 4: listing dates have whole-day resolution, so asking by date again lists the whole day again.
 *   Under variant `v2BatchNextPageWhenCaughtUp: 'omit'` a caught-up listing carries no `@nextPage`:
 *   a type keeps the token it had and is never listed by dates once it had one, and a type that never
 *   got one (listed by dates again) forwards nothing twice.
 */
import type { RecordedRequest } from '../simulator';
import {
  allOutcomes,
  deliveryReport,
  exactlyOnce,
  outcomes,
  type Rig,
  rigPerTest,
  STREAM_PATHS,
} from './support';

const rigFor = rigPerTest();
const SIEM = ['siem'] as const;

/** Batch file downloads (no API version: pre-signed URLs), by path. */
function downloads(r: Rig): string[] {
  return r.sim
    .requests()
    .filter((q) => q.api === undefined)
    .map((q) => q.path);
}

function listings(r: Rig): RecordedRequest[] {
  return r.sim.requests().filter((q) => q.path === STREAM_PATHS.siem[2]);
}

/** Three ticks: the backlog, an idle one, then new events. Each must forward what is new exactly once. */
async function collectThrice(r: Rig): Promise<void> {
  const first = await r.run({ owner: 'first', streams: SIEM });
  expect(outcomes(first)).toEqual(allOutcomes(SIEM, 'caught-up'));
  expect(deliveryReport(r, SIEM)).toEqual(exactlyOnce(SIEM));

  const idle = await r.run({ owner: 'idle', streams: SIEM });
  expect(outcomes(idle)).toEqual(allOutcomes(SIEM, 'caught-up'));
  expect(idle.streams[0]!.events).toBe(0);

  r.sim.publish('siem', 7, { api: 2 });
  const later = await r.run({ owner: 'later', streams: SIEM });
  expect(outcomes(later)).toEqual(allOutcomes(SIEM, 'caught-up'));
  expect(deliveryReport(r, SIEM)).toEqual(exactlyOnce(SIEM));
  expect(await r.checkpoint('siem')).toMatchObject({ consecutiveFailures: 0, offset: 0 });
}

describe('API 2: SIEM batch listings', () => {
  it('item 3: listings padded with repeated file URLs: each file downloaded and forwarded once', async () => {
    const r = await rigFor({
      api: 2,
      simulator: { events: { siem: 60 }, variants: { v2BatchRepeatUrls: 'pad' } },
    });
    await collectThrice(r);
    const paths = downloads(r);
    expect(paths.length).toBeGreaterThan(0);
    expect(paths.length).toBe(new Set(paths).size);
  });

  it('item 4: caught-up listings without @nextPage: never back to dates once a type had a token, nothing forwarded twice', async () => {
    const r = await rigFor({
      api: 2,
      simulator: { events: { siem: 60 }, variants: { v2BatchNextPageWhenCaughtUp: 'omit' } },
    });
    await collectThrice(r);
    const paths = downloads(r);
    expect(paths.length).toBe(new Set(paths).size);
    // Per type, in order: once a listing followed a token, none went back to dates.
    const byType = new Map<string, RecordedRequest[]>();
    for (const q of listings(r)) byType.set(q.query.type!, [...(byType.get(q.query.type!) ?? []), q]);
    const backToDates = [...byType].filter(([, calls]) => {
      const firstToken = calls.findIndex((q) => q.query.nextPage !== undefined);
      return firstToken >= 0 && calls.slice(firstToken).some((q) => q.query.dateRangeStartsAt !== undefined);
    });
    expect(backToDates.map(([type]) => type)).toEqual([]);
    // Both kinds of type occurred: some followed a token, some were listed by dates again.
    const withToken = [...byType.values()].filter((calls) =>
      calls.some((q) => q.query.nextPage !== undefined),
    );
    const datedAgain = [...byType.values()].filter(
      (calls) => calls.filter((q) => q.query.dateRangeStartsAt !== undefined).length > 1,
    );
    expect({ withToken: withToken.length > 0, datedAgain: datedAgain.length > 0 }).toEqual({
      withToken: true,
      datedAgain: true,
    });
  });
});
