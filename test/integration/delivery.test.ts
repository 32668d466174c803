/**
 * Every stream on both API versions, end to end: simulator → real client → real engine → real HTTP sink
 * → loopback receiver, checkpoints in dynalite. Pages and batches are small, so paging, batches that end
 * inside a page and batches spanning pages all happen.
 */
import {
  ALL_STREAMS,
  allOutcomes,
  deliveryReport,
  exactlyOnce,
  expectPagedAndBatched,
  MARGIN_S,
  outcomes,
  type Rig,
  startRig,
} from './support';

describe.each([1, 2] as const)('API %i: every stream', (api) => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ api });
  });
  afterAll(() => rig.stop());

  it('delivers the ground truth exactly once, then nothing new, then late and new events exactly once', async () => {
    const first = await rig.run({ owner: 'first' });
    expect(outcomes(first)).toEqual(allOutcomes(ALL_STREAMS, 'caught-up'));
    expect(deliveryReport(rig)).toEqual(exactlyOnce());
    expectPagedAndBatched(rig, first, ALL_STREAMS);

    // Nothing new: nothing delivered again.
    const before = rig.receiver.ids().length;
    const second = await rig.run({ owner: 'second' });
    expect(outcomes(second)).toEqual(allOutcomes(ALL_STREAMS, 'caught-up'));
    expect(second.streams.map((s) => s.events)).toEqual(ALL_STREAMS.map(() => 0));
    expect(rig.receiver.ids()).toHaveLength(before);

    // Late events (inside the lateness margin) and plain new ones, on every stream.
    for (const stream of ALL_STREAMS) {
      rig.sim.publish(stream, 3, { lateBySeconds: MARGIN_S - 20, api });
      rig.sim.publish(stream, 2, { api });
    }
    // SIEM files have no lateness margin: they come at once. The window streams hold theirs back until
    // the margin has passed, late ones included.
    const early = await rig.run({ owner: 'too-early' });
    expect(Object.fromEntries(early.streams.map((s) => [s.stream, s.events]))).toEqual({
      ...Object.fromEntries(ALL_STREAMS.map((s) => [s, 0])),
      siem: 5,
    });
    rig.clock.advance((MARGIN_S + 5) * 1000);
    const third = await rig.run({ owner: 'third' });
    expect(outcomes(third)).toEqual(allOutcomes(ALL_STREAMS, 'caught-up'));
    expect(deliveryReport(rig)).toEqual(exactlyOnce());

    const fourth = await rig.run({ owner: 'fourth' });
    expect(fourth.streams.map((s) => s.events)).toEqual(ALL_STREAMS.map(() => 0));
    expect(deliveryReport(rig)).toEqual(exactlyOnce());
    for (const stream of ALL_STREAMS) {
      const checkpoint = await rig.checkpoint(stream);
      expect(checkpoint).toMatchObject({ offset: 0, consecutiveFailures: 0 });
      expect(checkpoint?.lease).toBeUndefined();
      expect(checkpoint?.totals.events).toBe(rig.truth(stream).length);
    }
  });
});
