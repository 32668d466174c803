/**
 * A request body for a batch of envelopes: each envelope's entry in the format (serialised once, for
 * both sizeOf and send), the entries framed, and gzip.
 */
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { Envelope } from '../core/envelope';
import type { HttpFormat } from './format';

const gzipAsync = promisify(gzip);
/**
 * zlib's fast deflate (levels 1–3 share it): measured on the benchmark's batches, about 2.3 times less
 * CPU than the default level 6 for 4–15 % more bytes; 3 keeps most of those bytes at level 1's CPU
 * (docs/PERFORMANCE.md, "Compression level").
 */
const GZIP_LEVEL = 3;

interface Entry {
  line: string;
  bytes: number;
}

export class RequestBodies {
  /** Each envelope's entry and its UTF-8 size, worked out once (sizeOf, then send). */
  private readonly entries = new WeakMap<Envelope, Entry>();
  /** Bytes of the framing around no entries (a JSON array's brackets), for the request limits. */
  readonly emptyBytes: number;

  constructor(
    private readonly wire: HttpFormat,
    private readonly gzip: boolean,
  ) {
    this.emptyBytes = wire.frame === undefined ? 0 : Buffer.byteLength(wire.frame([]));
  }

  sizeOf(envelope: Envelope): number {
    return this.entry(envelope).bytes;
  }

  /** A Buffer, not a stream: exact content-length, and a body that can be sent again. */
  async encode(batch: readonly Envelope[]): Promise<Buffer> {
    const plain =
      this.wire.frame === undefined
        ? this.concat(batch)
        : Buffer.from(this.wire.frame(batch.map((envelope) => this.entry(envelope).line)), 'utf8');
    return this.gzip ? gzipAsync(plain, { level: GZIP_LEVEL }) : plain;
  }

  private entry(envelope: Envelope): Entry {
    let entry = this.entries.get(envelope);
    if (entry === undefined) {
      const line = this.wire.serialize(envelope);
      entry = { line, bytes: Buffer.byteLength(line) };
      this.entries.set(envelope, entry);
    }
    return entry;
  }

  /**
   * The entries one after another, written straight into one Buffer of their summed size: no joined
   * string of the whole batch, and no second pass to encode it (docs/PERFORMANCE.md).
   */
  private concat(batch: readonly Envelope[]): Buffer {
    let total = 0;
    for (const envelope of batch) total += this.entry(envelope).bytes;
    const body = Buffer.allocUnsafe(total);
    let offset = 0;
    for (const envelope of batch) offset += body.write(this.entry(envelope).line, offset, 'utf8');
    // byteLength and write agree on every string (a lone surrogate is 3 bytes in both); never more.
    return offset === total ? body : body.subarray(0, offset);
  }
}
