/**
 * The HTTP forwarder: one POST per batch (gzip by default), retried inside the call's budget until
 * the receiver acknowledged every event, else a typed error. Formats only encode and read answers;
 * transport, retry and error rules live here once.
 *
 * Authorization header, built from `token` (which comes from the collector secret):
 *   ndjson → `Bearer <token>`, splunk-hec → `Splunk <token>`, elastic-bulk → `ApiKey <token>`
 *   (Elasticsearch's encoded API key: base64 of `id:api_key`, as Kibana shows it).
 * The token never appears in an error, a log line or an error's cause: answers are scrubbed of it too.
 */
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { type Dispatcher, request } from 'undici';
import type { Envelope } from '../core/envelope';
import type { CallBudget, Clock, Log, Sink, SinkResult } from '../core/ports';
import { systemClock } from '../core/ports';
import {
  type CollectorError,
  ConfigError,
  type ConfigProblem,
  ProtocolError,
  SinkRejectedError,
  ThrottledError,
  TransientError,
} from '../errors';
import { sharedAgent } from './agent';
import { ANSWER_EXCERPT_CHARS, type Answer, excerpt, hasControlChars, header } from './answer';
import { elasticBulkFormat, resolveBulkUrl } from './elastic-bulk';
import { parseSinkUrl, redactLocation, redactUrl } from './endpoint';
import { isSinkFormat, remedyForStatus, SINK_FORMATS, type SinkFormat, type WireFormat } from './format';
import { ndjsonFormat } from './ndjson';
import {
  backoffDelay,
  isRetryableNetworkError,
  networkErrorCode,
  parseRetryAfter,
  type RetryPolicy,
  resolveRetryPolicy,
  type SinkRetryOptions,
} from './retry';
import { resolveHecUrl, splunkHecFormat } from './splunk-hec';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** Answers larger than this are cut (a bulk answer for a few thousand items is a few MB). */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

const USER_AGENT = 'mimecast-collector';

export interface HttpSinkOptions {
  /** Receiver URL: HTTPS, or HTTP to 127.0.0.1, ::1 or localhost. No credentials in it. */
  url: string;
  format: SinkFormat;
  /** Value for the Authorization header (scheme per format, see above). From the secret, never a flag. */
  token?: string;
  /** undici dispatcher; default: the container's shared keep-alive Agent. */
  dispatcher?: Dispatcher;
  log?: Log;
  clock?: Clock;
  /** Gzip request bodies (default true). */
  gzip?: boolean;
  retry?: SinkRetryOptions;
  /** elastic-bulk: index for every document (`_index`); splunk-hec: the HEC `index` field. Optional. */
  index?: string;
}

const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };

/** Builds a sink, checking every option first and reporting all problems in one ConfigError. */
export function createHttpSink(options: HttpSinkOptions): Sink {
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
  const policy = resolveRetryPolicy(options.retry, problems);
  const parsed = parseSinkUrl(options.url, 'url', problems);
  let wire: WireFormat | undefined;
  if (parsed !== undefined && isSinkFormat(options.format)) {
    wire = buildFormat(options.format, parsed, options.index, problems);
  }
  if (problems.length > 0 || wire === undefined) {
    throw new ConfigError('sink settings', problems);
  }
  return new HttpSink(wire, policy, options);
}

function buildFormat(
  format: SinkFormat,
  url: URL,
  index: string | undefined,
  problems: ConfigProblem[],
): WireFormat | undefined {
  switch (format) {
    case 'ndjson':
      return ndjsonFormat(url);
    case 'splunk-hec': {
      const resolved = resolveHecUrl(url, problems);
      return resolved === undefined ? undefined : splunkHecFormat(resolved, index);
    }
    case 'elastic-bulk': {
      const resolved = resolveBulkUrl(url, index, problems);
      return resolved === undefined ? undefined : elasticBulkFormat(resolved, index);
    }
  }
}

/** Why one request did not acknowledge the batch, kept to explain giving up. */
interface Failure {
  reason: string;
  throttled: boolean;
  retryAfterMs?: number;
  status?: number;
  codes?: string[];
  cause: unknown;
}

type Outcome =
  | { kind: 'answer'; answer: Answer }
  | { kind: 'aborted'; error: unknown }
  | { kind: 'failed'; error: unknown; timedOut: boolean };

class HttpSink implements Sink {
  private readonly endpoint: string;
  private readonly lines = new WeakMap<Envelope, string>();
  private readonly log: Log;
  private readonly clock: Clock;
  private readonly gzip: boolean;
  private readonly token?: string;
  private readonly dispatcher?: Dispatcher;

  constructor(
    private readonly wire: WireFormat,
    private readonly policy: RetryPolicy,
    options: HttpSinkOptions,
  ) {
    this.endpoint = redactUrl(wire.url);
    this.log = options.log ?? silentLog;
    this.clock = options.clock ?? systemClock;
    this.gzip = options.gzip ?? true;
    this.token = options.token;
    this.dispatcher = options.dispatcher;
  }

