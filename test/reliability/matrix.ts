/**
 * Runs one cell of the fault matrix (a stream kind × a fault from faults.ts) and returns what it saw,
 * as problems (invariants broken) plus observations (what the docs table reports).
 *
 * Invariants, for every cell:
 * - zero loss: once caught up, the receiver holds every ground-truth id of the stream;
 * - duplicates bounded: repeats carry the same envelope, and fit in the batches the fault may re-send;
 * - never ahead: after every tick, every record before the stored checkpoint was acknowledged
 *   (a replay from the checkpoint on the fault-free mirror, plus what the receiver holds, covers the truth);
 * - visible: the fault shows on the dashboard (a field of the stream health line, or an instance metric
 *   of the captured EMF) and in a log line saying what happened and what the collector will do;
 * - operator faults fail the invocation (operatorFailure) with a typed error and a remedy, move nothing,
 *   and after the operator's action collection completes;
 * - a stream-scoped Mimecast fault leaves the stream next to it untouched.
 */
import { appendFileSync } from 'node:fs';
import type { StreamId } from '../../lambda/core/streams';
import { CollectorError } from '../../lambda/errors';
import type { DynamoCheckpointStore } from '../../lambda/state/dynamodb-store';
import { CommitWitness, CrashError } from '../kit/stores';
import { BATCH, type FaultCase, STEP_MS } from './faults';
import {
  BYSTANDER,
  deliveryFigures,
  duplicateProblems,
  instanceMetrics,
  type Kind,
  lossProblems,
  type Rig,
  startRig,
  streamHealth,
  streamResult,
  type TickOptions,
  type TickRecord,
} from './support';

/** Ticks allowed after the fault (and the operator's action) before the stream must be caught up. */
export const MAX_RECOVERY_TICKS = 8;

export interface Cell {
  kind: Kind;
  fault: FaultCase;
}

export interface Observation {
  kind: string;
  fault: string;
  /** Target stream's outcome per faulted tick. */
  outcomes: string[];
  error?: string;
  remedy?: string;
  shows: string;
  shownValue?: unknown;
  log?: string;
  operatorFailure: boolean;
  fired: number;
  ticks: number;
  events: number;
  duplicates: number;
  /** Ids repeated, in batches of the engine's size. */
  resentBatches: number;
  ms: number;
}

export interface CellReport {
  problems: string[];
  observation: Observation;
}

let instances = 0;

function events(kind: Kind): Partial<Record<StreamId, number>> {
  return { [kind.stream]: kind.id === 'threat-feed' ? 12 : 45, [BYSTANDER]: 20 };
}

export async function runCell(cell: Cell, store: DynamoCheckpointStore): Promise<CellReport> {
  const started = Date.now();
  const { kind, fault } = cell;
  instances += 1;
  const rig = await startRig({
    kind,
    store,
    instance: `m${process.pid % 10_000}-${instances}`,
    bystander: fault.bystander,
    events: events(kind),
  });
  try {
    return await exercise(rig, cell, started);
  } finally {
    await rig.stop();
  }
}

