/**
 * The monthly fixed cost of one collector instance, measured rather than estimated where it can be:
 *
 * - the stack is synthesized with bundling on (the same in-process synth the artifact tests use) and
 *   its template counted: alarms (and the metrics each reads), KMS keys, secrets, dashboards and
 *   their Logs Insights widgets, the log group's retention;
 * - the BUNDLED handler runs in fresh Node processes, like Lambda cold starts, with every stream
 *   enabled against loopback parts (the Mimecast simulator, dynalite behind a counting proxy, the
 *   Secrets Manager/KMS stub, a receiver): a first tick collects the simulator's data, a second one,
 *   caught up, is the steady state every 5-minute tick repeats;
 * - its stdout is read as CloudWatch reads it: the distinct metrics its EMF lines define (name +
 *   dimension set), and the bytes CloudWatch Logs would ingest;
 * - the caught-up tick's calls (DynamoDB writes priced by the size of their item, Secrets Manager,
 *   KMS, Mimecast) are counted and multiplied by the ticks of a month.
 *
 * Prices and the assumptions that cannot be measured here are in prices.ts.
 */

import * as fs from 'node:fs';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DEFAULT_LIMITS } from '../../lambda/core/limits';
import { STREAM_IDS, type StreamId } from '../../lambda/core/streams';
import { ENV } from '../../lambda/env-names';
import { STREAM_HEALTH_MESSAGE } from '../../lambda/telemetry/health-log';
import { METRICS_NAMESPACE } from '../../lambda/telemetry/metric-names';
import { type Cfn, invokeBundle, synthesizeBundled } from '../infra/helpers';
import { countingDynamoProxy } from '../support/dynamo-proxy';
import { emfDatapoints, metricIdentity } from '../support/emf';
import { startWorld, WORLD_INSTANCE } from '../support/world';
import { ASSUMPTIONS, GB, PRICES } from './prices';

/** What one tick of the bundle did, as counted from the outside. */
export interface TickCounts {
  /** Log events (lines) the function wrote and their bytes. */
  logEvents: number;
  logBytes: number;
  dynamoWrites: number;
  /** Write request units: each write priced by the size of the item it writes. */
  dynamoWriteUnits: number;
  dynamoReads: number;
  secretsManagerCalls: number;
  /** Direct KMS calls (the wrapped fields). */
  kmsCalls: number;
  mimecastCalls: number;
  /** Streams that ended the tick healthy, of all streams. */
  healthyStreams: number;
  outcomes: Record<string, string>;
}

export interface Measurement {
  streams: number;
  /** Distinct metrics (namespace + name + dimension set) the EMF lines of both ticks define. */
  metrics: string[];
  /** Alarm metrics: one per plain alarm, one per metric a metric-math alarm reads. */
  alarmMetrics: number;
  alarms: number;
  kmsKeys: number;
  rotatedKeys: number;
  /** The shortest automatic rotation period of the template's keys, in days. */
  rotationDays: number;
  secrets: number;
  dashboards: number;
  logQueryWidgets: number;
  logRetentionDays: number;
  /** Bytes of every checkpoint item after the ticks (table storage). */
  tableBytes: number;
  first: TickCounts;
  steady: TickCounts;
}

/** Size of an item as DynamoDB counts it (attribute names plus values; numbers about 1 byte per 2 digits). */
export function dynamoItemBytes(item: Record<string, AttributeValue>): number {
  const value = (v: AttributeValue): number => {
    if (v.S !== undefined) return Buffer.byteLength(v.S);
    if (v.N !== undefined) return Math.ceil(v.N.replace(/^-|\.|^0+/g, '').length / 2) + 1;
    if (v.B !== undefined) return v.B.length;
    if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
    if (v.M !== undefined)
      return 3 + Object.entries(v.M).reduce((n, [k, x]) => n + Buffer.byteLength(k) + value(x) + 1, 0);
    if (v.L !== undefined) return 3 + v.L.reduce((n, x) => n + value(x) + 1, 0);
    if (v.SS !== undefined) return v.SS.reduce((n, s) => n + Buffer.byteLength(s), 0);
    if (v.NS !== undefined) return v.NS.reduce((n, s) => n + Math.ceil(s.length / 2) + 1, 0);
    throw new Error(`attribute value of an unknown type: ${Object.keys(v).join(',')}`);
  };
  return Object.entries(item).reduce((n, [name, v]) => n + Buffer.byteLength(name) + value(v), 0);
}

