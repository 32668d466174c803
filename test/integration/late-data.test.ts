/**
 * Late data (issue 11, item 7), measured through the real engine, Mimecast client, HTTP sink and
 * dynalite under the default settings (lateness margin 300 s, late-data horizon 60 minutes): events that
 * Mimecast makes visible 5 to 90 minutes after their own time, on a busy stream (new events every tick,
 * so each window starts after the late events' time) and an idle one, with a tick every 5 minutes.
 * Every event up to 60 minutes late arrives, exactly once; nothing arrives twice. With
 * LATE_DATA_REPORT=<file> the measured table is written there (docs/RELIABILITY.md shows it).
 */
import { writeFileSync } from 'node:fs';
import { canonicalJson } from '../../lambda/core/envelope';
import type { StreamId } from '../../lambda/core/streams';
import { Process } from '../kit/stores';
import {
  crashable,
  expectAtLeastOnceWithinOneBatch,
  INSTANCE,
  outcomes,
  type Rig,
  RUN_BUDGET_MS,
  rigPerTest,
  STREAM_PATHS,
} from './support';

const rigFor = rigPerTest();
const MINUTE = 60_000;
const TICK_MS = 5 * MINUTE;
const LATENESS_MINUTES = [5, 10, 30, 59, 60, 61, 75, 90] as const;
const HORIZON_MINUTES = 60;
/** API 1.0 signs with the wall clock; the simulator's clock is the rig's, moved hours ahead. */
const RIG = { latenessMarginSeconds: 300, simulator: { variants: { v1MaxClockSkewSeconds: 86_400 } } };

function deliveries(rig: Rig, stream: StreamId, record: unknown): string[] {
  const key = canonicalJson(record);
  return rig.receiver
    .received()
    .filter((e) => e.stream === stream && e.instance === INSTANCE && canonicalJson(e.event) === key)
    .map((e) => e.id);
}

function callsTo(rig: Rig, stream: StreamId): number {
  const path = STREAM_PATHS[stream][rig.api];
  return rig.sim.requests().filter((r) => (typeof path === 'string' ? r.path === path : path.test(r.path)))
    .length;
}

/** Moves the rig clock to the next 10-minute mark plus `plusMs`, so the schedule is the same every run. */
function align(rig: Rig, plusMs: number): void {
  const now = rig.clock.now();
  rig.clock.advance(Math.ceil(now / (10 * MINUTE)) * 10 * MINUTE + plusMs - now);
}

/** Busy streams of each API, and where in a 10-minute span the late events are published. */
const MEASURED = [
  { api: 2, busy: 'audit', offsetSeconds: 30 },
  { api: 2, busy: 'audit', offsetSeconds: 570 },
  { api: 1, busy: 'ttp-url', offsetSeconds: 30 },
] as const;

