/** Tick metrics, asserted on the EMF lines Powertools writes to stdout, as CloudWatch would parse them. */
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { StreamResult, TickResult } from '../../lambda/core/results';
import { AuthenticationError, PermissionError, TransientError } from '../../lambda/errors';
import {
  INSTANCE_METRICS,
  instanceDimensions,
  METRICS_NAMESPACE,
  MIMECAST_ERRORS_BY_KIND,
  SERVICE_NAME,
  STREAM_METRICS,
  streamDimensions,
} from '../../lambda/telemetry/metric-names';
import { createMetrics, publishTickMetrics } from '../../lambda/telemetry/metrics';
import { type CapturedOutput, captureOutput } from '../support/capture-output';

interface Emf {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  [key: string]: unknown;
}

const NOW = Date.now();

function stream(overrides: Partial<StreamResult> & Pick<StreamResult, 'stream' | 'outcome'>): StreamResult {
  return {
    events: 0,
    pages: 0,
    bytes: 0,
    throttledCalls: 0,
    mimecastErrors: {},
    sinkErrors: 0,
    ...overrides,
  };
}

function tick(streams: StreamResult[]): TickResult {
  return {
    instance: 'prod',
    startedAt: new Date(NOW - 5000).toISOString(),
    finishedAt: new Date(NOW).toISOString(),
    streams,
  };
}

let output: CapturedOutput;
beforeEach(() => {
  output = captureOutput();
});
afterEach(() => output.restore());

function emitted(): Emf[] {
  const lines = output.lines();
  const json = output.json() as Emf[];
  // Nothing but EMF: no Powertools warning (duplicate dimension, missing namespace, empty metrics).
  expect(json).toHaveLength(lines.length);
  for (const line of json) expect(line._aws).toBeDefined();
  return json;
}

/** name → [unit, value] of one EMF line. */
function metricsOf(line: Emf): Record<string, [string, unknown]> {
  const [definition] = line._aws.CloudWatchMetrics;
  return Object.fromEntries(definition!.Metrics.map((m) => [m.Name, [m.Unit, line[m.Name]]]));
}

/** The dimension sets of a line, with the values CloudWatch would read for them. */
function dimensionsOf(line: Emf): Record<string, unknown>[] {
  return line._aws.CloudWatchMetrics[0]!.Dimensions.map((set) =>
    Object.fromEntries(set.map((name) => [name, line[name]])),
  );
}

