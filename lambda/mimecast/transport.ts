/**
 * The Mimecast side of the HTTP layer: authentication headers per attempt, a per-request timeout derived
 * from the budget's deadline, redirects never followed, and error bodies classified into typed errors.
 * Attempts, backoff and the deadline are the shared retry loop's (lambda/http/retry.ts); what is worth
 * another attempt is this side's verdict (classify.ts): 5xx, 408, timeouts, resets and retryable
 * `fail[]` are; a 429 never is (a ThrottledError for the engine); an expired file URL never is (the
 * caller lists again); a 401 gets one fresh API 2.0 token and one more attempt, uncounted.
 */
import { type Dispatcher, request } from 'undici';
import type { CallBudget, Log } from '../core/ports';
import { CollectorError, TransientError } from '../errors';
import { discard, readPrefix } from '../http/body';
import type { Headers } from '../http/hints';
import { type AttemptOutcome, type RetryPolicy, withRetries } from '../http/retry';
import { type CallContext, excerpt, httpError, protocolError, transportError } from './classify';
import { MAX_ERROR_BODY_BYTES, type Timeouts } from './constants';

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
}

export class HttpTransport {
  private authenticator: Authenticator | undefined;

  constructor(private readonly options: TransportOptions) {}

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
    let reauthenticated = false;
    return withRetries<T, CollectorError>({
      policy: this.options.retry,
      budget,
      attempt: async ({ timeoutMs }): Promise<AttemptOutcome<T, CollectorError>> => {
        const auth = req.authenticate
          ? await this.auth().headers(req.url.pathname, req.ctx, budget)
          : undefined;
        // The signal outlives this call: `consume` may hand on a body that is read after it returns.
        const signal = AbortSignal.any([budget.signal, AbortSignal.timeout(Math.max(1, timeoutMs))]);
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
          return verdict(asTransportError(req.ctx, err, budget));
        }
        const response: HttpResponse = {
          status: res.statusCode,
          headers: res.headers,
          body: res.body,
          budget,
        };
        if (res.statusCode >= 200 && res.statusCode < 300) {
          try {
            return { kind: 'done', value: await consume(response) };
          } catch (err) {
            discard(res.body);
            return verdict(err instanceof CollectorError ? err : asTransportError(req.ctx, err, budget));
          }
        }
        const head = await readPrefix(res.body, MAX_ERROR_BODY_BYTES, true);
        if (
          res.statusCode === 401 &&
          !reauthenticated &&
          req.authenticate &&
          this.auth().refused(auth?.token)
        ) {
          // API 2.0: one fresh token and one more try, then the 401 stands.
          reauthenticated = true;
          return { kind: 'again' };
        }
        if (req.ctx.role === 'download' && [403, 404, 410].includes(res.statusCode)) {
          throw new FileUrlExpiredError(
            `Batch file URL expired or gone (stream ${req.ctx.stream}, ${req.ctx.endpoint}, HTTP ${res.statusCode})`,
            'Nothing to change: the collector lists the page again for fresh URLs.',
            { stream: req.ctx.stream, endpoint: req.ctx.endpoint, status: res.statusCode },
          );
        }
        return verdict(httpError(req.ctx, res.statusCode, res.headers, head, Date.now()));
      },
      onRetry: (error, { attempt, delayMs }) =>
        this.options.log.debug('Retrying Mimecast call', {
          stream: req.ctx.stream,
          endpoint: req.ctx.endpoint,
          attempt,
          delayMs,
          error: error.message,
        }),
      // Out of attempts or time: the last failure is the error; no attempt at all means the deadline.
      giveUp: ({ last }) => last ?? deadlineError(req.ctx, budget.signal.reason, budget.signal.aborted),
    });
  }

  private auth(): Authenticator {
    if (!this.authenticator) {
      throw new Error('HttpTransport used before an authenticator was set');
    }
    return this.authenticator;
  }
}

/** Retried when transient; anything else (a refusal, a 429, the deadline) is thrown as it is. */
function verdict<T>(error: CollectorError): AttemptOutcome<T, CollectorError> {
  if (error instanceof TransientError && !(error instanceof DeadlineError)) {
    return { kind: 'retry', failure: error };
  }
  throw error;
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

function asTransportError(ctx: CallContext, err: unknown, budget: CallBudget): TransientError {
  if (budget.signal.aborted || budget.deadline <= Date.now()) {
    return deadlineError(ctx, err, budget.signal.aborted);
  }
  return transportError(ctx, err);
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
