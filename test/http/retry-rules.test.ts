/** The pure retry rules of the HTTP layer: Retry-After parsing, backoff bounds, network error classification. */
import fc from 'fast-check';
import { parseRetryAfter } from '../../lambda/http/hints';
import { isRetryableNetworkError, networkErrorCode } from '../../lambda/http/network';
import { backoffDelay } from '../../lambda/http/retry';
import { DEFAULT_RETRY } from '../../lambda/sinks/retry';

describe('parseRetryAfter', () => {
  const now = Date.parse('2024-06-05T12:00:00.000Z');

  it.each([
    ['3', 3_000],
    ['0', 0],
    [' 120 ', 120_000],
    ['1.5', 1_500],
    ['Wed, 05 Jun 2024 12:00:30 GMT', 30_000],
    ['Wed, 05 Jun 2024 11:59:00 GMT', 0],
  ])('%j → %i ms', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });

  it.each([undefined, '', 'soon', '-1', '1e3', '12:00'])('%j → undefined', (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });
});

describe('backoffDelay', () => {
  it('stays within half and all of the capped exponential step, for any attempt and jitter', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 0, max: 5_000 }),
        fc.integer({ min: 0, max: 60_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, baseDelayMs, maxDelayMs, r) => {
          const delay = backoffDelay(attempt, { baseDelayMs, maxDelayMs, jitter: 'equal', random: () => r });
          const step = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
          return delay >= Math.floor(step / 2) && delay <= Math.ceil(step) && delay <= maxDelayMs;
        },
      ),
    );
  });

  it('doubles with the defaults until the 8 s ceiling', () => {
    const noJitter = { ...DEFAULT_RETRY, random: () => 0.999999 };
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, noJitter))).toEqual([
      250, 500, 1_000, 2_000, 4_000, 8_000, 8_000,
    ]);
  });
});

describe('network errors', () => {
  const withCode = (code: string, cause?: unknown) => Object.assign(new Error(code), { code, cause });

  it.each(['ECONNRESET', 'UND_ERR_SOCKET', 'ECONNREFUSED', 'UND_ERR_HEADERS_TIMEOUT', 'EPIPE'])(
    'retries %s',
    (code) => {
      expect(isRetryableNetworkError(withCode(code))).toBe(true);
    },
  );

  it.each(['ENOTFOUND', 'CERT_HAS_EXPIRED', 'UND_ERR_INVALID_ARG'])('does not retry %s', (code) => {
    expect(isRetryableNetworkError(withCode(code))).toBe(false);
  });

  it('finds the code on a wrapped cause', () => {
    const wrapped = Object.assign(new Error('fetch failed'), {
      code: 'UND_ERR',
      cause: withCode('ECONNRESET'),
    });
    expect(networkErrorCode(wrapped)).toBe('ECONNRESET');
    expect(isRetryableNetworkError(new Error('no code'))).toBe(false);
  });
});
