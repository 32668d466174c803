/**
 * The alarms watch what the function really emits, and fire when they should: the source handler
 * runs real ticks against loopback parts (simulator, receiver, dynalite, the Secrets Manager/KMS
 * stub), its EMF output is read as CloudWatch reads it, and every alarm of the synthesized stack is
 * evaluated on those datapoints with its own statistic, threshold, M out of N and missing-data rule.
 *
 * The ticks (one per schedule period): a clean one; three with one stream failing (Mimecast answers
 * 503), one refused a permission (403) and one lagging beyond its threshold; then one with the
 * API 1.0 key expired (418 binding expired). The AWS-emitted metrics the other two alarms watch
 * are modelled from what Lambda does: Errors counts invocations that threw, and each one leaves a
 * record in the failure queue (its on-failure destination).
 */
import { STREAM_IDS, type StreamId } from '../../lambda/core/streams';
import { ENV } from '../../lambda/env-names';
import { HEALTH_QUERIES, STREAM_HEALTH_MESSAGE } from '../../lambda/telemetry/health-log';
import { METRICS_NAMESPACE } from '../../lambda/telemetry/metric-names';
import { ALARM_NAMES, type AlarmKey } from '../../lib/constructs/monitoring';
import { type Datapoint, emfDatapoints, metricIdentity } from '../support/emf';
import { coldStart, invoke } from '../support/lambda';
import { startWorld, type World } from '../support/world';
import { type AlarmSpec, alarmSpecs, evaluate, templateValue } from './alarm-evaluation';
import { buildStack, type Cfn } from './helpers';

const INSTANCE = 'test';
const STREAMS: StreamId[] = ['siem', 'audit', 'dlp', 'ttp-url'];
const HOUR = 3_600_000;

const template = buildStack(INSTANCE).template.toJSON() as Record<string, Cfn>;
const alarms = alarmSpecs(template);
const alarm = (key: AlarmKey): AlarmSpec => {
  const found = alarms.find((a) => a.name === `mimecast-collector/${INSTANCE}/${ALARM_NAMES[key]}`);
  if (!found) throw new Error(`no alarm ${ALARM_NAMES[key]}`);
  return found;
};

interface Tick {
  label: string;
  points: Datapoint[];
  lines: Record<string, unknown>[];
  failed: boolean;
}

let world: World;
const ticks: Tick[] = [];
const savedEnv = { ...process.env };

/** One scheduled invocation in a fresh container; its output and the AWS metrics it moves. */
async function tick(label: string, env: Record<string, string>): Promise<void> {
  const { failure, output } = await invoke(coldStart(env));
  const lines = output.json();
  const failedSoFar = ticks.filter((t) => t.failed).length + (failure === undefined ? 0 : 1);
  const lambdaErrors = alarm('functionErrors');
  const queueDepth = alarm('failureQueue');
  ticks.push({
    label,
    lines,
    failed: failure !== undefined,
    points: [
      ...emfDatapoints(lines),
      {
        namespace: lambdaErrors.namespace,
        name: lambdaErrors.metricName,
        dimensions: lambdaErrors.dimensions,
        value: failure === undefined ? 0 : 1,
        timestamp: Date.now(),
      },
      {
        namespace: queueDepth.namespace,
        name: queueDepth.metricName,
        dimensions: queueDepth.dimensions,
        value: failedSoFar,
        timestamp: Date.now(),
      },
    ],
  });
}

