/**
 * Random and mangled input into every decoder, directly and through the client over loopback HTTP:
 * only typed errors (ProtocolError at the client's edge), never a hang, never a crash.
 */
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { strToU8, zipSync } from 'fflate';
import { Agent } from 'undici';
import { CollectorError, ProtocolError } from '../../lambda/errors';
import { createMimecastClient } from '../../lambda/mimecast';
import { gunzip } from '../../lambda/mimecast/decode/gzip';
import { JsonArraySplitter } from '../../lambda/mimecast/decode/json-array';
import { KeyValueDecoder, NdjsonDecoder } from '../../lambda/mimecast/decode/lines';
import { SiemFileDecoder } from '../../lambda/mimecast/decode/siem-file';
import { ZipDecoder } from '../../lambda/mimecast/decode/zip';
import { budget, json, startServer, type TestServer, v1Credentials, v2Credentials } from './support/server';

const BOUND_MS = 2000;

/** Runs `fn`, requiring it to finish within the bound; returns the error it threw, if any. */
function settle(fn: () => void): unknown {
  const started = Date.now();
  let error: unknown;
  try {
    fn();
  } catch (err) {
    error = err;
  }
  expect(Date.now() - started).toBeLessThan(BOUND_MS);
  return error;
}

function cutInto(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const point of [...points, bytes.length]) {
    out.push(bytes.subarray(at, point));
    at = point;
  }
  return out;
}

const bytes = fc.uint8Array({ maxLength: 2048 });
const cuts = fc.array(fc.nat(4096), { maxLength: 8 });

