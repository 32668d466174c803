/**
 * Gaps filled by pull (docs/PUSH-GAP-FILL.md): for push-primary streams, the destination is wrapped so each
 * batch the pull sends is first checked against the push ledger; events push already delivered are
 * left out, the rest are sent, and the whole batch is reported acknowledged only when that send was.
 * The engine's batching, offsets and checkpoints stay exactly as they are: to the engine this is just
 * the destination.
 *
 * If the ledger cannot be read, the batch goes whole: a duplicate is harmless, a gap is not.
 */
import { describeError } from './describe';
import type { Envelope } from './envelope';
import type { CallBudget, Log, Sink, SinkResult } from './ports';
import { LedgerLookup, type PushLedger, type TimeRange } from './push-ledger';
import type { StreamId } from './streams';

/** What the pull did per push-primary stream in one tick (counted only for acknowledged sends). */
export interface GapFillCounts {
  /** Events the pull found that push had delivered: left out. */
  alreadyPushed: number;
  /** Events only the pull found (push never delivered them): a push gap, sent. */
  gap: number;
  /** Events sent without the ledger's answer (it could not be read): sent whole. */
  unchecked: number;
}

export interface GapFillOptions {
  /**
   * The key push recorded for an event, computed here from the pulled envelope. Default: the envelope
   * id, right where push ids events as pull does. Where they differ (SIEM: pull ids a batch-file
   * record by its bytes), the stream's match key over the event (docs/PUSH.md, "Ids", from the push receiver).
   */
  keyOf?: (envelope: Envelope) => string;
}

export class GapFillSink implements Sink {
  private readonly lookup: LedgerLookup;
  private readonly counts = new Map<StreamId, GapFillCounts>();
  /**
   * Per stream and key, pulled copies already matched to a push in this tick: identical events share a
   * key, and push delivering one of two leaves one for the pull to send.
   */
  private readonly matched = new Map<string, number>();
  private readonly keyOf: (envelope: Envelope) => string;

  constructor(
    private readonly destination: Sink,
    ledger: PushLedger,
    private readonly pushPrimary: ReadonlySet<StreamId>,
    private readonly log: Log,
    options: GapFillOptions = {},
  ) {
    this.lookup = new LedgerLookup(ledger);
    this.keyOf = options.keyOf ?? ((envelope) => envelope.id);
  }

  sizeOf(envelope: Envelope): number {
    return this.destination.sizeOf(envelope);
  }

  async send(batch: readonly Envelope[], budget: CallBudget): Promise<SinkResult> {
    const checked = new Map<StreamId, Envelope[]>();
    for (const envelope of batch) {
      if (!this.pushPrimary.has(envelope.stream)) continue;
      const group = checked.get(envelope.stream);
      if (group === undefined) checked.set(envelope.stream, [envelope]);
      else group.push(envelope);
    }
    if (checked.size === 0) return this.destination.send(batch, budget);

    const skip = new Set<Envelope>();
    const tally = new Map<StreamId, GapFillCounts>();
    const matchedNow = new Map<string, number>();
    for (const [stream, envelopes] of checked) {
      const counts: GapFillCounts = { alreadyPushed: 0, gap: 0, unchecked: 0 };
      tally.set(stream, counts);
      let keys: string[];
      let pushed: Map<string, number>;
      try {
        keys = envelopes.map((e) => this.keyOf(e));
        pushed = await this.lookup.deliveredCounts(stream, keys, timeRangeOf(envelopes));
      } catch (error) {
        this.log.warn('push ledger unreadable: batch sent whole (duplicates possible, no gap)', {
          stream,
          events: envelopes.length,
          error: describeError(error),
        });
        counts.unchecked = envelopes.length;
        continue;
      }
      envelopes.forEach((envelope, index) => {
        const slot = `${stream}\n${keys[index]!}`;
        const used = (this.matched.get(slot) ?? 0) + (matchedNow.get(slot) ?? 0);
        if (used < (pushed.get(keys[index]!) ?? 0)) {
          skip.add(envelope);
          matchedNow.set(slot, (matchedNow.get(slot) ?? 0) + 1);
          counts.alreadyPushed += 1;
        } else {
          counts.gap += 1;
        }
      });
    }
    const rest = skip.size === 0 ? batch : batch.filter((envelope) => !skip.has(envelope));
    const result = rest.length === 0 ? { bytes: 0 } : await this.destination.send(rest, budget);
    for (const [slot, n] of matchedNow) this.matched.set(slot, (this.matched.get(slot) ?? 0) + n);
    for (const [stream, counts] of tally) {
      const total = this.countsOf(stream);
      total.alreadyPushed += counts.alreadyPushed;
      total.gap += counts.gap;
      total.unchecked += counts.unchecked;
    }
    return result;
  }

  /** Counts per push-primary stream so far (streams that sent nothing are absent). */
  report(): ReadonlyMap<StreamId, Readonly<GapFillCounts>> {
    return this.counts;
  }

  private countsOf(stream: StreamId): GapFillCounts {
    let counts = this.counts.get(stream);
    if (counts === undefined) {
      counts = { alreadyPushed: 0, gap: 0, unchecked: 0 };
      this.counts.set(stream, counts);
    }
    return counts;
  }
}

/** The event times of a batch as a range; an unparsable time makes the range invalid (lookup refuses it). */
function timeRangeOf(envelopes: readonly Envelope[]): TimeRange {
  let from = Number.POSITIVE_INFINITY;
  let to = Number.NEGATIVE_INFINITY;
  for (const envelope of envelopes) {
    const time = Date.parse(envelope.time);
    if (Number.isNaN(time)) return { from: Number.NaN, to: Number.NaN };
    if (time < from) from = time;
    if (time > to) to = time;
  }
  return { from, to };
}
