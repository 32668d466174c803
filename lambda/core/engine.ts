/**
 * The collection engine: one tick over every stream (docs/ARCHITECTURE.md, "Delivery guarantee").
 *
 * Per stream: take the lease, read the checkpoint (or seed it), then page by page wrap records in
 * envelopes, batch them, send, and only then commit the position the sink acknowledged. A crash at
 * any point loses nothing and repeats at most the batch in flight. Streams run concurrently and are
 * isolated: whatever happens to one becomes that stream's result, never the others'.
 *
 * Batches may span pages: a page whose records are still in the batch is committed with that batch
 * (its end cursor, offset 0), never before the sink acknowledged them. Progress inside a page is
 * committed as `{cursor: page.cursor ?? requested cursor, offset}` (ports.ts, `Page.cursor`).
 *
 * Counting: a 429 counts in `throttledCalls` only; other source errors count in `mimecastErrors` by
 * kind (a non-CollectorError from a source as `protocol`: an unexpected body the decoder missed).
 *
 * Where things are: the limits and their defaults in limits.ts, one stream's run in stream-run.ts
 * (pages in) and stream-progress.ts (batches out, checkpoint commits), async helpers in async.ts.
 *
 * Pure: no AWS SDK, no HTTP client, no environment. Time comes from the injected clock.
 */
import { ConfigError, type ConfigProblem } from '../errors';
import { sleep } from './abortable';
import { deadlineSignal, mapBounded } from './async';
import type { CheckpointStore } from './checkpoint';
import { describeError } from './describe';
import { type EngineLimits, resolveLimits } from './limits';
import type { Clock, Log, Sink, StreamSource } from './ports';
import type { TickResult } from './results';
import { emptyResult, type TickContext } from './stream-progress';
import { StreamRun } from './stream-run';

export interface TickInput {
  instance: string;
  /** Unique id of this invocation (e.g. the Lambda request id); the lease owner. */
  owner: string;
  sources: readonly StreamSource[];
  store: CheckpointStore;
  sink: Sink;
  log: Log;
  clock: Clock;
  /** Where a stream collected for the first time starts (undefined = now). Never rewinds a checkpoint. */
  collectionStart?: Date;
  /** Epoch ms by which the tick must be over (the caller passes the Lambda's remaining time). */
  deadline: number;
  /** Overrides of DEFAULT_LIMITS. */
  limits?: Partial<EngineLimits>;
  /** Aborts the tick (shutdown); streams stop as if their time budget ended. */
  signal?: AbortSignal;
  /** Waits `ms` or until `signal` aborts; injectable so tests need not wait. Default: a timer. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** Runs one tick over every source. Throws only for invalid input (ConfigError), before any work. */
export async function runTick(input: TickInput): Promise<TickResult> {
  const limits = resolveLimits(input.limits);
  validateInput(input);
  const startedAt = input.clock.now();
  const fetchUntil = input.deadline - limits.safetyMarginMs;
  const sendUntil = input.deadline - Math.floor(limits.safetyMarginMs / 2);
  const fetchSignal = deadlineSignal(fetchUntil - startedAt, input.signal);
  const sendSignal = deadlineSignal(sendUntil - startedAt, input.signal);
  const context: TickContext = {
    ...input,
    limits,
    fetchBudget: { signal: fetchSignal.signal, deadline: fetchUntil },
    sendBudget: { signal: sendSignal.signal, deadline: sendUntil },
    leaseExpiresAt: Math.max(startedAt + limits.leaseMs, input.deadline),
    sleep: input.sleep ?? sleep,
  };
  try {
    const streams = await mapBounded(input.sources, limits.concurrency, async (source) => {
      try {
        return await new StreamRun(context, source).run();
      } catch (error) {
        // Only the lease acquisition can get here (e.g. the store is unreachable): nothing was taken.
        input.log
          .child({ instance: input.instance, stream: source.stream })
          .error('stream failed before collection', { error: describeError(error) });
        return { ...emptyResult(source.stream), outcome: 'failed' as const, error };
      }
    });
    return {
      instance: input.instance,
      startedAt: new Date(startedAt).toISOString(),
      finishedAt: new Date(input.clock.now()).toISOString(),
      streams,
    };
  } finally {
    fetchSignal.dispose();
    sendSignal.dispose();
  }
}

function validateInput(input: TickInput): void {
  const problems: ConfigProblem[] = [];
  if (input.instance.trim() === '') problems.push({ field: 'instance', problem: 'must not be empty' });
  if (input.owner.trim() === '') problems.push({ field: 'owner', problem: 'must not be empty' });
  if (!Number.isFinite(input.deadline)) problems.push({ field: 'deadline', problem: 'must be epoch ms' });
  if (input.collectionStart !== undefined && Number.isNaN(input.collectionStart.getTime())) {
    problems.push({ field: 'collectionStart', problem: 'is not a valid date' });
  }
  const seen = new Set<string>();
  for (const source of input.sources) {
    if (seen.has(source.stream)) {
      problems.push({ field: 'sources', problem: `stream "${source.stream}" appears twice` });
    }
    seen.add(source.stream);
  }
  if (problems.length > 0) throw new ConfigError('tick input', problems);
}
