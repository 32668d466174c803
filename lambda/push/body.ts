/**
 * Reads a pushed body into events: the three shapes Mimecast Event Push sends (docs/PUSH.md, "Body
 * shapes") — a JSON array of HEC events `[{"event": {...}}, ...]`, NDJSON (one `{"event": {...}}` per
 * line), one JSON event per call (webhook) — plus HEC objects written back to back, as Splunk's HEC
 * accepts them. Plain or gzip bytes (recognised by the gzip magic, whatever the headers say).
 * Anything else is a `PushBodyError` that says what was wrong and where.
 */
import { gunzipSync } from 'node:zlib';
import { PushBodyError } from '../errors';

/** One pushed event and what its HEC wrapper said about it. */
export interface PushedItem {
  /** The Mimecast event: the HEC `event` value when wrapped, the object itself when not. */
  event: unknown;
  /** The HEC wrapper's `time` (epoch seconds, fractions allowed) in milliseconds, when it had a valid one. */
  hecTimeMs?: number;
  /** 1-based position of the item in the body. */
  index: number;
}

export interface PushBodyLimits {
  /** Largest decoded (gunzipped) text accepted, in bytes: a gzip bomb stops here. */
  maxDecodedBytes: number;
}

/** The keys of a Splunk HEC event object; an object with `event` and only these is a wrapper. */
const HEC_KEYS = new Set(['event', 'time', 'host', 'source', 'sourcetype', 'index', 'fields']);

const GZIP_MAGIC = [0x1f, 0x8b] as const;

/** The events of one pushed body, in order. Throws `PushBodyError` for an empty or unreadable body. */
export function parsePushBody(body: Uint8Array, limits: PushBodyLimits): PushedItem[] {
  const text = decodeText(body, limits);
  const start = skipSpace(text, 0);
  if (start === text.length) {
    throw new PushBodyError('The pushed body is empty (no events in it).', { hecCode: 5, status: 400 });
  }
  const values = text[start] === '[' ? arrayItems(text) : objectSequence(text, start);
  return values.map((value, i) => toItem(value, i + 1));
}

function decodeText(body: Uint8Array, limits: PushBodyLimits): string {
  let bytes = body;
  if (body.length >= 2 && body[0] === GZIP_MAGIC[0] && body[1] === GZIP_MAGIC[1]) {
    try {
      bytes = gunzipSync(body, { maxOutputLength: limits.maxDecodedBytes });
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
        throw new PushBodyError(
          `The pushed body decompresses to more than ${limits.maxDecodedBytes} bytes, more than this receiver takes in one request.`,
          { hecCode: 6, status: 413, cause: err },
        );
      }
      throw new PushBodyError(
        'The pushed body starts like gzip but is not valid gzip (truncated or corrupt).',
        {
          hecCode: 6,
          status: 400,
          cause: err,
        },
      );
    }
  } else if (body.length > limits.maxDecodedBytes) {
    throw new PushBodyError(
      `The pushed body is ${body.length} bytes, more than the ${limits.maxDecodedBytes} this receiver takes in one request.`,
      { hecCode: 6, status: 413 },
    );
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    throw new PushBodyError('The pushed body is not UTF-8 text.', { hecCode: 6, status: 400, cause: err });
  }
}

/** A body that starts with `[`: one JSON array whose elements are HEC events or events. */
function arrayItems(text: string): unknown[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const offset = jsonErrorOffset(err, text.length);
    throw invalidAt(text, offset, `The pushed JSON array is not valid JSON (${jsonMessage(err)})`, err);
  }
  const items = value as unknown[];
  if (items.length === 0) {
    throw new PushBodyError('The pushed JSON array is empty (no events in it).', { hecCode: 5, status: 400 });
  }
  for (let i = 0; i < items.length; i++) {
    if (!isObject(items[i])) {
      throw new PushBodyError(`Item ${i + 1} of the pushed JSON array is not a JSON object.`, {
        hecCode: 6,
        status: 400,
      });
    }
  }
  // JSON.parse keeps no offsets of elements: the item number names the culprit instead.
  return items;
}

