/**
 * Issue 7, bad input: hostile sizes. A Mimecast answer (or a pre-signed batch file) that inflates a
 * thousandfold, declares sizes it does not have, or holds one endless record must end in a typed
 * error (or be read at the consumer's pace) within bounded time and bounded memory.
 *
 * test/mimecast/fuzz.test.ts feeds small random and mangled bodies; this file adds what random
 * bytes never produce: DEFLATE bombs (built by repeating a full-flushed DEFLATE block, so a 1 GiB
 * member costs 1 MB to build and send), headers that lie about sizes, and endless lines.
 *
 * Memory is measured as the growth of the process's peak resident set (`maxRSS`, monotonic), so a
 * short spike between two samples cannot hide: an implementation that holds an inflated member, a
 * giant line or a chunk's worth of records whole grows it by hundreds of MiB.
 */
import { constants, crc32, createDeflateRaw } from 'node:zlib';
import { Agent } from 'undici';
import type { SourceRecord } from '../../lambda/core/ports';
import { CollectorError, ProtocolError } from '../../lambda/errors';
import { createMimecastClient } from '../../lambda/mimecast';
import {
  budget,
  startServer,
  type TestServer,
  v1Credentials,
  v2Credentials,
} from '../mimecast/support/server';

const MiB = 1024 * 1024;
/** Peak-RSS growth allowed for reading any of these bodies (each inflates to 256 MiB or more). */
const MAX_RSS_GROWTH_MIB = 160;
/**
 * Wall time allowed for one of these reads, generous for a loaded 2-core machine: reading a bomb whole
 * takes far longer (before records were pushed a slice at a time, the first test took 16-34 s).
 */
const TIME_BOUND_MS = 6000;

// ---------------------------------------------------------------------------------------------
// DEFLATE bombs: a block ended by a full flush is byte-aligned and refers to nothing before it, so
// repeating it n times is a valid stream for n copies of its input.

function deflateFlushed(data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const deflate = createDeflateRaw({ level: 9 });
    const out: Buffer[] = [];
    deflate.on('data', (chunk: Buffer) => out.push(chunk));
    deflate.on('error', reject);
    deflate.write(data);
    deflate.flush(constants.Z_FULL_FLUSH, () => {
      deflate.close();
      resolve(Buffer.concat(out));
    });
  });
}

/** An empty final block with fixed codes: ends a DEFLATE stream. */
const FINAL_BLOCK = Buffer.from([0x03, 0x00]);

interface Bomb {
  deflated: Buffer;
  /** Uncompressed size (mod 2^32, as zip and gzip store it). */
  size: number;
  crc: number;
}

/** `head`, then `unit` repeated `times`, then `tail`, DEFLATE-compressed; crc only when asked (it reads every byte). */
async function bomb(head: string, unit: Buffer, times: number, tail = '', withCrc = false): Promise<Bomb> {
  const [h, u, t] = await Promise.all([
    deflateFlushed(Buffer.from(head)),
    deflateFlushed(unit),
    deflateFlushed(Buffer.from(tail)),
  ]);
  let crc = 0;
  if (withCrc) {
    crc = crc32(head);
    for (let i = 0; i < times; i += 1) crc = crc32(unit, crc);
    crc = crc32(tail, crc);
  }
  const size = (Buffer.byteLength(head) + unit.length * times + Buffer.byteLength(tail)) % 2 ** 32;
  return {
    deflated: Buffer.concat([h, ...Array.from({ length: times }, () => u), t, FINAL_BLOCK]),
    size,
    crc,
  };
}

interface ZipHeaderLies {
  compressedSize?: number;
  uncompressedSize?: number;
  nameLength?: number;
  extra?: Buffer;
}

