/** Headers that say when to come back: read once here, for the Mimecast client and the sinks alike. */

export type HeaderValue = string | string[] | undefined;
export type Headers = Record<string, HeaderValue>;

/** The first value of a header (names are lower case, as undici gives them). */
export function headerValue(headers: Headers, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Milliseconds a `Retry-After` value asks for: delta-seconds or an HTTP date (RFC 9110 §10.2.3).
 * Undefined when absent or unreadable; a date in the past means "now" (0).
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) {
    return undefined;
  }
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    return Math.round(Number(trimmed) * 1000);
  }
  const at = Date.parse(trimmed);
  if (Number.isNaN(at) || !/[a-z]/i.test(trimmed)) {
    return undefined;
  }
  return Math.max(0, at - now);
}

/**
 * Milliseconds until a rate-limit reset header's moment: a number ≥ 1e9 is an epoch (in seconds below
 * 1e12, else in milliseconds), a smaller one a delay in milliseconds. Undefined when absent or not a
 * number; a moment in the past means "now" (0).
 */
export function parseRateLimitReset(value: string | undefined, now: number): number | undefined {
  const trimmed = value?.trim();
  if (trimmed === undefined || !/^\d+(\.\d+)?$/.test(trimmed)) {
    return undefined;
  }
  const number = Number(trimmed);
  if (number >= 1e9) {
    return Math.max(0, (number < 1e12 ? number * 1000 : number) - now);
  }
  return number;
}
