/** Scriptable fakes for the engine's ports: a paged source, a recording sink, a log and a clock. */
import { type Envelope, eventId } from '../../../lambda/core/envelope';
import type {
  CallBudget,
  Cursor,
  Page,
  PageEnd,
  Sink,
  SinkResult,
  SourceRecord,
  StreamSource,
} from '../../../lambda/core/ports';
import type { StreamId } from '../../../lambda/core/streams';
import { ThrottledError, TransientError } from '../../../lambda/errors';

import { T0 } from '../../kit/clock';

/** Records `count` distinct events for a stream: seq `from`…, times one second apart. */
export function makeRecords(
  stream: StreamId,
  count: number,
  from = 0,
  baseTime = T0 - 3_600_000,
): SourceRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const seq = from + i;
    const event = { stream, seq, subject: `message ${seq}` };
    return {
      id: eventId(stream, event),
      logType: 'receipt',
      time: new Date(baseTime + seq * 1000).toISOString(),
      event,
    };
  });
}

export function idOf(record: SourceRecord): string {
  return record.id;
}

export interface FetchScript {
  /** 1-based number of the fetch call this applies to. */
  call: number;
  error: unknown;
  /** Throw from the records after yielding this many; undefined throws from fetchPage itself. */
  afterRecords?: number;
}

/**
 * A token-cursor source over a list of pages: cursor `{page: n}`. Past the last page it answers an
 * empty, caught-up page at the same cursor, so pages appended later (late data) are found next tick.
 *
 * With `resolving` set it models a source with open cursors (like a time window ending "now − margin"):
 * `{page: n}` is open and each fetch resolves it to `{page: n, rev}` (rev = that fetch's call number),
 * reports it as `Page.cursor`, and answers the page's records rotated by `rev`, so every resolution
 * orders the page differently. `{page: n, rev}` is frozen: the same order every time. An engine that
 * stored an open cursor with an in-page offset would skip the wrong records on resume.
 */
export class PagedSource implements StreamSource {
  readonly fetches: Array<{ cursor: Cursor; budget: CallBudget }> = [];
  readonly seeds: Array<{ start: Date; now: Date }> = [];
  script: FetchScript[] = [];
  resolving = false;
  /** Runs at each fetch before it answers: advance a clock, delay, throw. */
  onFetch?: (pageIndex: number, call: number) => void | Promise<void>;
  /** Runs before each record is yielded (crash injection). */
  onRecord?: (pageIndex: number, recordIndex: number) => void | Promise<void>;

  constructor(
    readonly stream: StreamId,
    public pages: SourceRecord[][],
  ) {}

  seed(start: Date, now: Date): Cursor {
    this.seeds.push({ start, now });
    return { page: 0 };
  }

  async fetchPage(cursor: Cursor, budget: CallBudget): Promise<Page> {
    const call = this.fetches.push({ cursor: structuredClone(cursor), budget });
    const page = cursor.page;
    if (typeof page !== 'number') throw new Error(`bad cursor ${JSON.stringify(cursor)}`);
    const index: number = page;
    await this.onFetch?.(index, call);
    const scripted = this.script.find((entry) => entry.call === call);
    if (scripted !== undefined && scripted.afterRecords === undefined) throw scripted.error;
    const total = this.pages.length;
    const rev = this.resolving ? (typeof cursor.rev === 'number' ? cursor.rev : call) : undefined;
    const records = this.ordered(index, rev);
    const onRecord = this.onRecord;
    let consumed = false;
    async function* generate(): AsyncGenerator<SourceRecord> {
      for (let i = 0; i < records.length; i += 1) {
        if (scripted !== undefined && i === scripted.afterRecords) throw scripted.error;
        await onRecord?.(index, i);
        yield records[i]!;
      }
      if (scripted !== undefined && (scripted.afterRecords ?? 0) >= records.length) throw scripted.error;
      consumed = true;
    }
    return {
      ...(rev === undefined ? {} : { cursor: { page: index, rev } }),
      records: generate(),
      end(): PageEnd {
        if (!consumed) throw new Error('end() called before the records were consumed');
        return index < total
          ? { next: { page: index + 1 }, caughtUp: index + 1 >= total }
          : { next: { page: index }, caughtUp: true };
      },
    };
  }

  /** The records a frozen cursor (`{page}` without `resolving`, or `{page, rev}`) answers, in order. */
  recordsAt(cursor: Cursor): SourceRecord[] {
    const rev = typeof cursor.rev === 'number' ? cursor.rev : undefined;
    return this.ordered(cursor.page as number, this.resolving ? rev : undefined);
  }

  private ordered(index: number, rev: number | undefined): SourceRecord[] {
    const page = this.pages[index] ?? [];
    if (rev === undefined || page.length === 0) return [...page];
    const shift = rev % page.length;
    return [...page.slice(shift), ...page.slice(0, shift)];
  }
}

export class RecordingSink implements Sink {
  /** Acknowledged batches, in order. */
  readonly batches: Envelope[][] = [];
  readonly budgets: CallBudget[] = [];
  /** Scripted failures by 1-based send call. */
  readonly failOn = new Map<number, unknown>();
  onSend?: (batch: readonly Envelope[], call: number) => void | Promise<void>;
  calls = 0;

  sizeOf(envelope: Envelope): number {
    return Buffer.byteLength(JSON.stringify(envelope)) + 1;
  }

  async send(batch: readonly Envelope[], budget: CallBudget): Promise<SinkResult> {
    this.calls += 1;
    const call = this.calls;
    this.budgets.push(budget);
    await this.onSend?.(batch, call);
    const failure = this.failOn.get(call);
    if (failure !== undefined) throw failure;
    this.batches.push([...batch]);
    return { bytes: batch.reduce((sum, envelope) => sum + this.sizeOf(envelope), 0) };
  }

  get delivered(): Envelope[] {
    return this.batches.flat();
  }

  ids(stream?: StreamId): string[] {
    return this.delivered.filter((e) => stream === undefined || e.stream === stream).map((e) => e.id);
  }
}

export function throttled(retryAfterMs: number, stream: StreamId = 'audit'): ThrottledError {
  return new ThrottledError('Mimecast answered 429.', 'Wait for the reset.', { stream, retryAfterMs });
}

export function transient(stream: StreamId = 'audit', message = 'Mimecast answered 503.'): TransientError {
  return new TransientError(message, 'Retry later.', { stream, status: 503 });
}
