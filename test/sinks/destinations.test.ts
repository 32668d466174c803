/**
 * The issue 14 HTTP destinations against their loopback receivers, through `createDestination`:
 * Splunk with indexer acknowledgement, Sumo Logic (the URL is the credential), Datadog (limits, 413).
 * Each failure answer either ends acknowledged with every event stored, or rejects: never a silent loss.
 */
import type { Agent } from 'undici';
import type { Envelope } from '../../lambda/core/envelope';
import { SinkRejectedError, TransientError } from '../../lambda/errors';
import { createDestination, type DestinationDeps, type DestinationSettings } from '../../lambda/sinks';
import { type Receiver, startReceiver } from '../receivers';
import {
  budget,
  envelope,
  envelopes,
  exposedText,
  FAST_RETRY,
  recordingLog,
  rejectionOf,
  TOKEN,
  testAgent,
} from './fixtures';

let agent: Agent;
const running: Receiver[] = [];
beforeAll(() => {
  agent = testAgent();
});
afterAll(() => agent.close());
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()));
});

async function receiver(options: Parameters<typeof startReceiver>[0]): Promise<Receiver> {
  const started = await startReceiver(options);
  running.push(started);
  return started;
}

function destination(settings: DestinationSettings, deps: DestinationDeps = {}) {
  return createDestination(settings, { dispatcher: agent, retry: FAST_RETRY, ...deps });
}

const ids = (batch: readonly Envelope[]) => batch.map((e) => e.id);

describe('splunk-hec with --hec-ack', () => {
  const FAST_ACK = { timeoutMs: 400, pollIntervalMs: 10, maxPollIntervalMs: 40 };

  it('posts on one channel, polls the ackId until true, and only then acknowledges', async () => {
    const hec = await receiver({ kind: 'splunk-hec', token: TOKEN, ack: { pollsBeforeAcked: 3 } });
    const sink = destination(
      { sinkFormat: 'splunk-hec', sinkUrl: hec.url, hecAck: true },
      { token: TOKEN, hecAckOptions: FAST_ACK },
    );
    const batch = envelopes(7);
    await sink.send(batch, budget(5_000));
    await sink.send(envelopes(2, 'audit'), budget(5_000));
    expect(hec.ids()).toEqual([...ids(batch), ...ids(envelopes(2, 'audit'))]);
    const channels = new Set(hec.requests().map((r) => r.headers['x-splunk-request-channel']));
    expect(channels.size).toBe(1);
    expect([...channels][0]).toMatch(/^[0-9a-f-]{36}$/);
    // Three "false" answers, then true, for each post.
    expect(hec.requests().filter((r) => r.path === '/services/collector/ack')).toHaveLength(8);
    expect(hec.hec!.pendingAcks()).toEqual([0]);
  });

  it('keeps to one indexer behind a sticky load balancer by sending its cookie back', async () => {
    const hec = await receiver({
      kind: 'splunk-hec',
      token: TOKEN,
      ack: { indexers: 3, stickySessions: true, pollsBeforeAcked: 1 },
    });
    const sink = destination(
      { sinkFormat: 'splunk-hec', sinkUrl: hec.url, hecAck: true },
      { token: TOKEN, hecAckOptions: FAST_ACK },
    );
    for (let n = 0; n < 3; n++) await sink.send([envelope(n)], budget(5_000));
    expect(hec.ids()).toEqual(['siem', 'siem', 'siem'].map((_, n) => envelope(n).id));
    const cookies = hec
      .requests()
      .slice(1)
      .map((r) => r.headers.cookie);
    expect(new Set(cookies)).toEqual(new Set(['AWSALB=indexer-0']));
  });

  it('a post whose events were lost before indexing (ack never true) is sent again within the budget', async () => {
    const hec = await receiver({ kind: 'splunk-hec', token: TOKEN, ack: true });
    hec.inject({ kind: 'hec-ack-dropped' });
    const log = recordingLog();
    const sink = destination(
      { sinkFormat: 'splunk-hec', sinkUrl: hec.url, hecAck: true },
      { token: TOKEN, hecAckOptions: FAST_ACK, log },
    );
    const batch = envelopes(4);
    await sink.send(batch, budget(10_000));
    expect(hec.ids()).toEqual(ids(batch));
    expect(hec.ingestRequests()).toHaveLength(2);
    expect(log.lines.map((l) => l.attributes?.reason).join(' ')).toMatch(/not acknowledged within/);
  });

  it('an ack that never turns true, to the end of the budget, fails the batch as transient (not acknowledged)', async () => {
    const hec = await receiver({ kind: 'splunk-hec', token: TOKEN, ack: true });
    hec.inject(...Array.from({ length: 10 }, () => ({ kind: 'hec-ack-stuck' as const })));
    const sink = destination(
      { sinkFormat: 'splunk-hec', sinkUrl: hec.url, hecAck: true },
      { token: TOKEN, hecAckOptions: FAST_ACK, retry: { ...FAST_RETRY, maxAttempts: 2 } },
    );
    const error = await rejectionOf(sink.send(envelopes(3), budget(10_000)));
    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toMatch(/not acknowledged/);
    expect(exposedText(error)).not.toContain(TOKEN);
  });

  it('a token without acknowledgement is refused with the remedy to turn it on or drop --hec-ack', async () => {
    const hec = await receiver({ kind: 'splunk-hec', token: TOKEN });
    hec.inject({ kind: 'hec-code', code: 14 });
    const sink = destination({ sinkFormat: 'splunk-hec', sinkUrl: hec.url, hecAck: true }, { token: TOKEN });
    const error = await rejectionOf(sink.send(envelopes(2), budget(5_000)));
    expect(error).toBeInstanceOf(SinkRejectedError);
    expect((error as SinkRejectedError).remedy).toMatch(/--hec-ack/);
  });

  it('verify probes on the channel and passes', async () => {
    const hec = await receiver({ kind: 'splunk-hec', token: TOKEN, ack: true });
    const sink = destination({ sinkFormat: 'splunk-hec', sinkUrl: hec.url, hecAck: true }, { token: TOKEN });
    expect(await sink.probe(budget(5_000))).toMatchObject({ ok: true });
    expect(hec.received()).toEqual([]);
  });
});

