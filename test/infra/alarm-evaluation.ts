/**
 * CloudWatch alarm evaluation over datapoints, for tests: each alarm of a synthesized template is
 * read back (namespace, metric, dimension set, statistic, threshold, operator, M out of N, missing
 * data) and evaluated period by period, one tick per period as the stack's per-tick Period makes it.
 * The simplification: the history starts at the first period given (earlier periods are outside
 * the evaluation range, not missing).
 */

import type { Datapoint } from '../support/emf';
import { metricIdentity } from '../support/emf';
import type { Cfn } from './helpers';

export interface AlarmSpec {
  name: string;
  namespace: string;
  metricName: string;
  /** Values as the template states them (references as their JSON). */
  dimensions: Record<string, string>;
  statistic: string;
  threshold: number;
  operator: string;
  evaluationPeriods: number;
  datapointsToAlarm: number;
  treatMissingData: string;
}

/** A dimension value of the template: a literal, or a reference as its JSON. */
export function templateValue(value: Cfn): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function alarmSpecs(template: Record<string, Cfn>): AlarmSpec[] {
  return Object.values<Cfn>(template.Resources)
    .filter((r) => r.Type === 'AWS::CloudWatch::Alarm')
    .map(({ Properties: p }) => ({
      name: p.AlarmName,
      namespace: p.Namespace,
      metricName: p.MetricName,
      dimensions: Object.fromEntries((p.Dimensions ?? []).map((d: Cfn) => [d.Name, templateValue(d.Value)])),
      statistic: p.Statistic,
      threshold: p.Threshold,
      operator: p.ComparisonOperator,
      evaluationPeriods: p.EvaluationPeriods,
      datapointsToAlarm: p.DatapointsToAlarm ?? p.EvaluationPeriods,
      treatMissingData: p.TreatMissingData ?? 'missing',
    }));
}

const STATISTICS: Record<string, (values: number[]) => number> = {
  Maximum: (v) => Math.max(...v),
  Minimum: (v) => Math.min(...v),
  Sum: (v) => v.reduce((a, b) => a + b, 0),
  Average: (v) => v.reduce((a, b) => a + b, 0) / v.length,
  SampleCount: (v) => v.length,
};

const OPERATORS: Record<string, (value: number, threshold: number) => boolean> = {
  GreaterThanOrEqualToThreshold: (v, t) => v >= t,
  GreaterThanThreshold: (v, t) => v > t,
  LessThanThreshold: (v, t) => v < t,
  LessThanOrEqualToThreshold: (v, t) => v <= t,
};

/** The datapoints of `period` the alarm reads: same namespace, name and exact dimension set. */
export function watched(alarm: AlarmSpec, period: readonly Datapoint[]): number[] {
  const identity = metricIdentity({
    namespace: alarm.namespace,
    name: alarm.metricName,
    dimensions: alarm.dimensions,
  });
  return period.filter((p) => metricIdentity(p) === identity).map((p) => p.value);
}

/** The alarm's state after each period. */
export function evaluate(alarm: AlarmSpec, periods: readonly (readonly Datapoint[])[]): ('ALARM' | 'OK')[] {
  const statistic = STATISTICS[alarm.statistic];
  const compare = OPERATORS[alarm.operator];
  if (statistic === undefined || compare === undefined)
    throw new Error(`${alarm.name}: statistic ${alarm.statistic} or operator ${alarm.operator} not modelled`);
  const breaching = periods.map((period) => {
    const values = watched(alarm, period);
    if (values.length === 0) return alarm.treatMissingData === 'breaching';
    return compare(statistic(values), alarm.threshold);
  });
  return breaching.map((_, i) => {
    const window = breaching.slice(Math.max(0, i - alarm.evaluationPeriods + 1), i + 1);
    return window.filter(Boolean).length >= alarm.datapointsToAlarm ? 'ALARM' : 'OK';
  });
}
