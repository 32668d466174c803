/** The three Event Push body shapes, HEC's concatenated objects, gzip, and every way a body can be wrong. */
import { gzipSync } from 'node:zlib';
import { PushBodyError } from '../../lambda/errors';
import { parsePushBody } from '../../lambda/push';
import { auditEvent, bytes, gzip, hecArray, ndjson, receiptEvent } from './fixtures';

const LIMITS = { maxDecodedBytes: 1024 * 1024 };
const parse = (body: Uint8Array | string) =>
  parsePushBody(typeof body === 'string' ? bytes(body) : body, LIMITS);

function failure(body: Uint8Array | string, limits = LIMITS): PushBodyError {
  try {
    parsePushBody(typeof body === 'string' ? bytes(body) : body, limits);
  } catch (err) {
    expect(err).toBeInstanceOf(PushBodyError);
    return err as PushBodyError;
  }
  throw new Error('the body was accepted');
}

const events = [receiptEvent(1), receiptEvent(2), auditEvent(3)];

describe('body shapes', () => {
  it('reads a JSON array of HEC events (the HEC push type)', () => {
    const items = parse(hecArray(events));
    expect(items.map((i) => i.event)).toEqual(events);
    expect(items.map((i) => i.index)).toEqual([1, 2, 3]);
  });

  it('reads NDJSON of HEC events (the NDJSON push type), with CRLF and blank lines', () => {
    expect(parse(ndjson(events)).map((i) => i.event)).toEqual(events);
    const crlf = events.map((event) => JSON.stringify({ event })).join('\r\n\r\n');
    expect(parse(crlf).map((i) => i.event)).toEqual(events);
  });

  it('reads one JSON event (the webhook push type), unwrapped or wrapped', () => {
    expect(parse(JSON.stringify(receiptEvent(7))).map((i) => i.event)).toEqual([receiptEvent(7)]);
    expect(parse(JSON.stringify({ event: receiptEvent(7) })).map((i) => i.event)).toEqual([receiptEvent(7)]);
  });

  it('reads HEC objects written back to back, as Splunk HEC accepts them', () => {
    const body = events.map((event) => JSON.stringify({ event, sourcetype: 'mimecast' })).join('');
    expect(parse(body).map((i) => i.event)).toEqual(events);
  });

  it('reads an array of bare events, and braces and quotes inside strings do not cut objects', () => {
    const tricky = { ...receiptEvent(1), subject: 'a } { "quoted" \\ ] [' };
    expect(parse(JSON.stringify([tricky, receiptEvent(2)])).map((i) => i.event)).toEqual([
      tricky,
      receiptEvent(2),
    ]);
    expect(parse(`${JSON.stringify(tricky)}\n${JSON.stringify(tricky)}`)).toHaveLength(2);
  });

  it('keeps the HEC time (epoch seconds) and ignores an invalid one', () => {
    const body = JSON.stringify([
      { event: receiptEvent(1), time: 1717588206.5 },
      { event: receiptEvent(2), time: '1717588207' },
      { event: receiptEvent(3), time: 'yesterday' },
    ]);
    expect(parse(body).map((i) => i.hecTimeMs)).toEqual([1717588206500, 1717588207000, undefined]);
  });

  it('takes an event with a field of its own named "event" as the event, not as a HEC wrapper', () => {
    const own = { event: 'login', auditType: 'User Logged On', eventTime: '2024-06-05T11:50:06+0000' };
    expect(parse(JSON.stringify(own))[0]?.event).toEqual(own);
  });

  it('reads a double-encoded event (a JSON object in a string) as the object, and keeps other text', () => {
    const body = JSON.stringify([{ event: JSON.stringify(receiptEvent(1)) }, { event: 'plain text line' }]);
    expect(parse(body).map((i) => i.event)).toEqual([receiptEvent(1), 'plain text line']);
  });

  it('reads gzip bodies of every shape, whatever the headers say', () => {
    expect(parse(gzip(hecArray(events))).map((i) => i.event)).toEqual(events);
    expect(parse(gzip(ndjson(events))).map((i) => i.event)).toEqual(events);
  });

  it('reads a UTF-8 byte order mark and non-ASCII text', () => {
    const event = { ...receiptEvent(1), subject: 'Rechnung für Q3 — 請求書' };
    expect(parse(`\uFEFF${JSON.stringify([{ event }])}`)[0]?.event).toEqual(event);
  });
});

describe('bad bodies', () => {
  it('empty: HEC code 5 (no data)', () => {
    for (const body of ['', '  \n\r\n', '[]']) {
      const error = failure(body);
      expect(error.hecCode).toBe(5);
      expect(error.status).toBe(400);
      expect(error.message).toMatch(/empty/);
    }
  });

  it('a broken NDJSON line: code 6, naming the line', () => {
    const lines = ndjson(events).split('\n');
    lines[1] = '{"event": {"type": "receipt", "timestamp": 17175882,}}';
    const error = failure(lines.join('\n'));
    expect(error.hecCode).toBe(6);
    expect(error.position?.line).toBe(2);
    expect(error.message).toMatch(/line 2/);
  });

  it('a truncated body: names where the unclosed object starts', () => {
    const body = ndjson(events);
    const error = failure(body.slice(0, body.length - 20));
    expect(error.hecCode).toBe(6);
    expect(error.position?.line).toBe(3);
    expect(error.message).toMatch(/not closed/);
  });

  it('text between objects, and a JSON array that is not JSON', () => {
    expect(failure(`${JSON.stringify({ event: receiptEvent(1) })} trailing`).message).toMatch(
      /Expected a JSON object/,
    );
    expect(failure('[{"event": {"a": 1}}, nope]').hecCode).toBe(6);
  });

  it('items that are not objects, and empty events', () => {
    expect(failure('[1, 2]').message).toMatch(/Item 1 .* not a JSON object/);
    expect(failure('[{"event": {"a": 1}}, "text"]').message).toMatch(/Item 2/);
    expect(failure('{"event": ""}').message).toMatch(/empty "event"/);
    expect(failure('{"event": null, "time": 1}').message).toMatch(/empty "event"/);
  });

  it('corrupt gzip, bytes that are not UTF-8', () => {
    const zipped = gzip(hecArray(events));
    expect(failure(zipped.subarray(0, zipped.length - 10)).message).toMatch(/not valid gzip/);
    expect(failure(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])).message).toMatch(/not UTF-8/);
  });

  it('too large, plain or once decompressed (a gzip bomb stops at the limit): status 413', () => {
    const small = { maxDecodedBytes: 1000 };
    expect(failure('x'.repeat(1001), small).status).toBe(413);
    const bomb = new Uint8Array(gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20)));
    expect(bomb.length).toBeLessThan(100_000);
    const error = failure(bomb, small);
    expect(error.status).toBe(413);
    expect(error.message).toMatch(/decompresses to more than 1000 bytes/);
  });

  it('messages never quote the pushed text', () => {
    const secretish = 'Quarterly-payroll-Q3-SSN';
    const error = failure(`[{"event": {"subject": "${secretish}"}}, broken]`);
    expect(JSON.stringify(error.toJSON())).not.toContain(secretish);
  });
});
