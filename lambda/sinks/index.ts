/** The sink adapter: `createHttpSink` builds a `Destination` (the core's `Sink` port plus `probe`) for one receiver and format. */

export {
  createDestination,
  type DestinationDeps,
  type DestinationSettings,
  type S3Options,
  s3OptionsFromEnv,
} from './create';
export type { Destination, ProbeResult } from './destination';
export { isSinkFormat, SINK_FORMATS, type SinkFormat } from './format';
export type { HecAckOptions } from './hec-ack';
export { createHttpSink, type HttpSinkOptions } from './http-sink';
export { DEFAULT_RETRY, type SinkRetryOptions } from './retry';
export { HEC_EVENT_PATH, sourceFor, sourcetypeFor } from './splunk-hec';
