/** Date formats Mimecast emits and accepts (docs/mimecast-api.md sections A.3, B.0, D.3, F.6). */

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0');
}

/** `+0100`, `-0400`: the offset style of API 1.0 timestamps. */
export function formatOffset(offsetMinutes: number): string {
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`;
}

/** Parses `+0100` / `-04:00` into minutes; undefined when malformed. */
export function parseOffset(text: string): number | undefined {
  const match = /^([+-])(\d{2}):?(\d{2})$/.exec(text);
  if (!match) return undefined;
  const minutes = Number(match[2]) * 60 + Number(match[3]);
  if (Number(match[3]) > 59 || minutes > 14 * 60) return undefined;
  return match[1] === '-' ? -minutes : minutes;
}

/** `2021-11-16T12:03:24+0000` (seconds precision), rendered in the given offset. */
export function formatMimecastDate(epochMs: number, offsetMinutes = 0): string {
  const d = new Date(epochMs + offsetMinutes * MINUTE_MS);
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}` +
    `T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${formatOffset(offsetMinutes)}`
  );
}

/** `20211018093329655`: the stamp in SIEM file names (UTC, milliseconds). */
export function formatCompactStamp(epochMs: number): string {
  const d = new Date(epochMs);
  return (
    `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}` +
    `${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}${pad(d.getUTCMilliseconds(), 3)}`
  );
}

/** `20240605T113506Z`: the S3 pre-signed URL date. */
export function formatAmzDate(epochMs: number): string {
  const stamp = formatCompactStamp(epochMs);
  return `${stamp.slice(0, 8)}T${stamp.slice(8, 14)}Z`;
}

export function parseAmzDate(text: string): number | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number);
  return checkedUtc(y, mo, d, h, mi, s, 0);
}

/** `Sun, 21 Aug 2022 13:49:40 UTC`: the x-mc-date header. */
export function formatRfc1123(epochMs: number, suffix: 'UTC' | 'GMT' = 'UTC'): string {
  const d = new Date(epochMs);
  return (
    `${DAYS[d.getUTCDay()]}, ${pad(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${suffix}`
  );
}

/** Parses an x-mc-date value; the suffix is returned so the caller can apply the accepted-suffix variant. */
export function parseRfc1123(text: string): { epochMs: number; suffix: string } | undefined {
  const match =
    /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{1,2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) ([A-Z]{3})$/.exec(
      text,
    );
  if (!match) return undefined;
  const month = MONTHS.indexOf(match[3] as (typeof MONTHS)[number]);
  if (month < 0) return undefined;
  const epochMs = checkedUtc(
    Number(match[4]),
    month + 1,
    Number(match[2]),
    Number(match[5]),
    Number(match[6]),
    Number(match[7]),
    0,
  );
  return epochMs === undefined ? undefined : { epochMs, suffix: match[8] };
}

/**
 * Request-body dates: `2011-12-03T10:15:30+0000` (documented), and the RFC 3339 forms shipped clients send
 * (`…Z`, `…+00:00`, optional fractional seconds). Any offset is honoured.
 */
export function parseRequestDate(text: string): number | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$/.exec(
    text,
  );
  if (!match) return undefined;
  const millis = match[7] === undefined ? 0 : Math.floor(Number(`0.${match[7]}`) * 1000);
  const base = checkedUtc(
    Number(match[1]),
    Number(match[2]),
    Number(match[3]),
    Number(match[4]),
    Number(match[5]),
    Number(match[6]),
    millis,
  );
  if (base === undefined) return undefined;
  if (match[8] === 'Z') return base;
  const offset = parseOffset(match[8]);
  return offset === undefined ? undefined : base - offset * MINUTE_MS;
}

/** `YYYY-MM-DD` (API 2.0 batch date range) to the UTC midnight it names. */
export function parseDateOnly(text: string): number | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return undefined;
  return checkedUtc(Number(match[1]), Number(match[2]), Number(match[3]), 0, 0, 0, 0);
}

export function formatDateOnly(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

export function startOfUtcDay(epochMs: number): number {
  return Math.floor(epochMs / DAY_MS) * DAY_MS;
}

/** Date.UTC that refuses out-of-range fields instead of rolling them over (Feb 30 is not Mar 2). */
function checkedUtc(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  millis: number,
): number | undefined {
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const epochMs = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  const check = new Date(epochMs);
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) {
    return undefined;
  }
  return epochMs;
}
