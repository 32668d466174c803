import { gzipSync } from 'node:zlib';
import { strToU8, Zip, ZipDeflate, ZipPassThrough, zipSync } from 'fflate';
import { DecodeError } from '../../lambda/mimecast/decode/errors';
import { gunzip } from '../../lambda/mimecast/decode/gzip';
import { JsonArraySplitter } from '../../lambda/mimecast/decode/json-array';
import { KeyValueDecoder, LineSplitter, NdjsonDecoder } from '../../lambda/mimecast/decode/lines';
import { decodeRecords, peek, Queue } from '../../lambda/mimecast/decode/pump';
import { SiemFileDecoder } from '../../lambda/mimecast/decode/siem-file';
import { isZip, ZipDecoder } from '../../lambda/mimecast/decode/zip';

/** Feeds `text` to `write` cut at every given position. */
function feed(text: string, cuts: number[], write: (piece: string) => void): void {
  let at = 0;
  for (const cut of [...cuts, text.length]) {
    write(text.slice(at, cut));
    at = cut;
  }
}

function splitJson(text: string, cuts: number[] = [], key = 'data') {
  const elements: unknown[] = [];
  const splitter = new JsonArraySplitter(key, (value) => elements.push(value), 10_000);
  feed(text, cuts, (piece) => splitter.write(piece));
  const skeleton = splitter.end();
  return { elements, skeleton, found: splitter.foundArray };
}

async function* chunksOf(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) {
    yield bytes.subarray(i, Math.min(bytes.length, i + size));
  }
}

async function all<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}

describe('JsonArraySplitter', () => {
  const doc = JSON.stringify({
    type: 'MTA',
    data: [
      { a: 1, s: 'quote " and ] } , [ {', nested: { x: [1, 2, { y: 'z' }] } },
      { b: 'back\\slash\\', u: '\u00e9\u4e2d' },
      { c: null },
    ],
    after: { fail: [] },
  });

  it('hands out each element and keeps the rest as the skeleton', () => {
    const { elements, skeleton, found } = splitJson(doc);
    expect(found).toBe(true);
    expect(elements).toEqual(JSON.parse(doc).data);
    expect(skeleton).toEqual({ type: 'MTA', data: [], after: { fail: [] } });
  });

  it('gives the same result whatever the chunk boundaries', () => {
    const expected = JSON.parse(doc).data;
    for (let cut = 1; cut < doc.length; cut += 1) {
      expect(splitJson(doc, [cut]).elements).toEqual(expected);
    }
    const everyChar = Array.from({ length: doc.length - 1 }, (_, i) => i + 1);
    expect(splitJson(doc, everyChar).elements).toEqual(expected);
  });

  it('handles scalars, strings, whitespace and an empty array', () => {
    expect(splitJson('{ "data" : [ 1 , "x" , true , null , -2.5e3 ] }').elements).toEqual([
      1,
      'x',
      true,
      null,
      -2500,
    ]);
    expect(splitJson('{"data":[]}').elements).toEqual([]);
    expect(splitJson('{"meta":{"data":[1]},"data":[2]}').elements).toEqual([2]);
    expect(splitJson('{"\\u0064ata":[3]}').elements).toEqual([3]);
  });

  it('reports a document without the array', () => {
    expect(splitJson('{"meta":{},"fail":[]}').found).toBe(false);
    expect(splitJson('[1,2]').found).toBe(false);
  });

  it.each([
    '{"data":[{"a":1}{"b":2}]}',
    '{"data":[{"a":1},,{"b":2}]}',
    '{"data":[{"a":1},]}',
    '{"data":[,{"a":1}]}',
    '{"data":[{"a":1}',
    '{"data":[{"a":}]}',
    '{"data":[]} trailing',
    '{"data":[1]',
    '{"data":[1]}}',
  ])('refuses %s', (text) => {
    expect(() => splitJson(text)).toThrow(DecodeError);
  });

  it('refuses an element larger than the limit', () => {
    const splitter = new JsonArraySplitter('data', () => undefined, 50);
    expect(() => splitter.write(`{"data":[{"a":"${'x'.repeat(100)}"}]}`)).toThrow(/longer than 50/);
  });
});

