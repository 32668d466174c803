/** RecentIds forgets exactly the oldest ids, as a FIFO of the given capacity. */
import fc from 'fast-check';
import { RecentIds } from '../../lambda/core/dedup';

/** The specification: ids in insertion order, a known id changes nothing, the oldest leaves first. */
class ReferenceRecentIds {
  private readonly order: string[] = [];
  constructor(private readonly capacity: number) {}
  has(id: string): boolean {
    return this.order.includes(id);
  }
  add(id: string): void {
    if (this.has(id)) return;
    this.order.push(id);
    if (this.order.length > this.capacity) this.order.shift();
  }
  get size(): number {
    return this.order.length;
  }
}

test('behaves as a FIFO set of the given capacity', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 12 })), { maxLength: 80 }),
      (capacity, steps) => {
        const recent = new RecentIds(capacity);
        const reference = new ReferenceRecentIds(capacity);
        for (const [isAdd, n] of steps) {
          const id = `id-${n}`;
          if (isAdd) {
            recent.add(id);
            reference.add(id);
          }
          expect(recent.has(id)).toBe(reference.has(id));
          expect(recent.size).toBe(reference.size);
        }
        for (let n = 0; n <= 12; n++) expect(recent.has(`id-${n}`)).toBe(reference.has(`id-${n}`));
      },
    ),
    { numRuns: 500 },
  );
});

test('a long run keeps only the last `capacity` ids', () => {
  const recent = new RecentIds(1000);
  for (let i = 0; i < 50_000; i++) recent.add(`e${i}`);
  expect(recent.size).toBe(1000);
  expect(recent.has('e48999')).toBe(false);
  expect(recent.has('e49000')).toBe(true);
  expect(recent.has('e49999')).toBe(true);
});

test('refuses a capacity that is not a positive integer', () => {
  expect(() => new RecentIds(0)).toThrow(RangeError);
  expect(() => new RecentIds(1.5)).toThrow(RangeError);
});
