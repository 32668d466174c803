/**
 * The alarm "push stopped while pull still finds events" (docs/PUSH-GAP-FILL.md, "Metrics and alarm"):
 * in the template only with the push receiver, on the same topic as the other alarms, and evaluated with
 * its own metric math (alarm-evaluation.ts) over what the two functions really emit: the push function's
 * EMF lines (publishPushOutcome) and the tick's (createTickTelemetry), read as CloudWatch reads them.
 * One period is 15 minutes (the default 5-minute schedule): a push a minute, a tick every 5 minutes.
 */
import type { StreamResult } from '../../lambda/core/results';
import { createLogger } from '../../lambda/telemetry/logger';
import { METRICS_NAMESPACE } from '../../lambda/telemetry/metric-names';
import { publishPushOutcome } from '../../lambda/telemetry/push-metrics';
import { createMetrics, createTickTelemetry } from '../../lambda/telemetry/tick-health';
import {
  PUSH_REFUSALS_QUERY,
  PUSH_STOPPED_ALARM_NAME,
  PUSH_STOPPED_EXPRESSION,
  pushStoppedPeriodSeconds,
} from '../../lib/constructs/push-alarm';
import { SCHEDULE_MINUTES } from '../../lib/defaults';
import { captureOutput } from '../support/capture-output';
import { type Datapoint, emfDatapoints, metricIdentity } from '../support/emf';
import { alarmSpecs, alarmValues, evaluate, evaluateExpression, parseExpression } from './alarm-evaluation';
import { buildStack, type Cfn } from './helpers';

const INSTANCE = 'test';
const template = buildStack(INSTANCE).template.toJSON() as Record<string, Cfn>;
const NAME = `mimecast-collector/${INSTANCE}/${PUSH_STOPPED_ALARM_NAME}`;
const alarm = alarmSpecs(template).find((a) => a.name === NAME)!;
const [resourceId, resource] = Object.entries<Cfn>(template.Resources).find(
  ([, r]) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties.AlarmName === NAME,
)!;

/** What one push request makes the push function emit. */
function pushed(delivered: number): Datapoint[] {
  return emitted(() =>
    publishPushOutcome(
      createMetrics(),
      INSTANCE,
      delivered > 0
        ? { kind: 'forwarded', received: { siem: delivered }, forwarded: { siem: delivered } }
        : { kind: 'refused', reason: 'token' },
      Date.now(),
    ),
  );
}

/** What one tick of a push-primary stream makes the scheduled function emit. */
function ticked(gap: number, alreadyPushed: number): Datapoint[] {
  const siem: StreamResult = {
    stream: 'siem',
    outcome: 'caught-up',
    events: gap + alreadyPushed,
    pages: 1,
    bytes: 1000,
    throttledCalls: 0,
    mimecastErrors: {},
    sinkErrors: 0,
    gapFill: { alreadyPushed, gap, unchecked: 0 },
  };
  const now = Date.now();
  return emitted(() =>
    createTickTelemetry({
      instance: INSTANCE,
      metrics: createMetrics(),
      log: createLogger({ instance: INSTANCE }),
      lagAlarmSeconds: { siem: 7200 },
    }).publish(
      {
        instance: INSTANCE,
        startedAt: new Date(now).toISOString(),
        finishedAt: new Date(now).toISOString(),
        streams: [siem],
      },
      now,
    ),
  );
}

function emitted(write: () => void): Datapoint[] {
  const output = captureOutput();
  try {
    write();
  } finally {
    output.restore();
  }
  return emfDatapoints(output.json());
}

/** One 15-minute period: `pushes` push requests delivering that many events each, and three ticks. */
function period(pushes: number[], ticks: Array<{ gap: number; alreadyPushed: number }>): Datapoint[] {
  return [...pushes.flatMap(pushed), ...ticks.flatMap((t) => ticked(t.gap, t.alreadyPushed))];
}
const pushing = () => Array.from({ length: 15 }, () => 100);
const threeTicks = (gap: number, alreadyPushed: number) => [1, 2, 3].map(() => ({ gap, alreadyPushed }));

