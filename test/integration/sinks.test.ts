/**
 * The sink formats end to end, through collectTick as the Lambda runs it: the receiver's token comes
 * from the collector secret and goes out as that product's Authorization header. Faults mid-run — a 429
 * with Retry-After, HEC "busy", bulk items refused for a while or for good — lose nothing, and no
 * checkpoint is ever written ahead of what the receiver acknowledged.
 */
import type { StreamId } from '../../lambda/core/streams';
import { SinkRejectedError } from '../../lambda/errors';
import { CommitWitness } from '../kit/stores';
import { deliveryReport, exactlyOnce, expectNeverAhead, rigPerTest } from './support';

const STREAMS: StreamId[] = ['siem', 'audit', 'ttp-url'];

const rigFor = rigPerTest();

function streamOf(body: string): StreamId {
  for (const line of body.split('\n')) {
    const value = JSON.parse(line) as { stream?: StreamId; event?: { stream?: StreamId } };
    const stream = value.stream ?? value.event?.stream;
    if (stream !== undefined) return stream;
  }
  throw new Error('no envelope in the request');
}

test('splunk-hec: Splunk token from the secret, 429 Retry-After and HEC busy mid-run', async () => {
  const token = 'hec-0f1e2d3c-token';
  const r = await rigFor({ api: 2, receiver: { kind: 'splunk-hec', token } });
  r.receiver.inject(
    { kind: 'pass' },
    { kind: 'pass' },
    { kind: 'status', status: 429, retryAfter: 1 },
    { kind: 'pass' },
    { kind: 'hec-code', code: 9 },
  );
  const witness = { current: undefined as CommitWitness | undefined };
  const report = await r.collect({
    owner: 'hec',
    streams: STREAMS,
    wrapStore: (store) => (witness.current = new CommitWitness(store, (s) => r.delivered(s))),
  });

  expect(report.outcome.streams.map((s) => [s.stream, s.outcome])).toEqual(
    STREAMS.map((s) => [s, 'caught-up']),
  );
  expect(r.receiver.pendingFaults()).toBe(0);
  const requests = r.receiver.ingestRequests();
  expect(requests.map((q) => q.status)).toContain(503);
  // The throttled batch was sent again once the Retry-After had passed. (A 429 answered before the body
  // is read keeps no body; the retry is known by its gzip size, which another batch may share.)
  const throttled = requests.find((q) => q.status === 429)!;
  const resent = requests.filter(
    (q) => q.call > throttled.call && q.wireBytes === throttled.wireBytes && q.status === 200,
  );
  expect(resent.map((q) => q.receivedAt - throttled.receivedAt >= 950)).toContain(true);
  expect(new Set(requests.map((q) => q.headers.authorization))).toEqual(new Set([`Splunk ${token}`]));
  expect(deliveryReport(r, STREAMS)).toEqual(exactlyOnce(STREAMS));
  const hec = r.receiver.items()[0]!.raw as Record<string, unknown>;
  expect(hec).toMatchObject({ host: 'it', source: expect.stringMatching(/^mimecast:/) });
  await expectNeverAhead(r, witness.current!);
});

test('elastic-bulk: ApiKey from the secret, items refused for a while and for good', async () => {
  const token = Buffer.from('key-id:key-secret').toString('base64');
  const r = await rigFor({ api: 1, receiver: { kind: 'elastic-bulk', token } });
  r.receiver.inject(
    { kind: 'pass' },
    // Retried by the sink, only these items.
    { kind: 'bulk-items', statuses: { 0: 429, 2: 503 } },
    { kind: 'pass' },
    { kind: 'pass' },
    // A mapping error: the batch is refused, its other documents are indexed.
    { kind: 'bulk-items', statuses: { 1: 400 } },
  );
  const witnesses: CommitWitness[] = [];
  const tick = (owner: string) =>
    r.collect({
      owner,
      streams: STREAMS,
      wrapStore: (store) => {
        const witness = new CommitWitness(store, (s) => r.delivered(s));
        witnesses.push(witness);
        return witness;
      },
    });

  const first = await tick('bulk-1');
  const faulted = r.receiver.ingestRequests().filter((q) => q.fault === 'bulk-items');
  expect(faulted).toHaveLength(2);
  const refusedRequest = faulted[1]!;
  const refusedStream = streamOf(refusedRequest.body);
  const refused = first.result.streams.find((s) => s.stream === refusedStream)!;
  expect(refused.outcome).toBe('failed');
  expect(refused.error).toBeInstanceOf(SinkRejectedError);
  expect(first.result.streams.filter((s) => s.stream !== refusedStream).map((s) => s.outcome)).toEqual([
    'caught-up',
    'caught-up',
  ]);
  // Nothing of the refused stream was committed past the last batch acknowledged in full.
  expect(deliveryReport(r, [refusedStream])[refusedStream].missing).toBeGreaterThan(0);

  const second = await tick('bulk-2');
  expect(second.outcome.ok).toBe(true);
  expect(deliveryReport(r, STREAMS)).toEqual(exactlyOnce(STREAMS));
  // The refused batch was sent again: its documents already indexed met 409, which acknowledges them.
  expect(
    r.receiver.ingestRequests().some((q) => q.answer?.includes('version_conflict_engine_exception')),
  ).toBe(true);
  expect(new Set(r.receiver.ingestRequests().map((q) => q.headers.authorization))).toEqual(
    new Set([`ApiKey ${token}`]),
  );
  for (const witness of witnesses) await expectNeverAhead(r, witness);
});
