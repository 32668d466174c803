/**
 * The sentinel destination (Logs Ingestion API with Entra client credentials) against the loopback
 * Entra token endpoint and Logs Ingestion receiver: URL shape, row shape, 1 MB requests, tokens cached,
 * refreshed early and fetched again on 401, and every refusal typed, naming what to fix, never the
 * client secret or a token.
 */
import type { Agent } from 'undici';
import { ConfigError, SinkRejectedError, ThrottledError, TransientError } from '../../lambda/errors';
import { createDestination, type DestinationDeps } from '../../lambda/sinks';
import { ENTRA_REFRESH_MARGIN_MS } from '../../lambda/sinks/entra';
import { sentinelRow } from '../../lambda/sinks/sentinel';
import { type EntraTokenEndpoint, type Receiver, startEntraTokenEndpoint, startReceiver } from '../receivers';
import {
  budget,
  envelope,
  envelopes,
  exposedText,
  FAST_RETRY,
  recordingLog,
  rejectionOf,
  testAgent,
} from './fixtures';

const DCR = 'dcr-00112233445566778899aabbccddeeff';
const STREAM = 'Custom-MimecastEvents_CL';

let agent: Agent;
const running: Array<{ stop(): Promise<void> }> = [];
beforeAll(() => {
  agent = testAgent();
});
afterAll(() => agent.close());
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()));
});

async function rig(options: { authorizedClientIds?: string[]; tokenLifetimeSeconds?: number } = {}) {
  const entra = await startEntraTokenEndpoint(
    options.tokenLifetimeSeconds === undefined ? {} : { tokenLifetimeSeconds: options.tokenLifetimeSeconds },
  );
  running.push(entra);
  const receiver = await startReceiver({
    kind: 'sentinel',
    sentinel: {
      entra,
      dcrImmutableId: DCR,
      stream: STREAM,
      ...(options.authorizedClientIds === undefined
        ? {}
        : { authorizedClientIds: options.authorizedClientIds }),
    },
  });
  running.push(receiver);
  return { entra, receiver };
}

function sentinel(entra: EntraTokenEndpoint, receiver: Receiver, deps: DestinationDeps = {}) {
  return createDestination(
    { sinkFormat: 'sentinel', sinkUrl: receiver.url, azureAuthorityUrl: entra.authority },
    {
      dispatcher: agent,
      retry: FAST_RETRY,
      azure: { tenantId: entra.tenantId, clientId: entra.clientId, clientSecret: entra.clientSecret },
      ...deps,
    },
  );
}

/** Nothing a user could see holds the client secret or any token issued. */
function expectNoSecret(entra: EntraTokenEndpoint, ...outputs: unknown[]) {
  const text = outputs.map((o) => (o instanceof Error ? exposedText(o) : JSON.stringify(o))).join('\n');
  expect(text).not.toContain(entra.clientSecret);
  for (const issued of entra.issued()) expect(text).not.toContain(issued.accessToken);
}

