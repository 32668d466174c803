/** Mimecast's time formats, to and from epoch milliseconds. */

// `2021-10-11T16:03:38+0000`, `2017-05-26T16:47:41+0100`, `…Z`, `…+00:00`, fractions, a space instead of `T`.
const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * Parses a Mimecast time: ISO-like strings with any offset form (a missing offset means UTC), epoch
 * numbers or numeric strings (milliseconds, or seconds when below 1e11). Returns undefined when the value
 * is not a valid time, so callers decide what a missing time means.
 */
export function parseMimecastTime(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return epochToMs(value);
  }
  if (typeof value !== 'string') {
    return undefined;
  }
  const text = value.trim();
  if (/^\d{9,16}(\.\d+)?$/.test(text)) {
    return epochToMs(Number(text));
  }
  const m = TIMESTAMP.exec(text);
  if (!m) {
    return undefined;
  }
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const millis = m[7] === undefined ? 0 : Math.floor(Number(`0.${m[7]}`) * 1000);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return undefined;
  }
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  // Date.UTC rolls 31 February over into March; refuse instead.
  if (new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day) {
    return undefined;
  }
  return utc - offsetMs(m[8]);
}

function epochToMs(value: number): number | undefined {
  if (!Number.isFinite(value) || value < 0) {
    return undefined;
  }
  const ms = value < 1e11 ? value * 1000 : value;
  return ms > 8.64e15 ? undefined : Math.floor(ms);
}

function offsetMs(zone: string | undefined): number {
  if (zone === undefined || /^(Z|UTC|GMT)$/i.test(zone)) {
    return 0;
  }
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
  return sign * (hours * 60 + minutes) * 60_000;
}

/** ISO-8601 UTC with milliseconds, the form every SourceRecord and cursor carries. */
export function toIsoUtc(ms: number): string {
  return new Date(ms).toISOString();
}

/** The request form the Mimecast docs use: `2021-11-16T12:03:24+0000` (seconds, no colon in the offset). */
export function formatMimecastTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}+0000`;
}

/** `YYYY-MM-DD` in UTC, for the API 2.0 SIEM listing's date-only range. */
export function formatDateOnly(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Mimecast times have second precision; windows and boundaries compare whole seconds. */
export function floorToSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

/** Strict ISO-8601 string as stored in cursors; returns epoch ms or undefined. */
export function parseIso(value: string): number | undefined {
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
