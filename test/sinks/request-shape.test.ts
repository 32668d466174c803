/** Exact request shapes per format, checked with undici's MockAgent (no sockets). */
import { gunzipSync } from 'node:zlib';
import { MockAgent } from 'undici';
import { createHttpSink, type SinkFormat } from '../../lambda/sinks';
import { budget, envelopes, TOKEN } from './fixtures';

interface Captured {
  path: string;
  headers: Record<string, string>;
  body: string;
}

async function capture(format: SinkFormat, url: string, gzip: boolean, index?: string): Promise<Captured> {
  const agent = new MockAgent();
  agent.disableNetConnect();
  const origin = new URL(url).origin;
  let captured: Captured | undefined;
  agent
    .get(origin)
    .intercept({ path: () => true, method: 'POST' })
    .reply((options) => {
      const raw = Buffer.from(options.body as Buffer);
      captured = {
        path: options.path,
        headers: Object.fromEntries(
          Object.entries(options.headers as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]),
        ),
        body: (gzip ? gunzipSync(raw) : raw).toString('utf8'),
      };
      const answer =
        format === 'splunk-hec'
          ? { text: 'Success', code: 0 }
          : format === 'elastic-bulk'
            ? { took: 1, errors: false, items: [] }
            : { ok: true };
      return { statusCode: 200, data: JSON.stringify(answer) };
    });
  const sink = createHttpSink({ url, format, token: TOKEN, dispatcher: agent, gzip, index });
  await sink.send(envelopes(2), budget(2_000));
  await agent.close();
  if (captured === undefined) {
    throw new Error('no request reached the mock');
  }
  return captured;
}

describe('request shapes', () => {
  it('ndjson: POST the URL as given, Bearer token, x-ndjson, gzip', async () => {
    const request = await capture('ndjson', 'https://siem.example.com/pipeline/in?tenant=7', true);
    expect(request.path).toBe('/pipeline/in?tenant=7');
    expect(request.headers).toMatchObject({
      authorization: `Bearer ${TOKEN}`,
      'content-type': 'application/x-ndjson',
      'content-encoding': 'gzip',
    });
    expect(request.body.split('\n')).toHaveLength(3);
  });

  it('splunk-hec: bare host gets /services/collector/event, Splunk token, JSON objects', async () => {
    const request = await capture('splunk-hec', 'https://splunk.example.com:8088', false);
    expect(request.path).toBe('/services/collector/event');
    expect(request.headers.authorization).toBe(`Splunk ${TOKEN}`);
    expect(request.headers['content-encoding']).toBeUndefined();
    const [first] = request.body
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(Object.keys(first)).toEqual(['time', 'host', 'source', 'sourcetype', 'event']);
  });

  it('elastic-bulk: bare host gets /_bulk, ApiKey token, create actions with _index', async () => {
    const request = await capture('elastic-bulk', 'https://es.example.com:9200', true, 'mimecast');
    expect(request.path).toBe('/_bulk');
    expect(request.headers.authorization).toBe(`ApiKey ${TOKEN}`);
    expect(request.body.endsWith('\n')).toBe(true);
    const lines = request.body
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines[0]).toEqual({ create: { _index: 'mimecast', _id: envelopes(1)[0].id } });
    expect(lines).toHaveLength(4);
  });
});