describe('LineSplitter and NdjsonDecoder', () => {
  it('splits \\n and \\r\\n across chunk boundaries', () => {
    const text = 'one\r\ntwo\nthree\r\n\nfour';
    for (let cut = 1; cut < text.length; cut += 1) {
      const lines: string[] = [];
      const splitter = new LineSplitter((line) => lines.push(line), 100);
      feed(text, [cut], (piece) => splitter.write(piece));
      splitter.end();
      expect(lines).toEqual(['one', 'two', 'three', '', 'four']);
    }
  });

  it('parses NDJSON with multi-byte characters split between chunks', () => {
    const text = '{"a":"\u00e9\u4e2d\ud83d\ude00"}\n\n{"b":2}\r\n';
    const bytes = Buffer.from(text);
    for (let cut = 1; cut < bytes.length; cut += 1) {
      const records: unknown[] = [];
      const decoder = new NdjsonDecoder((r) => records.push(r), 1000);
      decoder.push(bytes.subarray(0, cut));
      decoder.push(bytes.subarray(cut));
      decoder.end();
      expect(records).toEqual([{ a: '\u00e9\u4e2d\ud83d\ude00' }, { b: 2 }]);
    }
  });

  it.each(['{"a":1}\n{broken\n', '[1,2]\n', '"text"\n', '{"a":1}\n{"b":'])('refuses %j', (text) => {
    const decoder = new NdjsonDecoder(() => undefined, 1000);
    expect(() => {
      decoder.push(Buffer.from(text));
      decoder.end();
    }).toThrow(DecodeError);
  });

  it('names the bad line', () => {
    const decoder = new NdjsonDecoder(() => undefined, 1000);
    expect(() => decoder.push(Buffer.from('{"a":1}\n{"b":2}\nnope\n'))).toThrow(/line 3/);
  });
});

describe('KeyValueDecoder', () => {
  const decode = (text: string, cuts: number[] = []) => {
    const records: Record<string, string>[] = [];
    const decoder = new KeyValueDecoder((r) => records.push(r), 10_000);
    feed(text, cuts, (piece) => decoder.write(piece));
    decoder.end();
    return records;
  };

  it('reads records that start with datetime=, with \\n or \\r\\n', () => {
    const text =
      'datetime=2017-05-26T16:47:41+0100|aCode=7O7I|acc=C0A0|Act=Acc\r\n' +
      'datetime=2017-05-26T16:47:42+0100|aCode=8P8J|Subject=a=b\n';
    const expected = [
      { datetime: '2017-05-26T16:47:41+0100', aCode: '7O7I', acc: 'C0A0', Act: 'Acc' },
      { datetime: '2017-05-26T16:47:42+0100', aCode: '8P8J', Subject: 'a=b' },
    ];
    expect(decode(text)).toEqual(expected);
    for (let cut = 1; cut < text.length; cut += 7) {
      expect(decode(text, [cut])).toEqual(expected);
    }
  });

  it('keeps a | or a line break inside a value, and __proto__ as a plain field', () => {
    const records = decode('datetime=x|Subject=a|b|c=d\nsecond line\ndatetime=y|__proto__=p\n');
    expect(records[0]).toEqual({ datetime: 'x', Subject: 'a|b', c: 'd\nsecond line' });
    expect(Object.keys(records[1])).toEqual(['datetime', '__proto__']);
    expect(Object.getPrototypeOf(records[1])).toBe(Object.prototype);
  });

  it('refuses text that does not start with a record', () => {
    expect(() => decode('hello=world|x=y\n')).toThrow(DecodeError);
  });
});

