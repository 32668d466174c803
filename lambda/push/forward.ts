/**
 * Sends a push's envelopes through the configured destination (the engine's `Sink` contract,
 * lambda/core/ports.ts) and resolves only when the destination acknowledged every one of them. The
 * caller answers the pusher only after this resolves, so a failure here becomes an error answer and
 * Mimecast's own retry covers it (nothing is remembered in between: the push is its own checkpoint).
 */
import type { Envelope } from '../core/envelope';
import type { CallBudget, Sink } from '../core/ports';
import type { StreamId } from '../core/streams';

export interface PushBatchLimits {
  /** Events per destination request (`EngineLimits.batchMaxEvents`). */
  batchMaxEvents: number;
  /** Bytes per destination request as `sink.sizeOf` measures them (`EngineLimits.batchMaxBytes`). */
  batchMaxBytes: number;
}

export interface PushForwarded {
  /** Events acknowledged, per stream. */
  events: Partial<Record<StreamId, number>>;
  /** Bytes put on the wire. */
  bytes: number;
  /** Destination requests made (batches). */
  batches: number;
}

/**
 * Forwards `envelopes` in batches of one stream each (as the engine sends them: some destinations name
 * the stream per request), in the push's order within a stream. Throws the destination's typed error at
 * the first batch it did not acknowledge; batches sent before it stay sent, and their events come again
 * with the same ids when Mimecast retries the push, for the destination to drop.
 */
export async function forwardPush(
  envelopes: readonly Envelope[],
  destination: Sink,
  budget: CallBudget,
  limits: PushBatchLimits,
): Promise<PushForwarded> {
  const forwarded: PushForwarded = { events: {}, bytes: 0, batches: 0 };
  for (const [stream, ofStream] of byStream(envelopes)) {
    for (const batch of batches(ofStream, destination, limits)) {
      const result = await destination.send(batch, budget);
      forwarded.bytes += result.bytes;
      forwarded.batches += 1;
      forwarded.events[stream] = (forwarded.events[stream] ?? 0) + batch.length;
    }
  }
  return forwarded;
}

function byStream(envelopes: readonly Envelope[]): Map<StreamId, Envelope[]> {
  const groups = new Map<StreamId, Envelope[]>();
  for (const envelope of envelopes) {
    const group = groups.get(envelope.stream);
    if (group === undefined) groups.set(envelope.stream, [envelope]);
    else group.push(envelope);
  }
  return groups;
}

/** Cuts by count and by `sizeOf` bytes; one envelope larger than the byte bound goes alone. */
function* batches(
  envelopes: readonly Envelope[],
  sink: Sink,
  limits: PushBatchLimits,
): Generator<Envelope[]> {
  let batch: Envelope[] = [];
  let bytes = 0;
  for (const envelope of envelopes) {
    const size = sink.sizeOf(envelope);
    if (batch.length > 0 && (batch.length >= limits.batchMaxEvents || bytes + size > limits.batchMaxBytes)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(envelope);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}
