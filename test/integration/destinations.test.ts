/**
 * Issue 14's HTTP destinations end to end: simulator → engine → the destination's loopback receiver →
 * checkpoint. Each failure answer (limits exceeded, throttled, refused, server error, connection dropped,
 * a lost indexer ack) loses nothing: a checkpoint is only ever written behind what the receiver
 * acknowledged, a refused stream stays where it was and the next tick delivers it, and a second tick
 * after catching up adds nothing. Every test's output is scanned for the destination's credential.
 */
import type { StreamId } from '../../lambda/core/streams';
import { ConfigError, SinkRejectedError } from '../../lambda/errors';
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

/** The Entra client secret and every access token the rig's token endpoint issued. */
function entraSecrets(r: Rig): Record<string, string> {
  const entra = r.entra!;
  return {
    entraClientSecret: entra.clientSecret,
    ...Object.fromEntries(entra.issued().map((t, n) => [`accessToken${n}`, t.accessToken])),
  };
}

test('sentinel: 413 halves, 429 Retry-After, 500, 503, reset, a refused token renewed, then a 403; nothing lost', async () => {
  const r = await rigFor({ api: 2, receiver: { kind: 'sentinel' } });
  r.receiver.inject(
    { kind: 'pass' },
    { kind: 'status', status: 413 },
    { kind: 'status', status: 429, retryAfter: 1 },
    { kind: 'status', status: 500 },
    { kind: 'status', status: 503 },
    { kind: 'reset' },
    // A token the API no longer takes: the sink drops it, fetches another and posts again.
    { kind: 'status', status: 401 },
    { kind: 'pass' },
    // The app lost its role on the rule: that stream is refused and waits.
    { kind: 'status', status: 403 },
  );
  const witnesses: CommitWitness[] = [];
  const container = r.container();
  const first = await tick(r, 'sentinel-1', container, witnesses);
  const failed = first.result.streams.filter((s) => s.outcome === 'failed');
  expect(failed).toHaveLength(1);
  expect(failed[0]!.error).toBeInstanceOf(SinkRejectedError);
  expect((failed[0]!.error as SinkRejectedError).remedy).toMatch(/Monitoring Metrics Publisher/);
  expect(deliveryReport(r, [failed[0]!.stream])[failed[0]!.stream].missing).toBeGreaterThan(0);
  expect(r.receiver.pendingFaults()).toBe(0);
  // One token for the tick, one more after the 401.
  expect(r.entra!.issued()).toHaveLength(2);

  const second = await tick(r, 'sentinel-2', container, witnesses);
  expect(second.outcome.ok).toBe(true);
  const report = deliveryReport(r, STREAMS);
  for (const stream of STREAMS)
    expect({ ...report[stream], extraCopies: 0 }).toEqual(exactlyOnce([stream])[stream]);
  // When the 403 meets the second half of a 413-split batch, the first half (acknowledged) goes again
  // with the whole batch on the next tick: the same ids, at most one batch.
  expect(Object.values(report).reduce((n, s) => n + s.extraCopies, 0)).toBeLessThanOrEqual(5);
  const statuses = r.receiver.ingestRequests().map((q) => q.status);
  expect(statuses).toEqual(expect.arrayContaining([413, 429, 500, 503, 401, 403, 204]));
  expect(
    r.receiver
      .items()
      .every((item) => typeof (item.raw as { TimeGenerated?: unknown }).TimeGenerated === 'string'),
  ).toBe(true);
  for (const witness of witnesses) await expectNeverAhead(r, witness);

  const before = r.receiver.ids().length;
  await tick(r, 'sentinel-3', container, witnesses);
  expect(r.receiver.ids().length).toBe(before);
  await expectNoCredentialIn(r, [first, second, failed[0]!.error, container.log.lines], entraSecrets(r));
});

test('sentinel: AADSTS refusals at the token endpoint stop every stream with a config error; nothing sent or moved', async () => {
  const r = await rigFor({ api: 1, receiver: { kind: 'sentinel' } });
  const witnesses: CommitWitness[] = [];
  const container = r.container();
  r.entra!.expireSecret();
  const expired = await tick(r, 'aadsts-1', container, witnesses);
  expect(expired.result.streams.map((s) => s.outcome)).toEqual(STREAMS.map(() => 'failed'));
  for (const stream of expired.result.streams) {
    expect(stream.error).toBeInstanceOf(ConfigError);
    expect((stream.error as ConfigError).problems[0]?.field).toBe('AZURE_CLIENT_SECRET');
  }
  expect(r.receiver.ingestRequests()).toHaveLength(0);

  r.entra!.reset();
  // One refusal per token request: each stream asks at most once (a refusal stops the stream).
  r.entra!.inject(...STREAMS.map(() => ({ kind: 'aadsts' as const, code: 700016 })));
  const unknown = await tick(r, 'aadsts-2', container, witnesses);
  r.entra!.reset();
  expect(
    unknown.result.streams.map((s) => (s.error as ConfigError | undefined)?.problems?.[0]?.field),
  ).toEqual(STREAMS.map(() => 'AZURE_CLIENT_ID'));
  expect(r.receiver.ingestRequests()).toHaveLength(0);
  for (const stream of STREAMS) expect(deliveryReport(r, [stream])[stream].missing).toBeGreaterThan(0);

  const fixed = await tick(r, 'aadsts-3', container, witnesses);
  expect(fixed.outcome.ok).toBe(true);
  expect(deliveryReport(r, STREAMS)).toEqual(exactlyOnce(STREAMS));
  // Every checkpoint written, in the refused ticks too, was behind what Azure had acknowledged.
  for (const witness of witnesses) if (witness.commits.length > 0) await expectNeverAhead(r, witness);
  await expectNoCredentialIn(r, [expired, unknown, fixed, container.log.lines], entraSecrets(r));
});