/**
 * A body of JSON objects one after another: NDJSON (newline between), HEC's concatenated objects
 * (nothing or any whitespace between), or a single event. Each object is found by a scan that tracks
 * strings and nesting, then parsed on its own, so an error names the object's line.
 */
function objectSequence(text: string, start: number): unknown[] {
  const values: unknown[] = [];
  let at = start;
  while (at < text.length) {
    if (text.charCodeAt(at) !== 0x7b /* { */) {
      throw invalidAt(text, at, 'Expected a JSON object here (each event of NDJSON or HEC starts with "{")');
    }
    const end = objectEnd(text, at);
    if (end < 0) {
      throw invalidAt(text, at, 'A JSON object here is not closed (the body is truncated?)');
    }
    const slice = text.slice(at, end);
    try {
      values.push(JSON.parse(slice));
    } catch (err) {
      throw invalidAt(text, at + jsonErrorOffset(err, 0), `Invalid JSON (${jsonMessage(err)})`, err);
    }
    at = skipSpace(text, end);
  }
  return values;
}

/** The index just after the object starting at `start` (`{`), or -1 when it never closes. */
function objectEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b /* { [ */) {
      depth++;
    } else if (c === 0x7d || c === 0x5d /* } ] */) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

function toItem(value: unknown, index: number): PushedItem {
  if (!isObject(value)) {
    throw new PushBodyError(`Item ${index} of the pushed body is not a JSON object.`, {
      hecCode: 6,
      status: 400,
    });
  }
  if (!isHecWrapper(value)) {
    return { event: value, index };
  }
  const event = unwrapEvent(value.event, index);
  const hecTimeMs = hecTime(value.time);
  return hecTimeMs === undefined ? { event, index } : { event, hecTimeMs, index };
}

function isHecWrapper(value: Record<string, unknown>): boolean {
  if (!Object.hasOwn(value, 'event')) return false;
  for (const key of Object.keys(value)) {
    if (!HEC_KEYS.has(key)) return false;
  }
  return true;
}

/** HEC's `event` may be an object or a string; a string holding a JSON object (double-encoded) is read as that object. */
function unwrapEvent(event: unknown, index: number): unknown {
  if (event === null || event === undefined || event === '') {
    throw new PushBodyError(`Item ${index} of the pushed body has an empty "event" field.`, {
      hecCode: 6,
      status: 400,
    });
  }
  if (typeof event === 'string' && event.trimStart().startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(event);
      if (isObject(parsed)) return parsed;
    } catch {
      // Not JSON after all: the text is the event, as HEC takes it.
    }
  }
  return event;
}

/** HEC `time`: epoch seconds as a number or numeric string (fractions allowed). */
function hecTime(value: unknown): number | undefined {
  const seconds = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  if (!Number.isFinite(seconds) || seconds <= 0) return undefined;
  return Math.round(seconds * 1000);
}

function skipSpace(text: string, from: number): number {
  let i = from;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

function invalidAt(text: string, offset: number, what: string, cause?: unknown): PushBodyError {
  const at = Math.max(0, Math.min(offset, text.length));
  let line = 1;
  for (let i = 0; i < at; i++) {
    if (text.charCodeAt(i) === 0x0a) line++;
  }
  return new PushBodyError(`${what} at line ${line}, character ${at} of the pushed body.`, {
    hecCode: 6,
    status: 400,
    position: { line, offset: at },
    cause,
  });
}

/** The position V8 names in a JSON.parse error (`... at position 12`), or `fallback`. */
function jsonErrorOffset(err: unknown, fallback: number): number {
  const match = /position (\d+)/.exec(jsonMessage(err));
  return match ? Number(match[1]) : fallback;
}

/** JSON.parse's message without the quoted input V8 appends (which may be the pushed event text). */
function jsonMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/,? *"(?:[^"\\]|\\.)*"(?: is not valid JSON)?/g, '').trim();
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