describe('decoders on random bytes', () => {
  it('JsonArraySplitter agrees with JSON.parse however the text is cut', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.jsonValue()),
        fc.array(fc.jsonValue(), { maxLength: 10 }),
        cuts,
        (rest, data, at) => {
          const { data: _ignored, ...others } = rest;
          const text = JSON.stringify({ ...others, data });
          const elements: unknown[] = [];
          const splitter = new JsonArraySplitter('data', (v) => elements.push(v), 1_000_000);
          let position = 0;
          for (const cut of [...new Set(at.map((c) => c % (text.length + 1)))].sort((a, b) => a - b)) {
            splitter.write(text.slice(position, cut));
            position = cut;
          }
          splitter.write(text.slice(position));
          const skeleton = splitter.end() as Record<string, unknown>;
          expect(elements).toEqual(JSON.parse(text).data);
          expect(skeleton).toEqual({ ...JSON.parse(text), data: [] });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('NdjsonDecoder reads back any records however the bytes are cut', () => {
    fc.assert(
      fc.property(
        fc.array(fc.dictionary(fc.string(), fc.jsonValue()), { maxLength: 10 }),
        cuts,
        fc.boolean(),
        (records, at, crlf) => {
          const body = Buffer.from(records.map((r) => JSON.stringify(r)).join(crlf ? '\r\n' : '\n'));
          const out: unknown[] = [];
          const decoder = new NdjsonDecoder((r) => out.push(r), 1_000_000);
          for (const piece of cutInto(body, at)) decoder.push(piece);
          decoder.end();
          expect(out).toEqual(JSON.parse(JSON.stringify(records)));
        },
      ),
      { numRuns: 200 },
    );
  });

  it.each([
    [
      'JsonArraySplitter',
      (input: Uint8Array) => {
        const d = new JsonArraySplitter('data', () => undefined, 4096);
        d.write(Buffer.from(input).toString('utf8'));
        d.end();
      },
    ],
    [
      'NdjsonDecoder',
      (input: Uint8Array) => {
        const d = new NdjsonDecoder(() => undefined, 4096);
        d.push(input);
        d.end();
      },
    ],
    [
      'KeyValueDecoder',
      (input: Uint8Array) => {
        const d = new KeyValueDecoder(() => undefined, 4096);
        d.write(Buffer.from(input).toString('utf8'));
        d.end();
      },
    ],
    [
      'SiemFileDecoder',
      (input: Uint8Array) => {
        const d = new SiemFileDecoder(() => undefined, 4096);
        d.write(input);
        d.end();
      },
    ],
    [
      'ZipDecoder',
      (input: Uint8Array) => {
        const d = new ZipDecoder(() => new SiemFileDecoder(() => undefined, 4096));
        d.push(input);
        d.end();
      },
    ],
  ])('%s: random bytes end in an error or records, within the time bound', (_, decode) => {
    fc.assert(
      fc.property(bytes, (input) => {
        const error = settle(() => decode(input));
        if (error !== undefined) expect(error).toBeInstanceOf(Error);
      }),
      { numRuns: 300 },
    );
  });

  it('ZipDecoder: a valid archive cut or bit-flipped anywhere never hangs, and a cut one never passes', () => {
    const archive = zipSync({
      'receipt_20240605120000000.json': strToU8(
        JSON.stringify({ type: 'MTA', data: [{ a: 1 }, { b: 2 }, { c: 3 }] }),
      ),
      'process_20240605120000000.json': strToU8(JSON.stringify({ type: 'MTA', data: [{ d: 4 }] })),
    });
    fc.assert(
      fc.property(
        fc.nat(archive.length - 1),
        fc.array(fc.tuple(fc.nat(archive.length - 1), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }),
        cuts,
        (cut, flips, at) => {
          const truncated = archive.subarray(0, cut);
          const error = settle(() => {
            const d = new ZipDecoder(() => new SiemFileDecoder(() => undefined, 4096));
            for (const piece of cutInto(truncated, at)) d.push(piece);
            d.end();
          });
          expect(error).toBeInstanceOf(Error);

          const flipped = Buffer.from(archive);
          for (const [index, mask] of flips) flipped[index] ^= mask;
          const flippedError = settle(() => {
            const d = new ZipDecoder(() => new SiemFileDecoder(() => undefined, 4096));
            for (const piece of cutInto(flipped, at)) d.push(piece);
            d.end();
          });
          if (flippedError !== undefined) expect(flippedError).toBeInstanceOf(Error);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gunzip: random, truncated or flipped gzip ends in an error or data, within the time bound', async () => {
    const valid = gzipSync('{"timestamp":1717588206389,"type":"receipt"}\n'.repeat(20));
    await fc.assert(
      fc.asyncProperty(bytes, fc.nat(valid.length), fc.nat(valid.length - 1), async (random, cut, flip) => {
        const flipped = Buffer.from(valid);
        flipped[flip] ^= 0x5a;
        for (const input of [random, valid.subarray(0, cut), flipped]) {
          const started = Date.now();
          try {
            for await (const _chunk of gunzip(
              (async function* () {
                yield input;
              })(),
            )) {
              // drain
            }
          } catch (err) {
            expect(err).toBeInstanceOf(Error);
          }
          expect(Date.now() - started).toBeLessThan(BOUND_MS);
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('random bodies through the client (loopback HTTP)', () => {
  let server: TestServer;
  let dispatcher: Agent;
  let body: Buffer = Buffer.alloc(0);
  let headers: Record<string, string> = {};

  beforeAll(async () => {
    dispatcher = new Agent({ keepAliveTimeout: 1000 });
    server = await startServer((req, res) => {
      if (req.path === '/oauth/token') return json(res, 200, { access_token: 'tok', expires_in: 1799 });
      if (req.path === '/siem/v1/batch/events/cg') {
        return json(res, 200, {
          value: [{ url: `${server.url}/files/f.json.gz` }],
          '@nextPage': 'n',
          isCaughtUp: true,
        });
      }
      res.writeHead(200, { 'content-length': body.length, ...headers });
      res.end(body);
    });
  });
  afterAll(async () => {
    await dispatcher.close();
    await server.close();
  });

  const client = (api: 1 | 2) =>
    createMimecastClient({
      baseUrl: server.url,
      credentials: api === 1 ? v1Credentials : v2Credentials,
      dispatcher,
      retry: { maxAttempts: 1 },
      siemTypes: ['receipt'],
    });

  /** Fetches one page and reads it; resolves to the error, if any. */
  async function outcome(
    api: 1 | 2,
    stream: 'siem' | 'audit' | 'ttp-url' | 'malware-grid',
  ): Promise<unknown> {
    const source = client(api).source(stream);
    const started = Date.now();
    try {
      const page = await source.fetchPage(source.seed(new Date(0), new Date()), budget(5000));
      for await (const _record of page.records) {
        // drain
      }
      return undefined;
    } catch (err) {
      return err;
    } finally {
      expect(Date.now() - started).toBeLessThan(BOUND_MS + 1000);
    }
  }

  const magic = fc.constantFrom<number[]>(
    [],
    [0x50, 0x4b, 0x03, 0x04],
    [0x1f, 0x8b, 0x08],
    [0x7b],
    [0x64, 0x61, 0x74, 0x65, 0x74, 0x69, 0x6d, 0x65, 0x3d],
  );

  it.each([
    [
      1,
      'siem',
      {
        'mc-siem-token': 't',
        'content-disposition': 'attachment; filename="receipt_20240605120000000.json"',
      },
    ],
    [1, 'siem', { 'content-type': 'application/json' }],
    [2, 'siem', {}],
    [1, 'audit', { 'content-type': 'application/json' }],
    [2, 'ttp-url', { 'content-type': 'application/json' }],
    [1, 'malware-grid', { 'content-type': 'application/json' }],
  ] as const)(
    'API %i %s %j: random bytes are ProtocolError or a valid page',
    async (api, stream, answerHeaders) => {
      await fc.assert(
        fc.asyncProperty(magic, bytes, async (prefix, random) => {
          body = Buffer.concat([Buffer.from(prefix), Buffer.from(random)]);
          headers = answerHeaders;
          const error = await outcome(api, stream);
          if (error !== undefined) {
            expect(error).toBeInstanceOf(ProtocolError);
            expect((error as ProtocolError).excerpt?.length ?? 0).toBeLessThanOrEqual(200);
          }
        }),
        { numRuns: 40 },
      );
    },
  );

  it('random JSON on a window endpoint is a typed error or a valid page', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        body = Buffer.from(JSON.stringify(value) ?? 'null');
        headers = { 'content-type': 'application/json' };
        const error = await outcome(1, 'audit');
        if (error !== undefined) expect(error).toBeInstanceOf(CollectorError);
      }),
      { numRuns: 60 },
    );
  });
});
