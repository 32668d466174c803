/**
 * `siem` on API 1.0: `POST /api/audit/get-siem-logs`, one log file per call, bookmarked by the
 * `mc-siem-token` header.
 *
 * Cursor: `{ "token": string | null, "since": ISO }`. `token` is the last file's `mc-siem-token`
 * (null: Mimecast starts at its earliest file, up to 7 days back); records older than `since` (the
 * collection start) are dropped. A zip is told apart from JSON by its first bytes, never by trying to
 * unzip; the JSON "no more files" answer means caught up and keeps the token we had.
 */
import * as z from 'zod';
import { RecordJson } from '../../core/envelope';
import { OccurrenceIds } from '../../core/occurrences';
import type { CallBudget, Cursor, Page, PageEnd, SourceRecord } from '../../core/ports';
import { discard } from '../../http/body';
import { type CallContext, excerpt, headerValue, pagingStalled, protocolError } from '../classify';
import { DecodeError } from '../decode/errors';
import { decodeRecords, peek, Queue } from '../decode/pump';
import { SiemFileDecoder } from '../decode/siem-file';
import { isZip, ZipDecoder } from '../decode/zip';
import { SIEM_PERMISSION, SIEM_V1_PATH } from '../endpoints';
import { apiUrl } from '../hosts';
import { parseMimecastTime, toIsoUtc } from '../time';
import { bodyChunks, type HttpResponse, readChunks } from '../transport';
import type { MimecastStreamSource } from '../types';
import {
  callContext,
  decodingError,
  IsoTime,
  parseCursor,
  type SourceDeps,
  staticPage,
  throwOnFailures,
} from './common';

const SiemV1Cursor = z.object({ token: z.string().min(1).nullable(), since: IsoTime });

/** The JSON "no more files" answer (`{"meta":{"isLastToken":true,...},"data":[],"fail":[]}`) and its variants. */
const NoMoreFiles = z.looseObject({
  meta: z.looseObject({ isLastToken: z.boolean().optional() }).optional(),
  data: z.array(z.unknown()).length(0),
});

const MAX_NON_FILE_ANSWER_BYTES = 1024 * 1024;

type Answer =
  | { kind: 'none' }
  | {
      kind: 'file';
      zip: boolean;
      token: string;
      fileName: string | undefined;
      head: Uint8Array;
      chunks: AsyncIterable<Uint8Array>;
      release: () => void;
    };

export class SiemV1Source implements MimecastStreamSource {
  readonly stream = 'siem' as const;
  private readonly ctx: CallContext;

  constructor(private readonly deps: SourceDeps) {
    this.ctx = callContext(deps, 'siem', 'POST', SIEM_V1_PATH, SIEM_PERMISSION.v1);
  }

  seed(start: Date, now: Date): Cursor {
    return { token: null, since: toIsoUtc(Math.min(start.getTime(), now.getTime())) };
  }

  async fetchPage(cursor: Cursor, budget: CallBudget): Promise<Page> {
    const current = parseCursor(this.stream, SiemV1Cursor, cursor, 'SIEM token');
    const answer = await this.request(current.token, budget);
    if (answer.kind === 'none') {
      return staticPage([], current, true);
    }
    const end: PageEnd = { next: { token: answer.token, since: current.since }, caughtUp: false };
    return { records: this.records(answer, Date.parse(current.since)), end: () => end };
  }

  async probe(budget: CallBudget): Promise<void> {
    const answer = await this.request(null, budget);
    if (answer.kind === 'file') {
      // Headers prove access; the file itself is not needed.
      answer.release();
    }
  }

  private request(token: string | null, budget: CallBudget): Promise<Answer> {
    const body = {
      data: [
        {
          type: 'MTA',
          fileFormat: this.deps.settings.siemFileFormat,
          compress: true,
          ...(token ? { token } : {}),
        },
      ],
    };
    return this.deps.transport.call(
      {
        ctx: this.ctx,
        method: 'POST',
        url: apiUrl(this.deps.base, SIEM_V1_PATH),
        headers: { 'content-type': 'application/json', accept: '*/*' },
        body: JSON.stringify(body),
        authenticate: true,
      },
      budget,
      (res) => this.open(res, token),
    );
  }

  /** Reads just enough of the answer to know what it is. */
  private async open(res: HttpResponse, sentToken: string | null): Promise<Answer> {
    const { head, rest } = await peek(bodyChunks(res, this.ctx), 4);
    const token = headerValue(res.headers, 'mc-siem-token')?.trim();
    const fileName = contentDispositionFileName(headerValue(res.headers, 'content-disposition'));
    const zip = isZip(head);
    if (zip || (token && fileName !== undefined)) {
      if (!token) {
        throw protocolError(this.ctx, 'SIEM file without an mc-siem-token header', excerpt(head));
      }
      if (token === sentToken) {
        // Its next request would be this one again, and get this file again.
        throw pagingStalled(this.ctx, 'the file came with the mc-siem-token it was asked with');
      }
      return { kind: 'file', zip, token, fileName, head, chunks: rest, release: () => discard(res.body) };
    }
    // Not a file: Mimecast's JSON answer (no more files, or fail[]). Small by nature.
    const text = await readChunks(rest, this.ctx, MAX_NON_FILE_ANSWER_BYTES, res.status);
    let json: unknown;
    try {
      json = JSON.parse(text.toString('utf8'));
    } catch (err) {
      throw protocolError(this.ctx, 'Answer is neither a zip file nor JSON', excerpt(text), err);
    }
    throwOnFailures(this.ctx, res.status, json);
    if (!NoMoreFiles.safeParse(json).success) {
      throw protocolError(
        this.ctx,
        'Unexpected JSON answer (not a file, not "no more files")',
        excerpt(text),
      );
    }
    return { kind: 'none' };
  }

