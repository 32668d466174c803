/**
 * The one retry loop (lambda/http/retry.ts) on its own: attempts, the deadline, waits asked for, the
 * uncounted `again`, cancellation, and the error each way of giving up produces. A fake clock moves
 * the deadline; every wait is 0 ms or cut short, so nothing here depends on timing.
 */
import fc from 'fast-check';
import type { CallBudget } from '../../lambda/core/ports';
import {
  type AttemptOutcome,
  backoffDelay,
  type GiveUp,
  type RetryPolicy,
  resolveRetryPolicy,
  withRetries,
} from '../../lambda/http/retry';

const POLICY: RetryPolicy = {
  maxAttempts: 3,
  baseDelayMs: 0,
  maxDelayMs: 0,
  jitter: 'equal',
  attemptTimeoutMs: 5_000,
  minAttemptMs: 0,
  random: () => 0.5,
};

class GaveUp extends Error {
  constructor(readonly outcome: GiveUp<string>) {
    super(outcome.reason);
  }
}

interface Run {
  result: Promise<string>;
  calls: Array<{ attempt: number; timeoutMs: number; last: string | undefined }>;
  waits: Array<{ failure: string; attempt: number; delayMs: number }>;
}

function run(
  outcomes: Array<AttemptOutcome<string, string> | Error>,
  options: {
    policy?: Partial<RetryPolicy>;
    budget?: CallBudget;
    now?: () => number;
    onRetry?: () => void;
  } = {},
): Run {
  const calls: Run['calls'] = [];
  const waits: Run['waits'] = [];
  const now = options.now ?? (() => 1_000);
  const result = withRetries<string, string>({
    policy: { ...POLICY, ...options.policy },
    budget: options.budget ?? { signal: new AbortController().signal, deadline: now() + 60_000 },
    now,
    attempt: async (context) => {
      calls.push(context);
      const next = outcomes.shift();
      if (next === undefined) throw new Error('the test ran out of outcomes');
      if (next instanceof Error) throw next;
      return next;
    },
    onRetry: (failure, wait) => {
      waits.push({ failure, ...wait });
      options.onRetry?.();
    },
    giveUp: (outcome) => new GaveUp(outcome),
  });
  return { result, calls, waits };
}

async function gaveUp(promise: Promise<unknown>): Promise<GiveUp<string>> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GaveUp);
  return (error as GaveUp).outcome;
}

const retry = (failure: string, retryAfterMs?: number): AttemptOutcome<string, string> => ({
  kind: 'retry',
  failure,
  ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
});

