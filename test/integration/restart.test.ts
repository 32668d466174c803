/**
 * Restart after a failure at each step of a tick — while fetching, after fetching but before sending,
 * during a send, after the receiver acknowledged but before the checkpoint write — on both API versions,
 * with every stream running. A "crash" abandons the tick: its signal aborts, and its store and sink
 * refuse every further call, so it writes nothing and keeps its leases until they expire.
 *
 * After the restart: nothing is lost, and the only repeats are the one batch that was in flight.
 */
import type { StreamId } from '../../lambda/core/streams';
import { Process, StoreProxy } from '../kit/stores';
import {
  BATCH,
  type CrashPoint,
  crashable,
  deliveryReport,
  exactlyOnce,
  expectAtLeastOnceWithinOneBatch,
  INSTANCE,
  MARGIN_S,
  outcomes,
  PAGE_SIZE,
  type Rig,
  type RigOptions,
  RUN_BUDGET_MS,
  rigPerTest,
  STREAM_PATHS,
  waitFor,
} from './support';

const startFor = rigPerTest();
const rigFor = (api: 1 | 2, simulator?: RigOptions['simulator']): Promise<Rig> =>
  startFor({ api, simulator });

/** A crashed tick keeps its leases: a run before they expire skips those streams. */
async function expectLeaseKept(r: Rig, stream: StreamId, owner: string): Promise<void> {
  expect((await r.checkpoint(stream))?.lease?.owner).toBe(owner);
  const tooSoon = await r.run({ owner: 'too-soon' });
  expect(outcomes(tooSoon)[stream]).toBe('lease-held');
}

/** A new process once the crashed one's leases expired: completes every stream. */
async function restartAfterExpiry(r: Rig): Promise<void> {
  r.clock.advance(RUN_BUDGET_MS + 1000);
  const restarted = await r.run({ owner: 'restarted', freshProcess: true });
  expect(restarted.streams.filter((s) => s.outcome !== 'caught-up')).toEqual([]);
}

/** Runs a tick in a process that crashes at `point`, or when the test calls `process.crash`. */
function crashingRun(r: Rig, process: Process, point?: CrashPoint) {
  const { wrapStore, wrapSink } = crashable(process, point);
  return r.run({ owner: 'crashed', store: wrapStore(r.dynamo.store), wrapSink, signal: process.signal });
}

