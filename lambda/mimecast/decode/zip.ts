import { Unzip, UnzipInflate } from 'fflate';
import { DecodeError } from './errors';

export interface MemberSink {
  write(bytes: Uint8Array): void;
  end(): void;
}

/** `PK\x03\x04` (a local file header) or `PK\x05\x06` (an empty archive): the body is a zip. */
export function isZip(head: Uint8Array): boolean {
  return (
    head.length >= 4 &&
    head[0] === 0x50 &&
    head[1] === 0x4b &&
    ((head[2] === 0x03 && head[3] === 0x04) || (head[2] === 0x05 && head[3] === 0x06))
  );
}

// End-of-central-directory record: 22 bytes plus a comment of at most 65535.
const EOCD_MAX = 22 + 0xffff;

/**
 * Compressed bytes handed to fflate at once (through decodeRecords). A member inflates up to about
 * 1000 times (DEFLATE's limit) and fflate inflates a whole push in one go, so a 64 KiB network chunk
 * could become 64 MiB of text and millions of queued records before the consumer took the first;
 * 1 KiB becomes at most about 1 MiB.
 */
export const ZIP_MAX_PUSH_BYTES = 1024;

/**
 * Streaming unzip with fflate's `Unzip`: members are decompressed as their bytes arrive and handed to a
 * sink per member, so a large archive never sits in memory. A stream cut short is an error: every member
 * must reach its end and the archive must end with its end-of-central-directory record (fflate alone
 * would accept an archive truncated between two members).
 */
export class ZipDecoder {
  readonly maxPushBytes = ZIP_MAX_PUSH_BYTES;
  private readonly unzip: Unzip;
  private tail: Uint8Array = new Uint8Array(0);
  private openMembers = 0;
  private members = 0;

  constructor(onMember: (name: string) => MemberSink) {
    this.unzip = new Unzip((file) => {
      const sink: MemberSink = file.name.endsWith('/')
        ? { write: () => undefined, end: () => undefined }
        : onMember(file.name);
      this.openMembers += 1;
      this.members += 1;
      file.ondata = (err, data, final) => {
        if (err) {
          throw new DecodeError(`Zip member ${file.name}: ${err.message}`, undefined, { cause: err });
        }
        if (data.length > 0) {
          sink.write(data);
        }
        if (final) {
          this.openMembers -= 1;
          sink.end();
        }
      };
      file.start();
    });
    this.unzip.register(UnzipInflate);
  }

  push(chunk: Uint8Array): void {
    this.keepTail(chunk);
    this.unzip.push(chunk, false);
  }

  end(): void {
    this.unzip.push(new Uint8Array(0), true);
    if (this.openMembers !== 0) {
      throw new DecodeError('Zip archive ends inside a member (truncated)');
    }
    const listed = listedEntries(this.tail);
    if (listed === undefined) {
      throw new DecodeError(
        this.members === 0
          ? 'Zip archive without members or end record'
          : 'Zip archive without its end record (truncated)',
      );
    }
    // A member whose local header is damaged is skipped by fflate without a word: the end record's
    // count tells (0xffff: a zip64 archive, whose real count lives elsewhere).
    if (listed !== 0xffff && listed !== this.members) {
      throw new DecodeError(
        `Zip archive lists ${listed} member(s) in its end record, but ${this.members} could be read`,
      );
    }
  }

  private keepTail(chunk: Uint8Array): void {
    if (chunk.length >= EOCD_MAX) {
      this.tail = chunk.slice(chunk.length - EOCD_MAX);
      return;
    }
    const joined = new Uint8Array(Math.min(EOCD_MAX, this.tail.length + chunk.length));
    const keep = joined.length - chunk.length;
    joined.set(this.tail.subarray(this.tail.length - keep), 0);
    joined.set(chunk, keep);
    this.tail = joined;
  }
}

/** The total entry count of the end-of-central-directory record ending `tail`; undefined without one. */
function listedEntries(tail: Uint8Array): number | undefined {
  for (let i = tail.length - 22; i >= 0; i -= 1) {
    if (tail[i] === 0x50 && tail[i + 1] === 0x4b && tail[i + 2] === 0x05 && tail[i + 3] === 0x06) {
      const commentLength = tail[i + 20] | (tail[i + 21] << 8);
      return i + 22 + commentLength === tail.length ? tail[i + 10] | (tail[i + 11] << 8) : undefined;
    }
  }
  return undefined;
}
