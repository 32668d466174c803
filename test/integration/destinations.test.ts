/**
 * Issue 14's HTTP destinations end to end: simulator → engine → the destination's loopback receiver →
 * checkpoint. Each failure answer (limits exceeded, throttled, refused, server error, connection dropped,
 * a lost indexer ack) loses nothing: a checkpoint is only ever written behind what the receiver
 * acknowledged, a refused stream stays where it was and the next tick delivers it, and a second tick
 * after catching up adds nothing. Every test's output is scanned for the destination's credential.
 */
import type { StreamId } from '../../lambda/core/streams';
import { SinkRejectedError } from '../../lambda/errors';
import { CommitWitness } from '../kit/stores';
import { exposedText } from '../sinks/fixtures';
import { createLeakScanner } from '../support/leak-scan';
import {
  type Container,
  deliveryReport,
  exactlyOnce,
  expectNeverAhead,
  type Rig,
  rigPerTest,
} from './support';

const STREAMS: StreamId[] = ['siem', 'audit', 'ttp-url'];
const HEC_TOKEN = 'hec-5a1e-4b0b-9c1d-token-7e2f';
const SUMO_TOKEN = 'ZaVnC4dhaV2ZsumoE2Etoken9QmqH1Ds5k0wXyZ==';
const DD_KEY = 'dd0123456789abcdef0123456789abcd';

const rigFor = rigPerTest();

/** Everything a test could print: log lines, results with their errors, requests' answers, checkpoints. */
async function expectNoCredentialIn(r: Rig, outputs: unknown[], secrets: Record<string, string>) {
  const checkpoints = await Promise.all(STREAMS.map((s) => r.checkpoint(s)));
  const text = [
    JSON.stringify(r.log.lines),
    ...outputs.map((o) => (o instanceof Error ? exposedText(o) : JSON.stringify(o, errorsAsText))),
    JSON.stringify(checkpoints),
    ...r.receiver.requests().map((q) => q.answer ?? ''),
  ].join('\n');
  const scanner = createLeakScanner(secrets);
  expect(scanner.describe(scanner.scan(text))).toBe(scanner.describe([]));
}

function errorsAsText(_key: string, value: unknown): unknown {
  return value instanceof Error ? exposedText(value) : value;
}

async function tick(r: Rig, owner: string, container: Container, witnesses: CommitWitness[]) {
  return r.collect({
    owner,
    container,
    streams: STREAMS,
    wrapStore: (store) => {
      const witness = new CommitWitness(store, (s) => r.delivered(s));
      witnesses.push(witness);
      return witness;
    },
  });
}

test('splunk-hec --hec-ack: lost and stuck acks, busy, reset; checkpoints only behind indexed events', async () => {
  const r = await rigFor({
    api: 2,
    receiver: { kind: 'splunk-hec', token: HEC_TOKEN, ack: { pollsBeforeAcked: 1 } },
  });
  r.receiver.inject(
    { kind: 'pass' },
    // Answered Success with an ackId, lost before indexing: never acknowledged, sent again.
    { kind: 'hec-ack-dropped' },
    { kind: 'status', status: 503 },
    { kind: 'reset' },
    // Indexed, but the ack status is lost: sent again (Splunk then holds that batch twice).
    { kind: 'hec-ack-stuck' },
  );
  const witness = new CommitWitness(r.dynamo.store, (s) => r.delivered(s));
  const result = await r.run({ streams: STREAMS, store: witness });
  expect(Object.fromEntries(result.streams.map((s) => [s.stream, s.outcome]))).toEqual(
    Object.fromEntries(STREAMS.map((s) => [s, 'caught-up'])),
  );
  expect(r.receiver.pendingFaults()).toBe(0);
  const report = deliveryReport(r, STREAMS);
  for (const stream of STREAMS)
    expect({ ...report[stream], extraCopies: 0 }).toEqual(exactlyOnce([stream])[stream]);
  // Only the stuck post's events are there twice.
  expect(Object.values(report).reduce((n, s) => n + s.extraCopies, 0)).toBeLessThanOrEqual(5);
  await expectNeverAhead(r, witness);
  const channels = new Set(r.receiver.requests().map((q) => q.headers['x-splunk-request-channel']));
  expect(channels.size).toBe(1);

  // Caught up: a second run adds nothing.
  const before = r.receiver.ids().length;
  await r.run({ streams: STREAMS });
  expect(r.receiver.ids().length).toBe(before);
  await expectNoCredentialIn(r, [result], { hecToken: HEC_TOKEN });
});

