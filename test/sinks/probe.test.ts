/**
 * Each format's probe() against its loopback receiver: what it asks, what each answer means, and that
 * it never delivers an event. (verify's table rows built from it: test/cli/verify.test.ts.)
 */
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import type { Agent } from 'undici';
import { createHttpSink, type HttpSinkOptions } from '../../lambda/sinks';
import { type Receiver, startReceiver } from '../receivers';
import { budget, TOKEN, testAgent } from './fixtures';

let agent: Agent;
const started: Receiver[] = [];

beforeAll(() => {
  agent = testAgent();
});
afterAll(async () => {
  await Promise.all(started.map((r) => r.stop()));
  await agent.close();
});

async function receiver(options: Parameters<typeof startReceiver>[0]): Promise<Receiver> {
  const r = await startReceiver(options);
  started.push(r);
  return r;
}

function probe(options: Omit<HttpSinkOptions, 'dispatcher'>, ms = 5_000) {
  return createHttpSink({ ...options, dispatcher: agent }).probe(budget(ms));
}

describe('ndjson probe', () => {
  it('passes on an empty POST with the bearer token, and delivers nothing', async () => {
    const ndjson = await receiver({ kind: 'ndjson', token: TOKEN });
    const found = await probe({ url: ndjson.url, format: 'ndjson', token: TOKEN });
    expect(found).toEqual({ ok: true, result: expect.stringMatching(/^OK/) });
    expect(ndjson.requests().map((r) => [r.method, r.path, r.headers.authorization])).toEqual([
      ['POST', '/ingest', `Bearer ${TOKEN}`],
    ]);
    expect(ndjson.received()).toEqual([]);
  });

  it('says no token is stored when the receiver wants one, and leaves the remedy to the caller', async () => {
    const ndjson = await receiver({ kind: 'ndjson', token: TOKEN });
    const found = await probe({ url: ndjson.url, format: 'ndjson' });
    expect(found).toMatchObject({ ok: false, result: 'no token stored', tokenProblem: true });
    expect(found.detail?.message).toMatch(/POST http:\/\/127\.0\.0\.1:\d+\/ingest answered HTTP 401/);
    expect(found.detail?.remedy).toBeUndefined();
  });

  it.each([
    [{ kind: 'status', status: 503 } as const, 'receiver busy or failing (HTTP 503)'],
    [{ kind: 'status', status: 404 } as const, 'wrong URL (HTTP 404)'],
    [{ kind: 'status', status: 418 } as const, 'answered HTTP 418'],
  ])('reads an unexpected answer by its status (%j)', async (fault, result) => {
    const ndjson = await receiver({ kind: 'ndjson', token: TOKEN });
    ndjson.inject(fault);
    expect(await probe({ url: ndjson.url, format: 'ndjson', token: TOKEN })).toMatchObject({
      ok: false,
      result,
    });
  });

  it('never follows a redirect: the token does not reach the target', async () => {
    const [ndjson, target] = await Promise.all([
      receiver({ kind: 'ndjson', token: TOKEN }),
      receiver({ kind: 'ndjson' }),
    ]);
    ndjson.inject({ kind: 'redirect', location: target.url });
    const found = await probe({ url: ndjson.url, format: 'ndjson', token: TOKEN });
    expect(found).toMatchObject({ ok: false, result: 'redirect (HTTP 307)' });
    expect(found.detail?.remedy).toMatch(/final URL/);
    expect(target.requests()).toEqual([]);
  });

  it('reports a receiver that does not answer in time as unreachable, naming the URL it asked', async () => {
    const ndjson = await receiver({ kind: 'ndjson', token: TOKEN });
    ndjson.inject({ kind: 'hang' });
    const found = await probe({ url: ndjson.url, format: 'ndjson', token: TOKEN }, 300);
    expect(found).toMatchObject({ ok: false, result: 'unreachable' });
    expect(found.detail?.message).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/ingest did not answer: no answer within 1s$/,
    );
  });
});