describe('publishTickMetrics', () => {
  const healthy = stream({
    stream: 'siem',
    outcome: 'caught-up',
    events: 1200,
    pages: 3,
    bytes: 456_789,
    throttledCalls: 1,
    mimecastErrors: { throttled: 1 },
    newestEventTime: new Date(NOW - 90_000).toISOString(),
    lagSeconds: 90,
  });
  const refused = stream({
    stream: 'audit',
    outcome: 'failed',
    mimecastErrors: { authentication: 1, transient: 2, protocol: 0 },
    sinkErrors: 1,
    error: new AuthenticationError('401 from Mimecast', 'Check the keys.'),
  });

  it('emits one line per stream with every stream metric, its unit and value, under exactly the stream dimensions', () => {
    publishTickMetrics(createMetrics(), 'prod', tick([healthy, refused]), NOW);
    const lines = emitted();
    const siem = lines[0]!;
    expect(siem._aws.CloudWatchMetrics).toHaveLength(1);
    expect(siem._aws.CloudWatchMetrics[0]!.Namespace).toBe(METRICS_NAMESPACE);
    expect(siem._aws.Timestamp).toBe(NOW);
    expect(dimensionsOf(siem)).toEqual([streamDimensions('prod', 'siem')]);
    expect(metricsOf(siem)).toEqual({
      [STREAM_METRICS.eventsForwarded]: ['Count', 1200],
      [STREAM_METRICS.pagesFetched]: ['Count', 3],
      [STREAM_METRICS.bytesSent]: ['Bytes', 456_789],
      [STREAM_METRICS.throttledCalls]: ['Count', 1],
      [STREAM_METRICS.mimecastErrors]: ['Count', 1],
      [STREAM_METRICS.sinkErrors]: ['Count', 0],
      [STREAM_METRICS.collectionLagSeconds]: ['Seconds', 90],
      [STREAM_METRICS.healthy]: ['Count', 1],
    });
  });

  it('emits Mimecast errors by kind with the ErrorKind dimension added, one line per kind seen', () => {
    publishTickMetrics(createMetrics(), 'prod', tick([healthy, refused]), NOW);
    const byKind = emitted().filter((line) => MIMECAST_ERRORS_BY_KIND in line);
    expect(byKind.map((line) => [dimensionsOf(line), metricsOf(line)])).toEqual([
      [
        [{ ...streamDimensions('prod', 'siem'), ErrorKind: 'throttled' }],
        { [MIMECAST_ERRORS_BY_KIND]: ['Count', 1] },
      ],
      [
        [{ ...streamDimensions('prod', 'audit'), ErrorKind: 'authentication' }],
        { [MIMECAST_ERRORS_BY_KIND]: ['Count', 1] },
      ],
      [
        [{ ...streamDimensions('prod', 'audit'), ErrorKind: 'transient' }],
        { [MIMECAST_ERRORS_BY_KIND]: ['Count', 2] },
      ],
    ]);
  });

  it('emits the instance metrics last, under exactly the instance dimensions', () => {
    publishTickMetrics(createMetrics(), 'prod', tick([healthy, refused]), NOW);
    const lines = emitted();
    expect(lines).toHaveLength(2 + 3 + 1);
    const instance = lines.at(-1)!;
    expect(dimensionsOf(instance)).toEqual([instanceDimensions('prod')]);
    expect(metricsOf(instance)).toEqual({
      [INSTANCE_METRICS.authenticationFailures]: ['Count', 1],
      [INSTANCE_METRICS.permissionFailures]: ['Count', 0],
      [INSTANCE_METRICS.tickSucceeded]: ['Count', 0],
    });
    const audit = lines.find((line) => line.Stream === 'audit')!;
    expect(metricsOf(audit)[STREAM_METRICS.healthy]).toEqual(['Count', 0]);
    expect(metricsOf(audit)[STREAM_METRICS.mimecastErrors]).toEqual(['Count', 3]);
  });

  it('counts permission failures, and a tick succeeds when every stream is healthy', () => {
    const denied = stream({
      stream: 'dlp',
      outcome: 'failed',
      error: new PermissionError('403', 'Grant it.'),
    });
    const flaky = stream({ stream: 'dlp', outcome: 'failed', error: new TransientError('503', 'Wait.') });
    publishTickMetrics(createMetrics(), 'prod', tick([denied]), NOW);
    publishTickMetrics(createMetrics(), 'prod', tick([flaky]), NOW);
    publishTickMetrics(
      createMetrics(),
      'prod',
      tick([healthy, stream({ stream: 'dlp', outcome: 'throttled' })]),
      NOW,
    );
    const instanceLines = emitted()
      .filter((line) => !('Stream' in line))
      .map(metricsOf);
    expect(instanceLines).toEqual([
      { AuthenticationFailures: ['Count', 0], PermissionFailures: ['Count', 1], TickSucceeded: ['Count', 0] },
      { AuthenticationFailures: ['Count', 0], PermissionFailures: ['Count', 0], TickSucceeded: ['Count', 0] },
      { AuthenticationFailures: ['Count', 0], PermissionFailures: ['Count', 0], TickSucceeded: ['Count', 1] },
    ]);
  });

  it('computes the lag from the newest event time, and leaves it out for a stream that never delivered', () => {
    const computed = stream({
      stream: 'ttp-url',
      outcome: 'caught-up',
      newestEventTime: new Date(NOW - 3_600_000).toISOString(),
    });
    const never = stream({ stream: 'dlp', outcome: 'caught-up' });
    publishTickMetrics(createMetrics(), 'prod', tick([computed, never]), new Date(NOW));
    const [first, second] = emitted();
    expect(metricsOf(first!)[STREAM_METRICS.collectionLagSeconds]).toEqual(['Seconds', 3600]);
    expect(Object.keys(metricsOf(second!))).toEqual(
      Object.values(STREAM_METRICS).filter((name) => name !== STREAM_METRICS.collectionLagSeconds),
    );
  });

  describe('with a Metrics instance configured elsewhere', () => {
    const saved = process.env.POWERTOOLS_SERVICE_NAME;
    beforeEach(() => {
      process.env.POWERTOOLS_SERVICE_NAME = 'some-other-service';
    });
    afterEach(() => {
      if (saved === undefined) delete process.env.POWERTOOLS_SERVICE_NAME;
      else process.env.POWERTOOLS_SERVICE_NAME = saved;
    });

    it('still emits exactly the dimension sets the alarms watch', () => {
      // Powertools would add service=some-other-service and the environment default dimension.
      const metrics = new Metrics({
        namespace: METRICS_NAMESPACE,
        defaultDimensions: { environment: 'prod' },
      });
      metrics.addMetric('Unrelated', 'Count', 1);
      publishTickMetrics(metrics, 'prod', tick([healthy]), NOW);
      const lines = emitted();
      // The caller's pending metric went out first, with its own dimensions.
      expect(lines[0]!.Unrelated).toBe(1);
      const ours = lines.slice(1);
      expect(ours.map(dimensionsOf)).toEqual([
        [streamDimensions('prod', 'siem')],
        [{ ...streamDimensions('prod', 'siem'), ErrorKind: 'throttled' }],
        [instanceDimensions('prod')],
      ]);
      for (const line of ours) expect(line.service).toBe(SERVICE_NAME);
    });
  });
});
