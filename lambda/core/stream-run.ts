/**
 * One stream's tick: take the lease, read the checkpoint (or seed it), read pages into the batch
 * (stream-progress.ts sends and commits), stop on the first of caught up, page budget, time budget,
 * throttle or failure, and release the lease. Whatever happens becomes this stream's result.
 */

import { createHash } from 'node:crypto';
import {
  CheckpointConflictError,
  CollectorError,
  type ErrorKind,
  PagingStalledError,
  ThrottledError,
} from '../errors';
import { closeQuietly } from './async';
import { toLastError } from './checkpoint';
import { describeError } from './describe';
import type { Cursor, Page, PageEnd, SourceRecord } from './ports';
import type { StreamOutcome, StreamResult } from './results';
import { SinkFailure, SourceFailure, StoreFailure, StreamProgress } from './stream-progress';

export class StreamRun extends StreamProgress {
  async run(): Promise<StreamResult> {
    const { store, owner, clock } = this.ctx;
    const log = this.log;
    const acquired = await store.acquireLease(
      this.key,
      { owner, expiresAt: this.ctx.leaseExpiresAt },
      clock.now(),
    );
    if (acquired === null) {
      this.result.outcome = 'lease-held';
      log.info('stream skipped: another run holds its lease');
      return this.result;
    }
    this.checkpoint = acquired;
    try {
      this.result.outcome = await this.collect();
    } catch (error) {
      await this.stopOnError(error);
    } finally {
      await this.release();
    }
    this.finish();
    return this.result;
  }

  protected async collect(): Promise<StreamOutcome> {
    const { clock, limits } = this.ctx;
    const log = this.log;
    const checkpoint = this.checkpoint!;
    const now = clock.now();
    if (checkpoint.notBefore !== undefined && checkpoint.notBefore > now) {
      log.info('stream waiting: throttled earlier', {
        notBefore: new Date(checkpoint.notBefore).toISOString(),
      });
      return 'waiting';
    }
    if (checkpoint.cursor === undefined) {
      await this.seed(now);
    } else {
      this.position = { cursor: checkpoint.cursor, offset: checkpoint.offset };
    }

    let inPlaceWaits = 0;
    let outcome: StreamOutcome | undefined;
    while (outcome === undefined) {
      if (this.calls >= limits.maxPagesPerStream) {
        outcome = 'budget-exhausted';
        log.info('stream stopped: page budget used', { calls: this.calls });
        break;
      }
      if (this.timeUp()) {
        outcome = 'budget-exhausted';
        log.info('stream stopped: time budget used');
        break;
      }
      try {
        outcome = await this.readPage();
      } catch (error) {
        if (!(error instanceof SourceFailure && error.original instanceof ThrottledError)) throw error;
        this.result.throttledCalls += 1;
        const waitMs = Math.max(0, error.original.retryAfterMs);
        const at = clock.now();
        const fits = at + waitMs < this.ctx.fetchBudget.deadline;
        if (
          waitMs <= limits.throttleWaitInPlaceMaxMs &&
          inPlaceWaits < limits.throttleRetriesInPlace &&
          fits
        ) {
          // Short wait: secure what was fetched, wait it out, and refetch from the committed position.
          await this.flush();
          inPlaceWaits += 1;
          log.info('stream throttled: waiting in place', { waitMs });
          await this.ctx.sleep(waitMs, this.ctx.fetchBudget.signal);
          continue;
        }
        await this.flush({ notBefore: at + waitMs });
        log.warn('stream throttled: stopped until notBefore', {
          notBefore: new Date(at + waitMs).toISOString(),
          error: describeError(error.original),
        });
        return 'throttled';
      }
    }
    await this.flush();
    return outcome;
  }

  /** Persists the first cursor at once: a retry must not seed again from a later "now". */
  protected async seed(now: number): Promise<void> {
    const requested = this.ctx.collectionStart?.getTime() ?? now;
    const start = new Date(Number.isFinite(requested) ? Math.min(requested, now) : now);
    let cursor: Cursor;
    try {
      cursor = this.source.seed(start, new Date(now));
    } catch (error) {
      throw new SourceFailure(error);
    }
    this.position = { cursor, offset: 0 };
    this.dirty = true;
    this.log.info('stream seeded', { start: start.toISOString() });
    await this.commit({ seed: true });
  }

