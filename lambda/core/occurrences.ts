/**
 * Ids for the records of one answer, in answer order (docs/ARCHITECTURE.md, "Event ids"): identical
 * records are events of their own (two failed logons in the same second are two events a SOC counts),
 * so the n-th record with the same canonical JSON in one answer gets `eventId(stream, record, n)`.
 * The numbering depends only on the answer, so the same answer read again (a resume, a retry, a
 * re-check) gives the same ids, and a receiver keyed on them drops true repeats.
 *
 * Every source numbers its records through one of these per answer: per SIEM file, per window page.
 * A window whose identical records straddle two pages passes the counts of the page's last second on
 * to the next page (`carried`), so the run keeps counting instead of starting at 1 again.
 */
import { canonicalJson, eventIdOfCanonical } from './envelope';
import type { StreamId } from './streams';

/** Canonical records remembered per answer (a window page holds at most 500). */
const REMEMBERED_RECORDS = 5000;

export class OccurrenceIds {
  /** Records numbered so far, per occurrence-1 id. One entry per distinct record of the answer. */
  private readonly counts = new Map<string, number>();
  /** Occurrence-1 id of each canonical record seen in this answer: a copy is hashed once, for its own id. */
  private readonly keys = new Map<string, string>();
  private last = '';

  /**
   * @param carried counts of records numbered before this answer began, by their occurrence-1 id
   *   (`lastKey`): the next copy of such a record continues from its count.
   */
  constructor(
    private readonly stream: StreamId,
    carried: Readonly<Record<string, number>> = {},
  ) {
    for (const [key, count] of Object.entries(carried)) this.counts.set(key, count);
  }

  /** The id of the next record of the answer, over its canonical JSON (records that may come back re-serialised). */
  idOf(event: unknown): string {
    return this.idOfText(canonicalJson(event));
  }

  /**
   * The id of the next record of the answer, over the record's own JSON text as served. Only for bytes
   * that never change: a SIEM file is immutable, so reading it again gives the same text and the same
   * ids, without the canonical JSON that costs more than the rest of a record's way (docs/PERFORMANCE.md).
   * The hash is `eventId`'s over that text, so the occurrence rules are the same; a record's text and the
   * canonical JSON of another record are equal only when both are the same JSON value.
   */
  idOfText(text: string): string {
    let key = this.keys.get(text);
    if (key === undefined) {
      key = eventIdOfCanonical(this.stream, text, 1);
      // Bounded: a SIEM file can hold many thousand records; past the bound a copy is hashed twice.
      if (this.keys.size < REMEMBERED_RECORDS) this.keys.set(text, key);
    }
    const occurrence = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, occurrence);
    this.last = key;
    return occurrence === 1 ? key : eventIdOfCanonical(this.stream, text, occurrence);
  }

  /** The occurrence-1 id of the record `idOf` numbered last: the key its identical copies count under. */
  get lastKey(): string {
    return this.last;
  }

  /** How many records with this key were numbered so far, carried counts included. */
  countOf(key: string): number {
    return this.counts.get(key) ?? 0;
  }
}