describe('SiemFileDecoder (content sniffing)', () => {
  const decode = (text: string) => {
    const records: unknown[] = [];
    const decoder = new SiemFileDecoder((r) => records.push(r), 10_000);
    decoder.write(Buffer.from(text));
    decoder.end();
    return { records, skeleton: decoder.skeleton };
  };

  it('reads JSON files, key_value files and empty files', () => {
    expect(decode('\ufeff {"type":"MTA","data":[{"acc":"C1"}]}').records).toEqual([{ acc: 'C1' }]);
    expect(decode('datetime=2017|acc=C1\n').records).toEqual([{ datetime: '2017', acc: 'C1' }]);
    expect(decode('  \n').records).toEqual([]);
  });

  it.each(['<html>oops</html>', 'date', '{"type":"MTA"}', '{"data":[1]}', '{"data":{"a":1}}'])(
    'refuses %j',
    (text) => {
      expect(() => decode(text)).toThrow(DecodeError);
    },
  );
});

function zipOf(files: Record<string, string>, level: 0 | 6 = 6): Uint8Array {
  return zipSync(
    Object.fromEntries(Object.entries(files).map(([name, text]) => [name, [strToU8(text), { level }]])),
  );
}

/** A zip written by fflate's streaming Zip: sizes in data descriptors after each member, as streaming servers write them. */
function streamedZip(files: Record<string, string>): Uint8Array {
  const parts: Uint8Array[] = [];
  const zip = new Zip((err, data) => {
    if (err) throw err;
    parts.push(data);
  });
  for (const [name, text] of Object.entries(files)) {
    const entry = new ZipDeflate(name, { level: 6 });
    zip.add(entry);
    entry.push(strToU8(text), true);
  }
  zip.end();
  return Buffer.concat(parts);
}

function unzipRecords(bytes: Uint8Array, chunk = 7) {
  const records: { member: string; record: unknown }[] = [];
  const decoder = new ZipDecoder(
    (name) => new SiemFileDecoder((record) => records.push({ member: name, record }), 10_000),
  );
  for (let i = 0; i < bytes.length; i += chunk) {
    decoder.push(bytes.subarray(i, i + chunk));
  }
  decoder.end();
  return records;
}

describe('ZipDecoder', () => {
  const member = JSON.stringify({
    type: 'MTA',
    data: [
      { acc: 'C1', n: 1 },
      { acc: 'C1', n: 2 },
    ],
  });

  it('tells a zip by its magic bytes', () => {
    expect(isZip(zipOf({ 'a.json': member }))).toBe(true);
    expect(isZip(zipSync({}))).toBe(true);
    expect(isZip(Buffer.from('{"meta":{}}'))).toBe(false);
    expect(isZip(Buffer.from('PK'))).toBe(false);
  });

  it.each([
    ['deflated', () => zipOf({ 'receipt_1.json': member, 'process_2.json': member })],
    ['stored', () => zipOf({ 'receipt_1.json': member, 'process_2.json': member }, 0)],
    [
      'streamed with data descriptors',
      () => streamedZip({ 'receipt_1.json': member, 'process_2.json': member }),
    ],
  ])('streams every member (%s), in any chunk size', (_, build) => {
    const bytes = build();
    for (const chunk of [1, 5, 64, 100_000]) {
      expect(unzipRecords(bytes, chunk)).toEqual([
        { member: 'receipt_1.json', record: { acc: 'C1', n: 1 } },
        { member: 'receipt_1.json', record: { acc: 'C1', n: 2 } },
        { member: 'process_2.json', record: { acc: 'C1', n: 1 } },
        { member: 'process_2.json', record: { acc: 'C1', n: 2 } },
      ]);
    }
  });

  it('reads an empty archive as no records', () => {
    expect(unzipRecords(zipSync({}))).toEqual([]);
  });

  it('refuses an archive cut short anywhere', () => {
    const bytes = zipOf({ 'receipt_1.json': member, 'process_2.json': member });
    for (let length = 1; length < bytes.length; length += 1) {
      expect(() => unzipRecords(bytes.subarray(0, length))).toThrow(Error);
    }
  });

  it('refuses a member in an unknown compression method', () => {
    const bytes = Buffer.from(zipOf({ 'a.json': member }, 0));
    bytes.writeUInt16LE(99, 8); // local header compression method
    expect(() => unzipRecords(bytes)).toThrow(DecodeError);
  });

  it('supports members with the stored ZipPassThrough', () => {
    const parts: Uint8Array[] = [];
    const zip = new Zip((err, data) => {
      if (err) throw err;
      parts.push(data);
    });
    const entry = new ZipPassThrough('jrnl_20240101000000.json');
    zip.add(entry);
    entry.push(strToU8(member), true);
    zip.end();
    expect(unzipRecords(Buffer.concat(parts))).toHaveLength(2);
  });
});

