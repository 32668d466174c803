/**
 * The Lambda handler as Lambda runs it: a scheduled event in, with the stack's environment pointed
 * at loopback parts — events at the receiver, checkpoints in dynalite, its health (EMF metrics and
 * stream health lines) on stdout.
 */
import type { StreamId } from '../../lambda/core/streams';
import { STREAM_HEALTH_MESSAGE } from '../../lambda/telemetry/health-log';
import { INSTANCE_METRICS, METRICS_NAMESPACE } from '../../lambda/telemetry/metric-names';
import type { CapturedOutput } from '../support/capture-output';
import { emfDatapoints, metricIdentity } from '../support/emf';
import { expectedEventId } from '../support/event-ids';
import { coldStart, invoke, scheduledEvent } from '../support/lambda';
import { startWorld, WORLD_INSTANCE, type World } from '../support/world';

const STREAMS: StreamId[] = ['audit', 'siem', 'ttp-url'];

/** Values of one metric (name and exact dimension set) in what the invocation wrote. */
function metricValue(output: CapturedOutput, name: string, dimensions: Record<string, string>): number[] {
  return emfDatapoints(output.json())
    .filter((p) => p.namespace === METRICS_NAMESPACE && p.name === name)
    .filter((p) => metricIdentity(p) === metricIdentity({ namespace: METRICS_NAMESPACE, name, dimensions }))
    .map((p) => p.value);
}

describe('handler', () => {
  let world: World;
  const savedEnv = { ...process.env };

  beforeEach(async () => {
    world = await startWorld({
      streams: STREAMS,
      simulator: { seed: 11, events: { audit: 30, siem: 40, 'ttp-url': 25 } },
    });
  });

  afterEach(async () => {
    process.env = { ...savedEnv };
    await world.stop();
  });

  it('collects every configured stream on a scheduled tick, checkpoints it, and emits health metrics', async () => {
    await world.storeCredentials({ wrap: true });
    const handler = coldStart(world.env());
    const { outcome, output } = await invoke(handler, scheduledEvent);

    expect(outcome?.ok).toBe(true);
    const expected = STREAMS.flatMap((s) =>
      world.simulator.groundTruth(s, 2).map((e) => expectedEventId(s, e)),
    );
    expect(new Set(world.receiver.ids())).toEqual(new Set(expected));
    expect(world.receiver.ids()).toHaveLength(expected.length);

    const checkpoints = await world.dynamo.store.list(WORLD_INSTANCE);
    expect(checkpoints.map((c) => c.stream).sort()).toEqual([...STREAMS].sort());
    for (const c of checkpoints) {
      expect(c.lease).toBeUndefined();
      expect(c.totals.events).toBe(world.simulator.groundTruth(c.stream, 2).length);
    }

    const health = output.json().filter((l) => l.message === STREAM_HEALTH_MESSAGE);
    for (const stream of STREAMS) {
      expect(health.filter((l) => l.stream === stream)).toEqual([
        expect.objectContaining({
          instance: WORLD_INSTANCE,
          healthy: 1,
          lagging: 0,
          events: world.simulator.groundTruth(stream, 2).length,
        }),
      ]);
    }
    const instance = { service: 'mimecast-collector', Instance: WORLD_INSTANCE };
    expect(metricValue(output, INSTANCE_METRICS.streamsFailed, instance)).toEqual([0]);
    expect(metricValue(output, INSTANCE_METRICS.streamsLagging, instance)).toEqual([0]);

    // A second tick finds nothing new and forwards nothing twice.
    const again = (await invoke(handler, scheduledEvent)).outcome!;
    expect(again.streams.every((s) => s.outcome === 'caught-up' && s.events === 0)).toBe(true);
    expect(world.receiver.ids()).toHaveLength(expected.length);
  });

  it('narrows the tick to the streams the event names', async () => {
    await world.storeCredentials();
    const handler = coldStart(world.env());
    const { outcome } = await invoke(handler, { ...scheduledEvent, streams: ['audit'] });
    expect(outcome?.streams.map((s) => s.stream)).toEqual(['audit']);
    expect(await world.dynamo.store.list(WORLD_INSTANCE)).toHaveLength(1);
  });

  it('fails the invocation and counts the streams refused when the key is wrong', async () => {
    await world.storeCredentials({
      mutate: (doc) => {
        doc.clientSecret = 'not-the-right-secret';
      },
    });
    const handler = coldStart(world.env());
    const { failure, output } = await invoke(handler, scheduledEvent);
    expect(failure).toBeInstanceOf(AggregateError);
    expect((failure as Error).message).toMatch(/need an operator/);
    expect(
      metricValue(output, INSTANCE_METRICS.streamsRefused, {
        service: 'mimecast-collector',
        Instance: WORLD_INSTANCE,
      }),
    ).toEqual([STREAMS.length]);
    expect(
      output
        .json()
        .filter((l) => l.message === STREAM_HEALTH_MESSAGE)
        .map((l) => [l.stream, l.healthy, (l.error as { kind: string }).kind]),
    ).toEqual(STREAMS.map((s) => [s, 0, 'authentication']));
    expect(world.receiver.ids()).toHaveLength(0);
    expect(output.text()).not.toContain('not-the-right-secret');
  });

  it('reports every bad environment variable at once before any call', async () => {
    const handler = coldStart(
      world.env({
        MIMECAST_API_VERSION: '3',
        SINK_URL: 'http://siem.example.com/ingest',
        COLLECTOR_STREAMS: 'nope',
      }),
    );
    const { failure } = await invoke(handler, scheduledEvent);
    expect(String((failure as Error).message)).toMatch(
      /MIMECAST_API_VERSION.*SINK_URL.*COLLECTOR_STREAMS|MIMECAST_API_VERSION.*COLLECTOR_STREAMS.*SINK_URL/s,
    );
    expect(world.aws.calls()).toHaveLength(0);
  });
});
