/**
 * Two invocations of one collector instance at once — two Lambda containers, each with its own SDK
 * clients and HTTP agent, running collectTick against the same dynalite table with different owners.
 * Leases decide who collects each stream: no stream is collected by both, nothing is delivered twice,
 * and the checkpoints are whole afterwards.
 */
import type { StreamId } from '../../lambda/core/streams';
import {
  ALL_STREAMS,
  allOutcomes,
  deliveryReport,
  exactlyOnce,
  type Rig,
  startRig,
  VersionRecorder,
} from './support';

describe.each([1, 2] as const)('API %i: two concurrent runs', (api) => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ api });
  });
  afterAll(() => rig.stop());

  it('split the streams between them and leave whole checkpoints', async () => {
    const deliveredBy = new Map<StreamId, Set<string>>();
    const runs = ['container-a', 'container-b'].map((owner) => ({
      owner,
      container: rig.container(),
      versions: undefined as VersionRecorder | undefined,
    }));
    const reports = await Promise.all(
      runs.map((run) =>
        rig.collect({
          owner: run.owner,
          container: run.container,
          wrapStore: (store) => {
            run.versions = new VersionRecorder(store);
            return run.versions;
          },
          onDelivered: (stream) => {
            const owners = deliveredBy.get(stream) ?? new Set<string>();
            owners.add(run.owner);
            deliveredBy.set(stream, owners);
          },
        }),
      ),
    );

    expect(reports.map((r) => r.outcome.ok)).toEqual([true, true]);
    // They did contend: streams were skipped because the other run held them.
    expect(reports.flatMap((r) => r.outcome.streams.map((s) => s.outcome))).toContain('lease-held');
    // Each stream's events came from one owner only.
    for (const stream of ALL_STREAMS) {
      expect({ stream, owners: deliveredBy.get(stream)?.size }).toEqual({ stream, owners: 1 });
    }
    // A stream collected by one run is 'lease-held' in the other, or found caught up with nothing to do.
    for (const stream of ALL_STREAMS) {
      const [a, b] = reports.map((r) => r.outcome.streams.find((s) => s.stream === stream)!);
      expect([a!.events, b!.events].filter((n) => n > 0)).toHaveLength(1);
    }
    expect(deliveryReport(rig)).toEqual(exactlyOnce());

    // Versions: strictly increasing as each container saw them, and no version handed out twice.
    for (const stream of ALL_STREAMS) {
      const seen = runs.map((run) => run.versions?.versions.get(stream) ?? []);
      for (const list of seen) expect(list).toEqual([...list].sort((x, y) => x - y));
      for (const list of seen) expect(new Set(list).size).toBe(list.length);
      const all = seen.flat();
      expect(new Set(all).size).toBe(all.length);
      const checkpoint = await rig.checkpoint(stream);
      expect(checkpoint!.version).toBeGreaterThan(Math.max(...all));
      expect(checkpoint).toMatchObject({ offset: 0, consecutiveFailures: 0 });
      expect(checkpoint?.lease).toBeUndefined();
      expect(checkpoint?.lastError).toBeUndefined();
      expect(checkpoint?.totals.events).toBe(rig.truth(stream).length);
    }

    // The cursors left behind are sound: a later run reads them and finds nothing new.
    const before = rig.receiver.ids().length;
    const after = await rig.collect({ owner: 'later', container: runs[0]!.container });
    expect(Object.fromEntries(after.outcome.streams.map((s) => [s.stream, s.outcome]))).toEqual(
      allOutcomes(ALL_STREAMS, 'caught-up'),
    );
    expect(rig.receiver.ids()).toHaveLength(before);
  });
});
