/**
 * `verify` against the Mimecast simulator (with injected refusals), the loopback receivers, and, for
 * credentials stored by `configure`, the Secrets Manager + KMS stub.
 */
import { createServer, type Server } from 'node:net';
import { configureCommand } from '../../bin/cli/configure';
import { main } from '../../bin/cli/main';
import { verifyCommand } from '../../bin/cli/verify';
import { STREAM_IDS, streamsFor } from '../../lambda/core/streams';
import { REDACTED } from '../../lambda/telemetry/redact';
import { type AwsStub, startAwsStub } from '../aws-stub';
import { type Receiver, startEntraTokenEndpoint, startReceiver } from '../receivers';
import { type RunningSimulator, startSimulator } from '../simulator';
import { type CapturedIO, captureIO } from './cli-io';

const TOKEN = 'receiver-token-0123456789';

let sim: RunningSimulator;
let stub: AwsStub;
let closedPort: number;
const receivers: Receiver[] = [];

/** A port nothing listens on: bound, then closed. */
async function freePort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  [sim, stub, closedPort] = await Promise.all([startSimulator({ seed: 11 }), startAwsStub(), freePort()]);
});

afterAll(async () => {
  await Promise.all([sim.stop(), stub.stop(), ...receivers.map((r) => r.stop())]);
});

beforeEach(() => {
  sim.clearFaults();
  sim.clearRequests();
});

async function receiver(kind: 'ndjson' | 'splunk-hec' | 'elastic-bulk'): Promise<Receiver> {
  const started = await startReceiver({ kind, token: TOKEN });
  receivers.push(started);
  return started;
}

function v2Env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    MIMECAST_CLIENT_ID: sim.credentials.v2.clientId,
    MIMECAST_CLIENT_SECRET: sim.credentials.v2.clientSecret,
    ...extra,
  };
}

function v1Env(extra: Record<string, string> = {}): Record<string, string> {
  const v1 = sim.credentials.v1;
  return {
    MIMECAST_APP_ID: v1.appId,
    MIMECAST_APP_KEY: v1.appKey,
    MIMECAST_ACCESS_KEY: v1.accessKey,
    MIMECAST_SECRET_KEY: v1.secretKey,
    ...extra,
  };
}

/** The result cell of each row of the printed table. */
function rows(io: CapturedIO): Record<string, string> {
  const start = io.outLines.findIndex((line) => /^stream\s+result$/.test(line));
  expect(start).toBeGreaterThanOrEqual(0);
  const out: Record<string, string> = {};
  for (const line of io.outLines.slice(start + 2)) {
    if (line.trim() === '') break;
    const [, name, result] = /^(\S+)\s+(.*)$/.exec(line) ?? [];
    out[name] = result;
  }
  return out;
}

function expectClean(io: CapturedIO, secrets: string[]): void {
  const text = io.text();
  for (const secret of secrets) expect(text).not.toContain(secret);
  expect(text).not.toContain(REDACTED);
  expect(text).not.toMatch(/\n\s+at /);
}

test('every stream and an ndjson receiver pass with API 2.0 credentials from the environment; no event is sent', async () => {
  const ndjson = await receiver('ndjson');
  const io = captureIO(v2Env({ SINK_TOKEN: TOKEN }));
  const code = await verifyCommand(['--mimecast-url', sim.url, '--sink-url', ndjson.url], io);
  expect(io.errLines).toEqual([]);
  expect(code).toBe(0);
  const table = rows(io);
  expect(Object.keys(table)).toEqual([...STREAM_IDS, 'sink']);
  for (const stream of STREAM_IDS) expect(table[stream]).toBe('OK');
  expect(table.sink).toMatch(/^OK/);
  expect(io.outLines).toContain('All checks passed.');
  // One token for all streams, then one call each.
  expect(sim.requests().filter((r) => r.path === '/oauth/token')).toHaveLength(1);
  expect(ndjson.received()).toEqual([]);
  expect(ndjson.requests()).toHaveLength(1);
  expect(ndjson.requests()[0].headers.authorization).toBe(`Bearer ${TOKEN}`);
  expectClean(io, [sim.credentials.v2.clientSecret, TOKEN]);
});