describe('sumo', () => {
  const SUMO_TOKEN = 'ZaVnC4dhaV2Zsumo-token-zk2F0b4Q8RdVrAd3kJZ9QmqH1Ds5k0w==';

  it('sends gzip NDJSON, one stream per request, with category, name and host headers', async () => {
    const sumo = await receiver({ kind: 'sumo', token: SUMO_TOKEN });
    const sink = destination({ sinkFormat: 'sumo', sinkUrl: sumo.url });
    const batch = [...envelopes(3, 'siem'), ...envelopes(2, 'audit', 'login')];
    await sink.send(batch, budget(5_000));
    expect(sumo.ids()).toEqual(ids(batch));
    const requests = sumo.ingestRequests();
    expect(requests.map((r) => r.headers['x-sumo-category'])).toEqual(['mimecast/siem', 'mimecast/audit']);
    expect(requests.map((r) => r.headers['content-encoding'])).toEqual(['gzip', 'gzip']);
    expect(requests[0]!.headers).toMatchObject({
      'x-sumo-name': 'mimecast-siem',
      'x-sumo-host': 'acme-prod',
    });
  });

  it('keeps each request at most 1,000,000 bytes uncompressed', async () => {
    const sumo = await receiver({ kind: 'sumo', token: SUMO_TOKEN });
    const sink = destination({ sinkFormat: 'sumo', sinkUrl: sumo.url });
    const big = envelopes(30).map((e) => ({ ...e, event: { blob: 'x'.repeat(100_000) } }));
    await sink.send(big, budget(10_000));
    expect(sumo.ids()).toEqual(ids(big));
    const requests = sumo.ingestRequests();
    expect(requests.length).toBeGreaterThanOrEqual(4);
    expect(requests.every((r) => Buffer.byteLength(r.body) <= 1_000_000 && r.warning === undefined)).toBe(
      true,
    );
  });

  it('throttled (429), server error, dropped connection: retried until stored, nothing lost', async () => {
    const sumo = await receiver({ kind: 'sumo', token: SUMO_TOKEN });
    sumo.inject({ kind: 'status', status: 429 }, { kind: 'status', status: 503 }, { kind: 'reset' });
    const sink = destination({ sinkFormat: 'sumo', sinkUrl: sumo.url });
    const batch = envelopes(5);
    await sink.send(batch, budget(10_000));
    expect(sumo.ids()).toEqual(ids(batch));
  });

  it('a regenerated URL (401) is refused, and no error or log line shows the token', async () => {
    const sumo = await receiver({ kind: 'sumo', token: SUMO_TOKEN });
    const stale = sumo.url.replace(encodeURIComponent(SUMO_TOKEN), 'OldTokenOldTokenOldToken');
    const log = recordingLog();
    const sink = destination({ sinkFormat: 'sumo', sinkUrl: stale }, { log });
    const error = await rejectionOf(sink.send(envelopes(2), budget(5_000)));
    expect(error).toBeInstanceOf(SinkRejectedError);
    expect((error as SinkRejectedError).remedy).toMatch(/regenerated/);
    expect(exposedText(error)).not.toContain('OldTokenOldTokenOldToken');
    expect(exposedText(error)).toContain('/receiver/v1/http/[redacted]');
    const good = destination({ sinkFormat: 'sumo', sinkUrl: sumo.url }, { log });
    sumo.inject({ kind: 'status', status: 503 });
    await good.send(envelopes(1), budget(5_000));
    expect(JSON.stringify(log.lines)).not.toContain(encodeURIComponent(SUMO_TOKEN));
    expect(JSON.stringify(log.lines)).not.toContain(SUMO_TOKEN);
  });

  it('takes the URL up to /receiver/v1/http/ with the token from the secret, as the stack configures it', async () => {
    const sumo = await receiver({ kind: 'sumo', token: SUMO_TOKEN });
    const prefix = sumo.url.replace(/[^/]+$/, '');
    await destination({ sinkFormat: 'sumo', sinkUrl: prefix }, { token: SUMO_TOKEN }).send(
      envelopes(2),
      budget(5_000),
    );
    expect(sumo.ids()).toEqual(ids(envelopes(2)));
    expect(() => destination({ sinkFormat: 'sumo', sinkUrl: prefix })).toThrow(
      /no sink token holds the source token/,
    );
    expect(() => destination({ sinkFormat: 'sumo', sinkUrl: sumo.url }, { token: SUMO_TOKEN })).toThrow(
      /keep one/,
    );
  });

  it('refuses a URL that is not an HTTP Source, without echoing it', () => {
    expect(() =>
      destination({ sinkFormat: 'sumo', sinkUrl: 'https://collectors.sumologic.com/secret-ish' }),
    ).toThrow(/not a Sumo Logic HTTP Source URL/);
  });

  it('verify: the current URL passes, a stale one says to copy the new URL', async () => {
    const sumo = await receiver({ kind: 'sumo', token: SUMO_TOKEN });
    expect(await destination({ sinkFormat: 'sumo', sinkUrl: sumo.url }).probe(budget(5_000))).toMatchObject({
      ok: true,
    });
    const stale = await destination({
      sinkFormat: 'sumo',
      sinkUrl: sumo.url.replace(encodeURIComponent(SUMO_TOKEN), 'OldTokenOldTokenOldToken'),
    }).probe(budget(5_000));
    expect(stale).toMatchObject({ ok: false, result: 'source URL refused' });
    expect(JSON.stringify(stale)).not.toContain('OldTokenOldTokenOldToken');
    expect(sumo.received()).toEqual([]);
  });
});

