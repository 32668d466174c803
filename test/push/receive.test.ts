/**
 * `mimecast-collector receive` over loopback HTTP: each Event Push body shape into a real destination
 * (the Splunk HEC receiver of test/receivers/), HEC answers for bad tokens and bad bodies, an oversized
 * body refused without being read whole, and a failing destination answered with an error: nothing lost,
 * the same push again delivers the same ids.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { receiveCommand } from '../../bin/cli/receive';
import { PUSH_LIMITS } from '../../lambda/push';
import { captureIO } from '../cli/cli-io';
import { type Receiver, startReceiver } from '../receivers';
import { TOKEN as SINK_TOKEN } from '../sinks/fixtures';
import { auditEvent, gzip, hecArray, ndjson, receiptEvent } from './fixtures';

const PUSH_TOKEN = 'push-7d1e0c2b9a8f4e6d5c4b3a29';

let hec: Receiver;
let origin: string;
let stop: AbortController;
let running: Promise<number>;
let io: ReturnType<typeof captureIO>;

beforeEach(async () => {
  hec = await startReceiver({ kind: 'splunk-hec', token: SINK_TOKEN });
  stop = new AbortController();
  io = { ...captureIO({ PUSH_TOKEN, SINK_TOKEN }), signal: stop.signal };
  running = receiveCommand(
    [
      '--listen',
      '127.0.0.1:0',
      '--sink-format',
      'splunk-hec',
      '--sink-url',
      hec.url,
      '--instance',
      'acme-prod',
    ],
    io,
  );
  // Bounded wait for the "Receiving ... on http://127.0.0.1:PORT" line.
  for (let i = 0; i < 200 && origin === undefined; i++) {
    const line = io.outLines.find((l) => l.startsWith('Receiving Event Push on '));
    const match = line && /on (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
    if (match) origin = match[1]!;
    else await sleep(10);
  }
  expect(origin).toBeDefined();
});

afterEach(async () => {
  stop.abort();
  expect(await running).toBe(0);
  origin = undefined as unknown as string;
  await hec.stop();
});

async function push(body: string | Uint8Array, headers: Record<string, string> = {}) {
  const res = await fetch(`${origin}/services/collector/event`, {
    method: 'POST',
    headers: { authorization: `Splunk ${PUSH_TOKEN}`, 'content-type': 'application/json', ...headers },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: (await res.json()) as { text: string; code: number; detail?: string } };
}

const events = [receiptEvent(1), receiptEvent(2), auditEvent(1)];

it('a HEC JSON array: answered Success only with every event at the destination, in the envelope', async () => {
  const answer = await push(hecArray(events));
  expect(answer).toEqual({ status: 200, body: { text: 'Success', code: 0 } });
  const received = hec.received();
  expect(received.map((e) => e.event)).toEqual([receiptEvent(1), receiptEvent(2), auditEvent(1)]);
  expect(received.map((e) => [e.stream, e.logType, e.instance])).toEqual([
    ['siem', 'receipt', 'acme-prod'],
    ['siem', 'receipt', 'acme-prod'],
    ['audit', 'authentication_logs', 'acme-prod'],
  ]);
  expect(io.outLines.some((l) => l.includes('push forwarded: siem +2, audit +1'))).toBe(true);
});

it('NDJSON (with the form content type Mimecast sends), a webhook event, gzip, Bearer', async () => {
  expect((await push(ndjson(events), { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(
    200,
  );
  expect(
    (await push(JSON.stringify(receiptEvent(9)), { authorization: `Bearer ${PUSH_TOKEN}` })).status,
  ).toBe(200);
  expect((await push(gzip(hecArray([receiptEvent(10)])), { 'content-encoding': 'gzip' })).status).toBe(200);
  expect(hec.received().map((e) => e.event)).toEqual([...events, receiptEvent(9), receiptEvent(10)]);
});

it('missing, malformed and wrong tokens: HEC codes 2, 3, 4; nothing forwarded', async () => {
  const res = await fetch(`${origin}/services/collector/event`, { method: 'POST', body: hecArray(events) });
  expect([res.status, ((await res.json()) as { code: number }).code]).toEqual([401, 2]);
  expect(await push(hecArray(events), { authorization: 'Basic abc' })).toMatchObject({
    status: 401,
    body: { code: 3 },
  });
  expect(await push(hecArray(events), { authorization: `Splunk ${PUSH_TOKEN}x` })).toMatchObject({
    status: 403,
    body: { text: 'Invalid token', code: 4 },
  });
  expect(await push(hecArray(events), { authorization: 'Splunk short' })).toMatchObject({ status: 403 });
  expect(hec.received()).toEqual([]);
  expect(io.text()).not.toContain(PUSH_TOKEN);
});

it('empty and malformed bodies: codes 5 and 6, with where it went wrong', async () => {
  expect(await push('')).toMatchObject({ status: 400, body: { text: 'No data', code: 5 } });
  const broken = `${JSON.stringify({ event: receiptEvent(1) })}\n{"event": {"type": "receipt",}}\n`;
  const answer = await push(broken);
  expect(answer).toMatchObject({ status: 400, body: { text: 'Invalid data format', code: 6 } });
  expect(answer.body.detail).toMatch(/line 2/);
  // A push is all or nothing: the valid first line was not forwarded either.
  expect(hec.received()).toEqual([]);
});

it('a body over the limit: 413 without reading it whole; the connection still answers after', async () => {
  const big = 'x'.repeat(PUSH_LIMITS.maxBodyBytes + 10);
  const answer = await push(big);
  expect(answer.status).toBe(413);
  expect(answer.body.detail).toMatch(/more than/);
  expect((await push(hecArray([receiptEvent(1)]))).status).toBe(200);
});

it('a destination that fails: 503 "Server is busy", nothing lost; the same push again delivers the same ids', async () => {
  hec.inject(...Array.from({ length: 20 }, () => ({ kind: 'status' as const, status: 503 })));
  const failed = await push(hecArray(events));
  expect(failed).toMatchObject({ status: 503, body: { text: 'Server is busy', code: 9 } });
  expect(hec.received()).toEqual([]);
  hec.reset();
  expect((await push(hecArray(events))).status).toBe(200);
  const first = hec.ids();
  expect(first).toHaveLength(3);
  // Mimecast retrying a push that did arrive: same ids, for the destination to drop.
  expect((await push(hecArray(events))).status).toBe(200);
  expect(hec.ids().slice(3)).toEqual(first);
}, 60_000);

it('a destination that refuses (its token): 500 with code 8, and the operator is told', async () => {
  hec.inject({ kind: 'hec-code', code: 4 });
  expect(await push(hecArray(events))).toMatchObject({ status: 500, body: { code: 8 } });
  expect(hec.received()).toEqual([]);
});

it('the health check answers without a token', async () => {
  const res = await fetch(`${origin}/services/collector/health`);
  expect([res.status, ((await res.json()) as { code: number }).code]).toEqual([200, 17]);
});
