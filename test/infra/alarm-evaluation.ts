/**
 * CloudWatch alarm evaluation over datapoints, for tests: each alarm of a synthesized template is
 * read back (namespace, metric, dimension set, statistic, threshold, operator, M out of N, missing
 * data; or, for a metric math alarm, its metrics by id and its expression) and evaluated period by
 * period, one tick per period as the stack's per-tick Period makes it.
 * The simplifications: the history starts at the first period given (earlier periods are outside
 * the evaluation range, not missing); metric math is evaluated period by period, a metric without a
 * datapoint in the period being missing, and `FILL(m, v)` giving `v` there. (CloudWatch fills a
 * series over the alarm's query range; a series without any datapoint in that range is modelled the
 * same way: see docs/PUSH-GAP-FILL.md, "Metrics and alarm".)
 */

import type { Datapoint } from '../support/emf';
import { metricIdentity } from '../support/emf';
import type { Cfn } from './helpers';

/** One metric an alarm reads (a math alarm reads several, by id). */
export interface MetricQuery {
  id: string;
  namespace: string;
  metricName: string;
  /** Values as the template states them (references as their JSON). */
  dimensions: Record<string, string>;
  statistic: string;
}

export interface AlarmSpec {
  name: string;
  /** A plain alarm's metric; empty strings and no dimensions for a math alarm (see `queries`). */
  namespace: string;
  metricName: string;
  dimensions: Record<string, string>;
  statistic: string;
  /** The metrics a math alarm's expression refers to, by id; empty for a plain alarm. */
  queries: MetricQuery[];
  /** The expression of the query whose data the math alarm evaluates (ReturnData); undefined for a plain alarm. */
  expression?: string;
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

const dimensionsOf = (list: Cfn[] | undefined): Record<string, string> =>
  Object.fromEntries((list ?? []).map((d: Cfn) => [d.Name, templateValue(d.Value)]));

export function alarmSpecs(template: Record<string, Cfn>): AlarmSpec[] {
  return Object.values<Cfn>(template.Resources)
    .filter((r) => r.Type === 'AWS::CloudWatch::Alarm')
    .map(({ Properties: p }) => {
      const math: Cfn[] = p.Metrics ?? [];
      const returned = math.filter((q) => q.ReturnData !== false);
      if (math.length > 0 && (returned.length !== 1 || returned[0].Expression === undefined))
        throw new Error(`${p.AlarmName}: one expression must return the data (not modelled otherwise)`);
      return {
        name: p.AlarmName,
        namespace: p.Namespace ?? '',
        metricName: p.MetricName ?? '',
        dimensions: dimensionsOf(p.Dimensions),
        statistic: p.Statistic ?? '',
        queries: math
          .filter((q) => q.MetricStat !== undefined)
          .map((q) => ({
            id: q.Id,
            namespace: q.MetricStat.Metric.Namespace,
            metricName: q.MetricStat.Metric.MetricName,
            dimensions: dimensionsOf(q.MetricStat.Metric.Dimensions),
            statistic: q.MetricStat.Stat,
          })),
        ...(returned.length === 1 ? { expression: returned[0].Expression as string } : {}),
        threshold: p.Threshold,
        operator: p.ComparisonOperator,
        evaluationPeriods: p.EvaluationPeriods,
        datapointsToAlarm: p.DatapointsToAlarm ?? p.EvaluationPeriods,
        treatMissingData: p.TreatMissingData ?? 'missing',
      };
    });
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

type Metric = Pick<MetricQuery, 'namespace' | 'metricName' | 'dimensions'>;

/** The datapoints of `period` a metric reads: same namespace, name and exact dimension set. */
export function watched(metric: Metric, period: readonly Datapoint[]): number[] {
  const identity = metricIdentity({
    namespace: metric.namespace,
    name: metric.metricName,
    dimensions: metric.dimensions,
  });
  return period.filter((p) => metricIdentity(p) === identity).map((p) => p.value);
}

function statisticOf(name: string, alarm: string): (values: number[]) => number {
  const statistic = STATISTICS[name];
  if (statistic === undefined) throw new Error(`${alarm}: statistic ${name} not modelled`);
  return statistic;
}

/** A metric's value in one period: its statistic over the period's datapoints, or undefined (missing). */
function valueIn(metric: Metric & { statistic: string }, period: readonly Datapoint[], alarm: string) {
  const values = watched(metric, period);
  return values.length === 0 ? undefined : statisticOf(metric.statistic, alarm)(values);
}

/** The alarm's value in each period; undefined where it has no data. */
export function alarmValues(
  alarm: AlarmSpec,
  periods: readonly (readonly Datapoint[])[],
): (number | undefined)[] {
  if (alarm.expression === undefined) return periods.map((period) => valueIn(alarm, period, alarm.name));
  const expression = parseExpression(alarm.expression);
  for (const id of identifiers(expression))
    if (!alarm.queries.some((q) => q.id === id))
      throw new Error(`${alarm.name}: ${id} is no metric of the alarm`);
  return periods.map((period) => {
    const values = new Map(alarm.queries.map((q) => [q.id, valueIn(q, period, alarm.name)]));
    return evaluateExpression(expression, values);
  });
}

/** The alarm's state after each period. */
export function evaluate(alarm: AlarmSpec, periods: readonly (readonly Datapoint[])[]): ('ALARM' | 'OK')[] {
  const compare = OPERATORS[alarm.operator];
  if (compare === undefined) throw new Error(`${alarm.name}: operator ${alarm.operator} not modelled`);
  const breaching = alarmValues(alarm, periods).map((value) =>
    value === undefined ? alarm.treatMissingData === 'breaching' : compare(value, alarm.threshold),
  );
  return breaching.map((_, i) => {
    const window = breaching.slice(Math.max(0, i - alarm.evaluationPeriods + 1), i + 1);
    return window.filter(Boolean).length >= alarm.datapointsToAlarm ? 'ALARM' : 'OK';
  });
}

/**
 * Metric math, the part the stack uses: numbers, metric ids, `+ - * /`, comparisons
 * (`== != > >= < <=`, 1 or 0), `AND`, `OR`, parentheses, `IF(condition, then, else)` and
 * `FILL(series, value)`. CloudWatch's precedence: arithmetic, then comparison, then AND, then OR. A
 * missing operand makes the result missing, except where FILL replaces it.
 */
export type Expression =
  | { kind: 'number'; value: number }
  | { kind: 'id'; name: string }
  | { kind: 'binary'; op: string; left: Expression; right: Expression }
  | { kind: 'call'; name: string; args: Expression[] };

const TOKEN = /\s*(\d+(?:\.\d+)?|[A-Za-z_][A-Za-z0-9_]*|==|!=|>=|<=|[-+*/(),<>])/y;

export function parseExpression(text: string): Expression {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    if (/^\s*$/.test(text.slice(TOKEN.lastIndex))) break;
    const match = TOKEN.exec(text);
    if (match === null) throw new Error(`metric math not modelled at "${text.slice(TOKEN.lastIndex)}"`);
    tokens.push(match[1]!);
  }
  let at = 0;
  const peek = () => tokens[at];
  const take = (expected?: string) => {
    const token = tokens[at];
    if (token === undefined || (expected !== undefined && token.toUpperCase() !== expected))
      throw new Error(`metric math "${text}": expected ${expected ?? 'more'} at token ${at}`);
    at += 1;
    return token;
  };
  const level = (ops: string[], next: () => Expression) => (): Expression => {
    let left = next();
    while (peek() !== undefined && ops.includes(peek()!.toUpperCase())) {
      const op = take().toUpperCase();
      left = { kind: 'binary', op, left, right: next() };
    }
    return left;
  };
  const primary = (): Expression => {
    const token = take();
    if (token === '(') {
      const inner = or();
      take(')');
      return inner;
    }
    if (token === '-')
      return { kind: 'binary', op: '-', left: { kind: 'number', value: 0 }, right: primary() };
    if (/^\d/.test(token)) return { kind: 'number', value: Number(token) };
    if (peek() === '(') {
      take('(');
      const args = [or()];
      while (peek() === ',') {
        take(',');
        args.push(or());
      }
      take(')');
      return { kind: 'call', name: token.toUpperCase(), args };
    }
    return { kind: 'id', name: token };
  };
  const product = level(['*', '/'], primary);
  const sum = level(['+', '-'], product);
  const comparison = level(['==', '!=', '>=', '<=', '>', '<'], sum);
  const and = level(['AND'], comparison);
  const or: () => Expression = level(['OR'], and);
  const expression = or();
  if (at !== tokens.length) throw new Error(`metric math "${text}": unexpected ${tokens[at]}`);
  return expression;
}

function identifiers(e: Expression): string[] {
  if (e.kind === 'id') return [e.name];
  if (e.kind === 'binary') return [...identifiers(e.left), ...identifiers(e.right)];
  if (e.kind === 'call') return e.args.flatMap(identifiers);
  return [];
}

const BINARY: Record<string, (a: number, b: number) => number> = {
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '*': (a, b) => a * b,
  '/': (a, b) => a / b,
  '==': (a, b) => Number(a === b),
  '!=': (a, b) => Number(a !== b),
  '>': (a, b) => Number(a > b),
  '>=': (a, b) => Number(a >= b),
  '<': (a, b) => Number(a < b),
  '<=': (a, b) => Number(a <= b),
  AND: (a, b) => Number(a !== 0 && b !== 0),
  OR: (a, b) => Number(a !== 0 || b !== 0),
};

/** One period's value of `e`, given each metric's value there (undefined = missing). */
export function evaluateExpression(
  e: Expression,
  values: ReadonlyMap<string, number | undefined>,
): number | undefined {
  switch (e.kind) {
    case 'number':
      return e.value;
    case 'id':
      return values.get(e.name);
    case 'binary': {
      const [a, b] = [evaluateExpression(e.left, values), evaluateExpression(e.right, values)];
      return a === undefined || b === undefined ? undefined : BINARY[e.op]!(a, b);
    }
    case 'call': {
      const args = e.args;
      if (e.name === 'FILL' && args.length === 2) {
        return evaluateExpression(args[0]!, values) ?? evaluateExpression(args[1]!, values);
      }
      if (e.name === 'IF' && args.length === 3) {
        const condition = evaluateExpression(args[0]!, values);
        if (condition === undefined) return undefined;
        return evaluateExpression(condition !== 0 ? args[1]! : args[2]!, values);
      }
      throw new Error(`metric math function ${e.name} with ${args.length} arguments not modelled`);
    }
  }
}
