/**
 * SIEM file bodies: v1 files (JSON `{"type":"MTA","data":[…]}` or key_value text, optionally zipped) and
 * v2 batch files (gzip NDJSON). Content is generated and compressed in chunks, so a file of hundreds of
 * megabytes never exists uncompressed in memory at once; built bodies are kept in a small LRU cache
 * because clients re-fetch the same file after a failure.
 */
import { gzipSync } from 'node:zlib';
import { strToU8, Zip, ZipDeflate } from 'fflate';
import { formatCompactStamp } from './dates';
import { keyValueLine, toKeyValueRecord } from './siem-records';
import type { SiemFile, TenantData } from './stores';

/** Flush generated text to the compressor in pieces of about this many characters. */
const CHUNK_CHARS = 1 << 20;

export class BodyCache {
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;

  constructor(private readonly budgetBytes: number) {}

  get(key: string, build: () => Buffer): Buffer {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const body = build();
    if (body.length <= this.budgetBytes / 2) {
      this.entries.set(key, body);
      this.bytes += body.length;
      // Evict least recently used; bounded by the number of cached entries.
      for (const [oldKey, oldBody] of this.entries) {
        if (this.bytes <= this.budgetBytes) break;
        this.entries.delete(oldKey);
        this.bytes -= oldBody.length;
      }
    }
    return body;
  }
}

/** Groups many small strings into large ones for the compressor. */
function* chunked(parts: Iterable<string>): Generator<string> {
  let pending: string[] = [];
  let size = 0;
  for (const part of parts) {
    pending.push(part);
    size += part.length;
    if (size >= CHUNK_CHARS) {
      yield pending.join('');
      pending = [];
      size = 0;
    }
  }
  if (pending.length > 0) yield pending.join('');
}

export type V1FileFormat = 'json' | 'key_value';

function* v1Parts(
  data: TenantData,
  file: SiemFile,
  format: V1FileFormat,
  lineEnding: string,
): Generator<string> {
  if (format === 'json') {
    yield '{"type":"MTA","data":[';
    for (let i = 0; i < file.events.length; i++) {
      yield (i === 0 ? '' : ',') + JSON.stringify(data.v1Event(file.events[i]));
    }
    yield ']}';
    return;
  }
  for (const seq of file.events) yield keyValueLine(toKeyValueRecord(data.v1Event(seq))) + lineEnding;
}

/** `receipt_20211018093329655` */
export function v1FileStem(file: SiemFile): string {
  return `${file.logType}_${formatCompactStamp(file.createdAt)}`;
}

export function v1Extension(format: V1FileFormat): string {
  return format === 'json' ? 'json' : 'log';
}

export function buildV1FileBody(
  data: TenantData,
  file: SiemFile,
  format: V1FileFormat,
  compress: boolean,
  lineEnding: string,
): Buffer {
  const parts = chunked(v1Parts(data, file, format, lineEnding));
  if (!compress) {
    const buffers: Buffer[] = [];
    for (const text of parts) buffers.push(Buffer.from(text, 'utf8'));
    return Buffer.concat(buffers);
  }
  const output: Uint8Array[] = [];
  let failure: Error | null = null;
  const zip = new Zip((error, chunk) => {
    if (error) failure = error;
    else output.push(chunk);
  });
  const member = new ZipDeflate(`${v1FileStem(file)}.${v1Extension(format)}`, { level: 6 });
  // A fixed mtime keeps the same file byte-identical across downloads.
  member.mtime = new Date(file.createdAt);
  zip.add(member);
  let previous: string | undefined;
  for (const text of parts) {
    if (previous !== undefined) member.push(strToU8(previous));
    previous = text;
  }
  member.push(strToU8(previous ?? ''), true);
  zip.end();
  if (failure) throw failure;
  return Buffer.concat(output);
}

/** gzip of NDJSON, one event per line, each line ending in `\n`. */
export function buildV2FileBody(file: SiemFile, event: (seq: number) => Record<string, unknown>): Buffer {
  const buffers: Buffer[] = [];
  function* lines(): Generator<string> {
    for (const seq of file.events) yield `${JSON.stringify(event(seq))}\n`;
  }
  for (const text of chunked(lines())) buffers.push(Buffer.from(text, 'utf8'));
  return gzipSync(Buffer.concat(buffers));
}
