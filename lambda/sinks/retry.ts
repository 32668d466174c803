/** The sink's retry policy: how often and how long between tries (the loop itself: lambda/http/retry.ts). */
import type { ConfigProblem } from '../errors';
import { type RetryOptions, type RetryPolicy, resolveRetryPolicy } from '../http/retry';

/**
 * maxAttempts: requests per batch, the first included; baseDelayMs: backoff before the second, doubling
 * after every failed request; maxDelayMs: ceiling of one backoff (a receiver's Retry-After is honoured
 * beyond it, within the deadline); attemptTimeoutMs: longest wait for one request's full answer (also cut
 * short by the budget's deadline); minAttemptMs: time that must remain after a backoff for another
 * request to be worth sending; random: jitter source in [0, 1).
 */
export type SinkRetryOptions = RetryOptions;

/**
 * Defaults, chosen for a Lambda tick of a few minutes:
 * - 6 requests with 250 ms doubling to at most 8 s cover a receiver restart (~8 s of backoff in total)
 *   without spending a whole tick on one batch; the deadline usually bounds earlier.
 * - equal jitter: never a zero wait, so a flapping receiver always gets a breather.
 * - 30 s per request: a bounded batch (a few MB) is indexed well within it, and a hung receiver costs
 *   at most one such wait before the next try.
 * - 200 ms minimum: a request squeezed into less is likely to time out and only adds a duplicate.
 */
export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 6,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  jitter: 'equal',
  attemptTimeoutMs: 30_000,
  minAttemptMs: 200,
  random: () => Math.random(),
};

export function resolveSinkRetry(
  options: SinkRetryOptions | undefined,
  problems: ConfigProblem[],
): RetryPolicy {
  return resolveRetryPolicy(DEFAULT_RETRY, options, problems);
}
