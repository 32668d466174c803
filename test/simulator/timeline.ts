/**
 * The time index behind every stream: which record (by sequence number) happened when.
 *
 * The initial records are a sorted Float64Array of times (sequence number = array index), so a million
 * records cost 8 MB and no objects; their content is regenerated from the sequence number on demand.
 * Records published later ("late data" included) live in small sorted arrays merged in on insert.
 * Order everywhere is (time, seq): ties on time are broken by arrival.
 */

export interface TimelineEntry {
  time: number;
  seq: number;
}

export type Order = 'asc' | 'desc';

// Module-level aliases: global lookups like Math.floor are very slow inside jest's vm sandbox.
const { floor, max, min } = Math;

/** seq value that sorts after every real entry with the same time. */
const SEQ_MAX = Number.MAX_SAFE_INTEGER;

function compareKey(timeA: number, seqA: number, timeB: number, seqB: number): number {
  return timeA !== timeB ? timeA - timeB : seqA - seqB;
}

interface SortedSource {
  length(): number;
  time(index: number): number;
  seq(index: number): number;
}

/** First index whose key is greater than (time, seq); length when none. */
function firstGreater(source: SortedSource, time: number, seq: number): number {
  let lo = 0;
  let hi = source.length();
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKey(source.time(mid), source.seq(mid), time, seq) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose key is greater than or equal to (time, seq). */
function firstAtLeast(source: SortedSource, time: number, seq: number): number {
  let lo = 0;
  let hi = source.length();
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKey(source.time(mid), source.seq(mid), time, seq) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class Timeline {
  private readonly base: SortedSource;
  private extraTimes: number[] = [];
  private extraSeqs: number[] = [];
  /** Time of each published record, indexed by seq - baseCount. */
  private readonly extraTimeBySeq: number[] = [];
  /** Published copies: seq → the seq whose content they repeat (identical records). */
  private readonly copies = new Map<number, number>();
  private readonly extra: SortedSource;

  constructor(private readonly baseTimes: Float64Array) {
    for (let i = 1; i < baseTimes.length; i++) {
      if (baseTimes[i] < baseTimes[i - 1]) throw new Error('Timeline base times must be sorted');
    }
    this.base = { length: () => baseTimes.length, time: (i) => baseTimes[i], seq: (i) => i };
    this.extra = {
      length: () => this.extraTimes.length,
      time: (i) => this.extraTimes[i],
      seq: (i) => this.extraSeqs[i],
    };
  }

  get baseCount(): number {
    return this.baseTimes.length;
  }

  /** Sequence numbers handed out so far; the next append starts here. */
  get size(): number {
    return this.baseTimes.length + this.extraTimeBySeq.length;
  }

  timeOf(seq: number): number {
    if (seq < this.baseTimes.length) return this.baseTimes[seq];
    const time = this.extraTimeBySeq[seq - this.baseTimes.length];
    if (time === undefined) throw new RangeError(`No record with seq ${seq}`);
    return time;
  }

  /**
   * The seq a record's content is generated from: its own, or for a copy the seq it repeats. Stores
   * generate content from this, so copies are identical records (same fields, same time).
   */
  contentSeq(seq: number): number {
    return this.copies.get(seq) ?? seq;
  }

  /**
   * Adds records at the given times; returns their sequence numbers (consecutive, in argument order).
   * With `copyOf`, each new record repeats the content of that seq.
   */
  append(times: readonly number[], copyOf?: number): number[] {
    const firstSeq = this.size;
    const added = times.map((time, i) => ({ time, seq: firstSeq + i }));
    for (const entry of added) this.extraTimeBySeq.push(entry.time);
    if (copyOf !== undefined) {
      const original = this.contentSeq(copyOf);
      for (const entry of added) this.copies.set(entry.seq, original);
    }
    const sortedNew = [...added].sort((a, b) => compareKey(a.time, a.seq, b.time, b.seq));
    // Linear merge of two sorted runs keeps repeated publishing O(n) per call.
    const mergedTimes: number[] = [];
    const mergedSeqs: number[] = [];
    let i = 0;
    let j = 0;
    while (i < this.extraTimes.length || j < sortedNew.length) {
      const takeOld =
        j >= sortedNew.length ||
        (i < this.extraTimes.length &&
          compareKey(this.extraTimes[i], this.extraSeqs[i], sortedNew[j].time, sortedNew[j].seq) <= 0);
      if (takeOld) {
        mergedTimes.push(this.extraTimes[i]);
        mergedSeqs.push(this.extraSeqs[i]);
        i++;
      } else {
        mergedTimes.push(sortedNew[j].time);
        mergedSeqs.push(sortedNew[j].seq);
        j++;
      }
    }
    this.extraTimes = mergedTimes;
    this.extraSeqs = mergedSeqs;
    return added.map((entry) => entry.seq);
  }

  /**
   * Entries with from <= time <= to, in the given order, strictly after `after` (a keyset cursor: the last
   * entry of the previous page). Lazy, so a caller taking one page touches only that page.
   */
  *walk(order: Order, from: number, to: number, after?: TimelineEntry): Generator<TimelineEntry> {
    if (order === 'asc') {
      let startTime = from;
      let startSeq = -1;
      if (after && compareKey(after.time, after.seq, from, -1) > 0) {
        startTime = after.time;
        startSeq = after.seq;
      }
      let b = firstGreater(this.base, startTime, startSeq);
      let e = firstGreater(this.extra, startTime, startSeq);
      while (b < this.base.length() || e < this.extra.length()) {
        const useBase =
          e >= this.extra.length() ||
          (b < this.base.length() &&
            compareKey(this.base.time(b), this.base.seq(b), this.extra.time(e), this.extra.seq(e)) < 0);
        const entry = useBase
          ? { time: this.base.time(b), seq: this.base.seq(b) }
          : { time: this.extra.time(e), seq: this.extra.seq(e) };
        if (entry.time > to) return;
        if (useBase) b++;
        else e++;
        yield entry;
      }
      return;
    }
    let endTime = to;
    let endSeq = SEQ_MAX;
    if (after && compareKey(after.time, after.seq, to, SEQ_MAX) < 0) {
      endTime = after.time;
      endSeq = after.seq;
    }
    let b = firstAtLeast(this.base, endTime, endSeq) - 1;
    let e = firstAtLeast(this.extra, endTime, endSeq) - 1;
    while (b >= 0 || e >= 0) {
      const useBase =
        e < 0 ||
        (b >= 0 &&
          compareKey(this.base.time(b), this.base.seq(b), this.extra.time(e), this.extra.seq(e)) > 0);
      const entry = useBase
        ? { time: this.base.time(b), seq: this.base.seq(b) }
        : { time: this.extra.time(e), seq: this.extra.seq(e) };
      if (entry.time < from) return;
      if (useBase) b--;
      else e--;
      yield entry;
    }
  }

  /** How many entries with seq <= maxSeq lie in [from, to]. */
  count(from: number, to: number, maxSeq = SEQ_MAX): number {
    const baseFrom = firstGreater(this.base, from, -1);
    const baseTo = firstGreater(this.base, to, SEQ_MAX);
    let total = max(0, min(baseTo, maxSeq + 1) - baseFrom);
    const extraFrom = firstGreater(this.extra, from, -1);
    const extraTo = firstGreater(this.extra, to, SEQ_MAX);
    for (let i = extraFrom; i < extraTo; i++) {
      if (this.extraSeqs[i] <= maxSeq) total++;
    }
    return total;
  }

  /** First base seq with time >= from (baseCount when none): base seqs are in time order. */
  firstBaseSeqAtOrAfter(from: number): number {
    return firstGreater(this.base, from, -1);
  }
}

/**
 * Evenly spread, jittered, sorted times for `count` records over [start, end], rounded down to
 * `resolutionMs` (1000 for streams whose timestamps carry whole seconds).
 */
export function spreadTimes(
  count: number,
  start: number,
  end: number,
  resolutionMs: number,
  jitter: (index: number) => number,
): Float64Array {
  const times = new Float64Array(count);
  const span = max(0, end - start);
  let previous = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < count; i++) {
    const raw = start + ((i + jitter(i)) * span) / count;
    const rounded = floor(min(raw, end) / resolutionMs) * resolutionMs;
    previous = max(previous, rounded);
    times[i] = previous;
  }
  return times;
}