describe('withRetries', () => {
  it('returns the first result, after as many retries as it took, each attempt told the last failure', async () => {
    const r = run([retry('503'), retry('reset'), { kind: 'done', value: 'ok' }]);
    await expect(r.result).resolves.toBe('ok');
    expect(r.calls.map((c) => [c.attempt, c.last])).toEqual([
      [1, undefined],
      [2, '503'],
      [3, 'reset'],
    ]);
    expect(r.waits.map((w) => [w.failure, w.attempt])).toEqual([
      ['503', 1],
      ['reset', 2],
    ]);
  });

  it('gives up after maxAttempts with the last failure, without a wait after it', async () => {
    const r = run([retry('a'), retry('b'), retry('c')]);
    expect(await gaveUp(r.result)).toEqual({ reason: 'attempts', attempts: 3, last: 'c' });
    expect(r.waits).toHaveLength(2);
  });

  it('lets an error thrown by an attempt through as it is, with no further attempt', async () => {
    const refusal = new Error('refused for good');
    const r = run([retry('503'), refusal]);
    await expect(r.result).rejects.toBe(refusal);
    expect(r.calls).toHaveLength(2);
  });

  it('repeats an `again` at once without counting it as an attempt', async () => {
    const r = run([{ kind: 'again' }, retry('503'), { kind: 'again' }, { kind: 'done', value: 'ok' }], {
      policy: { maxAttempts: 2 },
    });
    await expect(r.result).resolves.toBe('ok');
    expect(r.calls.map((c) => c.attempt)).toEqual([1, 1, 2, 2]);
    expect(r.waits).toHaveLength(1);
  });

  it('waits what the other side asked for instead of the backoff', async () => {
    const r = run([retry('429', 0), { kind: 'done', value: 'ok' }], {
      policy: { baseDelayMs: 10_000, maxDelayMs: 10_000 },
    });
    await expect(r.result).resolves.toBe('ok');
    expect(r.waits[0].delayMs).toBe(0);
  });

  it('never sleeps past the deadline: a wait that would leave less than minAttemptMs gives up at once', async () => {
    const now = () => 1_000;
    const budget = { signal: new AbortController().signal, deadline: 31_000 };
    const asked = run([retry('429', 29_900)], { budget, now, policy: { minAttemptMs: 200 } });
    expect(await gaveUp(asked.result)).toEqual({ reason: 'wait', attempts: 1, last: '429', delayMs: 29_900 });
    expect(asked.waits).toEqual([]);

    const backoff = run([retry('503')], {
      budget,
      now,
      policy: { baseDelayMs: 40_000, maxDelayMs: 40_000, minAttemptMs: 200 },
    });
    expect(await gaveUp(backoff.result)).toMatchObject({ reason: 'wait', attempts: 1, delayMs: 30_000 });
  });

  it('bounds each attempt by the smaller of its timeout and the time left', async () => {
    let at = 0;
    const now = () => at;
    const budget = { signal: new AbortController().signal, deadline: 8_000 };
    const r = run([retry('slow'), { kind: 'done', value: 'ok' }], {
      budget,
      now,
      onRetry: () => {
        at = 6_000;
      },
    });
    await expect(r.result).resolves.toBe('ok');
    expect(r.calls.map((c) => c.timeoutMs)).toEqual([5_000, 2_000]);

    at = 0;
    const whole = run([{ kind: 'done', value: 'ok' }], {
      budget,
      now,
      policy: { attemptTimeoutMs: undefined },
    });
    await whole.result;
    expect(whole.calls[0].timeoutMs).toBe(8_000);
  });

  it('makes no attempt when the deadline has passed or the budget was cancelled', async () => {
    const late = run([], { budget: { signal: new AbortController().signal, deadline: 999 } });
    expect(await gaveUp(late.result)).toEqual({ reason: 'deadline', attempts: 0, last: undefined });

    const controller = new AbortController();
    controller.abort(new Error('shutting down'));
    const cancelled = run([], { budget: { signal: controller.signal, deadline: 60_000 } });
    expect(await gaveUp(cancelled.result)).toEqual({ reason: 'cancelled', attempts: 0, last: undefined });
    expect(late.calls).toEqual([]);
    expect(cancelled.calls).toEqual([]);
  });

  it('stops a wait as soon as the budget is cancelled, keeping the last failure', async () => {
    const controller = new AbortController();
    const r = run([retry('503')], {
      budget: { signal: controller.signal, deadline: 60_000_000 },
      policy: { baseDelayMs: 3_600_000, maxDelayMs: 3_600_000 },
      onRetry: () => controller.abort(new Error('shutting down')),
    });
    expect(await gaveUp(r.result)).toEqual({ reason: 'cancelled', attempts: 1, last: '503' });
  });
});

describe('backoffDelay with full jitter', () => {
  it('stays in [0, step) of the capped exponential step, for any attempt and jitter', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 5_000 }),
        fc.integer({ min: 1, max: 60_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, baseDelayMs, maxDelayMs, r) => {
          const delay = backoffDelay(attempt, { baseDelayMs, maxDelayMs, jitter: 'full', random: () => r });
          const step = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(attempt - 1, 30));
          return Number.isInteger(delay) && delay >= 0 && delay < step;
        },
      ),
    );
  });
});

describe('resolveRetryPolicy', () => {
  it('applies the given values over the defaults and reports every bad one as retry.<name>', () => {
    const problems: Array<{ field: string; problem: string }> = [];
    const policy = resolveRetryPolicy(
      POLICY,
      {
        maxAttempts: 0,
        attemptTimeoutMs: 1.5,
        baseDelayMs: -1,
        maxDelayMs: undefined,
        minAttemptMs: Number.NaN,
      },
      problems,
    );
    expect(problems.map((p) => p.field)).toEqual([
      'retry.maxAttempts',
      'retry.attemptTimeoutMs',
      'retry.baseDelayMs',
      'retry.minAttemptMs',
    ]);
    expect(policy.maxDelayMs).toBe(POLICY.maxDelayMs);
    expect(policy.jitter).toBe('equal');
  });
});
