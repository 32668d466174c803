/**
 * The reliability checker itself: a checkpoint written in the middle of a late-data re-check is not
 * ahead of the receiver. Replaying from it must go on past the re-check into the main pass (as the next
 * tick does), or every event published after that commit looks lost. The soak test met this at random.
 */
import { expectNeverAhead, inLateRecheck, outcomes, rigPerTest } from '../integration/support';
import { CommitWitness } from '../kit/stores';

const rigFor = rigPerTest();
const MINUTE = 60_000;

it('replays from a checkpoint inside a late-data re-check through to the main pass', async () => {
  const rig = await rigFor({ api: 2, latenessMarginSeconds: 300 });
  const stream = 'audit';
  const witness = new CommitWitness(rig.dynamo.store, (s) => rig.delivered(s), [stream]);
  const tick = async (): Promise<void> => {
    rig.sim.publish(stream, 3);
    const result = await rig.run({ streams: [stream], store: witness });
    expect(outcomes(result)[stream]).toBe('caught-up');
    rig.clock.advance(5 * MINUTE);
  };
  for (let i = 0; i < 4; i += 1) await tick();
  rig.sim.publish(stream, 12, { lateBySeconds: 20 * 60 });
  for (let i = 0; i < 14; i += 1) await tick();

  // The scenario holds a commit inside a re-check, with events published after it.
  expect(witness.commits.some((commit) => inLateRecheck(commit.cursor))).toBe(true);
  await expectNeverAhead(rig, witness);
});
