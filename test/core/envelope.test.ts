/**
 * Event ids never change: every id ever forwarded depends on canonicalJson and eventId. The fast
 * implementation (lambda/core/envelope.ts) is checked against the original, straightforward one kept
 * here as the oracle, on arbitrary values, and against ids fixed before it was written.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { canonicalJson, eventId } from '../../lambda/core/envelope';

/** The original definition, verbatim. */
function referenceCanonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) {
    return `[${value.map((item) => referenceCanonicalJson(item === undefined ? null : item)).join(',')}]`;
  }
  const entries = Object.keys(value)
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .sort()
    .map(
      (key) => `${JSON.stringify(key)}:${referenceCanonicalJson((value as Record<string, unknown>)[key])}`,
    );
  return `{${entries.join(',')}}`;
}

function referenceEventId(stream: string, event: unknown): string {
  return createHash('sha256')
    .update(stream)
    .update('\n')
    .update(referenceCanonicalJson(event))
    .digest('hex')
    .slice(0, 32);
}

/** JSON values plus what a decoder could in principle hand over: undefined members, holes, odd keys. */
const anyValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom(undefined, Number.NaN, -0, Number.POSITIVE_INFINITY, '\u2028', '"\\', 'é'),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.sparseArray(tie('value'), { maxLength: 5 }),
    fc.dictionary(
      fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('10', '2', 'a', 'B', '', 'é', '\ud83d\ude00')),
      tie('value'),
      { maxKeys: 6 },
    ),
  ),
})).value;

test('canonicalJson is the original definition on arbitrary values', () => {
  fc.assert(
    fc.property(anyValue, (value) => {
      expect(canonicalJson(value)).toBe(referenceCanonicalJson(value));
    }),
    { numRuns: 3000 },
  );
});

test('objects of one shape, and shapes sharing a first key, keep their own key order', () => {
  const a = { z: 1, a: 2, m: { y: [1, { b: 1, a: 2 }], x: null } };
  const b = { z: 1, b: 2, a: undefined };
  const c = { z: 1, a: 2, q: 3 };
  for (let i = 0; i < 3; i++) {
    for (const value of [a, b, c, { ...a, z: i }, { z: i, a: { z: i } }]) {
      expect(canonicalJson(value)).toBe(referenceCanonicalJson(value));
    }
  }
  expect(canonicalJson({ b: 1, a: 2 })).toBe('{"a":2,"b":1}');
  expect(canonicalJson({ a: 2, b: 1 })).toBe('{"a":2,"b":1}');
});

test('past the shape cache bounds the output is unchanged', () => {
  for (let i = 0; i < 1500; i++) {
    const value = { [`k${i}`]: i, first: true, [`z${i % 7}`]: [i] };
    expect(canonicalJson(value)).toBe(referenceCanonicalJson(value));
  }
  const wide = Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`w${(i * 7919) % 400}`, i]));
  expect(canonicalJson(wide)).toBe(referenceCanonicalJson(wide));
  expect(canonicalJson(wide)).toBe(referenceCanonicalJson(wide));
});

test('eventId is the original sha256 over stream and canonical JSON', () => {
  fc.assert(
    fc.property(fc.constantFrom('siem', 'audit', 'ttp-url'), anyValue, (stream, value) => {
      expect(eventId(stream as 'siem', value)).toBe(referenceEventId(stream, value));
    }),
    { numRuns: 1000 },
  );
});

test('a later occurrence hashes the stream, the canonical JSON and its number; the first is unchanged', () => {
  fc.assert(
    fc.property(anyValue, fc.integer({ min: 2, max: 1_000_000 }), (value, occurrence) => {
      expect(eventId('audit', value, 1)).toBe(referenceEventId('audit', value));
      const expected = createHash('sha256')
        .update(`audit\n${referenceCanonicalJson(value)}\n${occurrence}`)
        .digest('hex')
        .slice(0, 32);
      expect(eventId('audit', value, occurrence)).toBe(expected);
    }),
    { numRuns: 300 },
  );
  for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => eventId('audit', {}, bad)).toThrow(RangeError);
});

test('ids issued before the fast implementation stay the same', () => {
  expect(
    eventId('siem', {
      acc: 'CSA39A638',
      datetime: '2026-11-21T00:52:22+0100',
      aCode: '158Iz2XA8WRs1EUQOPYt46',
      Sender: 'noreply@treyresearch-mail.example',
      Rcpt: 'quinn.tanaka@proseware.example',
      RcptActType: 'Jnl',
      RcptHdrType: 'Unknown',
      Dir: 'Inbound',
    }),
  ).toBe('9afd0c334efba11b0498e23b702efa57');
  expect(
    eventId('audit', {
      id: 'eNo1',
      auditType: 'Logon',
      user: 'a@b.example',
      eventTime: '2026-11-21T00:52:22+0000',
      eventInfo: 'Logged on',
      category: 'authentication_logs',
      nested: { z: 1, a: [1, 'two', null, { y: true, b: -0.5 }], é: 'ü\u2028"\\' },
    }),
  ).toBe('878e31aafdd7dfdbf2878c6d45769ff5');
  expect(eventId('ttp-url', { b: undefined, a: [undefined, 1], c: {}, d: [] })).toBe(
    '6332fd462bea99a4e0e6c466917f9ab7',
  );
  expect(eventId('siem', [3, { b: 2, a: 1 }])).toBe('401124d39e605869534c66d6d0bb9c4e');
  expect(eventId('siem', 'plain')).toBe('3d8204e4e11029ee87f5deda617c223e');
  expect(eventId('siem', null)).toBe('8ba651f0007c89a16085af14a7bb13aa');
});
