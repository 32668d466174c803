/**
 * The cost report on real ticks of the bundled handler: the instance stays within USD 7.00 a month
 * (issue 16), its custom metrics do not grow with the streams, and README shows exactly what the
 * report prints, so the figure cannot drift silently. After a change that moves it, run
 * `npm run cost` and paste the output into README's "What it costs".
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { METRICS_NAMESPACE } from '../../lambda/telemetry/metric-names';
import { type CostReport, dynamoItemBytes, type Measurement, measure, price } from './report';

const README = path.resolve(__dirname, '..', '..', 'README.md');

let measurement: Measurement;
let report: CostReport;

beforeAll(async () => {
  measurement = await measure();
  report = price(measurement);
}, 240_000);

test('one instance with every stream and a 5-minute schedule costs at most USD 7.00 a month until the key is first rotated', () => {
  expect(report.total).toBeLessThanOrEqual(7);
  // The dashboard, the key and the secret are most of it: what the metrics and alarms add is bounded.
  expect(report.lines.find((l) => l.item === 'CloudWatch custom metrics')!.usd).toBeLessThanOrEqual(0.9);
});

test('the custom metrics are the instance metrics only: none per stream, one dimension set', () => {
  expect(report.perStreamMetrics).toBe(0);
  const ids = measurement.metrics.map((id) => JSON.parse(id) as [string, string, [string, string][]]);
  expect(ids.map(([namespace]) => namespace)).toEqual(ids.map(() => METRICS_NAMESPACE));
  expect(new Set(ids.map(([, , dimensions]) => JSON.stringify(dimensions))).size).toBe(1);
  expect(ids.map(([, name]) => name).sort()).toEqual(['StreamsFailed', 'StreamsLagging', 'StreamsRefused']);
});

test('the priced tick is the caught-up steady state of every stream', () => {
  expect(Object.keys(measurement.steady.outcomes)).toHaveLength(measurement.streams);
  expect(new Set(Object.values(measurement.steady.outcomes))).toEqual(new Set(['caught-up']));
  expect(measurement.first.mimecastCalls).toBeGreaterThan(measurement.steady.mimecastCalls);
});

test('README shows the report as it prints now', () => {
  const text = fs.readFileSync(README, 'utf8');
  const block = /<!-- cost:begin[^\n]*-->\n```text\n([\s\S]*?)\n```\n<!-- cost:end -->/.exec(text);
  expect(block).not.toBeNull();
  // On a difference: run `npm run cost` and paste its output between README's cost markers.
  // Checkpoint item sizes (and so DynamoDB and Logs cents) move a little with the wall clock the ticks run
  // at: the figures may differ by cents, everything else must be the same text.
  const digitsMasked = (t: string) => t.replace(/[\d,.]+/g, '#');
  expect(digitsMasked(block![1]!)).toBe(digitsMasked(report.text));
  const shown = /^Total\s+\$\s*([\d.]+)/m.exec(block![1]!);
  expect(Math.abs(Number(shown?.[1]) - report.total)).toBeLessThanOrEqual(0.1);
});

test('item sizes as DynamoDB counts them', () => {
  expect(dynamoItemBytes({ stream: { S: 'siem' } })).toBe(6 + 4);
  expect(dynamoItemBytes({ n: { N: '12345' } })).toBe(1 + 4);
  expect(dynamoItemBytes({ m: { M: { a: { S: 'xy' }, b: { BOOL: true } } } })).toBe(
    1 + 3 + (1 + 2 + 1) + (1 + 1 + 1),
  );
});
