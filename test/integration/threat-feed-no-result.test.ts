/**
 * Issue 11 item 1: a threat feed with nothing (more) in its window. Mimecast answers HTTP 200 with `fail[]`
 * code `err_threat_intel_feed_no_result_found` (the simulator's default `threatFeedEmptyAnswer`), on both
 * API versions. That means "caught up", not an error: the stream stays healthy and its next tick goes on
 * and collects what is new. Two ways to meet it: a window with no indicators at all, and the token that
 * came with the last file of a walk (variant `threatFeedTokenOnLastFile`).
 */
import type { StreamId } from '../../lambda/core/streams';
import { allOutcomes, deliveryReport, exactlyOnce, MARGIN_S, outcomes, rigPerTest } from './support';

const FEEDS: readonly StreamId[] = ['malware-customer', 'malware-grid'];
const rigFor = rigPerTest();

describe.each([1, 2] as const)('API %i: threat feed with nothing (more) in its window', (api) => {
  it.each([
    ['a window without indicators', { events: { 'malware-customer': 0, 'malware-grid': 0 } }],
    ['the token of the last file of a walk', { variants: { threatFeedTokenOnLastFile: true } }],
  ] as const)('%s is caught up, and the next tick collects what is new', async (_case, simulator) => {
    const r = await rigFor({ api, simulator });
    const first = await r.run({ owner: 'first', streams: FEEDS });
    expect(outcomes(first)).toEqual(allOutcomes(FEEDS, 'caught-up'));
    expect(first.streams.map((s) => s.mimecastErrors)).toEqual([{}, {}]);
    expect(deliveryReport(r, FEEDS)).toEqual(exactlyOnce(FEEDS));

    // Nothing new: still healthy, nothing sent again.
    const idle = await r.run({ owner: 'idle', streams: FEEDS });
    expect(outcomes(idle)).toEqual(allOutcomes(FEEDS, 'caught-up'));
    expect(idle.streams.map((s) => s.events)).toEqual([0, 0]);

    // New indicators arrive; once past the lateness margin the next tick collects them.
    for (const stream of FEEDS) r.sim.publish(stream, 2, { api });
    r.clock.advance((MARGIN_S + 5) * 1000);
    const later = await r.run({ owner: 'later', streams: FEEDS });
    expect(outcomes(later)).toEqual(allOutcomes(FEEDS, 'caught-up'));
    expect(later.streams.map((s) => s.events)).toEqual([6, 6]);
    expect(deliveryReport(r, FEEDS)).toEqual(exactlyOnce(FEEDS));
    for (const stream of FEEDS) {
      const checkpoint = await r.checkpoint(stream);
      expect(checkpoint).toMatchObject({ consecutiveFailures: 0, offset: 0 });
      expect(checkpoint?.lastError).toBeUndefined();
    }
  });
});
