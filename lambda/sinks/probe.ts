/**
 * Probing a receiver for `verify`: one request at a time, no retry (an answer in seconds matters more
 * there), never an event. Each format's `probe` decides what to ask and what the answer means; the
 * request, its time limit and the readings every format shares live here.
 */
import type { Dispatcher } from 'undici';
import type { CallBudget } from '../core/ports';
import { networkErrorCode } from '../http/network';
import { type Answer, exchange, isRecord, tryJson } from './answer';
import type { ProbeResult } from './destination';
import { redactUrl } from './endpoint';
import type { HttpFormat } from './format';

/** One probe request. */
export const PROBE_REQUEST_TIMEOUT_MS = 10_000;
const PROBE_MAX_ANSWER_BYTES = 64 * 1024;
const PROBE_USER_AGENT = 'mimecast-collector verify';

/** What a format's probe may use. */
export interface ProbeContext {
  /** The token from the secret, if one is stored. */
  token?: string;
  /** One request (an empty body for POST); a receiver that does not answer ends the probe as unreachable. */
  request(method: 'GET' | 'POST', url: URL, headers?: Record<string, string>): Promise<Answer>;
}

/** Thrown by `request` when no answer came: turned into the `unreachable` finding by `runProbe`. */
class NoAnswer extends Error {
  constructor(
    readonly url: URL,
    readonly problem: string,
  ) {
    super(`${redactUrl(url)} did not answer: ${problem}`);
  }
}

/** Runs a format's probe over `dispatcher`, each request bounded by 10 s and the budget. */
export async function runProbe(
  format: HttpFormat,
  options: { token?: string; dispatcher: Dispatcher; budget: CallBudget },
): Promise<ProbeResult> {
  const { dispatcher, budget } = options;
  const request: ProbeContext['request'] = async (method, url, headers = {}) => {
    const timeoutMs = Math.max(1, Math.min(PROBE_REQUEST_TIMEOUT_MS, budget.deadline - Date.now()));
    try {
      return await exchange({
        method,
        url,
        headers: {
          'user-agent': PROBE_USER_AGENT,
          ...headers,
          ...(method === 'POST' ? { 'content-length': '0' } : {}),
        },
        ...(method === 'POST' ? { body: '' } : {}),
        dispatcher,
        signal: AbortSignal.any([budget.signal, AbortSignal.timeout(timeoutMs)]),
        maxAnswerBytes: PROBE_MAX_ANSWER_BYTES,
      });
    } catch (error) {
      const name = (error as { name?: unknown } | undefined)?.name;
      const problem =
        name === 'TimeoutError' || name === 'AbortError'
          ? `no answer within ${Math.ceil(timeoutMs / 1000)}s`
          : (networkErrorCode(error) ?? (error instanceof Error ? error.message : String(error)));
      throw new NoAnswer(url, problem);
    }
  };
  try {
    return await format.probe({ ...(options.token === undefined ? {} : { token: options.token }), request });
  } catch (error) {
    if (!(error instanceof NoAnswer)) throw error;
    return failed(
      'unreachable',
      error.message,
      'Check the URL, that the receiver runs, and this machine’s network access to it (firewall, proxy, TLS certificate).',
    );
  }
}

export function passed(result: string): ProbeResult {
  return { ok: true, result };
}

export function failed(result: string, message: string, remedy?: string): ProbeResult {
  return { ok: false, result, detail: { message, ...(remedy ? { remedy } : {}) } };
}

/** The token is missing or refused: the command that probes says how its user stores one. */
export function tokenFailure(hasToken: boolean, message: string): ProbeResult {
  return {
    ok: false,
    result: hasToken ? 'token refused' : 'no token stored',
    detail: { message },
    tokenProblem: true,
  };
}

/** A JSON object answer, or undefined. */
export function jsonObject(answer: Answer): Record<string, unknown> | undefined {
  const value = tryJson(answer.text);
  return isRecord(value) ? value : undefined;
}

/** The finding for an answer a format's probe did not expect, read by its HTTP status. */
export function unexpectedAnswer(
  method: 'GET' | 'POST',
  url: URL,
  answer: Answer,
  hasToken: boolean,
): ProbeResult {
  const where = `${method} ${redactUrl(url)}`;
  const excerpt = answer.text.replace(/\s+/g, ' ').slice(0, 200);
  const said = `${where} answered HTTP ${answer.status}${excerpt ? `: ${excerpt}` : ''}`;
  const { status } = answer;
  if (status === 401 || status === 403) {
    return tokenFailure(hasToken, said);
  }
  if (status >= 300 && status < 400) {
    return failed(
      `redirect (HTTP ${status})`,
      `${where} answered with a redirect, which the collector never follows (the token must not go elsewhere).`,
      'Use the final URL as --sink-url (and as the stack parameter IngestionUrl).',
    );
  }
  if (status === 404 || status === 405) {
    return failed(`wrong URL (HTTP ${status})`, said, 'Check the URL path and --sink-format.');
  }
  if (status === 429 || status >= 500) {
    return failed(
      `receiver busy or failing (HTTP ${status})`,
      said,
      'Check the receiver’s health; the collector retries such answers, but a receiver that keeps failing delays delivery.',
    );
  }
  return failed(`answered HTTP ${status}`, said, 'Check the URL and --sink-format.');
}