describe('in the template', () => {
  test('only with the push receiver, on the alarm topic for ALARM and OK, named like the other alarms', () => {
    expect(resource.Condition).toBe('PushReceiverEnabled');
    const topic = Object.entries<Cfn>(template.Resources).find(([, r]) => r.Type === 'AWS::SNS::Topic')![0];
    expect(resource.Properties.AlarmActions).toEqual([{ Ref: topic }]);
    expect(resource.Properties.OKActions).toEqual([{ Ref: topic }]);
    expect(alarm).toMatchObject({
      expression: PUSH_STOPPED_EXPRESSION,
      threshold: 1,
      operator: 'GreaterThanOrEqualToThreshold',
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: 'notBreaching',
    });
    expect(resourceId).toMatch(/PushStopped/);
    // No dashboard widget may refer to it: it does not exist without the push receiver.
    const dashboard = Object.values<Cfn>(template.Resources).find(
      (r) => r.Type === 'AWS::CloudWatch::Dashboard',
    );
    expect(JSON.stringify(dashboard)).not.toContain(resourceId);
  });

  test('its metrics are ones every push-primary tick emits (0 included): same namespace, name and dimension set', () => {
    const emittedIds = new Set(ticked(0, 0).map(metricIdentity));
    expect(alarm.queries.map((q) => q.id).sort()).toEqual(['gap', 'matched']);
    for (const q of alarm.queries) {
      expect(q).toMatchObject({ namespace: METRICS_NAMESPACE, statistic: 'Sum' });
      const identity = metricIdentity({
        namespace: q.namespace,
        name: q.metricName,
        dimensions: q.dimensions,
      });
      expect({ id: q.id, emitted: emittedIds.has(identity) }).toEqual({ id: q.id, emitted: true });
    }
  });

  test('the period follows ScheduleMinutes: 15 minutes, or one interval when longer', () => {
    const stats = resource.Properties.Metrics.filter((m: Cfn) => m.MetricStat).map(
      (m: Cfn) => m.MetricStat.Period,
    );
    const [mapping] = stats[0]['Fn::FindInMap'];
    expect(stats).toEqual([stats[0], stats[0]]);
    expect(stats[0]['Fn::FindInMap'][1]).toEqual({ Ref: 'ScheduleMinutes' });
    expect(template.Mappings[mapping]).toEqual(
      Object.fromEntries(SCHEDULE_MINUTES.map((m) => [m, { Seconds: pushStoppedPeriodSeconds(m) }])),
    );
    for (const m of SCHEDULE_MINUTES)
      expect(pushStoppedPeriodSeconds(m)).toBeGreaterThanOrEqual(Number(m) * 60);
  });

  test('the description says what to do and where to look, within 1024 characters', () => {
    const long = buildStack('x'.repeat(32)).template.toJSON() as Record<string, Cfn>;
    const d = Object.values<Cfn>(long.Resources).find(
      (r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Condition === 'PushReceiverEnabled',
    )!.Properties.AlarmDescription;
    // A generated log group name is about 60-90 characters; the region at its longest.
    const text = d['Fn::Join'][1]
      .map((part: Cfn) =>
        typeof part === 'string' ? part : part.Ref === 'AWS::Region' ? 'ap-southeast-5' : 'x'.repeat(120),
      )
      .join('');
    expect(text.length).toBeLessThanOrEqual(1024);
    expect(text).toContain('Resume the Event Push integration');
    expect(text).toContain(PUSH_REFUSALS_QUERY);
  });
});

describe('metric math, as the evaluator models it', () => {
  test.each([
    ['1 + 2 * 3', new Map(), 7],
    ['(1 + 2) * 3', new Map(), 9],
    ['IF(a > 0 AND FILL(b, 0) == 0, 1, 0)', new Map([['a', 5]]), 1],
    [
      'IF(a > 0 AND FILL(b, 0) == 0, 1, 0)',
      new Map([
        ['a', 5],
        ['b', 1],
      ]),
      0,
    ],
    ['IF(a > 0 AND FILL(b, 0) == 0, 1, 0)', new Map([['b', 1]]), undefined],
    [
      'a OR b',
      new Map([
        ['a', 0],
        ['b', 2],
      ]),
      1,
    ],
    ['a - b', new Map([['a', 1]]), undefined],
  ])('%s with %p is %p', (text, values, expected) => {
    expect(evaluateExpression(parseExpression(text), values as Map<string, number>)).toBe(expected);
  });

  test('what it does not model, it refuses rather than guesses', () => {
    expect(() => evaluateExpression(parseExpression('RATE(a)'), new Map())).toThrow(/not modelled/);
    expect(() => parseExpression('a ~ b')).toThrow(/not modelled/);
  });
});

describe('fires when push stops while pull finds events, and only then', () => {
  test('push stops for an hour: the pull (15 minutes behind) finds the gap; the alarm fires on the second such period and clears when push resumes', () => {
    const periods = [
      period(pushing(), threeTicks(0, 500)),
      period(pushing(), threeTicks(0, 500)),
      // Push silent: no push function invocation at all. The pull still reads what push delivered.
      period([], threeTicks(0, 500)),
      period([], threeTicks(500, 0)),
      period([], threeTicks(500, 0)),
      period([], threeTicks(500, 0)),
      // Push resumed; the pull, 15 minutes behind, still reads the last of the silent hour, then catches up.
      period(pushing(), threeTicks(500, 0)),
      period(pushing(), threeTicks(0, 500)),
    ];
    expect(alarmValues(alarm, periods)).toEqual([0, 0, 0, 1, 1, 1, 1, 0]);
    expect(evaluate(alarm, periods)).toEqual(['OK', 'OK', 'OK', 'OK', 'ALARM', 'ALARM', 'ALARM', 'OK']);
  });

  test('every push refused (a token that no longer matches): push delivers none, so it fires too', () => {
    const refused = () => Array.from({ length: 15 }, () => 0);
    const periods = [period(refused(), threeTicks(500, 0)), period(refused(), threeTicks(500, 0))];
    expect(evaluate(alarm, periods)).toEqual(['OK', 'ALARM']);
  });

  test('push works and the pull fills a few events it missed: quiet', () => {
    const periods = Array.from({ length: 6 }, (_, i) => period(pushing(), threeTicks(i % 2, 499)));
    expect(alarmValues(alarm, periods)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(evaluate(alarm, periods)).toEqual(Array(6).fill('OK'));
  });

  test('nothing to collect (no push, every tick finds nothing), or no push-primary stream at all: quiet', () => {
    const idle = Array.from({ length: 4 }, () => period([], threeTicks(0, 0)));
    expect(alarmValues(alarm, idle)).toEqual([0, 0, 0, 0]);
    expect(evaluate(alarm, idle)).toEqual(Array(4).fill('OK'));
    // Ticks without push-primary streams emit no PushGapEvents: no data, not breaching.
    const none = Array.from({ length: 4 }, () => [] as Datapoint[]);
    expect(alarmValues(alarm, none)).toEqual([undefined, undefined, undefined, undefined]);
    expect(evaluate(alarm, none)).toEqual(Array(4).fill('OK'));
  });

  test('the scheduled function not running at all (no ticks) is not this alarm: streams-failing pages for it', () => {
    const periods = [period([], []), period([], [])];
    expect(evaluate(alarm, periods)).toEqual(['OK', 'OK']);
  });
});