describe('datadog', () => {
  const DD_KEY = 'dd0123456789abcdef0123456789abcd';

  it('sends a JSON array with ddsource, service, ddtags and the envelope fields; 202 acknowledges', async () => {
    const dd = await receiver({ kind: 'datadog', token: DD_KEY });
    const sink = destination({ sinkFormat: 'datadog', sinkUrl: dd.url }, { token: DD_KEY });
    const batch = envelopes(3, 'ttp-url', 'url protect');
    await sink.send(batch, budget(5_000));
    expect(dd.ids()).toEqual(ids(batch));
    expect(dd.received()).toEqual(batch);
    expect(dd.items()[0]!.raw).toMatchObject({
      ddsource: 'mimecast',
      service: 'mimecast',
      ddtags: 'stream:ttp-url,logtype:url_protect,instance:acme-prod',
    });
    expect(dd.ingestRequests()[0]!.headers['dd-api-key']).toBe(DD_KEY);
  });

  it('at most 1,000 entries per request', async () => {
    const dd = await receiver({ kind: 'datadog', token: DD_KEY });
    const sink = destination({ sinkFormat: 'datadog', sinkUrl: dd.url }, { token: DD_KEY });
    const batch = envelopes(2_500);
    await sink.send(batch, budget(10_000));
    expect(dd.ids()).toEqual(ids(batch));
    expect(dd.ingestRequests().map((r) => (JSON.parse(r.body) as unknown[]).length)).toEqual([
      1000, 1000, 500,
    ]);
  });

  it('413 (limits exceeded): the batch goes again as halves, every event stored once', async () => {
    const dd = await receiver({ kind: 'datadog', token: DD_KEY, maxBodyBytes: 3_000 });
    const sink = destination({ sinkFormat: 'datadog', sinkUrl: dd.url }, { token: DD_KEY });
    const batch = envelopes(16);
    await sink.send(batch, budget(10_000));
    expect([...dd.ids()].sort()).toEqual(ids(batch).sort());
    expect(new Set(dd.ids()).size).toBe(16);
    expect(dd.ingestRequests().some((r) => r.status === 413)).toBe(true);
  });

  it('an entry over 1 MB is refused before sending (Datadog would cut it), naming the event', async () => {
    const dd = await receiver({ kind: 'datadog', token: DD_KEY });
    const sink = destination({ sinkFormat: 'datadog', sinkUrl: dd.url }, { token: DD_KEY });
    const huge = { ...envelope(1), event: { blob: 'y'.repeat(1_000_001) } };
    const error = await rejectionOf(sink.send([envelope(0), huge], budget(5_000)));
    expect(error).toBeInstanceOf(SinkRejectedError);
    expect(error.message).toContain(huge.id);
    expect(dd.ingestRequests()).toHaveLength(0);
  });

  it("400 refuses with Datadog's reason; 403 with the key remedy, the key never shown", async () => {
    const dd = await receiver({ kind: 'datadog', token: DD_KEY });
    dd.inject({
      kind: 'status',
      status: 400,
      body: JSON.stringify({
        errors: [{ status: '400', title: 'Bad Request', detail: 'Malformed JSON payload' }],
      }),
    });
    const sink = destination({ sinkFormat: 'datadog', sinkUrl: dd.url }, { token: DD_KEY });
    const refused = await rejectionOf(sink.send(envelopes(2), budget(5_000)));
    expect(refused).toBeInstanceOf(SinkRejectedError);
    expect(refused.message).toContain('Malformed JSON payload');
    const wrong = destination(
      { sinkFormat: 'datadog', sinkUrl: dd.url },
      { token: 'wrong-key-0123456789abcdef' },
    );
    const forbidden = await rejectionOf(wrong.send(envelopes(2), budget(5_000)));
    expect((forbidden as SinkRejectedError).remedy).toMatch(/API key/);
    expect(exposedText(forbidden)).not.toContain('wrong-key-0123456789abcdef');
    expect(dd.received()).toEqual([]);
  });

  it('429 with Retry-After, 503 and a dropped connection: retried, stored once', async () => {
    const dd = await receiver({ kind: 'datadog', token: DD_KEY });
    dd.inject(
      { kind: 'status', status: 429, retryAfter: 1 },
      { kind: 'status', status: 503 },
      { kind: 'reset' },
    );
    const sink = destination({ sinkFormat: 'datadog', sinkUrl: dd.url }, { token: DD_KEY });
    const batch = envelopes(4);
    await sink.send(batch, budget(10_000));
    expect(dd.ids()).toEqual(ids(batch));
  });

  it('verify: a good key passes, a wrong one is a token problem; nothing stored', async () => {
    const dd = await receiver({ kind: 'datadog', token: DD_KEY });
    expect(
      await destination({ sinkFormat: 'datadog', sinkUrl: dd.url }, { token: DD_KEY }).probe(budget(5_000)),
    ).toMatchObject({ ok: true });
    expect(
      await destination({ sinkFormat: 'datadog', sinkUrl: dd.url }, { token: 'nope-nope-nope' }).probe(
        budget(5_000),
      ),
    ).toMatchObject({ ok: false, tokenProblem: true });
    expect(dd.received()).toEqual([]);
  });
});
