/**
 * The collection engine: one tick over every stream (design.md, "Delivery guarantee").
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
 * Pure: no AWS SDK, no HTTP client, no environment. Time comes from the injected clock.
 */
import { createHash, type Hash } from 'node:crypto';
import {
  CheckpointConflictError,
  CollectorError,
  ConfigError,
  type ConfigProblem,
  type ErrorKind,
  PagingStalledError,
  ThrottledError,
  TransientError,
} from '../errors';
import { sleep } from './abortable';
import {
  type Checkpoint,
  type CheckpointKey,
  type CheckpointStore,
  type LeaseToken,
  laterTime,
  type ProgressUpdate,
  toLastError,
} from './checkpoint';
import { RecentIds } from './dedup';
import type { Envelope } from './envelope';
import type {
  CallBudget,
  Clock,
  Cursor,
  Log,
  Page,
  PageEnd,
  Sink,
  SourceRecord,
  StreamSource,
} from './ports';
import type { StreamOutcome, StreamResult, TickResult } from './results';

export interface EngineLimits {
  /** Mimecast calls (page fetches) per stream per tick. */
  maxPagesPerStream: number;
  /** Events per sink batch. */
  batchMaxEvents: number;
  /** Bytes per sink batch, as measured by `sink.sizeOf` (one oversized event still goes alone). */
  batchMaxBytes: number;
  /** Minimum lease length; the lease always lasts at least until the tick's deadline. */
  leaseMs: number;
  /** Streams collected at the same time. */
  concurrency: number;
  /**
   * Time kept free before the deadline. No page fetch starts (and fetches are aborted) after
   * `deadline - safetyMarginMs`; sends of what was fetched may run until `deadline - safetyMarginMs / 2`;
   * the last half is for the final checkpoint writes and the caller's own epilogue (metrics).
   */
  safetyMarginMs: number;
  /** Event ids remembered per stream to drop exact repeats within a tick. */
  dedupMaxIds: number;
  /** A throttle asking for at most this long is waited out in place (if the budget allows). */
  throttleWaitInPlaceMaxMs: number;
  /** In-place throttle waits per stream per tick; beyond them the stream stops until `notBefore`. */
  throttleRetriesInPlace: number;
}

/**
 * Defaults, and why:
 * - maxPagesPerStream 100: the time budget is the real bound; this caps Mimecast calls per stream per
 *   tick (their quotas are per endpoint per hour and unpublished) and stops a source that never says
 *   "caught up" from spinning. 100 pages of 500 records is 50 000 events per stream per tick.
 * - batchMaxEvents 5000 / batchMaxBytes 4 MiB: Elasticsearch's bulk API accepts up to
 *   http.max_content_length (100 MB by default) but indexes best in batches of a few MB, and small
 *   Amazon OpenSearch instances cap requests at 10 MiB; Splunk HEC takes multi-event JSON posts well
 *   under its max_content_length. 4 MiB uncompressed is a few hundred KB gzipped on the wire, and
 *   with `concurrency` 4 at most 16 MiB of envelopes are held at once. Sinks with tighter limits
 *   (e.g. per-request entry caps) lower these through configuration.
 * - leaseMs 15 min: the longest Lambda timeout, so a lease always outlives the invocation holding it,
 *   even if a caller passes a wrong deadline; a crashed holder delays its streams by at most this.
 * - concurrency 4: each stream is a different Mimecast endpoint, so parallel streams do not share a
 *   quota; four keeps the sink's parallel requests and memory modest.
 * - safetyMarginMs 10 s: checkpoint writes take milliseconds; the rest leaves room for slow DynamoDB
 *   retries and metric flushing before Lambda's hard stop.
 * - dedupMaxIds 20 000: boundary repeats are recent (the last page or window overlap); 20 000 ids is
 *   about 2 MB per stream.
 * - throttle in place up to 2 s, twice: Mimecast's reset hint is often a second or two; waiting that
 *   out costs less than giving up the rest of the tick. Longer waits are stored as `notBefore` and the
 *   stream stops, so a throttled stream never holds up the tick or the others.
 */
export const DEFAULT_LIMITS: Readonly<EngineLimits> = Object.freeze({
  maxPagesPerStream: 100,
  batchMaxEvents: 5000,
  batchMaxBytes: 4 * 1024 * 1024,
  leaseMs: 15 * 60 * 1000,
  concurrency: 4,
  safetyMarginMs: 10_000,
  dedupMaxIds: 20_000,
  throttleWaitInPlaceMaxMs: 2000,
  throttleRetriesInPlace: 2,
});

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

