/**
 * One error hierarchy for the whole collector.
 *
 * Every error says what went wrong, where (stream, endpoint, field), and what to do about it
 * (`remedy`). None ever carries a secret: constructors take only safe, descriptive fields, and
 * response excerpts come from the remote side (Mimecast, the receiver), never from our requests.
 * Underlying errors are kept as `cause`, so a log line shows the whole chain.
 */

export type ErrorKind =
  | 'authentication'
  | 'permission'
  | 'throttled'
  | 'transient'
  | 'protocol'
  | 'request'
  | 'sink-rejected'
  | 'config'
  | 'secret'
  | 'checkpoint-conflict';

export interface ErrorContext {
  /** Collector stream id (`siem`, `audit`, ...), when the error belongs to one stream. */
  stream?: string;
  /** Remote endpoint: method and path, or a receiver URL without credentials. */
  endpoint?: string;
  /** HTTP status of the answer, when there was one. */
  status?: number;
  /** Mimecast error codes from `fail[]` (or the receiver's codes). */
  codes?: string[];
  cause?: unknown;
}

export abstract class CollectorError extends Error {
  abstract readonly kind: ErrorKind;
  /** Whether trying the same call again later can succeed without anyone changing anything. */
  abstract readonly retryable: boolean;
  /** What the operator should do, in one sentence. */
  readonly remedy: string;
  readonly stream?: string;
  readonly endpoint?: string;
  readonly status?: number;
  readonly codes: string[];

  constructor(message: string, remedy: string, context: ErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.name = new.target.name;
    this.remedy = remedy;
    this.stream = context.stream;
    this.endpoint = context.endpoint;
    this.status = context.status;
    this.codes = context.codes ?? [];
  }

  /**
   * This error as `stream` met it. A call several streams shared (one token request for every stream of a
   * client) fails for each of them, and each stream's error must name that stream: same class, codes,
   * status, endpoint and cause, with the stream (and where the text names it) replaced.
   */
  forStream(stream: string): this {
    const met = this.stream;
    if (met === undefined || met === stream) return this;
    const named = new RegExp(`\\bstream ${met.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=[,;:.)\\s]|$)`, 'g');
    const rename = (text: string) => text.replace(named, `stream ${stream}`);
    const copy = Object.create(Object.getPrototypeOf(this)) as this;
    Object.defineProperties(copy, Object.getOwnPropertyDescriptors(this));
    Object.assign(copy, { stream, message: rename(this.message), remedy: rename(this.remedy) });
    if (this.stack !== undefined) copy.stack = rename(this.stack);
    return copy;
  }

  /** A flat, log-safe description (no stack, no secrets) for checkpoints, metrics and CLI output. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      kind: this.kind,
      message: this.message,
      remedy: this.remedy,
      retryable: this.retryable,
      ...(this.stream === undefined ? {} : { stream: this.stream }),
      ...(this.endpoint === undefined ? {} : { endpoint: this.endpoint }),
      ...(this.status === undefined ? {} : { status: this.status }),
      ...(this.codes.length === 0 ? {} : { codes: this.codes }),
    };
  }
}

/** Wrong, unknown or expired credentials (HTTP 401, 418 binding expired, refused client credentials). */
export class AuthenticationError extends CollectorError {
  readonly kind = 'authentication';
  readonly retryable = false;
}

/** The credentials work but may not read this stream (403, `app_forbidden`, product not licensed). */
export class PermissionError extends CollectorError {
  readonly kind = 'permission';
  readonly retryable = false;
  /** The Mimecast role permission or product the stream needs, e.g. "Account | Logs | Read". */
  readonly requiredPermission?: string;

  constructor(message: string, remedy: string, context: ErrorContext & { requiredPermission?: string } = {}) {
    super(message, remedy, context);
    this.requiredPermission = context.requiredPermission;
  }
}

/** Rate limited (429). `retryAfterMs` is how long the server asked us to wait. */
export class ThrottledError extends CollectorError {
  readonly kind = 'throttled';
  readonly retryable = true;
  readonly retryAfterMs: number;