describe.each([1, 2] as const)('API %i: restart', (api) => {
  it('after the source failed mid-page: what was fetched is delivered, the rest on the next run', async () => {
    // SIEM files large enough that a cut-off file has yielded records before it fails.
    const r = await rigFor(api, {
      events: { siem: 120 },
      siem: { v1EventsPerFile: 12, v2EventsPerFile: 12 },
    });
    const siemFile = api === 1 ? STREAM_PATHS.siem[1] : /^\/mimecast-siem-cg\//;
    r.sim.inject({
      path: siemFile,
      after: 1,
      times: Number.POSITIVE_INFINITY,
      fault: { kind: 'truncate', keepFraction: 0.9 },
    });
    // JSON pages are read whole and retried: every try of the second page is cut off.
    r.sim.inject({
      path: STREAM_PATHS.dlp[api],
      after: 1,
      times: Number.POSITIVE_INFINITY,
      fault: { kind: 'truncate', keepFraction: 0.7 },
    });
    const failed = await r.run({ owner: 'failing' });
    expect(outcomes(failed)).toMatchObject({ siem: 'failed', dlp: 'failed', audit: 'caught-up' });
    const siem = await r.checkpoint('siem');
    const dlp = await r.checkpoint('dlp');
    // The records of the cut-off file that arrived were delivered and committed inside the page.
    expect(siem?.offset).toBeGreaterThan(0);
    // The first dlp page was delivered whole, though its last records were still batching when page 2 failed.
    expect(dlp?.totals.events).toBe(PAGE_SIZE);
    for (const [stream, checkpoint] of [
      ['siem', siem],
      ['dlp', dlp],
    ] as const) {
      const result = failed.streams.find((s) => s.stream === stream)!;
      expect(checkpoint).toMatchObject({ consecutiveFailures: 1, lastError: { kind: 'transient' } });
      expect(checkpoint?.lease).toBeUndefined();
      expect(checkpoint?.totals.events).toBe(result.events);
      expect(new Set(r.delivered(stream)).size).toBe(result.events);
    }

    r.sim.clearFaults();
    const next = await r.run({ owner: 'next' });
    expect(next.streams.filter((s) => s.outcome !== 'caught-up')).toEqual([]);
    expect(deliveryReport(r)).toEqual(exactlyOnce());
  });

  it('after a crash while a page was being fetched', async () => {
    const r = await rigFor(api);
    const process = new Process();
    r.sim.inject({
      path: STREAM_PATHS.audit[api],
      nth: 2,
      fault: { kind: 'delay', ms: 3000, phase: 'mid-body' },
    });
    const run = crashingRun(r, process);
    await waitFor('the slow audit page', () => r.sim.requests().some((q) => q.fault === 'delay'));
    process.crash('while fetching an audit page');
    const crashed = await run;
    expect(outcomes(crashed).audit).toBe('failed');
    await expectLeaseKept(r, 'audit', 'crashed');
    await restartAfterExpiry(r);
    expectAtLeastOnceWithinOneBatch(r);
  });

  it('after a crash with records fetched but not yet sent', async () => {
    const r = await rigFor(api);
    const process = new Process();
    const crashed = await crashingRun(r, process, { at: 'before-send', stream: 'ttp-attachment', batch: 2 });
    expect(process.crashedAt).toBe('before sending ttp-attachment batch 2');
    expect(outcomes(crashed)['ttp-attachment']).toBe('failed');
    await expectLeaseKept(r, 'ttp-attachment', 'crashed');
    await restartAfterExpiry(r);
    const repeats = expectAtLeastOnceWithinOneBatch(r);
    // That batch never left the process.
    expect(repeats['ttp-attachment']).toEqual([]);
  });

  it('after the receiver reset connections mid-send (retried within the tick)', async () => {
    const r = await rigFor(api);
    r.receiver.inject(
      { kind: 'pass' },
      { kind: 'reset' },
      { kind: 'pass' },
      { kind: 'reset' },
      { kind: 'reset' },
    );
    const result = await r.run({ owner: 'resets' });
    expect(result.streams.filter((s) => s.outcome !== 'caught-up')).toEqual([]);
    expect(r.receiver.ingestRequests().filter((q) => q.fault === 'reset')).toHaveLength(3);
    expect(deliveryReport(r)).toEqual(exactlyOnce());
  });

  it('after a crash during a send the receiver went on to store', async () => {
    const r = await rigFor(api);
    const process = new Process();
    r.receiver.inject({ kind: 'pass' }, { kind: 'pass' }, { kind: 'delay', ms: 300 });
    const run = crashingRun(r, process);
    const slow = () => r.receiver.ingestRequests().find((q) => q.fault === 'delay');
    // Crash once the receiver holds the whole body: it goes on to store the batch after its delay.
    await waitFor('the slow send', () => (slow()?.wireBytes ?? 0) > 0);
    process.crash('during a send');
    await run;
    // Nobody waits for the answer any more.
    await waitFor('the receiver to store the abandoned batch', () => slow()?.status === 200);
    const abandoned = JSON.parse(slow()!.body.split('\n')[0]!) as { stream: StreamId; id: string };
    await expectLeaseKept(r, abandoned.stream, 'crashed');
    await restartAfterExpiry(r);
    const repeats = expectAtLeastOnceWithinOneBatch(r);
    expect(repeats[abandoned.stream]).toContain(abandoned.id);
  });

  it('after the checkpoint write failed once the receiver had acknowledged (the tick survives)', async () => {
    const r = await rigFor(api);
    const target: StreamId = 'held-release';
    // A process that never crashes: its sink wrapper just counts each stream's batches.
    const { wrapSink, sends } = crashable(new Process());
    let failed = false;
    const store = new (class extends StoreProxy {
      override commitProgress(...args: Parameters<StoreProxy['commitProgress']>) {
        if (args[0].stream === target && sends.get(target) === 2 && !failed) {
          failed = true;
          return Promise.reject(new Error('DynamoDB unavailable'));
        }
        return super.commitProgress(...args);
      }
    })(r.dynamo.store);
    const first = await r.run({ owner: 'first', store, wrapSink });
    expect(failed).toBe(true);
    expect(outcomes(first)[target]).toBe('failed');
    const checkpoint = await r.checkpoint(target);
    expect(checkpoint?.lease).toBeUndefined();
    expect(checkpoint?.lastError?.message).toBe('DynamoDB unavailable');
    const acknowledged = r.batches(target)[1]!;

    const next = await r.run({ owner: 'next' });
    expect(next.streams.filter((s) => s.outcome !== 'caught-up')).toEqual([]);
    const repeats = expectAtLeastOnceWithinOneBatch(r);
    expect(new Set(repeats[target])).toEqual(new Set(acknowledged));
    expect(Object.entries(repeats).filter(([stream, ids]) => stream !== target && ids.length > 0)).toEqual(
      [],
    );
  });

  it.each(['siem', 'audit', 'malware-customer'] as const)(
    'after a crash between the acknowledgement of a %s batch and its checkpoint write',
    async (target) => {
      const r = await rigFor(api);
      const process = new Process();
      await crashingRun(r, process, { at: 'after-ack', stream: target, batch: 2 });
      expect(process.crashedAt).toBe(`after ${target} was acknowledged, before its commit`);
      const acknowledged = r.batches(target)[1]!;
      await expectLeaseKept(r, target, 'crashed');
      await restartAfterExpiry(r);
      const repeats = expectAtLeastOnceWithinOneBatch(r);
      // Exactly the acknowledged-but-uncommitted batch came again.
      expect(new Set(repeats[target])).toEqual(new Set(acknowledged));
      const checkpoint = await r.checkpoint(target);
      expect(checkpoint).toMatchObject({ instance: INSTANCE, offset: 0, consecutiveFailures: 0 });
      expect(checkpoint?.totals.events).toBeGreaterThanOrEqual(r.truth(target).length);
    },
  );

  it('after a crash in a later tick, inside a window whose end was resolved at fetch time', async () => {
    const r = await rigFor(api);
    await r.run({ owner: 'first' });
    for (const stream of ['audit', 'ttp-url'] as const) r.sim.publish(stream, 2 * PAGE_SIZE, { api });
    r.clock.advance((MARGIN_S + 5) * 1000);
    // Crash after the second batch: the first one was committed inside the first page, at offset BATCH.
    const process = new Process();
    await crashingRun(r, process, { at: 'after-ack', stream: 'audit', batch: 2 });
    expect(process.crashedAt).toBeDefined();
    expect(await r.checkpoint('audit')).toMatchObject({ offset: BATCH });
    // More events arrive while the lease runs out; audit serves newest first, so a resume that asked a
    // later window than the one it had started would skip the wrong records.
    for (const stream of ['audit', 'ttp-url'] as const) r.sim.publish(stream, 3, { api });
    r.clock.advance((MARGIN_S + 5) * 1000);
    await restartAfterExpiry(r);
    const repeats = expectAtLeastOnceWithinOneBatch(r);
    expect(repeats.audit).toHaveLength(BATCH);
  });
});