/** One deflated member, its central directory and end record. `lies` overwrite the local header. */
function zipOf(name: string, member: Bomb, lies: ZipHeaderLies = {}): Buffer {
  const fileName = Buffer.from(name);
  const extra = lies.extra ?? Buffer.alloc(0);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4); // version needed
  local.writeUInt16LE(0, 6); // flags: sizes are in this header
  local.writeUInt16LE(8, 8); // deflate
  local.writeUInt32LE(member.crc >>> 0, 14);
  local.writeUInt32LE(lies.compressedSize ?? member.deflated.length, 18);
  local.writeUInt32LE(lies.uncompressedSize ?? member.size, 22);
  local.writeUInt16LE(lies.nameLength ?? fileName.length, 26);
  local.writeUInt16LE(extra.length, 28);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(8, 10);
  central.writeUInt32LE(member.crc >>> 0, 16);
  central.writeUInt32LE(member.deflated.length, 20);
  central.writeUInt32LE(member.size, 24);
  central.writeUInt16LE(fileName.length, 28);
  const centralOffset = local.length + fileName.length + extra.length + member.deflated.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + fileName.length, 12);
  end.writeUInt32LE(centralOffset, 16);
  return Buffer.concat([local, fileName, extra, member.deflated, central, fileName, end]);
}

function gzipOf(member: Bomb): Buffer {
  const header = Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff]);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(member.crc >>> 0, 0);
  trailer.writeUInt32LE(member.size >>> 0, 4);
  return Buffer.concat([header, member.deflated, trailer]);
}

// ---------------------------------------------------------------------------------------------
// One loopback Mimecast whose answer each test sets.

const SIEM_FILE = 'receipt_20240605120000000.json';

let server: TestServer;
let dispatcher: Agent;
let answer: { body: Buffer; headers: Record<string, string> } = { body: Buffer.alloc(0), headers: {} };

