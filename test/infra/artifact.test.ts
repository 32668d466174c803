/**
 * The deployed artifact works: a real `npx cdk synth` (the CLI, offline, as a user runs it), then
 * the bundled cdk.out/asset.<hash>/index.js invoked the way Lambda invokes it — in its own Node
 * process, with the environment variables of the synthesized template. Only what a deployment
 * would resolve (parameter values, the secret ARN, the table name) and the AWS endpoints are
 * replaced, by loopback parts: dynalite, the Secrets Manager/KMS stub, the simulator, a receiver.
 * One synthesis serves every case: the default ndjson deployment, SinkFormat s3 against a real
 * S3-compatible server, SinkFormat datadog against Datadog's loopback intake, and the Event Push S3
 * drain (a direct S3 notification, and the drain function invoked by its rule's EventBridge event).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { bucketStart, ID_DIGEST_BYTES } from '../../lambda/core/push-ledger';
import type { StreamId } from '../../lambda/core/streams';
import { ENV } from '../../lambda/env-names';
import { PUSH_TOKEN_SECRET_ENV } from '../../lambda/settings';
import { DynamoPushLedger } from '../../lambda/state/push-ledger-store';
import { awsEncodedKey, notificationFor } from '../drain/support';
import { startS3Server } from '../receivers';
import { expectedEventId } from '../support/event-ids';
import { createLeakScanner } from '../support/leak-scan';
import { startWorld, type World } from '../support/world';
import { type BundleRun, type Cfn, invokeBundle } from './helpers';
import { evaluate, iamGlob, matchesEventPattern } from './intrinsics';

const ROOT = path.resolve(__dirname, '..', '..');
const INSTANCE = 'test';
const STREAMS: StreamId[] = [
  'audit',
  'siem',
  'malware-grid',
  'siem-ci',
  'awareness-performance',
  'awareness-safescore',
  'awareness-user-data',
  'awareness-watchlist',
];
/** Settings given as stack parameters other than their defaults, to see them reach the bundled client. */
const PARAMETER_VALUES: Record<string, string> = { MimecastPageSize: '7', AwarenessSnapshotHours: '6' };

let outdir: string;
/** The bundled index.js a function of the template deploys. */
const bundledHandler = (fn: Cfn) =>
  path.join(outdir, `asset.${String(fn.Properties.Code.S3Key).replace(/\.zip$/, '')}`, 'index.js');
let template: Cfn;
let handlerPath: string;
let variables: Record<string, unknown>;
let world: World;

beforeAll(async () => {
  outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'mimecast-collector-synth-'));
  const synth = spawnSync(
    'npx',
    ['cdk', 'synth', '--quiet', '-c', `instance=${INSTANCE}`, '--output', outdir],
    {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 180_000,
    },
  );
  if (synth.status !== 0) throw new Error(`cdk synth failed (${synth.status}):\n${synth.stderr}`);
  template = JSON.parse(
    fs.readFileSync(path.join(outdir, `MimecastCollector-${INSTANCE}.template.json`), 'utf8'),
  );
  // The scheduled collector: the one function without a condition (Event Push's are opt-in).
  const fn = Object.values<Cfn>(template.Resources).find(
    (r) => r.Type === 'AWS::Lambda::Function' && r.Condition === undefined,
  );
  handlerPath = bundledHandler(fn);
  variables = fn.Properties.Environment.Variables;

  world = await startWorld({
    streams: STREAMS,
    simulator: {
      seed: 5,
      events: {
        audit: 20,
        siem: 30,
        'malware-grid': 15,
        'siem-ci': 25,
        'awareness-performance': 12,
        'awareness-safescore': 9,
        'awareness-user-data': 16,
        'awareness-watchlist': 5,
      },
    },
  });
  await world.storeCredentials({ wrap: true });
}, 240_000);

afterAll(async () => {
  await world?.stop();
  if (outdir) fs.rmSync(outdir, { recursive: true, force: true });
});

test('the synthesized function environment holds no secret and names every setting', () => {
  expect(Object.keys(variables)).toEqual(
    expect.arrayContaining([
      ...Object.values(ENV).slice(0, 9),
      ENV.jsonPageSize,
      ENV.siemBatchPageSize,
      ENV.siemEventTypes,
      ENV.siemCiEventTypes,
      ENV.awarenessSnapshotHours,
    ]),
  );
  expect(variables[ENV.instance]).toBe(INSTANCE);
  // Deploy-time values are references (parameters, the secret's ARN, the table's name), never literals.
  for (const name of [ENV.secretArn, ENV.checkpointTable, ENV.sinkUrl, ENV.mimecastBaseUrl]) {
    expect(typeof variables[name]).toBe('object');
  }
});