describe('sentinel URL and rows', () => {
  const azure = { tenantId: 't', clientId: 'c', clientSecret: 's' };
  const problemsFor = (sinkUrl: string) => {
    try {
      createDestination({ sinkFormat: 'sentinel', sinkUrl }, { azure });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as ConfigError).problems.map((p) => p.problem).join('\n');
    }
    throw new Error('expected a ConfigError');
  };
  const good = `https://dce-1.westeurope-1.ingest.monitor.azure.com/dataCollectionRules/${DCR}/streams/${STREAM}?api-version=2023-01-01`;

  it('takes the Logs Ingestion URL and refuses other shapes, saying what it should be', () => {
    expect(() => createDestination({ sinkFormat: 'sentinel', sinkUrl: good }, { azure })).not.toThrow();
    const shape =
      /expected https:\/\/<data collection endpoint>\/dataCollectionRules\/<dcr-immutable-id>\/streams\/<stream>\?api-version=2023-01-01/;
    expect(problemsFor('https://portal.azure.com/')).toMatch(/no \/dataCollectionRules\/<dcr-immutable-id>/);
    expect(problemsFor('https://portal.azure.com/')).toMatch(shape);
    expect(problemsFor(good.replace(DCR, 'my-rule'))).toMatch(/Immutable Id \(dcr- and 32 hex digits/);
    expect(problemsFor(good.replace(STREAM, 'MimecastEvents_CL'))).toMatch(
      /Custom-<name> or Microsoft-<table>/,
    );
    expect(problemsFor(good.replace('?api-version=2023-01-01', ''))).toMatch(/no api-version/);
    expect(problemsFor(good.replace('2023-01-01', '2021-11-01-preview'))).toMatch(/speaks 2023-01-01/);
    expect(problemsFor(`${good}&code=x`)).toMatch(/besides api-version \(code\)/);
  });

  it('names the Entra settings that are missing or malformed, never their values', () => {
    const missing = rejectionOf(
      Promise.resolve().then(() => createDestination({ sinkFormat: 'sentinel', sinkUrl: good }, {})),
    );
    return missing.then((error) => {
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toMatch(/AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET: are not set/);
      const bad = (() => {
        try {
          createDestination(
            { sinkFormat: 'sentinel', sinkUrl: good, azureAuthorityUrl: 'http://login.example.com' },
            { azure: { tenantId: 't', clientId: '', clientSecret: ' hunter2-secret ' } },
          );
        } catch (e) {
          return e as ConfigError;
        }
        throw new Error('expected a ConfigError');
      })();
      expect(bad.problems.map((p) => p.field)).toEqual([
        'AZURE_CLIENT_ID',
        'AZURE_CLIENT_SECRET',
        '--azure-authority-url',
      ]);
      expect(exposedText(bad)).not.toContain('hunter2');
    });
  });

  it('writes each row as TimeGenerated (the event time) then the envelope fields', () => {
    const e = envelope(3);
    const row = JSON.parse(sentinelRow(e));
    expect(Object.keys(row)).toEqual([
      'TimeGenerated',
      'id',
      'stream',
      'logType',
      'time',
      'instance',
      'event',
    ]);
    expect(row).toEqual({ TimeGenerated: e.time, ...e });
  });
});

