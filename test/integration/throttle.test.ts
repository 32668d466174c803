/**
 * Throttling end to end: Mimecast answers 429 with X-RateLimit-Reset on one stream in the middle of its
 * paging. That stream delivers what it fetched, stores `notBefore` and stops; every other stream of the
 * same tick finishes unaffected; the next run after the wait completes it with nothing lost.
 */
import type { StreamId } from '../../lambda/core/streams';
import { CommitWitness } from '../kit/stores';
import {
  ALL_STREAMS,
  allOutcomes,
  deliveryReport,
  exactlyOnce,
  expectNeverAhead,
  firstPage,
  outcomes,
  rigPerTest,
  STREAM_PATHS,
  sameSet,
} from './support';

const WAIT_MS = 30_000;

const rigFor = rigPerTest();

describe.each([1, 2] as const)('API %i: throttled mid-paging', (api) => {
  it.each(['audit', 'siem'] as const)('stops %s until the reset, and only that stream', async (throttled) => {
    const r = await rigFor({ api });
    const path = STREAM_PATHS[throttled][api];
    const fetched = await firstPage(r, throttled);
    r.sim.clearRequests();
    const calls = () => r.sim.requests().filter((q) => q.path === path).length;
    // A long throttle on the second page; ttp-url gets a short one, waited out in place.
    r.sim.inject({ path, api, nth: 2, fault: { kind: 'throttle', hint: 'reset-ms', waitMs: WAIT_MS } });
    r.sim.inject({
      path: STREAM_PATHS['ttp-url'][api],
      api,
      nth: 2,
      fault: { kind: 'throttle', hint: 'reset-ms', waitMs: 300 },
    });
    const witness = new CommitWitness(r.dynamo.store, (s) => r.delivered(s), [throttled]);

    const before = r.clock.now();
    const first = await r.run({ owner: 'first', store: witness });
    const after = r.clock.now();
    expect(outcomes(first)).toEqual({ ...allOutcomes(ALL_STREAMS, 'caught-up'), [throttled]: 'throttled' });
    // It delivered the page it had fetched (its last records were still batching), and called no more.
    const result = first.streams.find((s) => s.stream === throttled)!;
    expect(result).toMatchObject({ events: fetched.length, pages: 1, throttledCalls: 1, mimecastErrors: {} });
    expect(calls()).toBe(2);
    expect(sameSet(r.delivered(throttled), fetched)).toBe(true);
    expect(first.streams.find((s) => s.stream === 'ttp-url')).toMatchObject({ throttledCalls: 1 });
    // Nobody waited for the long reset.
    expect(Date.parse(first.finishedAt) - Date.parse(first.startedAt)).toBeLessThan(WAIT_MS / 2);

    const checkpoint = await r.checkpoint(throttled);
    expect(checkpoint?.notBefore).toBeGreaterThanOrEqual(before + WAIT_MS);
    expect(checkpoint?.notBefore).toBeLessThanOrEqual(after + WAIT_MS);
    expect(checkpoint).toMatchObject({ offset: 0, consecutiveFailures: 0 });
    expect(checkpoint?.lease).toBeUndefined();
    expect(checkpoint?.totals.events).toBe(fetched.length);
    const others = ALL_STREAMS.filter((s): s is Exclude<StreamId, typeof throttled> => s !== throttled);
    expect(deliveryReport(r, others)).toEqual(exactlyOnce(others));
    await expectNeverAhead(r, witness);

    // Before the reset: the stream waits without calling Mimecast.
    const callsBefore = calls();
    const waiting = await r.run({ owner: 'waiting' });
    expect(outcomes(waiting)).toEqual({ ...allOutcomes(ALL_STREAMS, 'caught-up'), [throttled]: 'waiting' });
    expect(calls()).toBe(callsBefore);

    r.clock.advance(WAIT_MS + 1000);
    const resumed = await r.run({ owner: 'resumed' });
    expect(outcomes(resumed)).toEqual(allOutcomes(ALL_STREAMS, 'caught-up'));
    expect(deliveryReport(r)).toEqual(exactlyOnce());
    expect((await r.checkpoint(throttled))?.notBefore).toBeUndefined();
  });
});
