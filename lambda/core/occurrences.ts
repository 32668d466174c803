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
  private readonly counts = new IdCounts();
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
    const occurrence = this.counts.increment(key);
    this.last = key;
    return occurrence === 1 ? key : eventIdOfCanonical(this.stream, text, occurrence);
  }

  /** The occurrence-1 id of the record `idOf` numbered last: the key its identical copies count under. */
  get lastKey(): string {
    return this.last;
  }

  /** How many records with this key were numbered so far, carried counts included. */
  countOf(key: string): number {
    return this.counts.get(key);
  }
}

/** Slots a table starts with: a window page (≤ 500 records) never grows it. */
const INITIAL_SLOTS = 1024;
/** Words per slot: the id's 128 bits, then its count (0: an empty slot). */
const SLOT_WORDS = 5;
const MAX_COUNT = 0xffffffff;

/**
 * Counts per occurrence-1 id, for every distinct record of an answer: a SIEM 1.0 file holds hundreds of
 * thousands. A `Map` from the 32-character id costs about 150 bytes of JavaScript heap per record (the
 * id string, the 64-character digest it is sliced from, the entry), which grew the collector's peak
 * memory with the file's size and gave the garbage collector that much more to walk
 * (docs/PERFORMANCE.md, "Memory"). Here an id is its 128 bits in an open-addressing table in one typed
 * array, 20 bytes a slot at most three quarters full, outside the heap the collector walks. Exactly the
 * `Map`'s behaviour: two keys share a count only when they are the same string; anything that is not
 * a 32-digit lowercase hex id (or is the all-zero id, the table's empty mark) goes to a `Map`.
 */
class IdCounts {
  private table = new Uint32Array(INITIAL_SLOTS * SLOT_WORDS);
  private mask = INITIAL_SLOTS - 1;
  private used = 0;
  /** Keys the table cannot hold, and counts it cannot (0 marks an empty slot); these win over the table. */
  private readonly others = new Map<string, number>();
  /** The words of the key `words` decoded last. */
  private readonly w = new Uint32Array(4);

  get(key: string): number {
    const other = this.others.size === 0 ? undefined : this.others.get(key);
    if (other !== undefined || !this.words(key)) return other ?? 0;
    const at = this.find();
    return at < 0 ? 0 : this.table[at + 4]!;
  }

  set(key: string, count: number): void {
    if (!this.words(key) || !Number.isInteger(count) || count < 1 || count > MAX_COUNT) {
      this.others.set(key, count);
      return;
    }
    this.others.delete(key);
    const at = this.find();
    if (at >= 0) this.table[at + 4] = count;
    else this.add(count);
  }

  /** Adds one to the key's count and returns the new count. */
  increment(key: string): number {
    const other = this.others.size === 0 ? undefined : this.others.get(key);
    if (other !== undefined || !this.words(key)) {
      const count = (other ?? 0) + 1;
      this.others.set(key, count);
      return count;
    }
    const at = this.find();
    if (at < 0) {
      this.add(1);
      return 1;
    }
    const count = this.table[at + 4]! + 1;
    if (count > MAX_COUNT) this.others.set(key, count);
    else this.table[at + 4] = count;
    return count;
  }

  /** Decodes a 32-digit lowercase hex id into `w`; false for any other string and the all-zero id. */
  private words(key: string): boolean {
    if (key.length !== 32) return false;
    const w = this.w;
    for (let i = 0; i < 4; i++) {
      let word = 0;
      for (let j = i * 8; j < i * 8 + 8; j++) {
        const c = key.charCodeAt(j);
        const digit = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
        if (digit < 0) return false;
        word = (word << 4) | digit;
      }
      w[i] = word;
    }
    return (w[0]! | w[1]! | w[2]! | w[3]!) !== 0;
  }

  /** Word index of the slot holding `w`, or -1. The id is a hash, so its first word is a good index. */
  private find(): number {
    const { table, mask, w } = this;
    for (let slot = w[0]! & mask; ; slot = (slot + 1) & mask) {
      const at = slot * SLOT_WORDS;
      if (table[at + 4] === 0) return -1;
      if (table[at] === w[0] && table[at + 1] === w[1] && table[at + 2] === w[2] && table[at + 3] === w[3]) {
        return at;
      }
    }
  }

  /** Adds `w`, known to be absent, with this count. */
  private add(count: number): void {
    if ((this.used + 1) * 4 > (this.mask + 1) * 3) this.grow();
    this.place(this.table, this.mask, this.w[0]!, this.w[1]!, this.w[2]!, this.w[3]!, count);
    this.used += 1;
  }

  private place(
    table: Uint32Array,
    mask: number,
    w0: number,
    w1: number,
    w2: number,
    w3: number,
    count: number,
  ) {
    let slot = w0 & mask;
    while (table[slot * SLOT_WORDS + 4] !== 0) slot = (slot + 1) & mask;
    const at = slot * SLOT_WORDS;
    table[at] = w0;
    table[at + 1] = w1;
    table[at + 2] = w2;
    table[at + 3] = w3;
    table[at + 4] = count;
  }

  private grow(): void {
    const old = this.table;
    const slots = (this.mask + 1) * 2;
    const table = new Uint32Array(slots * SLOT_WORDS);
    const mask = slots - 1;
    for (let at = 0; at < old.length; at += SLOT_WORDS) {
      if (old[at + 4] !== 0)
        this.place(table, mask, old[at]!, old[at + 1]!, old[at + 2]!, old[at + 3]!, old[at + 4]!);
    }
    this.table = table;
    this.mask = mask;
  }
}
