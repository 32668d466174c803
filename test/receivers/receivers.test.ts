/** The loopback receivers themselves, driven with raw HTTP requests (no sink involved). */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Agent, request } from 'undici';
import type { Envelope } from '../../lambda/core/envelope';
import { type Receiver, type ReceiverOptions, startReceiver } from '.';
import { envelope } from './test-support';

const agent = new Agent({ keepAliveTimeout: 1_000 });
afterAll(() => agent.close());

const running: Receiver[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()));
});

async function start(options: ReceiverOptions): Promise<Receiver> {
  const receiver = await startReceiver(options);
  running.push(receiver);
  return receiver;
}

async function post(
  url: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
  method: 'POST' | 'PUT' | 'GET' = 'POST',
) {
  const response = await request(url, {
    method,
    body: method === 'GET' ? undefined : body,
    headers,
    dispatcher: agent,
    signal: AbortSignal.timeout(5_000),
  });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text, json: () => JSON.parse(text) };
}

const env = (n: number, stream = 'siem') => envelope(n, stream);

const lines = (items: unknown[]) => items.map((item) => `${JSON.stringify(item)}\n`).join('');

describe('ndjson receiver', () => {
  it('accepts plain and gzip bodies, recording envelopes and ids in arrival order', async () => {
    const r = await start({ kind: 'ndjson' });
    expect(r.url).toBe(`${r.origin}/ingest`);
    expect((await post(r.url, lines([env(1), env(2)]))).status).toBe(200);
    const gz = await post(r.url, gzipSync(lines([env(3)])), { 'content-encoding': 'gzip' });
    expect(gz.json()).toEqual({ accepted: 1 });

    expect(r.ids()).toEqual(['id-1', 'id-2', 'id-3']);
    expect(r.received()[2]).toEqual(env(3));
    const requests = r.requests();
    expect(requests[1].headers['content-encoding']).toBe('gzip');
    expect(requests[1].body).toBe(lines([env(3)]));
    expect(requests[1].wireBytes).toBe(gzipSync(lines([env(3)])).length);
  });

  it('checks the bearer token', async () => {
    const r = await start({ kind: 'ndjson', token: 't0k' });
    expect((await post(r.url, lines([env(1)]))).status).toBe(401);
    expect((await post(r.url, lines([env(1)]), { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await post(r.url, lines([env(1)]), { authorization: 'Bearer t0k' })).status).toBe(200);
    expect(r.ids()).toEqual(['id-1']);
  });

  it('refuses a body with one bad line as a whole', async () => {
    const r = await start({ kind: 'ndjson' });
    const answer = await post(r.url, `${JSON.stringify(env(1))}\n{"id":"x"}\n`);
    expect(answer.status).toBe(400);
    expect(answer.json().error).toMatch(/line 2 is not an envelope/);
    expect((await post(r.url, 'not json\n')).status).toBe(400);
    expect((await post(r.url, 'x', { 'content-encoding': 'br' })).status).toBe(415);
    expect(r.received()).toHaveLength(0);
  });

  it('writes accepted envelopes to one NDJSON file per stream', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'receiver-out-'));
    try {
      const r = await start({ kind: 'ndjson', outputDir: join(dir, 'nested') });
      await post(r.url, lines([env(1, 'siem'), env(2, 'audit'), env(3, 'siem')]));
      await post(r.url, lines([env(4, 'siem')]));
      const out = join(dir, 'nested');
      expect(readdirSync(out).sort()).toEqual(['audit.ndjson', 'siem.ndjson']);
      const siem = readFileSync(join(out, 'siem.ndjson'), 'utf8').trimEnd().split('\n');
      expect(siem.map((line) => JSON.parse(line).id)).toEqual(['id-1', 'id-3', 'id-4']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers 413 past maxBodyBytes, by Content-Length or once decompressed', async () => {
    const r = await start({ kind: 'ndjson', maxBodyBytes: 200 });
    expect((await post(r.url, 'x'.repeat(500))).status).toBe(413);
    const bomb = gzipSync(Buffer.alloc(10_000, 0x20));
    expect(bomb.length).toBeLessThan(200);
    expect((await post(r.url, bomb, { 'content-encoding': 'gzip' })).status).toBe(413);
  });
});

describe('Splunk HEC receiver', () => {
  const auth = { authorization: 'Splunk hec-token' };

  it('parses concatenated event objects, braces inside strings included', async () => {
    const r = await start({ kind: 'splunk-hec', token: 'hec-token' });
    const body = `{"event":${JSON.stringify(env(1))},"sourcetype":"a"}  \n{"time":1717588206.389,"event":{"id":"x}{","stream":"siem"}}{"event":"plain text"}`;
    const answer = await post(r.url, body, auth);
    expect(answer.status).toBe(200);
    expect(answer.json()).toEqual({ text: 'Success', code: 0 });
    expect(r.received().map((e) => (typeof e === 'object' ? e.id : e))).toEqual([
      'id-1',
      'x}{',
      'plain text',
    ]);
    expect((r.items()[0].raw as { sourcetype: string }).sourcetype).toBe('a');
  });

  it.each([
    [{}, 401, 2],
    [{ authorization: 'Bearer hec-token' }, 401, 3],
    [{ authorization: 'Splunk other' }, 403, 4],
  ])('answers token problems like HEC: %j → %i code %i', async (headers, status, code) => {
    const r = await start({ kind: 'splunk-hec', token: 'hec-token' });
    const answer = await post(r.url, '{"event":"x"}', headers);
    expect(answer.status).toBe(status);
    expect(answer.json().code).toBe(code);
  });

  it('indexes events before an invalid one and names it', async () => {
    const r = await start({ kind: 'splunk-hec' });
    const answer = await post(r.url, '{"event":"a"}{"event":"b"}{"event": nope}{"event":"d"}');
    expect(answer.status).toBe(400);
    expect(answer.json()).toEqual({ text: 'Invalid data format', code: 6, 'invalid-event-number': 2 });
    expect(r.received()).toEqual(['a', 'b']);
  });

  it.each([
    ['', 5],
    ['{"host":"x"}', 12],
    ['{"event":""}', 13],
    ['{"event":"x","time":"yesterday"}', 6],
    ['[{"event":"x"}]', 6],
  ])('refuses %j with code %i', async (body, code) => {
    const r = await start({ kind: 'splunk-hec' });
    const answer = await post(r.url, body);
    expect(answer.status).toBe(400);
    expect(answer.json().code).toBe(code);
  });

  it('serves health and 404s other paths, taking no faults there', async () => {
    const r = await start({ kind: 'splunk-hec' });
    r.inject({ kind: 'status', status: 503 });
    const health = await post(`${r.origin}/services/collector/health`, '', {}, 'GET');
    expect(health.json()).toEqual({ text: 'HEC is healthy', code: 17 });
    expect((await post(`${r.origin}/services/collector/raw`, 'x')).status).toBe(404);
    expect(r.pendingFaults()).toBe(1);
    expect((await post(`${r.origin}/services/collector`, '{"event":1}')).json()).toEqual({
      text: 'Server is busy',
      code: 9,
    });
    expect(r.pendingFaults()).toBe(0);
  });

  it('answers an injected HEC code with its documented status', async () => {
    const r = await start({ kind: 'splunk-hec' });
    r.inject({ kind: 'hec-code', code: 26, retryAfter: 7 });
    const answer = await post(r.url, '{"event":"x"}');
    expect(answer.status).toBe(429);
    expect(answer.headers['retry-after']).toBe('7');
    expect(answer.json().code).toBe(26);
    expect(r.received()).toHaveLength(0);
  });
});

describe('Elasticsearch bulk receiver', () => {
  const ndjson = { 'content-type': 'application/x-ndjson' };
  const bulk = (...envelopes: Envelope[]) => lines(envelopes.flatMap((e) => [{ create: { _id: e.id } }, e]));

  it('stores documents by id and answers 409 for a re-sent id', async () => {
    const r = await start({ kind: 'elastic-bulk', index: 'logs' });
    expect(r.url).toBe(`${r.origin}/logs/_bulk`);
    const first = (await post(r.url, bulk(env(1), env(2)), ndjson)).json();
    expect(first.errors).toBe(false);
    expect(first.items[0].create).toMatchObject({
      _index: 'logs',
      _id: 'id-1',
      status: 201,
      result: 'created',
    });

    const second = (await post(r.url, bulk(env(2), env(3)), ndjson)).json();
    expect(second.errors).toBe(true);
    expect(second.items[0].create.status).toBe(409);
    expect(second.items[0].create.error.type).toBe('version_conflict_engine_exception');
    expect(second.items[1].create.status).toBe(201);
    expect(r.ids()).toEqual(['id-1', 'id-2', 'id-3']);
  });

  it('applies bulk-items faults by position without storing those items', async () => {
    const r = await start({ kind: 'elastic-bulk' });
    r.inject({ kind: 'bulk-items', statuses: { 0: 429, 2: 400 } });
    const answer = (await post(r.url, bulk(env(1), env(2), env(3)), ndjson)).json();
    expect(answer.items.map((i: { create: { status: number } }) => i.create.status)).toEqual([429, 201, 400]);
    expect(answer.items[0].create.error.type).toBe('es_rejected_execution_exception');
    expect(answer.items[2].create.error.type).toBe('mapper_parsing_exception');
    expect(r.ids()).toEqual(['id-2']);
  });

  it('refuses like Elasticsearch: no index, no final newline, wrong content type, bad auth', async () => {
    const r = await start({ kind: 'elastic-bulk', token: 'key' });
    const key = { ...ndjson, authorization: 'ApiKey key' };
    const noIndex = await post(`${r.origin}/_bulk`, bulk(env(1)), key);
    expect(noIndex.status).toBe(400);
    expect(noIndex.json().error.type).toBe('action_request_validation_exception');
    const noNewline = await post(r.url, bulk(env(1)).trimEnd(), key);
    expect(noNewline.json().error.reason).toMatch(/terminated by a newline/);
    expect((await post(r.url, bulk(env(1)), { ...key, 'content-type': 'text/plain' })).status).toBe(406);
    const denied = await post(r.url, bulk(env(1)), { ...ndjson, authorization: 'ApiKey nope' });
    expect(denied.status).toBe(401);
    expect(denied.json().error.type).toBe('security_exception');
    expect(r.received()).toHaveLength(0);
  });

  it('reports a bad source document as an item error, the rest indexed', async () => {
    const r = await start({ kind: 'elastic-bulk' });
    const body = `${JSON.stringify({ create: { _id: 'a' } })}\n{broken\n${bulk(env(2))}`;
    const answer = (await post(r.url, body, ndjson)).json();
    expect(answer.errors).toBe(true);
    expect(answer.items[0].create.error.type).toBe('document_parsing_exception');
    expect(r.ids()).toEqual(['id-2']);
  });

  it('answers cluster info on GET /', async () => {
    const r = await start({ kind: 'elastic-bulk' });
    expect((await post(`${r.origin}/`, '', {}, 'GET')).json().tagline).toBe('You Know, for Search');
  });
});

describe('fault injection', () => {
  it('takes one fault per ingestion request, in order, then behaves normally', async () => {
    const r = await start({ kind: 'ndjson' });
    r.inject(
      { kind: 'status', status: 503, retryAfter: 2 },
      { kind: 'pass' },
      { kind: 'status', status: 400, body: 'nope' },
    );
    const answers = [];
    for (let n = 1; n <= 4; n++) {
      answers.push(await post(r.url, lines([env(n)])));
    }
    expect(answers.map((a) => a.status)).toEqual([503, 200, 400, 200]);
    expect(answers[0].headers['retry-after']).toBe('2');
    expect(answers[2].text).toBe('nope');
    expect(r.requests().map((q) => q.fault)).toEqual(['status', undefined, 'status', undefined]);
    expect(r.ids()).toEqual(['id-2', 'id-4']);
  });

  it('resets the connection mid-request', async () => {
    const r = await start({ kind: 'ndjson' });
    r.inject({ kind: 'reset' });
    await expect(post(r.url, lines([env(1)]))).rejects.toMatchObject({
      code: expect.stringMatching(/ECONNRESET|UND_ERR_SOCKET/),
    });
    expect(r.requests()[0].status).toBeUndefined();
    expect((await post(r.url, lines([env(2)]))).status).toBe(200);
  });

  it('hangs until the client gives up, and stop() still returns promptly', async () => {
    const r = await start({ kind: 'splunk-hec' });
    r.inject({ kind: 'hang' }, { kind: 'hang' });
    const started = Date.now();
    await expect(
      request(r.url, {
        method: 'POST',
        body: '{"event":1}',
        dispatcher: agent,
        signal: AbortSignal.timeout(200),
      }),
    ).rejects.toThrow();
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    // A second hanging request is still open when the receiver stops.
    const pending = request(r.url, { method: 'POST', body: '{"event":2}', dispatcher: agent }).catch(
      (e: Error) => e,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const stopping = Date.now();
    await r.stop();
    expect(Date.now() - stopping).toBeLessThan(1_000);
    expect(await pending).toBeInstanceOf(Error);
  });

  it('delays an answer, and redirects without handling the body', async () => {
    const r = await start({ kind: 'elastic-bulk' });
    r.inject(
      { kind: 'delay', ms: 150 },
      { kind: 'redirect', location: 'https://elsewhere.example/_bulk', status: 301 },
    );
    const body = lines([{ create: { _id: 'd' } }, env(1)]);
    const started = Date.now();
    expect((await post(r.url, body, { 'content-type': 'application/json' })).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(145);
    const moved = await post(r.url, body, { 'content-type': 'application/json' });
    expect(moved.status).toBe(301);
    expect(moved.headers.location).toBe('https://elsewhere.example/_bulk');
    expect(r.ids()).toEqual(['d']);
  });

  it('reset() forgets requests, events, stored documents and faults', async () => {
    const r = await start({ kind: 'elastic-bulk' });
    await post(r.url, lines([{ create: { _id: 'a' } }, env(1)]), { 'content-type': 'application/json' });
    r.inject({ kind: 'hang' });
    r.reset();
    expect(r.requests()).toHaveLength(0);
    expect(r.received()).toHaveLength(0);
    expect(r.pendingFaults()).toBe(0);
    const again = await post(r.url, lines([{ create: { _id: 'a' } }, env(1)]), {
      'content-type': 'application/json',
    });
    expect(again.json().items[0].create.status).toBe(201);
  });
});
