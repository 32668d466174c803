/**
 * The one place that calls undici: authentication headers per attempt, a per-request timeout derived
 * from the budget's deadline, bounded jittered retries of 5xx/timeouts/resets, redirects never
 * followed, and error bodies classified into typed errors.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, type Dispatcher, request } from 'undici';
import type { CallBudget, Log } from '../core/ports';
import { CollectorError, TransientError } from '../errors';
import {
  type CallContext,
  excerpt,
  type Headers,
  httpError,
  protocolError,
  transportError,
} from './classify';
import { KEEP_ALIVE_TIMEOUT_MS, MAX_ERROR_BODY_BYTES, type RetryPolicy, type Timeouts } from './constants';

let containerAgent: Agent | undefined;

/** One keep-alive Agent per container (module scope), so warm invocations reuse connections. */
export function sharedAgent(timeouts: Timeouts): Agent {
  containerAgent ??= new Agent({
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    connect: { timeout: timeouts.connectMs },
    headersTimeout: timeouts.headersMs,
    bodyTimeout: timeouts.bodyMs,
  });
  return containerAgent;
}

export interface AuthHeaders {
  headers: Record<string, string>;
  /** API 2.0: the bearer token used, so a 401 can retire exactly that token. */
  token?: string;
}

export interface Authenticator {
  readonly apiVersion: 1 | 2;
  headers(path: string, ctx: CallContext, budget: CallBudget): Promise<AuthHeaders>;
  /** Called on a 401; returns true when a fresh credential may help (API 2.0 refetches its token once). */
  refused(token: string | undefined): boolean;
}

export interface HttpRequest {
  ctx: CallContext;
  method: 'GET' | 'POST';
  url: URL;
  headers?: Record<string, string>;
  body?: string;
  /** False for the token endpoint and pre-signed file URLs, which must never see a credential. */
  authenticate: boolean;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  body: Dispatcher.ResponseData['body'];
  /** The call's budget: a body read it cuts short is reported as the deadline, not as a network failure. */
  budget?: CallBudget;
}

/** A pre-signed batch-file URL answered 403/404/410: expired or gone. The caller re-lists; never retried as is. */
export class FileUrlExpiredError extends TransientError {}

export interface TransportOptions {
  dispatcher: Dispatcher;
  timeouts: Timeouts;
  retry: RetryPolicy;
  log: Log;
  /** Jitter source, injectable for tests. */
  random?: () => number;
}

export class HttpTransport {
  private authenticator: Authenticator | undefined;
  private readonly random: () => number;

  constructor(private readonly options: TransportOptions) {
    this.random = options.random ?? Math.random;
  }

  setAuthenticator(authenticator: Authenticator): void {
    this.authenticator = authenticator;
  }

  /**
   * Sends `req` until it succeeds or fails for good. `consume` runs inside each attempt on a 2xx answer:
   * a TransientError it throws (a reset while reading, a retryable `fail[]`) is retried like a 5xx.
   */
  async call<T>(
    req: HttpRequest,
    budget: CallBudget,
    consume: (res: HttpResponse) => Promise<T>,
  ): Promise<T> {
    let attempt = 0;
    let reauthenticated = false;
    for (;;) {
      attempt += 1;
      const remaining = remainingMs(req.ctx, budget);
      const auth = req.authenticate
        ? await this.auth().headers(req.url.pathname, req.ctx, budget)
        : undefined;
      const signal = AbortSignal.any([budget.signal, AbortSignal.timeout(Math.max(1, remaining))]);
      let res: Dispatcher.ResponseData;
      try {
        res = await request(req.url, {
          method: req.method,
          headers: { ...req.headers, ...auth?.headers },
          body: req.body,
          dispatcher: this.options.dispatcher,
          signal,
          headersTimeout: this.options.timeouts.headersMs,
          bodyTimeout: this.options.timeouts.bodyMs,
        });
      } catch (err) {
        const error = asTransportError(req.ctx, err, budget);
        if (await this.backoff(attempt, budget, req.ctx, error)) {
          continue;
        }
        throw error;
      }
      const response: HttpResponse = { status: res.statusCode, headers: res.headers, body: res.body, budget };
      if (res.statusCode >= 200 && res.statusCode < 300) {
        try {
          return await consume(response);
        } catch (err) {
          discard(res.body);
          const error = err instanceof CollectorError ? err : asTransportError(req.ctx, err, budget);
          if (retriable(error) && (await this.backoff(attempt, budget, req.ctx, error))) {
            continue;
          }
          throw error;
        }
      }
      const head = await readPrefix(res.body, MAX_ERROR_BODY_BYTES);
      if (
        res.statusCode === 401 &&
        !reauthenticated &&
        req.authenticate &&
        this.auth().refused(auth?.token)
      ) {
        // API 2.0: one fresh token and one more try, then the 401 stands.
        reauthenticated = true;
        attempt -= 1;
        continue;
      }
      if (req.ctx.role === 'download' && [403, 404, 410].includes(res.statusCode)) {
        throw new FileUrlExpiredError(
          `Batch file URL expired or gone (stream ${req.ctx.stream}, ${req.ctx.endpoint}, HTTP ${res.statusCode})`,
          'Nothing to change: the collector lists the page again for fresh URLs.',
          { stream: req.ctx.stream, endpoint: req.ctx.endpoint, status: res.statusCode },
        );
      }
      const error = httpError(req.ctx, res.statusCode, res.headers, head, Date.now());
      if (retriable(error) && (await this.backoff(attempt, budget, req.ctx, error))) {
        continue;
      }
      throw error;
    }
  }

