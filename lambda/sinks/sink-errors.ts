/**
 * The errors a sink raises, one place for their wording: each names the format and the endpoint (origin
 * and path, never the query), and never the token, which is scrubbed from anything a receiver echoes.
 */
import { ProtocolError, SinkRejectedError, ThrottledError, TransientError } from '../errors';
import { networkErrorCode } from '../http/network';
import { ANSWER_EXCERPT_CHARS, type Answer, excerpt } from './answer';
import { redactUrl } from './endpoint';
import type { SinkFormat } from './format';

/** Why one request did not acknowledge the batch, kept to explain giving up. */
export interface Failure {
  reason: string;
  throttled: boolean;
  retryAfterMs?: number;
  status?: number;
  codes?: string[];
  cause: unknown;
}

export class SinkErrors {
  readonly endpoint: string;

  private readonly secrets: string[];

  constructor(
    private readonly format: SinkFormat,
    url: URL,
    private readonly token: string | undefined,
    otherSecrets: readonly string[] = [],
    /** Secrets that change while the sink lives (bearer tokens it fetched). */
    private readonly changingSecrets: () => readonly string[] = () => [],
  ) {
    this.endpoint = redactUrl(url);
    this.secrets = [token, ...otherSecrets].filter((s): s is string => s !== undefined && s !== '');
  }

  /** One event is larger than the receiver takes whole: refused before sending, nothing cut. */
  tooLarge(events: number, id: string, size: number, limit: number): SinkRejectedError {
    return new SinkRejectedError(
      `Sink ${this.format} at ${this.endpoint} cannot take a batch of ${events} events: event ${id} is ${size} bytes serialised, over the receiver's ${limit}-byte limit per entry (it would be cut)`,
      'Send this stream to a destination without a per-event limit (s3, file, splunk-hec), or ask the receiver to raise its limit; the stream stays at this event until then.',
      { endpoint: this.endpoint, codes: ['entry-too-large'] },
    );
  }

  /** The receiver refused the batch for good. */
  rejected(
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
        `Sink ${this.format} at ${this.endpoint} refused a batch of ${events} events: ${verdict.reason}. Receiver said: ${said}`,
      ),
      verdict.remedy,
      { endpoint: this.endpoint, status: answer.status, codes: verdict.codes },
    );
  }

  /** The answer is not what this format's receiver sends. */
  malformed(answer: Answer, reason: string): ProtocolError {
    return new ProtocolError(
      this.scrub(`Sink ${this.format} at ${this.endpoint}: ${reason}`),
      `Check that the sink URL and format match the receiver (${this.format} expects its own answers).`,
      {
        endpoint: this.endpoint,
        status: answer.status,
        excerpt: this.scrub(excerpt(answer.text, this.token)),
      },
    );
  }

  /** An answer worth another request (5xx, 429, a busy receiver), as the retry loop keeps it. */
  retryable(
    answer: Answer,
    verdict: { reason: string; throttled: boolean; codes?: string[] },
    retryAfterMs: number | undefined,
  ): Failure {
    const detail = this.scrub(`${verdict.reason}: ${excerpt(answer.text, this.token) || '(empty answer)'}`);
    return {
      reason: detail,
      throttled: verdict.throttled,
      retryAfterMs,
      status: answer.status,
      codes: verdict.codes,
      cause: new TransientError(`${this.endpoint} answered ${detail}`, 'Retried by the sink.', {
        endpoint: this.endpoint,
        status: answer.status,
        codes: verdict.codes,
      }),
    };
  }

  /**
   * A request that got no answer. A passing glitch (a reset, a refused connection, a timeout) is a
   * Failure to retry; anything else (unknown host, TLS refusal...) is thrown: retrying inside this call
   * will not help.
   */
  network(error: unknown, retryable: boolean, events: number): Failure {
    const message = error instanceof Error ? error.message : String(error);
    const code = networkErrorCode(error);
    if (!retryable) {
      throw new TransientError(
        this.scrub(
          `Sink ${this.format} at ${this.endpoint}: could not send ${events} events: ${code === undefined ? '' : `${code} `}${message}`,
        ),
        'Check the receiver host name, its TLS certificate and the network path from the collector to it.',
        { endpoint: this.endpoint, codes: code === undefined ? [] : [code], cause: error },
      );
    }
    return {
      reason: code === undefined || message.includes(code) ? message : `${code} ${message}`,
      throttled: false,
      cause: error,
    };
  }

  /** Out of attempts or time: ThrottledError when the receiver was throttling, else TransientError. */
  gaveUp(
    events: number,
    attempts: number,
    elapsedMs: number,
    why: string,
    last: Failure | undefined,
    plannedDelayMs?: number,
  ): ThrottledError | TransientError {
    const message = this.scrub(
      `Sink ${this.format} at ${this.endpoint}: ${events} events not acknowledged after ${attempts} attempt(s) in ${elapsedMs} ms (${why})${last === undefined ? '' : `; last: ${last.reason}`}`,
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

  /** The caller cancelled the budget. */
  stopped(events: number, reason: unknown, last: Failure | undefined): TransientError {
    return new TransientError(
      `Sink ${this.format} at ${this.endpoint}: sending ${events} events was cancelled by the caller`,
      'Nothing to do: the run is ending and the batch is sent again on the next one.',
      { endpoint: this.endpoint, status: last?.status, cause: reason ?? last?.cause },
    );
  }

  /** Belt and braces: whatever a receiver echoes, the token never leaves in an error. */
  scrub(text: string): string {
    let clean = text;
    for (const secret of [...this.secrets, ...this.changingSecrets()]) {
      if (secret !== '') clean = clean.split(secret).join('[redacted]');
    }
    return clean;
  }
}
