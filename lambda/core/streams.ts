/** The log streams the collector knows, and what kind of cursor each one uses. */

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
] as const;

export type StreamId = (typeof STREAM_IDS)[number];

/** `token`: an opaque bookmark from Mimecast. `window`: a frozen time window followed by page tokens. */
export type CursorKind = 'token' | 'window';

export const STREAM_CURSOR_KIND: Record<StreamId, CursorKind> = {
  siem: 'token',
  audit: 'window',
  'ttp-url': 'window',
  'ttp-attachment': 'window',
  'ttp-impersonation': 'window',
  dlp: 'window',
  'held-release': 'window',
  'archive-search': 'window',
  'malware-customer': 'token',
  'malware-grid': 'token',
};

export function isStreamId(value: string): value is StreamId {
  return (STREAM_IDS as readonly string[]).includes(value);
}
