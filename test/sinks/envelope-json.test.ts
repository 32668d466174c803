/**
 * Every format writes envelopes through one function (`envelopeJson`), which copies a record's own JSON
 * text when its source handed it out as such (`RecordJson`). Checked against the straightforward `JSON.stringify` of the envelope the
 * formats used before, on arbitrary records, and for kept text byte for byte.
 */
import fc from 'fast-check';
import { canonicalJson, type Envelope, eventJson, RecordJson } from '../../lambda/core/envelope';
import { elasticBulkFormat } from '../../lambda/sinks/elastic-bulk';
import { envelopeFields, envelopeJson } from '../../lambda/sinks/format';
import { ndjsonFormat } from '../../lambda/sinks/ndjson';
import { hecEvent, splunkHecFormat } from '../../lambda/sinks/splunk-hec';

const url = new URL('http://127.0.0.1:9/ingest');

function envelope(event: unknown): Envelope {
  return {
    id: 'a'.repeat(32),
    stream: 'siem',
    logType: 'receipt "quoted" \u2028',
    time: '2024-06-05T11:50:06.389Z',
    instance: 'prod-1',
    event,
  };
}

/** What each format wrote before the one envelope writer: JSON.stringify of objects. */
const before = {
  ndjson: (e: Envelope) => `${JSON.stringify(envelopeFields(e))}\n`,
  'splunk-hec': (e: Envelope) => `${JSON.stringify(hecEvent(e, 'main'))}\n`,
  'elastic-bulk': (e: Envelope) =>
    `${JSON.stringify({ create: { _index: 'logs', _id: e.id } })}\n${JSON.stringify({ '@timestamp': e.time, ...envelopeFields(e) })}\n`,
};
const formats = {
  ndjson: ndjsonFormat(url),
  'splunk-hec': splunkHecFormat(url, 'main'),
  'elastic-bulk': elasticBulkFormat(url, 'logs'),
};

describe('envelopeJson', () => {
  test.each(Object.keys(formats) as (keyof typeof formats)[])(
    '%s writes exactly what JSON.stringify of the envelope wrote, for records without kept text',
    (name) => {
      fc.assert(
        fc.property(fc.option(fc.jsonValue(), { nil: undefined }), (event) => {
          expect(formats[name].serialize(envelope(event))).toBe(before[name](envelope(event)));
        }),
        { numRuns: 300 },
      );
    },
  );

  test.each(Object.keys(formats) as (keyof typeof formats)[])(
    "%s copies a kept record's own text byte for byte, and the line still parses to the same values",
    (name) => {
      // Whitespace, a number written 1.0 and an escaped slash: JSON.stringify would write none of them.
      const text = '{ "datetime" : "2024-06-05T11:50:06+0000", "size": 1.0, "path": "a\\/b" }';
      const line = formats[name].serialize(envelope(new RecordJson(text)));
      expect(line).toContain(`"event":${text}}`);
      const parsedLines = line
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown);
      const parsedBefore = before[name](envelope(JSON.parse(text)))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown);
      expect(parsedLines).toEqual(parsedBefore);
    },
  );

  test('a record without kept text is serialised; the text is the record to everything else', () => {
    const text = '{"b": 1, "a": [1.0]}';
    const kept = new RecordJson(text);
    expect(eventJson(kept)).toBe(text);
    expect(eventJson({ a: 1 })).toBe('{"a":1}');
    // JSON.stringify (a log attribute, a test) and canonical JSON see the record, not the wrapper.
    expect(JSON.stringify(kept)).toBe('{"b":1,"a":[1]}');
    expect(JSON.stringify({ event: kept })).toBe('{"event":{"b":1,"a":[1]}}');
    expect(canonicalJson(kept)).toBe('{"a":[1],"b":1}');
    expect(eventJson(undefined)).toBe('null');
    expect(envelopeJson(envelope(undefined))).toBe(JSON.stringify(envelopeFields(envelope(undefined))));
  });
});
