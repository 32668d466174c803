/**
 * JsonArraySplitter finds string ends with indexOf and a backslash count (docs/PERFORMANCE.md):
 * checked here on text dense in backslashes, quotes and brackets, cut at every position and into
 * many pieces, against JSON.parse.
 */
import fc from 'fast-check';
import { JsonArraySplitter } from '../../lambda/mimecast/decode/json-array';

const tricky = fc.string({
  unit: fc.constantFrom('\\', '"', '{', '}', '[', ']', ',', ':', 'a', ' ', 'é', '\n', '\u2028', '😀'),
  maxLength: 12,
});
const value = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    tricky,
    fc.integer(),
    fc.constantFrom(true, false, null),
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(tricky, tie('v'), { maxKeys: 3 }),
  ),
})).v;

function split(text: string, cuts: number[]): { elements: unknown[]; skeleton: unknown } {
  const elements: unknown[] = [];
  const splitter = new JsonArraySplitter('data', (v) => elements.push(v), 1_000_000);
  let position = 0;
  for (const cut of cuts) {
    splitter.write(text.slice(position, cut));
    position = cut;
  }
  splitter.write(text.slice(position));
  return { elements, skeleton: splitter.end() };
}

test('every cut position of a document dense in escapes', () => {
  fc.assert(
    fc.property(fc.array(value, { maxLength: 4 }), tricky, (data, extra) => {
      const text = JSON.stringify({ before: extra, data, after: [extra] });
      const expected = JSON.parse(text);
      for (let cut = 0; cut <= text.length; cut++) {
        const { elements, skeleton } = split(text, [cut]);
        expect(elements).toEqual(expected.data);
        expect(skeleton).toEqual({ ...expected, data: [] });
      }
    }),
    { numRuns: 150 },
  );
});

test('one character at a time, and in random pieces', () => {
  fc.assert(
    fc.property(fc.array(value, { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 30 }), (data, at) => {
      const text = JSON.stringify({ data });
      const every = Array.from({ length: text.length }, (_, i) => i);
      expect(split(text, every).elements).toEqual(data.map((d) => JSON.parse(JSON.stringify(d))));
      const cuts = [...new Set(at.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
      expect(split(text, cuts).elements).toEqual(JSON.parse(text).data);
    }),
    { numRuns: 300 },
  );
});