  private auth(): Authenticator {
    if (!this.authenticator) {
      throw new Error('HttpTransport used before an authenticator was set');
    }
    return this.authenticator;
  }

  /** Waits before the next attempt; false when attempts or time ran out. */
  private async backoff(
    attempt: number,
    budget: CallBudget,
    ctx: CallContext,
    error: CollectorError,
  ): Promise<boolean> {
    const { maxAttempts, baseDelayMs, maxDelayMs } = this.options.retry;
    if (attempt >= maxAttempts || budget.signal.aborted) {
      return false;
    }
    const delayMs = Math.floor(this.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1)));
    if (Date.now() + delayMs >= budget.deadline) {
      return false;
    }
    this.options.log.debug('Retrying Mimecast call', {
      stream: ctx.stream,
      endpoint: ctx.endpoint,
      attempt,
      delayMs,
      error: error.message,
    });
    try {
      await sleep(delayMs, undefined, { signal: budget.signal });
    } catch {
      return false;
    }
    return true;
  }
}

function retriable(error: CollectorError): boolean {
  return (
    error instanceof TransientError &&
    !(error instanceof FileUrlExpiredError) &&
    !(error instanceof DeadlineError)
  );
}

/** The budget's deadline passed or the run was aborted: retryable later, never retried here. */
export class DeadlineError extends TransientError {}

function deadlineError(ctx: CallContext, cause: unknown, aborted: boolean): DeadlineError {
  return new DeadlineError(
    `Stopped calling Mimecast (stream ${ctx.stream}, ${ctx.endpoint}): ${aborted ? 'the run was aborted' : 'the call deadline passed'}`,
    'Nothing to change: the next run continues from the last checkpoint. If it happens every run, give the function more time.',
    { stream: ctx.stream, endpoint: ctx.endpoint, cause },
  );
}

/** Milliseconds left in the budget; throws a (non-retried) DeadlineError when none are. */
export function remainingMs(ctx: CallContext, budget: CallBudget): number {
  const remaining = budget.deadline - Date.now();
  if (budget.signal.aborted || remaining <= 0) {
    throw deadlineError(ctx, budget.signal.reason, budget.signal.aborted);
  }
  return remaining;
}

function asTransportError(ctx: CallContext, err: unknown, budget: CallBudget): TransientError {
  if (budget.signal.aborted || budget.deadline <= Date.now()) {
    return deadlineError(ctx, err, budget.signal.aborted);
  }
  return transportError(ctx, err);
}

/** Drops the rest of a body (closing its socket if unread). */
export function discard(body: HttpResponse['body']): void {
  if (!body.destroyed && !body.readableEnded) {
    body.destroy();
  }
}

/** Up to `max` bytes of a body, then the rest is dropped; read errors end the read, they don't throw. */
export async function readPrefix(body: HttpResponse['body'], max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      const buf = Buffer.from(chunk as Uint8Array);
      chunks.push(buf);
      size += buf.length;
      if (size >= max) {
        break;
      }
    }
  } catch {
    // An error body cut short still classifies by status.
  } finally {
    discard(body);
  }
  return Buffer.concat(chunks).subarray(0, max);
}

/** The whole body, refusing more than `maxBytes` (ProtocolError) and mapping read failures to TransientError. */
export async function readAll(res: HttpResponse, ctx: CallContext, maxBytes: number): Promise<Buffer> {
  return readChunks(bodyChunks(res, ctx), ctx, maxBytes, res.status);
}

/** Collects a chunk stream up to `maxBytes`; more is a ProtocolError (and stops reading). */
export async function readChunks(
  chunks: AsyncIterable<Uint8Array>,
  ctx: CallContext,
  maxBytes: number,
  status: number,
): Promise<Buffer> {
  const collected: Buffer[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    size += chunk.length;
    if (size > maxBytes) {
      throw protocolError(
        ctx,
        `Answer larger than ${maxBytes} bytes`,
        excerpt(Buffer.concat(collected)),
        undefined,
        status,
      );
    }
    collected.push(Buffer.from(chunk));
  }
  return Buffer.concat(collected);
}

/** Parsed JSON body; unparsable → ProtocolError with an excerpt (withheld where it could hold a token). */
export async function readJson(
  res: HttpResponse,
  ctx: CallContext,
  maxBytes: number,
  withholdExcerpt = false,
): Promise<unknown> {
  const body = await readAll(res, ctx, maxBytes);
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw protocolError(
      ctx,
      body.length === 0 ? 'Empty answer where JSON was expected' : 'Answer is not valid JSON',
      withholdExcerpt ? undefined : excerpt(body),
      err,
      res.status,
    );
  }
}

/** Body chunks as they arrive; read failures become TransientError; stopping early frees the socket. */
export async function* bodyChunks(res: HttpResponse, ctx: CallContext): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of res.body) {
      yield chunk as Uint8Array;
    }
  } catch (err) {
    if (err instanceof CollectorError) throw err;
    throw res.budget === undefined ? transportError(ctx, err) : asTransportError(ctx, err, res.budget);
  } finally {
    discard(res.body);
  }
}

/** Waits for `promise` unless `signal` aborts first (then a TransientError). */
export async function raceSignal<T>(promise: Promise<T>, signal: AbortSignal, ctx: CallContext): Promise<T> {
  if (signal.aborted) {
    throw deadlineError(ctx, signal.reason, true);
  }
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(deadlineError(ctx, signal.reason, true));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([promise, aborted]);
  } finally {
    if (onAbort) {
      signal.removeEventListener('abort', onAbort);
    }
  }
}
