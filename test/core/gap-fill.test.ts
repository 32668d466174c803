/**
 * The gap-filling destination (core/gap-fill.ts): what push delivered is left out, the rest is sent,
 * the batch counts as acknowledged only when that send was; an unreadable ledger sends the batch
 * whole; and under the real engine the checkpoint moves exactly as without it.
 */
import type { CheckpointKey } from '../../lambda/core/checkpoint';
import { runTick } from '../../lambda/core/engine';
import type { Envelope } from '../../lambda/core/envelope';
import { GapFillSink } from '../../lambda/core/gap-fill';
import type { CallBudget, SourceRecord } from '../../lambda/core/ports';
import { MemoryPushLedger, type PushLedger } from '../../lambda/core/push-ledger';
import type { StreamId } from '../../lambda/core/streams';
import { TransientError } from '../../lambda/errors';
import { FakeClock } from '../kit/clock';
import { RecordingLog } from '../kit/log';
import { makeRecords, PagedSource, RecordingSink, transient } from './support/fakes';
import { MemoryCheckpointStore } from './support/memory-checkpoint-store';

const INSTANCE = 'gapfill';
const budget: CallBudget = { signal: new AbortController().signal, deadline: Number.MAX_SAFE_INTEGER };

const envelopeOf = (stream: StreamId, record: SourceRecord): Envelope => ({
  id: record.id,
  stream,
  logType: record.logType,
  time: record.time,
  instance: INSTANCE,
  event: record.event,
});

async function pushed(ledger: PushLedger, stream: StreamId, records: readonly SourceRecord[]): Promise<void> {
  await ledger.record(
    stream,
    records.map((r) => ({ id: r.id, time: r.time })),
  );
}

class UnreadableLedger implements PushLedger {
  reads = 0;
  async record(): Promise<void> {}
  async readBucket(): Promise<Uint8Array[]> {
    this.reads += 1;
    throw new TransientError('DynamoDB Query failed (TimeoutError).', 'Nothing to do if it is rare.');
  }
}

describe('GapFillSink', () => {
  it('sends only the events push did not deliver and counts them as the push gap', async () => {
    const records = makeRecords('audit', 10);
    const ledger = new MemoryPushLedger();
    await pushed(ledger, 'audit', records.slice(0, 6));
    const destination = new RecordingSink();
    const sink = new GapFillSink(destination, ledger, new Set<StreamId>(['audit']), new RecordingLog());

    await sink.send(
      records.map((r) => envelopeOf('audit', r)),
      budget,
    );

    expect(destination.ids()).toEqual(records.slice(6).map((r) => r.id));
    expect(sink.report().get('audit')).toEqual({ alreadyPushed: 6, gap: 4, unchecked: 0 });
  });

  it('acknowledges a batch push delivered whole without calling the destination', async () => {
    const records = makeRecords('audit', 4);
    const ledger = new MemoryPushLedger();
    await pushed(ledger, 'audit', records);
    const destination = new RecordingSink();
    const sink = new GapFillSink(destination, ledger, new Set<StreamId>(['audit']), new RecordingLog());

    await expect(
      sink.send(
        records.map((r) => envelopeOf('audit', r)),
        budget,
      ),
    ).resolves.toEqual({ bytes: 0 });
    expect(destination.calls).toBe(0);
    expect(sink.report().get('audit')).toEqual({ alreadyPushed: 4, gap: 0, unchecked: 0 });
  });

  it('leaves streams that are not push-primary alone: the ledger is not asked', async () => {
    const records = makeRecords('ttp-url', 3);
    const ledger = new UnreadableLedger();
    const destination = new RecordingSink();
    const sink = new GapFillSink(destination, ledger, new Set<StreamId>(['audit']), new RecordingLog());

    await sink.send(
      records.map((r) => envelopeOf('ttp-url', r)),
      budget,
    );

    expect(destination.ids()).toEqual(records.map((r) => r.id));
    expect(ledger.reads).toBe(0);
    expect(sink.report().size).toBe(0);
  });

  it('sends the batch whole when the ledger cannot be read, and says so', async () => {
    const records = makeRecords('audit', 5);
    const log = new RecordingLog();
    const destination = new RecordingSink();
    const sink = new GapFillSink(destination, new UnreadableLedger(), new Set<StreamId>(['audit']), log);

    await sink.send(
      records.map((r) => envelopeOf('audit', r)),
      budget,
    );

    expect(destination.ids()).toEqual(records.map((r) => r.id));
    expect(sink.report().get('audit')).toEqual({ alreadyPushed: 0, gap: 0, unchecked: 5 });
    const warning = log.find('warn', 'push ledger unreadable');
    expect(warning).toHaveLength(1);
    expect(warning[0]!.attributes).toMatchObject({ stream: 'audit', events: 5 });
  });

  it('sends the batch whole when an event time is unreadable (no lookup range)', async () => {
    const records = makeRecords('audit', 3);
    const ledger = new MemoryPushLedger();
    await pushed(ledger, 'audit', records);
    const destination = new RecordingSink();
    const sink = new GapFillSink(destination, ledger, new Set<StreamId>(['audit']), new RecordingLog());
    const batch = records.map((r) => envelopeOf('audit', r));
    batch[1] = { ...batch[1]!, time: 'not a time' };

    await sink.send(batch, budget);

    expect(destination.ids()).toEqual(records.map((r) => r.id));
  });

  it('reports nothing acknowledged when the destination fails', async () => {
    const records = makeRecords('audit', 6);
    const ledger = new MemoryPushLedger();
    await pushed(ledger, 'audit', records.slice(0, 2));
    const destination = new RecordingSink();
    const failure = transient('audit', 'receiver answered 503');
    destination.failOn.set(1, failure);
    const sink = new GapFillSink(destination, ledger, new Set<StreamId>(['audit']), new RecordingLog());

    await expect(
      sink.send(
        records.map((r) => envelopeOf('audit', r)),
        budget,
      ),
    ).rejects.toBe(failure);
    expect(destination.delivered).toEqual([]);
    expect(sink.report().size).toBe(0);
  });
});