describe.each(MEASURED)(
  'API $api, default settings, a tick every 5 minutes, $offsetSeconds s into a span',
  ({ api, busy, offsetSeconds }) => {
    const idle: StreamId = 'dlp';

    it('delivers events up to 60 minutes late exactly once, on a busy and an idle stream', async () => {
      const rig = await rigFor({ api, ...RIG });
      align(rig, offsetSeconds * 1000);
      const streams = [busy, idle];
      const calls = { busy: [] as number[], idle: [] as number[] };
      const tick = async (): Promise<void> => {
        // The busy stream gets new events every tick, so its windows always start after the late events.
        rig.sim.publish(busy, 2);
        const before = { busy: callsTo(rig, busy), idle: callsTo(rig, idle) };
        const result = await rig.run({ streams });
        expect(result.streams.filter((s) => s.outcome !== 'caught-up')).toEqual([]);
        calls.busy.push(callsTo(rig, busy) - before.busy);
        calls.idle.push(callsTo(rig, idle) - before.idle);
        rig.clock.advance(TICK_MS);
      };
      // Seeded 26 hours back; after 90 minutes of ticks the stream is in its steady state (the idle
      // stream's one re-check, of the span holding its newest event, is behind it): an hour measured.
      for (let i = 0; i < 30; i += 1) await tick();
      const steady = { busy: calls.busy.slice(-12), idle: calls.idle.slice(-12) };

      const late = LATENESS_MINUTES.map((minutes) => ({
        minutes,
        busy: rig.sim.publish(busy, 1, { lateBySeconds: minutes * 60 })[0],
        idle: rig.sim.publish(idle, 1, { lateBySeconds: minutes * 60 })[0],
      }));
      // Two hours more: past every re-check the late events could fall into.
      for (let i = 0; i < 24; i += 1) await tick();

      const rows = late.map(({ minutes, busy: b, idle: d }) => ({
        minutes,
        busy: deliveries(rig, busy, b).length,
        idle: deliveries(rig, idle, d).length,
      }));
      if (process.env.LATE_DATA_REPORT) {
        writeFileSync(
          process.env.LATE_DATA_REPORT,
          `${JSON.stringify({ api, busy, idle, offsetSeconds, rows, steadyCallsPerTick: steady })}\n`,
          { flag: 'a' },
        );
      }
      // Up to the horizon: exactly once, on both streams.
      expect(rows.filter((r) => r.minutes <= HORIZON_MINUTES && (r.busy !== 1 || r.idle !== 1))).toEqual([]);
      // Never twice, whatever the lateness; and nothing at all once the re-check of its span has passed.
      expect(rows.filter((r) => r.busy > 1 || r.idle > 1)).toEqual([]);
      expect(rows.find((r) => r.minutes === 90)?.busy).toBe(0);
      // Every other event exactly once too.
      for (const stream of streams) {
        const ids = rig.delivered(stream);
        expect({ stream, repeats: ids.length - new Set(ids).size }).toEqual({ stream, repeats: 0 });
      }
      // Cost: an idle stream one call a tick; a busy one at most one more call every other tick.
      expect(steady.idle.every((n) => n === 1)).toBe(true);
      expect(steady.busy.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(12 + 6);
    });
  },
);

describe.each([2, 1] as const)('API %i, late-data re-check', (api) => {
  const busy: StreamId = api === 2 ? 'audit' : 'ttp-url';

  it('resumes inside a page after a crash, repeating at most the batch in flight', async () => {
    const rig = await rigFor({ api, ...RIG });
    align(rig, 30_000);
    const run = async (): Promise<void> => {
      const result = await rig.run({ streams: [busy] });
      expect(outcomes(result)[busy]).toBe('caught-up');
      rig.clock.advance(TICK_MS);
    };
    for (let i = 0; i < 4; i += 1) {
      rig.sim.publish(busy, 2);
      await run();
    }
    // Twenty events 30 minutes late: three pages (8 records each) and four batches (5 events each).
    const late = rig.sim.publish(busy, 20, { lateBySeconds: 30 * 60 });
    rig.sim.publish(busy, 2);
    await run();
    expect(late.filter((record) => deliveries(rig, busy, record).length > 0)).toEqual([]);

    // Quiet ticks until one delivers more than a batch (the re-check): that one crashes after the
    // receiver acknowledged its second batch, before the checkpoint write.
    let crashed: Process | undefined;
    for (let i = 0; i < 16 && crashed === undefined; i += 1) {
      const process = new Process();
      const { wrapStore, wrapSink } = crashable(process, { at: 'after-ack', stream: busy, batch: 2 });
      await rig.run({
        streams: [busy],
        store: wrapStore(rig.dynamo.store),
        wrapSink,
        signal: process.signal,
      });
      if (process.crashedAt !== undefined) crashed = process;
      else rig.clock.advance(TICK_MS);
    }
    expect(crashed?.crashedAt).toMatch(/acknowledged/);
    expect((await rig.checkpoint(busy))?.offset).toBeGreaterThan(0);
    rig.clock.advance(RUN_BUDGET_MS + 1000);
    const restarted = await rig.run({ streams: [busy], freshProcess: true });
    expect(outcomes(restarted)[busy]).toBe('caught-up');
    expect(late.filter((record) => deliveries(rig, busy, record).length === 0)).toEqual([]);
    expectAtLeastOnceWithinOneBatch(rig, [busy]);
  });
});