describe('gunzip', () => {
  it('streams multi-member gzip', async () => {
    const bytes = Buffer.concat([gzipSync('{"a":1}\n'), gzipSync('{"b":2}\n')]);
    const out = Buffer.concat(await all(gunzip(chunksOf(bytes, 3))));
    expect(out.toString()).toBe('{"a":1}\n{"b":2}\n');
  });

  it.each([
    ['empty', Buffer.alloc(0)],
    ['truncated trailer', gzipSync('{"a":1}\n').subarray(0, -4)],
    ['header only', gzipSync('{"a":1}\n').subarray(0, 10)],
    ['not gzip', Buffer.from('{"a":1}\n')],
    [
      'bad crc',
      (() => {
        const b = Buffer.from(gzipSync('{"a":1}\n'));
        b[b.length - 6] ^= 0xff;
        return b;
      })(),
    ],
  ])('refuses %s', async (_, bytes) => {
    await expect(all(gunzip(chunksOf(bytes, 4)))).rejects.toBeInstanceOf(DecodeError);
  });
});

describe('decodeRecords and peek', () => {
  it('yields after each chunk and reads ahead no further than needed', async () => {
    let pulled = 0;
    async function* source() {
      for (const text of ['{"a":1}\n', '{"b":2}\n', '{"c":3}\n']) {
        pulled += 1;
        yield Buffer.from(text);
      }
    }
    const queue = new Queue<unknown>();
    const iterator = decodeRecords(source(), new NdjsonDecoder((r) => queue.push(r), 100), queue);
    expect((await iterator.next()).value).toEqual({ a: 1 });
    expect(pulled).toBe(1);
    expect((await iterator.next()).value).toEqual({ b: 2 });
    expect(pulled).toBe(2);
    await iterator.return?.(undefined);
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
  });

  it('maps source and decoder failures, and runs onEnd only after a clean end', async () => {
    async function* broken() {
      yield Buffer.from('{"a":1}\n');
      throw new Error('socket closed');
    }
    const seen: unknown[] = [];
    const queue = new Queue<unknown>();
    let ended = false;
    const records = decodeRecords(broken(), new NdjsonDecoder((r) => queue.push(r), 100), queue, {
      mapError: (err) => new RangeError(`mapped: ${(err as Error).message}`),
      onEnd: () => {
        ended = true;
      },
    });
    await expect(
      (async () => {
        for await (const record of records) seen.push(record);
      })(),
    ).rejects.toThrow('mapped: socket closed');
    expect(seen).toEqual([{ a: 1 }]);
    expect(ended).toBe(false);
  });

  it('peeks the first bytes and replays them', async () => {
    const { head, rest } = await peek(chunksOf(Buffer.from('PK\x03\x04 and the rest'), 2), 4);
    expect(Buffer.from(head).toString('latin1')).toBe('PK\x03\x04');
    expect(Buffer.concat(await all(rest)).toString('latin1')).toBe('PK\x03\x04 and the rest');
    const short = await peek(chunksOf(Buffer.from('{}'), 1), 4);
    expect(Buffer.from(short.head).toString()).toBe('{}');
  });
});
