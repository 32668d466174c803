/**
 * The tick as the Lambda runs it (collectTick → buildTick) takes its clock and its limits from the
 * settings and the overrides, nowhere else: the page budget is the settings' `maxPagesPerStream`, and the
 * engine, the client and the destination all read the clock the caller passed.
 */
import { collectTick } from '../../lambda/tick';
import { rigSettings } from '../kit/settings';
import { BATCH, INSTANCE, MARGIN_S, rigPerTest } from './support';

const rigFor = rigPerTest();

it('collectTick runs on the clock and the page budget it is given', async () => {
  const rig = await rigFor({ api: 2 });
  const container = rig.container();
  // An hour ahead of the wall clock: a result stamped with it can only come from this clock.
  const clock = { now: () => Date.now() + 3_600_000 };
  const before = clock.now();
  const { result } = await collectTick({
    config: rigSettings({
      instance: INSTANCE,
      apiVersion: 2,
      mimecastBaseUrl: rig.sim.url,
      streams: ['audit', 'ttp-url'],
      collectionStart: rig.collectionStart,
      sinkUrl: rig.receiver.url,
      sinkFormat: 'ndjson',
      latenessMarginSeconds: MARGIN_S,
      batchMaxEvents: BATCH,
      maxPagesPerStream: 1,
    }),
    adapters: {
      log: container.log,
      credentials: container.credentials,
      store: container.store,
      dispatcher: container.dispatcher,
    },
    owner: 'root-test',
    deadline: clock.now() + 60_000,
    overrides: { clock, limits: { leaseMs: 1000 } },
  });
  expect(Date.parse(result.startedAt)).toBeGreaterThanOrEqual(before);
  expect(result.streams.map((s) => [s.stream, s.outcome, s.pages])).toEqual([
    ['audit', 'budget-exhausted', 1],
    ['ttp-url', 'budget-exhausted', 1],
  ]);
  // The one page each stream read was delivered and committed.
  for (const stream of ['audit', 'ttp-url'] as const) {
    const checkpoint = await rig.checkpoint(stream);
    expect(checkpoint?.totals.pages).toBe(1);
    expect(rig.delivered(stream)).toHaveLength(checkpoint!.totals.events);
  }
});
