/**
 * Two engines (two "Lambda containers", each with its own SDK client) collecting the same instance at
 * the same time against one dynalite table: no stream is ever collected by both at once, nothing is
 * delivered twice or lost, and the final checkpoints are whole.
 */
import type { CheckpointKey, CheckpointStore, Lease, LeaseToken } from '../../lambda/core/checkpoint';
import type { EngineLimits } from '../../lambda/core/limits';
import { systemClock } from '../../lambda/core/ports';
import type { StreamOutcome, TickResult } from '../../lambda/core/results';
import type { StreamId } from '../../lambda/core/streams';
import { CheckpointConflictError } from '../../lambda/errors';
import { buildTick } from '../../lambda/root';
import { createDynamoDbCheckpointStore, type DynamoCheckpointStore } from '../../lambda/state/dynamodb-store';
import { type LocalCheckpointStore, openLocalCheckpointStore } from '../../lambda/state/local-store';
import { idOf, makeRecords, PagedSource, RecordingSink } from '../core/support/fakes';
import { RecordingLog } from '../kit/log';
import { rigSettings } from '../kit/settings';
import { StoreProxy } from '../kit/stores';

let local: LocalCheckpointStore;
let second: DynamoCheckpointStore;

beforeAll(async () => {
  local = await openLocalCheckpointStore();
  second = createDynamoDbCheckpointStore({
    tableName: local.tableName,
    endpoint: local.endpoint,
    region: local.region,
    credentials: local.credentials,
  });
});

afterAll(async () => {
  second.close();
  await local.close();
});

/** Marks which engine holds each stream, from after its lease is granted until before it lets go. */
class Tracker {
  readonly active = new Map<StreamId, string>();
  readonly violations: string[] = [];
  enter(stream: StreamId, engine: string): void {
    const holder = this.active.get(stream);
    if (holder !== undefined) this.violations.push(`${engine} got ${stream} while ${holder} held it`);
    this.active.set(stream, engine);
  }
  leave(stream: StreamId, engine: string): void {
    if (this.active.get(stream) === engine) this.active.delete(stream);
  }
  check(stream: StreamId, engine: string): void {
    if (this.active.get(stream) !== engine)
      this.violations.push(`${engine} fetched ${stream} without holding it`);
  }
}

class TrackedStore extends StoreProxy {
  constructor(
    inner: CheckpointStore,
    private readonly tracker: Tracker,
    private readonly engine: string,
  ) {
    super(inner);
  }
  override async acquireLease(key: CheckpointKey, lease: Lease, now: number) {
    const granted = await this.inner.acquireLease(key, lease, now);
    if (granted !== null) this.tracker.enter(key.stream, this.engine);
    return granted;
  }
  override releaseLease(key: CheckpointKey, token: LeaseToken, now: number) {
    this.tracker.leave(key.stream, this.engine);
    return this.inner.releaseLease(key, token, now);
  }
}

/**
 * One tick through the composition root, its sources and destination replaced by the scripted fakes
 * (the client and destination the root builds from the settings are never called).
 */
function engineTick(
  instance: string,
  owner: string,
  store: CheckpointStore,
  sources: readonly PagedSource[],
  sink: RecordingSink,
  limits?: Partial<EngineLimits>,
): Promise<TickResult> {
  const byStream = new Map(sources.map((source) => [source.stream, source]));
  const settings = rigSettings({
    instance,
    apiVersion: 2,
    mimecastBaseUrl: 'http://127.0.0.1:9',
    streams: sources.map((source) => source.stream),
    sinkUrl: 'http://127.0.0.1:9/unused',
    sinkFormat: 'ndjson',
  });
  return buildTick(
    settings,
    {
      log: new RecordingLog(),
      store,
      credentials: { mimecast: { apiVersion: 2, clientId: 'unused', clientSecret: 'unused' } },
    },
    {
      clock: systemClock,
      ...(limits === undefined ? {} : { limits }),
      wrapSource: (real) => byStream.get(real.stream)!,
      wrapSink: () => sink,
    },
  ).run({ owner, deadline: Date.now() + 60_000, streams: settings.streams });
}

