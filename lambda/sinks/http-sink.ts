/**
 * The HTTP forwarder: one POST per batch (gzip by default), retried inside the call's budget until
 * the receiver acknowledged every event, else a typed error. Formats only encode, read answers and
 * probe (format.ts); transport, retry (lambda/http/retry.ts) and error rules (sink-errors.ts) are shared.
 *
 * Authorization header, built from `token` (which comes from the collector secret):
 *   ndjson → `Bearer <token>`, splunk-hec → `Splunk <token>`, elastic-bulk → `ApiKey <token>`
 *   (Elasticsearch's encoded API key: base64 of `id:api_key`, as Kibana shows it).
 * The token never appears in an error, a log line or an error's cause: answers are scrubbed of it too.
 */
import type { Dispatcher } from 'undici';
import type { Envelope } from '../core/envelope';
import type { CallBudget, Clock, Log, SinkResult } from '../core/ports';
import { silentLog, systemClock } from '../core/ports';
import { ConfigError, type ConfigProblem } from '../errors';
import { sharedAgent } from '../http/agent';
import { parseRetryAfter } from '../http/hints';
import { isRetryableNetworkError } from '../http/network';
import { type AttemptOutcome, type RetryPolicy, withRetries } from '../http/retry';
import { type Answer, exchange, hasControlChars, header } from './answer';
import type { Destination, ProbeResult } from './destination';
import { parseSinkUrl, redactLocation } from './endpoint';
import {
  type ConfirmContext,
  type HttpFormat,
  isSinkFormat,
  remedyForStatus,
  SINK_FORMATS,
  type SinkFormat,
} from './format';
import { buildFormat, type FormatOptions } from './formats';
import { failed, runProbe } from './probe';
import { RequestBodies } from './request-body';
import { splitToLimits } from './request-limits';
import { resolveSinkRetry, type SinkRetryOptions } from './retry';
import { type Failure, SinkErrors } from './sink-errors';

/** Answers larger than this are cut (a bulk answer for a few thousand items is a few MB). */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

const USER_AGENT = 'mimecast-collector';

export interface HttpSinkOptions extends FormatOptions {
  /** Receiver URL: HTTPS, or HTTP to 127.0.0.1, ::1 or localhost. No credentials in it. */
  url: string;
  format: SinkFormat;
  /** undici dispatcher; default: the container's shared keep-alive Agent (lambda/http/agent.ts). */
  dispatcher?: Dispatcher;
  log?: Log;
  clock?: Clock;
  /** Gzip request bodies (default true). */
  gzip?: boolean;
  retry?: SinkRetryOptions;
  /**
   * Tokens that expire (sentinel's Entra tokens): fetched before each request instead of `token`,
   * dropped and fetched once more when the receiver answers 401.
   */
  bearer?: BearerSource;
}

/** Where a sink gets short-lived bearer tokens (sinks/entra.ts). */
export interface BearerSource {
  /** A token valid for a while yet (cached by the source). */
  token(budget: CallBudget): Promise<string>;
  /** The receiver refused `token`: the next call fetches another. */
  refused(token: string): void;
  /** Values that must never appear in an error: the source's own secret and every token it issued. */
  secrets(): readonly string[];
}

/** Builds a sink, checking every option first and reporting all problems in one ConfigError. */
export function createHttpSink(options: HttpSinkOptions): Destination {
  const problems: ConfigProblem[] = [];
  if (!isSinkFormat(options.format)) {
    problems.push({ field: 'format', problem: `must be one of ${SINK_FORMATS.join(', ')}` });
  }
  if (options.token !== undefined) {
    if (typeof options.token !== 'string' || options.token.trim() === '') {
      problems.push({ field: 'token', problem: 'is empty; leave it out if the receiver needs no token' });
    } else if (hasControlChars(options.token) || options.token !== options.token.trim()) {
      // A newline in a header value would let the secret's content inject headers.
      problems.push({ field: 'token', problem: 'contains whitespace at an end or control characters' });
    }
  }
  if (options.index !== undefined && (typeof options.index !== 'string' || options.index === '')) {
    problems.push({ field: 'index', problem: 'must be a non-empty string when given' });
  }
  const policy = resolveSinkRetry(options.retry, problems);
  const parsed = parseSinkUrl(options.url, 'url', problems);
  let wire: HttpFormat | undefined;
  if (parsed !== undefined && isSinkFormat(options.format)) {
    wire = buildFormat(options.format, parsed, options, problems);
  }
  if (wire?.format === 'sentinel' && options.bearer === undefined) {
    problems.push({
      field: 'bearer',
      problem: 'sentinel needs an Entra token source (createDestination builds it)',
    });
  }
  if (problems.length > 0 || wire === undefined) {
    throw new ConfigError('sink settings', problems);
  }
  return new HttpSink(wire, policy, options);
}

type Outcome =
  | { kind: 'answer'; answer: Answer }
  | { kind: 'aborted'; error: unknown }
  | { kind: 'failed'; error: unknown; timedOut: boolean };