beforeAll(async () => {
  dispatcher = new Agent({ keepAliveTimeout: 1000 });
  server = await startServer((req, res) => {
    if (req.path === '/oauth/token') {
      const token = JSON.stringify({ access_token: 'bomb-test-token', expires_in: 1799 });
      res.writeHead(200, { 'content-type': 'application/json' }).end(token);
      return;
    }
    if (req.path === '/siem/v1/batch/events/cg') {
      const listing = JSON.stringify({
        value: [{ url: `${server.url}/files/batch.json.gz`, size: answer.body.length }],
        '@nextPage': 'next',
        isCaughtUp: true,
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end(listing);
      return;
    }
    res.writeHead(200, { 'content-length': String(answer.body.length), ...answer.headers });
    res.end(answer.body);
  });
});

afterAll(async () => {
  await dispatcher.close();
  await server.close();
});

function siemV1File(body: Buffer, fileName = SIEM_FILE): void {
  answer = {
    body,
    headers: { 'mc-siem-token': 'token-1', 'content-disposition': `attachment; filename="${fileName}"` },
  };
}

interface Outcome {
  error?: unknown;
  records: number;
  elapsedMs: number;
  rssGrowthMiB: number;
}

/**
 * Fetches one page of `stream` and reads up to `take` records of it (then stops, as the engine does
 * at its deadline), measuring time and peak-RSS growth.
 */
async function readPage(
  api: 1 | 2,
  stream: 'siem' | 'audit',
  options: { take?: number; budgetMs?: number; maxRecordChars?: number } = {},
): Promise<Outcome> {
  const client = createMimecastClient({
    baseUrl: server.url,
    credentials: api === 1 ? v1Credentials : v2Credentials,
    dispatcher,
    retry: { maxAttempts: 1 },
    siemTypes: ['receipt'],
    ...(options.maxRecordChars === undefined ? {} : { limits: { maxRecordChars: options.maxRecordChars } }),
  });
  const source = client.source(stream);
  const peakBefore = process.resourceUsage().maxRSS;
  const started = Date.now();
  let records = 0;
  let error: unknown;
  try {
    const page = await source.fetchPage(
      source.seed(new Date(0), new Date()),
      budget(options.budgetMs ?? 10_000),
    );
    const take = options.take ?? Number.POSITIVE_INFINITY;
    for await (const _record of page.records as AsyncIterable<SourceRecord>) {
      records += 1;
      if (records >= take) break;
    }
  } catch (err) {
    error = err;
  }
  return {
    error,
    records,
    elapsedMs: Date.now() - started,
    rssGrowthMiB: (process.resourceUsage().maxRSS - peakBefore) / 1024,
  };
}

function expectProtocolError(outcome: Outcome, message: RegExp): void {
  expect(outcome.error).toBeInstanceOf(ProtocolError);
  expect((outcome.error as ProtocolError).message).toMatch(message);
  expect((outcome.error as ProtocolError).excerpt?.length ?? 0).toBeLessThanOrEqual(200);
}

describe('API 1.0 SIEM zip files', () => {
  it('a zip bomb of valid records is read at the consumer pace, not inflated whole', async () => {
    // 256 MiB of tiny records (33 million) in a 400 KB file: one 64 KiB network chunk alone
    // inflates to 42 MiB, five million records, if the decoder is handed it whole.
    const member = await bomb('{"type":"MTA","data":[', Buffer.from('{"a":1},'.repeat(MiB / 8)), 256);
    siemV1File(zipOf(SIEM_FILE, member));
    const outcome = await readPage(1, 'siem', { take: 1000 });

    expect(outcome.error).toBeUndefined();
    expect(outcome.records).toBe(1000);
    expect(outcome.elapsedMs).toBeLessThan(TIME_BOUND_MS);
    expect(outcome.rssGrowthMiB).toBeLessThan(MAX_RSS_GROWTH_MIB);
  });

  it('a record that never ends (1 GiB inside one JSON element) is a ProtocolError, in bounded memory', async () => {
    const member = await bomb('{"type":"MTA","data":["', Buffer.alloc(MiB, 0x61), 1024);
    siemV1File(zipOf(SIEM_FILE, member));
    const outcome = await readPage(1, 'siem');

    expectProtocolError(outcome, /longer than 8388608 characters/);
    expect(outcome.elapsedMs).toBeLessThan(TIME_BOUND_MS);
    expect(outcome.rssGrowthMiB).toBeLessThan(MAX_RSS_GROWTH_MIB);
  });

  it('a key_value record of 1 GiB without a line break is a ProtocolError, in bounded memory', async () => {
    const member = await bomb('datetime=2024-06-05T12:00:00+0000|aCode=', Buffer.alloc(MiB, 0x41), 1024);
    siemV1File(zipOf('receipt_20240605120000000.log', member));
    const outcome = await readPage(1, 'siem');

    expectProtocolError(outcome, /longer than 8388608 characters/);
    expect(outcome.elapsedMs).toBeLessThan(TIME_BOUND_MS);
    expect(outcome.rssGrowthMiB).toBeLessThan(MAX_RSS_GROWTH_MIB);
  });

  it('1 GiB of blank text before any record is a ProtocolError, in bounded memory', async () => {
    const member = await bomb('', Buffer.alloc(MiB, 0x20), 1024);
    siemV1File(zipOf(SIEM_FILE, member));
    const outcome = await readPage(1, 'siem');

    expectProtocolError(outcome, /long blank run/);
    expect(outcome.elapsedMs).toBeLessThan(TIME_BOUND_MS);
    expect(outcome.rssGrowthMiB).toBeLessThan(MAX_RSS_GROWTH_MIB);
  });

  it.each([
    ['sizes of 4 GiB over a 1 KB member', { compressedSize: 0xffffffff, uncompressedSize: 0xffffffff }],
    ['a 64 KiB file name that is not there', { nameLength: 0xffff }],
    [
      'zip64 sizes of 2^62 bytes',
      {
        compressedSize: 0xffffffff,
        uncompressedSize: 0xffffffff,
        extra: (() => {
          const z64 = Buffer.alloc(20);
          z64.writeUInt16LE(0x0001, 0);
          z64.writeUInt16LE(16, 2);
          z64.writeBigUInt64LE(2n ** 62n, 4);
          z64.writeBigUInt64LE(2n ** 62n, 12);
          return z64;
        })(),
      },
    ],
  ] as const)(
    'a local header declaring %s is a ProtocolError at once, allocating nothing',
    async (_, lies) => {
      const member = await bomb('{"type":"MTA","data":[', Buffer.from('{"a":1},'.repeat(64)), 1, '{"b":2}]}');
      siemV1File(zipOf(SIEM_FILE, member, lies));
      const outcome = await readPage(1, 'siem');

      expect(outcome.error).toBeInstanceOf(ProtocolError);
      expect(outcome.elapsedMs).toBeLessThan(TIME_BOUND_MS);
      expect(outcome.rssGrowthMiB).toBeLessThan(64);
    },
  );
});

describe('API 2.0 SIEM gzip NDJSON batch files', () => {
  function batchFile(body: Buffer): void {
    answer = { body, headers: { 'content-type': 'application/octet-stream' } };
  }

  it('a single line of 1 GiB is a ProtocolError, in bounded memory', async () => {
    batchFile(gzipOf(await bomb('{"timestamp":1717588206389,"x":"', Buffer.alloc(MiB, 0x61), 1024)));
    const outcome = await readPage(2, 'siem');

    expectProtocolError(outcome, /Line 1 is longer than 8388608 characters/);
    expect(outcome.elapsedMs).toBeLessThan(TIME_BOUND_MS);
    expect(outcome.rssGrowthMiB).toBeLessThan(MAX_RSS_GROWTH_MIB);
  });

  it('a gzip bomb of valid events is read at the consumer pace', async () => {
    const line = Buffer.from('{"timestamp":1717588206389,"type":"receipt"}\n'.repeat(MiB / 45));
    batchFile(gzipOf(await bomb('', line, 256)));
    const outcome = await readPage(2, 'siem', { take: 1000 });

    expect(outcome.error).toBeUndefined();
    expect(outcome.records).toBe(1000);
    expect(outcome.elapsedMs).toBeLessThan(TIME_BOUND_MS);
    expect(outcome.rssGrowthMiB).toBeLessThan(MAX_RSS_GROWTH_MIB);
  });

  it('a flood of blank lines ends at the call budget with a typed error, not after reading it all', async () => {
    // 4 GiB of line breaks (about a second per 64 MiB to read: a minute in all). The abort is seen when
    // the next network chunk is pulled, so the read ends within the budget plus one chunk's worth
    // (64 KiB compressed, up to 64 MiB of text) of decoding. No CRC: reading to the end would be a
    // ProtocolError for it, and the error must be the budget's.
    batchFile(gzipOf(await bomb('', Buffer.alloc(MiB, 0x0a), 4096)));
    const outcome = await readPage(2, 'siem', { budgetMs: 1500 });

    expect(outcome.error).toBeInstanceOf(CollectorError);
    expect(outcome.error).not.toBeInstanceOf(ProtocolError);
    expect((outcome.error as CollectorError).retryable).toBe(true);
    expect(outcome.elapsedMs).toBeLessThan(1500 + TIME_BOUND_MS);
    expect(outcome.rssGrowthMiB).toBeLessThan(MAX_RSS_GROWTH_MIB);
  });
});

describe('JSON answers read whole', () => {
  it('an answer larger than the 32 MiB limit is a ProtocolError once the limit is passed', async () => {
    // Valid JSON all the way (a giant padding string), so only the size can refuse it.
    const body = Buffer.concat([
      Buffer.from('{"meta":{"status":200},"data":[],"pad":"'),
      Buffer.alloc(40 * MiB, 0x61),
      Buffer.from('"}'),
    ]);
    answer = { body, headers: { 'content-type': 'application/json' } };
    const outcome = await readPage(1, 'audit');

    expectProtocolError(outcome, /Answer larger than 33554432 bytes/);
    expect(outcome.elapsedMs).toBeLessThan(TIME_BOUND_MS);
  });
});
