/**
 * CloudWatch embedded metric format, read the way CloudWatch reads it: every metric of every
 * directive of every EMF line, once per dimension set, with the values the line carries.
 */

/** One datapoint CloudWatch would store. */
export interface Datapoint {
  namespace: string;
  name: string;
  /** The dimension set with its values. */
  dimensions: Record<string, string>;
  value: number;
  unit?: string;
  timestamp: number;
}

interface EmfDirective {
  Namespace: string;
  Dimensions: string[][];
  Metrics: { Name: string; Unit?: string }[];
}

/** The datapoints of every EMF line among `lines` (other lines are skipped). */
export function emfDatapoints(lines: Record<string, unknown>[]): Datapoint[] {
  const points: Datapoint[] = [];
  for (const line of lines) {
    const aws = line._aws as { Timestamp: number; CloudWatchMetrics?: EmfDirective[] } | undefined;
    for (const directive of aws?.CloudWatchMetrics ?? []) {
      for (const set of directive.Dimensions) {
        const dimensions = Object.fromEntries(set.map((d) => [d, String(line[d])]));
        for (const metric of directive.Metrics) {
          const values = ([] as unknown[]).concat(line[metric.Name]);
          for (const value of values) {
            points.push({
              namespace: directive.Namespace,
              name: metric.Name,
              dimensions,
              value: Number(value),
              ...(metric.Unit === undefined ? {} : { unit: metric.Unit }),
              timestamp: aws!.Timestamp,
            });
          }
        }
      }
    }
  }
  return points;
}

/** A metric's identity in CloudWatch: namespace, name and the exact dimension set (values included). */
export function metricIdentity(point: Pick<Datapoint, 'namespace' | 'name' | 'dimensions'>): string {
  const dimensions = Object.entries(point.dimensions).sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify([point.namespace, point.name, dimensions]);
}