beforeAll(async () => {
  // Events up to 90 minutes ago: siem is within its 2 h threshold until the stack lowers it to 1 h.
  world = await startWorld({
    apiVersion: 1,
    streams: STREAMS,
    simulator: {
      seed: 16,
      events: { siem: 30, audit: 20, dlp: 10, 'ttp-url': 10 },
      range: { start: new Date(Date.now() - 25 * HOUR), end: new Date(Date.now() - 1.5 * HOUR) },
    },
  });
  await world.storeCredentials({ wrap: true });

  await tick('clean', world.env());

  world.simulator.inject({
    path: '/api/audit/get-audit-events',
    times: Number.POSITIVE_INFINITY,
    fault: { kind: 'status', status: 503 },
  });
  world.simulator.inject({
    path: '/api/dlp/get-logs',
    times: Number.POSITIVE_INFINITY,
    fault: { kind: 'status', status: 403 },
  });
  const lowerSiemThreshold = world.env({
    [ENV.lagAlarmSeconds]: STREAM_IDS.map((s) => `${s}=${s === 'siem' ? 3600 : 86_400}`).join(','),
  });
  for (const n of [1, 2, 3]) await tick(`faulted ${n}`, lowerSiemThreshold);

  world.simulator.clearFaults();
  world.simulator.expireV1Binding();
  await tick('key expired', lowerSiemThreshold);
}, 120_000);

afterAll(async () => {
  process.env = { ...savedEnv };
  await world?.stop();
});

/** Each alarm's state after each tick. */
function states(key: AlarmKey): string[] {
  return evaluate(
    alarm(key),
    ticks.map((t) => t.points),
  );
}

test('every alarm on a custom metric watches one the handler emits: same namespace, name and dimension set', () => {
  const emitted = new Set(
    ticks[0]!.points.filter((p) => p.namespace === METRICS_NAMESPACE).map(metricIdentity),
  );
  const custom = alarms.filter((a) => a.namespace === METRICS_NAMESPACE);
  expect(custom.map((a) => a.name).sort()).toEqual(
    (['streamsFailing', 'streamsLagging', 'refused'] as const)
      .map((k) => `mimecast-collector/${INSTANCE}/${ALARM_NAMES[k]}`)
      .sort(),
  );
  for (const a of custom) {
    const identity = metricIdentity({ namespace: a.namespace, name: a.metricName, dimensions: a.dimensions });
    expect({ alarm: a.name, emitted: emitted.has(identity) }).toEqual({ alarm: a.name, emitted: true });
  }
  // The function emits nothing in our namespace that no alarm reads (each would cost USD 0.30 a month).
  const watched = new Set(
    custom.map((a) =>
      metricIdentity({ namespace: a.namespace, name: a.metricName, dimensions: a.dimensions }),
    ),
  );
  for (const t of ticks) {
    for (const p of t.points.filter((x) => x.namespace === METRICS_NAMESPACE))
      expect(watched).toContain(metricIdentity(p));
  }
});

test("the AWS metrics the other alarms watch are the function's and the failure queue's", () => {
  const [functionId] = Object.entries<Cfn>(template.Resources).find(
    ([, r]) => r.Type === 'AWS::Lambda::Function',
  )!;
  const [queueId] = Object.entries<Cfn>(template.Resources).find(([, r]) => r.Type === 'AWS::SQS::Queue')!;
  expect(alarm('functionErrors').dimensions).toEqual({ FunctionName: templateValue({ Ref: functionId }) });
  expect(alarm('failureQueue').dimensions).toEqual({
    QueueName: templateValue({ 'Fn::GetAtt': [queueId, 'QueueName'] }),
  });
});

test('the ticks went as staged', () => {
  const outcome = (t: Tick, stream: StreamId) =>
    t.lines.find((l) => l.message === STREAM_HEALTH_MESSAGE && l.stream === stream) as Record<string, Cfn>;
  expect(ticks.map((t) => t.label)).toEqual(['clean', 'faulted 1', 'faulted 2', 'faulted 3', 'key expired']);
  expect(STREAMS.map((s) => outcome(ticks[0]!, s).healthy)).toEqual([1, 1, 1, 1]);
  for (const t of ticks.slice(1, 4)) {
    expect(outcome(t, 'audit')).toMatchObject({ healthy: 0, error: { kind: 'transient' } });
    expect(outcome(t, 'dlp')).toMatchObject({ healthy: 0, error: { kind: 'permission' } });
    expect(outcome(t, 'siem')).toMatchObject({ healthy: 1, lagging: 1, lagAlarmSeconds: 3600 });
    expect(outcome(t, 'ttp-url')).toMatchObject({ healthy: 1, lagging: 0 });
  }
  // With the key expired, Mimecast refuses every call (the 503 and 403 are gone) before any permission.
  for (const s of STREAMS)
    expect(outcome(ticks[4]!, s)).toMatchObject({ healthy: 0, error: { kind: 'authentication' } });
});