  sizeOf(envelope: Envelope): number {
    return Buffer.byteLength(this.line(envelope));
  }

  async send(batch: readonly Envelope[], budget: CallBudget): Promise<SinkResult> {
    if (batch.length === 0) {
      return { bytes: 0 };
    }
    const started = this.clock.now();
    let pending = batch;
    let body = await this.encode(pending);
    let bytes = 0;
    let last: Failure | undefined;
    for (let attempt = 1; attempt <= this.policy.maxAttempts; attempt++) {
      if (budget.signal.aborted) {
        throw this.stopped(batch.length, budget.signal.reason, last);
      }
      const remaining = budget.deadline - this.clock.now();
      if (remaining <= 0) {
        throw this.giveUp(batch.length, attempt - 1, started, 'the deadline was reached', last);
      }
      bytes += body.length;
      const outcome = await this.post(body, Math.min(this.policy.attemptTimeoutMs, remaining), budget.signal);
      if (outcome.kind === 'aborted') {
        throw this.stopped(batch.length, outcome.error, last);
      }
      let failure: Failure;
      if (outcome.kind === 'failed') {
        failure = this.networkFailure(outcome.error, outcome.timedOut, batch.length);
      } else {
        const { answer } = outcome;
        const verdict =
          answer.status >= 300 && answer.status < 400
            ? ({ kind: 'redirect' } as const)
            : this.wire.interpret(answer, pending);
        switch (verdict.kind) {
          case 'acknowledged':
            this.log.debug('sink batch acknowledged', {
              endpoint: this.endpoint,
              format: this.wire.format,
              events: batch.length,
              bytes,
              attempts: attempt,
            });
            return { bytes };
          case 'redirect':
            throw this.rejected(batch.length, answer, {
              reason: `HTTP ${answer.status} redirect to ${redactLocation(header(answer, 'location'), this.wire.url) ?? '(no Location)'}, not followed`,
              remedy: remedyForStatus(answer.status),
            });
          case 'rejected':
            throw this.rejected(batch.length, answer, verdict);
          case 'malformed':
            throw new ProtocolError(
              this.scrub(`Sink ${this.wire.format} at ${this.endpoint}: ${verdict.reason}`),
              `Check that the sink URL and format match the receiver (${this.wire.format} expects its own answers).`,
              { endpoint: this.endpoint, status: answer.status, excerpt: excerpt(answer.text, this.token) },
            );
          case 'retry': {
            const detail = this.scrub(
              `${verdict.reason}: ${excerpt(answer.text, this.token) || '(empty answer)'}`,
            );
            failure = {
              reason: detail,
              throttled: verdict.throttled,
              retryAfterMs: parseRetryAfter(header(answer, 'retry-after'), this.clock.now()),
              status: answer.status,
              codes: verdict.codes,
              cause: new TransientError(`${this.endpoint} answered ${detail}`, 'Retried by the sink.', {
                endpoint: this.endpoint,
                status: answer.status,
                codes: verdict.codes,
              }),
            };
            if (verdict.remaining !== undefined && verdict.remaining.length !== pending.length) {
              // Only the items the receiver did not take go again (bulk partial failure).
              pending = verdict.remaining;
              body = await this.encode(pending);
            }
            break;
          }
        }
      }
      last = failure;
      if (attempt === this.policy.maxAttempts) {
        break;
      }
      const delay = failure.retryAfterMs ?? backoffDelay(attempt, this.policy);
      if (this.clock.now() + delay + this.policy.minAttemptMs > budget.deadline) {
        // Never sleep past the deadline: give the batch back now, with what the receiver asked for.
        throw this.giveUp(
          batch.length,
          attempt,
          started,
          `a retry in ${delay} ms would pass the deadline`,
          last,
          delay,
        );
      }
      this.log.warn('sink request failed, retrying', {
        endpoint: this.endpoint,
        format: this.wire.format,
        attempt,
        reason: failure.reason,
        status: failure.status,
        delayMs: delay,
        pendingEvents: pending.length,
      });
      if (!(await sleep(delay, budget.signal))) {
        throw this.stopped(batch.length, budget.signal.reason, last);
      }
    }
    throw this.giveUp(batch.length, this.policy.maxAttempts, started, 'no attempts left', last);
  }

  private line(envelope: Envelope): string {
    // sizeOf and send serialise the same envelope: do it once.
    let line = this.lines.get(envelope);
    if (line === undefined) {
      line = this.wire.serialize(envelope);
      this.lines.set(envelope, line);
    }
    return line;
  }

  private async encode(batch: readonly Envelope[]): Promise<Buffer> {
    const plain = Buffer.from(batch.map((envelope) => this.line(envelope)).join(''), 'utf8');
    // A Buffer, not a stream: exact content-length, and a body that can be sent again.
    return this.gzip ? gzipAsync(plain) : plain;
  }

