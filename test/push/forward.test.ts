/**
 * forwardPush through a real destination (createDestination → loopback receiver from test/receivers/):
 * resolves only once every event was acknowledged; a refusing or failing destination rejects, so the
 * receiver answers the push with an error and Mimecast pushes again.
 */
import type { Agent } from 'undici';
import { SinkRejectedError, TransientError } from '../../lambda/errors';
import { forwardPush, parsePushBody, pushEnvelopes } from '../../lambda/push';
import { createDestination } from '../../lambda/sinks';
import { type Receiver, startReceiver } from '../receivers';
import { budget, FAST_RETRY, rejectionOf, TOKEN, testAgent } from '../sinks/fixtures';
import { auditEvent, bytes, hecArray, receiptEvent } from './fixtures';

let agent: Agent;
let hec: Receiver;
beforeAll(() => {
  agent = testAgent();
});
afterAll(() => agent.close());
beforeEach(async () => {
  hec = await startReceiver({ kind: 'splunk-hec', token: TOKEN });
});
afterEach(() => hec.stop());

const LIMITS = { batchMaxEvents: 3, batchMaxBytes: 1 << 20 };
const destination = () =>
  createDestination(
    { sinkFormat: 'splunk-hec', sinkUrl: hec.url },
    { token: TOKEN, dispatcher: agent, retry: FAST_RETRY },
  );
const pushed = (events: unknown[]) =>
  pushEnvelopes(parsePushBody(bytes(hecArray(events)), { maxDecodedBytes: 1 << 20 }), {
    instance: 'acme-prod',
    receivedAtMs: Date.UTC(2024, 5, 5, 12),
  });

it('sends every event, one stream per batch, and resolves with what was acknowledged', async () => {
  const events = [
    receiptEvent(1),
    auditEvent(1),
    receiptEvent(2),
    receiptEvent(3),
    receiptEvent(4),
    auditEvent(2),
  ];
  const envelopes = pushed(events);
  const result = await forwardPush(envelopes, destination(), budget(5_000), LIMITS);
  expect(result.events).toEqual({ siem: 4, audit: 2 });
  expect(result.batches).toBe(3);
  expect(result.bytes).toBeGreaterThan(0);
  expect(new Set(hec.ids())).toEqual(new Set(envelopes.map((e) => e.id)));
  expect(hec.ingestRequests()).toHaveLength(3);
  expect(hec.received().map((e) => e.stream)).toEqual(['siem', 'siem', 'siem', 'siem', 'audit', 'audit']);
});

it('cuts batches by the destination size of each envelope', async () => {
  const envelopes = pushed([receiptEvent(1), receiptEvent(2), receiptEvent(3)]);
  const sink = destination();
  const one = sink.sizeOf(envelopes[0]!);
  const result = await forwardPush(envelopes, sink, budget(5_000), {
    batchMaxEvents: 100,
    batchMaxBytes: one + 1,
  });
  expect(result.batches).toBe(3);
  expect(hec.ids()).toEqual(envelopes.map((e) => e.id));
});

it('a refusing destination rejects with its typed error: nothing is taken for sent', async () => {
  hec.inject({ kind: 'hec-code', code: 4 });
  const error = await rejectionOf(
    forwardPush(pushed([receiptEvent(1)]), destination(), budget(5_000), LIMITS),
  );
  expect(error).toBeInstanceOf(SinkRejectedError);
  expect(hec.ids()).toEqual([]);
});

it('a destination down past the budget rejects as transient; the push again delivers the same ids', async () => {
  const envelopes = pushed([receiptEvent(1), receiptEvent(2)]);
  hec.inject(...Array.from({ length: 10 }, () => ({ kind: 'status' as const, status: 503 })));
  const error = await rejectionOf(forwardPush(envelopes, destination(), budget(5_000), LIMITS));
  expect(error).toBeInstanceOf(TransientError);
  expect(hec.ids()).toEqual([]);
  hec.reset();
  await forwardPush(pushed([receiptEvent(1), receiptEvent(2)]), destination(), budget(5_000), LIMITS);
  expect(hec.ids()).toEqual(envelopes.map((e) => e.id));
});