function countTemplate(template: Record<string, Cfn>) {
  // The defaults deploy no conditional resource (no lake bucket, no push receiver, no S3 drain, no alarm e-mail).
  const resources = Object.values<Cfn>(template.Resources).filter((r) => r.Condition === undefined);
  const ofType = (type: string) => resources.filter((r) => r.Type === type);
  const alarms = ofType('AWS::CloudWatch::Alarm');
  const alarmMetrics = alarms.reduce(
    (n, a) =>
      n +
      (a.Properties.Metrics === undefined ? 1 : a.Properties.Metrics.filter((m: Cfn) => m.MetricStat).length),
    0,
  );
  for (const a of alarms) {
    if (typeof a.Properties.Period === 'number' && a.Properties.Period < 60)
      throw new Error(
        `${a.Properties.AlarmName} is a high-resolution alarm: priced differently, not modelled`,
      );
  }
  const bodies = ofType('AWS::CloudWatch::Dashboard').map((d) => JSON.stringify(d.Properties.DashboardBody));
  const logQueryWidgets = bodies.reduce(
    (n, body) => n + (body.match(/\\"type\\":\\"log\\"/g) ?? []).length,
    0,
  );
  const keys = ofType('AWS::KMS::Key');
  const [logGroup] = ofType('AWS::Logs::LogGroup');
  return {
    alarms: alarms.length,
    alarmMetrics,
    kmsKeys: keys.length,
    rotatedKeys: keys.filter((k) => k.Properties.EnableKeyRotation === true).length,
    // KMS's default when the template leaves it out.
    rotationDays: Math.min(
      ...keys.map((k) => Number(k.Properties.RotationPeriodInDays ?? 365)),
      Number.POSITIVE_INFINITY,
    ),
    secrets: ofType('AWS::SecretsManager::Secret').length,
    dashboards: bodies.length,
    logQueryWidgets,
    logRetentionDays: Number(logGroup?.Properties.RetentionInDays ?? 0),
  };
}

