/**
 * The fault matrix (issue 7): every stream kind × every fault, each run until caught up, with the
 * invariants of matrix.ts checked after every tick. docs/RELIABILITY.md mirrors the table.
 */
import { type LocalCheckpointStore, openLocalCheckpointStore } from '../../lambda/state/local-store';
import { FAULTS } from './faults';
import { report, runCell } from './matrix';
import { closeSharedDispatcher, KINDS } from './support';

const CELLS = KINDS.flatMap((kind) =>
  FAULTS.filter((fault) => fault.notApplicable?.[kind.id] === undefined).map(
    (fault) => [kind.id, fault.id, { kind, fault }] as const,
  ),
);

let db: LocalCheckpointStore;
beforeAll(async () => {
  db = await openLocalCheckpointStore();
});
afterAll(async () => {
  await db.close();
  await closeSharedDispatcher();
});

describe.each(CELLS)('%s × %s', (_kind, _fault, cell) => {
  it('loses nothing, repeats at most what the fault allows, never checkpoints ahead, shows the fault', async () => {
    const { problems, observation } = await runCell(cell, db.store);
    report(observation);
    expect(problems).toEqual([]);
  }, 30_000);
});

it('covers every kind and every fault, and says why a fault cannot reach a kind', () => {
  for (const fault of FAULTS) {
    const applicable = KINDS.filter((kind) => fault.notApplicable?.[kind.id] === undefined);
    expect({ fault: fault.id, applicable: applicable.length > 0 }).toEqual({
      fault: fault.id,
      applicable: true,
    });
    for (const reason of Object.values(fault.notApplicable ?? {})) expect(reason.length).toBeGreaterThan(10);
  }
  expect(new Set(FAULTS.map((f) => f.id)).size).toBe(FAULTS.length);
});
