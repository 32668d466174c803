/**
 * Which stream and log type a pushed event belongs to, and its time, from its content alone
 * (docs/PUSH.md, "Stream and log type"). The rules mirror what the pull path assigns to the same
 * record, so an event reads the same in the SIEM whichever way it came:
 * - Cloud Gateway SIEM events (`type` one of the CG types, epoch-ms `timestamp`): stream `siem`, log type
 *   `type`, as the SIEM 2.0 batch files give them (lambda/mimecast/streams/siem-v2.ts);
 * - Cloud Integrated events (`type` `entities`, `mailflow`, `urlclick`): stream `siem-ci`;
 * - any other `type` with a `timestamp` and Mimecast's `aggregateId`/`processingId`: a CG type this list
 *   does not know yet, stream `siem`, log type `type` (as pull would);
 * - audit events (`auditType` and `eventTime`): stream `audit`, log type `category` (lambda/mimecast/endpoints.ts);
 * - anything else: stream `siem`, log type `push-unclassified`: forwarded, never dropped.
 */
import type { StreamId } from '../core/streams';
import { SIEM_CI_EVENT_TYPES, SIEM_V2_EVENT_TYPES } from '../mimecast/event-types';
import { parseMimecastTime } from '../mimecast/time';

/** The log type of an event no rule recognises. */
export const PUSH_UNCLASSIFIED = 'push-unclassified';

/** Cloud Gateway event types (docs/mimecast-api.md D.6): the ones the pull path collects. */
export const CG_EVENT_TYPES: readonly string[] = SIEM_V2_EVENT_TYPES;

/** Cloud Integrated event types (docs/mimecast-api.md D.5). */
export const CI_EVENT_TYPES: readonly string[] = SIEM_CI_EVENT_TYPES;

export interface PushClass {
  stream: StreamId;
  logType: string;
  /** The event's own time in epoch milliseconds, when it carries a valid one. */
  timeMs?: number;
}

/** Time fields tried for an event no rule recognises, in order (SIEM 2.0, audit/TTP, SIEM 1.0, TTP). */
const FALLBACK_TIME_FIELDS = ['timestamp', 'eventTime', 'datetime', 'date'] as const;

export function classifyPushEvent(event: unknown): PushClass {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    return { stream: 'siem', logType: PUSH_UNCLASSIFIED };
  }
  const record = event as Record<string, unknown>;
  const type = nonEmptyString(record.type);
  const timestamp = parseMimecastTime(record.timestamp);
  if (type !== undefined && timestamp !== undefined) {
    if (CI_EVENT_TYPES.includes(type)) return { stream: 'siem-ci', logType: type, timeMs: timestamp };
    if (CG_EVENT_TYPES.includes(type) || hasMimecastIds(record)) {
      return { stream: 'siem', logType: type, timeMs: timestamp };
    }
  }
  const eventTime = parseMimecastTime(record.eventTime);
  if (nonEmptyString(record.auditType) !== undefined && eventTime !== undefined) {
    return { stream: 'audit', logType: nonEmptyString(record.category) ?? 'audit', timeMs: eventTime };
  }
  for (const field of FALLBACK_TIME_FIELDS) {
    const timeMs = parseMimecastTime(record[field]);
    if (timeMs !== undefined) return { stream: 'siem', logType: PUSH_UNCLASSIFIED, timeMs };
  }
  return { stream: 'siem', logType: PUSH_UNCLASSIFIED };
}

function hasMimecastIds(record: Record<string, unknown>): boolean {
  return (
    nonEmptyString(record.aggregateId) !== undefined || nonEmptyString(record.processingId) !== undefined
  );
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