  private headers(): Record<string, string> {
    return {
      'content-type': this.wire.contentType,
      accept: 'application/json',
      'user-agent': USER_AGENT,
      ...(this.gzip ? { 'content-encoding': 'gzip' } : {}),
      ...(this.token === undefined ? {} : { authorization: `${this.wire.authScheme} ${this.token}` }),
    };
  }

  private async post(body: Buffer, timeoutMs: number, outer: AbortSignal): Promise<Outcome> {
    // One signal per request: the caller's abort plus this request's timeout, both precise to the ms.
    const controller = new AbortController();
    const onAbort = () => controller.abort(outer.reason);
    outer.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(
      () => controller.abort(new DOMException(`no complete answer within ${timeoutMs} ms`, 'TimeoutError')),
      timeoutMs,
    );
    try {
      const response = await request(this.wire.url, {
        method: 'POST',
        headers: this.headers(),
        body,
        signal: controller.signal,
        dispatcher: this.dispatcher ?? sharedAgent(),
      });
      const text = await readAnswer(response);
      return { kind: 'answer', answer: { status: response.statusCode, headers: response.headers, text } };
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

  private networkFailure(error: unknown, timedOut: boolean, events: number): Failure {
    const message = error instanceof Error ? error.message : String(error);
    if (timedOut) {
      return { reason: message, throttled: false, cause: error };
    }
    const code = networkErrorCode(error);
    if (!isRetryableNetworkError(error)) {
      // Not a passing glitch (unknown host, TLS refusal, ...): retrying inside this call will not help.
      throw new TransientError(
        this.scrub(
          `Sink ${this.wire.format} at ${this.endpoint}: could not send ${events} events: ${code === undefined ? '' : `${code} `}${message}`,
        ),
        'Check the receiver host name, its TLS certificate and the network path from the collector to it.',
        { endpoint: this.endpoint, codes: code === undefined ? [] : [code], cause: error },
      );
    }
    return {
      reason: message.includes(code ?? '') ? message : `${code} ${message}`,
      throttled: false,
      cause: error,
    };
  }

  private rejected(
    events: number,
    answer: Answer,
    verdict: { reason: string; remedy: string; codes?: string[]; detail?: string },
  ): SinkRejectedError {
    const said =
      verdict.detail === undefined
        ? excerpt(answer.text, this.token) || '(empty answer)'
        : excerpt(verdict.detail, this.token, 2 * ANSWER_EXCERPT_CHARS);
    return new SinkRejectedError(
      this.scrub(
        `Sink ${this.wire.format} at ${this.endpoint} refused a batch of ${events} events: ${verdict.reason}. Receiver said: ${said}`,
      ),
      verdict.remedy,
      { endpoint: this.endpoint, status: answer.status, codes: verdict.codes },
    );
  }

  private giveUp(
    events: number,
    attempts: number,
    started: number,
    why: string,
    last: Failure | undefined,
    plannedDelayMs?: number,
  ): CollectorError {
    const elapsed = this.clock.now() - started;
    const message = this.scrub(
      `Sink ${this.wire.format} at ${this.endpoint}: ${events} events not acknowledged after ${attempts} attempt(s) in ${elapsed} ms (${why})${last === undefined ? '' : `; last: ${last.reason}`}`,
    );
    const context = { endpoint: this.endpoint, status: last?.status, codes: last?.codes, cause: last?.cause };
    if (last?.throttled) {
      return new ThrottledError(
        message,
        'The receiver is throttling: the batch is sent again on the next run. Raise its ingestion capacity if this persists.',
        { ...context, retryAfterMs: last.retryAfterMs ?? plannedDelayMs ?? 0 },
      );
    }
    return new TransientError(
      message,
      'The batch is sent again on the next run; if this persists, check that the receiver is up and reachable.',
      context,
    );
  }

  private stopped(events: number, reason: unknown, last: Failure | undefined): TransientError {
    return new TransientError(
      `Sink ${this.wire.format} at ${this.endpoint}: sending ${events} events was cancelled by the caller`,
      'Nothing to do: the run is ending and the batch is sent again on the next one.',
      { endpoint: this.endpoint, status: last?.status, cause: reason ?? last?.cause },
    );
  }

  /** Belt and braces: whatever a receiver echoes, the token never leaves in an error. */
  private scrub(text: string): string {
    return this.token === undefined ? text : text.split(this.token).join('[redacted]');
  }
}

async function readAnswer(response: Dispatcher.ResponseData): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    const buffer = chunk as Buffer;
    chunks.push(buffer);
    size += buffer.length;
    if (size >= MAX_ANSWER_BYTES) {
      // Enough to judge the answer; the rest would only cost memory. Closing drops the socket.
      response.body.destroy();
      break;
    }
  }
  let raw = Buffer.concat(chunks);
  if (String(response.headers['content-encoding'] ?? '').toLowerCase() === 'gzip') {
    raw = await gunzipAsync(raw, { maxOutputLength: MAX_ANSWER_BYTES });
  }
  return raw.toString('utf8');
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve(false);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
