import { createHash } from 'node:crypto';
import type { StreamId } from './streams';

/** The generic event envelope: one per forwarded event (design.md, "Generic event envelope"). */
export interface Envelope {
  /** Stable id: the same event always gets the same id, so any SIEM can drop re-deliveries. */
  id: string;
  stream: StreamId;
  logType: string;
  /** Event time, ISO-8601 UTC. */
  time: string;
  instance: string;
  /** The Mimecast record, untouched. */
  event: unknown;
}

/**
 * JSON with object keys sorted at every level, so two copies of one record that differ only in
 * key order hash the same.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) {
    return `[${value.map((item) => canonicalJson(item === undefined ? null : item)).join(',')}]`;
  }
  const entries = Object.keys(value)
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
  return `{${entries.join(',')}}`;
}

/** sha256 over the stream id and the record's canonical JSON, hex, first 32 characters (128 bits). */
export function eventId(stream: StreamId, event: unknown): string {
  return createHash('sha256')
    .update(stream)
    .update('\n')
    .update(canonicalJson(event))
    .digest('hex')
    .slice(0, 32);
}
