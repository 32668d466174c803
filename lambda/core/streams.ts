/** The log streams the collector knows, what kind of cursor each one uses, and which API serves it. */

export const STREAM_IDS = [
  'siem',
  'audit',
  'ttp-url',
  'ttp-attachment',
  'ttp-impersonation',
  'dlp',
  'held-release',
  'archive-search',
  'malware-customer',
  'malware-grid',
  'siem-ci',
  'awareness-performance',
  'awareness-safescore',
  'awareness-user-data',
  'awareness-watchlist',
] as const;

export type StreamId = (typeof STREAM_IDS)[number];

/**
 * Streams read as a whole snapshot of the current state once per interval (Awareness Training), not
 * as a log: their lag grows by design until the next snapshot, and a repeat is a new reading.
 */
export const SNAPSHOT_STREAMS: readonly StreamId[] = [
  'awareness-performance',
  'awareness-safescore',
  'awareness-user-data',
  'awareness-watchlist',
];

export function isSnapshotStream(stream: StreamId): boolean {
  return SNAPSHOT_STREAMS.includes(stream);
}

/**
 * The Mimecast API versions a stream can be collected over. Cloud Integrated SIEM exists on API 2.0
 * only; Awareness Training is collected over API 2.0 only (Mimecast issues no new API 1.0 keys, and
 * the role permissions of its 1.0 endpoints are not published).
 */
export const STREAM_API_VERSIONS: Record<StreamId, readonly (1 | 2)[]> = {
  siem: [1, 2],
  audit: [1, 2],
  'ttp-url': [1, 2],
  'ttp-attachment': [1, 2],
  'ttp-impersonation': [1, 2],
  dlp: [1, 2],
  'held-release': [1, 2],
  'archive-search': [1, 2],
  'malware-customer': [1, 2],
  'malware-grid': [1, 2],
  'siem-ci': [2],
  'awareness-performance': [2],
  'awareness-safescore': [2],
  'awareness-user-data': [2],
  'awareness-watchlist': [2],
};

/** Every stream the given API version serves, in STREAM_IDS order. */
export function streamsFor(apiVersion: 1 | 2): StreamId[] {
  return STREAM_IDS.filter((stream) => STREAM_API_VERSIONS[stream].includes(apiVersion));
}

export function isStreamId(value: string): value is StreamId {
  return (STREAM_IDS as readonly string[]).includes(value);
}
