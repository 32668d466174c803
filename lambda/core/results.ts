import type { ErrorKind } from '../errors';
import type { GapFillCounts } from './gap-fill';
import type { StreamId } from './streams';

/**
 * How one stream's tick ended.
 * - `caught-up`: Mimecast has nothing newer; everything fetched was delivered.
 * - `budget-exhausted`: stopped by the page or time budget with data left; resumes next tick.
 * - `throttled`: Mimecast said 429; what was fetched was delivered, `notBefore` recorded.
 * - `waiting`: an earlier throttle's `notBefore` has not passed; no call made.
 * - `lease-held`: another run holds this stream; skipped.
 * - `failed`: stopped by an error; the checkpoint stays at the last acknowledged batch.
 */
export type StreamOutcome =
  | 'caught-up'
  | 'budget-exhausted'
  | 'throttled'
  | 'waiting'
  | 'lease-held'
  | 'failed';

export interface StreamResult {
  stream: StreamId;
  outcome: StreamOutcome;
  /** Events acknowledged by the sink in this tick. */
  events: number;
  /** Pages fully fetched in this tick. */
  pages: number;
  /** Bytes put on the wire to the sink in this tick. */
  bytes: number;
  /** 429 answers from Mimecast in this tick. */
  throttledCalls: number;
  /** Mimecast-side errors in this tick, counted by class. */
  mimecastErrors: Partial<Record<ErrorKind, number>>;
  /** Batches the sink failed to acknowledge in this tick. */
  sinkErrors: number;
  /** Newest event time ever delivered for this stream (ISO-8601 UTC), from the checkpoint. */
  newestEventTime?: string;
  /** Seconds between now and `newestEventTime`. */
  lagSeconds?: number;
  /** The error that ended the tick, when `outcome` is `failed`. */
  error?: unknown;
  /**
   * Push-primary streams only: of the events acknowledged (`events`), how many push had delivered
   * (left out), how many only the pull found (a push gap), how many went unchecked (core/gap-fill.ts).
   */
  gapFill?: GapFillCounts;
}

export interface TickResult {
  instance: string;
  startedAt: string;
  finishedAt: string;
  streams: StreamResult[];
}

/** Idle, throttled, budget-limited and lease-skipped streams are healthy; only a failure is not. */
export function isHealthy(result: StreamResult): boolean {
  return result.outcome !== 'failed';
}