/** Merges overrides into the defaults; every invalid value is reported at once. */
export function resolveLimits(overrides: Partial<EngineLimits> = {}): EngineLimits {
  const limits: EngineLimits = { ...DEFAULT_LIMITS };
  const problems: ConfigProblem[] = [];
  for (const name of Object.keys(DEFAULT_LIMITS) as (keyof EngineLimits)[]) {
    const value = overrides[name];
    if (value === undefined) continue;
    const minimum = name === 'throttleWaitInPlaceMaxMs' || name === 'throttleRetriesInPlace' ? 0 : 1;
    if (!Number.isSafeInteger(value) || value < minimum) {
      problems.push({ field: name, problem: `must be an integer ≥ ${minimum}, got ${String(value)}` });
      continue;
    }
    limits[name] = value;
  }
  if (problems.length > 0) throw new ConfigError('engine limits', problems);
  return limits;
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
        input.log.error('stream failed before collection', {
          instance: input.instance,
          stream: source.stream,
          error: describe(error),
        });
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

interface TickContext extends Omit<TickInput, 'limits' | 'sleep'> {
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
interface Position {
  cursor: Cursor;
  offset: number;
}

/** Internal tags: where a failure came from decides what the stream may still do. */
class SourceFailure extends Error {
  constructor(readonly original: unknown) {
    super('source failure');
  }
}
class SinkFailure extends Error {
  constructor(readonly original: unknown) {
    super('sink failure');
  }
}
class StoreFailure extends Error {
  constructor(readonly original: unknown) {
    super('checkpoint store failure');
  }
}

/** One stream's tick. Holds the batch in flight and what was acknowledged since the last commit. */
class StreamRun {
  private readonly key: CheckpointKey;
  private readonly result: StreamResult;
  private readonly recent: RecentIds;
  /** The checkpoint as last read or written by us: its version conditions our next write. */
  private checkpoint: Checkpoint | undefined;
  /** Position after every record consumed so far (those are pending, acknowledged or dropped repeats). */
  private position: Position = { cursor: {}, offset: 0 };
  /** True when `position` moved since the last commit. */
  private dirty = false;
  private pending: Envelope[] = [];
  private pendingBytes = 0;
  private pendingNewest: string | undefined;
  /** Acknowledged by the sink but not yet committed. */
  private acked = { events: 0, bytes: 0, pages: 0, newest: undefined as string | undefined };
  private calls = 0;
  private duplicatesDropped = 0;
  private leaseLost = false;
  /** Hash of the ids, in order, of the page being read from its first record (`readPage`). */
  private pageIds: Hash | undefined;
  /** The same for the last non-empty page read whole from its start in this tick. */
  private previousPage: string | undefined;

  constructor(
    private readonly ctx: TickContext,
    private readonly source: StreamSource,
  ) {
    this.key = { instance: ctx.instance, stream: source.stream };
    this.result = emptyResult(source.stream);
    this.recent = new RecentIds(ctx.limits.dedupMaxIds);
  }

  async run(): Promise<StreamResult> {
    const { store, owner, clock, log } = this.ctx;
    const acquired = await store.acquireLease(
      this.key,
      { owner, expiresAt: this.ctx.leaseExpiresAt },
      clock.now(),
    );
    if (acquired === null) {
      this.result.outcome = 'lease-held';
      log.info('stream skipped: another run holds its lease', this.attributes());
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

  private async collect(): Promise<StreamOutcome> {
    const { clock, limits, log } = this.ctx;
    const checkpoint = this.checkpoint!;
    const now = clock.now();
    if (checkpoint.notBefore !== undefined && checkpoint.notBefore > now) {
      log.info('stream waiting: throttled earlier', {
        ...this.attributes(),
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
        log.info('stream stopped: page budget used', { ...this.attributes(), calls: this.calls });
        break;
      }
      if (this.timeUp()) {
        outcome = 'budget-exhausted';
        log.info('stream stopped: time budget used', this.attributes());
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
          log.info('stream throttled: waiting in place', { ...this.attributes(), waitMs });
          await this.ctx.sleep(waitMs, this.ctx.fetchBudget.signal);
          continue;
        }
        await this.flush({ notBefore: at + waitMs });
        log.warn('stream throttled: stopped until notBefore', {
          ...this.attributes(),
          notBefore: new Date(at + waitMs).toISOString(),
          error: describe(error.original),
        });
        return 'throttled';
      }
    }
    await this.flush();
    return outcome;
  }

  /** Persists the first cursor at once: a retry must not seed again from a later "now". */
  private async seed(now: number): Promise<void> {
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
    this.ctx.log.info('stream seeded', { ...this.attributes(), start: start.toISOString() });
    await this.commit({ seed: true });
  }

  /** Reads one page from `position`. Returns an outcome when the stream should stop. */
  private async readPage(): Promise<StreamOutcome | undefined> {
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
          this.ctx.log.info('stream stopped inside a page: time budget used', this.attributes());
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
      this.ctx.log.warn('page shorter than the stored offset; moving on', {
        ...this.attributes(),
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

  /** Adds one record to the batch; returns true when a batch was sent. */
  private async accept(record: SourceRecord, cursor: Cursor, consumed: number): Promise<boolean> {
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
  private async flush(options: { notBefore?: number } = {}): Promise<void> {
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

  private async commit(options: { notBefore?: number; seed?: boolean }): Promise<void> {
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

  private async stopOnError(error: unknown): Promise<void> {
    const { log } = this.ctx;
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
    log.error('stream failed', { ...this.attributes(), error: describe(this.result.error) });
  }

  /** After a source failure: what was fetched before it is still delivered and committed. */
  private async deliverFetched(): Promise<void> {
    try {
      await this.flush();
    } catch (error) {
      const original = error instanceof SinkFailure || error instanceof StoreFailure ? error.original : error;
      if (error instanceof SinkFailure) this.result.sinkErrors += 1;
      if (original instanceof CheckpointConflictError) this.leaseLost = true;
      this.dropPending();
      this.ctx.log.warn('could not deliver the records fetched before the failure', {
        ...this.attributes(),
        error: describe(original),
      });
    }
  }

  private async recordFailure(error: unknown): Promise<void> {
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
      this.ctx.log.warn('could not record the failure in the checkpoint', {
        ...this.attributes(),
        error: describe(storeError),
      });
    }
  }

  /** Frees the lease; if that fails it simply expires. */
  private async release(): Promise<void> {
    if (this.leaseLost) {
      this.ctx.log.warn('stream lease lost to another run; not releasing', this.attributes());
      return;
    }
    try {
      await this.ctx.store.releaseLease(this.key, this.token(), this.ctx.clock.now());
    } catch (error) {
      this.ctx.log.warn('could not release the stream lease; it expires on its own', {
        ...this.attributes(),
        leaseExpiresAt: new Date(this.ctx.leaseExpiresAt).toISOString(),
        error: describe(error),
      });
    }
  }

  private finish(): void {
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
      this.ctx.log.info('stream tick finished', {
        ...this.attributes(),
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

  private moveTo(position: Position): void {
    this.position = position;
    this.dirty = true;
  }

  private dropPending(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingNewest = undefined;
  }

  private timeUp(): boolean {
    return this.ctx.clock.now() >= this.ctx.fetchBudget.deadline || this.ctx.fetchBudget.signal.aborted;
  }

  private token(): LeaseToken {
    return { owner: this.ctx.owner, version: this.checkpoint!.version };
  }

  private attributes(): Record<string, unknown> {
    return { instance: this.ctx.instance, stream: this.source.stream };
  }
}

function emptyResult(stream: StreamResult['stream']): StreamResult {
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

/** Runs `fn` over `items` with at most `concurrency` at once; results keep the input order. */
async function mapBounded<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/** An AbortSignal that fires after `ms` (real time) or when `parent` aborts. */
function deadlineSignal(ms: number, parent?: AbortSignal): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onParent = (): void => controller.abort(parent?.reason);
  const timer = setTimeout(
    () =>
      controller.abort(
        new TransientError(
          'The tick reached its time budget.',
          'Nothing to do: the next tick resumes from the checkpoint.',
        ),
      ),
    Math.max(0, ms),
  );
  timer.unref();
  if (parent?.aborted) onParent();
  else parent?.addEventListener('abort', onParent, { once: true });
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParent);
    },
  };
}

async function closeQuietly(iterator: AsyncIterator<unknown>): Promise<void> {
  try {
    await iterator.return?.();
  } catch {
    // The source's own clean-up failed; the page is abandoned either way.
  }
}

/** Log-safe description of any error. */
function describe(error: unknown): Record<string, unknown> {
  if (error instanceof CollectorError) return error.toJSON();
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { value: String(error) };
}
