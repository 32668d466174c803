/**
 * The id the collector gives a ground-truth record (lambda/core/occurrences.ts): SIEM file records
 * (`siem`, `siem-ci`, JSON and NDJSON files) are identified by their own text as the file holds it, which
 * the simulator writes with `JSON.stringify` of the very record it reports; every other record (paged
 * streams, key_value SIEM files) by its canonical JSON. Occurrence 1, as `eventId`.
 */
import { eventId, eventIdOfCanonical } from '../../lambda/core/envelope';
import type { StreamId } from '../../lambda/core/streams';

/** `canonical`: the record is identified by canonical JSON anyway (a key_value SIEM file's record). */
export function expectedEventId(
  stream: StreamId,
  record: unknown,
  options: { canonical?: boolean } = {},
): string {
  if ((stream === 'siem' || stream === 'siem-ci') && options.canonical !== true) {
    return eventIdOfCanonical(stream, JSON.stringify(record), 1);
  }
  return eventId(stream, record);
}
