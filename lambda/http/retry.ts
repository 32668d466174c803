/**
 * The one retry loop of the collector's HTTP calls (the Mimecast client and every sink): attempts,
 * the call's deadline, backoff with jitter, a wait the other side asked for, and the abortable sleep.
 *
 * Each side keeps only its verdict: what an answer means (lambda/mimecast/classify.ts, each sink
 * format's `interpret`) and what error giving up raises. Deliberate differences are parameters:
 * - jitter: `full` (Mimecast) or `equal` (sinks), see `backoffDelay`;
 * - a wait the other side asked for: an attempt returns `retryAfterMs` (the sinks honour a receiver's
 *   Retry-After within the deadline; the Mimecast side never retries a 429 in place, it throws a
 *   ThrottledError for the engine instead);
 * - an attempt that may be repeated at once, uncounted (`again`: the Mimecast side's one fresh API 2.0
 *   token after a 401);
 * - answers never retried in place (an expired batch-file URL) are simply thrown by the attempt.
 */
import { sleep } from '../core/abortable';
import type { CallBudget } from '../core/ports';
import type { ConfigProblem } from '../errors';

export interface RetryPolicy {
  /** Attempts per call, the first one included. The budget's deadline bounds the time as well. */
  maxAttempts: number;
  /** Backoff step before the second attempt; doubles after every failed attempt. */
  baseDelayMs: number;
  /** Ceiling of one backoff step (a wait the other side asked for may be longer, within the deadline). */
  maxDelayMs: number;
  jitter: 'full' | 'equal';
  /** Longest wait for one attempt; undefined: all the time left in the budget. */
  attemptTimeoutMs: number | undefined;
  /** Time that must remain after a wait for another attempt to be worth making. */
  minAttemptMs: number;
  /** Source of jitter in [0, 1); injectable so tests can pin it. */
  random: () => number;
}

/** What a caller may override; the jitter is the side's own choice. */
export type RetryOptions = Partial<Omit<RetryPolicy, 'jitter'>>;

/** The policy with `options` applied; every invalid value is pushed onto `problems` as `retry.<name>`. */
export function resolveRetryPolicy(
  defaults: RetryPolicy,
  options: RetryOptions | undefined,
  problems: ConfigProblem[],
): RetryPolicy {
  const given = Object.fromEntries(Object.entries(options ?? {}).filter(([, value]) => value !== undefined));
  const policy: RetryPolicy = { ...defaults, ...given };
  const wholeNumbers: Array<[keyof RetryPolicy, number | undefined]> = [
    ['maxAttempts', policy.maxAttempts],
    ['attemptTimeoutMs', policy.attemptTimeoutMs],
  ];
  for (const [name, value] of wholeNumbers) {
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
      problems.push({
        field: `retry.${name}`,
        problem: `must be a whole number of at least 1, got ${value}`,
      });
    }
  }
  const durations: Array<[keyof RetryPolicy, number]> = [
    ['baseDelayMs', policy.baseDelayMs],
    ['maxDelayMs', policy.maxDelayMs],
    ['minAttemptMs', policy.minAttemptMs],
  ];
  for (const [name, value] of durations) {
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

/**
 * The wait after failed attempt number `attempt` (1-based): an exponential step capped at `maxDelayMs`,
 * then jittered so that callers that failed together do not retry in lockstep.
 * - `full`: anywhere in [0, step). Spreads retries the most, which suits many streams sharing one
 *   rate-limited API (Mimecast).
 * - `equal`: half the step for sure, the other half random. Never zero, so a flapping receiver always
 *   gets a breather (sinks).
 */
export function backoffDelay(
  attempt: number,
  policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs' | 'jitter' | 'random'>,
): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
  const unit = Math.min(Math.max(policy.random(), 0), 1);
  return policy.jitter === 'full' ? Math.floor(step * unit) : Math.round(step / 2 + (step / 2) * unit);
}

/** What one attempt came to. A failure that no retry can help is thrown by the attempt itself. */
export type AttemptOutcome<T, F> =
  | { kind: 'done'; value: T }
  /** Worth another attempt after a wait: the backoff, or `retryAfterMs` when the other side named one. */
  | { kind: 'retry'; failure: F; retryAfterMs?: number }
  /** Worth one more attempt at once, not counted (the caller decides how often it allows this). */
  | { kind: 'again' };

/** Why the loop stopped without a result, for the caller to turn into its own error. */
export interface GiveUp<F> {
  /**
   * - `cancelled`: the budget's signal aborted (before an attempt or during a wait);
   * - `deadline`: no time was left for another attempt;
   * - `wait`: the next wait plus `minAttemptMs` would pass the deadline (`delayMs` is that wait);
   * - `attempts`: `maxAttempts` were made.
   */
  reason: 'cancelled' | 'deadline' | 'wait' | 'attempts';
  /** Attempts made (an `again` is not counted). */
  attempts: number;
  /** The last failure; undefined only when no attempt was made. */
  last?: F;
  delayMs?: number;
}

export interface RetryCall<T, F> {
  policy: RetryPolicy;
  budget: CallBudget;
  /** Wall time, against which the budget's deadline is checked; injectable for tests. */
  now?: () => number;
  /**
   * One attempt; `timeoutMs` is the smaller of the policy's attempt timeout and the time left, `last`
   * the previous attempt's failure.
   */
  attempt(context: {
    attempt: number;
    timeoutMs: number;
    last: F | undefined;
  }): Promise<AttemptOutcome<T, F>>;
  /** Told before each wait (log it). */
  onRetry?(failure: F, wait: { attempt: number; delayMs: number }): void;
  /** The error to throw when the loop stops without a result. */
  giveUp(outcome: GiveUp<F>): Error;
}

/** Runs attempts until one is done, one throws, or attempts or time run out (then `giveUp`). */
export async function withRetries<T, F>(call: RetryCall<T, F>): Promise<T> {
  const { policy, budget } = call;
  const now = call.now ?? Date.now;
  let attempts = 0;
  let last: F | undefined;
  for (;;) {
    if (budget.signal.aborted) {
      throw call.giveUp({ reason: 'cancelled', attempts, last });
    }
    const remaining = budget.deadline - now();
    if (remaining <= 0) {
      throw call.giveUp({ reason: 'deadline', attempts, last });
    }
    const outcome = await call.attempt({
      attempt: attempts + 1,
      timeoutMs: Math.min(policy.attemptTimeoutMs ?? remaining, remaining),
      last,
    });
    if (outcome.kind === 'done') {
      return outcome.value;
    }
    if (outcome.kind === 'again') {
      continue;
    }
    attempts += 1;
    last = outcome.failure;
    if (attempts >= policy.maxAttempts) {
      throw call.giveUp({ reason: 'attempts', attempts, last });
    }
    const delayMs = outcome.retryAfterMs ?? backoffDelay(attempts, policy);
    if (now() + delayMs + policy.minAttemptMs > budget.deadline) {
      // Never sleep past the deadline: give up now, with what the other side asked for.
      throw call.giveUp({ reason: 'wait', attempts, last, delayMs });
    }
    call.onRetry?.(last, { attempt: attempts, delayMs });
    await sleep(delayMs, budget.signal);
  }
}
