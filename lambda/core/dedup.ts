/**
 * Remembers the most recent event ids seen in one stream's tick, so exact repeats at page and window
 * boundaries are dropped before they reach the sink. Bounded: the oldest ids are forgotten first
 * (boundary repeats are always recent), so memory stays flat on a long catch-up.
 */
export class RecentIds {
  private readonly ids = new Set<string>();

  constructor(private readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`RecentIds capacity must be a positive integer, got ${capacity}`);
    }
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Adds an id; forgets the oldest when over capacity (a Set iterates in insertion order). */
  add(id: string): void {
    if (this.ids.has(id)) return;
    this.ids.add(id);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next().value;
      if (oldest !== undefined) this.ids.delete(oldest);
    }
  }

  get size(): number {
    return this.ids.size;
  }
}
