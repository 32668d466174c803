/**
 * The one place a destination is built from the settings: the composition root (lambda/root.ts) calls
 * it, so a new destination format plugs in here and nowhere else.
 */
import type { Dispatcher } from 'undici';
import type { CollectorSettings } from '../config';
import type { Clock, Log } from '../core/ports';
import type { Destination } from './destination';
import { createHttpSink } from './http-sink';
import type { SinkRetryOptions } from './retry';

export interface DestinationParts {
  /** The receiver's token from the secret, when it needs one. */
  token?: string;
  dispatcher?: Dispatcher;
  log?: Log;
  clock?: Clock;
  /** Retry timing (tests shorten it); default: the sink's own (sinks/retry.ts). */
  retry?: SinkRetryOptions;
}

export function createDestination(
  settings: Pick<CollectorSettings, 'sinkUrl' | 'sinkFormat'>,
  parts: DestinationParts = {},
): Destination {
  return createHttpSink({
    url: settings.sinkUrl,
    format: settings.sinkFormat,
    ...(parts.token === undefined ? {} : { token: parts.token }),
    ...(parts.dispatcher === undefined ? {} : { dispatcher: parts.dispatcher }),
    ...(parts.log === undefined ? {} : { log: parts.log }),
    ...(parts.clock === undefined ? {} : { clock: parts.clock }),
    ...(parts.retry === undefined ? {} : { retry: parts.retry }),
  });
}
