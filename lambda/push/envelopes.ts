/**
 * Pushed events as the collector's envelopes, with the pull path's id rules (lambda/core/envelope.ts,
 * occurrences.ts): the id is `eventId` over the event's canonical JSON, identical events of one push
 * numbered by `OccurrenceIds` per stream, so the same push retried by Mimecast gets the same ids and a
 * receiver keyed on them drops the repeat. Where pull ids equal push ids, and where they cannot
 * (SIEM batch-file ids are over the file's bytes), is in docs/PUSH.md, "Ids"; `pushMatchKey` is
 * what the gap fill compares there.
 */
import { canonicalJson, type Envelope, eventIdOfCanonical } from '../core/envelope';
import { OccurrenceIds } from '../core/occurrences';
import type { StreamId } from '../core/streams';
import { toIsoUtc } from '../mimecast/time';
import type { PushedItem } from './body';
import { classifyPushEvent } from './classify';

export interface PushEnvelopeOptions {
  /** The collector instance name the envelopes carry. */
  instance: string;
  /** When the push arrived (epoch ms): the time of an event that carries none, nor a HEC `time`. */
  receivedAtMs: number;
}

/** Envelopes of the events of one push, in the push's order. */
export function pushEnvelopes(items: readonly PushedItem[], options: PushEnvelopeOptions): Envelope[] {
  const ids = new Map<StreamId, OccurrenceIds>();
  return items.map((item) => {
    const { stream, logType, timeMs } = classifyPushEvent(item.event);
    let numbering = ids.get(stream);
    if (numbering === undefined) {
      numbering = new OccurrenceIds(stream);
      ids.set(stream, numbering);
    }
    return {
      id: numbering.idOf(item.event),
      stream,
      logType,
      time: toIsoUtc(timeMs ?? item.hecTimeMs ?? options.receivedAtMs),
      instance: options.instance,
      event: item.event,
    };
  });
}

/**
 * Fields a SIEM batch file adds to each record that are about the file's transport (Kafka offset and
 * partition), not the event: the same event pushed need not carry them, so a match key leaves them out.
 */
export const TRANSPORT_FIELDS: readonly string[] = ['_offset', '_partition'];

/**
 * The key by which the gap fill (issue 15, part 3) recognises one Mimecast event whichever way it came:
 * `eventId` (occurrence 1) over the event's canonical JSON without `TRANSPORT_FIELDS`. Equal to the push
 * envelope's id for an event without transport fields that is the first of its kind in its push; for a
 * pulled record it is computed over the parsed record, whatever id the pull envelope carries. Identical
 * events share a key: compare counts per key, not presence (docs/PUSH.md, "Ids").
 */
export function pushMatchKey(stream: StreamId, event: unknown): string {
  return eventIdOfCanonical(stream, canonicalJson(withoutTransportFields(event)), 1);
}

function withoutTransportFields(event: unknown): unknown {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return event;
  const record = event as Record<string, unknown>;
  if (!TRANSPORT_FIELDS.some((field) => Object.hasOwn(record, field))) return event;
  const copy: Record<string, unknown> = { ...record };
  for (const field of TRANSPORT_FIELDS) delete copy[field];
  return copy;
}