describe('GapFillSink keys', () => {
  it('matches by the key push recorded when push and pull id an event differently (keyOf)', async () => {
    const records = makeRecords('siem', 4);
    const matchKey = (event: unknown) => `key:${(event as { seq: number }).seq}`;
    const ledger = new MemoryPushLedger();
    // Push recorded its own key for records 0 and 2, not the pull's ids.
    await ledger.record(
      'siem',
      [records[0]!, records[2]!].map((r) => ({ id: matchKey(r.event), time: r.time })),
    );
    const destination = new RecordingSink();
    const sink = new GapFillSink(destination, ledger, new Set<StreamId>(['siem']), new RecordingLog(), {
      keyOf: (envelope) => matchKey(envelope.event),
    });

    await sink.send(
      records.map((r) => envelopeOf('siem', r)),
      budget,
    );

    expect(destination.ids()).toEqual([records[1]!.id, records[3]!.id]);
  });

  it('counts identical events: push delivered one of three copies, the pull sends the other two', async () => {
    const [record] = makeRecords('audit', 1);
    const copies = [0, 1, 2].map((n) => ({ ...record!, id: `${record!.id}-${n}` }));
    const sameKey = () => 'one key for three identical events';
    const ledger = new MemoryPushLedger();
    await ledger.record('audit', [{ id: sameKey(), time: record!.time }]);
    const destination = new RecordingSink();
    const sink = new GapFillSink(destination, ledger, new Set<StreamId>(['audit']), new RecordingLog(), {
      keyOf: sameKey,
    });

    // Over two batches: the one push is matched once in the tick, not once per batch.
    await sink.send([envelopeOf('audit', copies[0]!), envelopeOf('audit', copies[1]!)], budget);
    await sink.send([envelopeOf('audit', copies[2]!)], budget);

    expect(destination.ids()).toEqual([copies[1]!.id, copies[2]!.id]);
    expect(sink.report().get('audit')).toEqual({ alreadyPushed: 1, gap: 2, unchecked: 0 });
  });
});

describe('GapFillSink under the engine', () => {
  const key: CheckpointKey = { instance: INSTANCE, stream: 'audit' };

  async function tick(
    sink: GapFillSink,
    source: PagedSource,
    store: MemoryCheckpointStore,
    clock: FakeClock,
  ) {
    return runTick({
      instance: INSTANCE,
      owner: `run-${clock.now()}`,
      sources: [source],
      store,
      sink,
      log: new RecordingLog(),
      clock,
      deadline: clock.now() + 60_000,
      limits: { batchMaxEvents: 3 },
    });
  }

  it('commits the same position as a plain destination while sending only the gap', async () => {
    const records = makeRecords('audit', 12);
    const ledger = new MemoryPushLedger();
    // Push delivered everything but records 4–8 (its integration was paused).
    await pushed(ledger, 'audit', [...records.slice(0, 4), ...records.slice(9)]);
    const destination = new RecordingSink();
    const sink = new GapFillSink(destination, ledger, new Set<StreamId>(['audit']), new RecordingLog());
    const store = new MemoryCheckpointStore();
    const clock = new FakeClock();

    const result = await tick(
      sink,
      new PagedSource('audit', [records.slice(0, 5), records.slice(5)]),
      store,
      clock,
    );

    expect(result.streams[0]!.outcome).toBe('caught-up');
    expect(destination.ids()).toEqual(records.slice(4, 9).map((r) => r.id));
    const checkpoint = await store.load(key);
    expect(checkpoint?.cursor).toEqual({ page: 2 });
    expect(checkpoint?.offset).toBe(0);
    expect(sink.report().get('audit')).toEqual({ alreadyPushed: 7, gap: 5, unchecked: 0 });
  });

  it('keeps the checkpoint at the last acknowledged batch when the destination fails, then fills the gap', async () => {
    const records = makeRecords('audit', 9);
    const ledger = new MemoryPushLedger();
    await pushed(ledger, 'audit', records.slice(0, 3));
    const destination = new RecordingSink();
    // The first batch is all pushed (no call); the second batch's send fails.
    destination.failOn.set(1, transient('audit', 'receiver answered 503'));
    const source = new PagedSource('audit', [records]);
    const store = new MemoryCheckpointStore();
    const clock = new FakeClock();

    const first = await tick(
      new GapFillSink(destination, ledger, new Set<StreamId>(['audit']), new RecordingLog()),
      source,
      store,
      clock,
    );
    expect(first.streams[0]!.outcome).toBe('failed');
    expect((await store.load(key))?.offset).toBe(3);

    clock.advance(60_000);
    await tick(
      new GapFillSink(destination, ledger, new Set<StreamId>(['audit']), new RecordingLog()),
      source,
      store,
      clock,
    );
    expect(destination.ids()).toEqual(records.slice(3).map((r) => r.id));
    expect((await store.load(key))?.cursor).toEqual({ page: 1 });
  });
});
