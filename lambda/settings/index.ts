/** The collector's settings: one schema each, parsed once at the edge (schema.ts). */
export { SINK_FORMATS, type SinkFormat } from '../sinks/format';
export type { Check } from './check';
export * from './lists';
export * from './mimecast-url';
export * from './schema';
export * from './values';