test('splunk-hec --hec-ack through the handler path: HEC_ACK on, every post polled before its checkpoint', async () => {
  const r = await rigFor({
    api: 1,
    receiver: { kind: 'splunk-hec', token: HEC_TOKEN, ack: { pollsBeforeAcked: 2 } },
  });
  const witnesses: CommitWitness[] = [];
  const container = r.container();
  const report = await tick(r, 'hec-ack', container, witnesses);
  expect(report.outcome.ok).toBe(true);
  expect(deliveryReport(r, STREAMS)).toEqual(exactlyOnce(STREAMS));
  const posts = r.receiver.ingestRequests().length;
  const queries = r.receiver.requests().filter((q) => q.path === '/services/collector/ack').length;
  expect(queries).toBe(3 * posts);
  expect(r.receiver.hec!.pendingAcks()).toEqual([0]);
  for (const witness of witnesses) await expectNeverAhead(r, witness);
  await expectNoCredentialIn(r, [report, container.log.lines], { hecToken: HEC_TOKEN });
});

test('sumo: throttled, server error, dropped connection, then a refused URL; the refused stream waits', async () => {
  const r = await rigFor({ api: 2, receiver: { kind: 'sumo', token: SUMO_TOKEN } });
  r.receiver.inject(
    { kind: 'status', status: 429 },
    { kind: 'pass' },
    { kind: 'status', status: 503 },
    { kind: 'reset' },
    { kind: 'pass' },
    { kind: 'status', status: 401 },
  );
  const witnesses: CommitWitness[] = [];
  const container = r.container();
  const first = await tick(r, 'sumo-1', container, witnesses);
  const failed = first.result.streams.filter((s) => s.outcome === 'failed');
  expect(failed).toHaveLength(1);
  expect(failed[0]!.error).toBeInstanceOf(SinkRejectedError);
  expect(deliveryReport(r, [failed[0]!.stream])[failed[0]!.stream].missing).toBeGreaterThan(0);

  const second = await tick(r, 'sumo-2', container, witnesses);
  expect(second.outcome.ok).toBe(true);
  expect(deliveryReport(r, STREAMS)).toEqual(exactlyOnce(STREAMS));
  const categories = new Set(r.receiver.ingestRequests().map((q) => q.headers['x-sumo-category']));
  expect(categories).toEqual(new Set(STREAMS.map((s) => `mimecast/${s}`)));
  for (const witness of witnesses) await expectNeverAhead(r, witness);

  const before = r.receiver.ids().length;
  await tick(r, 'sumo-3', container, witnesses);
  expect(r.receiver.ids().length).toBe(before);
  await expectNoCredentialIn(r, [first, second, failed[0]!.error, container.log.lines], {
    sumoToken: SUMO_TOKEN,
  });
});

test('datadog: 413 halves, 429 Retry-After, 500, reset, then a 400 refusal; nothing lost', async () => {
  // A 1,500-byte intake makes the engine's batches too large: each is halved until it fits.
  const r = await rigFor({ api: 1, receiver: { kind: 'datadog', token: DD_KEY, maxBodyBytes: 1_500 } });
  r.receiver.inject(
    { kind: 'pass' },
    { kind: 'status', status: 429, retryAfter: 1 },
    { kind: 'status', status: 500 },
    { kind: 'reset' },
    {
      kind: 'status',
      status: 400,
      body: '{"errors":[{"status":"400","title":"Bad Request","detail":"Malformed JSON payload"}]}',
    },
  );
  const witnesses: CommitWitness[] = [];
  const container = r.container();
  const first = await tick(r, 'dd-1', container, witnesses);
  const failed = first.result.streams.filter((s) => s.outcome === 'failed');
  expect(failed.map((s) => (s.error as Error).message).join(' ')).toContain('Malformed JSON payload');
  expect(r.receiver.ingestRequests().some((q) => q.status === 413)).toBe(true);

  const second = await tick(r, 'dd-2', container, witnesses);
  expect(second.outcome.ok).toBe(true);
  expect(deliveryReport(r, STREAMS)).toEqual(exactlyOnce(STREAMS));
  expect(new Set(r.receiver.ingestRequests().map((q) => q.headers['dd-api-key']))).toEqual(new Set([DD_KEY]));
  for (const witness of witnesses) await expectNeverAhead(r, witness);
  await expectNoCredentialIn(r, [first, second, container.log.lines], { datadogKey: DD_KEY });
});
