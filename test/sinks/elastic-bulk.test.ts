/** The elastic-bulk format against the loopback Elasticsearch: item-by-item answers, 409s, URL forms. */
import type { Agent } from 'undici';
import { ConfigError, ProtocolError, SinkRejectedError, ThrottledError } from '../../lambda/errors';
import { createHttpSink, type HttpSinkOptions } from '../../lambda/sinks';
import { type Receiver, type StoredDocument, startReceiver } from '../receivers';
import { budget, envelopes, FAST_RETRY, rejectionOf, TOKEN, testAgent } from './fixtures';

describe('elastic-bulk sink', () => {
  let agent: Agent;
  let es: Receiver;

  const sink = (overrides: Partial<HttpSinkOptions> = {}) =>
    createHttpSink({
      url: es.url,
      format: 'elastic-bulk',
      token: TOKEN,
      dispatcher: agent,
      retry: FAST_RETRY,
      ...overrides,
    });
  const bodyLines = (call: number) =>
    es
      .ingestRequests()
      [call].body.trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  beforeAll(() => {
    agent = testAgent();
  });
  afterAll(async () => {
    await agent.close();
  });
  beforeEach(async () => {
    es = await startReceiver({ kind: 'elastic-bulk', token: TOKEN, index: 'mimecast-logs' });
  });
  afterEach(async () => {
    await es.stop();
  });

  it('creates one document per envelope, keyed by the envelope id, with @timestamp', async () => {
    const batch = envelopes(3);
    await sink().send(batch, budget(5_000));

    const lines = bodyLines(0);
    expect(lines).toHaveLength(6);
    expect(lines[0]).toEqual({ create: { _id: batch[0].id } });
    expect(lines[1]).toEqual({ '@timestamp': batch[0].time, ...batch[0] });
    const stored = es.items().map((item) => item.raw as StoredDocument);
    expect(stored.map((d) => [d.index, d.id])).toEqual(batch.map((e) => ['mimecast-logs', e.id]));
    expect(es.requests()[0].headers['content-type']).toBe('application/x-ndjson');
  });

  it('takes the index from the option with a bare host URL', async () => {
    await sink({ url: es.origin, index: 'mail-2024' }).send(envelopes(2), budget(5_000));
    expect(es.requests()[0].path).toBe('/_bulk');
    expect(bodyLines(0)[0]).toEqual({ create: { _index: 'mail-2024', _id: envelopes(1)[0].id } });
    expect(es.items().map((item) => (item.raw as StoredDocument).index)).toEqual(['mail-2024', 'mail-2024']);
  });

  it('counts 409 version conflicts on re-delivery as acknowledged, storing nothing twice', async () => {
    const batch = envelopes(4);
    await sink().send(batch, budget(5_000));
    await sink().send(batch, budget(5_000));

    const second = JSON.parse(es.ingestRequests()[1].answer ?? '{}') as { errors: boolean; items: unknown[] };
    expect(second.errors).toBe(true);
    expect(JSON.stringify(second.items)).toContain('version_conflict_engine_exception');
    expect(es.ids()).toEqual(batch.map((e) => e.id));
    expect(es.ingestRequests()).toHaveLength(2);
  });

  it('re-sends only the items answered 429 or 5xx', async () => {
    es.inject({ kind: 'bulk-items', statuses: { 1: 429, 3: 503 } });
    const batch = envelopes(5);
    const result = await sink().send(batch, budget(5_000));

    const requests = es.ingestRequests();
    expect(requests).toHaveLength(2);
    const resent = bodyLines(1).filter((line) => 'create' in line);
    expect(resent.map((line) => (line.create as { _id: string })._id)).toEqual([batch[1].id, batch[3].id]);
    expect(new Set(es.ids())).toEqual(new Set(batch.map((e) => e.id)));
    expect(result.bytes).toBe(requests[0].wireBytes + requests[1].wireBytes);
  });

  it('mixes 409 (already there) and 429 (sent again) in one answer', async () => {
    const batch = envelopes(4);
    await sink().send(batch.slice(0, 2), budget(5_000));
    es.inject({ kind: 'bulk-items', statuses: { 3: 429 } });
    await sink().send(batch, budget(5_000));

    const requests = es.ingestRequests();
    expect(requests).toHaveLength(3);
    expect(bodyLines(2).filter((line) => 'create' in line)).toHaveLength(1);
    expect(es.ids()).toEqual(batch.map((e) => e.id));
  });

  it('refuses the batch when items fail with 400, listing the first failures by id', async () => {
    es.inject({ kind: 'bulk-items', statuses: { 0: 400, 2: 400, 3: 429, 4: 400, 5: 400 } });
    const batch = envelopes(6);
    const error = await rejectionOf(sink().send(batch, budget(5_000)));

    expect(error).toBeInstanceOf(SinkRejectedError);
    const rejected = error as SinkRejectedError;
    expect(rejected.codes).toEqual(['mapper_parsing_exception']);
    expect(rejected.message).toContain('refused 4 of 6 documents');
    expect(rejected.message).toContain(
      `id ${batch[0].id}: 400 mapper_parsing_exception: failed to parse field`,
    );
    expect(rejected.message).toContain(batch[2].id);
    expect(rejected.message).toContain('and 1 more');
    expect(rejected.message).not.toContain(TOKEN);
    // The good ones were indexed; nothing was sent again.
    expect(es.ids()).toEqual([batch[1].id]);
    expect(es.ingestRequests()).toHaveLength(1);
  });

  it('gives up with ThrottledError when items stay rejected until the deadline', async () => {
    es.inject(...Array.from({ length: 20 }, () => ({ kind: 'bulk-items', statuses: { 0: 429 } }) as const));
    const started = Date.now();
    const error = await rejectionOf(sink().send(envelopes(2), budget(600)));

    expect(error).toBeInstanceOf(ThrottledError);
    expect(error.message).toContain('1 of 1 documents not indexed yet (item status 429)');
    expect(Date.now() - started).toBeLessThan(900);
  });

  it('retries a whole-request es_rejected_execution_exception', async () => {
    es.inject({ kind: 'status', status: 429 });
    await sink().send(envelopes(2), budget(5_000));
    expect(es.ingestRequests()[0].answer).toContain('es_rejected_execution_exception');
    expect(es.received()).toHaveLength(2);
  });

  it('refuses a 401 from Elasticsearch security with its error type', async () => {
    const error = await rejectionOf(sink({ token: 'wrong-key' }).send(envelopes(1), budget(5_000)));
    expect(error).toBeInstanceOf(SinkRejectedError);
    expect((error as SinkRejectedError).codes).toEqual(['security_exception']);
    expect(error.message).toContain('unable to authenticate');
  });

  it('reports a 2xx that is not a bulk answer as a ProtocolError', async () => {
    // What a proxy or a generic endpoint in front of the wrong path would answer.
    es.inject({ kind: 'status', status: 200, body: '{"accepted":1}', contentType: 'application/json' });
    const error = await rejectionOf(sink().send(envelopes(1), budget(5_000)));
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error.message).toContain('is this a _bulk endpoint?');
    expect(es.ingestRequests()).toHaveLength(1);
  });

  it.each([
    ['https://es.example.com:9200', undefined, /index: is required/],
    ['https://es.example.com:9200/_bulk', undefined, /index: is required/],
    ['https://es.example.com:9200/logs', undefined, /must end with \/_bulk/],
    ['https://es.example.com:9200', 'Mail', /index: must be lower case/],
    ['https://es.example.com:9200', '_private', /index: must not start/],
  ])('refuses url %s with index %s', (url, index, problem) => {
    const attempt = () => createHttpSink({ url, index, format: 'elastic-bulk' });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(problem);
  });
});