  constructor(message: string, remedy: string, context: ErrorContext & { retryAfterMs: number }) {
    super(message, remedy, context);
    this.retryAfterMs = context.retryAfterMs;
  }
}

/** 5xx, timeouts, connection resets, a deadline reached: trying again later may succeed. */
export class TransientError extends CollectorError {
  readonly kind = 'transient';
  readonly retryable = true;
}

/** A body that is malformed, truncated or of an unexpected shape. Never taken for "no data". */
export class ProtocolError extends CollectorError {
  readonly kind = 'protocol';
  readonly retryable = true;
  /** The first bytes of the offending body, printable, for diagnosis. */
  readonly excerpt?: string;

  constructor(message: string, remedy: string, context: ErrorContext & { excerpt?: string } = {}) {
    super(message, remedy, context);
    this.excerpt = context.excerpt;
  }
}

/**
 * Mimecast's paging did not advance: it answered with the page token it was asked with, or with the page
 * just read. The stream stops for this tick instead of asking for the same page again and again; its
 * checkpoint stays where the last acknowledged batch left it.
 */
export class PagingStalledError extends ProtocolError {
  /** `detail` says what repeated; `context.stream` names the stream. */
  constructor(detail: string, context: ErrorContext & { stream: string; excerpt?: string }) {
    super(
      `Mimecast paging did not advance: ${detail}`,
      `Nothing to change if it happens once: the next run asks again from the checkpoint. If every run stops here, Mimecast keeps serving the same page: report it to Mimecast support, and to move on meanwhile reset the ${context.stream} checkpoint (mimecast-collector reset --stream ${context.stream}), which starts the stream again from the collection start (events sent again keep their ids).`,
      context,
    );
  }
}

/** The remote side refused the request itself (non-retryable `fail[]` codes, 400). */
export class RequestError extends CollectorError {
  readonly kind = 'request';
  readonly retryable = false;
}

/** The SIEM token in the checkpoint is no longer accepted (expired after 7 days, or corrupt). */
export class InvalidSiemTokenError extends RequestError {}

/** The receiver refused a batch for a reason that retrying will not fix (4xx other than 408/429). */
export class SinkRejectedError extends CollectorError {
  readonly kind = 'sink-rejected';
  readonly retryable = false;
}

export interface ConfigProblem {
  /** The environment variable, flag or field at fault. */
  field: string;
  /** What is wrong and what is expected, without echoing any secret value. */
  problem: string;
}

/** Invalid configuration: every problem found, reported together. */
export class ConfigError extends CollectorError {
  readonly kind = 'config';
  readonly retryable = false;
  readonly problems: ConfigProblem[];

  constructor(source: string, problems: ConfigProblem[], remedy = `Fix the ${source} and run again.`) {
    super(`Invalid ${source}: ${problems.map((p) => `${p.field}: ${p.problem}`).join('; ')}`, remedy);
    this.problems = problems;
  }
}

/** The credentials secret cannot be read, decrypted or parsed. */
export class SecretError extends CollectorError {
  readonly kind = 'secret';
  readonly retryable: boolean;

  constructor(message: string, remedy: string, context: ErrorContext & { retryable?: boolean } = {}) {
    super(message, remedy, context);
    this.retryable = context.retryable ?? false;
  }
}

/** A conditional checkpoint write lost: another run changed the checkpoint or took the lease. */
export class CheckpointConflictError extends CollectorError {
  readonly kind = 'checkpoint-conflict';
  readonly retryable = true;
}

/** Kinds that need a person: an invocation that meets one of these must fail loudly. */
export function needsOperator(error: unknown): boolean {
  return error instanceof CollectorError && !error.retryable;
}

/**
 * A pushed body (Mimecast Event Push, or anything posting to the receiver) that cannot be read: empty,
 * not JSON, not gzip it claims to be, too large. `hecCode` is the Splunk HEC code the receiver answers
 * with (5 no data, 6 invalid data format); `position` says where in the decoded text it went wrong.
 */
export class PushBodyError extends RequestError {
  readonly hecCode: 5 | 6;
  /** Line (1-based) and character offset (0-based, in the decoded text) of the problem, when known. */
  readonly position?: { line: number; offset: number };

  constructor(
    message: string,
    context: ErrorContext & { hecCode: 5 | 6; position?: { line: number; offset: number } },
  ) {
    super(
      message,
      'Send a JSON array of HEC events ({"event": {...}}), NDJSON (one JSON object per line) or one JSON event, as plain text or gzip: Mimecast Event Push does; check what else posts to this endpoint.',
      context,
    );
    this.hecCode = context.hecCode;
    this.position = context.position;
  }
}
