/** createHttpSink's checks, the ndjson wire format, and the remaining retry rules (HTTP-date Retry-After, 408). */
import type { Agent } from 'undici';
import { ConfigError } from '../../lambda/errors';
import { createHttpSink, SINK_FORMATS, type SinkFormat } from '../../lambda/sinks';
import { type Receiver, startReceiver } from '../receivers';
import { budget, envelope, envelopes, FAST_RETRY, TOKEN, testAgent } from './fixtures';

function configError(attempt: () => unknown): ConfigError {
  try {
    attempt();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('createHttpSink settings', () => {
  it.each(SINK_FORMATS)('refuses plain HTTP to a non-loopback host (%s)', (format) => {
    const error = configError(() => createHttpSink({ url: 'http://siem.example.com:8088/x/_bulk', format }));
    expect(error.problems).toEqual([
      expect.objectContaining({ field: 'url', problem: expect.stringContaining('only https is allowed') }),
    ]);
  });

  it.each([
    'http://127.0.0.1:9/ingest',
    'http://localhost:9/ingest',
    'http://[::1]:9/ingest',
    'https://siem.example.com/ingest',
  ])('accepts %s for ndjson', (url) => {
    expect(() => createHttpSink({ url, format: 'ndjson' })).not.toThrow();
  });

  it('refuses other schemes, credentials in the URL, and unparseable URLs', () => {
    expect(
      configError(() => createHttpSink({ url: 'ftp://siem.example.com/x', format: 'ndjson' })).message,
    ).toMatch(/only https/);
    const withCredentials = configError(() =>
      createHttpSink({ url: 'https://user:hunter2@siem.example.com/x', format: 'ndjson' }),
    );
    expect(withCredentials.message).toMatch(
      /must not contain a user name or password; credentials belong in the secret/,
    );
    expect(withCredentials.message).not.toContain('hunter2');
    expect(configError(() => createHttpSink({ url: 'siem.example.com', format: 'ndjson' })).message).toMatch(
      /is not a valid absolute URL/,
    );
  });

  it('reports every problem at once, never echoing the token', () => {
    const error = configError(() =>
      createHttpSink({
        url: 'http://siem.example.com/x',
        format: 'csv' as SinkFormat,
        token: 'abc\r\nX-Injected: 1',
        retry: { maxAttempts: 0, baseDelayMs: -5 },
      }),
    );
    expect(error.problems.map((p) => p.field).sort()).toEqual([
      'format',
      'retry.baseDelayMs',
      'retry.maxAttempts',
      'token',
      'url',
    ]);
    expect(error.message).not.toContain('X-Injected');
  });

  it('refuses an empty token', () => {
    expect(
      configError(() => createHttpSink({ url: 'https://h/x', format: 'ndjson', token: ' ' })).message,
    ).toMatch(/token: is empty/);
  });
});

describe('ndjson sink', () => {
  let agent: Agent;
  let receiver: Receiver;

  beforeAll(() => {
    agent = testAgent();
  });
  afterAll(async () => {
    await agent.close();
  });
  beforeEach(async () => {
    receiver = await startReceiver({ kind: 'ndjson', token: TOKEN });
  });
  afterEach(async () => {
    await receiver.stop();
  });

  const sink = () =>
    createHttpSink({
      url: receiver.url,
      format: 'ndjson',
      token: TOKEN,
      dispatcher: agent,
      retry: FAST_RETRY,
    });

  it('sends the generic envelope, one object per line, with sizeOf its line length', async () => {
    const extra = { ...envelope(7), extraField: 'dropped' };
    const s = sink();
    await s.send([extra], budget(5_000));

    const { body, headers } = receiver.requests()[0];
    expect(headers['content-type']).toBe('application/x-ndjson');
    const { extraField: _dropped, ...expected } = extra;
    expect(body).toBe(`${JSON.stringify(expected)}\n`);
    expect(Object.keys(JSON.parse(body))).toEqual(['id', 'stream', 'logType', 'time', 'instance', 'event']);
    expect(s.sizeOf(extra)).toBe(Buffer.byteLength(body));
  });

  it('counts multi-byte characters in sizeOf', () => {
    const wide = { ...envelope(1), event: { subject: 'Größe — 日本語 ✉️' } };
    expect(sink().sizeOf(wide)).toBe(Buffer.byteLength(`${JSON.stringify(wide)}\n`));
  });

  it('honours Retry-After given as an HTTP date', async () => {
    // HTTP dates have whole seconds: asking for +2 s means a wait between 1 and 2 s.
    const at = new Date(Date.now() + 2_000);
    receiver.inject({ kind: 'status', status: 429, retryAfter: at.toUTCString() });
    await sink().send(envelopes(1), budget(6_000));

    const [first, second] = receiver.ingestRequests();
    const waited = second.receivedAt - first.receivedAt;
    expect(waited).toBeGreaterThanOrEqual(900);
    expect(second.receivedAt).toBeGreaterThanOrEqual(Math.floor(at.getTime() / 1000) * 1000 - 20);
    expect(waited).toBeLessThan(2_600);
  });

  it('retries 408 and slow answers within the attempt timeout', async () => {
    receiver.inject({ kind: 'status', status: 408 }, { kind: 'delay', ms: 100 });
    await sink().send(envelopes(2), budget(5_000));
    expect(receiver.ingestRequests().map((r) => r.status)).toEqual([408, 200]);
    expect(receiver.received()).toHaveLength(2);
  });

  it('resolves at once for an empty batch, sending nothing', async () => {
    await expect(sink().send([], budget(5_000))).resolves.toEqual({ bytes: 0 });
    expect(receiver.requests()).toHaveLength(0);
  });

  it('keeps one connection alive across batches', async () => {
    const s = sink();
    for (let n = 0; n < 3; n++) {
      await s.send(envelopes(2), budget(5_000));
    }
    const ports = new Set(receiver.requests().map((r) => r.remotePort));
    expect(ports.size).toBe(1);
    expect(receiver.received()).toHaveLength(6);
  });
});