async function exercise(rig: Rig, { kind, fault }: Cell, started: number): Promise<CellReport> {
  const stream = kind.stream;
  const want = fault.expect(kind);
  const problems: string[] = [];
  const note = (ok: boolean, problem: string): void => {
    if (!ok) problems.push(problem);
  };
  const all: TickRecord[] = [];
  const held = (s: StreamId) => rig.envelopes(s).map((e) => e.id);
  const tick = async (options: TickOptions = {}): Promise<TickRecord> => {
    // Every commit is witnessed next to the real store, so it sees exactly what was written.
    let witness: CommitWitness | undefined;
    const record = await rig.tick({
      ...options,
      wrapStore: (store) => {
        witness = new CommitWitness(store, held, rig.streams);
        return options.wrapStore ? options.wrapStore(witness) : witness;
      },
    });
    all.push(record);
    const at = `tick ${all.length}`;
    for (const p of (await witness?.check(rig.replayFrom, rig.truth)) ?? [])
      problems.push(`during ${at}: ${p}`);
    for (const s of rig.streams) {
      for (const p of await rig.positionProblems(s)) problems.push(`after ${at}: ${p}`);
    }
    return record;
  };

  // 1. The faulted ticks.
  const armed = fault.arm(rig);
  const faulted: TickRecord[] = [];
  let leaseAfterFirst: string | undefined;
  for (const plan of armed.ticks ?? [{}]) {
    plan.before?.();
    faulted.push(await tick(plan.options));
    if (faulted.length === 1) leaseAfterFirst = (await rig.checkpoint(stream))?.lease?.owner;
    rig.clock.advance(plan.advanceMs ?? STEP_MS);
  }
  const first = streamResult(faulted[0]!, stream);
  note(armed.fired() > 0, 'the fault never fired');
  note(
    first.outcome === want.outcome,
    `first faulted tick ended "${first.outcome}", expected "${want.outcome}"`,
  );
  const errorKind =
    first.error === undefined
      ? 'none'
      : first.error instanceof CrashError
        ? 'crash'
        : first.error instanceof CollectorError
          ? first.error.kind
          : `foreign ${(first.error as Error)?.name}`;
  note(errorKind === want.error, `stopped with error "${errorKind}", expected "${want.error}"`);

  // Visible: on the dashboard and in a log line.
  const shown = shownValue(want.shows, faulted, stream, leaseAfterFirst);
  note(shown.ok, `${want.shows} not shown (saw ${JSON.stringify(shown.value)})`);
  const line = faulted
    .flatMap((r) => r.logs)
    .find((l) => want.log.test(l.message) && (l.stream === undefined || l.stream === stream));
  note(line !== undefined, `no log line matching ${want.log}`);
  note(
    line === undefined || want.says.test(JSON.stringify(line)),
    `log line "${line?.message}" does not say ${want.says}: ${JSON.stringify(line)}`,
  );

  // Operator faults fail the invocation with a typed error and a remedy; others never do.
  const preClear = new Set(rig.envelopes(stream).map((e) => e.id));
  if (!fault.recoverable) {
    for (const [i, record] of faulted.entries()) {
      const result = streamResult(record, stream);
      note(record.operatorFailure !== undefined, `faulted tick ${i + 1}: the invocation would not fail`);
      note(
        want.errorClass !== undefined && result.error instanceof want.errorClass,
        `faulted tick ${i + 1}: error is ${(result.error as Error)?.name}, expected ${want.errorClass?.name}`,
      );
      const remedy = result.error instanceof CollectorError ? result.error.remedy : '';
      note(remedy.length > 20, `faulted tick ${i + 1}: no remedy`);
      note(
        record.operatorFailure?.message.includes(remedy) ?? false,
        `faulted tick ${i + 1}: the invocation's error does not carry the remedy`,
      );
    }
    const checkpoint = await rig.checkpoint(stream);
    note(
      (checkpoint?.consecutiveFailures ?? 0) >= faulted.length,
      `consecutiveFailures ${checkpoint?.consecutiveFailures} after ${faulted.length} failed ticks`,
    );
    note(checkpoint?.lastError?.remedy !== undefined, 'the checkpoint does not keep the remedy');
    await armed.clear?.();
  } else {
    for (const [i, record] of faulted.entries()) {
      note(
        record.operatorFailure === undefined,
        `faulted tick ${i + 1}: a recoverable fault failed the invocation: ${record.operatorFailure?.message}`,
      );
    }
  }

  // 2. Until caught up.
  let caughtUp = false;
  for (let i = 0; i < MAX_RECOVERY_TICKS && !caughtUp; i += 1) {
    const record = await tick();
    note(record.operatorFailure === undefined, `recovery tick: the invocation would fail`);
    caughtUp =
      rig.streams.every((s) => streamResult(record, s).outcome === 'caught-up') &&
      lossProblems(stream, rig.truth(stream), rig.envelopes(stream)).length === 0;
    if (!caughtUp) rig.clock.advance(STEP_MS);
  }
  note(caughtUp, `not caught up ${MAX_RECOVERY_TICKS} ticks after the fault`);

  // 3. Zero loss, bounded duplicates.
  await armed.settle?.();
  const delivered = rig.envelopes(stream);
  problems.push(...lossProblems(stream, rig.truth(stream), delivered));
  if (want.resent === 'restart') {
    // An operator reset sends the stream again from the start, once: every repeat was delivered before it.
    problems.push(...duplicateProblems(stream, delivered, [], 0).filter((p) => p.includes('differ')));
    const counts = new Map<string, number>();
    for (const e of delivered) counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
    const bad = [...counts].filter(([id, n]) => n > 2 || (n === 2 && !preClear.has(id)));
    note(bad.length === 0, `${bad.length} ids repeated other than by the reset's one re-send`);
  } else {
    problems.push(...duplicateProblems(stream, delivered, rig.batches(stream), want.resent));
  }

  // A stream-scoped fault stays in its stream.
  if (fault.bystander) {
    const outcomes = all.map((r) => streamResult(r, BYSTANDER).outcome);
    note(
      outcomes[0] === 'caught-up',
      `bystander ${BYSTANDER} not caught up in the first tick: ${outcomes[0]}`,
    );
    note(!outcomes.includes('failed'), `bystander ${BYSTANDER} failed: ${outcomes.join(',')}`);
    const figures = deliveryFigures(rig.truth(BYSTANDER), rig.envelopes(BYSTANDER));
    note(
      figures.missing === 0 && figures.duplicates === 0,
      `bystander ${BYSTANDER}: ${JSON.stringify(figures)}`,
    );
  }

  const figures = deliveryFigures(rig.truth(stream), delivered);
  const error = first.error instanceof Error ? first.error : undefined;
  return {
    problems,
    observation: {
      kind: kind.id,
      fault: fault.id,
      outcomes: faulted.map((r) => streamResult(r, stream).outcome),
      ...(error === undefined ? {} : { error: error.name }),
      ...(error instanceof CollectorError ? { remedy: error.remedy } : {}),
      shows: want.shows,
      shownValue: shown.value,
      ...(line === undefined ? {} : { log: line.message }),
      operatorFailure: faulted.some((r) => r.operatorFailure !== undefined),
      fired: armed.fired(),
      ticks: all.length,
      events: figures.distinct,
      duplicates: figures.duplicates,
      resentBatches: Math.ceil(figures.duplicates / BATCH),
      ms: Date.now() - started,
    },
  };
}