const STREAMS: StreamId[] = ['audit', 'siem', 'dlp', 'ttp-url'];

function layout(stream: StreamId, pages: number, perPage: number) {
  return Array.from({ length: pages }, (_, p) => makeRecords(stream, perPage, p * perPage));
}

describe('two engines on one table', () => {
  it('never collect one stream at once, deliver every event exactly once, and leave whole checkpoints', async () => {
    const instance = 'shared';
    const tracker = new Tracker();
    const data = new Map(STREAMS.map((stream) => [stream, layout(stream, 5, 3)]));
    const engines = [
      { name: 'A', store: local.store, sink: new RecordingSink() },
      { name: 'B', store: second, sink: new RecordingSink() },
    ].map((engine) => {
      const sources = STREAMS.map((stream) => {
        const source = new PagedSource(stream, data.get(stream)!);
        source.onFetch = async () => {
          tracker.check(stream, engine.name);
          // Network-ish latency so the two engines interleave.
          await new Promise((done) => setTimeout(done, 1 + Math.floor(Math.random() * 3)));
        };
        return source;
      });
      return { ...engine, sources, store: new TrackedStore(engine.store, tracker, engine.name) };
    });

    const outcomes: StreamOutcome[] = [];
    for (let round = 0; round < 6; round += 1) {
      const results = await Promise.all(
        engines.map((engine, index) =>
          engineTick(
            instance,
            `${engine.name}-${round}-${index}`,
            engine.store,
            engine.sources,
            engine.sink,
            {
              batchMaxEvents: 2,
              maxPagesPerStream: 2,
              concurrency: 2,
            },
          ),
        ),
      );
      outcomes.push(...results.flatMap((r) => r.streams.map((s) => s.outcome)));
    }

    expect(tracker.violations).toEqual([]);
    expect(outcomes).not.toContain('failed');
    // They did contend: some streams were skipped because the other engine held them.
    expect(outcomes).toContain('lease-held');

    const delivered = engines.flatMap((engine) => engine.sink.ids());
    const expected = STREAMS.flatMap((stream) =>
      data
        .get(stream)!
        .flat()
        .map((r) => idOf(r)),
    );
    expect([...delivered].sort()).toEqual([...expected].sort());

    const checkpoints = await local.store.list(instance);
    expect(checkpoints.map((c) => c.stream).sort()).toEqual([...STREAMS].sort());
    for (const checkpoint of checkpoints) {
      expect(checkpoint).toMatchObject({ cursor: { page: 5 }, offset: 0, consecutiveFailures: 0 });
      expect(checkpoint.lease).toBeUndefined();
      expect(checkpoint.totals.events).toBe(15);
      expect(checkpoint.totals.pages).toBeGreaterThanOrEqual(5);
      expect(checkpoint.lastError).toBeUndefined();
    }
  });

  it('takes over a crashed holder only once its lease expired; the old holder can no longer write', async () => {
    const instance = 'takeover';
    const key = { instance, stream: 'audit' as const };
    const now = Date.now();
    // A run that took the lease and died: its lease lasts 300 ms.
    const crashed = (await second.acquireLease(key, { owner: 'crashed-run', expiresAt: now + 300 }, now))!;
    const source = new PagedSource('audit', layout('audit', 2, 2));
    const sink = new RecordingSink();
    const run = (owner: string) => engineTick(instance, owner, local.store, [source], sink);

    const blocked = await run('next-run');
    expect(blocked.streams[0]!.outcome).toBe('lease-held');
    expect(source.fetches).toHaveLength(0);

    await new Promise((done) => setTimeout(done, 350));
    const resumed = await run('later-run');
    expect(resumed.streams[0]).toMatchObject({ outcome: 'caught-up', events: 4 });

    await expect(
      second.commitProgress(
        key,
        { owner: 'crashed-run', version: crashed.version },
        { cursor: { page: 0 }, offset: 0, totals: { events: 0, pages: 0, bytes: 0 }, at: Date.now() },
      ),
    ).rejects.toBeInstanceOf(CheckpointConflictError);
    expect(await local.store.load(key)).toMatchObject({ cursor: { page: 2 }, offset: 0 });
  });
});
