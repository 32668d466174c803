/** What a receiver answered, reduced to what the formats need, and its log-safe excerpt. */

/** Characters of a receiver's answer kept in errors and logs. */
export const ANSWER_EXCERPT_CHARS = 500;

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The whole answer body as text (bounded by the sink's answer limit). */
  text: string;
}

export function header(answer: Answer, name: string): string | undefined {
  const value = answer.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The first ~500 printable characters of an answer, whitespace collapsed, with the token scrubbed
 * in case the receiver echoes our request headers back (some proxies do).
 */
export function excerpt(text: string, secret?: string, limit = ANSWER_EXCERPT_CHARS): string {
  let clean = text;
  if (secret !== undefined && secret !== '') {
    clean = clean.split(secret).join('[redacted]');
  }
  clean = collapse(clean);
  return clean.length > limit ? `${clean.slice(0, limit)}…` : clean;
}

/** Parses JSON, returning undefined rather than throwing: answers are often not JSON at all. */
export function tryJson(text: string): unknown {
  if (text.trim() === '') {
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True for C0 control characters and DEL, which must never reach a header or a log line. */
export function isControlChar(code: number): boolean {
  return code < 0x20 || code === 0x7f;
}

export function hasControlChars(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (isControlChar(text.charCodeAt(i))) {
      return true;
    }
  }
  return false;
}

/** Control characters and whitespace runs become single spaces. */
function collapse(text: string): string {
  let out = '';
  let space = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (isControlChar(code) || /\s/.test(text[i])) {
      space = out.length > 0;
      continue;
    }
    if (space) {
      out += ' ';
      space = false;
    }
    out += text[i];
  }
  return out;
}