  private records(answer: Extract<Answer, { kind: 'file' }>, sinceMs: number): AsyncIterable<SourceRecord> {
    const queue = new Queue<SourceRecord>();
    // Identical events are numbered per file (every member of a zip included).
    const ids = new OccurrenceIds(this.stream);
    const fileTime = fileNameTime(answer.fileName);
    // Per member: its log type and fallback time, worked out once.
    const onRecord = (memberName: string | undefined) => {
      const logType = logTypeFromFileName(answer.fileName ?? memberName);
      const fallbackTime = fileTime ?? fileNameTime(memberName);
      // A file is in time order with many records per second: the last datetime's parse is reused.
      let lastDatetime: string | undefined;
      let lastMs = 0;
      let lastIso = '';
      return (record: Record<string, unknown>, text?: string) => {
        const datetime = record.datetime;
        let timeMs: number | undefined;
        let time: string;
        if (datetime === lastDatetime && lastDatetime !== undefined) {
          timeMs = lastMs;
          time = lastIso;
        } else {
          timeMs = parseMimecastTime(datetime) ?? fallbackTime;
          if (timeMs === undefined) {
            throw new DecodeError('SIEM record without a valid datetime', excerpt(JSON.stringify(record)));
          }
          time = toIsoUtc(timeMs);
          if (typeof datetime === 'string') {
            lastDatetime = datetime;
            lastMs = timeMs;
            lastIso = time;
          }
        }
        if (timeMs >= sinceMs) {
          // JSON files: the file's own bytes make the id and are the event (the file never changes;
          // the parsed record is dropped here); key_value records have no such text and are
          // canonicalised and serialised.
          if (text === undefined) {
            queue.push({ id: ids.idOf(record), logType, time, event: record });
          } else {
            queue.push({ id: ids.idOfText(text), logType, time, event: new RecordJson(text) });
          }
        }
      };
    };
    const maxRecordChars = this.deps.settings.maxRecordChars;
    const plain = answer.zip ? undefined : new SiemFileDecoder(onRecord(undefined), maxRecordChars);
    const decoder = plain
      ? { push: (chunk: Uint8Array) => plain.write(chunk), end: () => plain.end() }
      : new ZipDecoder((name) => new SiemFileDecoder(onRecord(name), maxRecordChars));
    return decodeRecords(answer.chunks, decoder, queue, {
      mapError: (err) => decodingError(this.ctx, err, excerpt(answer.head)),
      // An uncompressed answer that turned out to be Mimecast's JSON envelope with fail[].
      onEnd: () => {
        if (plain) {
          throwOnFailures(this.ctx, 200, plain.skeleton);
        }
      },
    });
  }
}

/** `attachment; filename="process_20211018093329655.json"` → `process_20211018093329655.json`. */
export function contentDispositionFileName(header: string | undefined): string | undefined {
  if (!header) {
    return undefined;
  }
  const extended = /filename\*\s*=\s*(?:[\w-]+'[^']*')?"?([^";]+)"?/i.exec(header);
  if (extended) {
    try {
      return decodeURIComponent(extended[1]).trim();
    } catch {
      return extended[1].trim();
    }
  }
  const plain = /filename\s*=\s*("([^"]*)"|[^;]+)/i.exec(header);
  if (!plain) {
    return undefined;
  }
  const name = (plain[2] ?? plain[1]).trim();
  return name === '' ? undefined : name;
}

/**
 * Log type from a SIEM file name: everything before the `_<timestamp>` part
 * (`receipt_2021…` → `receipt`, `ttp_url_2021…` → `ttp_url`, `jrnl_…` → `jrnl`).
 */
export function logTypeFromFileName(name: string | undefined): string {
  if (!name) {
    return 'unknown';
  }
  const base = name.replace(/^.*[\\/]/, '');
  const stamped = /^(.+?)_\d{8,}/.exec(base);
  if (stamped) {
    return stamped[1];
  }
  const stem = base.replace(/\..*$/, '');
  const parts = stem.split('_');
  if (parts[0] === 'ttp' && parts.length > 1) {
    return `${parts[0]}_${parts[1]}`;
  }
  return parts[0] || 'unknown';
}

/** The timestamp in a SIEM file name (`yyyyMMddHHmmss[SSS]`, UTC), used when a record has no valid datetime. */
export function fileNameTime(name: string | undefined): number | undefined {
  const m = name ? /_(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{3})?(?:\D|$)/.exec(name) : null;
  if (!m) {
    return undefined;
  }
  const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7] ?? '000'}Z`;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
}