test('the bundled handler collects into the receiver and writes checkpoints', async () => {
  const literal = Object.fromEntries(
    Object.entries(variables).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
  const resolved = world.env();
  // What CloudFormation would resolve at deploy time, plus loopback endpoints; literals stay as
  // synthesized. A parameter the world does not set takes the value given above, else its default.
  const parameterValue = (value: unknown): string => {
    const ref = (value as { Ref?: string }).Ref ?? '';
    return PARAMETER_VALUES[ref] ?? String(template.Parameters?.[ref]?.Default ?? '');
  };
  const deployTime = Object.fromEntries(
    Object.keys(variables)
      .filter((name) => typeof variables[name] !== 'string')
      .map((name) => [name, resolved[name] ?? parameterValue(variables[name])]),
  );
  const endpoints = Object.fromEntries(Object.entries(resolved).filter(([name]) => name.startsWith('AWS_')));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    ...literal,
    ...deployTime,
    ...endpoints,
  };
  expect(env[ENV.instance]).toBe(INSTANCE);

  const run = await invokeBundle(handlerPath, env);
  expect(run.stdout).toContain('OUTCOME ');
  expect(run.code).toBe(0);
  const outcome = JSON.parse(run.stdout.split('OUTCOME ')[1]!.split('\n')[0]!);
  expect(outcome.ok).toBe(true);

  const expected = STREAMS.flatMap((s) =>
    world.simulator.groundTruth(s, 2).map((e) => expectedEventId(s, e)),
  );
  expect(world.receiver.ids().sort()).toEqual(expected.sort());
  const checkpoints = await world.dynamo.store.list(INSTANCE);
  expect(checkpoints.map((c) => c.stream).sort()).toEqual([...STREAMS].sort());
  // The stack's settings reached the client: its page size, and the snapshot interval in the cursor.
  const pageSizes = world.simulator
    .requests()
    .filter((r) => r.path.startsWith('/api/awareness-training/company/'))
    .map((r) => JSON.parse(r.body).meta.pagination.pageSize);
  expect(new Set(pageSizes)).toEqual(new Set([7]));
  for (const stream of ['awareness-performance', 'awareness-user-data'] as const) {
    const { cursor, newestEventTime } = checkpoints.find((c) => c.stream === stream)!;
    expect(cursor).toEqual({
      due: new Date(Date.parse(newestEventTime!) + 6 * 3_600_000).toISOString(),
      snapshot: null,
    });
  }
  // The bundle reports its health like the source does: stream health lines and one EMF line on stdout.
  const health = run.stdout.split('\n').filter((l) => l.includes('"message":"stream health"'));
  expect(health).toHaveLength(STREAMS.length);
  expect(run.stdout).toMatch(/"_aws":\{.*"StreamsFailed":0/);
}, 120_000);

/**
 * The function's environment for a deployment with `parameters` (stack parameter values by name):
 * literals as synthesized; each reference to a parameter takes the value given, else the world's loopback
 * value for that variable, else the parameter's default; ARNs and names from the world; AWS endpoints too.
 */
function deploymentEnv(
  w: World,
  parameters: Record<string, string>,
  endpoints: Record<string, string> = {},
  functionVariables: Record<string, unknown> = variables,
): Record<string, string> {
  const resolved = w.env();
  const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
  for (const [name, value] of Object.entries(functionVariables)) {
    if (typeof value === 'string') {
      env[name] = value;
      continue;
    }
    const ref = (value as { Ref?: string }).Ref ?? '';
    env[name] =
      parameters[ref] ??
      resolved[name] ??
      PARAMETER_VALUES[ref] ??
      String(template.Parameters?.[ref]?.Default ?? '');
  }
  for (const [name, value] of Object.entries(resolved)) if (name.startsWith('AWS_')) env[name] = value;
  return { ...env, ...endpoints };
}

/** One invocation that must succeed: its outcome. */
async function invokeOk(env: Record<string, string>): Promise<{ run: BundleRun; outcome: Cfn }> {
  const run = await invokeBundle(handlerPath, env);
  expect({ code: run.code, failed: run.stdout.match(/FAILED .*/)?.[0] }).toEqual({
    code: 0,
    failed: undefined,
  });
  const outcome = JSON.parse(run.stdout.split('OUTCOME ')[1]!.split('\n')[0]!);
  expect(outcome.ok).toBe(true);
  return { run, outcome };
}

/** Streams and volumes of the destination cases: a JSON stream and the SIEM batch files. */
const DESTINATION_STREAMS: StreamId[] = ['audit', 'siem'];
const DESTINATION_EVENTS = { audit: 25, siem: 40 };

test('SinkFormat s3: the bundle writes Hive-style objects only where the role may write; a second invocation adds nothing', async () => {
  const s3 = await startS3Server({ buckets: ['acme-security-lake'] });
  // One role signs every call of a deployed function: the world's AWS parts take the S3 server's keys.
  const lake = await startWorld({
    streams: DESTINATION_STREAMS,
    simulator: { seed: 11, events: DESTINATION_EVENTS },
    awsCredentials: s3.credentials,
  });
  try {
    await lake.storeCredentials({ wrap: true });
    const parameters = { SinkFormat: 's3', IngestionUrl: 's3://acme-security-lake/mimecast/' };
    // A value CloudFormation lets through.
    expect(new RegExp(template.Parameters.IngestionUrl.AllowedPattern).test(parameters.IngestionUrl)).toBe(
      true,
    );
    const env = deploymentEnv(lake, parameters, { AWS_ENDPOINT_URL_S3: s3.endpoint });

    await invokeOk(env);
    const objects = await s3.objects('acme-security-lake');
    expect(objects.length).toBeGreaterThan(0);
    const ids: string[] = [];
    for (const object of objects) {
      expect(object.key).toMatch(
        /^mimecast\/test\/(audit|siem)\/dt=\d{4}-\d\d-\d\d\/hour=\d\d\/[^/]+-\d+\.ndjson\.gz$/,
      );
      expect(object.contentEncoding).toBe('gzip');
      const lines = gunzipSync(object.body).toString('utf8').trimEnd().split('\n');
      for (const line of lines) {
        const envelope = JSON.parse(line) as { id: string; stream: string; time: string; instance: string };
        // Each object holds its own partition: the stream and the UTC hour of its key.
        expect(object.key).toContain(
          `/${envelope.stream}/dt=${envelope.time.slice(0, 10)}/hour=${envelope.time.slice(11, 13)}/`,
        );
        ids.push(envelope.id);
      }
    }
    const expected = DESTINATION_STREAMS.flatMap((s) =>
      lake.simulator.groundTruth(s, 2).map((e) => expectedEventId(s, e)),
    );
    expect([...ids].sort()).toEqual([...expected].sort());

    // The stack's grant (the template's, for this IngestionUrl) covers every object written.
    const policy = Object.values<Cfn>(template.Resources).find(
      (r) => r.Type === 'AWS::IAM::Policy' && r.Condition === 'IsS3Sink',
    );
    const [statement] = policy.Properties.PolicyDocument.Statement;
    expect(statement.Action).toBe('s3:PutObject');
    const granted = iamGlob(evaluate(statement.Resource, parameters) as string);
    for (const object of objects)
      expect(granted.test(`arn:aws:s3:::acme-security-lake/${object.key}`)).toBe(true);
    const puts = s3.requests().filter((r) => r.operation !== 'other');
    expect(new Set(puts.map((r) => r.operation))).toEqual(new Set(['PutObject']));

    const checkpoints = await lake.dynamo.store.list('test');
    expect(checkpoints.map((c) => c.stream).sort()).toEqual([...DESTINATION_STREAMS].sort());

    await invokeOk(env);
    const again = await s3.objects('acme-security-lake');
    expect(again.map((o) => o.key).sort()).toEqual(objects.map((o) => o.key).sort());
    expect(s3.requests().filter((r) => r.operation === 'PutObject')).toHaveLength(
      puts.filter((r) => r.operation === 'PutObject').length,
    );
  } finally {
    await Promise.allSettled([lake.stop(), s3.stop()]);
  }
}, 120_000);

test('SinkFormat datadog: the bundle delivers to the intake with the key from the secret, never shows it, and a second invocation adds nothing', async () => {
  const apiKey = 'dd0123456789abcdef0123456789abcd';
  const dd = await startWorld({
    streams: DESTINATION_STREAMS,
    simulator: { seed: 13, events: DESTINATION_EVENTS },
    receiver: { kind: 'datadog', token: apiKey },
  });
  try {
    await dd.storeCredentials({
      wrap: true,
      mutate: (doc) => {
        doc.sinkToken = apiKey;
      },
    });
    const env = deploymentEnv(dd, { SinkFormat: 'datadog', IngestionUrl: dd.receiver.url });
    expect(env[ENV.sinkFormat]).toBe('datadog');
    const first = await invokeOk(env);
    const expected = DESTINATION_STREAMS.flatMap((s) =>
      dd.simulator.groundTruth(s, 2).map((e) => expectedEventId(s, e)),
    );
    expect([...dd.receiver.ids()].sort()).toEqual([...expected].sort());
    const second = await invokeOk(env);
    expect(dd.receiver.ids()).toHaveLength(expected.length);

    const output = [first.run, second.run].map((r) => `${r.stdout}\n${r.stderr}`).join('\n');
    const { clientSecret } = dd.simulator.credentials.v2;
    const scanner = createLeakScanner({ apiKey, clientSecret });
    expect(scanner.describe(scanner.scan(output))).toBe('no secret found in output');
    expect(JSON.stringify(env)).not.toContain(apiKey);
  } finally {
    await dd.stop();
  }
}, 120_000);

test('S3 notification: the bundle drains the Event Push object it names, once', async () => {
  const bucket = 'event-push';
  const s3 = await startS3Server({ buckets: [bucket] });
  // One role signs every call of a deployed function: the world's AWS parts take the S3 server's keys.
  const push = await startWorld({
    streams: ['audit'],
    simulator: { seed: 17, events: { audit: 1 } },
    awsCredentials: s3.credentials,
  });
  const client = s3.client();
  try {
    await push.storeCredentials({ wrap: true });
    const events = [
      { id: 'artifact-audit-1', auditType: 'User Logged On', eventTime: '2026-12-06T04:00:00+0000' },
      { id: 'artifact-audit-2', auditType: 'User Logged On', eventTime: '2026-12-06T04:00:01+0000' },
    ];
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'push/2026-12-06/events 1.json.gz',
        Body: gzipSync(JSON.stringify(events.map((event) => ({ event })))),
      }),
    );
    const env = deploymentEnv(push, {}, { AWS_ENDPOINT_URL_S3: s3.endpoint });
    const notification = notificationFor(s3);
    const outcomeOf = (run: BundleRun) => JSON.parse(run.stdout.split('OUTCOME ')[1]!.split('\n')[0]!);

    const drained = await invokeBundle(handlerPath, env, notification);
    expect({ code: drained.code, failed: drained.stdout.match(/FAILED .*/)?.[0] }).toEqual({
      code: 0,
      failed: undefined,
    });
    expect(outcomeOf(drained)).toMatchObject({ instance: INSTANCE, forwarded: 1, events: 2 });
    expect(push.receiver.received().map((e) => e.event)).toEqual(events);

    // The same notification again: the done record stops it.
    const again = await invokeBundle(handlerPath, env, notification);
    expect(outcomeOf(again)).toMatchObject({ forwarded: 0, alreadyDone: 1 });
    expect(push.receiver.ids()).toHaveLength(2);
  } finally {
    client.destroy();
    await Promise.allSettled([push.stop(), s3.stop()]);
  }
}, 120_000);

