/**
 * The ports the pure core drives. Adapters live outside `core/`:
 * `mimecast/` implements StreamSource, `sinks/` implements Sink, `state/` implements CheckpointStore,
 * `telemetry/` implements Log.
 */
import type { Envelope } from './envelope';
import type { JsonObject } from './json';
import type { StreamId } from './streams';

/**
 * Where one stream stands. Opaque to the engine: only the stream's source module reads inside it.
 * Must be JSON (it is stored in the checkpoint).
 */
export type Cursor = JsonObject;

/** One Mimecast record as the source hands it to the engine. */
export interface SourceRecord {
  /**
   * The event id the envelope carries (`eventId` in envelope.ts), numbered by the source with
   * `OccurrenceIds` (occurrences.ts) over the answer it came in, so identical records get ids of their
   * own and the same answer read again gives the same ids. The engine drops a record whose id it
   * already forwarded this tick.
   */
  id: string;
  /** Mimecast log type: `receipt`, `process`, `url protect`, an audit category, `indicator`, ... */
  logType: string;
  /** Event time normalised to ISO-8601 UTC (`2024-06-05T11:50:06.389Z`). */
  time: string;
  /**
   * The record exactly as Mimecast sent it: parsed JSON, the key=value map for key_value files, or for
   * SIEM JSON and NDJSON files the record's own text (`RecordJson`, never parsed again).
   */
  event: unknown;
}

/** Limits for one remote call, derived from the Lambda's remaining time. */
export interface CallBudget {
  /** Aborts every request of the call (the engine's deadline, or shutdown). */
  signal: AbortSignal;
  /** Epoch milliseconds by which the call must have finished. */
  deadline: number;
}

export interface PageEnd {
  /** Where the next page starts. Stored only after every record of this page was acknowledged. */
  next: Cursor;
  /** True when Mimecast has nothing newer right now: the engine stops this stream until the next tick. */
  caughtUp: boolean;
}

export interface Page {
  /**
   * The cursor as actually requested. A cursor may leave part of its question open (e.g. a window
   * ending "now − lateness margin") for the source to resolve at fetch time; this is the resolved,
   * frozen form, and fetching it again, even ticks later, must ask exactly the same question.
   * The engine stores this one (falling back to the cursor passed to `fetchPage` when absent) together
   * with any offset inside the page, so a resume re-asks what this fetch asked and skips the right
   * records. An open cursor must never be stored with an offset, so a source that resolves anything
   * must report this; a source whose cursors are always frozen may omit it.
   */
  cursor?: Cursor;
  /**
   * The page's records, in order, already filtered of boundary repeats. Streamed, so a large
   * file is never held in memory whole. Iterating it may throw typed errors from `errors.ts`.
   */
  records: AsyncIterable<SourceRecord>;
  /** Valid once `records` has been fully consumed. */
  end(): PageEnd;
}

/**
 * One Mimecast log stream, driven page by page.
 *
 * Cost contract (docs/ARCHITECTURE.md, "Cost: one call per tick when caught up"): a stream with nothing new costs one
 * call per tick. So `end().next` of the page that reports `caughtUp` should be a cursor whose next fetch
 * asks for everything new since, in one call: a cursor whose open parts are resolved at fetch time
 * (reported as `Page.cursor`), not one frozen at this tick that a later tick must first re-ask.
 * Every fetch asks Mimecast, even when the question is nearly empty (a window of one second): a stream's
 * first tick must make an authenticated call, so a wrong URL, key or permission fails the first run.
 */
export interface StreamSource {
  readonly stream: StreamId;
  /** The cursor for a stream collected for the first time, starting at `start` (never later than `now`). */
  seed(start: Date, now: Date): Cursor;
  /**
   * Fetches the page at `cursor`. Requesting the same frozen cursor (`Page.cursor`, or `cursor` itself
   * when none is reported) again yields the same records in the same order (as far as Mimecast allows),
   * which is what lets the engine resume inside a page.
   */
  fetchPage(cursor: Cursor, budget: CallBudget): Promise<Page>;
}

export interface SinkResult {
  /** Bytes put on the wire (after compression). */
  bytes: number;
}

/** The ingestion endpoint. */
export interface Sink {
  /** Serialized size of one envelope in this sink's format, used to bound batches by bytes. */
  sizeOf(envelope: Envelope): number;
  /**
   * Sends one batch. Resolves only when the receiver acknowledged every event in it (retrying
   * transient failures inside the budget); throws a typed error otherwise.
   */
  send(batch: readonly Envelope[], budget: CallBudget): Promise<SinkResult>;
}

/** Structured log lines. Attributes must never contain secrets. */
export interface Log {
  debug(message: string, attributes?: Record<string, unknown>): void;
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
  error(message: string, attributes?: Record<string, unknown>): void;
  /** A log whose every line also carries `keys` (e.g. the instance and stream of one stream's run). */
  child(keys: Record<string, string | number | boolean>): Log;
}

/** A Log that writes nothing (for callers that pass none). */
export const silentLog: Log = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLog,
};

/** Time, injectable so tests can move it. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
