/**
 * After the destination acknowledged pushed events: each event's match key into the push ledger the
 * gap-filling pull reads (docs/PUSH-GAP-FILL.md). The receiver and the S3 drain both record here, so an
 * event pushed either way is left out by the pull.
 */

import { describeError } from '../core/describe';
import type { Envelope } from '../core/envelope';
import type { Log } from '../core/ports';
import type { PushedEntry, PushLedger } from '../core/push-ledger';
import type { StreamId } from '../core/streams';
import { pushMatchKey } from './envelopes';

/**
 * A failure here is logged, not thrown: the events were delivered, and the pull sends them again (a
 * duplicate, never a loss), while an error would make Mimecast push them again or the drain redo them.
 */
export async function recordPushed(
  envelopes: readonly Envelope[],
  ledger: PushLedger | undefined,
  log: Log,
): Promise<void> {
  if (ledger === undefined) return;
  const byStream = new Map<StreamId, PushedEntry[]>();
  for (const envelope of envelopes) {
    const entries = byStream.get(envelope.stream) ?? [];
    entries.push({ id: pushMatchKey(envelope.stream, envelope.event), time: envelope.time });
    byStream.set(envelope.stream, entries);
  }
  for (const [stream, entries] of byStream) {
    try {
      await ledger.record(stream, entries);
    } catch (error) {
      log.warn('Push ledger not written: the pull will send these events again (duplicates, no loss)', {
        stream,
        events: entries.length,
        error: describeError(error),
      });
    }
  }
}