describe('splunk-hec probe', () => {
  it('asks the health endpoint, then posts nothing with the token: HEC answers "No data"', async () => {
    const hec = await receiver({ kind: 'splunk-hec', token: TOKEN });
    const found = await probe({ url: hec.origin, format: 'splunk-hec', token: TOKEN });
    expect(found).toEqual({ ok: true, result: 'OK (HEC healthy, token accepted)' });
    expect(hec.requests().map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /services/collector/health',
      'POST /services/collector/event',
    ]);
    expect(hec.received()).toEqual([]);
  });

  it('tells a refused token (the caller words the remedy) from a disabled one (enable it in Splunk)', async () => {
    const hec = await receiver({ kind: 'splunk-hec', token: 'another-token-0000' });
    const refused = await probe({ url: hec.url, format: 'splunk-hec', token: TOKEN });
    expect(refused).toMatchObject({ ok: false, result: 'token refused', tokenProblem: true });
    expect(refused.detail?.message).toMatch(/answered HEC code 4 \(Invalid token\)$/);

    const open = await receiver({ kind: 'splunk-hec' });
    open.inject({ kind: 'hec-code', code: 1 });
    const disabled = await probe({ url: open.url, format: 'splunk-hec', token: TOKEN });
    expect(disabled).toMatchObject({ ok: false, result: 'token refused' });
    expect(disabled.tokenProblem).toBeUndefined();
    expect(disabled.detail?.remedy).toMatch(/^Enable the HEC token in Splunk/);
  });

  it('finds indexer acknowledgement turned on for the token', async () => {
    const hec = await receiver({ kind: 'splunk-hec', token: TOKEN, ack: true });
    const found = await probe({ url: hec.url, format: 'splunk-hec', token: TOKEN });
    expect(found).toMatchObject({ ok: false, result: 'indexer acknowledgement on' });
    expect(found.detail?.message).toMatch(/HEC code 10/);
  });

  it('reads a busy HEC by its status', async () => {
    const hec = await receiver({ kind: 'splunk-hec', token: TOKEN });
    hec.inject({ kind: 'hec-code', code: 9 });
    expect(await probe({ url: hec.url, format: 'splunk-hec', token: TOKEN })).toMatchObject({
      ok: false,
      result: 'receiver busy or failing (HTTP 503)',
    });
  });
});

describe('elastic-bulk probe', () => {
  it('asks the cluster root with the API key and names the version', async () => {
    const es = await receiver({ kind: 'elastic-bulk', token: TOKEN });
    expect(await probe({ url: es.url, format: 'elastic-bulk', token: TOKEN })).toEqual({
      ok: true,
      result: 'OK (Elasticsearch 8.15.0 answered)',
    });
    expect(es.requests().map((r) => [r.method, r.path])).toEqual([['GET', '/']]);
  });

  it('says the key was refused on a 401', async () => {
    // The loopback ES answers its root to anyone; a security-enabled cluster refuses a bad key there.
    const refusing = createHttpServer((_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(
        '{"error":{"type":"security_exception","reason":"unable to authenticate with provided credentials"}}',
      );
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = refusing.address() as { port: number };
      const found = await probe({
        url: `http://127.0.0.1:${port}/idx/_bulk`,
        format: 'elastic-bulk',
        token: TOKEN,
      });
      expect(found).toMatchObject({ ok: false, result: 'token refused', tokenProblem: true });
      expect(found.detail?.message).toMatch(
        /^GET http:\/\/127\.0\.0\.1:\d+\/ answered HTTP 401: .*security_exception/,
      );
    } finally {
      refusing.closeAllConnections();
      await new Promise<void>((resolve) => refusing.close(() => resolve()));
    }
  });
});

describe('any format', () => {
  let closed: number;
  beforeAll(async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closed = (server.address() as { port: number }).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it.each(['ndjson', 'splunk-hec', 'elastic-bulk'] as const)(
    '%s: a refused connection is unreachable, with the network code',
    async (format) => {
      const url =
        format === 'elastic-bulk'
          ? `http://127.0.0.1:${closed}/idx/_bulk`
          : `http://127.0.0.1:${closed}/ingest`;
      const found = await probe({ url, format, token: TOKEN });
      expect(found).toMatchObject({ ok: false, result: 'unreachable' });
      expect(found.detail?.message).toMatch(/did not answer: ECONNREFUSED$/);
      expect(found.detail?.remedy).toMatch(/network access/);
    },
  );
});