test('each alarm fires on the tick it should, and not before', () => {
  expect({
    streamsFailing: states('streamsFailing'),
    streamsLagging: states('streamsLagging'),
    refused: states('refused'),
    functionErrors: states('functionErrors'),
    failureQueue: states('failureQueue'),
  }).toEqual({
    // A stream failed in ticks 1, 2 and 3: the third pages.
    streamsFailing: ['OK', 'OK', 'OK', 'ALARM', 'ALARM'],
    // siem beyond its (lowered) threshold from the first faulted tick; still behind when the key expired.
    streamsLagging: ['OK', 'ALARM', 'ALARM', 'ALARM', 'ALARM'],
    // dlp refused a permission in ticks 1-3; then Mimecast refuses the expired key on every stream.
    refused: ['OK', 'ALARM', 'ALARM', 'ALARM', 'ALARM'],
    // A permission or an expired key needs an operator: the invocation fails, and its record is queued.
    functionErrors: ['OK', 'ALARM', 'ALARM', 'ALARM', 'ALARM'],
    failureQueue: ['OK', 'ALARM', 'ALARM', 'ALARM', 'ALARM'],
  });
});

test('the EMF line names the streams behind its counts', () => {
  const emf = (t: Tick) => t.lines.find((l) => l._aws !== undefined)!;
  expect(emf(ticks[0]!)).toMatchObject({ failedStreams: '', laggingStreams: '', refusedStreams: '' });
  expect(emf(ticks[1]!)).toMatchObject({
    failedStreams: 'audit,dlp',
    laggingStreams: 'siem',
    refusedStreams: 'dlp:permission',
    StreamsRefused: 1,
  });
  expect(emf(ticks[4]!)).toMatchObject({
    failedStreams: STREAMS.join(','),
    refusedStreams: STREAMS.map((s) => `${s}:authentication`).join(','),
    StreamsRefused: STREAMS.length,
  });
});

test('the queries of the alarm descriptions and the dashboard read only fields the stream health lines have', () => {
  const fields = new Set<string>(['message']);
  const collect = (value: unknown, prefix: string) => {
    fields.add(prefix);
    if (value !== null && typeof value === 'object' && !Array.isArray(value))
      for (const [k, v] of Object.entries(value)) collect(v, `${prefix}.${k}`);
  };
  for (const line of ticks.flatMap((t) => t.lines).filter((l) => l.message === STREAM_HEALTH_MESSAGE))
    for (const [k, v] of Object.entries(line)) collect(v, k);
  const KEYWORDS = new Set([
    'in',
    'filter',
    'and',
    'or',
    'stats',
    'by',
    'sort',
    'asc',
    'desc',
    'as',
    'bin',
    'count',
    'latest',
    'max',
    'min',
    'sum',
  ]);
  const queries = [...Object.values(HEALTH_QUERIES)];
  for (const query of queries) {
    const aliases = [...query.matchAll(/\bas\s+`?([\w-]+)`?/g)].map((m) => m[1]);
    const referenced = query
      .replace(/"[^"]*"/g, ' ') // string literals
      .replace(/\bas\s+(`[^`]+`|[A-Za-z_]\w*)/g, ' ') // aliases
      .replace(/\*|\d+[a-z]*/g, ' ') // count(*), numbers, bin(1h)
      .match(/`[^`]+`|[A-Za-z_][\w.-]*/g)!
      .map((name) => name.replace(/`/g, ''))
      .filter((name) => !KEYWORDS.has(name) && !aliases.includes(name));
    for (const name of referenced)
      expect({ query, field: name, known: fields.has(name) }).toEqual({ query, field: name, known: true });
  }
});
