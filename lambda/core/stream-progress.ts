/**
 * One stream's batch in flight and its committed position: what the sink acknowledged moves the
 * checkpoint, and nothing else does (docs/ARCHITECTURE.md, "Delivery guarantee").
 * StreamRun (stream-run.ts) reads pages into it; this file sends and commits.
 */
import type { Hash } from 'node:crypto';
import {
  type Checkpoint,
  type CheckpointKey,
  type LeaseToken,
  laterTime,
  type ProgressUpdate,
} from './checkpoint';
import { RecentIds } from './dedup';
import type { TickInput } from './engine';
import type { Envelope } from './envelope';
import type { EngineLimits } from './limits';
import type { CallBudget, Cursor, Log, SourceRecord, StreamSource } from './ports';
import type { StreamResult } from './results';

/** What every stream of one tick shares: the input, the resolved limits and the two budgets. */
export interface TickContext extends Omit<TickInput, 'limits' | 'sleep'> {
  limits: EngineLimits;
  fetchBudget: CallBudget;
  sendBudget: CallBudget;
  leaseExpiresAt: number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
}

/**
 * Where the next unacknowledged record is: the page at `cursor`, after its first `offset` records.
 * With `offset` > 0 the cursor is always the one the page was fetched with as reported by the source
 * (`Page.cursor`), never an open cursor that would resolve to a different question later.
 */
export interface Position {
  cursor: Cursor;
  offset: number;
}

/** Internal tags: where a failure came from decides what the stream may still do. */
export class SourceFailure extends Error {
  constructor(readonly original: unknown) {
    super('source failure');
  }
}
export class SinkFailure extends Error {
  constructor(readonly original: unknown) {
    super('sink failure');
  }
}
export class StoreFailure extends Error {
  constructor(readonly original: unknown) {
    super('checkpoint store failure');
  }
}

/** The batch in flight and what was acknowledged since the last commit; StreamRun drives it. */
export class StreamProgress {
  protected readonly key: CheckpointKey;
  protected readonly result: StreamResult;
  protected readonly recent: RecentIds;
  /** The checkpoint as last read or written by us: its version conditions our next write. */
  protected checkpoint: Checkpoint | undefined;
  /** Position after every record consumed so far (those are pending, acknowledged or dropped repeats). */
  protected position: Position = { cursor: {}, offset: 0 };
  /** True when `position` moved since the last commit. */
  protected dirty = false;
  protected pending: Envelope[] = [];
  protected pendingBytes = 0;
  protected pendingNewest: string | undefined;
  /** Acknowledged by the sink but not yet committed. */
  protected acked = { events: 0, bytes: 0, pages: 0, newest: undefined as string | undefined };
  protected calls = 0;
  protected duplicatesDropped = 0;
  protected leaseLost = false;
  /** Hash of the ids, in order, of the page being read from its first record (`readPage`). */
  protected pageIds: Hash | undefined;
  /** The same for the last non-empty page read whole from its start in this tick. */
  protected previousPage: string | undefined;
  /** This stream's log: every line carries the instance and the stream. */
  protected readonly log: Log;

  constructor(
    protected readonly ctx: TickContext,
    protected readonly source: StreamSource,
  ) {
    this.key = { instance: ctx.instance, stream: source.stream };
    this.result = emptyResult(source.stream);
    this.recent = new RecentIds(ctx.limits.dedupMaxIds);
    this.log = ctx.log.child({ instance: ctx.instance, stream: source.stream });
  }

  /** Adds one record to the batch; returns true when a batch was sent. */
  protected async accept(record: SourceRecord, cursor: Cursor, consumed: number): Promise<boolean> {
    const { sink, limits } = this.ctx;
    // The source numbered the id over its answer (ports.ts, `SourceRecord.id`): no second hash here.
    const envelope: Envelope = {
      id: record.id,
      stream: this.source.stream,
      logType: record.logType,
      time: record.time,
      instance: this.ctx.instance,
      event: record.event,
    };
    this.pageIds?.update(`${envelope.id}\n`);
    if (this.recent.has(envelope.id)) {
      this.duplicatesDropped += 1;
      this.moveTo({ cursor, offset: consumed });
      return false;
    }
    let size: number;
    try {
      size = sink.sizeOf(envelope);
    } catch (error) {
      throw new SinkFailure(error);
    }
    let flushed = false;
    if (this.pending.length > 0 && this.pendingBytes + size > limits.batchMaxBytes) {
      await this.flush();
      flushed = true;
    }
    this.pending.push(envelope);
    this.pendingBytes += size;
    this.pendingNewest = laterTime(this.pendingNewest, envelope.time);
    this.recent.add(envelope.id);
    this.moveTo({ cursor, offset: consumed });
    if (this.pending.length >= limits.batchMaxEvents || this.pendingBytes >= limits.batchMaxBytes) {
      await this.flush();
      flushed = true;
    }
    return flushed;
  }

  /** Sends the batch (if any), then commits the position it reaches. Commits a moved position too. */
  protected async flush(options: { notBefore?: number } = {}): Promise<void> {
    if (this.pending.length > 0) {
      const batch = this.pending;
      const newest = this.pendingNewest;
      this.dropPending();
      let bytes: number;
      try {
        bytes = (await this.ctx.sink.send(batch, this.ctx.sendBudget)).bytes;
      } catch (error) {
        throw new SinkFailure(error);
      }
      this.result.events += batch.length;
      this.result.bytes += bytes;
      this.acked.events += batch.length;
      this.acked.bytes += bytes;
      this.acked.newest = laterTime(this.acked.newest, newest);
      await this.commit(options);
    } else if (this.dirty || options.notBefore !== undefined) {
      await this.commit(options);
    }
  }

  protected async commit(options: { notBefore?: number; seed?: boolean }): Promise<void> {
    const checkpoint = this.checkpoint!;
    const now = this.ctx.clock.now();
    const update: ProgressUpdate = {
      cursor: this.position.cursor,
      offset: this.position.offset,
      totals: {
        events: checkpoint.totals.events + this.acked.events,
        pages: checkpoint.totals.pages + this.acked.pages,
        bytes: checkpoint.totals.bytes + this.acked.bytes,
      },
      newestEventTime: laterTime(checkpoint.newestEventTime, this.acked.newest),
      notBefore: options.notBefore,
      succeededAt: options.seed ? undefined : now,
      at: now,
    };
    try {
      this.checkpoint = await this.ctx.store.commitProgress(this.key, this.token(), update);
    } catch (error) {
      throw new StoreFailure(error);
    }
    this.acked = { events: 0, bytes: 0, pages: 0, newest: undefined };
    this.dirty = false;
  }

  protected moveTo(position: Position): void {
    this.position = position;
    this.dirty = true;
  }

  protected dropPending(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingNewest = undefined;
  }

  protected timeUp(): boolean {
    return this.ctx.clock.now() >= this.ctx.fetchBudget.deadline || this.ctx.fetchBudget.signal.aborted;
  }

  protected token(): LeaseToken {
    return { owner: this.ctx.owner, version: this.checkpoint!.version };
  }
}

export function emptyResult(stream: StreamResult['stream']): StreamResult {
  return {
    stream,
    outcome: 'failed',
    events: 0,
    pages: 0,
    bytes: 0,
    throttledCalls: 0,
    mimecastErrors: {},
    sinkErrors: 0,
  };
}
