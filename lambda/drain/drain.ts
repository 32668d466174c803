/**
 * The S3 drain: each object named by a notification (or a listing) is read, handed to the push
 * pipeline, and recorded as done only after the destination acknowledged all of it.
 *
 * Per object, in order: the done record is read (a re-delivered notification stops here, no write);
 * a claim is taken conditionally, expiring when this run's work on the object must be over (so a
 * crashed holder's claim lapses and a retry takes it); the object is read and forwarded under that
 * same deadline; then the done record is written conditionally on our claim. A failure releases the
 * claim and leaves no done record, so S3's (or SQS's) retry, or the next `drain`, forwards it again.
 * One object failing does not stop the others: they are drained and recorded, and the caller fails
 * the invocation afterwards.
 */

import { deadlineSignal } from '../core/async';
import type { Clock, Log } from '../core/ports';
import { CheckpointConflictError, CollectorError, TransientError } from '../errors';
import type { ObjectRef } from './notifications';
import type { DrainLedger, ForwardObject, IdentifiedObject, ObjectStore } from './ports';

/** A claim outlives the work it guards by this much, so the holder's own done write still finds it. */
export const CLAIM_MARGIN_MS = 30_000;
/** One object's work (read + forward) is cut after this long unless the run ends sooner. */
export const DEFAULT_OBJECT_TIMEOUT_MS = 10 * 60_000;

export interface DrainDeps {
  ledger: DrainLedger;
  objects: ObjectStore;
  forward: ForwardObject;
  log: Log;
  clock: Clock;
}

export interface DrainRun {
  /** Unique id of this invocation or command run: the claim owner. */
  owner: string;
  /** Epoch ms by which every object's work must be over (the Lambda's remaining time, less a margin). */
  deadline: number;
  objectTimeoutMs?: number;
  signal?: AbortSignal;
}

export type ObjectOutcome =
  | { object: ObjectRef; outcome: 'forwarded'; events: number; storedBytes: number }
  | { object: ObjectRef; outcome: 'already-done'; doneAt: string }
  | { object: ObjectRef; outcome: 'failed'; error: CollectorError };

export interface DrainReport {
  objects: ObjectOutcome[];
  forwarded: number;
  alreadyDone: number;
  failed: number;
  events: number;
}

function name(ref: ObjectRef): string {
  return `s3://${ref.bucket}/${ref.key}`;
}

/** Any failure as the collector's own error, naming the object. */
function asCollectorError(error: unknown, ref: ObjectRef): CollectorError {
  if (error instanceof CollectorError) return error;
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new TransientError(
    `Draining ${name(ref)} failed (${detail}).`,
    'It is not marked done: the retry of this notification, or the next `drain`, forwards it again.',
    { endpoint: name(ref), cause: error },
  );
}

async function drainOne(ref: ObjectRef, deps: DrainDeps, run: DrainRun): Promise<ObjectOutcome> {
  const now = deps.clock.now();
  const until = Math.min(run.deadline, now + (run.objectTimeoutMs ?? DEFAULT_OBJECT_TIMEOUT_MS));
  if (until <= now) {
    return {
      object: ref,
      outcome: 'failed',
      error: new TransientError(
        `No time left to drain ${name(ref)}.`,
        'It is not marked done: the retry of this notification, or the next `drain`, forwards it.',
        { endpoint: name(ref) },
      ),
    };
  }
  const budget = deadlineSignal(until - now, run.signal);
  let claimed: IdentifiedObject | undefined;
  try {
    const identity = ref.versionId ?? ref.etag ?? (await deps.objects.identify(ref, budget.signal));
    const object: IdentifiedObject = { ...ref, identity };
    const doneAt = await deps.ledger.doneAt(object);
    if (doneAt !== undefined) return { object: ref, outcome: 'already-done', doneAt };
    const claim = await deps.ledger.claim(object, run.owner, until + CLAIM_MARGIN_MS, deps.clock.now());
    if (claim.kind === 'done') return { object: ref, outcome: 'already-done', doneAt: claim.doneAt };
    if (claim.kind === 'held') {
      // Another run is forwarding it now. Failing (rather than skipping) keeps a second chance: if
      // that run dies, this notification's retry takes the lapsed claim; if it succeeds, the retry
      // finds the done record and adds nothing.
      throw new CheckpointConflictError(
        `${name(ref)} is being drained by another run ("${claim.owner}") until ${new Date(claim.expiresAt).toISOString()}.`,
        'Nothing to do: the retry finds it done, or takes it over once that claim expires.',
        { endpoint: name(ref) },
      );
    }
    claimed = object;
    const content = await deps.objects.read(object, budget.signal);
    const { events } = await deps.forward(
      { name: name(ref), body: content.body },
      { signal: budget.signal, deadline: until },
    );
    // Acknowledged by the destination: only now is the object done.
    await deps.ledger.complete(object, run.owner, {
      events,
      bytes: content.storedBytes,
      at: deps.clock.now(),
    });
    claimed = undefined;
    deps.log.info('drained object', {
      object: name(ref),
      events,
      bytes: content.storedBytes,
      gzip: content.gzip,
    });
    return { object: ref, outcome: 'forwarded', events, storedBytes: content.storedBytes };
  } catch (error) {
    const failure = asCollectorError(error, ref);
    deps.log.error('object not drained', { object: name(ref), error: failure.toJSON() });
    if (claimed !== undefined) {
      // Best effort: an unreleased claim lapses by itself at its expiry.
      await deps.ledger.release(claimed, run.owner, deps.clock.now()).catch(() => undefined);
    }
    return { object: ref, outcome: 'failed', error: failure };
  } finally {
    budget.dispose();
  }
}

/** Drains each object once, in order; never throws for one object's failure (see `drainFailure`). */
export async function drainObjects(
  refs: readonly ObjectRef[],
  deps: DrainDeps,
  run: DrainRun,
): Promise<DrainReport> {
  const objects: ObjectOutcome[] = [];
  for (const ref of refs) objects.push(await drainOne(ref, deps, run));
  return {
    objects,
    forwarded: objects.filter((o) => o.outcome === 'forwarded').length,
    alreadyDone: objects.filter((o) => o.outcome === 'already-done').length,
    failed: objects.filter((o) => o.outcome === 'failed').length,
    events: objects.reduce((sum, o) => sum + (o.outcome === 'forwarded' ? o.events : 0), 0),
  };
}

/**
 * The error that must fail the invocation, or undefined when every object was drained or was done.
 * With several failures, the first is thrown and its message counts the others (each was logged).
 */
export function drainFailure(report: DrainReport): CollectorError | undefined {
  const failures = report.objects.flatMap((o) => (o.outcome === 'failed' ? [o.error] : []));
  const first = failures[0];
  if (first === undefined || failures.length === 1) return first;
  const others = failures.length - 1;
  const copy = Object.create(Object.getPrototypeOf(first)) as CollectorError;
  Object.defineProperties(copy, Object.getOwnPropertyDescriptors(first));
  Object.assign(copy, {
    message: `${first.message} (and ${others} other object${others === 1 ? '' : 's'} of this event failed; each is logged)`,
  });
  return copy;
}
