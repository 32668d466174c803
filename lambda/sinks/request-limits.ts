/** Cutting a batch into requests that fit a receiver's limits (Sumo 1 MB; Datadog 5 MB and 1,000 entries). */
import type { Envelope } from '../core/envelope';
import type { RequestLimits } from './format';

/**
 * The batch in order, cut so each request's framed body stays within `limits`. `frameBytes` is the body
 * of no entries (`[]` for a JSON array); each entry counts one byte more for its separator. An entry over
 * `maxEntryBytes` throws what `tooLarge` builds: the receiver would cut it, and a cut event is a lost one.
 */
export function splitToLimits(
  batch: readonly Envelope[],
  limits: RequestLimits,
  frameBytes: number,
  sizeOf: (envelope: Envelope) => number,
  tooLarge: (envelope: Envelope, size: number, limit: number) => Error,
): Envelope[][] {
  const out: Envelope[][] = [];
  let current: Envelope[] = [];
  let size = frameBytes;
  for (const envelope of batch) {
    const entry = sizeOf(envelope);
    if (limits.maxEntryBytes !== undefined && entry > limits.maxEntryBytes) {
      throw tooLarge(envelope, entry, limits.maxEntryBytes);
    }
    const full =
      (limits.oneStream === true && current.length > 0 && current[0]?.stream !== envelope.stream) ||
      (limits.maxEntries !== undefined && current.length >= limits.maxEntries) ||
      (limits.maxBytes !== undefined && current.length > 0 && size + entry + 1 > limits.maxBytes);
    if (full) {
      out.push(current);
      current = [];
      size = frameBytes;
    }
    current.push(envelope);
    size += entry + 1;
  }
  if (current.length > 0) out.push(current);
  return out;
}