class HttpSink implements Destination {
  private readonly bodies: RequestBodies;
  private readonly errors: SinkErrors;
  private readonly log: Log;
  private readonly clock: Clock;
  private readonly gzip: boolean;
  private readonly token?: string;
  private readonly dispatcher?: Dispatcher;
  private readonly bearer?: BearerSource;

  constructor(
    private readonly wire: HttpFormat,
    private readonly policy: RetryPolicy,
    options: HttpSinkOptions,
  ) {
    this.bearer = options.bearer;
    const bearer = options.bearer;
    this.errors = new SinkErrors(
      wire.format,
      wire.url,
      options.token,
      wire.secrets,
      bearer === undefined ? undefined : () => bearer.secrets(),
    );
    this.log = options.log ?? silentLog;
    this.clock = options.clock ?? systemClock;
    this.gzip = options.gzip ?? true;
    this.bodies = new RequestBodies(wire, this.gzip);
    this.token = options.token;
    this.dispatcher = options.dispatcher;
  }

  sizeOf(envelope: Envelope): number {
    return this.bodies.sizeOf(envelope);
  }

  async send(batch: readonly Envelope[], budget: CallBudget): Promise<SinkResult> {
    if (batch.length === 0) {
      return { bytes: 0 };
    }
    let bytes = 0;
    // One request per chunk that fits the receiver's limits, in order; a chunk the receiver finds too
    // large (Datadog's 413) goes again as two halves. The batch is acknowledged once every chunk is.
    const queue: Envelope[][] = this.chunks(batch);
    for (let chunk = queue.shift(); chunk !== undefined; chunk = queue.shift()) {
      const sent = await this.sendChunk(chunk, budget);
      bytes += sent.bytes;
      if (sent.split) {
        const half = Math.ceil(chunk.length / 2);
        queue.unshift(chunk.slice(0, half), chunk.slice(half));
      }
    }
    return { bytes };
  }

  private chunks(batch: readonly Envelope[]): Envelope[][] {
    const limits = this.wire.limits;
    if (limits === undefined) return [[...batch]];
    return splitToLimits(
      batch,
      limits,
      this.bodies.emptyBytes,
      (envelope) => this.sizeOf(envelope),
      (envelope, size, limit) => this.errors.tooLarge(batch.length, envelope.id, size, limit),
    );
  }

  private async sendChunk(
    batch: readonly Envelope[],
    budget: CallBudget,
  ): Promise<{ bytes: number; split: boolean }> {
    const { errors, wire } = this;
    const started = this.clock.now();
    let pending = batch;
    let body = await this.bodies.encode(pending);
    let bytes = 0;
    let split = false;
    const batchHeaders = wire.batchHeaders?.(batch) ?? {};
    // One new bearer token per chunk when the receiver refuses the cached one (expired or revoked).
    let tokenRenewed = false;
    await withRetries<void, Failure>({
      policy: this.policy,
      budget,
      now: () => this.clock.now(),
      attempt: async ({ attempt, timeoutMs, last }): Promise<AttemptOutcome<void, Failure>> => {
        const bearer = await this.bearer?.token(budget);
        bytes += body.length;
        const outcome = await this.post(body, batchHeaders, timeoutMs, budget.signal, bearer);
        if (outcome.kind === 'aborted') {
          throw errors.stopped(batch.length, outcome.error, last);
        }
        if (outcome.kind === 'failed') {
          const retryable = outcome.timedOut || isRetryableNetworkError(outcome.error);
          return { kind: 'retry', failure: errors.network(outcome.error, retryable, batch.length) };
        }
        const { answer } = outcome;
        if (answer.status === 401 && bearer !== undefined && this.bearer !== undefined && !tokenRenewed) {
          tokenRenewed = true;
          this.bearer.refused(bearer);
          this.log.info('sink refused its bearer token, fetching a new one', {
            endpoint: errors.endpoint,
            format: wire.format,
          });
          return { kind: 'again' };
        }
        if (answer.status >= 300 && answer.status < 400) {
          throw errors.rejected(batch.length, answer, {
            reason: `HTTP ${answer.status} redirect to ${redactLocation(header(answer, 'location'), wire.url) ?? '(no Location)'}, not followed`,
            remedy: remedyForStatus(answer.status),
          });
        }
        let verdict = wire.interpret(answer, pending);
        if (verdict.kind === 'acknowledged' && wire.confirm !== undefined) {
          verdict = await wire.confirm(answer, this.confirmContext(budget));
        }
        switch (verdict.kind) {
          case 'acknowledged':
            this.log.debug('sink batch acknowledged', {
              endpoint: errors.endpoint,
              format: wire.format,
              events: batch.length,
              bytes,
              attempts: attempt,
            });
            return { kind: 'done', value: undefined };
          case 'split':
            if (batch.length < 2) {
              throw errors.rejected(batch.length, answer, {
                reason: `${verdict.reason} for a single event (${batch[0]?.id})`,
                remedy: remedyForStatus(answer.status),
              });
            }
            split = true;
            return { kind: 'done', value: undefined };
          case 'rejected':
            throw errors.rejected(batch.length, answer, verdict);
          case 'malformed':
            throw errors.malformed(answer, verdict.reason);
          case 'retry': {
            const retryAfterMs = parseRetryAfter(header(answer, 'retry-after'), this.clock.now());
            if (verdict.remaining !== undefined && verdict.remaining.length !== pending.length) {
              // Only the items the receiver did not take go again (bulk partial failure).
              pending = verdict.remaining;
              body = await this.bodies.encode(pending);
            }
            return { kind: 'retry', failure: errors.retryable(answer, verdict, retryAfterMs), retryAfterMs };
          }
        }
      },
      onRetry: (failure, { attempt, delayMs }) =>
        this.log.warn('sink request failed, retrying', {
          endpoint: errors.endpoint,
          format: wire.format,
          attempt,
          reason: failure.reason,
          status: failure.status,
          delayMs,
          pendingEvents: pending.length,
        }),
      giveUp: ({ reason, attempts, last, delayMs }) => {
        const elapsed = this.clock.now() - started;
        switch (reason) {
          case 'cancelled':
            return errors.stopped(batch.length, budget.signal.reason, last);
          case 'deadline':
            return errors.gaveUp(batch.length, attempts, elapsed, 'the deadline was reached', last);
          case 'wait':
            return errors.gaveUp(
              batch.length,
              attempts,
              elapsed,
              `a retry in ${delayMs} ms would pass the deadline`,
              last,
              delayMs,
            );
          case 'attempts':
            return errors.gaveUp(batch.length, attempts, elapsed, 'no attempts left', last);
        }
      },
    });
    return { bytes, split };
  }

