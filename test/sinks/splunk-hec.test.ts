/** The splunk-hec format against the loopback HEC: event shape, HEC codes, URL forms. */
import type { Agent } from 'undici';
import { ProtocolError, SinkRejectedError, ThrottledError, TransientError } from '../../lambda/errors';
import { createHttpSink, type HttpSinkOptions, sourcetypeFor } from '../../lambda/sinks';
import { type Receiver, startReceiver } from '../receivers';
import {
  budget,
  envelope,
  envelopes,
  exposedText,
  FAST_RETRY,
  rejectionOf,
  TOKEN,
  testAgent,
} from './fixtures';

describe('splunk-hec sink', () => {
  let agent: Agent;
  let hec: Receiver;

  const sink = (overrides: Partial<HttpSinkOptions> = {}) =>
    createHttpSink({
      url: hec.url,
      format: 'splunk-hec',
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
    hec = await startReceiver({ kind: 'splunk-hec', token: TOKEN });
  });
  afterEach(async () => {
    await hec.stop();
  });

  it('wraps each envelope in a HEC event with time, host, source and sourcetype', async () => {
    const batch = [
      envelope(1, 'siem', 'receipt'),
      envelope(2, 'ttp-url', 'url protect'),
      envelope(3, 'audit', ''),
    ];
    await sink().send(batch, budget(5_000));

    const events = hec.items().map((item) => item.raw as Record<string, unknown>);
    expect(events).toHaveLength(3);
    expect(events[0]).toEqual({
      time: Date.parse(batch[0].time) / 1000,
      host: 'acme-prod',
      source: 'mimecast:siem',
      sourcetype: 'mimecast:siem:receipt',
      event: batch[0],
    });
    expect(events[0].time).toBe(1717588207.389);
    expect(events[1].sourcetype).toBe('mimecast:ttp-url:url_protect');
    expect(events[2].sourcetype).toBe('mimecast:audit');
    expect(hec.received()).toEqual(batch);
    expect(hec.requests()[0].headers['content-type']).toBe('application/json');
  });

  it('puts the index option into every event', async () => {
    await sink({ index: 'mail_security' }).send(envelopes(2), budget(5_000));
    expect(hec.items().map((item) => (item.raw as { index?: string }).index)).toEqual([
      'mail_security',
      'mail_security',
    ]);
  });

  it('appends the event path to a bare host URL', async () => {
    await sink({ url: hec.origin }).send(envelopes(1), budget(5_000));
    expect(hec.requests()[0].path).toBe('/services/collector/event');
    expect(hec.received()).toHaveLength(1);
  });

  it('retries "server is busy" (code 9) and succeeds', async () => {
    hec.inject({ kind: 'hec-code', code: 9 });
    await sink().send(envelopes(3), budget(5_000));
    expect(hec.ingestRequests().map((r) => r.status)).toEqual([503, 200]);
    expect(hec.received()).toHaveLength(3);
  });

  it('gives up on a HEC that stays unhealthy with TransientError naming the code', async () => {
    hec.inject(...Array.from({ length: 3 }, () => ({ kind: 'hec-code', code: 18 }) as const));
    const error = await rejectionOf(
      sink({ retry: { ...FAST_RETRY, maxAttempts: 3 } }).send(envelopes(1), budget(5_000)),
    );
    expect(error).toBeInstanceOf(TransientError);
    expect((error as TransientError).codes).toEqual(['hec:18']);
    expect(error.message).toContain('HEC is unhealthy, queues are full');
  });

  it('treats queue-at-capacity (code 26, 429) as throttling', async () => {
    hec.inject({ kind: 'hec-code', code: 26, retryAfter: 60 });
    const error = await rejectionOf(sink().send(envelopes(1), budget(2_000)));
    expect(error).toBeInstanceOf(ThrottledError);
    expect((error as ThrottledError).retryAfterMs).toBe(60_000);
    expect((error as ThrottledError).codes).toEqual(['hec:26']);
  });

  it.each([
    [2, 401, /token/i],
    [4, 403, /token/i],
    [7, 400, /index/i],
    [10, 400, /acknowledgement/i],
    [6, 400, /proxy/i],
  ])('refuses HEC code %i (HTTP %i) without retry', async (code, status, remedy) => {
    hec.inject({ kind: 'hec-code', code });
    const error = await rejectionOf(sink().send(envelopes(2), budget(5_000)));

    expect(error).toBeInstanceOf(SinkRejectedError);
    const rejected = error as SinkRejectedError;
    expect(rejected.status).toBe(status);
    expect(rejected.codes).toEqual([`hec:${code}`]);
    expect(rejected.message).toContain(`HEC code ${code}`);
    expect(rejected.remedy).toMatch(remedy);
    expect(hec.ingestRequests()).toHaveLength(1);
  });

  it('names the invalid event by position and id', async () => {
    hec.inject({ kind: 'hec-code', code: 6 });
    const batch = envelopes(2);
    const error = await rejectionOf(sink().send(batch, budget(5_000)));
    expect(error.message).toContain(`at event 0 (id ${batch[0].id})`);
  });

  it('meets the real token check: missing token is code 2, wrong token code 4, neither leaks', async () => {
    const missing = await rejectionOf(sink({ token: undefined }).send(envelopes(1), budget(5_000)));
    expect((missing as SinkRejectedError).codes).toEqual(['hec:2']);
    expect((missing as SinkRejectedError).status).toBe(401);

    const wrong = await rejectionOf(sink({ token: 'not-the-token-0000' }).send(envelopes(1), budget(5_000)));
    expect((wrong as SinkRejectedError).codes).toEqual(['hec:4']);
    expect(exposedText(wrong)).not.toContain('not-the-token-0000');
  });

  it('reports a 200 that is not a HEC answer as a ProtocolError', async () => {
    hec.inject({
      kind: 'status',
      status: 200,
      body: '<html>Welcome to nginx</html>',
      contentType: 'text/html',
    });
    const error = await rejectionOf(sink().send(envelopes(1), budget(5_000)));
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).excerpt).toContain('Welcome to nginx');
  });

  it('refuses the raw and health endpoints as sink URLs', () => {
    for (const path of ['/services/collector/raw', '/services/collector/health']) {
      expect(() => createHttpSink({ url: `${hec.origin}${path}`, format: 'splunk-hec' })).toThrow(
        /services\/collector\/event/,
      );
    }
  });
});

describe('sourcetypeFor', () => {
  it.each([
    ['siem', 'receipt', 'mimecast:siem:receipt'],
    ['siem', 'Journal', 'mimecast:siem:journal'],
    ['ttp-attachment', 'attachment protect', 'mimecast:ttp-attachment:attachment_protect'],
    ['audit', 'Account Logon / Logoff', 'mimecast:audit:account_logon_logoff'],
    ['dlp', '  ', 'mimecast:dlp'],
  ])('%s + %j → %s', (stream, logType, expected) => {
    expect(sourcetypeFor(stream, logType)).toBe(expected);
  });
});