  /** Reads one page from `position`. Returns an outcome when the stream should stop. */
  protected async readPage(): Promise<StreamOutcome | undefined> {
    const before = this.position;
    const { cursor: requested, offset: skip } = before;
    this.calls += 1;
    let page: Page;
    try {
      page = await this.source.fetchPage(requested, this.ctx.fetchBudget);
    } catch (error) {
      throw new SourceFailure(error);
    }
    // In-page positions name the question as actually asked (an open cursor resolved by the source),
    // so a resume re-asks exactly that question and skips the records it already delivered.
    const cursor = page.cursor ?? requested;
    const records = page.records[Symbol.asyncIterator]();
    let consumed = 0;
    let exhausted = false;
    // A page read from its start is fingerprinted, to tell the page just read served again (new token or not).
    this.pageIds = skip === 0 ? createHash('sha256') : undefined;
    try {
      for (;;) {
        let step: IteratorResult<SourceRecord>;
        try {
          step = await records.next();
        } catch (error) {
          exhausted = true;
          throw new SourceFailure(error);
        }
        if (step.done) {
          exhausted = true;
          break;
        }
        consumed += 1;
        // Resuming inside the page: these were acknowledged before.
        if (consumed <= skip) continue;
        const flushed = await this.accept(step.value, cursor, consumed);
        if (flushed && this.timeUp()) {
          this.log.info('stream stopped inside a page: time budget used');
          return 'budget-exhausted';
        }
      }
    } finally {
      if (!exhausted) await closeQuietly(records);
    }
    if (this.pageIds !== undefined && consumed > 0) {
      const fingerprint = this.pageIds.digest('base64');
      if (fingerprint === this.previousPage) {
        // Its records were delivered with the page before: the position stays before it, never read again.
        this.moveTo(before);
        throw new SourceFailure(
          new PagingStalledError(
            `the page read has the same ${consumed} records, in the same order, as the page before it (stream ${this.source.stream})`,
            { stream: this.source.stream },
          ),
        );
      }
      this.previousPage = fingerprint;
    }
    if (consumed < skip) {
      this.log.warn('page shorter than the stored offset; moving on', {
        records: consumed,
        offset: skip,
      });
    }
    let end: PageEnd;
    try {
      end = page.end();
    } catch (error) {
      throw new SourceFailure(error);
    }
    this.result.pages += 1;
    this.acked.pages += 1;
    this.moveTo({ cursor: end.next, offset: 0 });
    // A page fully delivered is committed now; one still in the batch is committed with that batch.
    if (this.pending.length === 0) await this.flush();
    return end.caughtUp ? 'caught-up' : undefined;
  }

  protected async stopOnError(error: unknown): Promise<void> {
    const log = this.log;
    this.result.outcome = 'failed';
    if (error instanceof SinkFailure) {
      // The batch was not acknowledged: the position stays where the last acknowledged batch left it.
      this.result.sinkErrors += 1;
      this.result.error = error.original;
      this.dropPending();
      await this.recordFailure(error.original);
    } else if (error instanceof StoreFailure) {
      this.result.error = error.original;
      this.dropPending();
      if (error.original instanceof CheckpointConflictError) {
        this.leaseLost = true;
      } else {
        await this.recordFailure(error.original);
      }
    } else if (error instanceof SourceFailure) {
      this.result.error = error.original;
      const kind: ErrorKind = error.original instanceof CollectorError ? error.original.kind : 'protocol';
      this.result.mimecastErrors[kind] = (this.result.mimecastErrors[kind] ?? 0) + 1;
      await this.deliverFetched();
      await this.recordFailure(error.original);
    } else {
      // A defect in the engine itself: send nothing more, keep the stored position.
      this.result.error = error;
      this.dropPending();
      await this.recordFailure(error);
    }
    log.error('stream failed', { error: describeError(this.result.error) });
  }

  /** After a source failure: what was fetched before it is still delivered and committed. */
  protected async deliverFetched(): Promise<void> {
    try {
      await this.flush();
    } catch (error) {
      const original = error instanceof SinkFailure || error instanceof StoreFailure ? error.original : error;
      if (error instanceof SinkFailure) this.result.sinkErrors += 1;
      if (original instanceof CheckpointConflictError) this.leaseLost = true;
      this.dropPending();
      this.log.warn('could not deliver the records fetched before the failure', {
        error: describeError(original),
      });
    }
  }

  protected async recordFailure(error: unknown): Promise<void> {
    if (this.leaseLost || this.checkpoint === undefined) return;
    const now = this.ctx.clock.now();
    try {
      this.checkpoint = await this.ctx.store.recordFailure(this.key, this.token(), {
        error: toLastError(error, now),
        consecutiveFailures: this.checkpoint.consecutiveFailures + 1,
        at: now,
      });
    } catch (storeError) {
      if (storeError instanceof CheckpointConflictError) this.leaseLost = true;
      this.log.warn('could not record the failure in the checkpoint', {
        error: describeError(storeError),
      });
    }
  }

  /** Frees the lease; if that fails it simply expires. */
  protected async release(): Promise<void> {
    if (this.leaseLost) {
      this.log.warn('stream lease lost to another run; not releasing');
      return;
    }
    try {
      await this.ctx.store.releaseLease(this.key, this.token(), this.ctx.clock.now());
    } catch (error) {
      this.log.warn('could not release the stream lease; it expires on its own', {
        leaseExpiresAt: new Date(this.ctx.leaseExpiresAt).toISOString(),
        error: describeError(error),
      });
    }
  }

  protected finish(): void {
    const newest = this.checkpoint?.newestEventTime;
    if (newest !== undefined) {
      this.result.newestEventTime = newest;
      const parsed = Date.parse(newest);
      if (!Number.isNaN(parsed)) {
        this.result.lagSeconds = Math.max(0, Math.round((this.ctx.clock.now() - parsed) / 1000));
      }
    }
    const { outcome } = this.result;
    if (outcome !== 'failed') {
      this.log.info('stream tick finished', {
        outcome,
        events: this.result.events,
        pages: this.result.pages,
        bytes: this.result.bytes,
        throttledCalls: this.result.throttledCalls,
        duplicatesDropped: this.duplicatesDropped,
        lagSeconds: this.result.lagSeconds,
      });
    }
  }
}
