/**
 * Identical records are distinct events (issue 11, item 6): two failed logons in one second are two
 * events a SOC must count. Through the real engine, Mimecast client, HTTP sink and dynalite, N identical
 * records served are N events delivered, each with its own id; fetched again, the same ids come again;
 * and a window boundary still drops its repeats while a new identical record at that second arrives.
 */
import { canonicalJson, type Envelope } from '../../lambda/core/envelope';
import type { StreamId } from '../../lambda/core/streams';
import { INSTANCE, MARGIN_S, outcomes, PAGE_SIZE, type Rig, rigPerTest } from './support';

const rigFor = rigPerTest();

function envelopes(rig: Rig, stream: StreamId): Envelope[] {
  return rig.receiver.received().filter((e) => e.stream === stream && e.instance === INSTANCE);
}

/**
 * Per distinct record content: how often Mimecast holds it, and the ids it was delivered under. A record
 * held n times must arrive n times under n different ids, once each.
 */
function deliveryByContent(rig: Rig, stream: StreamId) {
  const held = new Map<string, number>();
  for (const record of rig.sim.groundTruth(stream, rig.api)) {
    const key = canonicalJson(record);
    held.set(key, (held.get(key) ?? 0) + 1);
  }
  const ids = new Map<string, string[]>();
  for (const envelope of envelopes(rig, stream)) {
    const key = canonicalJson(envelope.event);
    ids.set(key, [...(ids.get(key) ?? []), envelope.id]);
  }
  const wrong: Array<{ record: string; held: number; delivered: number; distinctIds: number }> = [];
  for (const [key, n] of held) {
    const got = ids.get(key) ?? [];
    if (got.length !== n || new Set(got).size !== n) {
      wrong.push({
        record: key.slice(0, 80),
        held: n,
        delivered: got.length,
        distinctIds: new Set(got).size,
      });
    }
  }
  const unexpected = [...ids.keys()].filter((key) => !held.has(key)).length;
  return { wrong, unexpected };
}

async function runUntilCaughtUp(rig: Rig, streams: readonly StreamId[]): Promise<void> {
  for (let tick = 0; tick < 6; tick += 1) {
    const result = await rig.run({ streams });
    if (result.streams.every((s) => s.outcome === 'caught-up')) return;
    expect(result.streams.filter((s) => s.outcome === 'failed')).toEqual([]);
  }
  throw new Error(`${streams.join(', ')} not caught up after 6 ticks`);
}

const KINDS: ReadonlyArray<{ api: 1 | 2; stream: StreamId; copies: number }> = [
  // More copies than a page holds: the run of identical records straddles page boundaries.
  { api: 1, stream: 'audit', copies: PAGE_SIZE + 4 },
  { api: 2, stream: 'audit', copies: 3 },
  { api: 2, stream: 'archive-search', copies: PAGE_SIZE * 2 + 1 },
  { api: 1, stream: 'siem', copies: 3 },
  { api: 2, stream: 'siem', copies: 3 },
  { api: 2, stream: 'malware-customer', copies: 2 },
];

describe.each(KINDS)('API $api $stream: $copies identical records', ({ api, stream, copies }) => {
  it('are delivered as that many events with ids of their own, the same ids when fetched again', async () => {
    const rig = await rigFor({
      api,
      // One file of identical SIEM events (the rig's default files hold 3 or 4).
      simulator: { siem: { fileIntervalMs: 0, v1EventsPerFile: copies, v2EventsPerFile: copies } },
    });
    const published = rig.sim.publish(stream, copies, { identical: true, lateBySeconds: 3600, api });
    await runUntilCaughtUp(rig, [stream]);
    expect(deliveryByContent(rig, stream)).toEqual({ wrong: [], unexpected: 0 });
    const idsOf = (record: unknown) =>
      envelopes(rig, stream)
        .filter((e) => canonicalJson(e.event) === canonicalJson(record))
        .map((e) => e.id);
    const first = idsOf(published[0]);
    expect(first).toHaveLength(copies);

    // The same answers fetched again (the operator resets the stream): the same ids, each once more.
    await rig.dynamo.store.reset({ instance: INSTANCE, stream }, { now: rig.clock.now() });
    await runUntilCaughtUp(rig, [stream]);
    const twice = idsOf(published[0]);
    expect(twice.slice(first.length)).toEqual(first);
  });
});

describe('window boundary', () => {
  it('drops the boundary repeats of identical records and delivers a new identical one at that second', async () => {
    const rig = await rigFor({ api: 2 });
    // Newest records of the stream, inside the first window: the next window starts at their second.
    const [record] = rig.sim.publish('audit', 2, { identical: true, lateBySeconds: MARGIN_S * 2 });
    const first = await rig.run({ streams: ['audit'] });
    expect(outcomes(first).audit).toBe('caught-up');
    const before = envelopes(rig, 'audit').filter((e) => canonicalJson(e.event) === canonicalJson(record));
    expect(new Set(before.map((e) => e.id)).size).toBe(2);
    expect((await rig.checkpoint('audit'))?.cursor).toMatchObject({ skipIds: before.map((e) => e.id) });

    // One more identical event at that same second, visible only now (indexed late).
    rig.sim.publish('audit', 1, { copyOf: record });
    rig.clock.advance(MARGIN_S * 1000);
    const second = await rig.run({ streams: ['audit'] });
    expect(outcomes(second).audit).toBe('caught-up');
    const after = envelopes(rig, 'audit').filter((e) => canonicalJson(e.event) === canonicalJson(record));
    expect(after.slice(0, 2)).toEqual(before);
    expect(after).toHaveLength(3);
    expect(new Set(after.map((e) => e.id)).size).toBe(3);
    expect(deliveryByContent(rig, 'audit')).toEqual({ wrong: [], unexpected: 0 });
  });
});
