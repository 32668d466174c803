import * as crypto from 'node:crypto';
import type { StreamId } from './streams';

/** The generic event envelope: one per forwarded event (docs/ARCHITECTURE.md, "Generic event envelope"). */
export interface Envelope {
  /**
   * Stable id: the same event always gets the same id, so any SIEM can drop re-deliveries; identical
   * records of one answer (two failed logons in one second) get different ids (`eventId`).
   */
  id: string;
  stream: StreamId;
  logType: string;
  /** Event time, ISO-8601 UTC. */
  time: string;
  instance: string;
  /** The Mimecast record, untouched: parsed, or the text it came in (`RecordJson`). */
  event: unknown;
}

/**
 * A record carried as the JSON text it arrived as: a slice of a SIEM file that JSON.parse accepted when
 * it was cut out. The envelope writer copies these bytes into the line (`eventJson`) rather than
 * serialising a parsed object again, and no parsed copy is held while the record waits in a batch: both
 * were a large part of the collector's CPU and memory per event (docs/PERFORMANCE.md, "Raw records").
 */
export class RecordJson {
  constructor(readonly text: string) {}

  /** Anything that serialises the record some other way (a test, a log attribute) sees the record itself. */
  toJSON(): unknown {
    return JSON.parse(this.text);
  }
}

/** A record's JSON text: the bytes it arrived as for a `RecordJson`, otherwise `JSON.stringify` (`null` for nothing). */
export function eventJson(event: unknown): string {
  return event instanceof RecordJson ? event.text : (JSON.stringify(event) ?? 'null');
}

/**
 * JSON with object keys sorted at every level, so two copies of one record that differ only in
 * key order hash the same.
 *
 * The definition, which every id ever issued depends on (test/core/envelope.test.ts keeps it as the
 * oracle): primitives as `JSON.stringify` writes them, `null` where it writes nothing (undefined, a
 * function); arrays element by element, `null` for an undefined element, nothing for a hole; objects
 * as `{"key":value,...}` over `Object.keys` sorted by UTF-16 code units, keys whose value is
 * undefined left out.
 *
 * This is the hottest code of the collector (every event, before hashing), so it is written for speed
 * (docs/PERFORMANCE.md): one string built by concatenation, and per object shape (the same keys in
 * the same order, as every record of one log type has) the sorted order and the quoted `"key":`
 * prefixes worked out once.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    return JSON.stringify(value) ?? 'null';
  }
  if (value instanceof RecordJson) return canonicalJson(JSON.parse(value.text));
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      // A hole stays empty, as `Array.prototype.map` + `join` left it.
      if (i in value) out += canonicalJson(value[i] === undefined ? null : value[i]);
    }
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length === 0) return '{}';
  const shape = shapes.of(keys);
  let out = '{';
  let first = true;
  for (let i = 0; i < shape.order.length; i++) {
    const item = record[keys[shape.order[i]!]!];
    if (item === undefined) continue;
    if (first) first = false;
    else out += ',';
    out += shape.prefixes[i];
    out += typeof item === 'string' ? JSON.stringify(item) : canonicalJson(item);
  }
  return `${out}}`;
}

/** An object shape: its keys in `Object.keys` order, the positions of those keys sorted, and `"key":` for each. */
interface Shape {
  keys: readonly string[];
  order: readonly number[];
  prefixes: readonly string[];
}

/**
 * Shapes seen so far, found by their first key. Bounded in count and in keys per shape: past the
 * bounds a shape is worked out for the one object and not kept, so memory stays flat whatever arrives.
 */
class ShapeCache {
  private readonly byFirstKey = new Map<string, Shape[]>();
  private count = 0;

  constructor(
    private readonly maxShapes: number,
    private readonly maxKeys: number,
  ) {}

  of(keys: readonly string[]): Shape {
    const candidates = this.byFirstKey.get(keys[0]!);
    if (candidates !== undefined) {
      for (const shape of candidates) {
        if (sameKeys(shape.keys, keys)) return shape;
      }
    }
    const sorted = keys.map((key, index) => ({ key, index }));
    // Array.prototype.sort's default order (UTF-16 code units), as `keys.sort()` gives.
    sorted.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const shape: Shape = {
      keys,
      order: sorted.map((entry) => entry.index),
      prefixes: sorted.map((entry) => `${JSON.stringify(entry.key)}:`),
    };
    if (this.count < this.maxShapes && keys.length <= this.maxKeys) {
      this.count += 1;
      if (candidates === undefined) this.byFirstKey.set(keys[0]!, [shape]);
      else candidates.push(shape);
    }
    return shape;
  }
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return false;
  }
  return true;
}

/** Mimecast log types have a few dozen record shapes; nested objects add some. */
const shapes = new ShapeCache(1024, 256);

/** One-shot hashing where the runtime has it (Node ≥ 20.12; Lambda's Node 24 does): no Hash object per event. */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

/**
 * The id of a record: sha256 over the stream id, the record's canonical JSON and, from the second
 * identical record of one answer on, its occurrence number; hex, first 32 characters (128 bits).
 * Occurrence 1 hashes exactly what every id before occurrence numbers existed hashed (stream, newline,
 * canonical JSON), so ordinary records keep their ids. A later occurrence appends a newline and the
 * number: canonical JSON never holds a raw newline, so no occurrence-n text equals any other record's.
 * Sources number occurrences with `OccurrenceIds` (occurrences.ts).
 */
export function eventId(stream: StreamId, event: unknown, occurrence = 1): string {
  return eventIdOfCanonical(stream, canonicalJson(event), occurrence);
}

/** `eventId` for a record whose canonical JSON is already known. */
export function eventIdOfCanonical(stream: StreamId, canonical: string, occurrence: number): string {
  if (!Number.isSafeInteger(occurrence) || occurrence < 1) {
    throw new RangeError(`occurrence must be a positive integer, got ${occurrence}`);
  }
  const text = occurrence === 1 ? `${stream}\n${canonical}` : `${stream}\n${canonical}\n${occurrence}`;
  const digest =
    oneShotHash === undefined
      ? crypto.createHash('sha256').update(text).digest('hex')
      : oneShotHash('sha256', text, 'hex');
  return digest.slice(0, 32);
}