/** Synthesizes, runs the two ticks, counts. Takes about a minute (esbuild, then two cold starts). */
export async function measure(): Promise<Measurement> {
  const synth = synthesizeBundled(WORLD_INSTANCE);
  const streams: StreamId[] = [...STREAM_IDS];
  const world = await startWorld({
    streams,
    simulator: { seed: 16, events: Object.fromEntries(streams.map((s) => [s, 20])) },
  });
  const proxy = await countingDynamoProxy(world.dynamo.endpoint);
  try {
    // A real deployment also holds the receiver's token: one more wrapped field to decrypt.
    await world.storeCredentials({
      wrap: true,
      mutate: (doc) => {
        doc.sinkToken = `kms:${world.aws.encrypt('cost-report-sink-token', { collector: WORLD_INSTANCE })}`;
      },
    });
    const variables: Record<string, Cfn> = Object.values<Cfn>(synth.template.Resources).find(
      (r) => r.Type === 'AWS::Lambda::Function',
    ).Properties.Environment.Variables;
    const resolved = world.env({ AWS_ENDPOINT_URL_DYNAMODB: proxy.url });
    // What CloudFormation would resolve (references), the literals as synthesized, loopback endpoints.
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      ...synth.environment(
        Object.fromEntries(
          Object.keys(variables)
            .filter((name) => typeof variables[name] !== 'string')
            .map((name) => [name, resolved[name] ?? '']),
        ),
      ),
      ...Object.fromEntries(Object.entries(resolved).filter(([name]) => name.startsWith('AWS_'))),
    };
    if (env[ENV.lagAlarmSeconds] === undefined) throw new Error('the template sets no LAG_ALARM_SECONDS');

    const tick = async (): Promise<{
      counts: Omit<TickCounts, 'dynamoWriteUnits'>;
      lines: Record<string, unknown>[];
      writes: string[];
    }> => {
      world.aws.resetCalls();
      world.simulator.clearRequests();
      const dynamoFrom = proxy.calls.length;
      const run = await invokeBundle(synth.handlerPath, env);
      if (!run.stdout.includes('OUTCOME '))
        throw new Error(`the bundled handler failed: ${run.stdout.slice(-2000)}\n${run.stderr.slice(-2000)}`);
      const logLines = run.stdout.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('OUTCOME '));
      const lines = logLines.flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
      const dynamo = proxy.calls.slice(dynamoFrom);
      const writes = dynamo.filter((c) => /^(UpdateItem|PutItem|DeleteItem)$/.test(c.op));
      const calls = world.aws.calls();
      const health = lines.filter((l) => l.message === STREAM_HEALTH_MESSAGE);
      return {
        lines,
        writes: writes.map((w) => w.key?.stream ?? ''),
        counts: {
          logEvents: logLines.length,
          logBytes: logLines.reduce((n, l) => n + Buffer.byteLength(l), 0),
          dynamoWrites: writes.length,
          dynamoReads: dynamo.filter((c) => /^(GetItem|Query|Scan)$/.test(c.op)).length,
          secretsManagerCalls: calls.filter((c) => c.service === 'secretsmanager').length,
          kmsCalls: calls.filter((c) => c.service === 'kms').length,
          mimecastCalls: world.simulator.requests().length,
          healthyStreams: health.filter((l) => l.healthy === 1).length,
          outcomes: Object.fromEntries(health.map((l) => [String(l.stream), String(l.outcome)])),
        },
      };
    };

    const first = await tick();
    const steady = await tick();
    if (
      steady.counts.healthyStreams !== streams.length ||
      Object.values(steady.counts.outcomes).some((o) => o !== 'caught-up')
    )
      throw new Error(
        `the second tick is not the caught-up steady state: ${JSON.stringify(steady.counts.outcomes)}`,
      );

    // Each write is priced by the size of the item it writes (as it stands after the ticks, with the
    // lease a tick holds while it writes).
    const client = new DynamoDBClient({
      endpoint: world.dynamo.endpoint,
      region: world.aws.region,
      credentials: world.aws.credentials,
    });
    const { Items = [] } = await client.send(new ScanCommand({ TableName: world.dynamo.tableName }));
    client.destroy();
    const lease = dynamoItemBytes({
      lease: { M: { owner: { S: 'x'.repeat(36) }, expiresAt: { N: String(Date.now()) } } },
    });
    const itemBytes = new Map(Items.map((item) => [String(item.stream?.S), dynamoItemBytes(item)]));
    const units = (writes: string[]) =>
      writes.reduce(
        (n, stream) => n + Math.max(1, Math.ceil(((itemBytes.get(stream) ?? 0) + lease) / 1024)),
        0,
      );

    const metrics = new Set(
      [...first.lines, ...steady.lines].flatMap((l) => emfDatapoints([l])).map(metricIdentity),
    );
    return {
      streams: streams.length,
      metrics: [...metrics].sort(),
      ...countTemplate(synth.template),
      tableBytes: [...itemBytes.values()].reduce((a, b) => a + b + 100, 0),
      first: { ...first.counts, dynamoWriteUnits: units(first.writes) },
      steady: { ...steady.counts, dynamoWriteUnits: units(steady.writes) },
    };
  } finally {
    await proxy.stop();
    await world.stop();
    fs.rmSync(synth.assemblyDir, { recursive: true, force: true });
  }
}

export interface CostLine {
  item: string;
  basis: string;
  usd: number;
}

export interface CostReport {
  lines: CostLine[];
  /** The monthly total until the key's first rotation. */
  total: number;
  /** After the second rotation: automatic rotation has added USD 1 twice to every rotated key. */
  totalAfterRotations: number;
  /** Metrics in our namespace that carry a stream dimension (must be none: cost would grow with streams). */
  perStreamMetrics: number;
  text: string;
}