test('API 1.0: the default probes the streams API 1.0 serves; siem-ci listed is refused by name before any call', async () => {
  const io = captureIO(v1Env());
  expect(await verifyCommand(['--mimecast-url', sim.url], io)).toBe(0);
  expect(Object.keys(rows(io))).toEqual(streamsFor(1));

  sim.clearRequests();
  const refused = captureIO(v1Env());
  expect(await verifyCommand(['--mimecast-url', sim.url, '--streams', 'audit,siem-ci'], refused)).toBe(2);
  expect(refused.errLines.join('\n')).toMatch(/--streams: "siem-ci" is collected over API 2\.0 only/);
  expect(sim.requests()).toEqual([]);
});

test('--siem-types and --siem-ci-types choose the event type each listing is probed with', async () => {
  const io = captureIO(v2Env());
  const code = await verifyCommand(
    [
      '--mimecast-url',
      sim.url,
      '--streams',
      'siem,siem-ci',
      '--siem-types',
      'journal',
      '--siem-ci-types',
      'urlclick,mailflow',
    ],
    io,
  );
  expect(code).toBe(0);
  const listings = sim.requests().filter((r) => r.path.startsWith('/siem/v1/batch/events/'));
  expect(listings.map((r) => [r.path, r.query.type])).toEqual(
    expect.arrayContaining([
      ['/siem/v1/batch/events/cg', 'journal'],
      ['/siem/v1/batch/events/ci', 'urlclick'],
    ]),
  );
  const bad = captureIO(v2Env());
  expect(await verifyCommand(['--mimecast-url', sim.url, '--siem-ci-types', 'receipt'], bad)).toBe(2);
  expect(bad.errLines.join('\n')).toMatch(/--siem-ci-types: unknown event type "receipt"/);
});

