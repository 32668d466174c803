/**
 * The API 2.0-only streams end to end: simulator → real client → real engine → real HTTP sink →
 * loopback receiver, checkpoints in dynalite. `siem-ci` (Cloud Integrated batch files) and the four
 * Awareness Training snapshot streams; pages and batches small, so both span each other.
 */
import type { StreamId } from '../../lambda/core/streams';
import { Process } from '../kit/stores';
import {
  allOutcomes,
  BATCH,
  crashable,
  deliveryReport,
  exactlyOnce,
  expectPagedAndBatched,
  outcomes,
  type Rig,
  RUN_BUDGET_MS,
  rigPerTest,
  STREAM_PATHS,
  startRig,
} from './support';

const SNAPSHOTS = [
  'awareness-performance',
  'awareness-safescore',
  'awareness-user-data',
  'awareness-watchlist',
] as const satisfies readonly StreamId[];
const STREAMS: readonly StreamId[] = ['siem-ci', ...SNAPSHOTS];
const DAY_MS = 86_400_000;

/** Mimecast calls (token requests aside) made since the last clear, per path. */
function calls(rig: Rig, stream: StreamId): number {
  const path = STREAM_PATHS[stream][2];
  return rig.sim.requests().filter((r) => (typeof path === 'string' ? r.path === path : path.test(r.path)))
    .length;
}

/** Envelopes of a snapshot stream grouped by snapshot time: each group must hold each row once. */
function snapshotsOf(rig: Rig, stream: StreamId): Map<string, string[]> {
  const byTime = new Map<string, string[]>();
  for (const envelope of rig.receiver.received().filter((e) => e.stream === stream)) {
    const list = byTime.get(envelope.time) ?? [];
    list.push(envelope.id);
    byTime.set(envelope.time, list);
  }
  return byTime;
}

describe('API 2.0: siem-ci and the Awareness Training snapshots', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ api: 2 });
  });
  afterAll(() => rig.stop());

  it('delivers each once; between snapshots no call; new CI events at once, new rows with the next snapshot', async () => {
    const first = await rig.run({ owner: 'first', streams: STREAMS });
    expect(outcomes(first)).toEqual(allOutcomes(STREAMS, 'caught-up'));
    expect(deliveryReport(rig, STREAMS)).toEqual(exactlyOnce(STREAMS));
    expectPagedAndBatched(rig, first, STREAMS);
    const firstSnapshot = new Map(SNAPSHOTS.map((s) => [s, [...snapshotsOf(rig, s).keys()]]));
    for (const times of firstSnapshot.values()) expect(times).toHaveLength(1);

    // New CI events come at once; new Awareness rows wait for the next snapshot, which costs no call.
    const newCi = rig.sim.publish('siem-ci', 4, { api: 2 });
    for (const stream of SNAPSHOTS) rig.sim.publish(stream, 2, { api: 2 });
    rig.sim.clearRequests();
    rig.clock.advance(60 * 60_000);
    const second = await rig.run({ owner: 'second', streams: STREAMS });
    expect(outcomes(second)).toEqual(allOutcomes(STREAMS, 'caught-up'));
    expect(Object.fromEntries(second.streams.map((s) => [s.stream, s.events]))).toEqual({
      ...Object.fromEntries(SNAPSHOTS.map((s) => [s, 0])),
      'siem-ci': newCi.length,
    });
    for (const stream of SNAPSHOTS)
      expect({ stream, calls: calls(rig, stream) }).toEqual({ stream, calls: 0 });
    expect(deliveryReport(rig, ['siem-ci'])).toEqual(exactlyOnce(['siem-ci']));
    // The lag of a snapshot stream is the age of its snapshot.
    for (const stream of SNAPSHOTS) {
      const result = second.streams.find((s) => s.stream === stream)!;
      expect(result.lagSeconds).toBeGreaterThanOrEqual(3600);
    }

    // A day later: a new snapshot. Unchanged rows repeat their ids, new rows are there, at the new time.
    rig.clock.advance(DAY_MS);
    const third = await rig.run({ owner: 'third', streams: STREAMS });
    expect(outcomes(third)).toEqual(allOutcomes(STREAMS, 'caught-up'));
    for (const stream of SNAPSHOTS) {
      const snapshots = snapshotsOf(rig, stream);
      expect(snapshots.size).toBe(2);
      const [before, after] = [...snapshots.entries()].sort(([a], [b]) => a.localeCompare(b));
      expect(before![0]).toBe(firstSnapshot.get(stream)![0]);
      expect(Date.parse(after![0]) - Date.parse(before![0])).toBeGreaterThanOrEqual(DAY_MS);
      // Each snapshot holds each of its rows once; the second is the first plus the two new rows.
      expect(new Set(after![1]).size).toBe(after![1].length);
      expect([...after![1]].sort()).toEqual([...rig.truth(stream)].sort());
      expect(after![1].filter((id) => !before![1].includes(id))).toHaveLength(2);
      const checkpoint = await rig.checkpoint(stream);
      expect(checkpoint).toMatchObject({ offset: 0, consecutiveFailures: 0 });
      expect(checkpoint?.newestEventTime).toBe(after![0]);
      expect(checkpoint?.totals.events).toBe(before![1].length + after![1].length);
    }
    expect(deliveryReport(rig, ['siem-ci'])).toEqual(exactlyOnce(['siem-ci']));
  });
});

