/**
 * The matrix's checks can fail: each case here runs a deliberately broken collector part through the
 * same cell runner as fault-matrix.test.ts and expects the matching invariant to report it. If one of
 * these passes without a problem, the matrix would be green for the wrong reason.
 */
import type { CheckpointStore } from '../../lambda/core/checkpoint';
import type { Sink } from '../../lambda/core/ports';
import { type LocalCheckpointStore, openLocalCheckpointStore } from '../../lambda/state/local-store';
import { StoreProxy } from '../kit/stores';
import { type Expectation, FAULTS, type FaultCase } from './faults';
import { runCell } from './matrix';
import { closeSharedDispatcher, KINDS } from './support';

const AUDIT = KINDS.find((k) => k.id === 'audit')!;

/** What a clean run looks like: the broken part is the only thing wrong. */
const CLEAN: Expectation = {
  outcome: 'caught-up',
  error: 'none',
  shows: 'events',
  log: /^stream tick finished$/,
  says: /"events":\d+/,
  resent: 0,
};

function mutant(
  id: string,
  wrap: { sink?: (sink: Sink) => Sink; store?: (store: CheckpointStore) => CheckpointStore },
): FaultCase {
  return {
    id,
    title: id,
    side: 'receiver',
    recoverable: true,
    bystander: false,
    arm: () => ({
      fired: () => 1,
      ticks: [
        {
          options: {
            ...(wrap.sink ? { wrapSink: wrap.sink } : {}),
            ...(wrap.store ? { wrapStore: wrap.store } : {}),
          },
        },
      ],
    }),
    expect: () => CLEAN,
  };
}

/** A sink that handles the nth batch its own way. */
function onBatch(
  n: number,
  handle: (inner: Sink, ...args: Parameters<Sink['send']>) => ReturnType<Sink['send']>,
) {
  return (inner: Sink): Sink => {
    let count = 0;
    return {
      sizeOf: (envelope) => inner.sizeOf(envelope),
      send: (batch, budget) => {
        count += 1;
        return count === n ? handle(inner, batch, budget) : inner.send(batch, budget);
      },
    };
  };
}

let db: LocalCheckpointStore;
beforeAll(async () => {
  db = await openLocalCheckpointStore();
});
afterAll(async () => {
  await db.close();
  await closeSharedDispatcher();
});

const run = async (fault: FaultCase) => (await runCell({ kind: AUDIT, fault }, db.store)).problems;

describe('the matrix checks catch a broken collector', () => {
  it('a sink that reports a batch acknowledged that never reached the receiver: loss and a checkpoint ahead', async () => {
    const problems = await run(
      mutant('ack-without-delivery', { sink: onBatch(2, async () => ({ bytes: 0 })) }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /after tick 1: audit: checkpoint .* is past 7 record\(s\) the receiver never acknowledged/,
        ),
        expect.stringMatching(/audit: 7 of 45 events lost/),
      ]),
    );
  });

  it('a store that commits a few records further than acknowledged: a checkpoint ahead', async () => {
    const ahead = (inner: CheckpointStore) =>
      new (class extends StoreProxy {
        override commitProgress(...[key, token, update]: Parameters<StoreProxy['commitProgress']>) {
          return super.commitProgress(
            key,
            token,
            update.offset > 0 ? { ...update, offset: update.offset + 2 } : update,
          );
        }
      })(inner);
    const problems = await run(mutant('commit-ahead', { store: ahead }));
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /during tick 1: audit: a commit wrote .* while \d+ record\(s\) before it were not acknowledged/,
        ),
      ]),
    );
  });

  it('a sink that sends every batch twice: duplicates beyond what the fault allows', async () => {
    const twice = (inner: Sink): Sink => ({
      sizeOf: (envelope) => inner.sizeOf(envelope),
      send: async (batch, budget) => {
        await inner.send(batch, budget);
        return inner.send(batch, budget);
      },
    });
    const problems = await run(mutant('send-twice', { sink: twice }));
    expect(problems).toEqual([
      'audit: 45 ids delivered more than 1 times',
      'audit: 45 repeated ids do not fit in 0 re-sent batch(es) (45 left over)',
    ]);
  });

  it('a re-sent event that differs from its first copy: repeats must be identical', async () => {
    const altered = onBatch(3, async (inner, batch, budget) => {
      await inner.send(batch, budget);
      return inner.send(
        batch.map((e) => ({ ...e, logType: `${e.logType}-changed` })),
        budget,
      );
    });
    const problems = await run({
      ...mutant('resend-altered', { sink: altered }),
      expect: () => ({ ...CLEAN, resent: 1 }),
    });
    expect(problems).toEqual([
      expect.stringMatching(/audit: 7 repeats differ from the first copy of their id/),
    ]);
  });

  it('a fault that is not shown: no health field, no log line', async () => {
    const burst = FAULTS.find((f) => f.id === 'mc-5xx-burst')!;
    const problems = await run({
      ...burst,
      expect: (kind) => ({ ...burst.expect(kind), shows: 'throttledCalls', log: /^stream throttled/ }),
    });
    expect(problems).toEqual([
      'throttledCalls not shown (saw 0)',
      'no log line matching /^stream throttled/',
    ]);
  });

  it('an operator fault that would not fail the invocation', async () => {
    const burst = FAULTS.find((f) => f.id === 'mc-5xx-burst')!;
    const problems = await run({ ...burst, recoverable: false });
    expect(problems).toEqual(expect.arrayContaining(['faulted tick 1: the invocation would not fail']));
  });
});
