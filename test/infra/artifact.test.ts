/**
 * The deployed artifact works: a real `npx cdk synth` (the CLI, offline, as a user runs it), then
 * the bundled cdk.out/asset.<hash>/index.js invoked the way Lambda invokes it — in its own Node
 * process, with the environment variables of the synthesized template. Only what a deployment
 * would resolve (parameter values, the secret ARN, the table name) and the AWS endpoints are
 * replaced, by loopback parts: dynalite, the Secrets Manager/KMS stub, the simulator, a receiver.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { StreamId } from '../../lambda/core/streams';
import { ENV } from '../../lambda/env-names';
import { notificationFor } from '../drain/support';
import { startS3Server } from '../receivers';
import { expectedEventId } from '../support/event-ids';
import { startWorld, type World } from '../support/world';
import { type Cfn, invokeBundle } from './helpers';

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
  const fn = Object.values<Cfn>(template.Resources).find((r) => r.Type === 'AWS::Lambda::Function');
  handlerPath = path.join(
    outdir,
    `asset.${String(fn.Properties.Code.S3Key).replace(/\.zip$/, '')}`,
    'index.js',
  );
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

/** The function's environment as deployed: synthesized literals, deploy-time values, loopback endpoints. */
function deployedEnv(): Record<string, string> {
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
  return { PATH: process.env.PATH ?? '', ...literal, ...deployTime, ...endpoints };
}

test('the bundled handler collects into the receiver and writes checkpoints', async () => {
  const env = deployedEnv();
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

test('the bundled handler drains the Event Push object an S3 notification names, once', async () => {
  const bucket = 'event-push';
  const s3 = await startS3Server({ buckets: [bucket] });
  const client = s3.client();
  try {
    // The function signs every AWS call with its one role: the S3 server learns that key too.
    const env = deployedEnv();
    const account = require('@20minutes/s3rver/lib/models/account') as {
      DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void };
    };
    account.DUMMY_ACCOUNT.createKeyPair(env.AWS_ACCESS_KEY_ID!, env.AWS_SECRET_ACCESS_KEY!);
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
    world.receiver.reset();
    const notification = notificationFor(s3);
    const drained = await invokeBundle(
      handlerPath,
      { ...env, AWS_ENDPOINT_URL_S3: s3.endpoint },
      notification,
    );
    expect(drained.stdout).toContain('OUTCOME ');
    expect(drained.code).toBe(0);
    expect(JSON.parse(drained.stdout.split('OUTCOME ')[1]!.split('\n')[0]!)).toMatchObject({
      instance: INSTANCE,
      forwarded: 1,
      events: 2,
    });
    expect(world.receiver.received().map((e) => e.event)).toEqual(events);

    const again = await invokeBundle(handlerPath, { ...env, AWS_ENDPOINT_URL_S3: s3.endpoint }, notification);
    expect(JSON.parse(again.stdout.split('OUTCOME ')[1]!.split('\n')[0]!)).toMatchObject({ alreadyDone: 1 });
    expect(world.receiver.ids()).toHaveLength(2);
  } finally {
    client.destroy();
    await s3.stop();
  }
}, 120_000);
