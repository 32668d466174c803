/**
 * What the simulated tenant holds: one store per stream, all regenerating record content from
 * (seed, seq) so memory grows with the number of records only by a few bytes each.
 */
import type { StreamId } from '../../lambda/core/streams';
import { AWARENESS_STREAMS, AwarenessStore, type AwarenessStreamId } from './awareness';
import { DAY_MS, parseRequestDate } from './dates';
import { generateLogRecord, LOG_STREAMS, LOG_TIME_FIELD, type LogStreamId } from './log-records';
import type { ResolvedOptions } from './options';
import { hash32, Rng, saltOf } from './random';
import {
  CI_LOG_TYPES,
  type CiLogType,
  generateCiSiemRecord,
  generateV1SiemRecord,
  generateV2SiemRecord,
  logTypeWeights,
  type SiemContext,
  toKeyValueRecord,
  type V1LogType,
  type V2LogType,
} from './siem-records';
import { FEED_TYPES, type FeedType, indicatorObjects, type StixObject } from './stix';
import type { Tenant } from './tenant';
import { spreadTimes, Timeline } from './timeline';

// Module-level aliases: global lookups like Math.floor are very slow inside jest's vm sandbox.
const { floor, max, min } = Math;

/** Times for `count` records published now: spread over up to a minute ending at `end`, oldest first. */
export function publishTimes(count: number, end: number, resolutionMs: number): number[] {
  const step = count > 1 ? max(1, min(1000, floor(60_000 / count))) : 0;
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    times.push(floor((end - (count - 1 - i) * step) / resolutionMs) * resolutionMs);
  }
  return times;
}

/**
 * Appends `count` records at `times` (or, with `identical`, `count` copies of one record at the last of
 * them: same content, same time) and returns their seqs.
 */
function appendRecords(timeline: Timeline, times: readonly number[], identical: boolean): number[] {
  if (!identical || times.length === 0) return timeline.append(times);
  const at = times[times.length - 1]!;
  const [first] = timeline.append([at]);
  return [first!, ...timeline.append(new Array<number>(times.length - 1).fill(at), first)];
}

function baseTimes(count: number, range: { start: number; end: number }, resolutionMs: number, salt: number) {
  return spreadTimes(count, range.start, range.end, resolutionMs, (i) => hash32(salt, i) / 0x100000000);
}

/** Look-back of the paged endpoints: only audit documents one (60 days, docs/mimecast-api.md B.2). */
const LOOKBACK_MS: Partial<Record<LogStreamId, number>> = { audit: 60 * DAY_MS };

export class LogStore {
  readonly timeline: Timeline;

  constructor(
    readonly stream: LogStreamId,
    count: number,
    range: { start: number; end: number },
    private readonly context: { seed: number; tenant: Tenant },
  ) {
    this.timeline = new Timeline(baseTimes(count, range, 1000, hash32(context.seed, saltOf(stream))));
  }

  get lookbackMs(): number | undefined {
    return LOOKBACK_MS[this.stream];
  }

  /** Oldest time still servable at `now`. */
  earliest(now: number): number {
    const lookback = this.lookbackMs;
    return lookback === undefined ? Number.NEGATIVE_INFINITY : now - lookback;
  }

  record(seq: number): Record<string, unknown> {
    return generateLogRecord(
      this.stream,
      this.timeline.contentSeq(seq),
      this.timeline.timeOf(seq),
      this.context,
    );
  }

  publish(count: number, end: number, identical = false): Record<string, unknown>[] {
    return appendRecords(this.timeline, publishTimes(count, end, 1000), identical).map((seq) =>
      this.record(seq),
    );
  }

  /** Adds `count` more copies of a record held (same content, same time): identical events. */
  publishCopies(record: unknown, count: number): Record<string, unknown>[] {
    const time = parseRequestDate(String((record as Record<string, unknown>)?.[LOG_TIME_FIELD[this.stream]]));
    const wanted = JSON.stringify(record);
    if (time !== undefined) {
      for (const entry of this.timeline.walk('asc', time, time)) {
        if (JSON.stringify(this.record(entry.seq)) !== wanted) continue;
        const times = new Array<number>(count).fill(time);
        return this.timeline.append(times, entry.seq).map((seq) => this.record(seq));
      }
    }
    throw new RangeError(`copyOf: no ${this.stream} record like that is held`);
  }

  all(now: number): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const entry of this.timeline.walk('asc', this.earliest(now), Number.POSITIVE_INFINITY)) {
      out.push(this.record(entry.seq));
    }
    return out;
  }
}

export interface SiemFile {
  /** Position in the tenant's file list: files are served in this order. */
  seq: number;
  logType: string;
  /** When the file became available; names the file (`receipt_<yyyyMMddHHmmssSSS>`). */
  createdAt: number;
  /** Event seqs, in time order. */
  events: number[];
}

