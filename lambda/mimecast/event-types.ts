/**
 * Mimecast's SIEM event types, in a file with no imports so the pure push module (lambda/push/)
 * classifies by the same lists the client collects by.
 */

/** API 2.0 Cloud Gateway SIEM event types (docs/mimecast-api.md D.6); one listing per type, as every known client does. */
export const SIEM_V2_EVENT_TYPES = [
  'receipt',
  'process',
  'delivery',
  'av',
  'spam',
  'internal email protect',
  'impersonation protect',
  'url protect',
  'attachment protect',
  'journal',
] as const;

/** API 2.0 Cloud Integrated SIEM event types (docs/mimecast-api.md D.5: what Sentinel and Elastic list). */
export const SIEM_CI_EVENT_TYPES = ['entities', 'mailflow', 'urlclick'] as const;