function shownValue(
  spec: string,
  faulted: TickRecord[],
  stream: StreamId,
  leaseAfterFirst: string | undefined,
): { ok: boolean; value: unknown } {
  if (spec.startsWith('lease:')) {
    return { ok: leaseAfterFirst === spec.slice('lease:'.length), value: leaseAfterFirst };
  }
  if (spec.startsWith('instance:')) {
    const name = spec.slice('instance:'.length);
    const values = faulted.map((r) => instanceMetrics(r)[name] ?? 0);
    const value = Math.max(...values);
    return { ok: value > 0, value };
  }
  const [name, equals] = spec.split('=') as [string, string | undefined];
  const values = faulted.map((r) => streamHealth(r, stream)[name]).filter((v) => v !== undefined);
  if (equals !== undefined) {
    const value = values.find((v) => v === Number(equals));
    return { ok: value !== undefined, value: value ?? values };
  }
  const value = values.length === 0 ? undefined : Math.max(...values);
  return { ok: value !== undefined && value > 0, value };
}

/** Appends one observation as a JSON line to $RELIABILITY_REPORT, when set (how the docs table is filled). */
export function report(observation: Observation): void {
  const file = process.env.RELIABILITY_REPORT;
  if (file) appendFileSync(file, `${JSON.stringify(observation)}\n`);
}