interface SiemFileStoreParams<T extends string> {
  api: 1 | 2;
  /** Salts the times and types: `siem` (Cloud Gateway, per API version) or `siem-ci`. */
  feed: 'siem' | 'siem-ci';
  count: number;
  range: { start: number; end: number };
  seed: number;
  types: readonly T[];
  eventsPerFile: number;
  intervalMs: number;
  /** 1000 for v1 (seconds in `datetime`), 1 for v2 (epoch ms `timestamp`). */
  resolutionMs: number;
  now: number;
}

/**
 * SIEM events and the files they are delivered in. Events of one log type are cut into files per time
 * slice and size limit, like MTA servers producing a file per type every half hour; files are ordered by
 * the time they became available, and later publishing only ever appends files.
 */
export class SiemFileStore<T extends string> {
  readonly timeline: Timeline;
  readonly files: SiemFile[] = [];
  private readonly filesByType = new Map<string, number[]>();
  private readonly weights: (readonly [T, number])[];
  private readonly typeSalt: number;

  constructor(private readonly params: SiemFileStoreParams<T>) {
    this.weights = logTypeWeights(params.types);
    this.typeSalt = hash32(params.seed, saltOf(`${params.feed}-type`), params.api);
    this.timeline = new Timeline(
      baseTimes(
        params.count,
        params.range,
        params.resolutionMs,
        hash32(params.seed, saltOf(params.feed), params.api),
      ),
    );
    this.buildBaseFiles();
  }

  typeOf(eventSeq: number): T {
    return new Rng(hash32(this.typeSalt, this.timeline.contentSeq(eventSeq))).weighted(this.weights);
  }

  private buildBaseFiles(): void {
    const { eventsPerFile, intervalMs, now } = this.params;
    const pending: Omit<SiemFile, 'seq'>[] = [];
    const open = new Map<T, { slice: number; events: number[] }>();
    const flush = (type: T, bucket: { events: number[] }) => {
      const last = bucket.events[bucket.events.length - 1];
      // Files appear a little after their last event, never after "now".
      const delay = 20_000 + (hash32(this.typeSalt, last, 7) % 100_000);
      const createdAt = min(now, this.timeline.timeOf(last) + delay);
      pending.push({ logType: type, createdAt, events: bucket.events });
    };
    for (let seq = 0; seq < this.timeline.baseCount; seq++) {
      const type = this.typeOf(seq);
      const time = this.timeline.timeOf(seq);
      const slice = intervalMs > 0 ? floor(time / intervalMs) : 0;
      let bucket = open.get(type);
      if (bucket && (bucket.slice !== slice || bucket.events.length >= eventsPerFile)) {
        flush(type, bucket);
        bucket = undefined;
      }
      if (!bucket) {
        bucket = { slice, events: [] };
        open.set(type, bucket);
      }
      bucket.events.push(seq);
    }
    for (const [type, bucket] of open) flush(type, bucket);
    const typeOrder = new Map(this.params.types.map((type, i) => [type as string, i]));
    pending.sort(
      (a, b) =>
        a.createdAt - b.createdAt ||
        (typeOrder.get(a.logType) ?? 0) - (typeOrder.get(b.logType) ?? 0) ||
        a.events[0] - b.events[0],
    );
    for (const file of pending) this.addFile(file);
  }

  /** Appends a file; creation times are kept strictly increasing so file names are unique and ordered. */
  private addFile(file: Omit<SiemFile, 'seq'>): SiemFile {
    const previous = this.files[this.files.length - 1];
    const createdAt =
      previous && file.createdAt <= previous.createdAt ? previous.createdAt + 1 : file.createdAt;
    const added: SiemFile = { ...file, createdAt, seq: this.files.length };
    this.files.push(added);
    const list = this.filesByType.get(added.logType) ?? [];
    list.push(added.seq);
    this.filesByType.set(added.logType, list);
    return added;
  }

  /**
   * Adds events at the given times as new files available at `now` (after every existing file); with
   * `identical`, `count` copies of one event (one type, so one file unless it exceeds `eventsPerFile`).
   */
  publish(count: number, end: number, now: number, identical = false): number[] {
    const seqs = appendRecords(this.timeline, publishTimes(count, end, this.params.resolutionMs), identical);
    const byType = new Map<T, number[]>();
    for (const seq of seqs) {
      const type = this.typeOf(seq);
      const list = byType.get(type) ?? [];
      list.push(seq);
      byType.set(type, list);
    }
    for (const type of this.params.types) {
      const events = byType.get(type);
      if (!events) continue;
      events.sort((a, b) => this.timeline.timeOf(a) - this.timeline.timeOf(b) || a - b);
      for (let i = 0; i < events.length; i += this.params.eventsPerFile) {
        this.addFile({
          logType: type,
          createdAt: now,
          events: events.slice(i, i + this.params.eventsPerFile),
        });
      }
    }
    return seqs;
  }

