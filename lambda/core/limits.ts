/** The engine's limits, their defaults and why, and the one place overrides are checked. */
import { ConfigError, type ConfigProblem } from '../errors';

export interface EngineLimits {
  /** Mimecast calls (page fetches) per stream per tick. */
  maxPagesPerStream: number;
  /** Events per sink batch. */
  batchMaxEvents: number;
  /** Bytes per sink batch, as measured by `sink.sizeOf` (one oversized event still goes alone). */
  batchMaxBytes: number;
  /** Minimum lease length; the lease always lasts at least until the tick's deadline. */
  leaseMs: number;
  /** Streams collected at the same time. */
  concurrency: number;
  /**
   * Time kept free before the deadline. No page fetch starts (and fetches are aborted) after
   * `deadline - safetyMarginMs`; sends of what was fetched may run until `deadline - safetyMarginMs / 2`;
   * the last half is for the final checkpoint writes and the caller's own epilogue (metrics).
   */
  safetyMarginMs: number;
  /** Event ids remembered per stream to drop exact repeats within a tick. */
  dedupMaxIds: number;
  /** A throttle asking for at most this long is waited out in place (if the budget allows). */
  throttleWaitInPlaceMaxMs: number;
  /** In-place throttle waits per stream per tick; beyond them the stream stops until `notBefore`. */
  throttleRetriesInPlace: number;
}

/**
 * Defaults, and why:
 * - maxPagesPerStream 100: the time budget is the real bound; this caps Mimecast calls per stream per
 *   tick (their quotas are per endpoint per hour and unpublished) and stops a source that never says
 *   "caught up" from spinning. 100 pages of 500 records is 50 000 events per stream per tick.
 * - batchMaxEvents 5000 / batchMaxBytes 4 MiB: Elasticsearch's bulk API accepts up to
 *   http.max_content_length (100 MB by default) but indexes best in batches of a few MB, and small
 *   Amazon OpenSearch instances cap requests at 10 MiB; Splunk HEC takes multi-event JSON posts well
 *   under its max_content_length. 4 MiB uncompressed is a few hundred KB gzipped on the wire, and
 *   with `concurrency` 4 at most 16 MiB of envelopes are held at once. Sinks with tighter limits
 *   (e.g. per-request entry caps) lower these through configuration.
 * - leaseMs 15 min: the longest Lambda timeout, so a lease always outlives the invocation holding it,
 *   even if a caller passes a wrong deadline; a crashed holder delays its streams by at most this.
 * - concurrency 4: each stream is a different Mimecast endpoint, so parallel streams do not share a
 *   quota; four keeps the sink's parallel requests and memory modest.
 * - safetyMarginMs 10 s: checkpoint writes take milliseconds; the rest leaves room for slow DynamoDB
 *   retries and metric flushing before Lambda's hard stop.
 * - dedupMaxIds 20 000: boundary repeats are recent (the last page or window overlap); 20 000 ids is
 *   about 2 MB per stream.
 * - throttle in place up to 2 s, twice: Mimecast's reset hint is often a second or two; waiting that
 *   out costs less than giving up the rest of the tick. Longer waits are stored as `notBefore` and the
 *   stream stops, so a throttled stream never holds up the tick or the others.
 */
export const DEFAULT_LIMITS: Readonly<EngineLimits> = Object.freeze({
  maxPagesPerStream: 100,
  batchMaxEvents: 5000,
  batchMaxBytes: 4 * 1024 * 1024,
  leaseMs: 15 * 60 * 1000,
  concurrency: 4,
  safetyMarginMs: 10_000,
  dedupMaxIds: 20_000,
  throttleWaitInPlaceMaxMs: 2000,
  throttleRetriesInPlace: 2,
});

/** Merges overrides into the defaults; every invalid value is reported at once. */
export function resolveLimits(overrides: Partial<EngineLimits> = {}): EngineLimits {
  const limits: EngineLimits = { ...DEFAULT_LIMITS };
  const problems: ConfigProblem[] = [];
  for (const name of Object.keys(DEFAULT_LIMITS) as (keyof EngineLimits)[]) {
    const value = overrides[name];
    if (value === undefined) continue;
    const minimum = name === 'throttleWaitInPlaceMaxMs' || name === 'throttleRetriesInPlace' ? 0 : 1;
    if (!Number.isSafeInteger(value) || value < minimum) {
      problems.push({ field: name, problem: `must be an integer ≥ ${minimum}, got ${String(value)}` });
      continue;
    }
    limits[name] = value;
  }
  if (problems.length > 0) throw new ConfigError('engine limits', problems);
  return limits;
}
