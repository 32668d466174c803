/**
 * Remembers the most recent event ids seen in one stream's tick, so exact repeats at page and window
 * boundaries are dropped before they reach the sink. Identical records of one answer carry different
 * ids (occurrences.ts), so only a true repeat (the same occurrence again) matches. Bounded: the oldest ids are forgotten first
 * (boundary repeats are always recent), so memory stays flat on a long catch-up.
 *
 * The ids sit in a Set (lookups) and, in insertion order, in a fixed ring (eviction). Evicting through
 * the Set's own iterator instead (`values().next()`) walks over every slot deleted since the Set last
 * compacted itself, which made eviction the single largest cost of a long catch-up (docs/PERFORMANCE.md).
 */
export class RecentIds {
  private readonly ids = new Set<string>();
  private readonly ring: (string | undefined)[];
  /** Slot of the oldest id once the ring is full; the next write goes there. */
  private next = 0;

  constructor(private readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`RecentIds capacity must be a positive integer, got ${capacity}`);
    }
    this.ring = new Array(capacity);
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Adds an id; forgets the oldest when over capacity. Adding a known id changes nothing. */
  add(id: string): void {
    if (this.ids.has(id)) return;
    const oldest = this.ring[this.next];
    if (oldest !== undefined) this.ids.delete(oldest);
    this.ring[this.next] = id;
    this.next = (this.next + 1) % this.capacity;
    this.ids.add(id);
  }

  get size(): number {
    return this.ids.size;
  }
}