  /** Index of the oldest file still retained at `now`. */
  firstLiveFile(now: number, retentionMs: number): number {
    const cutoff = now - retentionMs;
    let lo = 0;
    let hi = this.files.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.files[mid].createdAt < cutoff) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** File seqs of one type, ascending. */
  fileSeqsOfType(type: string): readonly number[] {
    return this.filesByType.get(type) ?? [];
  }
}

/** A threat feed: indicators in the order the feed delivers them (time order, then publish order). */
export class ThreatFeedStore {
  readonly timeline: Timeline;

  constructor(
    readonly feed: FeedType,
    count: number,
    range: { start: number; end: number },
    private readonly seed: number,
  ) {
    this.timeline = new Timeline(baseTimes(count, range, 1, hash32(seed, saltOf(feed))));
  }

  objects(seq: number): StixObject[] {
    return indicatorObjects(this.feed, this.timeline.contentSeq(seq), this.timeline.timeOf(seq), this.seed);
  }

  publish(count: number, end: number, identical = false): StixObject[] {
    return appendRecords(this.timeline, publishTimes(count, end, 1), identical).flatMap((seq) =>
      this.objects(seq),
    );
  }

  /**
   * Up to `limit` indicator seqs from position `from` (in delivery order) whose time lies in [start, end],
   * plus whether more such indicators follow.
   */
  take(
    from: number,
    start: number,
    end: number,
    limit: number,
  ): { seqs: number[]; next: number; more: boolean } {
    const seqs: number[] = [];
    const base = this.timeline.baseCount;
    const size = this.timeline.size;
    let position = from < base ? max(from, this.timeline.firstBaseSeqAtOrAfter(start)) : from;
    // Bounded by the number of indicators held.
    while (position < size) {
      const time = this.timeline.timeOf(position);
      if (position < base && time > end) {
        position = base;
        continue;
      }
      if (time >= start && time <= end) {
        if (seqs.length === limit) return { seqs, next: position, more: true };
        seqs.push(position);
      }
      position++;
    }
    return { seqs, next: size, more: false };
  }
}

/** The whole simulated tenant. */
export class TenantData {
  readonly logs: Record<LogStreamId, LogStore>;
  readonly siemV1: SiemFileStore<V1LogType>;
  readonly siemV2: SiemFileStore<V2LogType>;
  /** Cloud Integrated SIEM (API 2.0 only). */
  readonly siemCi: SiemFileStore<CiLogType>;
  readonly awareness: AwarenessStore;
  readonly feeds: Record<FeedType, ThreatFeedStore>;
  private readonly v1Context: SiemContext;
  private readonly v2Context: SiemContext;

  constructor(
    private readonly options: ResolvedOptions,
    readonly tenant: Tenant,
  ) {
    const { seed, range, events, siem } = options;
    const now = options.now();
    this.logs = Object.fromEntries(
      LOG_STREAMS.map((stream) => [stream, new LogStore(stream, events[stream], range, { seed, tenant })]),
    ) as Record<LogStreamId, LogStore>;
    const common = { count: events.siem, range, seed, intervalMs: siem.fileIntervalMs, now };
    this.siemV1 = new SiemFileStore({
      ...common,
      api: 1,
      feed: 'siem',
      types: siem.v1LogTypes,
      eventsPerFile: siem.v1EventsPerFile,
      resolutionMs: 1000,
    });
    this.siemV2 = new SiemFileStore({
      ...common,
      api: 2,
      feed: 'siem',
      types: siem.v2LogTypes,
      eventsPerFile: siem.v2EventsPerFile,
      resolutionMs: 1,
    });
    this.siemCi = new SiemFileStore({
      ...common,
      count: events['siem-ci'],
      api: 2,
      feed: 'siem-ci',
      types: CI_LOG_TYPES,
      eventsPerFile: siem.v2EventsPerFile,
      resolutionMs: 1,
    });
    this.awareness = new AwarenessStore(
      seed,
      tenant,
      Object.fromEntries(AWARENESS_STREAMS.map((s) => [s, events[s]])) as Record<AwarenessStreamId, number>,
      options.awareness.campaigns,
      range.end,
    );
    this.feeds = {
      malware_customer: new ThreatFeedStore('malware_customer', events['malware-customer'], range, seed),
      malware_grid: new ThreatFeedStore('malware_grid', events['malware-grid'], range, seed),
    };
    this.v1Context = { seed, tenant, api: 1 };
    this.v2Context = { seed, tenant, api: 2 };
  }