describe('API 2.0: a snapshot interrupted mid-way', () => {
  const rigFor = rigPerTest();

  it('resumes the same snapshot after a crash: every row, one snapshot time, repeats within one batch', async () => {
    const r = await rigFor({ api: 2 });
    const process = new Process();
    const { wrapStore, wrapSink } = crashable(process, {
      at: 'after-ack',
      stream: 'awareness-user-data',
      batch: 2,
    });
    const crashed = await r.run({
      owner: 'crashed',
      streams: ['awareness-user-data'],
      store: wrapStore(r.dynamo.store),
      wrapSink,
      signal: process.signal,
    });
    expect(process.crashedAt).toBe('after awareness-user-data was acknowledged, before its commit');
    expect(outcomes(crashed)['awareness-user-data']).toBe('failed');
    // The crashed snapshot's position: inside the snapshot, its time fixed.
    const stored = await r.checkpoint('awareness-user-data');
    expect(stored?.cursor).toMatchObject({ snapshot: { at: expect.any(String) } });

    r.clock.advance(RUN_BUDGET_MS + 1000);
    const restarted = await r.run({
      owner: 'restarted',
      streams: ['awareness-user-data'],
      freshProcess: true,
    });
    expect(outcomes(restarted)).toEqual({ 'awareness-user-data': 'caught-up' });
    const snapshots = snapshotsOf(r, 'awareness-user-data');
    expect([...snapshots.keys()]).toEqual([(stored!.cursor as { snapshot: { at: string } }).snapshot.at]);
    const delivered = r.delivered('awareness-user-data');
    expect([...new Set(delivered)].sort()).toEqual([...r.truth('awareness-user-data')].sort());
    // Only the batch acknowledged before the crash came twice.
    expect(delivered.length - new Set(delivered).size).toBeLessThanOrEqual(BATCH);
    expect(delivered.length - new Set(delivered).size).toBeGreaterThan(0);
  });

  it('a campaign listing that fails mid-snapshot fails the stream; the next tick resumes after the last campaign done', async () => {
    const r = await rigFor({ api: 2 });
    // The first listing picks the first campaign; the second (after it) answers 503 every time.
    r.sim.inject({
      path: '/api/awareness-training/phishing/campaign/get-campaign',
      after: 1,
      times: Number.POSITIVE_INFINITY,
      fault: { kind: 'status', status: 503 },
    });
    const failed = await r.run({ owner: 'failing', streams: ['awareness-user-data'] });
    expect(outcomes(failed)).toEqual({ 'awareness-user-data': 'failed' });
    const checkpoint = await r.checkpoint('awareness-user-data');
    expect(checkpoint).toMatchObject({
      consecutiveFailures: 1,
      lastError: { kind: 'transient' },
      cursor: { snapshot: { campaign: null, after: expect.any(String) } },
    });
    const before = r.delivered('awareness-user-data');
    expect(before.length).toBeGreaterThan(0);

    r.sim.clearFaults();
    const next = await r.run({ owner: 'next', streams: ['awareness-user-data'] });
    expect(outcomes(next)).toEqual({ 'awareness-user-data': 'caught-up' });
    expect(deliveryReport(r, ['awareness-user-data'])).toEqual(exactlyOnce(['awareness-user-data']));
    expect(snapshotsOf(r, 'awareness-user-data').size).toBe(1);
  });
});
