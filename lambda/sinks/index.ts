/** The sink adapter: `createHttpSink` builds the core's `Sink` port for one receiver and format. */

export { isSinkFormat, SINK_FORMATS, type SinkFormat } from './format';
export { createHttpSink, type HttpSinkOptions } from './http-sink';
export { DEFAULT_RETRY, type SinkRetryOptions } from './retry';
export { HEC_EVENT_PATH, sourceFor, sourcetypeFor } from './splunk-hec';