  v1Event(seq: number): Record<string, unknown> {
    const type = this.siemV1.typeOf(seq);
    return generateV1SiemRecord(
      type,
      this.siemV1.timeline.contentSeq(seq),
      this.siemV1.timeline.timeOf(seq),
      this.v1Context,
      this.options.siem.v1UtcOffsets[type],
    );
  }

  v2Event(seq: number): Record<string, unknown> {
    return generateV2SiemRecord(
      this.siemV2.typeOf(seq),
      this.siemV2.timeline.contentSeq(seq),
      this.siemV2.timeline.timeOf(seq),
      this.v2Context,
    );
  }

  ciEvent(seq: number): Record<string, unknown> {
    return generateCiSiemRecord(
      this.siemCi.typeOf(seq),
      seq,
      this.siemCi.timeline.timeOf(seq),
      this.v2Context,
    );
  }

  /** Every record held now, as a correct client decodes it (see RunningSimulator.groundTruth). */
  groundTruth(stream: StreamId, api: 1 | 2): unknown[] {
    const now = this.options.now();
    if (isApi2Only(stream)) {
      // These exist on API 2.0 only: under API 1.0 the tenant holds none of them.
      if (api === 1) return [];
      if (stream !== 'siem-ci') return this.awareness.all(stream);
    }
    if (stream === 'siem' || stream === 'siem-ci') {
      const store = stream === 'siem-ci' ? this.siemCi : api === 1 ? this.siemV1 : this.siemV2;
      const out: unknown[] = [];
      for (let i = store.firstLiveFile(now, this.options.siem.retentionMs); i < store.files.length; i++) {
        for (const seq of store.files[i].events) {
          if (stream === 'siem-ci') out.push(this.ciEvent(seq));
          else if (api === 2) out.push(this.v2Event(seq));
          else if (this.options.siem.v1FileFormat === 'key_value')
            out.push(toKeyValueRecord(this.v1Event(seq)));
          else out.push(this.v1Event(seq));
        }
      }
      return out;
    }
    if (stream === 'malware-customer' || stream === 'malware-grid') {
      const feed = this.feeds[feedOf(stream)];
      const out: unknown[] = [];
      for (let seq = 0; seq < feed.timeline.size; seq++) out.push(...feed.objects(seq));
      return out;
    }
    return this.logs[stream].all(now);
  }

  publish(
    stream: StreamId,
    count: number,
    lateBySeconds: number,
    api: 1 | 2 | undefined,
    identical = false,
  ): unknown[] {
    const now = this.options.now();
    const end = now - lateBySeconds * 1000;
    // Nothing to add to a dataset API 1.0 does not serve.
    if (isApi2Only(stream) && api === 1) return [];
    if (stream === 'siem') {
      const out: unknown[] = [];
      if (api !== 2) {
        const seqs = this.siemV1.publish(count, end, now, identical);
        const asKeyValue = this.options.siem.v1FileFormat === 'key_value';
        for (const seq of seqs)
          out.push(asKeyValue ? toKeyValueRecord(this.v1Event(seq)) : this.v1Event(seq));
      }
      if (api !== 1) {
        for (const seq of this.siemV2.publish(count, end, now, identical)) out.push(this.v2Event(seq));
      }
      return out;
    }
    if (stream === 'malware-customer' || stream === 'malware-grid') {
      return this.feeds[feedOf(stream)].publish(count, end, identical);
    }
    if (stream === 'siem-ci') {
      return this.siemCi.publish(count, end, now).map((seq) => this.ciEvent(seq));
    }
    if (isAwarenessStream(stream)) return this.awareness.publish(stream, count);
    return this.logs[stream].publish(count, end, identical);
  }

  /** More copies of a record of a paged log stream (identical events published later, e.g. indexed late). */
  publishCopies(stream: StreamId, record: unknown, count: number): unknown[] {
    if (!(LOG_STREAMS as readonly string[]).includes(stream)) {
      throw new RangeError(`copyOf is supported for the paged log streams only, not ${stream}`);
    }
    return this.logs[stream as LogStreamId].publishCopies(record, count);
  }
}

function isAwarenessStream(stream: StreamId): stream is AwarenessStreamId {
  return (AWARENESS_STREAMS as readonly string[]).includes(stream);
}

function isApi2Only(stream: StreamId): stream is AwarenessStreamId | 'siem-ci' {
  return stream === 'siem-ci' || isAwarenessStream(stream);
}

export function feedOf(stream: 'malware-customer' | 'malware-grid'): FeedType {
  return stream === 'malware-customer' ? FEED_TYPES[0] : FEED_TYPES[1];
}
