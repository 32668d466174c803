/**
 * Behaviour every format shares, each against its own loopback receiver: compression, auth header,
 * retries (429 with Retry-After, 5xx, resets, hangs), the deadline, refusals and redirects.
 */
import type { Agent } from 'undici';
import type { Envelope } from '../../lambda/core/envelope';
import type { Sink } from '../../lambda/core/ports';
import { SinkRejectedError, ThrottledError, TransientError } from '../../lambda/errors';
import { createHttpSink, type HttpSinkOptions, type SinkFormat } from '../../lambda/sinks';
import { type Receiver, startReceiver } from '../receivers';
import {
  budget,
  envelopes,
  exposedText,
  FAST_RETRY,
  recordingLog,
  rejectionOf,
  TOKEN,
  testAgent,
} from './fixtures';

const SCHEMES: Record<
  Exclude<SinkFormat, 'sumo' | 'datadog' | 'sentinel' | 's3' | 'file' | 'syslog'>,
  string
> = {
  ndjson: 'Bearer',
  'splunk-hec': 'Splunk',
  'elastic-bulk': 'ApiKey',
};

describe.each(['ndjson', 'splunk-hec', 'elastic-bulk'] as const)('%s sink against its receiver', (format) => {
  let agent: Agent;
  let receiver: Receiver;
  const extra: Receiver[] = [];

  const sinkFor = (overrides: Partial<HttpSinkOptions> = {}): Sink =>
    createHttpSink({
      url: receiver.url,
      format,
      token: TOKEN,
      dispatcher: agent,
      retry: FAST_RETRY,
      ...overrides,
    });

  beforeAll(() => {
    agent = testAgent();
  });
  afterAll(async () => {
    await agent.close();
  });
  beforeEach(async () => {
    receiver = await startReceiver({ kind: format, token: TOKEN });
  });
  afterEach(async () => {
    await Promise.all([receiver.stop(), ...extra.splice(0).map((r) => r.stop())]);
  });

  const sizeOfAll = (sink: Sink, batch: Envelope[]) => batch.reduce((sum, e) => sum + sink.sizeOf(e), 0);

  it('delivers a batch gzip-compressed, with an exact content-length and the format auth header', async () => {
    const sink = sinkFor();
    const batch = envelopes(20);
    const result = await sink.send(batch, budget(5_000));

    expect(receiver.ids()).toEqual(batch.map((e) => e.id));
    const [request] = receiver.requests();
    expect(receiver.requests()).toHaveLength(1);
    expect(request.headers['content-encoding']).toBe('gzip');
    expect(request.headers.authorization).toBe(`${SCHEMES[format]} ${TOKEN}`);
    expect(Number(request.headers['content-length'])).toBe(request.wireBytes);
    expect(result.bytes).toBe(request.wireBytes);
    // sizeOf is the uncompressed size the engine bounds batches with; gzip makes the wire smaller.
    expect(Buffer.byteLength(request.body)).toBe(sizeOfAll(sink, batch));
    expect(request.wireBytes).toBeLessThan(Buffer.byteLength(request.body));
  });

  it('sends plain bodies when gzip is off, and no auth header without a token', async () => {
    await receiver.stop();
    receiver = await startReceiver({ kind: format });
    const sink = sinkFor({ gzip: false, token: undefined });
    const batch = envelopes(3);
    const result = await sink.send(batch, budget(5_000));

    const [request] = receiver.requests();
    expect(request.headers['content-encoding']).toBeUndefined();
    expect(request.headers.authorization).toBeUndefined();
    expect(result.bytes).toBe(sizeOfAll(sink, batch));
    expect(request.wireBytes).toBe(result.bytes);
    expect(receiver.ids()).toEqual(batch.map((e) => e.id));
  });

  it('honours Retry-After seconds on 429, then delivers', async () => {
    receiver.inject({ kind: 'status', status: 429, retryAfter: 1 });
    const sink = sinkFor();
    const batch = envelopes(4);
    await sink.send(batch, budget(5_000));

    const [first, second] = receiver.ingestRequests();
    expect(first.status).toBe(429);
    expect(second.status).toBe(200);
    const waited = second.receivedAt - first.receivedAt;
    expect(waited).toBeGreaterThanOrEqual(990);
    expect(waited).toBeLessThan(1_600);
    expect(receiver.ids()).toEqual(batch.map((e) => e.id));
  });

  it('retries 500 and 503, then delivers each event once', async () => {
    receiver.inject({ kind: 'status', status: 500 }, { kind: 'status', status: 503 });
    const batch = envelopes(5);
    await sinkFor().send(batch, budget(5_000));

    expect(receiver.ingestRequests().map((r) => r.status)).toEqual([500, 503, 200]);
    expect(receiver.ids()).toEqual(batch.map((e) => e.id));
  });

  it('retries a connection reset mid-request, then delivers', async () => {
    receiver.inject({ kind: 'reset' });
    const batch = envelopes(5);
    await sinkFor().send(batch, budget(5_000));

    const requests = receiver.ingestRequests();
    expect(requests).toHaveLength(2);
    expect(requests[0].status).toBeUndefined();
    expect(receiver.ids()).toEqual(batch.map((e) => e.id));
  });

  it('abandons a request that hangs past the attempt timeout, then delivers', async () => {
    receiver.inject({ kind: 'hang' });
    const batch = envelopes(2);
    const started = Date.now();
    await sinkFor({ retry: { ...FAST_RETRY, attemptTimeoutMs: 300 } }).send(batch, budget(5_000));

    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(receiver.ingestRequests()).toHaveLength(2);
    expect(receiver.ids()).toEqual(batch.map((e) => e.id));
  });

  it('stops at the deadline with a TransientError when the receiver hangs, never later', async () => {
    receiver.inject(...Array.from({ length: 5 }, () => ({ kind: 'hang' }) as const));
    const started = Date.now();
    const error = await rejectionOf(sinkFor().send(envelopes(2), budget(800)));

    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(TransientError);
    expect(elapsed).toBeGreaterThanOrEqual(750);
    expect(elapsed).toBeLessThan(1_300);
    expect(error.message).toContain(new URL(receiver.url).pathname);
    expect(error.message).toMatch(/deadline/);
    expect(error.cause).toBeDefined();
    expect(receiver.received()).toHaveLength(0);
  });

  it('gives a 429 back as ThrottledError at once when Retry-After is past the deadline', async () => {
    receiver.inject({ kind: 'status', status: 429, retryAfter: 30 });
    const started = Date.now();
    const error = await rejectionOf(sinkFor().send(envelopes(2), budget(2_000)));

    expect(error).toBeInstanceOf(ThrottledError);
    expect((error as ThrottledError).retryAfterMs).toBe(30_000);
    expect((error as ThrottledError).status).toBe(429);
    expect(error.cause).toBeInstanceOf(TransientError);
    expect(Date.now() - started).toBeLessThan(500);
    expect(receiver.ingestRequests()).toHaveLength(1);
  });

  it('refuses a batch on 400 with the receiver answer, without retrying or leaking the token', async () => {
    receiver.inject({
      kind: 'status',
      status: 400,
      body: `field "event.size" rejected; you sent authorization: ${SCHEMES[format]} ${TOKEN}`,
    });
    const error = await rejectionOf(sinkFor().send(envelopes(3), budget(5_000)));

    expect(error).toBeInstanceOf(SinkRejectedError);
    expect((error as SinkRejectedError).status).toBe(400);
    expect((error as SinkRejectedError).endpoint).toBe(`${receiver.origin}${new URL(receiver.url).pathname}`);
    expect(error.message).toContain('field "event.size" rejected');
    expect(error.message).toContain('[redacted]');
    expect(exposedText(error)).not.toContain(TOKEN);
    expect(receiver.ingestRequests()).toHaveLength(1);
  });

  it('refuses on 413 with the product answer and a batch-size remedy', async () => {
    receiver.inject({ kind: 'status', status: 413 });
    const error = await rejectionOf(sinkFor().send(envelopes(3), budget(5_000)));

    expect(error).toBeInstanceOf(SinkRejectedError);
    expect((error as SinkRejectedError).status).toBe(413);
    expect((error as SinkRejectedError).remedy).toContain('BATCH_MAX_BYTES');
    expect(receiver.ingestRequests()).toHaveLength(1);
  });

  it('refuses when the receiver does not accept the token, naming the status but not the token', async () => {
    await receiver.stop();
    receiver = await startReceiver({ kind: format, token: 'the-right-token' });
    const error = await rejectionOf(sinkFor().send(envelopes(1), budget(5_000)));

    expect(error).toBeInstanceOf(SinkRejectedError);
    expect([401, 403]).toContain((error as SinkRejectedError).status);
    expect((error as SinkRejectedError).remedy).toMatch(/token/i);
    expect(exposedText(error)).not.toContain(TOKEN);
    expect(receiver.ingestRequests()).toHaveLength(1);
  });

  it('does not follow redirects: the token never reaches the target', async () => {
    const target = await startReceiver({ kind: format });
    extra.push(target);
    receiver.inject({ kind: 'redirect', status: 307, location: `${target.url}?token=s3cr3t-in-query` });
    const error = await rejectionOf(sinkFor().send(envelopes(1), budget(5_000)));

    expect(error).toBeInstanceOf(SinkRejectedError);
    expect((error as SinkRejectedError).status).toBe(307);
    expect(error.message).toContain(`redirect to ${target.url}`);
    expect(error.message).not.toContain('s3cr3t-in-query');
    expect(target.requests()).toHaveLength(0);
  });

  it('gives up with TransientError after maxAttempts, carrying the last status', async () => {
    receiver.inject(...Array.from({ length: 3 }, () => ({ kind: 'status', status: 502 }) as const));
    const error = await rejectionOf(
      sinkFor({ retry: { ...FAST_RETRY, maxAttempts: 3 } }).send(envelopes(1), budget(5_000)),
    );

    expect(error).toBeInstanceOf(TransientError);
    expect((error as TransientError).status).toBe(502);
    expect(error.message).toContain('after 3 attempt(s)');
    expect(receiver.ingestRequests()).toHaveLength(3);
  });

  it('stops sleeping as soon as the caller cancels the budget', async () => {
    receiver.inject({ kind: 'status', status: 503, retryAfter: 3 });
    const call = budget(10_000);
    setTimeout(() => call.controller.abort(new Error('shutting down')), 150);
    const started = Date.now();
    const error = await rejectionOf(sinkFor().send(envelopes(1), call));

    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toMatch(/cancelled/);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(receiver.ingestRequests()).toHaveLength(1);
  });

  it('logs each retry without the token', async () => {
    receiver.inject({ kind: 'status', status: 503 });
    const log = recordingLog();
    await sinkFor({ log }).send(envelopes(2), budget(5_000));

    const warnings = log.lines.filter((line) => line.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0].attributes).toMatchObject({ attempt: 1, status: 503, format });
    expect(JSON.stringify(log.lines)).not.toContain(TOKEN);
  });
});