describe('sentinel against the loopback Entra and Logs Ingestion API', () => {
  it('posts gzip JSON arrays with one cached Bearer token, 204 acknowledging', async () => {
    const { entra, receiver } = await rig();
    const sink = sentinel(entra, receiver);
    await sink.send(envelopes(5), budget(5_000));
    await sink.send(envelopes(2, 'audit'), budget(5_000));
    expect(receiver.ids()).toEqual([...envelopes(5), ...envelopes(2, 'audit')].map((e) => e.id));
    expect(receiver.items()[0]?.raw).toMatchObject({ TimeGenerated: envelope(0).time });
    const posts = receiver.ingestRequests();
    expect(posts.map((q) => q.status)).toEqual([204, 204]);
    expect(posts.every((q) => q.headers['content-encoding'] === 'gzip')).toBe(true);
    expect(entra.issued()).toHaveLength(1);
    expect(new Set(posts.map((q) => q.headers.authorization))).toEqual(
      new Set([`Bearer ${entra.issued()[0]?.accessToken}`]),
    );
    // The form carried the Monitor scope and the client credentials grant.
    const form = new URLSearchParams(entra.requests()[0]?.body);
    expect(Object.fromEntries(form)).toMatchObject({
      grant_type: 'client_credentials',
      client_id: entra.clientId,
      scope: 'https://monitor.azure.com//.default',
    });
  });

  it('sends a batch of one as an array (Azure takes a lone object with 204 and drops it)', async () => {
    const { entra, receiver } = await rig();
    await sentinel(entra, receiver).send(envelopes(1), budget(5_000));
    expect(receiver.ids()).toEqual(envelopes(1).map((e) => e.id));
  });

  it('cuts batches into requests of at most 1,048,576 bytes uncompressed', async () => {
    const { entra, receiver } = await rig();
    const big = (n: number) => ({ ...envelope(n), event: { pad: 'x'.repeat(60_000), n } });
    const batch = Array.from({ length: 40 }, (_, n) => big(n));
    const sink = sentinel(entra, receiver);
    await sink.send(batch, budget(10_000));
    const posts = receiver.ingestRequests();
    expect(posts.length).toBeGreaterThanOrEqual(3);
    for (const post of posts) expect(Buffer.byteLength(post.body)).toBeLessThanOrEqual(1_048_576);
    expect(receiver.ids()).toEqual(batch.map((e) => e.id));
  });

  it('refuses a row Azure would cut at 64 KB, before sending anything', async () => {
    const { entra, receiver } = await rig();
    const sink = sentinel(entra, receiver);
    const error = await rejectionOf(
      sink.send([envelope(1), { ...envelope(2), event: { pad: 'y'.repeat(70_000) } }], budget(5_000)),
    );
    expect(error).toBeInstanceOf(SinkRejectedError);
    expect(error.message).toMatch(
      /event siem-0002-\w+ is \d+ bytes serialised, over the receiver's 65536-byte limit/,
    );
    expect(receiver.ingestRequests()).toHaveLength(0);
  });

  it('halves on 413, honours 429 Retry-After, retries 500, 503 and resets', async () => {
    const { entra, receiver } = await rig();
    receiver.inject(
      { kind: 'status', status: 413 },
      { kind: 'status', status: 429, retryAfter: 1 },
      { kind: 'status', status: 500 },
      { kind: 'status', status: 503 },
      { kind: 'reset' },
    );
    const log = recordingLog();
    const sink = sentinel(entra, receiver, { log });
    const started = Date.now();
    await sink.send(envelopes(6), budget(10_000));
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(receiver.ids()).toEqual(envelopes(6).map((e) => e.id));
    expect(receiver.ingestRequests().map((q) => q.status ?? q.fault)).toEqual([
      413,
      429,
      500,
      503,
      'reset',
      204,
      204,
    ]);
    expect(log.lines.some((l) => /retrying/.test(l.message) && l.attributes?.delayMs === 1000)).toBe(true);
    expectNoSecret(entra, log.lines);
  });

  it('gives up on a receiver that keeps throttling with a ThrottledError carrying its Retry-After', async () => {
    const { entra, receiver } = await rig();
    receiver.inject({ kind: 'status', status: 429, retryAfter: 30 });
    const error = await rejectionOf(sentinel(entra, receiver).send(envelopes(2), budget(2_000)));
    expect(error).toBeInstanceOf(ThrottledError);
    expect((error as ThrottledError).retryAfterMs).toBe(30_000);
    expect(receiver.ids()).toEqual([]);
  });

  it('fetches a new token when the API answers 401 for an expired one, once', async () => {
    const { entra, receiver } = await rig();
    const log = recordingLog();
    const sink = sentinel(entra, receiver, { log });
    await sink.send([envelope(1)], budget(5_000));
    entra.expireTokens();
    await sink.send([envelope(2)], budget(5_000));
    expect(receiver.ids()).toEqual([envelope(1).id, envelope(2).id]);
    expect(entra.issued()).toHaveLength(2);
    expect(receiver.ingestRequests().map((q) => q.status)).toEqual([204, 401, 204]);
    expect(log.lines.some((l) => /refused its bearer token/.test(l.message))).toBe(true);
    expectNoSecret(entra, log.lines);
  });

  it('refreshes the token before it expires', async () => {
    // A 600 s token is refreshed at 300 s (half its life; the margin is 5 minutes).
    expect(ENTRA_REFRESH_MARGIN_MS).toBe(300_000);
    const { entra, receiver } = await rig({ tokenLifetimeSeconds: 600 });
    let now = Date.now();
    const sink = sentinel(entra, receiver, { clock: { now: () => now } });
    await sink.send([envelope(1)], { signal: new AbortController().signal, deadline: now + 5_000 });
    now += 299_000;
    await sink.send([envelope(2)], { signal: new AbortController().signal, deadline: now + 5_000 });
    expect(entra.issued()).toHaveLength(1);
    now += 2_000;
    await sink.send([envelope(3)], { signal: new AbortController().signal, deadline: now + 5_000 });
    expect(entra.issued()).toHaveLength(2);
    expect(receiver.ingestRequests().map((q) => q.status)).toEqual([204, 204, 204]);
  });

  it('refuses on 403 saying the app lacks Monitoring Metrics Publisher on the rule, never echoing a secret', async () => {
    const { entra, receiver } = await rig({ authorizedClientIds: ['someone-else'] });
    const error = await rejectionOf(sentinel(entra, receiver).send(envelopes(2), budget(5_000)));
    expect(error).toBeInstanceOf(SinkRejectedError);
    expect(error.message).toMatch(
      /HTTP 403 OperationFailed: The authentication token provided does not have access/,
    );
    expect((error as SinkRejectedError).remedy).toMatch(
      new RegExp(`"Monitoring Metrics Publisher" on the data collection rule ${DCR}`),
    );
    expect((error as SinkRejectedError).codes).toEqual(['OperationFailed']);
    expect(receiver.ids()).toEqual([]);
    expectNoSecret(entra, error);
  });

  it('refuses a stream the rule does not declare with Azure reason and what to declare', async () => {
    const { entra, receiver } = await rig();
    const other = await startReceiver({
      kind: 'sentinel',
      sentinel: { entra, dcrImmutableId: DCR, stream: 'Custom-Other_CL' },
    });
    running.push(other);
    const error = await rejectionOf(
      createDestination(
        {
          sinkFormat: 'sentinel',
          sinkUrl: receiver.url.replace(receiver.origin, other.origin),
          azureAuthorityUrl: entra.authority,
        },
        {
          dispatcher: agent,
          retry: FAST_RETRY,
          azure: { tenantId: entra.tenantId, clientId: entra.clientId, clientSecret: entra.clientSecret },
        },
      ).send(envelopes(1), budget(5_000)),
    );
    expect(error).toBeInstanceOf(SinkRejectedError);
    expect(error.message).toMatch(/HTTP 400 InvalidStream/);
    expect((error as SinkRejectedError).remedy).toMatch(new RegExp(`Declare the stream ${STREAM}`));
  });

  it.each([
    [
      'a wrong client secret',
      { clientSecret: 'not-the-secret-0123456789' },
      'AZURE_CLIENT_SECRET',
      /not a valid secret of the app/,
    ],
    [
      'an unknown client id',
      { clientId: '0f0f0f0f-0000-0000-0000-000000000000' },
      'AZURE_CLIENT_ID',
      /not an app registered in tenant/,
    ],
    ['an unknown tenant', { tenantId: 'other-tenant' }, 'AZURE_TENANT_ID', /names no tenant Entra knows/],
  ] as const)(
    'turns %s into a ConfigError naming the setting, nothing sent',
    async (_name, override, field, text) => {
      const { entra, receiver } = await rig();
      const azure = {
        tenantId: entra.tenantId,
        clientId: entra.clientId,
        clientSecret: entra.clientSecret,
        ...override,
      };
      const error = await rejectionOf(sentinel(entra, receiver, { azure }).send(envelopes(2), budget(5_000)));
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toEqual([{ field, problem: expect.stringMatching(text) }]);
      expect(error.message).toMatch(/AADSTS\d+/);
      expect((error as ConfigError).remedy).toMatch(new RegExp(`Fix ${field}`));
      expect(receiver.ingestRequests()).toHaveLength(0);
      expectNoSecret(entra, error);
      expect(exposedText(error)).not.toContain(azure.clientSecret);
    },
  );

  it('says an expired client secret has expired', async () => {
    const { entra, receiver } = await rig();
    entra.expireSecret();
    const error = await rejectionOf(sentinel(entra, receiver).send(envelopes(1), budget(5_000)));
    expect((error as ConfigError).problems[0]).toEqual({
      field: 'AZURE_CLIENT_SECRET',
      problem: expect.stringMatching(/has expired: create a new client secret/),
    });
  });

  it('retries the token endpoint on 429, 503 and resets, then gives up with a TransientError', async () => {
    const { entra, receiver } = await rig();
    entra.inject(
      { kind: 'status', status: 429, retryAfter: 0 },
      { kind: 'status', status: 503 },
      { kind: 'reset' },
    );
    await sentinel(entra, receiver).send(envelopes(1), budget(10_000));
    expect(receiver.ids()).toEqual([envelope(0).id]);
    entra.inject(...Array.from({ length: 6 }, () => ({ kind: 'status' as const, status: 503 })));
    const fresh = sentinel(entra, receiver);
    const error = await rejectionOf(fresh.send(envelopes(1), budget(20_000)));
    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toMatch(/Entra token endpoint .* no token after 4 attempt/);
  }, 20_000);

  it('probes: token issued and role granted; or says which part fails', async () => {
    const { entra, receiver } = await rig();
    const ok = await sentinel(entra, receiver).probe(budget(5_000));
    expect(ok).toEqual({
      ok: true,
      result: expect.stringMatching(/^OK \(Entra token issued, role on the rule granted/),
    });
    expect(receiver.ids()).toEqual([]);

    const denied = await rig({ authorizedClientIds: ['someone-else'] });
    const noRole = await sentinel(denied.entra, denied.receiver).probe(budget(5_000));
    expect(noRole).toMatchObject({ ok: false, result: 'Entra token issued; role missing on the rule' });
    expect(noRole.detail?.remedy).toMatch(/Monitoring Metrics Publisher/);

    const wrong = await sentinel(entra, receiver, {
      azure: { tenantId: entra.tenantId, clientId: entra.clientId, clientSecret: 'wrong-secret-value-123' },
    }).probe(budget(5_000));
    expect(wrong).toMatchObject({ ok: false, result: 'no token (Entra refused the app credentials)' });
    expect(wrong.detail?.message).toMatch(/AZURE_CLIENT_SECRET/);
    expectNoSecret(entra, ok, noRole, wrong);
    expect(JSON.stringify(wrong)).not.toContain('wrong-secret-value-123');
  });
});
