/** What a receiver answered, reduced to what the formats need, and its log-safe excerpt. */
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { type Dispatcher, request } from 'undici';
import { readPrefix } from '../http/body';
import { headerValue } from '../http/hints';

const gunzipAsync = promisify(gunzip);

/** Characters of a receiver's answer kept in errors and logs. */
export const ANSWER_EXCERPT_CHARS = 500;

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The whole answer body as text (bounded by the sink's answer limit). */
  text: string;
}

/** One request and its answer, read whole up to `maxAnswerBytes` (the rest is dropped with the socket). */
export async function exchange(options: {
  method: 'GET' | 'POST';
  url: URL;
  headers: Record<string, string>;
  body?: Buffer | string;
  dispatcher: Dispatcher;
  signal: AbortSignal;
  maxAnswerBytes: number;
}): Promise<Answer> {
  const { maxAnswerBytes, url, ...rest } = options;
  const response = await request(url, rest);
  // Enough to judge any answer; more would only cost memory.
  let raw = await readPrefix(response.body, maxAnswerBytes);
  if (String(response.headers['content-encoding'] ?? '').toLowerCase() === 'gzip') {
    raw = await gunzipAsync(raw, { maxOutputLength: maxAnswerBytes });
  }
  return { status: response.statusCode, headers: response.headers, text: raw.toString('utf8') };
}

export function header(answer: Answer, name: string): string | undefined {
  return headerValue(answer.headers, name);
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
