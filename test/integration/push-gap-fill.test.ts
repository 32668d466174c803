/**
 * Gaps filled by pull (issue 15, part 3), end to end with real parts on loopback: the simulator's audit
 * events are pushed as they appear — the same envelopes with the pull path's ids, forwarded to the
 * receiver through the real destination and recorded in the push ledger (dynalite) only after it
 * acknowledged — except while the push integration is paused. The scheduled pull (`buildTick`, the
 * real Mimecast client over HTTP, push-primary `audit` trailing now) runs every 5 minutes meanwhile.
 * The receiver ends with every event exactly once; the pull sent exactly those missed in the pause.
 *
 * What push sends comes from an oracle: a second instance pulling the same simulator with no margin into
 * memory gives each minute's new events, which are pushed as Event Push's HEC body through the real
 * receiver (`receivePush`: classification, ids, forwarding, then the ledger).
 */
import { Agent } from 'undici';
import { runTick } from '../../lambda/core/engine';
import type { Envelope } from '../../lambda/core/envelope';
import { OccurrenceIds } from '../../lambda/core/occurrences';
import type { Sink } from '../../lambda/core/ports';
import type { StreamResult } from '../../lambda/core/results';
import { PUSH_LIMITS, receivePush } from '../../lambda/push';
import { buildTick, createCollectorClient } from '../../lambda/root';
import { createDestination } from '../../lambda/sinks/create';
import { type LocalCheckpointStore, openLocalCheckpointStore } from '../../lambda/state/local-store';
import { DynamoPushLedger } from '../../lambda/state/push-ledger-store';
import { TestClock } from '../kit/clock';
import { RecordingLog } from '../kit/log';
import { rigSettings } from '../kit/settings';
import { type Receiver, startReceiver } from '../receivers';
import { type RunningSimulator, startSimulator } from '../simulator';

const MINUTE = 60_000;
const INSTANCE = 'gap';
const STREAM = 'audit';
const TRAIL_SECONDS = 600;
const PUSH_TOKEN = 'gap-fill-push-token-0123456789';

interface World {
  clock: TestClock;
  sim: RunningSimulator;
  receiver: Receiver;
  dynamo: LocalCheckpointStore;
  ledger: DynamoPushLedger;
  dispatcher: Agent;
}

let world: World;

beforeEach(async () => {
  const clock = new TestClock();
  const [sim, receiver, dynamo] = await Promise.all([
    startSimulator({ seed: 15, now: () => clock.now(), events: { [STREAM]: 0 } }),
    startReceiver({ kind: 'ndjson' }),
    openLocalCheckpointStore(),
  ]);
  const ledger = new DynamoPushLedger({
    tableName: dynamo.tableName,
    instance: INSTANCE,
    endpoint: dynamo.endpoint,
    region: dynamo.region,
    credentials: dynamo.credentials,
    now: () => clock.now(),
  });
  world = { clock, sim, receiver, dynamo, ledger, dispatcher: new Agent({ keepAliveTimeout: 1000 }) };
});

afterEach(async () => {
  world.ledger.close();
  await Promise.allSettled([
    world.dispatcher.close(),
    world.sim.stop(),
    world.receiver.stop(),
    world.dynamo.close(),
  ]);
});

function settings(instance: string, latenessMarginSeconds: number, pushPrimary: boolean, start: Date) {
  return rigSettings({
    instance,
    apiVersion: 2,
    mimecastBaseUrl: world.sim.url,
    sinkUrl: world.receiver.url,
    sinkFormat: 'ndjson',
    streams: [STREAM],
    collectionStart: start,
    latenessMarginSeconds,
    batchMaxEvents: 7,
    ...(pushPrimary ? { pushPrimaryStreams: [STREAM], pushTrailSeconds: TRAIL_SECONDS } : {}),
  });
}

/** The ids of every event the simulator holds, numbered as the pull numbers them. */
function truthOf(sim: RunningSimulator): string[] {
  const ids = new OccurrenceIds(STREAM);
  return sim.groundTruth(STREAM, 2).map((record) => ids.idOf(record));
}

/** What Event Push would send now: the events that appeared since the last call, as the pull's envelopes. */
function pushOracle(start: Date): () => Promise<Envelope[]> {
  const { clock, dynamo, dispatcher } = world;
  const oracleSettings = settings('push-oracle', 0, false, start);
  const client = createCollectorClient(oracleSettings, world.sim.credentials.v2, { dispatcher, clock });
  let run = 0;
  return async () => {
    const seen: Envelope[] = [];
    const memory: Sink = {
      sizeOf: (e) => JSON.stringify(e).length,
      send: async (batch) => {
        seen.push(...batch);
        return { bytes: 0 };
      },
    };
    run += 1;
    const result = await runTick({
      instance: 'push-oracle',
      owner: `oracle-${run}`,
      sources: [client.source(STREAM)],
      store: dynamo.store,
      sink: memory,
      log: new RecordingLog(),
      clock,
      collectionStart: start,
      deadline: clock.now() + 20_000,
      limits: { leaseMs: 1000, safetyMarginMs: 2000 },
    });
    expect(result.streams[0]!.outcome).toBe('caught-up');
    return seen.map((e) => ({ ...e, instance: INSTANCE }));
  };
}

