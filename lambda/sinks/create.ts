/**
 * The one place a destination is built from settings: the handler (through tick.ts), the command line's
 * `run` and `verify` all call `createDestination`, so each format is wired once.
 */
import type { Dispatcher } from 'undici';
import type { Clock, Log } from '../core/ports';
import type { Destination } from './destination';
import type { SinkFormat } from './format';
import type { HecAckOptions } from './hec-ack';
import { createHttpSink } from './http-sink';
import type { SinkRetryOptions } from './retry';

/** What the settings say about the destination (`--sink-format`, `--sink-url`, `--hec-ack`...). */
export interface DestinationSettings {
  sinkFormat: SinkFormat;
  sinkUrl: string;
  /** splunk-hec: indexer acknowledgement. */
  hecAck?: boolean;
}

/** What the caller holds: the token from the secret, and the shared transport, log and clock. */
export interface DestinationDeps {
  /** The secret's sink token (HEC token, Elasticsearch key, Datadog API key, bearer token). */
  token?: string;
  dispatcher?: Dispatcher;
  log?: Log;
  clock?: Clock;
  /** Tests shorten waits; production uses the defaults. */
  retry?: SinkRetryOptions;
  hecAckOptions?: HecAckOptions;
}

/** Builds the destination; throws one ConfigError listing every problem with the settings. */
export function createDestination(settings: DestinationSettings, deps: DestinationDeps = {}): Destination {
  return createHttpSink({
    url: settings.sinkUrl,
    format: settings.sinkFormat,
    ...(deps.token === undefined ? {} : { token: deps.token }),
    ...(deps.dispatcher === undefined ? {} : { dispatcher: deps.dispatcher }),
    ...(deps.log === undefined ? {} : { log: deps.log }),
    ...(deps.clock === undefined ? {} : { clock: deps.clock }),
    ...(deps.retry === undefined ? {} : { retry: deps.retry }),
    ...(settings.hecAck === true ? { hecAck: deps.hecAckOptions ?? true } : {}),
  });
}
