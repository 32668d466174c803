/** Retry policy of the sink: how often, how long between tries, and which failures deserve another try. */
import type { ConfigProblem } from '../errors';

export interface SinkRetryOptions {
  /** Requests per batch, the first included. The budget's deadline bounds the time as well. */
  maxAttempts?: number;
  /** Backoff before the second request; doubles after every failed request. */
  baseDelayMs?: number;
  /** Ceiling of one backoff sleep (a receiver's Retry-After is honoured beyond it, within the deadline). */
  maxDelayMs?: number;
  /** Longest wait for one request's full answer; also cut short by the budget's deadline. */
  attemptTimeoutMs?: number;
  /** Time that must remain after a backoff for another request to be worth sending. */
  minAttemptMs?: number;
  /** Source of jitter in [0, 1); injectable so tests can pin it. */
  random?: () => number;
}

export type RetryPolicy = Required<SinkRetryOptions>;

/**
 * Defaults, chosen for a Lambda tick of a few minutes:
 * - 6 requests with 250 ms doubling to at most 8 s cover a receiver restart (~8 s of backoff in total)
 *   without spending a whole tick on one batch; the deadline usually bounds earlier.
 * - 30 s per request: a bounded batch (a few MB) is indexed well within it, and a hung receiver costs
 *   at most one such wait before the next try.
 * - 200 ms minimum: a request squeezed into less is likely to time out and only adds a duplicate.
 */
export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 6,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  attemptTimeoutMs: 30_000,
  minAttemptMs: 200,
  random: Math.random,
};

export function resolveRetryPolicy(
  options: SinkRetryOptions | undefined,
  problems: ConfigProblem[],
): RetryPolicy {
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...stripUndefined(options ?? {}) };
  const positiveInts: Array<[keyof SinkRetryOptions, number]> = [
    ['maxAttempts', policy.maxAttempts],
    ['attemptTimeoutMs', policy.attemptTimeoutMs],
  ];
  for (const [name, value] of positiveInts) {
    if (!Number.isInteger(value) || value < 1) {
      problems.push({
        field: `retry.${name}`,
        problem: `must be a whole number of at least 1, got ${value}`,
      });
    }
  }
  const nonNegative: Array<[keyof SinkRetryOptions, number]> = [
    ['baseDelayMs', policy.baseDelayMs],
    ['maxDelayMs', policy.maxDelayMs],
    ['minAttemptMs', policy.minAttemptMs],
  ];
  for (const [name, value] of nonNegative) {
    if (!Number.isFinite(value) || value < 0) {
      problems.push({
        field: `retry.${name}`,
        problem: `must be a number of milliseconds >= 0, got ${value}`,
      });
    }
  }
  if (typeof policy.random !== 'function') {
    problems.push({ field: 'retry.random', problem: 'must be a function returning a number in [0, 1)' });
  }
  return policy;
}

function stripUndefined(options: SinkRetryOptions): SinkRetryOptions {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
}

/**
 * "Equal jitter" exponential backoff after failed request number `attempt` (1-based): half the
 * exponential step for sure, the other half random. Never zero (unlike full jitter), so a
 * flapping receiver always gets a breather, yet two collectors never retry in lockstep.
 */
export function backoffDelay(
  attempt: number,
  policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs' | 'random'>,
) {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
  const unit = Math.min(Math.max(policy.random(), 0), 1);
  return Math.round(step / 2 + (step / 2) * unit);
}

/**
 * Milliseconds a `Retry-After` header asks for: delta-seconds or an HTTP date (RFC 9110 §10.2.3).
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

/** Socket-level failures worth another request: the receiver may never have seen the batch, or crashed mid-way. */
const RETRYABLE_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  // A kept-alive socket that died while the Lambda was frozen shows up as one of these.
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

/** The error code of a network failure, looking one level into `cause` where undici wraps it. */
export function networkErrorCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current !== undefined && depth < 3; depth++) {
    if (typeof current !== 'object' || current === null) {
      return undefined;
    }
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR') {
      return code;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function isRetryableNetworkError(error: unknown): boolean {
  const code = networkErrorCode(error);
  return code !== undefined && RETRYABLE_NETWORK_CODES.has(code);
}