const usd = (n: number) => n.toFixed(2).padStart(6);
const int = (n: number) => Math.round(n).toLocaleString('en-US');

/** Prices a measurement: one line per cost item, a total, and the report as text (README shows it). */
export function price(m: Measurement): CostReport {
  const ticks = ASSUMPTIONS.ticksPerMonth;
  const s = m.steady;
  const secondsPerTick =
    ASSUMPTIONS.initSeconds +
    (s.secretsManagerCalls + s.kmsCalls) * ASSUMPTIONS.awsCallSeconds +
    (s.mimecastCalls * ASSUMPTIONS.mimecastCallSeconds +
      (s.dynamoWrites + s.dynamoReads) * ASSUMPTIONS.awsCallSeconds) /
      DEFAULT_LIMITS.concurrency;
  const memoryGb = 1024 / 1024;
  // Rounded up to 100 bytes: a few digits more or less in a log line must not change the README.
  const logBytesPerTick =
    Math.ceil(
      (s.logBytes + s.logEvents * ASSUMPTIONS.logEventOverheadBytes + ASSUMPTIONS.platformLogBytes) / 100,
    ) * 100;
  const tableBytes = Math.ceil(m.tableBytes / 100) * 100;
  const logGbPerMonth = (logBytesPerTick * ticks) / GB;
  const logGbPerDay = logGbPerMonth / 30;
  const kmsRequests = (s.kmsCalls + s.secretsManagerCalls) * ticks;
  const perStreamMetrics = m.metrics.filter((id) => id.includes('"Stream"')).length;
  const ours = m.metrics.filter((id) => JSON.parse(id)[0] === METRICS_NAMESPACE).length;

  const lines: CostLine[] = [
    {
      item: 'CloudWatch custom metrics',
      basis: `${m.metrics.length} distinct (name + dimensions) in the EMF output, ${ours} in ${METRICS_NAMESPACE}, none per stream × $${PRICES.customMetric.usd.toFixed(2)}`,
      usd: m.metrics.length * PRICES.customMetric.usd,
    },
    {
      item: 'CloudWatch alarms',
      basis: `${m.alarms} standard-resolution alarms, ${m.alarmMetrics} alarm metrics × $${PRICES.alarmMetric.usd.toFixed(2)}`,
      usd: m.alarmMetrics * PRICES.alarmMetric.usd,
    },
    {
      item: 'CloudWatch dashboard',
      basis: `${m.dashboards} × $${PRICES.dashboard.usd.toFixed(2)} (the first 3 per account are free; counted anyway)`,
      usd: m.dashboards * PRICES.dashboard.usd,
    },
    {
      item: 'KMS customer-managed keys',
      basis: `${m.kmsKeys} × $${PRICES.kmsKey.usd.toFixed(2)} (the secret's key also encrypts the alarm topic)`,
      usd: m.kmsKeys * PRICES.kmsKey.usd,
    },
    {
      item: 'Secrets Manager secret',
      basis: `${m.secrets} × $${PRICES.secret.usd.toFixed(2)}`,
      usd: m.secrets * PRICES.secret.usd,
    },
    {
      item: 'Lambda',
      basis: `${int(ticks)} requests; ${secondsPerTick.toFixed(2)} s × 1 GB arm64 per caught-up tick (${s.mimecastCalls} Mimecast calls, ${s.dynamoWrites + s.dynamoReads} DynamoDB calls, 4 streams at a time, cold start)`,
      usd:
        ticks * PRICES.lambdaRequest.usd + ticks * secondsPerTick * memoryGb * PRICES.lambdaArmGbSecond.usd,
    },
    {
      item: 'DynamoDB on-demand',
      basis: `${s.dynamoWrites} writes (${s.dynamoWriteUnits} WRU) and ${s.dynamoReads} reads per tick; storage and PITR of ${int(tableBytes)} bytes`,
      usd:
        ticks * (s.dynamoWriteUnits * PRICES.dynamoWrite.usd + s.dynamoReads * PRICES.dynamoRead.usd) +
        (tableBytes / GB) * (PRICES.dynamoStorage.usd + PRICES.dynamoPitr.usd),
    },
    {
      item: 'Secrets Manager API',
      basis: `${s.secretsManagerCalls} GetSecretValue per tick`,
      usd: s.secretsManagerCalls * ticks * PRICES.secretRequest.usd,
    },
    {
      item: 'KMS requests',
      basis: `${s.kmsCalls} Decrypt of wrapped fields + ${s.secretsManagerCalls} by Secrets Manager per tick`,
      usd: kmsRequests * PRICES.kmsRequest.usd,
    },
    {
      item: 'CloudWatch Logs ingestion',
      basis: `${int(logBytesPerTick)} bytes per tick (${s.logEvents} lines incl. EMF, + Lambda's own) = ${logGbPerMonth.toFixed(3)} GB`,
      usd: logGbPerMonth * PRICES.logsIngestion.usd,
    },
    {
      item: 'CloudWatch Logs storage',
      basis: `${m.logRetentionDays} days kept, uncompressed (AWS bills compressed)`,
      usd: logGbPerMonth * (m.logRetentionDays / 30) * PRICES.logsStorage.usd,
    },
    {
      item: 'Logs Insights (dashboard)',
      basis: `${m.logQueryWidgets} widgets × ${ASSUMPTIONS.dashboardViewsPerMonth} views of one day`,
      usd: m.logQueryWidgets * ASSUMPTIONS.dashboardViewsPerMonth * logGbPerDay * PRICES.logsInsights.usd,
    },
  ];
  const total = lines.reduce((n, l) => n + l.usd, 0);
  const totalAfterRotations = total + 2 * m.rotatedKeys * PRICES.kmsKey.usd;
  const years = (days: number) => (days / 365).toFixed(1);

  const width = Math.max(...lines.map((l) => l.item.length));
  const text = [
    `Monthly fixed cost of one instance: ${m.streams} streams enabled, a tick every 5 minutes (${int(ticks)} a month),`,
    'us-east-1 list prices, no free tier applied; measured on ticks of the bundled handler (npm run cost):',
    'a first one collects, the second, caught up, is the one every tick repeats and is priced here.',
    '',
    ...lines.map((l) => `${l.item.padEnd(width)}  $${usd(l.usd)}  ${l.basis}`),
    `${'-'.repeat(width)}  ${'-'.repeat(7)}`,
    `${'Total'.padEnd(width)}  $${usd(total)}  until the key's first rotation (every ${int(m.rotationDays)} days, ${years(m.rotationDays)} years)`,
    `${'After two rotations'.padEnd(width)}  $${usd(totalAfterRotations)}  (from year ${years(2 * m.rotationDays)}: +$1.00 after each of a key's first two rotations)`,
    '',
    'Prices (USD): custom metric 0.30/month; alarm metric 0.10/month; dashboard 3.00/month; KMS key 1.00/month,',
    'requests 0.03 per 10,000; secret 0.40/month, API 0.05 per 10,000; Lambda arm64 0.0000133334 per GB-s,',
    '0.20 per million requests; DynamoDB on-demand 0.625 per million WRU, 0.125 per million RRU; Logs 0.50 per',
    'GB ingested, 0.03 per GB-month stored, Logs Insights 0.005 per GB scanned.',
    `Assumed, not measured here: ${ASSUMPTIONS.mimecastCallSeconds} s per Mimecast call and ${ASSUMPTIONS.awsCallSeconds} s per AWS call from Lambda, a cold`,
    `start (${ASSUMPTIONS.initSeconds} s) and a credentials read every tick, ${ASSUMPTIONS.platformLogBytes} bytes of Lambda's own log lines, the dashboard opened`,
    `${ASSUMPTIONS.dashboardViewsPerMonth} times a month. Per event forwarded, add docs/PERFORMANCE.md's cost per million events.`,
  ].join('\n');
  return { lines, total, totalAfterRotations, perStreamMetrics, text };
}
