/**
 * Issue 14's syslog destination end to end: simulator → engine → the loopback syslog receiver (TCP and
 * TLS) → checkpoint. Each failure (connection refused, a reset mid-batch, a receiver that stops reading,
 * one connection too many, an untrusted certificate, a message over the limit) loses nothing: every
 * checkpoint written was behind what the receiver held (CommitWitness, replayed from the simulator),
 * and a later tick delivers the rest; a tick after catching up adds nothing.
 */
import { connect, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { OccurrenceIds } from '../../lambda/core/occurrences';
import type { TickResult } from '../../lambda/core/results';
import type { StreamId } from '../../lambda/core/streams';
import { SinkRejectedError } from '../../lambda/errors';
import { buildTick, createCollectorClient } from '../../lambda/root';
import { type LocalCheckpointStore, openLocalCheckpointStore } from '../../lambda/state/local-store';
import { RecordingLog } from '../kit/log';
import { rigSettings } from '../kit/settings';
import { CommitWitness } from '../kit/stores';
import { type SyslogReceiver, startSyslogReceiver } from '../receivers/syslog';
import { type RunningSimulator, startSimulator } from '../simulator';
import { replay } from './support';

const STREAMS: StreamId[] = ['audit', 'ttp-url'];
const INSTANCE = 'it-syslog';

let sim: RunningSimulator;
let dynamo: LocalCheckpointStore;
let receiver: SyslogReceiver | undefined;

beforeAll(async () => {
  [sim, dynamo] = await Promise.all([
    startSimulator({
      seed: 14,
      events: { audit: 17, 'ttp-url': 11 },
      // Every tick here is a fresh client with its own OAuth token; this file is about the syslog
      // side, so the token endpoint's rate limit (test/simulator/rate-limit.ts) is set out of reach.
      tokenRateLimit: { capacity: 1_000, refillPerSecond: 10 },
    }),
    openLocalCheckpointStore(),
  ]);
});
afterAll(async () => {
  await Promise.allSettled([sim.stop(), dynamo.close()]);
});
afterEach(async () => {
  await receiver?.stop();
  receiver = undefined;
});

const collectionStart = new Date(Date.now() - 3 * 86_400_000);

function settings(sinkUrl: string, instance: string, extra: { ca?: string; max?: number } = {}) {
  return rigSettings({
    instance,
    apiVersion: 2,
    mimecastBaseUrl: sim.url,
    streams: STREAMS,
    collectionStart,
    sinkUrl,
    sinkFormat: 'syslog',
    batchMaxEvents: 5,
    ...(extra.ca === undefined ? {} : { sinkCa: extra.ca }),
    ...(extra.max === undefined ? {} : { syslogMaxMessageBytes: extra.max }),
  });
}

/** A test's world: its own instance (so checkpoints start empty), a witness of every commit. */
function world(
  sinkUrl: () => string,
  extra: { ca?: string; max?: number } = {},
  instance = `${INSTANCE}-${Math.random().toString(36).slice(2, 8)}`,
) {
  const log = new RecordingLog();
  const witness = new CommitWitness(dynamo.store, (stream) => held(stream, instance));
  const tick = async (budgetMs = 20_000): Promise<TickResult> =>
    buildTick(
      settings(sinkUrl(), instance, extra),
      { log, store: witness, credentials: { mimecast: sim.credentials.v2 } },
      {
        sinkRetry: {
          maxAttempts: 3,
          baseDelayMs: 10,
          maxDelayMs: 50,
          attemptTimeoutMs: 1_000,
          minAttemptMs: 10,
        },
        limits: { concurrency: STREAMS.length },
      },
    ).run({ owner: `syslog-${Math.random()}`, deadline: Date.now() + budgetMs, streams: STREAMS });
  const neverAhead = async () => {
    const client = createCollectorClient(settings(sinkUrl(), instance), sim.credentials.v2);
    expect(await witness.check((s, c, o) => replay(client, s, c, o), truth)).toEqual([]);
  };
  const checkpoint = (stream: StreamId) => dynamo.store.load({ instance, stream });
  return { instance, tick, neverAhead, checkpoint, witness, log };
}

function truth(stream: StreamId): string[] {
  const ids = new OccurrenceIds(stream);
  return sim.groundTruth(stream, 2).map((record) => ids.idOf(record));
}

function held(stream: StreamId, instance: string): string[] {
  return (receiver?.received() ?? [])
    .filter((e) => e.stream === stream && e.instance === instance)
    .map((e) => e.id);
}

/** Per stream: ground-truth ids missing at the receiver, and ids it holds that are not in the truth. */
function report(instance: string) {
  return Object.fromEntries(
    STREAMS.map((stream) => {
      const got = new Set(held(stream, instance));
      const want = truth(stream);
      return [
        stream,
        {
          missing: want.filter((id) => !got.has(id)).length,
          unexpected: [...got].filter((id) => !want.includes(id)).length,
        },
      ];
    }),
  );
}
const complete = Object.fromEntries(STREAMS.map((s) => [s, { missing: 0, unexpected: 0 }]));
const outcomes = (result: TickResult) => Object.fromEntries(result.streams.map((s) => [s.stream, s.outcome]));
const allCaughtUp = Object.fromEntries(STREAMS.map((s) => [s, 'caught-up']));

test.each(['tcp', 'tls'] as const)(
  '%s: everything arrives as RFC 5424 frames; a second tick adds nothing',
  async (transport) => {
    receiver = await startSyslogReceiver({ transport });
    const w = world(() => receiver!.url, { ...(receiver.ca === undefined ? {} : { ca: receiver.ca }) });
    expect(outcomes(await w.tick())).toEqual(allCaughtUp);
    expect(report(w.instance)).toEqual(complete);
    const count = receiver.ids().length;
    expect(new Set(receiver.ids()).size).toBe(count);
    expect(receiver.frameErrors()).toEqual([]);
    expect(
      receiver.messages().every((m) => m.parseError === undefined && m.appName === 'mimecast-collector'),
    ).toBe(true);
    expect(new Set(receiver.messages().map((m) => m.msgId))).toEqual(new Set(STREAMS));
    await w.neverAhead();
    expect(outcomes(await w.tick())).toEqual(allCaughtUp);
    expect(receiver.ids().length).toBe(count);
  },
);

test('connection refused: streams fail, no checkpoint moves; the next tick with the receiver up delivers all', async () => {
  receiver = await startSyslogReceiver();
  const port = receiver.port;
  await receiver.stop();
  receiver = undefined;
  const w = world(() => `tcp://127.0.0.1:${port}`);
  const first = await w.tick();
  expect(outcomes(first)).toEqual(Object.fromEntries(STREAMS.map((s) => [s, 'failed'])));
  expect(first.streams[0]!.error).toMatchObject({ retryable: true });
  for (const stream of STREAMS) expect((await w.checkpoint(stream))?.totals.events ?? 0).toBe(0);
  receiver = await startSyslogReceiver({ port });
  expect(outcomes(await w.tick())).toEqual(allCaughtUp);
  expect(report(w.instance)).toEqual(complete);
  await w.neverAhead();
});

test('reset mid-batch, again and again: each batch goes again whole; nothing lost, checkpoints never ahead', async () => {
  receiver = await startSyslogReceiver();
  receiver.inject(
    { kind: 'drop', afterMessages: 3 },
    { kind: 'drop', afterMessages: 7 },
    { kind: 'drop', afterMessages: 2, how: 'reset' },
  );
  const w = world(() => receiver!.url);
  expect(outcomes(await w.tick())).toEqual(allCaughtUp);
  expect(receiver.pendingFaults()).toBe(0);
  expect(receiver.connections().filter((c) => c.closedBy === 'fault')).toHaveLength(3);
  expect(report(w.instance)).toEqual(complete);
  // The repeats are parts of the batches that were cut.
  expect(receiver.ids().length).toBeGreaterThan(new Set(receiver.ids()).size);
  await w.neverAhead();
});

test('a receiver that stops reading: the tick ends within its budget, checkpoints behind what was read', async () => {
  receiver = await startSyslogReceiver();
  const w = world(() => receiver!.url);
  receiver.pause();
  const started = Date.now();
  const first = await w.tick(4_000);
  expect(Date.now() - started).toBeLessThan(10_000);
  expect(first.streams.every((s) => s.outcome !== 'caught-up')).toBe(true);
  await w.neverAhead();
  receiver.resume();
  expect(outcomes(await w.tick())).toEqual(allCaughtUp);
  expect(report(w.instance)).toEqual(complete);
  await w.neverAhead();
});

test.each(['tcp', 'tls'] as const)(
  '%s: one connection too many is turned away; delivered once a slot frees',
  async (transport) => {
    receiver = await startSyslogReceiver({ transport, maxConnections: 1 });
    const r = receiver;
    const hog: Socket =
      transport === 'tls'
        ? connectTls({ port: r.port, host: '127.0.0.1', ca: r.ca! })
        : connect(r.port, '127.0.0.1');
    await new Promise((resolve) => hog.once(transport === 'tls' ? 'secureConnect' : 'connect', resolve));
    const w = world(() => r.url, { ...(r.ca === undefined ? {} : { ca: r.ca }) });
    try {
      const first = await w.tick(3_000);
      expect(first.streams.every((s) => s.outcome !== 'caught-up')).toBe(true);
      expect(r.ids()).toEqual([]);
      for (const stream of STREAMS) expect((await w.checkpoint(stream))?.totals.events ?? 0).toBe(0);
    } finally {
      hog.destroy();
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(outcomes(await w.tick())).toEqual(allCaughtUp);
    expect(report(w.instance)).toEqual(complete);
    await w.neverAhead();
  },
);

test('tls: an untrusted certificate refuses (SinkRejectedError naming --sink-ca-file); with the CA it delivers', async () => {
  receiver = await startSyslogReceiver({ transport: 'tls' });
  const r = receiver;
  const untrusted = world(() => r.url);
  const first = await untrusted.tick();
  for (const stream of first.streams) {
    expect(stream.outcome).toBe('failed');
    expect(stream.error).toBeInstanceOf(SinkRejectedError);
    expect((stream.error as SinkRejectedError).remedy).toMatch(/--sink-ca-file/);
  }
  expect(r.ids()).toEqual([]);
  for (const stream of STREAMS) expect((await untrusted.checkpoint(stream))?.totals.events ?? 0).toBe(0);
  const trusted = world(() => r.url, { ca: r.ca! }, untrusted.instance);
  expect(outcomes(await trusted.tick())).toEqual(allCaughtUp);
  expect(report(trusted.instance)).toEqual(complete);
  await trusted.neverAhead();
});

test('a message over --syslog-max-message-bytes stops its stream at that event, named; raising it delivers', async () => {
  receiver = await startSyslogReceiver();
  const r = receiver;
  // Below any envelope's size (the setting's own floor is 2,048; the destination takes what it is given).
  const small = world(() => r.url, { max: 300 });
  const first = await small.tick();
  expect(outcomes(first)).toEqual(Object.fromEntries(STREAMS.map((s) => [s, 'failed'])));
  for (const s of first.streams) {
    expect(s.error).toBeInstanceOf(SinkRejectedError);
    expect((s.error as Error).message).toMatch(
      new RegExp(`event \\S+ of stream ${s.stream} is \\d+ bytes as a syslog message, over the 300 allowed`),
    );
    expect((await small.checkpoint(s.stream))?.totals.events ?? 0).toBe(0);
  }
  expect(r.ids()).toEqual([]);
  const raised = world(() => r.url, {}, small.instance);
  expect(outcomes(await raised.tick())).toEqual(allCaughtUp);
  expect(report(raised.instance)).toEqual(complete);
  await raised.neverAhead();
});