  /** Further requests for `confirm` (HEC ack queries): the sink's headers, bounded by the budget. */
  private confirmContext(budget: CallBudget): ConfirmContext {
    return {
      signal: budget.signal,
      deadline: budget.deadline,
      now: () => this.clock.now(),
      request: (url, body) =>
        exchange({
          method: 'POST',
          url,
          // A small plain JSON body: no content-encoding.
          headers: { ...this.headers(), 'content-type': 'application/json', 'content-encoding': 'identity' },
          body,
          signal: AbortSignal.any([
            budget.signal,
            AbortSignal.timeout(
              Math.max(
                1,
                Math.min(this.policy.attemptTimeoutMs ?? 30_000, budget.deadline - this.clock.now()),
              ),
            ),
          ]),
          dispatcher: this.dispatcher ?? sharedAgent(),
          maxAnswerBytes: MAX_ANSWER_BYTES,
        }),
    };
  }

  async probe(budget: CallBudget): Promise<ProbeResult> {
    let token = this.token;
    if (this.bearer !== undefined) {
      // A token first: whether the app's credentials work is half of what the probe says.
      try {
        token = await this.bearer.token(budget);
      } catch (error) {
        const message = error instanceof Error ? this.errors.scrub(error.message) : String(error);
        const remedy = (error as { remedy?: unknown })?.remedy;
        return failed(
          'no token (Entra refused the app credentials)',
          message,
          typeof remedy === 'string' ? remedy : undefined,
        );
      }
    }
    return runProbe(this.wire, {
      ...(token === undefined ? {} : { token }),
      dispatcher: this.dispatcher ?? sharedAgent(),
      budget,
    });
  }

  private headers(batchHeaders: Record<string, string> = {}, token = this.token): Record<string, string> {
    return {
      ...batchHeaders,
      'content-type': this.wire.contentType,
      accept: 'application/json',
      'user-agent': USER_AGENT,
      ...(this.gzip ? { 'content-encoding': 'gzip' } : {}),
      ...(token === undefined ? {} : this.wire.credentials(token)),
    };
  }

  private async post(
    body: Buffer,
    batchHeaders: Record<string, string>,
    timeoutMs: number,
    outer: AbortSignal,
    bearer: string | undefined,
  ): Promise<Outcome> {
    // One signal per request: the caller's abort plus this request's timeout, both precise to the ms,
    // and both released as soon as the answer is read (the body is never read after this returns).
    const controller = new AbortController();
    const onAbort = () => controller.abort(outer.reason);
    outer.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(
      () => controller.abort(new DOMException(`no complete answer within ${timeoutMs} ms`, 'TimeoutError')),
      timeoutMs,
    );
    try {
      const answer = await exchange({
        method: 'POST',
        url: this.wire.url,
        headers: this.headers(batchHeaders, bearer ?? this.token),
        body,
        signal: controller.signal,
        dispatcher: this.dispatcher ?? sharedAgent(),
        maxAnswerBytes: MAX_ANSWER_BYTES,
      });
      return { kind: 'answer', answer };
    } catch (error) {
      if (outer.aborted) {
        return { kind: 'aborted', error };
      }
      return { kind: 'failed', error, timedOut: controller.signal.aborted };
    } finally {
      clearTimeout(timer);
      outer.removeEventListener('abort', onAbort);
    }
  }
}
