/**
 * The tick's health, asserted on what Powertools writes to stdout, as CloudWatch would read it: one
 * EMF line with the four instance metrics, and one stream health log line per stream.
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { StreamResult, TickResult } from '../../lambda/core/results';
import { STREAM_IDS } from '../../lambda/core/streams';
import { AuthenticationError, PermissionError, TransientError } from '../../lambda/errors';
import { STREAM_HEALTH_MESSAGE } from '../../lambda/telemetry/health-log';
import { createLogger } from '../../lambda/telemetry/logger';
import {
  INSTANCE_METRICS,
  instanceDimensions,
  METRICS_NAMESPACE,
  PUSH_METRICS,
  PUSH_PATH_METRICS,
  PUSH_REASON_DIMENSION,
  PUSH_STREAM_DIMENSION,
  SERVICE_NAME,
} from '../../lambda/telemetry/metric-names';
import { publishPushOutcome } from '../../lambda/telemetry/push-metrics';
import { createMetrics, createTickTelemetry, type LagAlarmSeconds } from '../../lambda/telemetry/tick-health';
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
const THRESHOLDS: LagAlarmSeconds = { siem: 7200, audit: 86_400, dlp: 86_400, 'ttp-url': 86_400 };

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

function publish(result: TickResult, metrics: Metrics = createMetrics(), thresholds = THRESHOLDS): void {
  createTickTelemetry({
    instance: 'prod',
    metrics,
    log: createLogger({ instance: 'prod' }),
    lagAlarmSeconds: thresholds,
  }).publish(result, NOW);
}

let output: CapturedOutput;
beforeEach(() => {
  output = captureOutput();
});
afterEach(() => output.restore());

function emfLines(): Emf[] {
  return output.json().filter((line) => line._aws !== undefined) as Emf[];
}

function healthLines(): Record<string, unknown>[] {
  return output.json().filter((line) => line.message === STREAM_HEALTH_MESSAGE);
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

const caughtUp = stream({
  stream: 'siem',
  outcome: 'caught-up',
  events: 1200,
  pages: 3,
  bytes: 456_789,
  throttledCalls: 1,
  mimecastErrors: { transient: 1 },
  newestEventTime: new Date(NOW - 90_000).toISOString(),
  lagSeconds: 90,
});
const refused = stream({
  stream: 'audit',
  outcome: 'failed',
  mimecastErrors: { authentication: 1, transient: 2, protocol: 0 },
  sinkErrors: 1,
  error: new AuthenticationError('401 from Mimecast', 'Check the keys.', { stream: 'audit', status: 401 }),
});
const behind = stream({
  stream: 'ttp-url',
  outcome: 'caught-up',
  newestEventTime: new Date(NOW - 90_000_000).toISOString(),
});

describe('the EMF line', () => {
  it('is one line per tick: the three instance metrics, Count, under exactly the instance dimensions', () => {
    publish(tick([caughtUp, refused, behind]));
    const lines = emfLines();
    expect(lines).toHaveLength(1);
    const [line] = lines;
    expect(line!._aws.CloudWatchMetrics).toHaveLength(1);
    expect(line!._aws.CloudWatchMetrics[0]!.Namespace).toBe(METRICS_NAMESPACE);
    expect(line!._aws.Timestamp).toBe(NOW);
    expect(dimensionsOf(line!)).toEqual([instanceDimensions('prod')]);
    expect(metricsOf(line!)).toEqual({
      [INSTANCE_METRICS.streamsRefused]: ['Count', 1],
      [INSTANCE_METRICS.streamsFailed]: ['Count', 1],
      [INSTANCE_METRICS.streamsLagging]: ['Count', 1],
    });
    // The streams behind the counts, on the metric's own line.
    expect(line!.failedStreams).toBe('audit');
    expect(line!.laggingStreams).toBe('ttp-url');
    expect(line!.refusedStreams).toBe('audit:authentication');
  });

  it('does not grow with the streams: the same four metrics and one dimension set for one stream or all of them', () => {
    publish(tick([caughtUp]));
    publish(tick(STREAM_IDS.map((id) => stream({ stream: id, outcome: 'caught-up' }))));
    const [one, ten] = emfLines();
    expect(Object.keys(metricsOf(ten!))).toEqual(Object.keys(metricsOf(one!)));
    expect(dimensionsOf(ten!)).toEqual(dimensionsOf(one!));
  });

  it('counts permission refusals like key refusals, and failures of any class in StreamsFailed', () => {
    const denied = stream({
      stream: 'dlp',
      outcome: 'failed',
      error: new PermissionError('403', 'Grant it.'),
    });
    const flaky = stream({ stream: 'dlp', outcome: 'failed', error: new TransientError('503', 'Wait.') });
    publish(tick([denied]));
    publish(tick([flaky]));
    publish(tick([caughtUp, stream({ stream: 'dlp', outcome: 'throttled' })]));
    expect(emfLines().map(metricsOf)).toEqual([
      {
        StreamsRefused: ['Count', 1],
        StreamsFailed: ['Count', 1],
        StreamsLagging: ['Count', 0],
      },
      {
        StreamsRefused: ['Count', 0],
        StreamsFailed: ['Count', 1],
        StreamsLagging: ['Count', 0],
      },
      {
        StreamsRefused: ['Count', 0],
        StreamsFailed: ['Count', 0],
        StreamsLagging: ['Count', 0],
      },
    ]);
  });

  it('judges each stream against its own threshold, strictly above it, and never a stream that never delivered', () => {
    const at = (id: 'siem' | 'audit', seconds: number) =>
      stream({
        stream: id,
        outcome: 'caught-up',
        newestEventTime: new Date(NOW - seconds * 1000).toISOString(),
      });
    publish(tick([at('siem', 7200), at('audit', 7201)]));
    publish(tick([at('siem', 7201), stream({ stream: 'dlp', outcome: 'caught-up' })]));
    publish(tick([at('siem', 100_000)]), createMetrics(), {});
    expect(emfLines().map((line) => line.StreamsLagging)).toEqual([0, 1, 0]);
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

    it('still emits exactly the dimension set the alarms watch', () => {
      // Powertools would add service=some-other-service and the environment default dimension.
      const metrics = new Metrics({
        namespace: METRICS_NAMESPACE,
        defaultDimensions: { environment: 'prod' },
      });
      metrics.addMetric('Unrelated', 'Count', 1);
      publish(tick([caughtUp]), metrics);
      const lines = emfLines();
      // The caller's pending metric went out first, with its own dimensions.
      expect(lines[0]!.Unrelated).toBe(1);
      expect(lines.slice(1).map(dimensionsOf)).toEqual([[instanceDimensions('prod')]]);
      expect(lines[1]!.service).toBe(SERVICE_NAME);
    });
  });
});

describe('the stream health lines', () => {
  it('one INFO line per stream, with every per-stream figure, and nothing else on stdout', () => {
    publish(tick([caughtUp, refused, behind]));
    const lines = healthLines();
    expect(output.json()).toHaveLength(lines.length + 1);
    expect(lines.map((l) => [l.level, l.instance, l.stream])).toEqual([
      ['INFO', 'prod', 'siem'],
      ['INFO', 'prod', 'audit'],
      ['INFO', 'prod', 'ttp-url'],
    ]);
    expect(lines[0]).toMatchObject({
      outcome: 'caught-up',
      healthy: 1,
      events: 1200,
      pages: 3,
      bytes: 456_789,
      throttledCalls: 1,
      mimecastErrors: 1,
      mimecastErrorsByKind: { transient: 1 },
      sinkErrors: 0,
      lagSeconds: 90,
      lagAlarmSeconds: 7200,
      lagging: 0,
    });
    expect(lines[0]!.error).toBeUndefined();
  });

  it('a failed stream: healthy 0, errors by class (zero classes left out) and the error with its remedy', () => {
    publish(tick([refused]));
    const [line] = healthLines();
    expect(line).toMatchObject({
      stream: 'audit',
      outcome: 'failed',
      healthy: 0,
      mimecastErrors: 3,
      mimecastErrorsByKind: { authentication: 1, transient: 2 },
      sinkErrors: 1,
      lagging: 0,
      error: {
        kind: 'authentication',
        name: 'AuthenticationError',
        message: '401 from Mimecast',
        remedy: 'Check the keys.',
        status: 401,
      },
    });
    // No lag: the stream never delivered; a made-up 0 would look healthy.
    expect(line!.lagSeconds).toBeUndefined();
  });

  it('computes the lag from the newest event time when the engine gave none', () => {
    publish(tick([behind]));
    expect(healthLines()[0]).toMatchObject({ lagSeconds: 90_000, lagAlarmSeconds: 86_400, lagging: 1 });
  });
});

describe('push + pull metrics (docs/PUSH-GAP-FILL.md)', () => {
  it('adds PullEvents, PushGapEvents and PushMatchedEvents to the tick line only when a stream is push-primary', () => {
    publish(tick([caughtUp]));
    publish(
      tick([
        { ...caughtUp, gapFill: { alreadyPushed: 1100, gap: 90, unchecked: 10 } },
        stream({
          stream: 'audit',
          outcome: 'caught-up',
          gapFill: { alreadyPushed: 5, gap: 3, unchecked: 0 },
        }),
      ]),
    );
    const [plain, push] = emfLines();
    expect(Object.keys(metricsOf(plain!))).not.toContain(PUSH_METRICS.pushGapEvents);
    expect(metricsOf(push!)).toMatchObject({
      [PUSH_METRICS.pullEvents]: ['Count', 103],
      [PUSH_METRICS.pushGapEvents]: ['Count', 93],
      [PUSH_METRICS.pushMatchedEvents]: ['Count', 1105],
    });
    expect(dimensionsOf(push!)).toEqual([instanceDimensions('prod')]);
    const siem = healthLines().filter((line) => line.stream === 'siem');
    expect(siem[0]).not.toHaveProperty('pushGap');
    expect(siem[1]).toMatchObject({ alreadyPushed: 1100, pushGap: 90, uncheckedAgainstPush: 10 });
  });
});

describe('the push path (docs/PUSH.md, "Metrics")', () => {
  const lines = () =>
    emfLines().map((line) => ({ dimensions: dimensionsOf(line), metrics: metricsOf(line) }));
  const base = instanceDimensions('prod');

  it('forwarded: PushEvents under the instance dimensions, received and forwarded per stream', () => {
    publishPushOutcome(
      createMetrics(),
      'prod',
      { kind: 'forwarded', received: { siem: 450, audit: 50 }, forwarded: { siem: 450, audit: 50 } },
      NOW,
    );
    expect(lines()).toEqual([
      { dimensions: [base], metrics: { [PUSH_METRICS.pushEvents]: ['Count', 500] } },
      {
        dimensions: [{ ...base, [PUSH_STREAM_DIMENSION]: 'siem' }],
        metrics: {
          [PUSH_PATH_METRICS.pushEventsReceived]: ['Count', 450],
          [PUSH_PATH_METRICS.pushEventsForwarded]: ['Count', 450],
        },
      },
      {
        dimensions: [{ ...base, [PUSH_STREAM_DIMENSION]: 'audit' }],
        metrics: {
          [PUSH_PATH_METRICS.pushEventsReceived]: ['Count', 50],
          [PUSH_PATH_METRICS.pushEventsForwarded]: ['Count', 50],
        },
      },
    ]);
  });

  it('a destination failure: nothing delivered, one failure, the events received but none forwarded', () => {
    publishPushOutcome(createMetrics(), 'prod', { kind: 'failed', received: { siem: 7 } }, NOW);
    expect(lines()).toEqual([
      {
        dimensions: [base],
        metrics: {
          [PUSH_METRICS.pushEvents]: ['Count', 0],
          [PUSH_PATH_METRICS.pushDestinationFailures]: ['Count', 1],
        },
      },
      {
        dimensions: [{ ...base, [PUSH_STREAM_DIMENSION]: 'siem' }],
        metrics: {
          [PUSH_PATH_METRICS.pushEventsReceived]: ['Count', 7],
          [PUSH_PATH_METRICS.pushEventsForwarded]: ['Count', 0],
        },
      },
    ]);
  });

  it('a refusal: counted under its reason, nothing delivered', () => {
    for (const reason of ['token', 'body', 'too-large'] as const)
      publishPushOutcome(createMetrics(), 'prod', { kind: 'refused', reason }, NOW);
    const refusals = lines().filter((l) => PUSH_PATH_METRICS.pushRequestsRefused in l.metrics);
    expect(refusals).toEqual(
      ['token', 'body', 'too-large'].map((reason) => ({
        dimensions: [{ ...base, [PUSH_REASON_DIMENSION]: reason }],
        metrics: { [PUSH_PATH_METRICS.pushRequestsRefused]: ['Count', 1] },
      })),
    );
    expect(lines().filter((l) => PUSH_METRICS.pushEvents in l.metrics)).toHaveLength(3);
    for (const line of emfLines()) {
      expect(line._aws.CloudWatchMetrics[0]!.Namespace).toBe(METRICS_NAMESPACE);
      expect(line._aws.Timestamp).toBe(NOW);
    }
  });
});
