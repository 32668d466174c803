/**
 * One Event Push object through the push pipeline (lambda/push): its events parsed (HEC JSON array,
 * NDJSON or one event), classified and wrapped with the pull path's id rules, then forwarded through
 * the destination in batches; resolves only once every batch was acknowledged, after which the events
 * go into the push ledger as a received push's do.
 */
import type { Clock, Log, Sink } from '../core/ports';
import type { PushLedger } from '../core/push-ledger';
import { PushBodyError } from '../errors';
import {
  forwardPush,
  type PushBatchLimits,
  type PushedItem,
  parsePushBody,
  pushEnvelopes,
  recordPushed,
} from '../push';
import type { ForwardObject } from './ports';

export interface ObjectForwarderOptions {
  instance: string;
  destination: Sink;
  limits: PushBatchLimits & { maxDecodedBytes: number };
  clock: Clock;
  log: Log;
  /** With push-primary streams: the ledger the pull reads, so it leaves out what was drained. */
  pushLedger?: PushLedger;
}

export function pushObjectForwarder(options: ObjectForwarderOptions): ForwardObject {
  return async (object, budget) => {
    let items: PushedItem[];
    try {
      items = parsePushBody(object.body, { maxDecodedBytes: options.limits.maxDecodedBytes });
    } catch (error) {
      // An object with no events (blank, or `[]`) is a push of nothing: done, where a push answers "no data".
      if (error instanceof PushBodyError && error.hecCode === 5) return { events: 0 };
      throw error;
    }
    // Events without a time of their own take the time the object was drained (ids never depend on it).
    const envelopes = pushEnvelopes(items, { instance: options.instance, receivedAtMs: options.clock.now() });
    await forwardPush(envelopes, options.destination, budget, options.limits);
    await recordPushed(envelopes, options.pushLedger, options.log);
    return { events: envelopes.length };
  };
}
