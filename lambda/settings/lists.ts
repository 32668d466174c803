/** Checks of the list settings: streams, SIEM event types, and the per-stream lag alarm thresholds. */
import { isStreamId, STREAM_API_VERSIONS, STREAM_IDS, type StreamId, streamsFor } from '../core/streams';
import { SIEM_CI_EVENT_TYPES, SIEM_V2_EVENT_TYPES } from '../mimecast/constants';
import { type Check, fail, listItems, quote } from './check';
import type { ApiVersion } from './mimecast-url';

/**
 * A comma-separated list of stream ids; empty or unset means every stream (of `apiVersion`, when
 * given: the API 2.0-only streams are left out of an API 1.0 default rather than refused, so the
 * default works on both versions). Whether a listed stream is served is `unservedStreams`.
 */
export function parseStreamList(text: string | undefined, apiVersion?: ApiVersion): Check<StreamId[]> {
  const items = listItems(text);
  if (items.length === 0) return { ok: true, value: apiVersion ? streamsFor(apiVersion) : [...STREAM_IDS] };
  const unknown = items.filter((s) => !(STREAM_IDS as readonly string[]).includes(s));
  if (unknown.length > 0) {
    return fail(
      `unknown stream${unknown.length > 1 ? 's' : ''} ${unknown.map(quote).join(', ')}; expected a comma-separated list of ${STREAM_IDS.join(', ')} (or empty for all)`,
    );
  }
  // A repeat is harmless (the stream is collected once) and no stack parameter pattern can forbid one,
  // so it is dropped rather than refused: refusing would let a stack deploy that then fails every tick.
  return { ok: true, value: [...new Set(items)] as StreamId[] };
}

/**
 * Streams Event Push cannot carry: snapshots of current state (Awareness Training) and the threat
 * feeds' indicators are not events Mimecast pushes, so push can never be their primary path.
 */
const NEVER_PUSHED = (stream: StreamId) => stream.startsWith('awareness-') || stream.startsWith('malware-');

/** The streams that may be push-primary (the stack's PushPrimaryStreams pattern is built from these). */
export const PUSHABLE_STREAMS: readonly StreamId[] = STREAM_IDS.filter((s) => !NEVER_PUSHED(s));

/**
 * A comma-separated list of the streams whose primary path is Event Push (docs/PUSH-GAP-FILL.md); the pull
 * fills only their gaps. Empty or unset means none. Each must also be collected (`inStreams`, checked
 * by the caller against the stream list).
 */
export function parsePushPrimaryStreams(text: string | undefined): Check<StreamId[]> {
  const items = listItems(text);
  if (items.length === 0) return { ok: true, value: [] };
  const listed = parseStreamList(text);
  if (!listed.ok) return fail(listed.problem.replace(' (or empty for all)', ' (or empty for none)'));
  const never = listed.value.filter(NEVER_PUSHED);
  if (never.length > 0) {
    return fail(
      `${never.map(quote).join(', ')} ${never.length > 1 ? 'are' : 'is'} never sent by Event Push (snapshots and threat-feed indicators); leave ${never.length > 1 ? 'them' : 'it'} out`,
    );
  }
  return listed;
}

/** Listed streams the API version does not serve (siem-ci and the Awareness Training streams on API 1.0). */
export function unservedStreams(streams: readonly StreamId[], apiVersion: ApiVersion): StreamId[] {
  return streams.filter((stream) => !STREAM_API_VERSIONS[stream].includes(apiVersion));
}

/** The problem of listing streams the API version does not serve, naming what to change. */
export function unservedStreamsProblem(
  unserved: readonly StreamId[],
  apiVersion: ApiVersion,
  apiVersionName: string,
): string {
  const list = unserved.map(quote).join(', ');
  return `${list} ${unserved.length > 1 ? 'are' : 'is'} collected over API 2.0 only, but API ${apiVersion}.0 is configured; remove ${unserved.length > 1 ? 'them' : 'it'} from the list, or use API 2.0 credentials and set ${apiVersionName} to 2`;
}

/** Event types known per SIEM listing, for the lists below. */
export const SIEM_EVENT_TYPE_SETS = {
  siem: SIEM_V2_EVENT_TYPES,
  'siem-ci': SIEM_CI_EVENT_TYPES,
} as const;

/**
 * A comma-separated list of API 2.0 SIEM event types (`url protect` has a space inside); empty or
 * unset means every known type. Unknown types are refused here: Mimecast would refuse them on every
 * listing (400) instead.
 */
export function parseEventTypes(text: string | undefined, known: readonly string[]): Check<string[]> {
  const items = listItems(text, (s) => s.replace(/\s+/g, ' '));
  if (items.length === 0) return { ok: true, value: [...known] };
  const unknown = items.filter((s) => !known.includes(s));
  if (unknown.length > 0) {
    return fail(
      `unknown event type${unknown.length > 1 ? 's' : ''} ${unknown.map(quote).join(', ')}; expected a comma-separated list of ${known.join(', ')} (or empty for all)`,
    );
  }
  return { ok: true, value: [...new Set(items)] };
}

/** Bounds of a lag alarm threshold: a minute to a year. */
export const LAG_ALARM_SECONDS_BOUNDS = { min: 60, max: 365 * 86_400 } as const;

/**
 * LAG_ALARM_SECONDS, as the stack writes it from its per-stream thresholds: `siem=7200,audit=86400`.
 * The function judges each stream's lag against its own threshold, so one metric (StreamsLagging)
 * serves every stream.
 */
export function formatLagAlarmSeconds(seconds: Partial<Record<StreamId, number>>): string {
  return STREAM_IDS.filter((stream) => seconds[stream] !== undefined)
    .map((stream) => `${stream}=${seconds[stream]}`)
    .join(',');
}

/** LAG_ALARM_SECONDS back into thresholds; every stream in `required` must have one. */
export function parseLagAlarmSeconds(
  text: string | undefined,
  required: readonly StreamId[],
): Check<Partial<Record<StreamId, number>>> {
  const value = (text ?? '').trim();
  const expected = `expected <stream>=<seconds> pairs separated by commas, e.g. siem=7200,audit=86400 (the stack sets it)`;
  if (value === '') return fail(`is not set; ${expected}`);
  const seconds: Partial<Record<StreamId, number>> = {};
  const { min, max } = LAG_ALARM_SECONDS_BOUNDS;
  for (const pair of value.split(',')) {
    const match = /^\s*([a-z0-9-]+)\s*=\s*(\d+)\s*$/.exec(pair);
    if (match === null) return fail(`${quote(pair.trim())} is not a <stream>=<seconds> pair; ${expected}`);
    const [, stream, number] = match as unknown as [string, string, string];
    if (!isStreamId(stream)) return fail(`unknown stream ${quote(stream)}; ${expected}`);
    if (seconds[stream] !== undefined) return fail(`${stream} is given twice; ${expected}`);
    const n = Number(number);
    if (n < min || n > max)
      return fail(`${stream}=${number} is out of range; expected ${min} to ${max} seconds`);
    seconds[stream] = n;
  }
  const missing = required.filter((stream) => seconds[stream] === undefined);
  if (missing.length > 0) return fail(`has no threshold for ${missing.join(', ')}; ${expected}`);
  return { ok: true, value: seconds };
}