/**
 * The Event Push receiver's bundled function (its own asset; created with PushReceiver Enabled), invoked
 * as Lambda invokes it behind a Function URL (payload format 2.0, base64 body), with its own environment
 * from the template: literals as synthesized, references resolved to the loopback parts, the push token
 * in its own secret of the Secrets Manager/KMS stub.
 */
describe('the bundled push function behind a Function URL', () => {
  const PUSH_TOKEN = 'artifact-push-token-0f1e2d3c4b5a6978';
  const TOKEN_SECRET = 'mimecast-collector/test/push-token';
  let pushHandlerPath: string;
  let pushVariables: Record<string, unknown>;
  let pushWorld: World;

  beforeAll(async () => {
    const [, fn] = Object.entries<Cfn>(template.Resources).find(
      ([, r]) => r.Type === 'AWS::Lambda::Function' && r.Condition === 'PushReceiverEnabled',
    )!;
    pushHandlerPath = path.join(
      outdir,
      `asset.${String(fn.Properties.Code.S3Key).replace(/\.zip$/, '')}`,
      'index.js',
    );
    expect(fs.existsSync(pushHandlerPath)).toBe(true);
    expect(fn.Properties.Handler).toBe('index.handler');
    pushVariables = fn.Properties.Environment.Variables;
    pushWorld = await startWorld({ streams: ['siem', 'audit'], simulator: { seed: 19 } });
    await pushWorld.storeCredentials({ wrap: true });
    pushWorld.aws.putSecret(TOKEN_SECRET, PUSH_TOKEN);
  }, 60_000);

  afterAll(async () => {
    await pushWorld?.stop();
  });

  beforeEach(() => pushWorld.receiver.reset());

  /** The push function's environment for a deployment with `parameters`, as deploymentEnv does for the collector's. */
  function pushEnv(parameters: Record<string, string> = {}): Record<string, string> {
    const resolved = pushWorld.env();
    const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
    for (const [name, value] of Object.entries(pushVariables)) {
      if (typeof value === 'string') {
        env[name] = value;
        continue;
      }
      const ref = (value as { Ref?: string }).Ref ?? '';
      if (template.Resources[ref]?.Type === 'AWS::SecretsManager::Secret' && name === PUSH_TOKEN_SECRET_ENV) {
        env[name] = pushWorld.aws.secretArn(TOKEN_SECRET);
        continue;
      }
      const parameter = template.Parameters?.[ref];
      env[name] =
        parameters[ref] ?? resolved[name] ?? (parameter === undefined ? '' : String(parameter.Default ?? ''));
    }
    for (const [name, value] of Object.entries(resolved)) if (name.startsWith('AWS_')) env[name] = value;
    return env;
  }

  /** A Function URL request, payload format 2.0, as Lambda hands it to the function. */
  function functionUrlEvent(body: string, authorization: string) {
    return {
      version: '2.0',
      routeKey: '$default',
      rawPath: '/services/collector/event',
      rawQueryString: '',
      headers: {
        authorization,
        'content-type': 'application/json',
        host: 'abcdefghijklmnop.lambda-url.eu-west-1.on.aws',
        'user-agent': 'Mimecast Event Push',
      },
      requestContext: {
        accountId: 'anonymous',
        apiId: 'abcdefghijklmnop',
        domainName: 'abcdefghijklmnop.lambda-url.eu-west-1.on.aws',
        http: {
          method: 'POST',
          path: '/services/collector/event',
          protocol: 'HTTP/1.1',
          sourceIp: '192.0.2.10',
          userAgent: 'Mimecast Event Push',
        },
        requestId: 'artifact-push-1',
        routeKey: '$default',
        stage: '$default',
        time: '06/Dec/2026:08:00:00 +0000',
        timeEpoch: 1796544000000,
      },
      body: Buffer.from(body).toString('base64'),
      isBase64Encoded: true,
    };
  }

  const events = [
    { auditType: 'User Logged On', eventTime: '2026-12-06T07:00:00+0000', id: 'artifact-push-audit-1' },
    { auditType: 'User Logged On', eventTime: '2026-12-06T07:00:01+0000', id: 'artifact-push-audit-2' },
  ];
  const hecBody = JSON.stringify(events.map((event) => ({ event })));

  async function pushOnce(env: Record<string, string>, authorization: string) {
    const run = await invokeBundle(pushHandlerPath, env, functionUrlEvent(hecBody, authorization));
    expect({ code: run.code, failed: run.stdout.match(/FAILED .*/)?.[0] }).toEqual({
      code: 0,
      failed: undefined,
    });
    const result = JSON.parse(run.stdout.split('OUTCOME ')[1]!.split('\n')[0]!) as {
      statusCode: number;
      body: string;
    };
    return { run, status: result.statusCode, answer: JSON.parse(result.body) };
  }

  async function ledgerDigests(): Promise<number> {
    const ledger = new DynamoPushLedger({
      tableName: pushWorld.dynamo.tableName,
      instance: INSTANCE,
      endpoint: pushWorld.dynamo.endpoint,
      region: pushWorld.dynamo.region,
      credentials: pushWorld.dynamo.credentials,
    });
    try {
      const parts = await ledger.readBucket('audit', bucketStart(Date.parse('2026-12-06T07:00:00Z')));
      return parts.reduce((sum, part) => sum + part.byteLength / ID_DIGEST_BYTES, 0);
    } finally {
      ledger.close();
    }
  }

  test('the right token: forwarded to the destination, answered HEC success, recorded in the push ledger for a push-primary stream', async () => {
    const env = pushEnv({ PushPrimaryStreams: 'audit' });
    expect(env[ENV.pushPrimaryStreams]).toBe('audit');
    expect(env[ENV.pushTrailSeconds]).toBe('900');
    const { run, status, answer } = await pushOnce(env, `Splunk ${PUSH_TOKEN}`);
    expect({ status, answer }).toEqual({ status: 200, answer: { text: 'Success', code: 0 } });
    expect(pushWorld.receiver.received().map((e) => [e.stream, e.event])).toEqual(
      events.map((event) => ['audit', event]),
    );
    expect(await ledgerDigests()).toBe(2);
    // The push path's metrics, from the bundle, and no token anywhere in its output.
    expect(run.stdout).toMatch(/"_aws":\{.*"PushEvents"/);
    expect(run.stdout).toMatch(
      /"Stream":"audit".*"PushEventsForwarded":2|"PushEventsForwarded":2.*"Stream":"audit"/,
    );
    expect(`${run.stdout}\n${run.stderr}`).not.toContain(PUSH_TOKEN);
  }, 120_000);

  test("a wrong token: HEC's invalid-token answer (403, code 4), nothing forwarded", async () => {
    const { run, status, answer } = await pushOnce(pushEnv(), 'Splunk wrong-token-wrong-token-0000');
    expect({ status, answer }).toEqual({ status: 403, answer: { text: 'Invalid token', code: 4 } });
    expect(pushWorld.receiver.received()).toEqual([]);
    expect(`${run.stdout}\n${run.stderr}`).not.toContain(PUSH_TOKEN);
  }, 120_000);

  test('a destination that refuses: an error answer, nothing acknowledged or recorded; pushed again once it is back, delivered', async () => {
    const before = await ledgerDigests();
    pushWorld.receiver.inject(
      ...Array.from({ length: 10 }, () => ({ kind: 'status' as const, status: 403 })),
    );
    const env = pushEnv({ PushPrimaryStreams: 'audit' });
    const { status, answer } = await pushOnce(env, `Splunk ${PUSH_TOKEN}`);
    // A refusal needs the operator (not "busy"): HEC's internal error, and Mimecast keeps the events.
    expect({ status, answer }).toEqual({
      status: 500,
      answer: {
        text: 'Internal server error',
        code: 8,
        detail: expect.stringContaining('destination refused'),
      },
    });
    expect(pushWorld.receiver.received()).toEqual([]);
    expect(await ledgerDigests()).toBe(before);
    pushWorld.receiver.reset();
    const again = await pushOnce(env, `Splunk ${PUSH_TOKEN}`);
    expect(again.status).toBe(200);
    expect(pushWorld.receiver.received().map((e) => e.event)).toEqual(events);
  }, 120_000);
});

test('PushBucket existing: the drain function, invoked with the EventBridge event its rule delivers, drains the file once, after a refusal', async () => {
  const bucket = 'acme-event-push';
  const parameters = { PushBucket: 'existing', PushBucketName: bucket, PushBucketPrefix: 'mimecast/push/' };
  const conditions = { DrainsPushBucket: true, CreatesPushBucket: false, HasPushBucketPrefix: true };
  // Values CloudFormation lets through.
  for (const name of ['PushBucketName', 'PushBucketPrefix'] as const) {
    expect(new RegExp(template.Parameters[name].AllowedPattern).test(parameters[name])).toBe(true);
  }
  const resources = Object.values<Cfn>(template.Resources);
  const drainFn = resources.find(
    (r) => r.Type === 'AWS::Lambda::Function' && r.Condition === 'DrainsPushBucket',
  );
  const rule = resources.find((r) => r.Type === 'AWS::Events::Rule' && r.Condition === 'DrainsPushBucket');
  const grant = resources.find((r) => r.Type === 'AWS::IAM::Policy' && r.Condition === 'DrainsPushBucket');
  // The rule's target is the drain function, whose bundle is the collector's (one asset).
  expect(bundledHandler(drainFn)).toBe(handlerPath);

  const s3 = await startS3Server({ buckets: [bucket] });
  const push = await startWorld({
    streams: ['audit'],
    simulator: { seed: 19, events: { audit: 1 } },
    awsCredentials: s3.credentials,
  });
  const client = s3.client();
  try {
    await push.storeCredentials({ wrap: true });
    const events = [
      { id: 'bridge-audit-1', auditType: 'User Logged On', eventTime: '2026-12-06T05:00:00+0000' },
      { id: 'bridge-audit-2', auditType: 'User Logged Off', eventTime: '2026-12-06T05:00:02+0000' },
      { id: 'bridge-audit-3', auditType: 'User Logged On', eventTime: '2026-12-06T05:00:04+0000' },
    ];
    const key = 'mimecast/push/2026-12-06/events 2.ndjson.gz';
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: gzipSync(events.map((event) => JSON.stringify({ event })).join('\n')),
      }),
    );
    const [created] = s3.events().filter((e) => e.s3.object.key === key);
    // The event as S3 hands it to EventBridge and the rule to the function (key URL-encoded).
    const objectCreated = {
      version: '0',
      id: '7e1d1f3a-8c1b-4f43-9d5e-2b3c4d5e6f70',
      'detail-type': 'Object Created',
      source: 'aws.s3',
      account: '123456789012',
      time: '2026-12-06T05:00:05Z',
      region: 'eu-west-1',
      resources: [`arn:aws:s3:::${bucket}`],
      detail: {
        version: '0',
        bucket: { name: bucket },
        object: {
          key: awsEncodedKey(key),
          size: created!.s3.object.size,
          etag: created!.s3.object.eTag,
          sequencer: created!.s3.object.sequencer,
        },
        'request-id': 'N4N7GDK58NMKJ12R',
        requester: '123456789012',
        'source-ip-address': '192.0.2.1',
        reason: 'PutObject',
      },
    };
    expect(
      matchesEventPattern(evaluate(rule.Properties.EventPattern, parameters, conditions), objectCreated),
    ).toBe(true);

    const env = deploymentEnv(
      push,
      parameters,
      { AWS_ENDPOINT_URL_S3: s3.endpoint },
      drainFn.Properties.Environment.Variables,
    );
    const outcomeOf = (run: BundleRun) => JSON.parse(run.stdout.split('OUTCOME ')[1]!.split('\n')[0]!);

    // The destination refuses first: the invocation fails (Lambda retries it), nothing is recorded done.
    push.receiver.inject({ kind: 'status', status: 400 });
    const refused = await invokeBundle(handlerPath, env, objectCreated);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/FAILED Sink ndjson .* refused a batch of 3 events: HTTP 400/);
    // The error log line names the object.
    expect(`${refused.stdout}\n${refused.stderr}`).toMatch(
      /"message":"object not drained".*mimecast\/push\/2026-12-06\/events 2\.ndjson\.gz/,
    );
    expect(push.receiver.ids()).toEqual([]);

    // Lambda's retry of the same event forwards the file: it was not marked done.
    const drained = await invokeBundle(handlerPath, env, objectCreated);
    expect({ code: drained.code, failed: drained.stdout.match(/FAILED .*/)?.[0] }).toEqual({
      code: 0,
      failed: undefined,
    });
    expect(outcomeOf(drained)).toEqual({
      instance: INSTANCE,
      objects: 1,
      forwarded: 1,
      alreadyDone: 0,
      events: 3,
    });
    expect(push.receiver.received().map((e) => e.event)).toEqual(events);

    // Every S3 call the drain made is one the stack grants for these parameter values.
    const [statement] = grant.Properties.PolicyDocument.Statement;
    const readable = iamGlob(evaluate(statement.Resource, parameters) as string);
    const calls = s3.requests().filter((r) => r.operation !== 'PutObject');
    expect(calls.map((r) => r.operation)).toEqual(['GetObject', 'GetObject']);
    for (const call of calls) {
      const objectKey = decodeURIComponent(call.path.slice(`/${bucket}/`.length));
      expect(statement.Action).toContain('s3:GetObject');
      expect(readable.test(`arn:aws:s3:::${bucket}/${objectKey}`)).toBe(true);
    }

    // EventBridge delivers at least once: the same event again adds nothing and reads nothing.
    const again = await invokeBundle(handlerPath, env, objectCreated);
    expect(outcomeOf(again)).toEqual({
      instance: INSTANCE,
      objects: 1,
      forwarded: 0,
      alreadyDone: 1,
      events: 0,
    });
    expect(push.receiver.ids()).toHaveLength(events.length);
    expect(s3.requests().filter((r) => r.operation === 'GetObject')).toHaveLength(2);
  } finally {
    client.destroy();
    await Promise.allSettled([push.stop(), s3.stop()]);
  }
}, 120_000);