test('a 403 on one stream shows the missing permission; a 401 on another shows bad credentials', async () => {
  sim.inject({
    path: '/api/dlp/get-logs',
    times: Number.POSITIVE_INFINITY,
    fault: { kind: 'status', status: 403 },
  });
  sim.inject({
    path: '/api/audit/get-siem-logs',
    times: Number.POSITIVE_INFINITY,
    fault: { kind: 'status', status: 401 },
  });
  const io = captureIO(v1Env());
  const code = await verifyCommand(
    ['--mimecast-url', sim.url, '--api-version', '1', '--streams', 'audit,dlp,siem'],
    io,
  );
  expect(code).toBe(1);
  const table = rows(io);
  expect(table.audit).toBe('OK');
  expect(table.dlp).toBe('missing permission: Monitoring | Data Leak Prevention | Read');
  expect(table.siem).toBe('bad credentials');
  const err = io.errLines.join('\n');
  expect(err).toMatch(/dlp: The credentials may not read stream dlp/);
  expect(err).toMatch(/what to do: In the Mimecast admin console, give the API 1.0 service user's role/);
  expect(err).toMatch(/siem: Mimecast refused the credentials/);
  expect(io.outLines).toContain('2 of 3 checks failed.');
  expect(io.outLines).toContain('The receiver was not checked (no --sink-url).');
  expectClean(io, [sim.credentials.v1.secretKey, sim.credentials.v1.appKey]);
});

test('a licence refusal reads as product not enabled', async () => {
  sim.inject({
    path: '/api/ttp/url/get-logs',
    fault: { kind: 'fail-200', code: 'err_ttp_url_not_licensed', retryable: false },
  });
  const io = captureIO(v1Env());
  expect(await verifyCommand(['--mimecast-url', sim.url, '--streams', 'ttp-url'], io)).toBe(1);
  expect(rows(io)['ttp-url']).toBe('product not enabled (Monitoring | URL Protection | Read)');
});

test('wrong API 2.0 credentials: bad credentials on the first stream, the others not tried', async () => {
  const io = captureIO(v2Env({ MIMECAST_CLIENT_SECRET: 'not-the-right-secret-at-all' }));
  expect(await verifyCommand(['--mimecast-url', sim.url, '--streams', 'siem,audit,dlp'], io)).toBe(1);
  expect(rows(io)).toEqual({
    siem: 'bad credentials',
    audit: 'bad credentials (not tried: see siem)',
    dlp: 'bad credentials (not tried: see siem)',
  });
  expect(sim.requests().filter((r) => r.path === '/oauth/token')).toHaveLength(1);
  expectClean(io, ['not-the-right-secret-at-all']);
});

test('an unreachable Mimecast host and an unreachable receiver are reported as such', async () => {
  const started = Date.now();
  const io = captureIO(v2Env());
  const code = await verifyCommand(
    [
      '--mimecast-url',
      `http://127.0.0.1:${closedPort}`,
      '--streams',
      'audit,siem',
      '--sink-url',
      `http://127.0.0.1:${closedPort}/ingest`,
    ],
    io,
  );
  expect(code).toBe(1);
  expect(rows(io)).toEqual({
    audit: 'unreachable',
    siem: 'unreachable (not tried: see audit)',
    sink: 'unreachable',
  });
  expect(io.errLines.join('\n')).toMatch(
    /sink: http:\/\/127\.0\.0\.1:\d+\/ingest did not answer: ECONNREFUSED/,
  );
  expect(Date.now() - started).toBeLessThan(10_000);
  // What to do is said for someone checking a setup, not for the next tick (issue 12, section 4).
  expect(io.errLines.join('\n')).not.toMatch(/Nothing to change/);
  expect(io.errLines.join('\n')).toMatch(/what to do: Check --mimecast-url .* then run verify again/);
});

test('credentials stored by configure: read from the secret, the Splunk HEC token checked without indexing anything', async () => {
  const hec = await receiver('splunk-hec');
  stub.putSecret('collector/verify', '{"configured":false}');
  const aws = {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: stub.endpoint,
    AWS_ENDPOINT_URL_KMS: stub.endpoint,
    AWS_ACCESS_KEY_ID: stub.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: stub.credentials.secretAccessKey,
  };
  const secretId = stub.secretArn('collector/verify');
  const configured = captureIO({ ...aws, ...v2Env({ SINK_TOKEN: TOKEN }) });
  expect(
    await configureCommand(
      ['--secret-id', secretId, '--kms-key-id', stub.keyArn, '--instance', 'prod', '--mimecast-url', sim.url],
      configured,
    ),
  ).toBe(0);

  // No Mimecast or sink values in this environment: everything comes from the secret.
  const io = captureIO(aws);
  const flags = [
    '--secret-id',
    secretId,
    '--instance',
    'prod',
    '--mimecast-url',
    sim.url,
    '--streams',
    'siem',
  ];
  const code = await verifyCommand([...flags, '--sink-url', hec.origin, '--sink-format', 'splunk-hec'], io);
  expect(io.errLines).toEqual([]);
  expect(code).toBe(0);
  expect(rows(io)).toEqual({ siem: 'OK', sink: 'OK (HEC healthy, token accepted)' });
  expect(hec.requests().map((r) => `${r.method} ${r.path}`)).toEqual([
    'GET /services/collector/health',
    'POST /services/collector/event',
  ]);
  expect(hec.received()).toEqual([]);

  // The same secret for another instance does not decrypt: the KMS context is the instance.
  const other = captureIO(aws);
  expect(
    await verifyCommand(['--secret-id', secretId, '--instance', 'staging', '--mimecast-url', sim.url], other),
  ).toBe(1);
  expect(other.errLines.join('\n')).toMatch(/encryption context collector=staging/);

  // A HEC that wants another token.
  const strict = await startReceiver({ kind: 'splunk-hec', token: 'some-other-token-123456' });
  receivers.push(strict);
  const refused = captureIO(aws);
  expect(
    await verifyCommand([...flags, '--sink-url', strict.url, '--sink-format', 'splunk-hec'], refused),
  ).toBe(1);
  expect(rows(refused).sink).toBe('token refused');
  expect(refused.errLines.join('\n')).toMatch(/answered HEC code 4 \(Invalid token\)/);
  expectClean(io, [TOKEN, sim.credentials.v2.clientSecret]);
  expectClean(refused, [TOKEN]);
});

test('Elasticsearch: GET / with the API key; an ndjson receiver that wants a token nobody stored fails the row', async () => {
  const es = await receiver('elastic-bulk');
  const ok = captureIO(v2Env({ SINK_TOKEN: TOKEN }));
  expect(
    await verifyCommand(
      [
        '--mimecast-url',
        sim.url,
        '--streams',
        'audit',
        '--sink-url',
        es.url,
        '--sink-format',
        'elastic-bulk',
      ],
      ok,
    ),
  ).toBe(0);
  expect(rows(ok).sink).toBe('OK (Elasticsearch 8.15.0 answered)');
  expect(es.requests().map((r) => [r.method, r.path, r.headers.authorization])).toEqual([
    ['GET', '/', `ApiKey ${TOKEN}`],
  ]);

  // An ndjson receiver without a token stored: 401 means "no token".
  const ndjson = await receiver('ndjson');
  const missing = captureIO(v2Env());
  expect(
    await verifyCommand(['--mimecast-url', sim.url, '--streams', 'audit', '--sink-url', ndjson.url], missing),
  ).toBe(1);
  expect(rows(missing).sink).toBe('no token stored');
  expect(missing.errLines.join('\n')).toMatch(/what to do: Store the receiver's token/);
});

test('sentinel: an Entra token, then an empty POST; a wrong secret or a missing role says what to fix', async () => {
  const entra = await startEntraTokenEndpoint();
  const granted = await startReceiver({ kind: 'sentinel', sentinel: { entra } });
  const ungranted = await startReceiver({
    kind: 'sentinel',
    sentinel: { entra, authorizedClientIds: ['other'] },
  });
  receivers.push(granted, ungranted);
  const azure = {
    AZURE_TENANT_ID: entra.tenantId,
    AZURE_CLIENT_ID: entra.clientId,
    AZURE_CLIENT_SECRET: entra.clientSecret,
  };
  const verify = async (url: string, env: Record<string, string>) => {
    const io = captureIO(v2Env(env));
    const code = await verifyCommand(
      [
        '--mimecast-url',
        sim.url,
        '--streams',
        'audit',
        '--sink-url',
        url,
        '--sink-format',
        'sentinel',
        '--azure-authority-url',
        entra.authority,
      ],
      io,
    );
    return { code, io };
  };
  try {
    const ok = await verify(granted.url, azure);
    expect(ok.code).toBe(0);
    expect(rows(ok.io).sink).toMatch(/^OK \(Entra token issued, role on the rule granted/);
    expect(granted.ids()).toEqual([]);

    const noRole = await verify(ungranted.url, azure);
    expect(noRole.code).toBe(1);
    expect(rows(noRole.io).sink).toBe('Entra token issued; role missing on the rule');
    expect(noRole.io.errLines.join('\n')).toMatch(
      /what to do: Give the Entra app AZURE_CLIENT_ID the role "Monitoring Metrics Publisher"/,
    );

    const wrong = await verify(granted.url, { ...azure, AZURE_CLIENT_SECRET: 'wrong-secret-0123456789' });
    expect(wrong.code).toBe(1);
    expect(rows(wrong.io).sink).toBe('no token (Entra refused the app credentials)');
    expect(wrong.io.errLines.join('\n')).toMatch(/AZURE_CLIENT_SECRET: is not a valid secret of the app/);

    const secrets = [
      entra.clientSecret,
      'wrong-secret-0123456789',
      ...entra.issued().map((t) => t.accessToken),
    ];
    for (const io of [ok.io, noRole.io, wrong.io]) expectClean(io, secrets);
  } finally {
    await entra.stop();
  }
});

test('bad flags: all problems at once, exit 2, no stack trace', async () => {
  const io = captureIO(v2Env());
  const code = await verifyCommand(
    [
      '--secret-id',
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:x',
      '--streams',
      'siem,nope',
      '--sink-url',
      'http://example.com/ingest',
      '--sink-format',
      'csv',
    ],
    io,
  );
  expect(code).toBe(2);
  const err = io.errLines.join('\n');
  expect(err).toMatch(/--streams: unknown stream "nope"/);
  expect(err).toMatch(/--instance: is not set.*required/);
  expect(err).toMatch(/--sink-url: uses http; only https is allowed/);
  expect(err).toMatch(/--sink-format: "csv" is not supported/);
  expect(err).not.toMatch(/\n\s+at /);

  const mismatch = captureIO(v2Env());
  expect(await verifyCommand(['--mimecast-url', sim.url, '--api-version', '1'], mismatch)).toBe(2);
  expect(mismatch.errLines.join('\n')).toMatch(
    /--api-version: is 1, but the environment holds API 2.0 credentials/,
  );

  const none = captureIO({});
  expect(await verifyCommand(['--mimecast-url', sim.url], none)).toBe(2);
  expect(none.errLines.join('\n')).toMatch(
    /no Mimecast credentials: set MIMECAST_CLIENT_ID and MIMECAST_CLIENT_SECRET/,
  );
});

test('--help explains every flag and what the receiver check sends', async () => {
  const io = captureIO({});
  expect(await main(['verify', '-h'], io)).toBe(0);
  const help = io.outLines.join('\n');
  for (const flag of [
    '--secret-id',
    '--instance',
    '--region',
    '--mimecast-url',
    '--api-version',
    '--streams',
    '--sink-url',
    '--sink-format',
  ]) {
    expect(help).toContain(flag);
  }
  expect(help).toMatch(/splunk-hec\s+GET \/services\/collector\/health/);
  expect(help).toMatch(/Example:\n\s+npx mimecast-collector verify/);
});