describe('push-primary audit: a paused push integration loses nothing', () => {
  it('the pull forwards exactly the events missed during the pause, each event arrives once', async () => {
    const { clock, sim, receiver, ledger, dispatcher } = world;
    // Before the first event: publish() spreads a minute's events over the seconds before now.
    const start = new Date(clock.now() - MINUTE);
    const log = new RecordingLog();
    const pullSettings = settings(INSTANCE, 60, true, start);
    // The push path's forwarding: the destination the settings name, then the ledger once it acknowledged.
    const destination = createDestination(pullSettings, { dispatcher, clock });
    const nextPush = pushOracle(start);
    const pushedIds: string[] = [];
    const missedIds: string[] = [];
    const pulls: StreamResult[] = [];
    const pull = async (owner: string) => {
      const tick = buildTick(
        pullSettings,
        {
          log,
          store: world.dynamo.store,
          credentials: { mimecast: sim.credentials.v2 },
          dispatcher,
          pushLedger: ledger,
        },
        { clock, limits: { leaseMs: 1000, safetyMarginMs: 2000 } },
      );
      const result = await tick.run({ owner, deadline: clock.now() + 20_000, streams: [STREAM] });
      expect(result.streams[0]!.outcome).not.toBe('failed');
      pulls.push(result.streams[0]!);
    };

    // 70 minutes: 3 events a minute; push paused from minute 20 to 34; a pull every 5 minutes.
    for (let minute = 0; minute < 70; minute += 1) {
      if (minute < 60) sim.publish(STREAM, 3);
      const envelopes = await nextPush();
      if (minute >= 20 && minute < 35) {
        missedIds.push(...envelopes.map((e) => e.id));
      } else if (envelopes.length > 0) {
        // Event Push's HEC body of these events, through the real receiver: forwarded, then recorded.
        const answer = await receivePush(
          {
            method: 'POST',
            path: '/services/collector/event',
            headers: { authorization: `Splunk ${PUSH_TOKEN}` },
            body: Buffer.from(JSON.stringify(envelopes.map((e) => ({ event: e.event })))),
          },
          {
            token: PUSH_TOKEN,
            destination,
            instance: INSTANCE,
            limits: { ...PUSH_LIMITS, batchMaxEvents: 50, batchMaxBytes: 1024 * 1024 },
            budget: () => ({ signal: new AbortController().signal, deadline: clock.now() + 10_000 }),
            clock,
            log,
            ledger,
          },
        );
        expect(answer.status).toBe(200);
        pushedIds.push(...envelopes.map((e) => e.id));
      }
      if (minute % 5 === 0) await pull(`pull-${minute}`);
      clock.advance(MINUTE);
    }
    // Past the trail: the pull reads the last events push delivered, and stops.
    await pull('pull-final');

    const truth = truthOf(sim);
    expect(truth).toHaveLength(180);
    expect(missedIds.length).toBeGreaterThan(30);
    const arrived = receiver
      .received()
      .filter((e) => e.stream === STREAM)
      .map((e) => e.id);
    // Every event, exactly once.
    expect([...arrived].sort()).toEqual([...truth].sort());
    // The pull sent exactly the events the pause lost: they are the push gap it reports.
    const gap = pulls.reduce((sum, s) => sum + (s.gapFill?.gap ?? 0), 0);
    const alreadyPushed = pulls.reduce((sum, s) => sum + (s.gapFill?.alreadyPushed ?? 0), 0);
    const unchecked = pulls.reduce((sum, s) => sum + (s.gapFill?.unchecked ?? 0), 0);
    expect({ gap, alreadyPushed, unchecked }).toEqual({
      gap: missedIds.length,
      alreadyPushed: pushedIds.length,
      unchecked: 0,
    });
    expect(new Set(pushedIds).size + new Set(missedIds).size).toBe(truth.length);
  });

  it('with the ledger unreadable, the pull sends everything again (duplicates, never a gap)', async () => {
    const { clock, sim, receiver, dispatcher } = world;
    // Before the first event: publish() spreads a minute's events over the seconds before now.
    const start = new Date(clock.now() - MINUTE);
    const pullSettings = settings(INSTANCE, 60, true, start);
    const destination = createDestination(pullSettings, { dispatcher, clock });
    const nextPush = pushOracle(start);
    const down = new DynamoPushLedger({
      tableName: world.dynamo.tableName,
      instance: INSTANCE,
      endpoint: 'http://127.0.0.1:9',
      region: world.dynamo.region,
      credentials: world.dynamo.credentials,
    });
    try {
      for (let minute = 0; minute < 12; minute += 1) {
        sim.publish(STREAM, 2);
        const envelopes = await nextPush();
        // Push delivers (minute 5 to 7 paused) but cannot record: the ledger is down.
        if ((minute < 5 || minute >= 8) && envelopes.length > 0) {
          await destination.send(envelopes, {
            signal: new AbortController().signal,
            deadline: clock.now() + 10_000,
          });
        }
        clock.advance(MINUTE);
      }
      clock.advance(TRAIL_SECONDS * 1000);
      const log = new RecordingLog();
      const result = await buildTick(
        pullSettings,
        {
          log,
          store: world.dynamo.store,
          credentials: { mimecast: sim.credentials.v2 },
          dispatcher,
          pushLedger: down,
        },
        { clock, limits: { leaseMs: 1000, safetyMarginMs: 2000 } },
      ).run({ owner: 'pull', deadline: clock.now() + 20_000, streams: [STREAM] });

      expect(result.streams[0]!.outcome).toBe('caught-up');
      expect(result.streams[0]!.gapFill).toEqual({ alreadyPushed: 0, gap: 0, unchecked: 24 });
      const truth = truthOf(sim);
      const arrived = new Set(receiver.received().map((e) => e.id));
      expect(truth.filter((id) => !arrived.has(id))).toEqual([]);
      expect(log.find('warn', 'push ledger unreadable').length).toBeGreaterThan(0);
    } finally {
      down.close();
    }
  });
});
