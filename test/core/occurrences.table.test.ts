/**
 * OccurrenceIds keeps its counts in a typed-array table (lambda/core/occurrences.ts, `IdCounts`)
 * instead of a Map from id to count: the same numbering as the Map it replaced, checked against it.
 */
import fc from 'fast-check';
import { eventIdOfCanonical } from '../../lambda/core/envelope';
import { OccurrenceIds } from '../../lambda/core/occurrences';
import type { StreamId } from '../../lambda/core/streams';

/** The code before the table, as the oracle: a Map from occurrence-1 id to count. */
class MapOccurrenceIds {
  private readonly counts = new Map<string, number>();
  constructor(
    private readonly stream: StreamId,
    carried: Readonly<Record<string, number>> = {},
  ) {
    for (const [key, count] of Object.entries(carried)) this.counts.set(key, count);
  }
  idOfText(text: string): string {
    const key = eventIdOfCanonical(this.stream, text, 1);
    const occurrence = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, occurrence);
    return occurrence === 1 ? key : eventIdOfCanonical(this.stream, text, occurrence);
  }
  countOf(key: string): number {
    return this.counts.get(key) ?? 0;
  }
}

test('numbers a file of many distinct and repeated records as the Map did (the table grows several times)', () => {
  const texts: string[] = [];
  for (let i = 0; i < 6000; i++) texts.push(`{"n":${i}}`);
  // Repeats near and far: every 7th record again at once, every 11th once more at the end.
  const file: string[] = [];
  for (let i = 0; i < texts.length; i++) {
    file.push(texts[i]!);
    if (i % 7 === 0) file.push(texts[i]!);
  }
  for (let i = 0; i < texts.length; i += 11) file.push(texts[i]!);
  const table = new OccurrenceIds('siem');
  const map = new MapOccurrenceIds('siem');
  expect(file.map((t) => table.idOfText(t))).toEqual(file.map((t) => map.idOfText(t)));
  for (const t of texts) {
    const key = eventIdOfCanonical('siem', t, 1);
    expect(table.countOf(key)).toBe(map.countOf(key));
  }
  expect(table.countOf(eventIdOfCanonical('siem', '{"n":-1}', 1))).toBe(0);
});

test('arbitrary answers and carried counts give the Map ids and counts', () => {
  const text = fc.integer({ min: 0, max: 40 }).map((n) => `{"r":${n}}`);
  fc.assert(
    fc.property(
      fc.array(text, { maxLength: 60 }),
      fc.array(fc.tuple(text, fc.integer({ min: 1, max: 5 })), { maxLength: 8 }),
      (answer, carriedTexts) => {
        const carried: Record<string, number> = {};
        for (const [t, n] of carriedTexts) carried[eventIdOfCanonical('audit', t, 1)] = n;
        const table = new OccurrenceIds('audit', carried);
        const map = new MapOccurrenceIds('audit', carried);
        expect(answer.map((t) => table.idOfText(t))).toEqual(answer.map((t) => map.idOfText(t)));
        for (let n = 0; n <= 40; n++) {
          const key = eventIdOfCanonical('audit', `{"r":${n}}`, 1);
          expect(table.countOf(key)).toBe(map.countOf(key));
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('keys and counts the table cannot hold are kept exactly as given', () => {
  const text = '{"same":true}';
  const key = eventIdOfCanonical('audit', text, 1);
  // Keys that share their first 8 digits land in one run of slots: more than the first table holds.
  const crowded = Array.from({ length: 1500 }, (_, i) => `0000abcd${i.toString(16).padStart(24, '0')}`);
  const carried: Record<string, number> = {
    [key]: 0xffffffff, // the largest count a slot holds: the next copy goes past it
    'not-an-id': 3,
    [key.toUpperCase()]: 4, // another string than the id, so another key, as in the Map
    ['0'.repeat(32)]: 5, // the all-zero id: the table's empty mark
    [`${key.slice(0, 31)}g`]: 6,
    [key.slice(0, 31)]: 7,
  };
  crowded.forEach((k, i) => {
    carried[k] = i + 1;
  });
  const table = new OccurrenceIds('audit', carried);
  const map = new MapOccurrenceIds('audit', carried);
  for (const k of Object.keys(carried)) expect(table.countOf(k)).toBe(map.countOf(k));
  expect(table.idOfText(text)).toBe(map.idOfText(text));
  expect(table.idOfText(text)).toBe(eventIdOfCanonical('audit', text, 2 ** 32 + 1));
  expect(table.countOf(key)).toBe(2 ** 32 + 1);
  expect(table.countOf(`0000abcd${'f'.repeat(24)}`)).toBe(0);
});
